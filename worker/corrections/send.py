"""The send side of a correction job (an edit, a reply or a deletion of a published post), as
the publisher sees it: what to ask the platform, and what follows its answer.

The publisher runs every job the same way (gates, attempt, outcome) and asks the job's kind
only what differs (``worker.engine.publisher.JobKind``); a plain post's answers are trivial, a
correction's are here. So the publisher holds no correction branch, and this module is the one
place the correction path meets the send path: the original post is read once before the
platform call (is it there, waiting for this version, with a reference to act on? then the
request aims at that reference) and once after it (``worker.corrections.versions.finish``,
which must see the original as it is then).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Callable

import structlog

from adapters.base import Capabilities, NotSupported, PostRef, PostRequest
from worker.corrections.engine import CorrectionPlanner, PlanReport
from worker.corrections.versions import finish
from worker.engine.gates import Fail
from worker.engine.states import CORRECTING
from worker.engine.store import Store, StoredJob

log = structlog.get_logger("pregonero.corrections")


def original_ready(original: StoredJob | None, correction: StoredJob) -> str | None:
    """None when ``original`` is there to be corrected by ``correction``; else why not."""
    if original is None:
        return "the original post is not in the store"
    version = correction.fields.get("cv")
    if original.state != CORRECTING or original.fields.get("cv") != version:
        return f"the original is {original.state}, not waiting for version {version}"
    if original.ref is None:
        return "the original has no platform reference"
    return None


def correction_request(correction: StoredJob, target: PostRef | None) -> PostRequest:
    """The PostRequest of a correction job: its action, aimed at the original's post."""
    job = correction.job
    event = None
    if job.event is not None:
        event = dict(dataclasses.asdict(job.event), calendar=job.calendar, uid=correction.corrects)
    return PostRequest(job_id=job.id, account=job.account,
                       action=correction.fields.get("ca", "reply"), text=job.text,
                       language=job.language, idempotency_key=f"{job.id}#{job.content_hash}",
                       due=job.due_utc, target=target, event=event)


class CorrectionSend:
    """Correction jobs: aimed at the original's post, closing its version once out, planned
    again as a reply when the platform refuses the edit or the deletion."""

    #: asked at the job's instant: the original may change state in the dispatcher's lead
    #: time (another version planned over it), and a correction must aim at what is there
    at_instant = True

    def __init__(self, store: Store, capabilities_of: Callable[[StoredJob], Capabilities]):
        self.store = store
        #: the capabilities of the job's account (from its adapter)
        self.capabilities_of = capabilities_of

    def applies(self, stored: StoredJob) -> bool:
        return bool(stored.corrects)

    def request(self, stored: StoredJob) -> PostRequest | Fail:
        """The request aimed at the original's post, or why it cannot go out (it fails for a
        person to look: a correction never goes out before, or without, what it corrects)."""
        original = self.store.get(stored.corrects)
        why_not = original_ready(original, stored)
        if why_not:
            return Fail(f"correction target: {why_not}")
        return correction_request(stored, original.ref)

    def lookup_request(self, stored: StoredJob) -> PostRequest:
        """What to look up after an uncertain attempt: the same request, whatever the
        original's state now (its version may have closed meanwhile)."""
        original = self.store.get(stored.corrects)
        return correction_request(stored, original.ref if original is not None else None)

    def published(self, stored: StoredJob, ref: PostRef | None) -> None:
        """The step is out: close the version if it was its last (the original then states
        the new text, or is retracted)."""
        finish(self.store, stored, ref)

    def refused(self, stored: StoredJob, exc: Exception) -> None:
        """The platform refused this step for good. An edit or a deletion it does not allow
        (``NotSupported``: X outside its edit window, a Telegram message over 48 h old) is
        planned again as a reply, so the correction still reaches the post's readers; any
        other refusal is left to the sync's correction pass, which alerts a person."""
        if not isinstance(exc, NotSupported):
            return
        original_id = stored.corrects
        try:
            caps = self.capabilities_of(stored)
            planner = CorrectionPlanner(self.store, lambda account, platform: caps,
                                        lambda platform: "reply", by="worker")
            report = PlanReport()
            planner.replan_failed(original_id, dt.datetime.now(dt.timezone.utc), report)
            if report.planned:
                self.store.wake()
        except Exception:  # the sync's correction pass tries again
            log.exception("correction_replan_failed", job_id=original_id)
