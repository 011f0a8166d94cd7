"""Quiet periods applied by the engine, on a real redis-server with the in-process engine.

The dispatcher asks the quiet gate about every claimed job: a job whose instant falls in a
period that does not allow its category is held (reason ``quiet_period``), never failed and
never posted; once the period is over it waits for a decision (``resume --send-missed`` or
``--skip-missed``), and the audit says who decided.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pytest

from tests.enginekit import hold_still, make_job, now, one_file_plan, utc_in, wait_for
from worker.engine import quiet
from worker.config_model import QuietPeriod
from worker.engine.holds import resume
from worker.engine.quiet import QuietGate
from worker.engine.store import Claim
from worker.engine.sync import apply_plan

FIXTURE_CONFIG = Path(__file__).parent / "fixtures" / "config"


def period(start_s: float, end_s: float, *, departments=("promocion",), allow=("procedure",),
           pid="elecciones-test") -> QuietPeriod:
    return QuietPeriod(pid, utc_in(start_s), utc_in(end_s), tuple(departments), tuple(allow),
                       "campaña electoral (LOREG art. 50)")


def with_gate(engine, *periods):
    engine.dispatcher.gate = QuietGate(engine.store, periods=tuple(periods), by="dispatcher-test")
    return engine


def published(engine, job_id):
    stored = engine.store.get(job_id)
    return stored if stored and stored.state == "published" else None


def test_a_job_due_inside_a_quiet_period_is_held_with_its_reason_and_never_posted(engine):
    with_gate(engine, period(-5, 30))
    job = make_job("balance", utc_in(0.8))
    apply_plan(engine.store, one_file_plan(job), now())
    wait_for(lambda: engine.store.state(job.id) == "held", what="held at its instant")
    stored = engine.store.get(job.id)
    assert stored.reason == "quiet_period"
    assert stored.fields["qp"] == "elecciones-test"
    assert stored.fields.get("t") is None, "the dispatch token is voided"
    hold_still(lambda: engine.store.state(job.id) == "held" and not engine.posts(job.id), 0.5,
               what="held and not posted")
    last = engine.store.audit(job.id)[-1]
    assert (last["from"], last["to"], last["by"]) == ("dispatched", "held", "dispatcher-test")
    assert last["why"].startswith("quiet period elecciones-test: campaña electoral")


def test_allowed_categories_and_other_departments_still_go_out_during_a_quiet_period(engine):
    with_gate(engine, period(-5, 30))
    tramite = dataclasses.replace(make_job("tramite", utc_in(0.8)), category="procedure")
    otra = make_job("otra", utc_in(0.8), department="mexico")
    covered = make_job("logros", utc_in(0.8))
    apply_plan(engine.store, one_file_plan(tramite, otra, covered), now())
    wait_for(lambda: published(engine, tramite.id), what="allowed category published")
    wait_for(lambda: published(engine, otra.id), what="other department published")
    wait_for(lambda: engine.store.state(covered.id) == "held", what="covered job held")
    assert len(engine.posts()) == 2


def test_a_period_that_ends_before_the_instant_holds_nothing(engine):
    with_gate(engine, period(-10, -1))
    job = make_job("despues", utc_in(0.8))
    apply_plan(engine.store, one_file_plan(job), now())
    stored = wait_for(lambda: published(engine, job.id), what="published")
    assert stored.lateness_ms >= 0 and len(engine.posts(job.id)) == 1


def test_resume_during_the_quiet_period_releases_nothing_whatever_the_decision(engine):
    with_gate(engine, period(-5, 30))
    job = make_job("pronto", utc_in(0.6))
    apply_plan(engine.store, one_file_plan(job), now())
    wait_for(lambda: engine.store.state(job.id) == "held", what="held")
    report = resume(engine.store, "all", None, by="ana", missed="send")
    assert report.still_quiet == [job.id] and not report.sent_late
    hold_still(lambda: engine.store.state(job.id) == "held" and not engine.posts(job.id), 0.5,
               what="still held during the period")


def test_after_the_period_a_held_job_waits_for_a_decision_then_send_missed_sends_it(engine):
    quiet_period = period(-5, 1.2)
    with_gate(engine, quiet_period)
    job = make_job("esperando", utc_in(0.5))
    apply_plan(engine.store, one_file_plan(job), now())
    wait_for(lambda: engine.store.state(job.id) == "held", what="held")
    wait_for(lambda: now() > quiet_period.end, what="the period ends")
    hold_still(lambda: engine.store.state(job.id) == "held", 0.5,
               what="not released by the end of the period alone")
    report = resume(engine.store, "department", "promocion", by="ana")
    assert report.awaiting_decision == [job.id]
    assert engine.store.get(job.id).reason == "quiet_period"
    report = resume(engine.store, "department", "promocion", by="luis", missed="send")
    assert report.sent_late == [job.id]
    wait_for(lambda: published(engine, job.id), what="sent late by decision")
    assert len(engine.posts(job.id)) == 1
    decision = [a for a in engine.store.audit(job.id) if "decided" in a["why"]]
    assert [(d["by"], d["why"]) for d in decision] == [
        ("luis", "missed in a quiet period: send late (decided)")]
    assert "qe" not in engine.store.get(job.id).fields


def test_skip_missed_cancels_a_job_held_by_a_quiet_period_that_has_ended(engine):
    quiet_period = period(-5, 1.0)
    with_gate(engine, quiet_period)
    job = make_job("descartado", utc_in(0.4), account="mastodon:ayto-test")
    apply_plan(engine.store, one_file_plan(job), now())
    wait_for(lambda: engine.store.state(job.id) == "held", what="held")
    wait_for(lambda: now() > quiet_period.end, what="the period ends")
    report = resume(engine.store, "account", "mastodon:ayto-test", by="marta", missed="skip")
    assert report.skipped == [job.id]
    assert engine.store.state(job.id) == "cancelled"
    assert engine.store.audit(job.id)[-1]["by"] == "marta"
    hold_still(lambda: not engine.posts(job.id), 0.5, what="never posted")


def test_a_job_sent_late_by_decision_is_held_again_if_it_would_go_out_inside_a_period(engine):
    from worker.engine.holds import pause

    job = make_job("tarde", utc_in(0.5))
    apply_plan(engine.store, one_file_plan(job), now())
    pause(engine.store, "all", None, "incidencia", by="ana")
    wait_for(lambda: engine.store.get(job.id).reason == "paused" and now() > job.due_utc,
             what="missed while paused")
    with_gate(engine, period(-1, 30))  # meanwhile a quiet period started
    report = resume(engine.store, "all", None, by="luis", missed="send")
    assert report.sent_late == [job.id]
    wait_for(lambda: engine.store.get(job.id).reason == "quiet_period", what="held by the period")
    hold_still(lambda: not engine.posts(job.id), 0.5, what="not posted inside the period")


def write_policies(config_dir: Path, start: dt.datetime, end: dt.datetime) -> None:
    fmt = "%Y-%m-%d %H:%M"
    zone = dt.timezone.utc
    (config_dir / "policies.yaml").write_text(
        "quiet_periods:\n"
        "  - id: luto-oficial\n"
        f'    from: "{start.astimezone(zone).strftime(fmt)}"\n'
        f'    to: "{end.astimezone(zone).strftime(fmt)}"\n'
        "    timezone: UTC\n"
        "    departments: [promocion]\n"
        "    allow: [emergency]\n"
        "    reason: luto oficial\n", encoding="utf-8")


def test_the_gate_reads_quiet_periods_from_config_and_follows_changes(store, tmp_path, monkeypatch):
    monkeypatch.setattr(quiet, "RELOAD_EVERY_S", 0.0)
    config = tmp_path / "config"
    shutil.copytree(FIXTURE_CONFIG, config)
    write_policies(config, now() - dt.timedelta(hours=1), now() + dt.timedelta(hours=1))
    gate = QuietGate(store, config)
    job = make_job("leida", utc_in(60))
    store.add_job(job, "cal.yaml", "test")
    claim = store.claim_due(10**15, 10)[0]
    assert gate(Claim(claim.job_id, claim.token, int(now().timestamp() * 1000))) is False
    assert store.get(job.id).fields["qp"] == "luto-oficial"

    other = make_job("cambio", utc_in(60))
    store.add_job(other, "cal.yaml", "test")
    write_policies(config, now() - dt.timedelta(hours=3), now() - dt.timedelta(hours=2))
    claim = store.claim_due(10**15, 10)[0]
    assert gate(Claim(claim.job_id, claim.token, int(now().timestamp() * 1000))) is True
    assert store.state(other.id) == "dispatched"


def test_a_broken_policies_file_keeps_the_last_good_quiet_periods(store, tmp_path, monkeypatch):
    monkeypatch.setattr(quiet, "RELOAD_EVERY_S", 0.0)
    config = tmp_path / "config"
    shutil.copytree(FIXTURE_CONFIG, config)
    write_policies(config, now() - dt.timedelta(hours=1), now() + dt.timedelta(hours=1))
    gate = QuietGate(store, config)
    gate._refresh()
    (config / "policies.yaml").write_text("quiet_periods: [{id: roto\n", encoding="utf-8")
    gate._refresh()
    assert [p.id for p in gate.periods] == ["luto-oficial"]


@pytest.mark.parametrize("category,held", [("institutional", True), ("emergency", False)])
def test_the_covering_period_depends_on_category_department_and_instant(category, held):
    p = period(-5, 5, allow=("emergency",))
    assert (quiet.covering((p,), utc_in(0), "promocion", category) is not None) is held
    assert quiet.covering((p,), utc_in(10), "promocion", category) is None
    assert quiet.covering((p,), utc_in(0), "otro", category) is None
