"""PURE: what must change in the store for it to match the compiled plan.

Rules (they protect citizens from wrong, late or double posts):

* A calendar file that failed (``ok=False``) contributes NOTHING: its stored jobs keep their
  last good version, nothing of it is added, moved or cancelled.
* A job of a good file that the store lacks -> ``adds`` (also a cancelled or failed job that is
  planned again). An add whose instant is already past (beyond ``grace_ms``) is not scheduled
  (never sent late without a decision): it is reported in ``stale``.
* A pending job (scheduled / dispatched / held) whose instant changed -> ``moves``; whose
  content changed otherwise -> ``rerenders``; whose entry disappeared -> ``cancels``.
* A published job whose entry disappeared -> ``orphans``; whose content changed ->
  ``corrections`` (flagged for the correction path, never forgotten, never reposted).
* A job in flight (publishing / uncertain) is left alone and reported in ``deferred``: the
  next sync sees its outcome. So is a published job whose correction is on its way
  (``correcting``): the next change is compared with the text the correction brings.
* Correction jobs (``of`` set) are not planned by calendars: the diff never touches them.
* Entries marked archived are neither scheduled nor removed: their published jobs stay as they
  are (unless the plan carries ``archived_jobs`` and a fact they quote changed: then they are
  corrected like any published post); pending ones are cancelled (archiving means "this is
  over").
* A stored job whose file is gone (not in the plan at all) counts as removed.

Jobs are matched by id across files, so moving an entry to another file keeps its job.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Mapping, Protocol

from worker.jobs import Job
from worker.engine.clock import to_ms
from worker.engine.states import (CANCELLED, CORRECTING, FAILED, IN_FLIGHT, NEEDS_CORRECTION,
                                  ORPHANED, PENDING, PUBLISHED, StoredJobSummary)


class SourcePlanLike(Protocol):
    path: str
    ok: bool
    jobs: tuple[Job, ...]
    archived_entries: frozenset[str]


@dataclasses.dataclass(frozen=True)
class Placed:
    """A planned job and the calendar file it comes from."""

    job: Job
    path: str


@dataclasses.dataclass
class Changes:
    adds: list[Placed] = dataclasses.field(default_factory=list)
    moves: list[Placed] = dataclasses.field(default_factory=list)
    rerenders: list[Placed] = dataclasses.field(default_factory=list)
    cancels: list[str] = dataclasses.field(default_factory=list)
    orphans: list[str] = dataclasses.field(default_factory=list)
    corrections: list[Placed] = dataclasses.field(default_factory=list)
    deferred: list[str] = dataclasses.field(default_factory=list)
    stale: list[str] = dataclasses.field(default_factory=list)
    #: calendar files that failed and were kept at their last good version
    kept_paths: list[str] = dataclasses.field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {f.name: len(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @property
    def empty(self) -> bool:
        return not any(getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "kept_paths")


def _entry_of(summary: StoredJobSummary) -> str:
    return summary.entry


def diff(plan: Iterable[SourcePlanLike], stored: Mapping[str, StoredJobSummary], now_ms: int,
         grace_ms: int = 60_000) -> Changes:
    """The changes that bring ``stored`` in line with ``plan`` (see module rules)."""
    changes = Changes()
    plans = list(plan)
    failed_paths = {p.path for p in plans if not p.ok}
    good = [p for p in plans if p.ok]
    archived = {(p.path, e) for p in good for e in p.archived_entries}
    planned: dict[str, Placed] = {}
    for source in good:
        for job in source.jobs:
            if job.entry not in source.archived_entries:
                planned[job.id] = Placed(job, source.path)
    changes.kept_paths = sorted(failed_paths)
    archived_planned = {job.id: Placed(job, source.path) for source in good
                        for job in getattr(source, "archived_jobs", ())}
    # a job planned by a good file but stored under a failed one: the failed file may still
    # own it (its last good version) -- leave it alone until both files agree
    protected = {job_id for job_id, s in stored.items() if s.path in failed_paths}
    stored = {job_id: s for job_id, s in stored.items() if not s.of}

    for job_id in sorted(planned):
        placed = planned[job_id]
        if job_id in protected:
            continue
        _diff_planned(placed, stored.get(job_id), now_ms, grace_ms, changes)

    for job_id in sorted(stored):
        summary = stored[job_id]
        if job_id in planned or summary.path in failed_paths:
            continue
        if (summary.path, _entry_of(summary)) in archived and summary.state not in PENDING:
            # archived: published history stays as it is -- unless a fact it quotes changed
            # (plans that carry ``archived_jobs``: the engine's compile)
            placed = archived_planned.get(job_id)
            if placed is not None and summary.state in (PUBLISHED, NEEDS_CORRECTION) \
                    and summary.content_hash != placed.job.content_hash \
                    and summary.planned_hash != placed.job.content_hash:
                changes.corrections.append(placed)
            continue
        why_gone = summary.state
        if why_gone in PENDING:
            changes.cancels.append(job_id)
        elif why_gone == PUBLISHED or why_gone == NEEDS_CORRECTION:
            changes.orphans.append(job_id)
        elif why_gone in IN_FLIGHT or why_gone == CORRECTING:
            changes.deferred.append(job_id)
    return changes


def _diff_planned(placed: Placed, summary: StoredJobSummary | None, now_ms: int, grace_ms: int,
                  changes: Changes) -> None:
    job = placed.job
    due_ms = to_ms(job.due_utc)
    if summary is None or summary.state in (CANCELLED, FAILED):
        if summary is not None and summary.content_hash == job.content_hash:
            return  # cancelled/failed with the same content: a human decides, not the sync
        if due_ms < now_ms - grace_ms:
            changes.stale.append(job.id)
        else:
            changes.adds.append(placed)
        return
    if summary.content_hash == job.content_hash and summary.path == placed.path:
        return
    if summary.state in PENDING:
        if summary.due_ms != due_ms:
            changes.moves.append(placed)
        else:
            changes.rerenders.append(placed)
    elif summary.state in (PUBLISHED, NEEDS_CORRECTION, ORPHANED):
        if summary.content_hash != job.content_hash and summary.planned_hash != job.content_hash:
            changes.corrections.append(placed)
    elif summary.state in IN_FLIGHT or summary.state == CORRECTING:
        if summary.planned_hash != job.content_hash:
            changes.deferred.append(job.id)
