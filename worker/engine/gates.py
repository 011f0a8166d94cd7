"""The gates a dispatched job passes at its instant, in order, before the platform call.

Each gate answers about one job: ``PROCEED``, ``Hold`` (it waits, with a reason a person can
read and, when waiting can change the answer, the instant to ask again) or ``Fail`` (it will
not go out: a person must look). The publisher applies the first answer that is not
``PROCEED`` (one guarded transition, so a job moved or paused meanwhile is left alone) and
calls the platform only when every gate proceeds. Like dramatiq's middleware and arq's hooks,
a new condition is one more gate in ``Publisher.gates``, not one more branch in the publisher.

The chain, in order (``worker.engine.publisher.default_gates``):

1. ``golive``: an "open now" post waits until the official page shows its text;
2. ``quota``: a post beyond the account's publishing quota (Instagram, Threads) waits for
   room.

What a job's kind requires (a correction needs the post it corrects, on the platform and
waiting for this version) is the kind's answer when asked for its request
(``worker.corrections.send``), as it reads the same original the request aims at.

Quiet periods are asked earlier, when the dispatcher claims the job (``worker.engine.quiet``):
a job they cover never reaches a worker.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping, Protocol, Union

from adapters.base import Adapter
from worker.engine import golive, quota
from worker.engine.clock import now_ms
from worker.engine.states import GOLIVE_REFUSED, GOLIVE_WAITING, RECHECKED_HOLDS
from worker.engine.store import StoredJob
from worker.net.guard import NetPolicy


@dataclasses.dataclass(frozen=True)
class Proceed:
    """Nothing in this gate stops the job."""


@dataclasses.dataclass(frozen=True)
class Hold:
    """The job waits: ``reason`` is the code ``status`` and ``pregonero resume`` know
    (``golive_waiting``, ``instagram_quota``...), ``why`` the audit line. ``recheck_ms``: when
    the dispatcher claims it again and the gate is asked once more; None: it waits for a
    person at its planned instant (waiting alone would not change the answer)."""

    reason: str
    why: str
    recheck_ms: int | None
    #: more fields to set on the job (``worker.engine.fields``), and fields to drop
    fields: Mapping[str, object] = dataclasses.field(default_factory=dict)
    drop: tuple[str, ...] = ()
    #: an operator must be told (the calendar or the config needs a fix)
    alert: bool = False
    #: the log event of this hold
    event: str = "publish_held"

    def __post_init__(self) -> None:
        if self.recheck_ms is not None and self.reason not in RECHECKED_HOLDS:
            # the dispatcher re-claims only the holds it knows to be re-checks: any other
            # reason would wait in the due index for ever
            raise ValueError(f"a hold re-checked at an instant needs its reason "
                             f"{self.reason!r} in worker.engine.states.RECHECKED_HOLDS")


@dataclasses.dataclass(frozen=True)
class Fail:
    """The job will not go out; ``why`` is stored as its reason and raised as an alert."""

    why: str
    #: the log event of this failure
    event: str = "publish_failed"


Verdict = Union[Proceed, Hold, Fail]
PROCEED = Proceed()


class Gate(Protocol):
    """One condition a job must meet at its instant."""

    #: a short name for logs and the docs
    name: str
    #: asked at the job's instant (its answer can change in the last moments: the official
    #: page, the corrected post); False: asked in the dispatcher's lead time, so that at the
    #: instant only the platform call is left
    at_instant: bool

    def applies(self, stored: StoredJob) -> bool:
        """Whether this gate has anything to say about the job (go-live posts only...)."""

    def verdict(self, stored: StoredJob, adapter: Adapter) -> Verdict:
        """Its answer now; may read the network (the official page) or the platform (quota)."""


def first_stop(gates: tuple[Gate, ...], stored: StoredJob,
               adapter: Adapter) -> tuple[str, Verdict]:
    """The first gate that does not proceed and its verdict, or ("", PROCEED)."""
    for gate in gates:
        if gate.applies(stored):
            verdict = gate.verdict(stored, adapter)
            if not isinstance(verdict, Proceed):
                return gate.name, verdict
    return "", PROCEED


@dataclasses.dataclass(frozen=True)
class GoLive:
    """An "open now" post goes out once its official page answers with the expected text; it
    waits (re-checked every ``interval_s``) up to ``window_s``, then fails with an alert. A
    page the network policy refuses (an internal address) is held for a person at once:
    re-checking every minute would hide for hours a calendar pointing the service at its
    own network."""

    timeout_s: float
    interval_s: float
    window_s: float
    #: the network policy now (the service reads config/ live)
    network_policy: Callable[[], NetPolicy]
    #: expected text on the official page, by official_url (when the entry gives none)
    expect_text: Mapping[str, str] = dataclasses.field(default_factory=dict)
    name: str = "golive"
    at_instant: bool = True

    def applies(self, stored: StoredJob) -> bool:
        return stored.job.kind == "golive" and not stored.corrects

    def verdict(self, stored: StoredJob, adapter: Adapter) -> Verdict:
        job = stored.job
        expected = job.check_contains or self.expect_text.get(job.official_url or "")
        # a session of its own per check (the default): checks run on several worker threads
        check = golive.check_live(job.official_url, expected, self.timeout_s,
                                  policy=self.network_policy())
        if check.refused:
            # its go-live window starts afresh once released (``gs`` dropped), as after a
            # retry: the wait so far was nobody's fault but the URL's
            return Hold(GOLIVE_REFUSED, f"golive_refused: {check.detail}", recheck_ms=None,
                        fields={"gr": check.detail[:500]}, drop=("gs",), alert=True,
                        event="golive_refused")
        now = now_ms()
        since_ms = int(stored.fields.get("gs") or now)
        decision = golive.decide(check.live, now, since_ms, int(self.interval_s * 1000),
                                 int(self.window_s * 1000))
        if decision.action == "publish":
            return PROCEED
        if decision.action == "wait":
            return Hold(GOLIVE_WAITING, f"official page not live: {check.detail}",
                        recheck_ms=decision.recheck_ms, fields={"gs": since_ms},
                        event="golive_waiting")
        return Fail(f"golive_timeout: {check.detail}")


@dataclasses.dataclass(frozen=True)
class Quota:
    """A new post beyond the account's publishing quota (Instagram: 50 in 24 h) waits, asked
    again every ``recheck_s``; corrections do not count against it (``quota.quota_gate``)."""

    recheck_s: float
    name: str = "quota"
    at_instant: bool = False

    def applies(self, stored: StoredJob) -> bool:
        return True

    def verdict(self, stored: StoredJob, adapter: Adapter) -> Verdict:
        check = quota.quota_gate(adapter, stored)
        if check.allowed:
            return PROCEED
        reason = quota.quota_reason(stored.job.platform)
        return Hold(reason, f"{reason}: {check.detail}; re-checked in {self.recheck_s:.0f} s",
                    recheck_ms=now_ms() + int(self.recheck_s * 1000), event="quota_hold")
