"""The states a job goes through, and what a diff sees of a stored job. Pure: the diff, the
planner and the CLI read these without touching Redis.

- scheduled -> dispatched (claimed at its instant) -> publishing (the platform call) -> published
- dispatched -> held (paused, quiet period, official page not live, quota) -> scheduled again
  when released
- publishing -> uncertain (the call's outcome unknown): lookup decides published or scheduled
- publishing or uncertain -> scheduled (a retry) or failed (for a person to look at)
- published -> needs_correction -> correcting -> published (the new version) or retracted
- a job the plan no longer has is cancelled; a changed plan schedules a failed or cancelled
  job again

Every transition is one atomic Lua step with its audit line (``worker.engine.store``); the
fields each state leaves on the job are listed in ``worker.engine.fields``.
"""

from __future__ import annotations

import dataclasses

SCHEDULED, DISPATCHED, PUBLISHING, PUBLISHED = "scheduled", "dispatched", "publishing", "published"
HELD, UNCERTAIN, FAILED, CANCELLED = "held", "uncertain", "failed", "cancelled"
NEEDS_CORRECTION, ORPHANED = "needs_correction", "orphaned"
#: a published job whose correction jobs are on their way (see ``worker.corrections.engine``)
CORRECTING = "correcting"
#: hold reasons set by sync when a change put a pending job in the past or after its deadline:
#: a later change of the job (the date fixed) schedules it again
CHANGE_HOLDS = "after_deadline|moved_to_past|in_the_past"
#: hold reason of a go-live whose official URL the network policy refuses (``gr``: why)
GOLIVE_REFUSED = "golive_refused"
#: states in which a job has not reached the platform and may still be changed or cancelled
PENDING = (SCHEDULED, DISPATCHED, HELD)
#: states in which a post exists on the platform
POSTED = (PUBLISHED, NEEDS_CORRECTION, ORPHANED)
#: states in which an attempt is in flight: nobody but the attempt (or lookup) may decide
IN_FLIGHT = (PUBLISHING, UNCERTAIN)
#: why a job is held (its ``r`` field), where more than one module sets or reads it
GOLIVE_WAITING = "golive_waiting"
INSTAGRAM_QUOTA = "instagram_quota"
THREADS_QUOTA = "threads_quota"
#: the hold reason of a post waiting for its account's publishing quota, by platform
QUOTA_HOLDS = {"instagram": INSTAGRAM_QUOTA, "threads": THREADS_QUOTA}
QUIET_PERIOD = "quiet_period"
PAUSED = "paused"
#: a paused job whose instant passed while paused (``pregonero resume --missed``)
MISSED = "missed"
#: hold reasons a gate re-checks (``worker.engine.gates``): a job held for one of these stays
#: in the due index and the dispatcher claims it again at its re-check instant; every other
#: hold (paused, quiet period, missed, refused) waits for a person or a change
RECHECKED_HOLDS = (GOLIVE_WAITING, INSTAGRAM_QUOTA, THREADS_QUOTA)
#: holds waiting for a person's decision: a job changed meanwhile keeps its hold, at its new
#: instant (the decision is still theirs)
DECISION_HOLDS = (PAUSED, QUIET_PERIOD, MISSED)
#: a correction that withdrew the post (``worker.corrections``)
RETRACTED = "retracted"


@dataclasses.dataclass(frozen=True)
class StoredJobSummary:
    """What the diff needs to know of a stored job (no JSON decoding)."""

    id: str
    state: str
    content_hash: str
    due_ms: int
    path: str
    entry: str
    reason: str = ""
    #: for needs_correction: the content hash of the plan the correction must bring
    planned_hash: str = ""
    #: for correction jobs: the id of the published job they correct (the diff skips them)
    of: str = ""
