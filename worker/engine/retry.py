"""Sending a failed post again, once a person has fixed the cause.

A job ends ``failed`` only when its platform did not take it: the credentials were refused,
the content was refused, the platform lacks the operation, an outage outlasted every retry,
the account had no credential, the official page never came up (go-live), or the post a
correction aims at was not ready. A post that *may* have gone out is ``uncertain`` instead and
is settled by asking the platform (``lookup``), never by sending again. That is why a retry
cannot post twice, and why only ``failed`` jobs can be retried.

It is never automatic: the planned instant has usually passed, and only a person can tell
whether a late post still helps. ``plan_retries`` says what would happen, job by job (the
preview); ``apply_retries`` does it, each job in one guarded transition that records who and
why in the audit trail:

* a post goes out with what its calendar says now (an editor may have fixed the text that was
  refused), at its planned instant if that is still ahead, at once otherwise. Its planned
  instant stays recorded: the outbox's ``due``, the lateness in logs and metrics.
* a post is not sent when its entry has left its calendar, or when the period it speaks of has
  closed ("quedan tres días" after the deadline misleads): fix the calendar, or let it go.
  A calendar that does not load now sends what was stored (its last good version).
* a correction step goes out again for the same version if its original still waits for that
  version; otherwise a later correction has superseded it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Iterable
from zoneinfo import ZoneInfo

from worker.jobs import Job
from worker.engine.store import Store, StoredJob, planned_fields
from worker.engine.clock import ms_to_iso, to_ms
from worker.engine.states import FAILED, PUBLISHED, SCHEDULED, UNCERTAIN

#: what a retry clears: the failure, the old attempt and its token, the go-live wait (a
#: retried go-live checks the official page afresh), the count of tries (backoff starts over)
CLEARED = ("r", "t", "at", "gs", "ref", "lat", "ue", "kd")


@dataclasses.dataclass(frozen=True)
class Selection:
    """Which failed jobs: named ones, or those of a calendar and/or account, or all."""

    job_ids: tuple[str, ...] = ()
    calendar: str | None = None
    account: str | None = None
    everything: bool = False

    def covers(self, job: Job) -> bool:
        if self.job_ids:
            return job.id in self.job_ids
        if self.everything:
            return True
        return ((self.calendar is None or job.calendar == self.calendar)
                and (self.account is None or job.account == self.account))


@dataclasses.dataclass(frozen=True)
class Retry:
    """One job a retry would send, or why it would not."""

    job_id: str
    account: str = ""
    language: str = ""
    #: publish, or the correction's action (correct, reply, retract)
    action: str = "publish"
    planned_ms: int = 0
    timezone: str = "UTC"
    failed_because: str = ""
    text: str = ""
    send_at_ms: int = 0
    refused: str | None = None
    note: str = ""
    #: the calendar's current version of the job when it differs from the stored one
    updated: Job | None = None
    path: str = ""
    #: the stored content hash: the retry only applies to the job as previewed
    stored_hash: str = ""
    #: for a correction step: the post it corrects
    original: str = ""

    @property
    def late_ms(self) -> int:
        return max(0, self.send_at_ms - self.planned_ms)

    def as_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["updated"] = self.updated is not None
        data["planned"] = ms_to_iso(self.planned_ms)
        data["send_at"] = ms_to_iso(self.send_at_ms) if not self.refused else None
        return data


class CurrentPlan:
    """What the calendars say now (the engine's compile), for the posts a retry may send."""

    def __init__(self, plans: Iterable):
        self._jobs: dict[str, tuple[Job, str]] = {}
        self._expires: dict[tuple[str, str], dt.datetime] = {}
        self._broken: dict[str, str] = {}
        self._loaded: set[str] = set()
        for plan in plans:
            if not plan.ok:
                if plan.calendar_id:
                    self._broken[plan.calendar_id] = plan.path
                continue
            self._loaded.add(plan.calendar_id)
            for job in plan.jobs:
                self._jobs[job.id] = (job, plan.path)
            for entry, moment in plan.expires.items():
                self._expires[(plan.calendar_id, entry)] = moment

    def retry_of_post(self, stored: StoredJob, now_ms: int) -> Retry:
        job = stored.job
        base = _base(stored)
        if job.calendar in self._broken:
            # its last good version is what the engine holds: send that, and say so
            send_at = max(base.planned_ms, now_ms)
            return dataclasses.replace(
                base, send_at_ms=send_at, path=stored.fields.get("p", ""),
                note=f"as stored: {self._broken[job.calendar]} does not load now "
                     f"(pregonero lint shows why)")
        if job.calendar not in self._loaded:
            return dataclasses.replace(base, refused=f"its calendar '{job.calendar}' is not "
                                       "among the calendars read (wrong --schedules DIR?)")
        found = self._jobs.get(job.id)
        if found is None:
            return dataclasses.replace(base, refused="its entry is no longer in its calendar "
                                       "(removed, archived, or its accounts or languages changed)")
        current, path = found
        planned = to_ms(current.due_utc)
        send_at = max(planned, now_ms)
        expiry = self._expires.get((job.calendar, job.entry))
        if expiry is not None and send_at > to_ms(expiry):
            local = expiry.astimezone(ZoneInfo(job.timezone)).strftime("%Y-%m-%d %H:%M")
            return dataclasses.replace(base, planned_ms=planned, refused=(
                f"the period it speaks of closed at {local}: sent now it would mislead "
                "(fix the calendar, or let it go)"))
        updated = current if current.content_hash != stored.fields.get("h") else None
        return dataclasses.replace(
            base, planned_ms=planned, send_at_ms=send_at, path=path, updated=updated,
            text=current.text, note="updated from the calendar" if updated else "")


def _base(stored: StoredJob) -> Retry:
    job = stored.job
    return Retry(job_id=stored.id, account=job.account, language=job.language,
                 action=stored.fields.get("ca", "publish"),
                 planned_ms=int(stored.fields.get("d") or to_ms(job.due_utc)),
                 timezone=job.timezone, failed_because=stored.reason, text=job.text,
                 stored_hash=stored.fields.get("h", ""), original=stored.fields.get("o", ""))


def _not_failed(job_id: str, state: str | None) -> str:
    if state is None:
        return "no such job in the store (pregonero status lists the failed ones)"
    if state == PUBLISHED:
        return "it is already published: never sent twice"
    if state == UNCERTAIN:
        return ("it is uncertain: pregonero is asking the platform whether it went out, and "
                "never sends it again blindly")
    return f"it is {state}, not failed: only a failed post can be sent again"


def plan_retries(store: Store, selection: Selection, current: CurrentPlan,
                 now_ms: int) -> list[Retry]:
    """What a retry of ``selection`` would do, job by job (nothing is changed)."""
    out: list[Retry] = []
    if selection.job_ids:
        stored_jobs = []
        for job_id in dict.fromkeys(selection.job_ids):
            stored = store.get(job_id)
            if stored is None or stored.state != FAILED:
                out.append(Retry(job_id, refused=_not_failed(job_id, stored and stored.state)))
            else:
                stored_jobs.append(stored)
    else:
        failed = sorted(j for j, s in store.summaries().items() if s.state == FAILED)
        stored_jobs = [s for s in map(store.get, failed)
                       if s is not None and s.state == FAILED and selection.covers(s.job)]
    for stored in stored_jobs:
        out.append(_retry_of_correction(store, stored, now_ms) if stored.corrects
                   else current.retry_of_post(stored, now_ms))
    return sorted(out, key=lambda r: (r.refused is not None, r.send_at_ms, r.job_id))


def _retry_of_correction(store: Store, stored: StoredJob, now_ms: int) -> Retry:
    from worker.corrections.send import original_ready

    base = _base(stored)
    why_not = original_ready(store.get(stored.corrects), stored)
    if why_not:
        return dataclasses.replace(base, refused=f"superseded: {why_not}")
    return dataclasses.replace(base, send_at_ms=now_ms, path=stored.fields.get("p", ""))


def apply_retries(store: Store, retries: Iterable[Retry], by: str, why: str) -> list[str]:
    """Schedule the retries that were not refused; returns the ids scheduled. A job changed
    since the preview (another retry, a sync that revived it) is left alone."""
    done = []
    for retry in retries:
        if retry.refused:
            continue
        fields: dict[str, object] = {"n": 0}
        if retry.updated is not None:
            fields.update(planned_fields(retry.updated, retry.path))
        late = f", {_duration(retry.late_ms)} after its instant" if retry.late_ms else ""
        if not store.transition(retry.job_id, FAILED, SCHEDULED, by,
                                f"retry{late}: {why}"[:300], check=("h", retry.stored_hash),
                                due=retry.send_at_ms, fields=fields, delete=CLEARED):
            continue
        done.append(retry.job_id)
        if retry.original:
            # the alert stood for this failure: a new failure must be able to alert again
            store.drop_job_fields(retry.original, "al")
            store.audit_note(retry.original, by, f"correction step {retry.job_id} retried: {why}"[:300])
    if done:
        store.wake()
    return done


def _duration(ms: int) -> str:
    if ms < 60_000:
        return f"{ms // 1000} s"
    minutes = ms // 60_000
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    return f"{hours // 24} days"


def render(retries: list[Retry]) -> str:
    """The preview, for people: what goes out, when, with which text; what does not, and why."""
    if not retries:
        return "no failed post matches: nothing to send again."
    sending = [r for r in retries if not r.refused]
    lines = [f"{len(sending)} of {len(retries)} failed post(s) would be sent again:"]
    for r in retries:
        where = f"[{r.account} {r.language}]" if r.account else ""
        what = "" if r.action == "publish" else f" (correction: {r.action} to {r.original})"
        if r.refused:
            lines.append(f"  NOT SENT {where} {r.job_id}{what}: {r.refused}")
            continue
        zone = ZoneInfo(r.timezone)
        planned = dt.datetime.fromtimestamp(r.planned_ms / 1000, zone).strftime("%Y-%m-%d %H:%M %Z")
        when = (f"NOW, {_duration(r.late_ms)} after its instant ({planned})"
                if r.late_ms else f"at its instant, {planned}")
        lines.append(f"  SEND {when} {where} {r.job_id}{what}")
        lines.append(f"      it failed: {r.failed_because or '?'}")
        if r.note:
            lines.append(f"      {r.note}")
        lines.extend("      | " + line for line in r.text.splitlines())
    return "\n".join(lines)
