"""The stories on-call staff and editors live through, judged by what citizens see at the end
on every network: a go-live page that lies with a 200, a pause during a correction, a stale
copy of the calendars after an on-call correction, an editor's syntax error left in the file,
and an event moved, then cancelled."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest

from tests.enginekit import hold_still, wait_for
from tests.scenarios.citizen import states
from tests.scenarios.story import (D1, D2, SESION, assert_citizens_read,
                                   assert_nothing_twice_nothing_lost, open_town, posters,
                                   says_on_every_network, wait_announced)
from tests.scenarios.town import TZ, render_view
from tests.twins.official_page import OfficialPage

FORM = "https://sede.villa.example/ayudas/solicitud"


def golive_posts(town):
    return {account: [p for p in posts if p.text.startswith(("Ya puedes", "Ja pots"))]
            for account, posts in town.view().items()}


def test_open_now_waits_for_the_real_form_while_the_page_answers_200_under_construction(
        make_town):
    page = OfficialPage(FORM, 200, "En construcción. Próximamente podrá presentar su solicitud.")
    town = open_town(_with_page(make_town, page), golive_in_s=8)
    wait_announced(town)
    # the instant has passed; the page says 200 but not what the calendar expects
    wait_for(lambda: page.hits >= 3, 30, what="the go-live check asking the page")
    hold_still(lambda: not any(golive_posts(town).values()), 2.0,
               what="no 'open now' post while the page is a placeholder")
    waiting = [s for s in town.store.summaries().values() if "/ya-abierto/" in s.id]
    # held between re-checks, dispatched while one runs: never published
    assert waiting and all(s.state in ("held", "dispatched") and s.reason == "golive_waiting"
                           for s in waiting)
    # meanwhile the deadline moves: the waiting posts keep waiting, with the new date
    town.correct("villa-ayudas", "plazo_fin", D2.isoformat())
    town.settle()
    waiting = [s for s in town.store.summaries().values() if "/ya-abierto/" in s.id]
    assert all(s.state in ("held", "dispatched") and s.reason == "golive_waiting"
               for s in waiting), [(s.id, s.state, s.reason) for s in waiting]
    page.show(200, "Presentar solicitud: formulario de ayudas al alquiler joven")
    wait_for(lambda: all(golive_posts(town).values()), 30, what="'open now' on every network")
    town.settle()
    view = assert_citizens_read(town, D1, D2)
    for account, posts in golive_posts(town).items():
        assert len(posts) >= 1 and all(states(p.text, D2, "es") or states(p.text, D2, "ca")
                                       for p in posts), f"{account}: {posts}"
    assert_nothing_twice_nothing_lost(town, view)


def _with_page(make_town, page):
    """make_town, with the official page answering on the same interceptors."""
    def make(platforms, **options):
        town = make_town(platforms, **options)
        page.install(town.http)
        return town
    return make


def test_a_correction_held_by_a_pause_goes_out_at_resume_even_when_missed_posts_are_skipped(
        make_town):
    town = open_town(make_town)
    wait_announced(town)
    images = posters(town.view())
    paused = town.cli("pause", "--all", "--reason", "revisión de cuentas", "--by", "guardia")
    assert paused.exit_code == 0, paused.output
    since = dt.datetime.now(dt.timezone.utc)
    town.write("ayudas.yaml", town.read("ayudas.yaml").replace(D1.isoformat(), D2.isoformat()),
               commit="ayudas: nuevo plazo")
    town.wait_synced(since)
    wait_for(lambda: [s for s in town.store.summaries().values()
                      if s.of and s.state == "held" and s.reason == "paused"], 20,
             what="corrections held by the pause")
    status = town.cli("status")
    assert "(a correction)" in status.output and "pregonero resume" in status.output
    hold_still(lambda: not any(states(text, D2, "es") for posts in town.view().values()
                               for p in posts for text in p.thread()), 1.0,
               what="no correction sent while paused")
    resumed = town.cli("resume", "--all", "--skip-missed", "--by", "guardia")
    assert resumed.exit_code == 0 and "correction(s) of published posts go out now" in resumed.output
    town.settle()
    view = assert_citizens_read(town, D1, D2)
    assert posters(view) == images
    assert_nothing_twice_nothing_lost(town, view)


@pytest.mark.parametrize("git", [True, False], ids=["git-checkout", "plain-folder"])
def test_a_stale_copy_synced_after_an_on_call_correction_brings_no_old_date_back(make_town, git):
    town = open_town(make_town, git=git)
    wait_announced(town)
    stale = town.read("ayudas.yaml")
    town.correct("villa-ayudas", "plazo_fin", D2.isoformat())
    town.settle()
    assert_citizens_read(town, D1, D2)
    sent = len(town.http.calls)
    since = dt.datetime.now(dt.timezone.utc)
    if git:   # a checkout of the commit before the correction (the file was never committed)
        subprocess.run(["git", "-C", str(town.schedules), "checkout", "--", "ayudas.yaml"],
                       check=True)
    else:     # yesterday's copy of the folder, put back
        (town.schedules / "ayudas.yaml").write_text(stale, encoding="utf-8")
    assert D1.isoformat() in town.read("ayudas.yaml")
    town.wait_synced(since)
    town.settle()
    view = assert_citizens_read(town, D1, D2)
    says_on_every_network(town, D2)
    assert len(town.http.calls) == sent, "the stale copy made the engine talk to a network"
    assert_nothing_twice_nothing_lost(town, view)


def test_on_call_corrects_while_an_editors_syntax_error_is_still_in_the_file(make_town):
    town = open_town(make_town)
    wait_announced(town)
    good = town.read("ayudas.yaml")
    since = dt.datetime.now(dt.timezone.utc)
    town.write("ayudas.yaml", good.replace("entries:", "entries:\n  - id: [sin cerrar", 1),
               commit="ayudas: borrador")
    status = town.wait_synced(since)
    assert "ayudas.yaml" in status["load_errors"]
    result = town.correct("villa-ayudas", "plazo_fin", D2.isoformat())
    assert "does not load" in result.output
    town.settle()
    view = assert_citizens_read(town, D1, D2)
    says_on_every_network(town, D2)
    # the editor repairs the syntax on their stale copy: the correction stands
    since = dt.datetime.now(dt.timezone.utc)
    town.write("ayudas.yaml", good, commit="ayudas: arreglo")
    town.wait_synced(since)
    town.settle()
    view = assert_citizens_read(town, D1, D2)
    assert_nothing_twice_nothing_lost(town, view)


def test_an_information_session_moved_then_cancelled_in_every_subscribers_agenda(make_town):
    town = open_town(make_town, social=("x", "mastodon"))
    wait_announced(town)
    wait_for(town.events, 20, what="the session in the agenda")
    (event,) = town.events()
    assert event.start.astimezone(TZ).replace(tzinfo=None) == SESION
    assert town.subscriber.calendar_name == "Ayudas al alquiler joven / Ajudes al lloguer jove"
    moved = SESION + dt.timedelta(days=2, hours=1)
    since = dt.datetime.now(dt.timezone.utc)
    text = town.read("ayudas.yaml")
    for old, new in ((SESION, moved), (SESION + dt.timedelta(hours=2), moved + dt.timedelta(hours=2))):
        text = text.replace(old.strftime("%Y-%m-%d %H:%M"), new.strftime("%Y-%m-%d %H:%M"))
    town.write("ayudas.yaml", text, commit="ayudas: la sesión cambia de día")
    town.wait_synced(since)
    town.settle()
    (event,) = town.events()
    assert event.start.astimezone(TZ).replace(tzinfo=None) == moved
    assert event.sequence == 1 and "{{" not in event.description
    assert "Casa de Cultura" in event.location
    town.retract("villa-ayudas", "sesion-informativa")
    town.settle()
    assert town.events() == [], render_view({}, town.events())
