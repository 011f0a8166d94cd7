"""Metrics and /healthz over HTTP, on a known store state in a real Redis."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from adapters.base import PostRef
from tests.enginekit import FakeSourcePlan, begin_attempt, make_job
from worker.engine.metrics import health, record_heartbeat, start_metrics_server
from worker.engine.sync import apply_plan

UTC = dt.timezone.utc


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def scrape(server) -> dict[str, list]:
    code, text = get(server.url + "/metrics")
    assert code == 200
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def value(samples, name: str, **labels) -> float:
    found = [s.value for s in samples if s.name == name and all(s.labels.get(k) == v
                                                                 for k, v in labels.items())]
    assert len(found) == 1, (name, labels, samples)
    return found[0]


@pytest.fixture
def known_state(store):
    past = dt.datetime.now(UTC) - dt.timedelta(minutes=5)
    jobs = {name: make_job(name, past, account=account) for name, account in (
        ("a-tiempo", "x:ayto-test"), ("tarde", "mastodon:ayto-test"),
        ("fallido", "x:ayto-test"), ("reintento", "bluesky:ayto-test"),
        ("pendiente", "x:ayto-test"))}
    apply_plan(store, [FakeSourcePlan("cal.yaml", True, tuple(jobs.values()))], past)
    ref = PostRef("x", "x:ayto-test", "1", None)
    store.mark_published(jobs["a-tiempo"].id, begin_attempt(store, jobs["a-tiempo"].id, 1), ref, 120)
    store.mark_published(jobs["tarde"].id, begin_attempt(store, jobs["tarde"].id, 2), ref, 90_000)
    store.mark_failed(jobs["fallido"].id, "Rejected: too long",
                      attempt_id=begin_attempt(store, jobs["fallido"].id, 3))
    store.reschedule(jobs["reintento"].id, begin_attempt(store, jobs["reintento"].id, 4),
                     10**13, "rate limited", 0)
    store.flag_posted(jobs["a-tiempo"].id, "needs_correction", "sync", "content changed")
    store.set_sync_status({"at": dt.datetime.now(UTC).isoformat(), "counts": {},
                           "load_errors": {}})
    return jobs


@pytest.fixture
def server(store):
    server = start_metrics_server(store, "127.0.0.1", 0)
    yield server
    server.close()


def test_jobs_by_state_lateness_outcomes_and_corrections_are_scraped_and_parsed(known_state,
                                                                                  server):
    metrics = scrape(server)
    jobs = metrics["pregonero_jobs"]
    assert {s.labels["state"]: s.value for s in jobs} == {
        "failed": 1, "needs_correction": 1, "published": 1, "scheduled": 2}
    lateness = metrics["pregonero_publish_lateness_seconds"]
    assert value(lateness, "pregonero_publish_lateness_seconds_count") == 2
    assert value(lateness, "pregonero_publish_lateness_seconds_bucket", le="0.25") == 1
    assert value(lateness, "pregonero_publish_lateness_seconds_bucket", le="60.0") == 1
    assert value(lateness, "pregonero_publish_lateness_seconds_bucket", le="300.0") == 2
    assert value(lateness, "pregonero_publish_lateness_seconds_sum") == pytest.approx(90.12)
    outcomes = metrics["pregonero_publish_outcomes"]
    assert {(s.labels["platform"], s.labels["outcome"]): s.value for s in outcomes} == {
        ("x", "published"): 1, ("mastodon", "published"): 1, ("x", "failed"): 1,
        ("bluesky", "retried"): 1}
    assert value(metrics["pregonero_corrections"], "pregonero_corrections_total",
                 event="needs_correction") == 1
    assert value(metrics["pregonero_sync_errors"], "pregonero_sync_errors_total") == 0


def test_counters_only_grow_with_new_audit_entries_between_scrapes(known_state, server, store):
    first = scrape(server)["pregonero_publish_outcomes"]
    again = scrape(server)["pregonero_publish_outcomes"]
    assert first == again
    job = known_state["pendiente"]
    store.mark_published(job.id, begin_attempt(store, job.id, 9), PostRef("x", "x:ayto-test", "2"), 50)
    after = scrape(server)["pregonero_publish_outcomes"]
    assert value(after, "pregonero_publish_outcomes_total", platform="x", outcome="published") == 2


def test_a_sync_leaving_a_calendar_failing_counts_as_a_sync_error(known_state, server, store):
    store.set_sync_status({"at": dt.datetime.now(UTC).isoformat(), "counts": {},
                           "load_errors": {"fiestas.yaml": ["fiestas.yaml:3:1: error: ..."]}})
    metrics = scrape(server)
    assert value(metrics["pregonero_sync_errors"], "pregonero_sync_errors_total") == 1
    assert value(metrics["pregonero_calendars_failing"], "pregonero_calendars_failing") == 1
    assert value(scrape(server)["pregonero_sync_errors"], "pregonero_sync_errors_total") == 1


def test_healthz_is_200_with_a_recent_sync_and_503_when_it_is_stale(known_state, server, store):
    code, body = get(server.url + "/healthz")
    assert code == 200 and json.loads(body)["healthy"] is True
    stale = dt.datetime.now(UTC) - dt.timedelta(hours=1)
    store.set_sync_status({"at": stale.isoformat(), "counts": {}})
    code, body = get(server.url + "/healthz")
    assert code == 503 and json.loads(body)["signs"]["sync"] >= 3600 - 5


def test_a_heartbeat_keeps_a_process_without_sync_healthy(store):
    assert health(store)[0] is False  # nothing has shown life yet
    record_heartbeat(store, "dispatcher-1")
    healthy, details = health(store)
    assert healthy and "dispatcher-1" in details["signs"]


def test_healthz_is_503_when_redis_does_not_answer(store, redis_server):
    record_heartbeat(store, "worker")
    server = start_metrics_server(store, "127.0.0.1", 0)
    try:
        redis_server.kill()
        code, body = get(server.url + "/healthz")
        assert code == 503 and json.loads(body)["redis"] is False
    finally:
        server.close()


def test_unknown_paths_are_404(server):
    assert get(server.url + "/")[0] == 404


def test_the_metrics_command_is_registered_with_its_options():
    from worker.cli.main import cli

    result = CliRunner().invoke(cli, ["metrics", "--help"])
    assert result.exit_code == 0 and "--port" in result.output and "/healthz" in result.output


def test_the_calendar_feeds_are_served_for_subscription_and_nothing_else(store, tmp_path):
    feeds = tmp_path / "ics"
    feeds.mkdir()
    (feeds / "all.ics").write_text("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    (tmp_path / "secret.ics").write_text("not a feed")
    server = start_metrics_server(store, port=0, feeds_dir=feeds)
    try:
        assert get(server.url + "/ics/all.ics") == (200, "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
        assert get(server.url + "/ics/missing.ics")[0] == 404
        assert get(server.url + "/ics/../secret.ics")[0] == 404
        assert get(server.url + "/ics/%2e%2e%2fsecret.ics")[0] == 404
    finally:
        server.close()
