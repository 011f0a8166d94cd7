"""Quiet periods applied by the engine: nothing a quiet period covers goes out during it.

The linter already refuses entries that fall inside a quiet period, but the engine is the last
line: a period added to ``config/policies.yaml`` after a calendar was synced, a job sent late
by decision, a go-live re-check or a retry can all land inside one. So the dispatcher asks the
``QuietGate`` about every claimed job, at the instant it is about to go out; a covered job is
``held`` with reason ``quiet_period`` (never failed), keeping the period's id and end.

Like a pause, the period ending does not release anything by itself: the job's instant has
passed, and a post that was not allowed at its time may no longer make sense. Someone decides
with ``pregonero resume ... --send-missed|--skip-missed`` (see ``worker.engine.holds.resume``), and
the audit says who.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import structlog

from worker.config_model import QuietPeriod
from worker.config_watch import ConfigWatch
from worker.engine.store import Claim, Store
from worker.engine.clock import to_ms
from worker.engine.states import QUIET_PERIOD

log = structlog.get_logger("pregonero.quiet")

#: how often the gate looks at config/'s modification times
RELOAD_EVERY_S = 1.0


def covering(periods: tuple[QuietPeriod, ...], instant: dt.datetime, department: str,
             category: str) -> QuietPeriod | None:
    """The first period covering a post of ``department``/``category`` at ``instant``."""
    for period in periods:
        if period.covers(instant, department, category):
            return period
    return None


def hold_quiet(store: Store, claim: Claim, period: QuietPeriod, by: str) -> bool:
    """dispatched (with this claim's token) -> held, reason quiet_period, at its planned due.

    Checking the token makes this a no-op if the job moved on meanwhile; removing it voids
    any message that might still carry the job."""
    return store.hold_dispatched(claim.job_id, claim.token, QUIET_PERIOD,
                                 f"quiet period {period.id}: {period.reason}"[:300],
                                 recheck_ms=None, by=by,
                                 fields={"qp": period.id, "qe": to_ms(period.end)})


def quiet_end_ms(store: Store, job_id: str) -> int:
    """When the quiet period that holds ``job_id`` ends (0 if unknown)."""
    return int(store.job_fields(job_id, "qe")[0] or 0)


class QuietGate:
    """Decides, per claim, whether it may go out now. Reloads ``policies.yaml`` when it
    changes; a config that fails to load keeps the last good periods (logged)."""

    def __init__(self, store: Store, config_dir: Path | None = None,
                 periods: tuple[QuietPeriod, ...] | None = None, by: str = "dispatcher"):
        self.store = store
        self._watch = (ConfigWatch(config_dir, every_s=RELOAD_EVERY_S)
                       if config_dir is not None else None)
        self.periods: tuple[QuietPeriod, ...] = periods or ()
        self.by = by
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        config = self._watch.current() if self._watch is not None else None
        if config is not None:
            self.periods = config.quiet_periods

    def __call__(self, claim: Claim) -> bool:
        """True: send it. False: it was held (or it changed under us): do not send."""
        with self._lock:
            self._refresh()
            periods = self.periods
        instant = dt.datetime.fromtimestamp(claim.send_at_ms / 1000, dt.timezone.utc)
        if not any(p.start <= instant <= p.end for p in periods):
            return True  # the common case costs no Redis round trip
        department, raw = self.store.job_fields(claim.job_id, "dp", "j")
        category = json.loads(raw).get("category", "institutional") if raw else "institutional"
        period = covering(periods, instant, department, category)
        if period is None:
            return True
        if hold_quiet(self.store, claim, period, self.by):
            log.info("post_held_quiet_period", job_id=claim.job_id, period=period.id,
                     until=period.end.isoformat())
        return False
