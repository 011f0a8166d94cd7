"""What the sync tells operators: a failing calendar by file, line and problem, once; routine
changes without alerts."""

from __future__ import annotations

import datetime as dt

import pytest
import structlog
from structlog.testing import capture_logs

from tests.enginekit import FakeSourcePlan, make_job, utc_in
from worker.calendar.findings import Finding
from worker.engine.sync import apply_plan

NOW = dt.datetime.now(dt.timezone.utc)


@pytest.fixture(autouse=True)
def every_level_is_logged():
    """Another test of this process may have configured logging at WARNING: these tests read
    info lines too."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


def broken(path="calp/fiestas.yaml"):
    finding = Finding(path, 14, 9, "error", "mapping values are not allowed here", "yaml",
                      "put the text in quotes")
    return FakeSourcePlan(path, False, (), findings=(finding,))


def test_a_failing_calendar_is_alerted_once_with_its_file_line_and_problem(store):
    job = make_job("aviso", utc_in(3600))
    apply_plan(store, [FakeSourcePlan("calp/otro.yaml", True, (job,))], NOW)
    with capture_logs() as logs:
        apply_plan(store, [broken(), FakeSourcePlan("calp/otro.yaml", True, (job,))], NOW)
        apply_plan(store, [broken(), FakeSourcePlan("calp/otro.yaml", True, (job,))], NOW)
    alerts = [e for e in logs if e["event"] == "calendar_failed_to_load"]
    assert len(alerts) == 1, "synced every minute, alerted once"
    (alert,) = alerts
    assert alert["alert"] is True and alert["log_level"] == "error"
    assert alert["file"] == "calp/fiestas.yaml"
    assert alert["finding"].startswith("calp/fiestas.yaml:14:9: error: mapping values")


def test_a_calendar_that_fails_again_differently_is_alerted_again_and_its_fix_is_logged(store):
    with capture_logs() as logs:
        apply_plan(store, [broken()], NOW)
        other = Finding("calp/fiestas.yaml", 20, 3, "error", "unknown fact 'plazo'", "template")
        apply_plan(store, [FakeSourcePlan("calp/fiestas.yaml", False, (), findings=(other,))], NOW)
        apply_plan(store, [FakeSourcePlan("calp/fiestas.yaml", True, ())], NOW)
    events = [e["event"] for e in logs if e["event"].startswith("calendar_")]
    assert events == ["calendar_failed_to_load", "calendar_failed_to_load", "calendar_loads_again"]


def test_a_removed_entry_is_routine_and_not_an_alert(store):
    from tests.enginekit import begin_attempt

    job = make_job("retirada", utc_in(3600))
    apply_plan(store, [FakeSourcePlan("cal.yaml", True, (job,))], NOW)
    attempt = begin_attempt(store, job.id, 1)
    from adapters.base import PostRef

    assert store.mark_published(job.id, attempt, PostRef("x", job.account, "1"), 0)
    with capture_logs() as logs:
        apply_plan(store, [FakeSourcePlan("cal.yaml", True, ())], NOW)
    flagged = [e for e in logs if e["event"] == "posts_flagged"]
    assert flagged and flagged[0]["orphaned"] == 1
    assert not any(e.get("alert") for e in logs)
