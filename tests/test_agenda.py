"""``pregonero agenda``: the daily route, from the plan or from a real store."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from tests.enginekit import FakeSourcePlan, make_job
from tests.lintkit import BASE, FIXTURES, NOW
from worker.ops.agenda import agenda, by_day, window
from worker.cli.main import cli
from worker.engine.holds import pause
from worker.engine.sync import apply_plan

UTC = dt.timezone.utc
NOW_ISO = NOW.isoformat().replace("+00:00", "Z")


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("PREGONERO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("REDIS_URL", raising=False)
    root = tmp_path / "schedules"
    root.mkdir()
    (root / "ayudas.yaml").write_text(BASE, encoding="utf-8")
    return root


def run(*args):
    return CliRunner().invoke(cli, ["agenda", *args], catch_exceptions=False)


def test_a_week_runs_from_monday_to_sunday_around_the_given_day():
    assert window("week", dt.date(2027, 3, 10)) == (dt.date(2027, 3, 8), dt.date(2027, 3, 14))
    assert window("day", dt.date(2027, 3, 10)) == (dt.date(2027, 3, 10), dt.date(2027, 3, 10))


def test_a_post_belongs_to_the_day_of_its_calendars_zone_not_the_servers():
    late_night = make_job("noche", dt.datetime(2027, 3, 9, 23, 30, tzinfo=UTC))  # 00:30 in Madrid
    rows = agenda([late_night], dt.date(2027, 3, 10), dt.date(2027, 3, 10))
    assert [(r.day, r.time) for r in rows] == [("2027-03-10", "00:30:00")]
    assert agenda([late_night], dt.date(2027, 3, 9), dt.date(2027, 3, 9)) == []


def test_the_department_filter_and_cancelled_jobs_are_left_out():
    due = dt.datetime(2027, 3, 10, 9, tzinfo=UTC)
    jobs = [make_job("a", due, department="promocion"), make_job("b", due, department="festes"),
            make_job("c", due, department="promocion")]
    states = {jobs[2].id: ("cancelled", "")}
    rows = agenda(jobs, due.date(), due.date(), department="promocion", states=states)
    assert [r.entry for r in rows] == ["a"]
    assert list(by_day(rows)) == ["2027-03-10"]


def test_the_json_agenda_from_the_plan_lists_every_post_field_by_field(env):
    result = run(str(env), "--from-plan", "--date", "2027-03-10", "--json",
                 "--config", str(FIXTURES / "config"), "--now", NOW_ISO)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["from"], data["to"], data["source"], data["count"]) == (
        "2027-03-10", "2027-03-10", "plan", 3)
    row = next(r for r in data["rows"] if r["account"] == "x:ayto-test" and r["language"] == "es")
    assert row == {
        "day": "2027-03-10", "time": "10:00:00", "timezone": "Europe/Madrid",
        "due_utc": "2027-03-10T09:00:00+00:00", "department": "promocion",
        "account": "x:ayto-test", "platform": "x", "language": "es", "kind": "post",
        "category": "institutional", "calendar": "test-ayudas", "entry": "anuncio",
        "job_id": "test-ayudas/anuncio/x:ayto-test/es", "text": row["text"],
        "link": "https://sede.example.org/ayudas", "official_url": None, "state": "",
        "reason": ""}
    assert row["text"].startswith("Ayudas de hasta 3.000 € para el comercio local.")
    assert {r["language"] for r in data["rows"]} == {"es", "ca", "es+ca"}


def test_a_week_of_the_plan_in_plain_text_groups_posts_by_day(env):
    result = run(str(env), "--from-plan", "--week", "--date", "2027-03-15",
                 "--config", str(FIXTURES / "config"), "--now", NOW_ISO)
    lines = result.output.splitlines()
    assert lines[0] == "agenda 2027-03-15 to 2027-03-21 (plan): 2 post(s)"
    assert lines[1] == "2027-03-15:"
    assert lines[2].startswith("  09:00:00 Europe/Madrid  x:ayto-test")
    assert "golive" in lines[2] and "test-ayudas/abierto" in lines[2]


def test_the_agenda_reads_the_store_with_each_posts_state_and_reason(env, redis_server, store,
                                                                     monkeypatch):
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    due = dt.datetime(2030, 3, 10, 9, tzinfo=UTC)
    jobs = [make_job("aviso", due, account="x:ayto-test"),
            make_job("aviso", due + dt.timedelta(hours=2), account="x:policia-test",
                     department="seguridad"),
            make_job("otro-dia", due + dt.timedelta(days=1))]
    apply_plan(store, [FakeSourcePlan("cal.yaml", True, tuple(jobs))], NOW)
    pause(store, "department", "seguridad", "pleno extraordinario", "ana")
    result = run("--date", "2030-03-10", "--json")
    data = json.loads(result.output)
    assert data["source"] == "store" and data["count"] == 2
    assert [(r["entry"], r["account"], r["state"], r["reason"]) for r in data["rows"]] == [
        ("aviso", "x:ayto-test", "scheduled", ""),
        ("aviso", "x:policia-test", "held", "paused")]
    only = json.loads(run("--date", "2030-03-10", "--department", "seguridad", "--json").output)
    assert [r["department"] for r in only["rows"]] == ["seguridad"]
    plain = run("--date", "2030-03-10").output
    assert "held paused  cal/aviso" in plain


def test_an_empty_store_falls_back_to_the_plan(env, redis_server, monkeypatch):
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    result = run(str(env), "--date", "2027-03-10", "--json", "--config",
                 str(FIXTURES / "config"), "--now", NOW_ISO)
    assert json.loads(result.output)["source"] == "plan"
