"""The report's data: every post of the period with what became of it (pure, except
``read_store``).

A post comes from the compiled plan, from the store, or both (the store also knows posts
whose entry was later removed or archived). Its outcome, for the balance of a past period:

* ``on_time`` / ``late``: published, with the worker's recorded lateness (late: > 60 s);
* ``corrected``: published, then flagged for correction (or a correction job was sent);
* ``retracted``: published, then its entry was withdrawn (orphaned, or a retraction sent);
* ``failed``: never reached the platform;
* ``pending`` (scheduled, held, in flight), ``cancelled`` (removed before its instant) and
  ``not_synced`` (in the plan, never reached the store) complete the picture.

One post has one outcome; the order of precedence is failed, retracted, corrected, late,
on_time: a late post corrected afterwards counts as corrected.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Iterable, Mapping

from worker.ops.agenda import local_instant
from worker.jobs import Job

LATE_MS = 60_000
OUTCOMES = ("on_time", "late", "corrected", "retracted", "failed", "pending", "cancelled",
            "not_synced")
#: the outcomes of the balance chart (what was done with what was due)
BALANCE = ("on_time", "late", "corrected", "retracted", "failed")
PENDING_STATES = ("scheduled", "dispatched", "held", "publishing", "uncertain")
POSTED_STATES = ("published", "needs_correction", "orphaned", "correcting")


@dataclasses.dataclass(frozen=True)
class StoredInfo:
    """What the store says about one job."""

    state: str
    lateness_ms: int | None = None
    reason: str = ""
    #: "to" states and "why" texts of its audit trail
    audit_to: frozenset[str] = frozenset()
    audit_why: tuple[str, ...] = ()
    #: ids of correction jobs sent about it
    corrections: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class ReportRow:
    job: Job
    day: str          # local YYYY-MM-DD
    month: str        # local YYYY-MM
    time: str         # local HH:MM
    past: bool
    outcome: str      # one of OUTCOMES; "" for a future post
    lateness_ms: int | None = None
    reason: str = ""


@dataclasses.dataclass
class ReportData:
    """Everything the site shows."""

    generated_at: dt.datetime
    first: dt.date | None
    last: dt.date | None
    rows: list[ReportRow]
    sources: list[str]
    notes: list[str] = dataclasses.field(default_factory=list)

    def months(self) -> list[str]:
        return sorted({r.month for r in self.rows})

    def in_month(self, month: str) -> list[ReportRow]:
        return [r for r in self.rows if r.month == month]

    def past(self) -> list[ReportRow]:
        return [r for r in self.rows if r.past]

    def balance(self) -> dict[str, int]:
        counts = {name: 0 for name in OUTCOMES}
        for row in self.past():
            counts[row.outcome] = counts.get(row.outcome, 0) + 1
        return counts


def outcome_of(info: StoredInfo | None) -> str:
    """The outcome of a past post (see module doc)."""
    if info is None:
        return "not_synced"
    state, tos = info.state, info.audit_to
    whys = " ".join(info.audit_why).lower()
    if state == "failed":
        return "failed"
    if state == "cancelled" and not (tos & set(POSTED_STATES)):
        return "cancelled"
    posted = state in POSTED_STATES or "published" in tos
    if not posted:
        return "pending" if state in PENDING_STATES else "failed"
    if (state in ("orphaned", "retracted") or "orphaned" in tos or "retract" in whys
            or any("retract" in c for c in info.corrections)):
        return "retracted"
    if tos & {"needs_correction", "correcting"} or info.corrections or state == "needs_correction":
        return "corrected"
    if info.lateness_ms is not None and info.lateness_ms > LATE_MS:
        return "late"
    return "on_time"


def build_report_data(plan_jobs: Iterable[Job], stored: Mapping[str, tuple[Job, StoredInfo]],
                      now: dt.datetime, first: dt.date | None = None,
                      last: dt.date | None = None, sources: list[str] | None = None,
                      notes: list[str] | None = None) -> ReportData:
    """Merge the plan and the store (the store's version of a job wins: it is what went out)
    and keep the posts whose local day is within ``first``..``last`` (inclusive; None: open)."""
    jobs: dict[str, Job] = {job.id: job for job in plan_jobs}
    for job_id, (job, _info) in stored.items():
        jobs[job_id] = job
    rows = []
    for job_id, job in jobs.items():
        local = local_instant(job)
        day = local.date()
        if (first and day < first) or (last and day > last):
            continue
        info = stored.get(job_id, (None, None))[1]
        past = job.due_utc <= now
        outcome = outcome_of(info) if past else ""
        if info is not None and info.state == "cancelled" and not past:
            continue  # removed before its time: not part of the calendar any more
        rows.append(ReportRow(job, day.isoformat(), day.isoformat()[:7], local.strftime("%H:%M"),
                              past, outcome, info.lateness_ms if info else None,
                              info.reason if info else ""))
    rows.sort(key=lambda r: (r.job.due_utc, r.job.id))
    return ReportData(now, first, last, rows, sources or [], notes or [])


def count_by(rows: Iterable[ReportRow], key) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in rows:
        name = key(row)
        out[name] = out.get(name, 0) + 1
    return dict(sorted(out.items()))


# --- reading the store (I/O) ------------------------------------------------------------------


def read_store(store, batch: int = 1000) -> dict[str, tuple[Job, StoredInfo]]:
    """Every stored job (correction jobs excluded) with its state, lateness and audit trail."""
    from worker.engine.store import job_from_json

    audit_to: dict[str, set[str]] = {}
    audit_why: dict[str, list[str]] = {}
    for _entry_id, row in _audit(store):
        job_id = row.get("job", "")
        audit_to.setdefault(job_id, set()).add(row.get("to", ""))
        why = row.get("why", "")
        if why:
            audit_why.setdefault(job_id, []).append(why)
    raw = {job_id: fields for job_id, fields in store.every_job_fields(batch) if "j" in fields}
    corrections: dict[str, list[str]] = {}
    for job_id, fields in raw.items():
        if fields.get("o"):
            corrections.setdefault(fields["o"], []).append(job_id)
    out = {}
    for job_id, fields in raw.items():
        if fields.get("o"):
            continue  # a correction job: counted on the post it corrects
        try:
            job = job_from_json(job_id, fields["j"])
        except (ValueError, TypeError, KeyError, json.JSONDecodeError):
            continue
        lat = fields.get("lat")
        out[job_id] = (job, StoredInfo(fields.get("s", ""), int(lat) if lat else None,
                                       fields.get("r", ""), frozenset(audit_to.get(job_id, ())),
                                       tuple(audit_why.get(job_id, ())),
                                       tuple(sorted(corrections.get(job_id, ())))))
    return out


def _audit(store, count: int = 10_000):
    last = "-"
    while True:
        rows = store.audit_after(last, count)
        if not rows:
            return
        yield from rows
        if len(rows) < count:
            return
        last = rows[-1][0]
