"""The agenda: what goes out when, where, in which language, day by day (pure).

The daily route of a communication team starts here: "what do we publish today (this week),
on which account, in which language, and is anything held?". Rows come from jobs (the
compiled plan, or the store's jobs with their state); a job belongs to the day of its instant
*in its calendar's time zone* — a post due at 00:30 in Madrid is on the Madrid day, whatever
the server's zone is.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Iterable, Literal, Mapping
from zoneinfo import ZoneInfo

from worker.jobs import Job

Span = Literal["day", "week"]


@dataclasses.dataclass(frozen=True)
class AgendaRow:
    """One post of the agenda. ``state`` is empty for rows from the plan (not synced yet)."""

    day: str            # YYYY-MM-DD, local to the job's calendar
    time: str           # HH:MM:SS local
    timezone: str
    due_utc: str
    department: str
    account: str
    platform: str
    language: str
    kind: str
    category: str
    calendar: str
    entry: str
    job_id: str
    text: str
    link: str | None = None
    official_url: str | None = None
    state: str = ""
    reason: str = ""

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def window(span: Span, day: dt.date) -> tuple[dt.date, dt.date]:
    """The inclusive dates of the agenda: one day, or the Monday-to-Sunday week of ``day``."""
    if span == "day":
        return day, day
    monday = day - dt.timedelta(days=day.weekday())
    return monday, monday + dt.timedelta(days=6)


def local_instant(job: Job) -> dt.datetime:
    """The job's instant in its calendar's time zone (UTC when the zone is unknown)."""
    try:
        zone = ZoneInfo(job.timezone)
    except Exception:  # a zone this machine lacks: still show the post, in UTC
        zone = dt.timezone.utc
    return job.due_utc.astimezone(zone)


def row_of(job: Job, state: str = "", reason: str = "") -> AgendaRow:
    local = local_instant(job)
    return AgendaRow(day=local.date().isoformat(), time=local.strftime("%H:%M:%S"),
                     timezone=job.timezone,
                     due_utc=job.due_utc.astimezone(dt.timezone.utc).isoformat(),
                     department=job.department, account=job.account, platform=job.platform,
                     language=job.language, kind=job.kind, category=job.category,
                     calendar=job.calendar, entry=job.entry, job_id=job.id, text=job.text,
                     link=job.link, official_url=job.official_url, state=state, reason=reason)


def agenda(jobs: Iterable[Job], first: dt.date, last: dt.date, *, department: str | None = None,
           states: Mapping[str, tuple[str, str]] | None = None,
           skip_states: Iterable[str] = ("cancelled",)) -> list[AgendaRow]:
    """Rows of the jobs due between ``first`` and ``last`` (inclusive, local days), sorted by
    instant. ``states`` maps job id -> (state, reason) when the jobs come from the store;
    jobs in ``skip_states`` (cancelled: they will not go out) are left out."""
    states = states or {}
    skip = set(skip_states)
    rows = []
    for job in jobs:
        if department and job.department != department:
            continue
        state, reason = states.get(job.id, ("", ""))
        if state in skip:
            continue
        row = row_of(job, state, reason)
        if first.isoformat() <= row.day <= last.isoformat():
            rows.append(row)
    return sorted(rows, key=lambda r: (r.due_utc, r.job_id))


def by_day(rows: Iterable[AgendaRow]) -> dict[str, list[AgendaRow]]:
    """Rows grouped by local day, days in order."""
    out: dict[str, list[AgendaRow]] = {}
    for row in sorted(rows, key=lambda r: (r.day, r.time, r.job_id)):
        out.setdefault(row.day, []).append(row)
    return out


def agenda_json(rows: list[AgendaRow], first: dt.date, last: dt.date, source: str,
                department: str | None) -> dict:
    """The ``--json`` form: the window, where the rows came from, and the rows."""
    return {"from": first.isoformat(), "to": last.isoformat(), "source": source,
            "department": department, "count": len(rows), "rows": [r.as_dict() for r in rows]}


def one_line(text: str, width: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[:width - 1] + "…"
