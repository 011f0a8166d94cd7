"""``pregonero rehearse``: the period on a simulated clock, through a separate outbox, and
exactly what the engine later publishes."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import FAST
from tests.enginekit import wait_for
from tests.lintkit import BASE, FIXTURES, NOW
from tests.opskit import calendar_yaml, copy_config, read_jsonl
from worker.cli.main import cli
from worker.config import load_config
from worker.plan import all_jobs, compile_paths

NOW_ISO = NOW.isoformat().replace("+00:00", "Z")
QUIET = """\
quiet_periods:
  - id: luto-oficial
    from: "2027-03-09 00:00"
    to: "2027-03-11 23:59"
    timezone: Europe/Madrid
    allow: [emergency]
    reason: "luto oficial"
"""


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("PREGONERO_HOME", str(home))
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("PREGONERO_TRANSPORT", raising=False)
    return home


@pytest.fixture
def calendars(tmp_path):
    root = tmp_path / "schedules"
    root.mkdir()
    (root / "ayudas.yaml").write_text(BASE, encoding="utf-8")
    return root


def rehearse(*args):
    return CliRunner().invoke(cli, ["rehearse", *args], catch_exceptions=False)


def test_the_rehearsal_outbox_holds_exactly_the_planned_jobs_with_their_texts_and_instants(
        home, calendars):
    result = rehearse(str(calendars), "--from", "2027-01-01", "--to", "2027-12-31",
                      "--config", str(FIXTURES / "config"), "--now", NOW_ISO, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    planned = all_jobs(compile_paths([calendars], load_config(FIXTURES / "config"), NOW))
    records = read_jsonl(Path(report["outbox"]))
    assert [(r["job_id"], r["text"], r["due"], r["account"], r["language"]) for r in records] == [
        (j.id, j.text, j.due_utc.isoformat(timespec="microseconds"), j.account, j.language)
        for j in planned]
    # the simulated clock: each post "goes out" exactly at its instant
    assert all(r["at"] == r["due"] for r in records)
    assert report["summary"] == {"published": len(planned), "held": 0, "failed": 0}


def test_the_rehearsal_never_writes_the_real_outbox(home, calendars):
    rehearse(str(calendars), "--from", "2027-01-01", "--to", "2027-12-31",
             "--config", str(FIXTURES / "config"), "--now", NOW_ISO)
    assert not (home / "outbox.jsonl").exists()
    assert read_jsonl(home / "rehearsal" / "outbox.jsonl")


def test_a_rehearsal_starts_from_an_empty_outbox_every_time(home, calendars):
    args = [str(calendars), "--from", "2027-03-10", "--to", "2027-03-10", "--config",
            str(FIXTURES / "config"), "--now", NOW_ISO]
    rehearse(*args)
    first = read_jsonl(home / "rehearsal" / "outbox.jsonl")
    rehearse(*args)
    assert read_jsonl(home / "rehearsal" / "outbox.jsonl") == first and first


def test_the_window_is_inclusive_in_local_days(home, calendars):
    result = rehearse(str(calendars), "--from", "2027-03-10", "--to", "2027-03-10",
                      "--config", str(FIXTURES / "config"), "--now", NOW_ISO, "--json")
    events = json.loads(result.output)["events"]
    assert {e["job_id"].split("/")[1] for e in events} == {"anuncio"}
    assert all(e["local"].startswith("2027-03-10 10:00:00") for e in events)


def test_go_live_posts_go_out_at_their_instant_unless_the_page_stays_offline(home, calendars):
    args = [str(calendars), "--from", "2027-03-15", "--to", "2027-03-15", "--config",
            str(FIXTURES / "config"), "--now", NOW_ISO, "--json"]
    online = json.loads(rehearse(*args).output)["events"]
    assert [(e["kind"], e["outcome"]) for e in online] == [("golive", "published")] * 2
    assert all("assumed live" in e["reason"] for e in online)
    result = rehearse(*args, "--golive-offline")
    offline = json.loads(result.output)["events"]
    assert result.exit_code == 1  # a post would fail: CI can stop the campaign
    assert [(e["outcome"], e["reason"].split(":")[0]) for e in offline] == [
        ("held", "golive_waiting")] * 2 + [("failed", "golive_timeout")] * 2
    held, failed = (dt.datetime.fromisoformat(offline[i]["at"]) for i in (0, 2))
    assert (failed - held).total_seconds() == load_config(FIXTURES / "config").golive_window_s
    assert not read_jsonl(home / "rehearsal" / "outbox.jsonl")


def test_posts_in_a_quiet_period_are_held_with_the_period_and_its_reason(home, calendars, tmp_path):
    config = copy_config(tmp_path / "config", QUIET)
    result = rehearse(str(calendars), "--from", "2027-03-01", "--to", "2027-03-31",
                      "--config", str(config), "--now", NOW_ISO, "--json")
    events = json.loads(result.output)["events"]
    held = [e for e in events if e["outcome"] == "held"]
    assert {e["job_id"].split("/")[1] for e in held} == {"anuncio"}
    assert all("quiet_period luto-oficial: luto oficial" in e["reason"] for e in held)
    published = {e["job_id"] for e in events if e["outcome"] == "published"}
    assert {r["job_id"] for r in read_jsonl(home / "rehearsal" / "outbox.jsonl")} == published


def test_the_plain_output_is_one_line_per_event_with_a_summary(home, calendars):
    result = rehearse(str(calendars), "--from", "2027-03-10", "--to", "2027-03-13",
                      "--config", str(FIXTURES / "config"), "--now", NOW_ISO)
    lines = result.output.splitlines()
    assert lines[0].startswith("rehearsal 2027-03-10 to 2027-03-13: 3 published, 0 held, 0 failed")
    assert len(lines) == 4 and all(" published " in line for line in lines[1:])


def test_a_calendar_that_does_not_load_makes_the_rehearsal_exit_one(home, calendars):
    (calendars / "broken.yaml").write_text("calendar: {id: x}\n", encoding="utf-8")
    result = rehearse(str(calendars), "--from", "2027-03-10", "--to", "2027-03-10",
                      "--config", str(FIXTURES / "config"), "--now", NOW_ISO, "--json")
    assert result.exit_code == 1
    assert "broken.yaml" in json.loads(result.stdout)["calendars_failing"]


def test_the_engine_later_publishes_exactly_what_the_rehearsal_showed(tmp_path, redis_server,
                                                                       monkeypatch):
    from worker.engine import service
    from worker.engine.publisher import EngineSettings

    monkeypatch.delenv("PREGONERO_TRANSPORT", raising=False)
    start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(seconds=4)
    schedules = tmp_path / "schedules"
    schedules.mkdir()
    (schedules / "ensayo.yaml").write_text(calendar_yaml([
        {"id": "primero", "at": start, "accounts": ["x:ayto-test", "mastodon:ayto-test"],
         "es": "Primer aviso del ensayo. #Test", "ca": "Primer avís de l'assaig. #Test"},
        {"id": "segundo", "at": start + dt.timedelta(seconds=1),
         "accounts": ["facebook:ayto-test", "bluesky:ayto-test"],
         "es": "Segundo aviso del ensayo. #Test", "ca": "Segon avís de l'assaig. #Test"},
    ]), encoding="utf-8")
    config = copy_config(tmp_path / "config", "")
    day = start.astimezone(dt.timezone.utc).date()
    result = CliRunner().invoke(cli, ["rehearse", str(schedules), "--config", str(config),
                                      "--from", str(day - dt.timedelta(days=1)),
                                      "--to", str(day + dt.timedelta(days=1)),
                                      "--outbox-dir", str(tmp_path / "rehearsal"), "--json"])
    assert result.exit_code == 0, result.output
    rehearsed = read_jsonl(tmp_path / "rehearsal" / "outbox.jsonl")
    expected = len(rehearsed)
    assert expected >= 6 and {r["account"] for r in rehearsed} == {
        "x:ayto-test", "mastodon:ayto-test", "facebook:ayto-test", "bluesky:ayto-test"}

    stop = threading.Event()
    home = tmp_path / "engine-home"
    thread = threading.Thread(target=service.run, args=(home, schedules, config), daemon=True,
                              kwargs={"redis_url": redis_server.url, "stop": stop,
                                      "settings": EngineSettings(**FAST)})
    thread.start()
    try:
        published = wait_for(lambda: len(read_jsonl(home / "outbox.jsonl")) >= expected and
                             read_jsonl(home / "outbox.jsonl"), timeout_s=20,
                             what="the engine's posts")
    finally:
        stop.set()
        thread.join(timeout=20)
    published = read_jsonl(home / "outbox.jsonl")  # all of it: nothing more, nothing twice

    def key(r):
        return (r["job_id"], r["text"], r["due"], r["account"], r["platform"], r["language"],
                r["idempotency_key"], r["link"], json.dumps(r["images"]), r["action"])

    assert sorted(map(key, published)) == sorted(map(key, rehearsed))
    for record in published:  # and the engine did it at the instant the rehearsal showed
        assert dt.datetime.fromisoformat(record["at"]) >= dt.datetime.fromisoformat(record["due"])
