"""``pregonero retry``: failed posts and corrections sent again once the cause is fixed, with
a preview first, an audit entry after, and never a second copy of anything.

Real redis-server, dispatcher and dramatiq worker over the outbox; the platform's refusals
come from the outbox's ``fail_plan`` (it raises before writing anything, as a platform that
refuses writes nothing).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from adapters.base import AuthError, Rejected
from tests.enginekit import hold_still, wait_for
from tests.opskit import copy_config, local
from tests.test_corrections import X_ES, make_world
from worker.cli.main import cli
from worker.corrections.overrides import engine_compile
from worker.engine.retry import CurrentPlan, Selection, apply_retries, plan_retries
from worker.engine.clock import to_ms
from worker.engine.states import FAILED
from worker.engine.sync import sync_once

UTC = dt.timezone.utc
TOKEN_EXPIRED = AuthError("401: token expired")


def calendar(due: dt.datetime, text_es: str = "Hoy abre el plazo de las ayudas.",
             entry: str = "aviso", closes: dt.date | None = None) -> str:
    """A calendar with one entry on X and Mastodon at ``due``; with ``closes``, the entry
    speaks of an application period that closes that day."""
    period = ""
    if closes is not None:
        period = (f"facts:\n  plazo_fin: {{date: {closes.isoformat()}}}\n"
                  f"  plazo_inicio: {{date: {(closes - dt.timedelta(days=30)).isoformat()}}}\n"
                  "periods:\n  solicitudes: {opens: plazo_inicio, closes: plazo_fin}\n")
    return (
        "calendar:\n  id: ensayo\n  title: {es: Ensayo, ca: Assaig}\n  department: comunicacion\n"
        "  timezone: Europe/Madrid\n  languages: [es]\n  sources: [https://sede.example.org/a]\n"
        "  hashtags: [\"#Test\"]\n"
        + period +
        "entries:\n"
        f"  - id: {entry}\n"
        + ("    for: solicitudes\n" if closes is not None else "")
        + f"    at: \"{local(due)}\"\n"
        "    accounts: [x:ayto-test, mastodon:ayto-test]\n"
        f"    text: {{es: {json.dumps(text_es, ensure_ascii=False)}}}\n")


X_JOB = "ensayo/aviso/x:ayto-test/es"
MASTODON_JOB = "ensayo/aviso/mastodon:ayto-test/es"


@pytest.fixture
def desk(engine, tmp_path, redis_server, monkeypatch):
    """A schedules folder and config beside the running engine, the CLI pointed at its Redis."""
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setenv("PREGONERO_HOME", str(tmp_path / "cli-home"))
    schedules = tmp_path / "schedules"
    schedules.mkdir()
    config = copy_config(tmp_path / "config")
    return engine, schedules, config


def fail_both(desk, **calendar_args) -> dt.datetime:
    """Schedule the calendar's two posts ~1.5 s from now with the token refused; wait until
    both failed. Returns their planned instant."""
    engine, schedules, config = desk
    due = (dt.datetime.now(UTC) + dt.timedelta(seconds=2)).replace(microsecond=0)
    (schedules / "ensayo.yaml").write_text(calendar(due, **calendar_args), encoding="utf-8")
    engine.fail_plan = lambda request: TOKEN_EXPIRED
    sync_once(engine.store, schedules, config)
    for job_id in (X_JOB, MASTODON_JOB):
        wait_for(lambda: engine.store.state(job_id) == FAILED, what=f"{job_id} failed")
    assert not engine.posts()
    engine.fail_plan = None
    return due


def retry_cli(desk, *args):
    _engine, schedules, config = desk
    return CliRunner().invoke(cli, ["retry", *args, "--schedules", str(schedules),
                                    "--config", str(config)], catch_exceptions=False)


def current(desk):
    engine, schedules, config = desk
    return CurrentPlan(engine_compile(engine.store, schedules, config, dt.datetime.now(UTC),
                                      clear=False))


def test_a_post_refused_for_an_expired_token_goes_out_once_when_retried(desk):
    engine, schedules, config = desk
    due = fail_both(desk)
    status = CliRunner().invoke(cli, ["status"], catch_exceptions=False).output
    assert X_JOB in status and "send them again with pregonero retry" in status
    result = retry_cli(desk, "--account", "x:ayto-test", "--reason", "token renovado",
                       "--by", "guardia-ana", "--yes")
    assert result.exit_code == 0, result.output
    assert "1 of 1 failed post(s) would be sent again" in result.output
    assert "it failed: AuthError: 401: token expired" in result.output
    assert "| Hoy abre el plazo de las ayudas." in result.output
    assert "scheduled again: 1" in result.output
    (record,) = wait_for(lambda: engine.posts(X_JOB), what="the retried post")
    # the outbox keeps the planned instant; the lateness is the truth about when it went out
    assert record["due"] == due.isoformat(timespec="microseconds")
    assert record["at"] > record["due"]
    # only the account asked for: the Mastodon post still waits for a decision
    assert engine.store.state(MASTODON_JOB) == FAILED
    retry_entry = [a for a in engine.store.audit(X_JOB) if a["why"].startswith("retry")]
    assert retry_entry and retry_entry[0]["by"] == "cli:guardia-ana"
    assert "token renovado" in retry_entry[0]["why"]
    # the next sync neither moves it back to its planned instant nor sends it again
    sync_once(engine.store, schedules, config)
    hold_still(lambda: len(engine.posts(X_JOB)) == 1, 1.0, what="one copy")
    assert engine.store.state(X_JOB) == "published"


def test_the_preview_changes_nothing_and_without_a_terminal_nothing_is_done(desk):
    engine, _schedules, _config = desk
    fail_both(desk)
    preview = retry_cli(desk, "--calendar", "ensayo", "--reason", "r", "--by", "b", "--dry-run")
    assert preview.exit_code == 0, preview.output
    assert "2 of 2 failed post(s) would be sent again" in preview.output
    assert "--dry-run: nothing was changed." in preview.output
    unconfirmed = retry_cli(desk, "--all", "--reason", "r", "--by", "b")
    assert unconfirmed.exit_code == 2
    hold_still(lambda: engine.store.state(X_JOB) == FAILED
               and engine.store.state(MASTODON_JOB) == FAILED, 0.5, what="still failed")
    assert not engine.posts()


def test_the_json_preview_lists_each_post_with_when_it_would_go_out(desk):
    due = fail_both(desk)
    result = retry_cli(desk, "--all", "--reason", "r", "--by", "b", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["job_id"]: r for r in json.loads(result.output)["retries"]}
    assert set(rows) == {X_JOB, MASTODON_JOB}
    assert rows[X_JOB]["planned"] == due.isoformat(timespec="seconds")
    assert rows[X_JOB]["refused"] is None and rows[X_JOB]["send_at"] >= rows[X_JOB]["planned"]
    assert rows[X_JOB]["failed_because"] == "AuthError: 401: token expired"


def test_a_retried_post_says_what_its_calendar_says_now(desk):
    engine, schedules, _config = desk
    due = fail_both(desk)
    engine.fail_plan = lambda r: Rejected("text refused") if "ayudas" in r.text else None
    # the editor rewrites the text the platform refused
    (schedules / "ensayo.yaml").write_text(calendar(due, "Desde hoy, solicitudes en la sede."))
    retries = plan_retries(engine.store, Selection(job_ids=(X_JOB,)), current(desk),
                           to_ms(dt.datetime.now(UTC)))
    (retry,) = retries
    assert retry.note == "updated from the calendar" and retry.text.startswith("Desde hoy")
    assert apply_retries(engine.store, retries, "cli:ana", "texto corregido") == [X_JOB]
    (record,) = wait_for(lambda: engine.posts(X_JOB), what="the corrected post")
    assert record["text"].startswith("Desde hoy, solicitudes en la sede.")


def test_a_post_whose_entry_left_its_calendar_is_not_sent(desk):
    engine, schedules, _config = desk
    due = fail_both(desk)
    (schedules / "ensayo.yaml").write_text(calendar(due, entry="otro-aviso"))
    retries = plan_retries(engine.store, Selection(calendar="ensayo"), current(desk),
                           to_ms(dt.datetime.now(UTC)))
    assert {r.job_id for r in retries} == {X_JOB, MASTODON_JOB}
    assert all("no longer in its calendar" in r.refused for r in retries)
    assert apply_retries(engine.store, retries, "cli:ana", "r") == []
    hold_still(lambda: engine.store.state(X_JOB) == FAILED, 0.5, what="still failed")


def test_a_post_about_a_period_that_has_closed_is_not_sent_late(desk):
    engine, _schedules, _config = desk
    closes = (dt.datetime.now(UTC) + dt.timedelta(days=3)).date()
    fail_both(desk, closes=closes)
    plan = current(desk)
    now = to_ms(dt.datetime.now(UTC))
    # today the period is still open: it may go out
    assert all(r.refused is None for r in plan_retries(engine.store, Selection(everything=True),
                                                         plan, now))
    # four days later it has closed (23:59:59 Madrid time of its last day)
    later = plan_retries(engine.store, Selection(everything=True), plan, now + 4 * 86_400_000)
    assert all(r.refused and "closed at " + closes.isoformat() + " 23:59" in r.refused
               for r in later)


def test_named_posts_that_are_not_failed_are_refused_and_never_sent_twice(desk):
    engine, _schedules, _config = desk
    fail_both(desk)
    assert retry_cli(desk, X_JOB, "--reason", "r", "--by", "b", "--yes").exit_code == 0
    wait_for(lambda: engine.store.state(X_JOB) == "published", what="published")
    again = retry_cli(desk, X_JOB, "ensayo/nada/x:ayto-test/es", "--reason", "r", "--by", "b",
                      "--yes")
    assert again.exit_code == 1
    assert "already published: never sent twice" in again.output
    assert "no such job in the store" in again.output
    hold_still(lambda: len(engine.posts(X_JOB)) == 1, 0.5, what="one copy")


def test_asking_for_nothing_or_for_both_ids_and_a_scope_is_a_usage_error(desk):
    assert retry_cli(desk, "--reason", "r", "--by", "b").exit_code == 2
    assert retry_cli(desk, X_JOB, "--all", "--reason", "r", "--by", "b").exit_code == 2


# --- corrections ------------------------------------------------------------------------------


@pytest.fixture
def world(engine, tmp_path, redis_server, monkeypatch):
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setenv("PREGONERO_HOME", str(tmp_path / "cli-home"))
    return make_world(engine, tmp_path)


def test_a_failed_correction_step_is_retried_and_closes_its_version(world):
    world.publish_entries(("anuncio",))
    world.engine.fail_plan = lambda r: TOKEN_EXPIRED if r.action != "publish" else None
    world.set_fact("plazo_fin", "2027-08-27")
    world.sync()
    x_step = wait_for(lambda: [s.id for s in world.store.summaries().values()
                               if s.of == X_ES and s.state == FAILED], what="X's step failed")[0]
    world.sync()  # the correction pass alerts: a person must act
    assert world.store.state(X_ES) == "correcting"
    assert "AuthError" in world.store.get(X_ES).fields.get("al", "")
    world.engine.fail_plan = None
    result = CliRunner().invoke(cli, ["retry", "--calendar", "ayudas-test", "--reason",
                                      "token renovado", "--by", "guardia-ana", "--yes",
                                      "--schedules", str(world.schedules),
                                      "--config", str(world.config)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"(correction: reply to {X_ES})" in result.output
    world.wait_settled()
    (reply,) = world.records("reply", X_ES)
    assert reply["job_id"] == x_step and "27 de agosto de 2027" in reply["text"]
    original = world.store.get(X_ES)
    assert original.state == "published" and "al" not in original.fields
    assert any("retried" in a["why"] for a in world.store.audit(X_ES))


def test_a_correction_step_whose_original_moved_on_is_superseded(world):
    world.publish_entries(("anuncio",))
    world.engine.fail_plan = lambda r: TOKEN_EXPIRED if r.action != "publish" else None
    world.set_fact("plazo_fin", "2027-08-27")
    world.sync()
    wait_for(lambda: [s for s in world.store.summaries().values()
                      if s.of == X_ES and s.state == FAILED], what="X's step failed")
    # someone settled it by hand: the original no longer waits for that version
    assert world.store.transition(X_ES, "correcting", "published", "test", "settled by hand")
    (retry,) = [r for r in plan_retries(world.store, Selection(calendar="ayudas-test"),
                                        CurrentPlan(world.compile()), to_ms(dt.datetime.now(UTC)))
                if r.original == X_ES]
    assert retry.refused.startswith("superseded: the original is published")


def test_with_the_wrong_schedules_folder_nothing_is_sent_and_it_says_why(desk, tmp_path):
    engine, _schedules, config = desk
    fail_both(desk)
    result = CliRunner().invoke(cli, ["retry", "--all", "--reason", "r", "--by", "b", "--yes",
                                      "--schedules", str(tmp_path / "otra-carpeta"),
                                      "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "0 of 2 failed post(s) would be sent again" in result.output
    assert "its calendar 'ensayo' is not among the calendars read" in result.output
    assert engine.store.state(X_JOB) == FAILED

