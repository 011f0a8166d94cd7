"""Sync: compile the calendars, diff against the store, apply, record the outcome.

Each change is one guarded transition (see ``worker.engine.store``), so a change that races with a
worker (the job started publishing between the diff and the apply) simply fails its check and
is retried by the next sync with fresh facts. Adds are pipelined: a first sync of 100k jobs is
a few round trips, not 100k.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable, Iterable

import structlog

from worker.engine.diff import Changes, diff
from worker.engine.store import Store
from worker.engine.clock import to_ms
from worker.engine.states import (CORRECTING, NEEDS_CORRECTION, ORPHANED, PENDING,
                                  StoredJobSummary)

log = structlog.get_logger("pregonero.sync")
BATCH = 500


@dataclasses.dataclass
class SyncReport:
    at: str
    counts: dict[str, int]
    #: transitions that lost a race (the next sync retries them)
    conflicts: list[str] = dataclasses.field(default_factory=list)
    #: calendar file -> formatted findings, for files kept at their last good version
    load_errors: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    refused: str | None = None
    duration_ms: int = 0
    #: pending jobs held because a change put them in the past or after their deadline
    held: list[str] = dataclasses.field(default_factory=list)
    #: published posts waiting for (or in the middle of) a correction before this sync
    uncorrected: int = 0

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def sync_once(store: Store, schedules_dir: Path, config_dir: Path, now: dt.datetime | None = None,
              *, compile_fn: Callable | None = None, by: str = "sync") -> SyncReport:
    """Compile ``schedules_dir`` with ``config_dir`` and bring the store in line with it."""
    now = now or dt.datetime.now(dt.timezone.utc)
    # config/ read once per sync, for the compile and the correction planner alike (None: it
    # does not load, and the compile reports why on every calendar)
    config = _config_or_none(Path(config_dir))
    if compile_fn is None:
        # the engine's compile: CLI overrides on top of the files, past entries tolerated,
        # posts after a moved deadline flagged (see worker.corrections.overrides)
        from worker.corrections.overrides import engine_compile

        def compile_fn(schedules, config_dir, moment):
            return engine_compile(store, schedules, config_dir, moment, config=config)
    plans = compile_fn(Path(schedules_dir), Path(config_dir), now)
    # one scan of the store per sync: the diff reads it, the apply keeps it up to date with
    # its own transitions, and the correction planner starts from it
    stored = store.summaries()
    report = apply_plan(store, plans, now, by=by, stored=stored)
    if report.counts.get("corrections") or report.counts.get("orphans") or report.uncorrected:
        try:
            from worker.corrections.engine import plan_corrections_from_config

            plan_corrections_from_config(store, Path(config_dir), now, config=config,
                                         summaries=stored)
        except Exception:
            log.exception("correction_planning_failed", alert=True)
    return report


def _config_or_none(config_dir: Path):
    from worker.config import ConfigError, load_config

    try:
        return load_config(config_dir)
    except ConfigError:
        return None


def apply_plan(store: Store, plans: Iterable, now: dt.datetime, *, by: str = "sync",
               grace_ms: int = 60_000,
               stored: dict[str, StoredJobSummary] | None = None) -> SyncReport:
    """Bring the store in line with ``plans``. ``stored``: the store's summaries as the caller
    just read them (read here when None); the published posts this apply flags for a
    correction are updated in it, so a correction pass can start from it without a scan."""
    started = time.monotonic()
    plans = list(plans)
    stored = store.summaries() if stored is None else stored
    report = SyncReport(at=now.isoformat(), counts={})
    report.uncorrected = sum(s.state in (NEEDS_CORRECTION, ORPHANED, CORRECTING)
                             for s in stored.values())
    from worker.plan import TOLERATED

    for source in plans:
        if not source.ok or getattr(source, "degraded", False):
            # what stops the file first (a past instant alone would not): that is the fix
            errors = sorted((f for f in source.findings if f.severity == "error"),
                            key=lambda f: f.code in TOLERATED)
            report.load_errors[source.path] = [f.format() for f in errors or source.findings]
    _alert_load_errors(store, report.load_errors)
    if not plans and any(s.state in PENDING for s in stored.values()):
        # an empty checkout or a wrong path must not cancel every scheduled post
        report.refused = "no calendar files found: refusing to cancel every scheduled job"
        log.error("sync_refused", reason=report.refused, alert=True)
        store.set_sync_status(report.as_dict())
        return report
    changes = diff(plans, stored, to_ms(now), grace_ms)
    flagged = {job_id: why for p in plans if p.ok for job_id, why in getattr(p, "flagged", {}).items()}
    # flagged adds are held straight away (never scheduled)
    flagged_adds = [p for p in changes.adds if p.job.id in flagged]
    changes.adds = [p for p in changes.adds if p.job.id not in flagged]
    _apply(store, changes, by, report, flagged, to_ms(now) - grace_ms, stored)
    for placed in flagged_adds:
        if store.transition(placed.job.id, "-|cancelled|failed", "held", by,
                            f"added, held: {flagged[placed.job.id]}", held=to_ms(placed.job.due_utc),
                            fields={**_fields_of(placed), "r": flagged[placed.job.id]}):
            report.held.append(placed.job.id)
    changes.adds.extend(flagged_adds)
    # unchanged pending jobs that a change elsewhere put after their deadline: held too. (An
    # unchanged job whose own instant has passed is no news: it is on its way, or a go-live
    # re-checking its page; holding it "in the past" would strand it.)
    moved = {p.job.id for p in (*changes.moves, *changes.rerenders, *flagged_adds)}
    for source in plans:
        if not source.ok:
            continue
        for job in source.jobs:
            reason = flagged.get(job.id)
            summary = stored.get(job.id)
            if reason == "after_deadline" and job.id not in moved and summary \
                    and summary.state in ("scheduled", "dispatched"):
                from worker.engine.diff import Placed

                if hold_flagged(store, Placed(job, source.path), reason, by):
                    report.held.append(job.id)
    for source in plans:
        if source.ok:
            store.set_last_good(source.path, {"at": now.isoformat(), "calendar_id": source.calendar_id,
                                              "jobs": len(source.jobs)})
    report.counts = changes.counts()
    report.duration_ms = int((time.monotonic() - started) * 1000)
    store.set_sync_status(report.as_dict())
    if changes.adds or changes.moves or changes.rerenders:
        store.wake()
    if not changes.empty or report.load_errors:
        log.info("sync_applied", **{k: v for k, v in report.counts.items() if v},
                 load_errors=len(report.load_errors), conflicts=len(report.conflicts))
    return report


def _alert_load_errors(store: Store, load_errors: dict[str, list[str]]) -> None:
    """One alert per calendar and distinct set of findings, naming the file, line and
    problem: a calendar that keeps failing is synced every minute, and on-call must hear
    of it once, with what to fix, not read a count."""
    import hashlib

    alerted = store.load_alerts()
    for path, findings in load_errors.items():
        digest = hashlib.sha256("\n".join(findings).encode()).hexdigest()[:16]
        if alerted.get(path) == digest:
            continue
        store.set_load_alert(path, digest)
        log.error("calendar_failed_to_load", file=path, finding=findings[0] if findings else "",
                  findings=len(findings), kept="its last good version stays scheduled",
                  alert=True)
    fixed = [path for path in alerted if path not in load_errors]
    if fixed:
        store.clear_load_alerts(*fixed)
        for path in fixed:
            log.info("calendar_loads_again", file=path)


def _flag_reason(placed, flagged: dict[str, str], cutoff_ms: int) -> str | None:
    """Why a changed pending job must be held rather than sent (``cutoff_ms``: now minus the
    grace). A job whose instant passed only moments ago is on its way: its new version goes
    out as planned; the compile's "in the past" matters beyond the grace."""
    reason = flagged.get(placed.job.id)
    past = to_ms(placed.job.due_utc) < cutoff_ms
    if reason == "in_the_past":
        return reason if past else None
    if reason:
        return reason
    return "moved_to_past" if past else None


def hold_flagged(store: Store, placed, reason: str, by: str) -> bool:
    """A pending job's new version, held (not scheduled) with ``reason``."""
    from worker.engine.store import REMOVE, planned_fields
    from worker.engine.states import HELD

    job = placed.job
    return store.transition(job.id, "scheduled|dispatched|held", HELD, by,
                            f"changed, held: {reason} (due {job.due_utc.isoformat()})",
                            due=REMOVE, lease=REMOVE, held=to_ms(job.due_utc),
                            fields={**planned_fields(job, placed.path), "r": reason},
                            delete=("t", "gs"))


def _apply(store: Store, changes: Changes, by: str, report: SyncReport,
           flagged: dict[str, str], now_ms: int, stored: dict[str, StoredJobSummary]) -> None:
    for start in range(0, len(changes.adds), BATCH):
        batch = changes.adds[start:start + BATCH]
        pipe = store.pipeline()
        for placed in batch:
            store.add_job(placed.job, placed.path, by, "added", client=pipe)
        for placed, result in zip(batch, pipe.execute()):
            if not result[0]:
                report.conflicts.append(placed.job.id)
    for placed in changes.moves:
        if _flag_reason(placed, flagged, now_ms):
            continue
        if not store.update_job(placed.job, placed.path, by, f"moved to {placed.job.due_utc.isoformat()}"):
            report.conflicts.append(placed.job.id)
    for placed in changes.rerenders:
        if _flag_reason(placed, flagged, now_ms):
            continue
        if not store.update_job(placed.job, placed.path, by, "content changed"):
            report.conflicts.append(placed.job.id)
    # pending jobs now in the past or after their new deadline: held with a reason, never
    # sent silently (a person decides: pregonero resume --missed send|skip, or fix the date)
    for placed in [*changes.moves, *changes.rerenders]:
        reason = _flag_reason(placed, flagged, now_ms)
        if reason in ("in_the_past", "moved_to_past") and store.refresh_hold(
                placed.job, placed.path, by, f"changed while held (due "
                f"{placed.job.due_utc.isoformat()})"):
            # already held for a reason of its own (a go-live waiting for its page, a pause):
            # a past instant is that hold's business, not a new one that nobody releases
            continue
        if reason and not hold_flagged(store, placed, reason, by):
            report.conflicts.append(placed.job.id)
        elif reason:
            report.held.append(placed.job.id)
            log.warning("job_held_after_change", job_id=placed.job.id, reason=reason, alert=True)
    for job_id in changes.cancels:
        if not store.cancel_job(job_id, by, "entry removed from its calendar"):
            report.conflicts.append(job_id)
    # published posts to correct or withdraw: pipelined (one fact change may touch thousands)
    flags = [(job_id, ORPHANED, "published, but its entry was removed", None)
             for job_id in changes.orphans]
    flags += [(placed.job.id, NEEDS_CORRECTION, "published, but its content changed", placed.job)
              for placed in changes.corrections]
    for start in range(0, len(flags), BATCH):
        batch = flags[start:start + BATCH]
        pipe = store.pipeline()
        for job_id, to, why, planned in batch:
            store.flag_posted(job_id, to, by, why, planned, client=pipe)
        for (job_id, to, _why, _planned), result in zip(batch, pipe.execute()):
            if not result[0]:
                report.conflicts.append(job_id)
            elif job_id in stored:
                stored[job_id] = dataclasses.replace(stored[job_id], state=to)
        # routine: an editor changed or removed an entry and the planner corrects or withdraws
        # its posts; a person is alerted only when the planner cannot (correction_needs_a_person)
        log.info("posts_flagged", orphaned=sum(f[1] == ORPHANED for f in batch),
                 needs_correction=sum(f[1] == NEEDS_CORRECTION for f in batch))


def _fields_of(placed) -> dict:
    from worker.engine.store import planned_fields

    return planned_fields(placed.job, placed.path)


def git_pull(repo_dir: Path, timeout_s: float = 60) -> bool:
    """``git pull --ff-only`` with a timeout; a failure is logged and the old checkout kept."""
    try:
        result = subprocess.run(["git", "-C", str(repo_dir), "pull", "--ff-only", "--quiet"],
                                capture_output=True, text=True, timeout=timeout_s)
    except (subprocess.TimeoutExpired, OSError) as exc:
        log.error("git_pull_failed", reason=str(exc), alert=True)
        return False
    if result.returncode != 0:
        log.error("git_pull_failed", reason=result.stderr.strip()[:500], alert=True)
        return False
    return True


def run_sync_loop(store: Store, schedules_dir: Path, config_dir: Path, stop: threading.Event, *,
                  every_s: float = 60.0, git_pull_every_s: float | None = None,
                  compile_fn: Callable | None = None) -> None:
    """Sync on start, on every file change (watchfiles), and every ``every_s`` (time itself
    changes plans: relative dates, stale instants), pulling git first when configured."""
    from watchfiles import watch

    def safe_sync() -> None:
        try:
            sync_once(store, schedules_dir, config_dir, compile_fn=compile_fn)
        except Exception:
            log.exception("sync_failed", alert=True)

    safe_sync()
    last_sync = last_pull = time.monotonic()
    paths = [p for p in (Path(schedules_dir), Path(config_dir)) if p.exists()]
    for changed in watch(*paths, stop_event=stop, yield_on_timeout=True, rust_timeout=1000,
                         debounce=300):
        now = time.monotonic()
        pulled = False
        if git_pull_every_s and now - last_pull >= git_pull_every_s:
            last_pull = now
            pulled = git_pull(Path(schedules_dir))
        if changed or pulled or now - last_sync >= every_s:
            last_sync = now
            safe_sync()
