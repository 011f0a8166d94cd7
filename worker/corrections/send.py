"""The send side of a correction job (an edit, a reply or a deletion of a published post), as
the publisher sees it: what to ask the platform, and what follows its answer.

The publisher runs every job the same way (gates, attempt, outcome) and asks the job's kind
only these three things (``worker.engine.publisher.JobKind``); a plain post's answers are
trivial, a correction's are here. So the publisher holds no correction branch, and this
module is the one place the correction path meets the send path.
"""

from __future__ import annotations

import datetime as dt
from typing import Callable

import structlog

from adapters.base import Capabilities, NotSupported, PostRef, PostRequest
from worker.corrections.engine import (CorrectionPlanner, PlanReport, finish, is_correction,
                                       request_for)
from worker.engine.store import Store, StoredJob

log = structlog.get_logger("pregonero.corrections")


class CorrectionSend:
    """Correction jobs: aimed at the original's post, closing its version once out, planned
    again as a reply when the platform refuses the edit or the deletion."""

    def __init__(self, store: Store, capabilities_of: Callable[[StoredJob], Capabilities]):
        self.store = store
        #: the capabilities of the job's account (from its adapter)
        self.capabilities_of = capabilities_of

    def applies(self, stored: StoredJob) -> bool:
        return is_correction(stored)

    def request(self, stored: StoredJob) -> PostRequest:
        return request_for(self.store, stored)

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
        original_id = stored.fields["o"]
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
