"""Pauses and holds: stopping jobs from going out, and deciding what happens after.

A pause is a row in ``pregonero:pauses`` (``all``, ``account:x`` or ``department:x``). Pausing
moves the matching pending jobs to ``held``; ``claim_due`` also checks the pauses, so a job
added or retried while a pause is active is held at its instant rather than sent.

Resuming releases held jobs whose instant is still ahead. Those whose instant passed while
paused are NOT sent late unless someone decides so (``missed="send"``) or drops them
(``missed="skip"``); without a decision they stay held with reason ``missed``. Posts held by a
calendar change (their instant moved into the past, or after their period's deadline) take the
same decision. Corrections of published posts are never "missed": a resume sends them now,
whatever the decision, and names them. The audit stream records who decided.

Jobs held by a quiet period (``worker.engine.quiet``) are released the same way, by a resume of a
scope that covers them, but only once their period has ended: until then they are reported
in ``still_quiet`` and stay held whatever the decision.

A go-live whose official URL the network policy refused (``golive_refused``) is released by a
resume too, once someone allow-listed its host: it is checked again at once, with no "missed"
decision and a fresh go-live window, as a retry would (a go-live goes out late by nature, when
its page shows up; the person who resumes has decided). Fixing its ``check_url`` in the
calendar releases it without a resume (``Store.refresh_hold``).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from worker.engine.store import REMOVE, Store
from worker.engine.clock import now_ms
from worker.engine.states import (CANCELLED, GOLIVE_REFUSED, GOLIVE_WAITING, HELD,
                                  MISSED, PAUSED, QUIET_PERIOD, QUOTA_HOLDS,
                                  RECHECKED_HOLDS,
                                  SCHEDULED)

Scope = Literal["all", "department", "account"]
Missed = Literal["send", "skip"] | None
#: hold reasons a resume may release (go-live waits have their own rules)
PAUSE_REASONS = (PAUSED, MISSED)
#: held by a calendar change: the post's instant is now past, or after its period's deadline;
#: only a decision (--send-missed / --skip-missed) moves them
CHANGE_REASONS = ("in_the_past", "moved_to_past", "after_deadline")
RELEASABLE = (*PAUSE_REASONS, QUIET_PERIOD, *CHANGE_REASONS, GOLIVE_REFUSED)


@dataclasses.dataclass
class ResumeReport:
    released: list[str] = dataclasses.field(default_factory=list)
    sent_late: list[str] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)
    awaiting_decision: list[str] = dataclasses.field(default_factory=list)
    #: corrections of published posts: never "missed", never skipped: sent now
    corrections: list[str] = dataclasses.field(default_factory=list)
    #: held by a quiet period that has not ended yet: nothing a resume can do
    still_quiet: list[str] = dataclasses.field(default_factory=list)


def pause_field(scope: Scope, value: str | None) -> str:
    if scope == "all":
        return "all"
    if scope not in ("department", "account") or not value:
        raise ValueError(f"pause scope must be all, department or account (with a value), not {scope!r}")
    return f"{scope}:{value}"


def _matches(field: str, account: str, department: str) -> bool:
    return field in ("all", f"account:{account}", f"department:{department}")


def pause(store: Store, scope: Scope, value: str | None, reason: str, by: str) -> int:
    """Record the pause and hold every matching pending job. Returns how many were held."""
    field = pause_field(scope, value)
    store.set_pause(field, {"reason": reason, "by": by, "at": now_ms()})
    store.audit_note("*", by, f"pause {field}: {reason}")
    candidates = store.due_entries()
    candidates.update({m: s for m, s in store.lease_entries().items() if m not in candidates})
    held = 0
    for job_id, score in candidates.items():
        account, department, planned, state = store.job_fields(job_id, "a", "dp", "d", "s")
        if not _matches(field, account, department):
            continue
        # a dispatched job's score is its lease, not its instant: hold it at its planned due
        due_ms = int(planned or score) if state == "dispatched" else int(score)
        if store.transition(job_id, "scheduled|dispatched|held", HELD, by, f"paused: {reason}",
                            check=("r", "|".join(("~", *RECHECKED_HOLDS))), due=REMOVE, lease=REMOVE,
                            held=due_ms, fields={"r": PAUSED}, delete=("t",)):
            held += 1
    return held


def resume(store: Store, scope: Scope, value: str | None, by: str, missed: Missed = None,
           grace_ms: int = 0) -> ResumeReport:
    """Lift the pause and release what it held; missed instants need ``missed`` to move."""
    field = pause_field(scope, value)
    store.clear_pause(field)
    store.audit_note("*", by, f"resume {field} (missed: {missed or 'no decision'})")
    active = set(store.pauses())
    report = ResumeReport()
    now = now_ms()
    for job_id, score in store.held_entries().items():
        account, department, reason, quiet_end, original = store.job_fields(
            job_id, "a", "dp", "r", "qe", "o")
        if reason not in RELEASABLE or not _matches(field, account, department):
            continue
        if any(_matches(other, account, department) for other in active):
            continue  # still paused by another scope
        if reason == QUIET_PERIOD and int(quiet_end or 0) > now:
            report.still_quiet.append(job_id)
            continue
        check = ("r", "|".join(RELEASABLE))
        if reason == GOLIVE_REFUSED:
            # the check runs again now (with the allow-list as config/ says it now); held
            # again, with a new alert, if the page is still refused
            if store.transition(job_id, HELD, SCHEDULED, by, "resumed: go-live checked again",
                                check=("r", GOLIVE_REFUSED), due=now, held=REMOVE,
                                delete=("r", "gr")):
                report.released.append(job_id)
            continue
        if original:
            # a correction has no instant of its own to miss: it was due the moment the date
            # changed, and skipping it would leave the wrong date up for good
            if store.transition(job_id, HELD, SCHEDULED, by, "resumed: correction sent now",
                                check=check, due=now, held=REMOVE, delete=("r", "qp", "qe")):
                report.corrections.append(job_id)
            continue
        during = ("in a quiet period" if reason == QUIET_PERIOD else "while paused"
                  if reason in PAUSE_REASONS else f"after a calendar change ({reason})")
        if score > now - grace_ms and reason not in CHANGE_REASONS:
            if store.transition(job_id, HELD, SCHEDULED, by, "resumed", check=check,
                                due=max(int(score), now), held=REMOVE, delete=("r", "qp", "qe")):
                report.released.append(job_id)
        elif missed == "send":
            if store.transition(job_id, HELD, SCHEDULED, by, f"missed {during}: send late (decided)",
                                check=check, due=now, held=REMOVE, delete=("r", "qp", "qe")):
                report.sent_late.append(job_id)
        elif missed == "skip":
            if store.transition(job_id, HELD, CANCELLED, by, f"missed {during}: skipped (decided)",
                                check=check, held=REMOVE, fields={"r": "skipped_missed"}):
                report.skipped.append(job_id)
        else:
            if reason == PAUSED:
                store.transition(job_id, HELD, HELD, by, "missed while paused: awaiting decision",
                                 check=check, fields={"r": MISSED})
            report.awaiting_decision.append(job_id)
    if report.released or report.sent_late or report.corrections:
        store.wake()
    return report


def pauses(store: Store) -> dict[str, dict]:
    return store.pauses()


def hold_job(store: Store, job_id: str, reason: str, by: str) -> bool:
    """Hold one pending job (e.g. ``quiet_period``) at its planned instant."""
    due_ms = int(store.job_fields(job_id, "d")[0] or 0)
    return store.transition(job_id, "scheduled|dispatched", HELD, by, f"held: {reason}",
                            due=REMOVE, lease=REMOVE, held=due_ms, fields={"r": reason},
                            delete=("t",))


def release_job(store: Store, job_id: str, by: str, send_late: bool = False) -> bool:
    """Release one held job: at its instant if still ahead; if it passed, only with
    ``send_late`` (a decision, audited with ``by``)."""
    score = store.held_since(job_id)
    if score is None:
        return False
    now = now_ms()
    if score <= now and not send_late:
        return False
    why = "released" if score > now else "released after its instant: send late (decided)"
    done = store.transition(job_id, HELD, SCHEDULED, by, why, due=max(int(score), now),
                            held=REMOVE, delete=("r",))
    if done:
        store.wake()
    return done


def release_hint(reason: str, account: str, department: str = "") -> str:
    """The command (or the event) that releases a post held for ``reason``: every held post in
    ``pregonero status`` says how it gets out."""
    scope = f"--account {account}" if account else "--all"
    if reason == PAUSED:
        return f"pregonero resume {scope} --by NAME (or the scope that paused it)"
    if reason in (MISSED, *CHANGE_REASONS):
        return (f"decide: pregonero resume {scope} --send-missed --by NAME, or --skip-missed; "
                "or move its date in the calendar")
    if reason == QUIET_PERIOD:
        return f"when its quiet period ends: pregonero resume {scope} --by NAME"
    if reason == GOLIVE_REFUSED:
        return ("fix check_url in the calendar (the next sync checks it again); or, if the "
                "page is internal on purpose, allow-list its host in config/policies.yaml "
                f"network.allow_hosts, then pregonero resume {scope} --by NAME; or "
                "pregonero retract CALENDAR ENTRY")
    if reason == GOLIVE_WAITING:
        return ("goes out by itself once its official page shows the expected text; or "
                "pregonero retract CALENDAR ENTRY")
    if reason in QUOTA_HOLDS.values():
        return "goes out by itself when the account's publishing quota frees up"
    return "pregonero status --json shows its audit trail; pregonero retry once fixed"
