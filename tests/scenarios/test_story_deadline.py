"""A deadline announced on every network, moved by an editor's commit, moved again by on-call
from the CLI, and finally withdrawn: at each step, what citizens see on each network states
the current deadline (or has the correction right under it), with the poster still there, and
nothing was posted twice or lost."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.scenarios import calendars
from tests.scenarios.citizen import Fact, event_problems, states, view_problems
from tests.scenarios.town import account_of, in_seconds, languages_of, render_view

SOCIAL = ("x", "facebook", "instagram", "linkedin", "mastodon", "bluesky", "telegram")
LANGS = ("es", "ca")
TODAY = dt.date.today()
D1 = TODAY + dt.timedelta(days=40)
D2 = D1 + dt.timedelta(days=5)
D3 = D2 + dt.timedelta(days=2)
SESION = dt.datetime.combine(TODAY + dt.timedelta(days=20), dt.time(18, 0))


def available(platforms):
    import importlib.util

    from tests.scenarios.town import TWINS

    return tuple(p for p in platforms
                 if importlib.util.find_spec(f"tests.twins.{TWINS[p][0]}") is not None)


def calendar(town, plazo, *, announce_at=None):
    return calendars.ayudas(announce_at=announce_at or town.announce_at, plazo_fin=plazo,
                            sesion=SESION, accounts=[account_of(p) for p in town.social],
                            feed=account_of("ics"))


def assert_citizens_read(town, *values):
    fact = Fact("plazo_fin", values)
    view = town.view()
    events = town.events()
    problems = view_problems(view, languages_of(view, LANGS), [fact])
    problems += event_problems(events, LANGS, [fact])
    print(render_view(view, events))   # what a citizen sees, in the test's log
    assert not problems, "\n".join(problems) + "\n\n" + render_view(view, events)
    return view


def assert_nothing_twice_nothing_lost(town, view):
    refs = town.published_refs()
    for account, posts in view.items():
        shown = [p.post_id for p in posts]
        assert len(shown) == len(set(shown)), f"{account}: a post is shown twice"
        assert set(shown) == refs.get(account, set()), \
            f"{account}: visible {sorted(shown)} but the engine published {sorted(refs.get(account, ()))}"


@pytest.mark.parametrize("git", [True, False], ids=["git-checkout", "plain-folder"])
def test_a_deadline_moved_by_a_commit_then_by_on_call_then_withdrawn(make_town, git):
    social = available(SOCIAL)
    town = make_town((*social, "ics"), git=git,
                     twin_options={"x": {"v1_media": True}})
    town.social = social
    town.announce_at = in_seconds(6)
    calendars.write_image(town.schedules)
    town.write("ayudas.yaml", calendar(town, D1), commit="ayudas: anuncio")
    town.start().settle()
    from tests.enginekit import wait_for

    wait_for(lambda: all(town.view()[account_of(p)] for p in social), 30,
             what="the announcement on every network")
    town.settle()
    view = assert_citizens_read(town, D1)
    for platform in social:
        posts = view[account_of(platform)]
        for lang in LANGS:   # one post per language, or one post with both
            assert any(states(p.text, D1, lang) for p in posts), f"{platform} [{lang}]: {posts}"
        assert all(p.media for p in posts), f"{platform}: the poster is missing"
    posters = {a: [len(p.media) for p in posts] for a, posts in view.items()}
    assert_nothing_twice_nothing_lost(town, view)

    # an editor moves the deadline and commits
    before = dt.datetime.now(dt.timezone.utc)
    town.write("ayudas.yaml", town.read("ayudas.yaml").replace(D1.isoformat(), D2.isoformat()),
               commit="ayudas: el BOP corrige el plazo")
    town.wait_synced(before)
    town.settle()
    view = assert_citizens_read(town, D1, D2)
    assert {a: [len(p.media) for p in posts] for a, posts in view.items()} == posters, \
        "a correction dropped a poster"
    assert_nothing_twice_nothing_lost(town, view)
    reminder = town.store.get("villa-ayudas/recordatorio/x:ayto-villa/es") if "x" in social else None
    if reminder is not None:
        assert reminder.state == "scheduled" and states(reminder.job.text, D2, "es")

    # on-call moves it again from the CLI
    town.correct("villa-ayudas", "plazo_fin", D3.isoformat())
    town.settle()
    view = assert_citizens_read(town, D1, D2, D3)
    assert {a: [len(p.media) for p in posts] for a, posts in view.items()} == posters
    assert_nothing_twice_nothing_lost(town, view)

    # the call is annulled: the announcement is withdrawn everywhere
    town.retract("villa-ayudas", "anuncio")
    town.settle()
    view = town.view()
    for platform in social:
        anuncio = [p for p in view[account_of(platform)] if "Ayudas al alquiler joven:" in p.text
                   or "Ajudes al lloguer jove:" in p.text]
        if platform == "instagram":   # cannot delete: a withdrawal notice under it, and an alert
            assert all(any("ANULADO" in r.text for r in p.replies) for p in anuncio)
        else:
            assert anuncio == [], f"{platform}: the withdrawn post is still visible"
