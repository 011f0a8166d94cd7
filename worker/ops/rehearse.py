"""Rehearsal: the whole period as it will happen, on a simulated clock, in seconds.

Editors check a campaign before it starts. A rehearsal compiles the calendars exactly as the
engine's sync does (``analyze_for_engine``: past entries and moved deadlines tolerated and
flagged), then walks the jobs of the period in instant order with a clock that jumps from one
instant to the next, and sends each one through the same ``build_request`` and the same
``OutboxAdapter`` the engine uses. The outbox is a separate file (``rehearsal/outbox.jsonl``),
never the real one. So the rehearsal's records carry the same job ids, texts and due instants
the engine will publish (``tests/test_rehearse.py`` checks that against a real engine run).

What the engine would do instead of publishing is shown too, with the reason:

* a job flagged by the compile (after its period's deadline, in the past): **held**;
* a job a quiet period covers at its instant (``config/policies.yaml``): **held**, with the
  period's id, reason and end — as the dispatcher's ``QuietGate`` does;
* a go-live job: the official page is assumed to go live at the go-live instant (published
  then); with ``golive_offline`` it is **held** (``golive_waiting``) and **fails** with
  ``golive_timeout`` once the go-live window has passed, as the publisher's go-live gate does;
* a post the platform would refuse (too long, no image on Instagram): **failed**.

Quiet periods are applied at the simulated instant rather than through the linter: the linter
refuses a calendar with an entry inside a quiet period, which would hide the whole campaign
from the rehearsal; here the entry is shown held, with why.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Callable, Iterable, Sequence

from adapters.base import AdapterError
from worker.engine.publisher import build_request
from worker.ops.agenda import local_instant
from worker.analysis import calendar_files
from worker.calendar_root import given_folder
from worker.config_model import Config
from worker.jobs import Job
from worker.engine.quiet import covering

REHEARSAL_DIR = "rehearsal"
PUBLISHED, HELD, FAILED = "published", "held", "failed"


@dataclasses.dataclass(frozen=True)
class Compiled:
    """The plan a rehearsal runs: jobs, the engine's flags, calendars that would not load."""

    jobs: tuple[Job, ...]
    flagged: dict[str, str]
    failing: dict[str, list[str]]


@dataclasses.dataclass(frozen=True)
class Event:
    """One thing that happens on the simulated clock."""

    at: str              # the simulated instant, UTC ISO
    local: str           # the same instant in the job's calendar zone
    outcome: str         # published | held | failed
    job_id: str
    account: str
    platform: str
    language: str
    kind: str
    department: str
    due_utc: str
    text: str
    reason: str = ""
    post_id: str = ""

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def compile_for_rehearsal(paths: Sequence[Path], config: Config | None,
                          now: dt.datetime) -> Compiled:
    """Compile like the engine's sync (without CLI overrides, which live in Redis).

    Quiet periods are left out of the compile (see module doc) and applied by ``simulate``."""
    from worker.plan import analyze_for_engine

    compile_config = dataclasses.replace(config, quiet_periods=()) if config else None
    jobs: list[Job] = []
    flagged: dict[str, str] = {}
    failing: dict[str, list[str]] = {}
    for root in map(Path, paths):
        for file in calendar_files([root]):
            shown = str(file.relative_to(root)) if root.is_dir() else str(file)
            plan = analyze_for_engine(file, shown, compile_config, now, clear=False,
                                      given_folder=given_folder(file, paths))
            if not plan.ok:
                failing[shown] = [f.format() for f in plan.findings if f.severity == "error"]
                continue
            jobs.extend(plan.jobs)
            flagged.update(plan.flagged)
    jobs.sort(key=lambda j: (j.due_utc, j.id))
    return Compiled(tuple(jobs), flagged, failing)


class SimulatedClock:
    """A clock that only moves when the rehearsal moves it."""

    def __init__(self, start: dt.datetime):
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


def outbox_adapters(config: Config | None, home: Path, clock: SimulatedClock) -> Callable:
    """``adapter_for(job)`` like the engine's ``adapter_factory``, every account forced to the
    outbox under ``home`` and on the simulated clock."""
    from adapters import capabilities_for
    from adapters.factory import make_adapter
    from adapters.outbox import OutboxAdapter

    cache: dict[str, object] = {}

    def adapter_for(job: Job):
        if job.account not in cache:
            if config is not None:
                if job.account not in config.accounts:
                    raise KeyError(f"account {job.account} is not in accounts.yaml")
                account = dataclasses.replace(config.accounts[job.account], transport="outbox")
                adapter = make_adapter(account, "outbox", home=home)
            else:  # no config/: the platform's own limits
                adapter = OutboxAdapter(job.account, capabilities_for(job.platform), home)
            adapter.clock = clock
            cache[job.account] = adapter
        return cache[job.account]

    return adapter_for


def in_window(job: Job, first: dt.date, last: dt.date) -> bool:
    """Whether the job's local day (its calendar's zone) is within the inclusive window."""
    return first <= local_instant(job).date() <= last


def simulate(compiled: Compiled, config: Config | None, first: dt.date, last: dt.date,
             home: Path, *, golive_offline: bool = False,
             golive_window_s: float | None = None) -> list[Event]:
    """Run the period on a simulated clock through an outbox under ``home``."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    outbox = home / "outbox.jsonl"
    if outbox.exists():
        outbox.unlink()  # every rehearsal starts from an empty outbox
    periods = config.quiet_periods if config else ()
    window_s = golive_window_s if golive_window_s is not None else (
        config.golive_window_s if config else 6 * 3600)
    jobs = [j for j in compiled.jobs if in_window(j, first, last)]
    clock = SimulatedClock(jobs[0].due_utc if jobs else dt.datetime.now(dt.timezone.utc))
    adapter_for = outbox_adapters(config, home, clock)
    events: list[Event] = []
    for job in jobs:
        clock.now = job.due_utc
        reason = compiled.flagged.get(job.id)
        period = covering(periods, job.due_utc, job.department, job.category)
        if reason:
            events.append(_event(job, job.due_utc, HELD, reason))
        elif period is not None:
            events.append(_event(job, job.due_utc, HELD, f"quiet_period {period.id}: "
                                 f"{period.reason} (until {period.end.isoformat()}; released "
                                 "only by a decision: pregonero resume --send-missed|--skip-missed)"))
        elif job.kind == "golive" and golive_offline:
            events.append(_event(job, job.due_utc, HELD, "golive_waiting: official page not live"))
            gave_up = job.due_utc + dt.timedelta(seconds=window_s)
            events.append(_event(job, gave_up, FAILED, f"golive_timeout: not live after {int(window_s)} s"))
        else:
            events.append(_publish(job, adapter_for))
    return sorted(events, key=lambda e: (e.at, e.job_id))


def _publish(job: Job, adapter_for: Callable) -> Event:
    try:
        adapter = adapter_for(job)
    except Exception as exc:  # the engine fails such a job: nothing could be sent
        return _event(job, job.due_utc, FAILED, f"no adapter: {type(exc).__name__}: {exc}")
    try:
        ref = adapter.publish(build_request(job))
    except AdapterError as exc:
        return _event(job, job.due_utc, FAILED, f"{type(exc).__name__}: {exc}")
    note = "official page assumed live at the go-live instant" if job.kind == "golive" else ""
    return _event(job, job.due_utc, PUBLISHED, note, ref.post_id)


def _event(job: Job, at: dt.datetime, outcome: str, reason: str = "", post_id: str = "") -> Event:
    local = at.astimezone(local_instant(job).tzinfo)
    return Event(at=at.astimezone(dt.timezone.utc).isoformat(),
                 local=local.strftime("%Y-%m-%d %H:%M:%S %Z"), outcome=outcome, job_id=job.id,
                 account=job.account, platform=job.platform, language=job.language,
                 kind=job.kind, department=job.department,
                 due_utc=job.due_utc.astimezone(dt.timezone.utc).isoformat(), text=job.text,
                 reason=reason, post_id=post_id)


def summary(events: Iterable[Event]) -> dict[str, int]:
    counts = {PUBLISHED: 0, HELD: 0, FAILED: 0}
    for event in events:
        counts[event.outcome] = counts.get(event.outcome, 0) + 1
    return counts


def rehearsal_json(events: list[Event], compiled: Compiled, first: dt.date, last: dt.date,
                   now: dt.datetime, outbox: Path) -> dict:
    return {"from": first.isoformat(), "to": last.isoformat(), "compiled_at": now.isoformat(),
            "outbox": str(outbox), "summary": summary(events),
            "calendars_failing": dict(sorted(compiled.failing.items())),
            "events": [e.as_dict() for e in events]}
