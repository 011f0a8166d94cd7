"""The engine killed (SIGKILL) in the middle of a correction, after the platform edited the
post and before the engine heard it: the next engine process finds out what each platform did,
and citizens end up with every post corrected exactly once, images and all."""

from __future__ import annotations

import datetime as dt

from tests.scenarios.story import (D1, D2, assert_citizens_read,
                                   assert_nothing_twice_nothing_lost, open_town, posters,
                                   wait_announced)

#: the Mastodon edit of a correction (PUT /api/v1/statuses/:id): the engine dies right after it
MASTODON_EDIT = ("PUT", r"/api/v1/statuses/\d+$")


def test_an_engine_killed_mid_correction_corrects_every_post_once_after_restart(make_town):
    town = open_town(make_town, process=True, freeze=MASTODON_EDIT)
    wait_announced(town)
    images = posters(town.view())
    since = dt.datetime.now(dt.timezone.utc)
    town.write("ayudas.yaml", town.read("ayudas.yaml").replace(D1.isoformat(), D2.isoformat()),
               commit="ayudas: el BOP corrige el plazo")
    town.wait_synced(since)
    url = town.wait_frozen()
    town.kill()
    # the platform did edit: a citizen already reads the new date there...
    edited = [p for p in town.view()["mastodon:ayto-villa"] if p.edited]
    assert edited, f"the edit of {url} was not applied before the kill"
    # ...but the engine never heard it: the correction is still in flight
    in_flight = [s for s in town.store.summaries().values()
                 if s.of and s.state in ("publishing", "dispatched")]
    assert in_flight, "the kill did not land mid-correction"
    town.start_process()
    town.settle(timeout_s=60)
    view = assert_citizens_read(town, D1, D2)
    assert posters(view) == images
    assert_nothing_twice_nothing_lost(town, view)
    history = town.twins["mastodon"].history(edited[0].post_id)
    assert len(history) == 2, f"the post was edited {len(history) - 1} times, not once"
    # the new process asked Mastodon what had happened instead of editing again
    frozen = [s.id for s in in_flight if "mastodon" in s.id and s.state == "publishing"]
    assert frozen and any(a["why"] == "lookup found the post"
                          for job_id in frozen for a in town.store.audit(job_id))
