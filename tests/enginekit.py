"""Helpers for the engine tests: hand-built jobs and plans, polling with deadlines."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import Callable

from worker.jobs import Job, job_id

UTC = dt.timezone.utc


def utc_in(seconds: float) -> dt.datetime:
    """An aware UTC instant ``seconds`` from now, on a whole millisecond."""
    moment = dt.datetime.now(UTC) + dt.timedelta(seconds=seconds)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def make_job(entry: str, due: dt.datetime, *, calendar: str = "cal", account: str = "x:ayto-test",
             language: str = "es", text: str | None = None, kind: str = "post",
             department: str = "promocion", official_url: str | None = None) -> Job:
    return Job(id=job_id(calendar, entry, account, language), calendar=calendar, entry=entry,
               kind=kind, account=account, platform=account.split(":")[0], department=department,
               language=language, due_utc=due, due_local=due.isoformat(), timezone="Europe/Madrid",
               text=text or f"Texto de {entry}", official_url=official_url)


@dataclasses.dataclass(frozen=True)
class FakeSourcePlan:
    """Stands in for worker.plan.SourcePlan where a test builds plans by hand."""

    path: str
    ok: bool
    jobs: tuple[Job, ...]
    calendar_id: str | None = "cal"
    findings: tuple = ()
    archived_entries: frozenset[str] = frozenset()
    expires: dict = dataclasses.field(default_factory=dict)
    #: job id -> hold reason, as the engine's compile flags posts a change made late
    flagged: dict = dataclasses.field(default_factory=dict)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def one_file_plan(*jobs: Job, ok: bool = True, path: str = "cal.yaml",
                  flagged: dict | None = None) -> list[FakeSourcePlan]:
    """A sync's input made of one calendar file holding ``jobs`` (``flagged``: job id -> the
    hold reason the engine's compile gives a post a change made late)."""
    return [FakeSourcePlan(path, ok, tuple(jobs), flagged=flagged or {})]


def wait_for(condition: Callable[[], object], timeout_s: float = 10.0, every_s: float = 0.02,
             what: str = "condition"):
    """Poll ``condition`` until truthy (returned) or fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(every_s)


def hold_still(condition: Callable[[], object], for_s: float, every_s: float = 0.05,
               what: str = "condition") -> None:
    """Assert ``condition`` stays truthy for ``for_s`` (e.g. 'still not published')."""
    deadline = time.monotonic() + for_s
    while time.monotonic() < deadline:
        assert condition(), f"{what} stopped holding"
        time.sleep(every_s)


def begin_attempt(store, job_id: str, n: int) -> str:
    """scheduled -> dispatched -> publishing, as the dispatcher and a worker would; returns
    the attempt id."""
    assert store.transition(job_id, "scheduled", "dispatched", "test", "claimed",
                            fields={"t": f"tok{n}"})
    assert store.begin_publish(job_id, f"tok{n}", f"att{n}", 60_000)
    return f"att{n}"
