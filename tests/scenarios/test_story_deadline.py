"""A deadline announced on every network, moved by an editor's commit, moved again by on-call
from the CLI, and finally withdrawn: at each step, what citizens see on each network states
the current deadline (or has the correction right under it), with the poster still there, and
nothing was posted twice or lost."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.scenarios.story import (D1, D2, D3, assert_citizens_read,
                                   assert_nothing_twice_nothing_lost, open_town, posters,
                                   says_on_every_network, wait_announced)
from tests.scenarios.citizen import states
from tests.scenarios.town import account_of


@pytest.mark.parametrize("git", [True, False], ids=["git-checkout", "plain-folder"])
def test_a_deadline_moved_by_a_commit_then_by_on_call_then_withdrawn(make_town, git):
    town = open_town(make_town, git=git)
    wait_announced(town)
    view = assert_citizens_read(town, D1)
    says_on_every_network(town, D1)
    assert all(all(p.media for p in posts) for posts in view.values()), "a poster is missing"
    assert_nothing_twice_nothing_lost(town, view)
    # the press office adds a content warning by hand on Mastodon (housing is a sore subject)
    warned = view["mastodon:ayto-villa"][0]
    town.twins["mastodon"].edit_by_hand(warned.post_id, spoiler_text="Vivienda",
                                        sensitive=True)
    view = town.view()
    before_images = posters(view)

    # an editor moves the deadline and commits
    since = dt.datetime.now(dt.timezone.utc)
    town.write("ayudas.yaml", town.read("ayudas.yaml").replace(D1.isoformat(), D2.isoformat()),
               commit="ayudas: el BOP corrige el plazo")
    town.wait_synced(since)
    town.settle()
    view = assert_citizens_read(town, D1, D2)
    assert posters(view) == before_images, "a correction dropped a poster"
    (still,) = [p for p in view["mastodon:ayto-villa"] if p.post_id == warned.post_id]
    assert (still.content_warning, still.sensitive) == ("Vivienda", True), \
        "the correction dropped the content warning"
    assert_nothing_twice_nothing_lost(town, view)
    reminder = town.store.get("villa-ayudas/recordatorio/x:ayto-villa/es")
    assert reminder.state == "scheduled" and states(reminder.job.text, D2, "es")

    # on-call moves it again from the CLI
    town.correct("villa-ayudas", "plazo_fin", D3.isoformat())
    town.settle()
    view = assert_citizens_read(town, D1, D2, D3)
    assert posters(view) == before_images
    assert_nothing_twice_nothing_lost(town, view)

    # the call is annulled: the announcement is withdrawn everywhere
    town.retract("villa-ayudas", "anuncio")
    town.settle()
    view = town.view()
    for platform in town.social:
        anuncio = [p for p in view[account_of(platform)] if "Ayudas al alquiler joven:" in p.text
                   or "Ajudes al lloguer jove:" in p.text]
        if platform == "instagram":   # cannot delete: a withdrawal notice under it, and an alert
            assert all(any("ANULADO" in r.text for r in p.replies) for p in anuncio)
        else:
            assert anuncio == [], f"{platform}: the withdrawn post is still visible"
