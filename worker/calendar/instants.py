"""When each entry goes out: an absolute local time, or a time relative to a fact.

Pure: the calendar and its holidays in, an aware datetime and the facts it depends on out.
"""

from __future__ import annotations

import datetime as dt

from worker.calendar import timeparse
from worker.calendar.findings import did_you_mean
from worker.calendar.holiday_calendar import HolidayCalendar
from worker.calendar.model import Calendar, Entry, Fact

ANCHORS = ("on", "before", "after")


class InstantProblem(Exception):
    """Raised when an entry's time cannot be resolved; carries an editor-facing message."""

    def __init__(self, message: str, code: str, hint: str = "", subpath: tuple = ()):
        super().__init__(message)
        self.message, self.code, self.hint, self.subpath = message, code, hint, subpath


def _fact(cal: Calendar, name: str, subpath: tuple) -> Fact:
    fact = cal.facts.get(name)
    if fact is None:
        raise InstantProblem(f"unknown fact '{name}'" + did_you_mean(name, cal.facts),
                             "unknown-fact", "define it under facts: or fix the name", subpath)
    return fact


def _localize(naive: dt.datetime, cal: Calendar, subpath: tuple) -> dt.datetime:
    try:
        return timeparse.localize(naive, cal.timezone)
    except timeparse.TimeValueError as exc:
        code = ("nonexistent-local-time" if isinstance(exc, timeparse.NonexistentLocalTime)
                else "ambiguous-local-time")
        raise InstantProblem(exc.message, code, exc.hint, subpath) from None


def _shift_business_days(day: dt.date, n: int, holidays: HolidayCalendar) -> dt.date:
    step = 1 if n >= 0 else -1
    remaining = abs(n)
    while remaining:
        day += dt.timedelta(days=step)
        if holidays.is_business_day(day):
            remaining -= 1
    return day


def entry_instant(cal: Calendar, entry: Entry,
                  holidays: HolidayCalendar) -> tuple[dt.datetime, tuple[str, ...]]:
    """The aware instant of ``entry`` and the fact names it depends on."""
    at = entry.at
    if isinstance(at, str):
        try:
            naive = timeparse.parse_local_datetime(at)
        except timeparse.TimeValueError as exc:
            raise InstantProblem(exc.message, "impossible-date", exc.hint, ("at",)) from None
        return _localize(naive, cal, ("at",)), ()
    anchors = [a for a in ANCHORS if a in at]
    if len(anchors) != 1:
        raise InstantProblem("a relative time needs exactly one of on, before or after",
                             "relative-time", "e.g. at: {before: plazo_fin, days: 3, time: '10:00'}",
                             ("at",))
    anchor = anchors[0]
    fact = _fact(cal, str(at[anchor]), ("at", anchor))
    if fact.kind not in ("date", "datetime"):
        raise InstantProblem(f"'{fact.name}' is a {fact.kind}; a time must be relative to a date",
                             "fact-kind", "", ("at", anchor))
    sign = -1 if anchor == "before" else 1
    base_day = fact.value.date() if fact.kind == "datetime" else fact.value
    days = at.get("days", 0) + 7 * at.get("weeks", 0)
    day = base_day + dt.timedelta(days=sign * days)
    if at.get("business_days"):
        day = _shift_business_days(day, sign * at["business_days"], holidays)
    if "time" in at:
        try:
            clock = timeparse.parse_time(str(at["time"]))
        except timeparse.TimeValueError as exc:
            raise InstantProblem(exc.message, "impossible-time", exc.hint, ("at", "time")) from None
    elif fact.kind == "datetime":
        clock = fact.value.timetz().replace(tzinfo=None)
    else:
        raise InstantProblem(f"'{fact.name}' is a date without a time: say at what time to publish",
                             "missing-time", "add time: '10:00'", ("at",))
    naive = dt.datetime.combine(day, clock)
    instant = _localize(naive, cal, ("at",))
    offset = dt.timedelta(hours=at.get("hours", 0), minutes=at.get("minutes", 0))
    if offset:
        # Hours and minutes are elapsed time, counted in UTC so a DST change in between
        # does not stretch or shrink them.
        utc = instant.astimezone(dt.timezone.utc) + sign * offset
        instant = utc.astimezone(instant.tzinfo)
    return instant, (fact.name,) + fact.derived_from


def point_in_time(cal: Calendar, text: str, subpath: tuple,
                  *, end_of_day: bool = False) -> tuple[dt.datetime, bool, tuple[str, ...]]:
    """An event bound: 'YYYY-MM-DD HH:MM', 'YYYY-MM-DD' (all day) or a fact name.
    Returns (aware instant, all_day, depends_on)."""
    deps: tuple[str, ...] = ()
    if text in cal.facts or (text.replace("_", "").isalnum() and not text[:1].isdigit()):
        fact = _fact(cal, text, subpath)
        deps = (fact.name,) + fact.derived_from
        if fact.kind == "datetime":
            return fact.value, False, deps
        if fact.kind != "date":
            raise InstantProblem(f"'{fact.name}' is a {fact.kind}, not a date", "fact-kind", "",
                                 subpath)
        day = fact.value
    else:
        try:
            if len(text.strip()) > 10:
                return _localize(timeparse.parse_local_datetime(text), cal, subpath), False, deps
            day = timeparse.parse_date(text)
        except timeparse.TimeValueError as exc:
            raise InstantProblem(exc.message, "impossible-date", exc.hint, subpath) from None
    clock = dt.time(23, 59, 59) if end_of_day else dt.time(0, 0)
    return _localize(dt.datetime.combine(day, clock), cal, subpath), True, deps


def fact_deadline(fact: Fact, cal: Calendar) -> dt.datetime:
    """The last instant covered by a fact: a date lasts until the end of its day (a deadline
    on the 20th can be met until 23:59:59 local time)."""
    if fact.kind == "datetime":
        return fact.value
    end = dt.datetime.combine(fact.value, dt.time(23, 59, 59))
    return timeparse.localize(end, cal.timezone)


def period_facts(cal: Calendar, entry: Entry) -> tuple[Fact, Fact] | None:
    """The facts that open and close the period ``entry`` speaks of; None when it has none
    or they are not dates (reported when the calendar is built)."""
    period = cal.periods.get(entry.period or "")
    if period is None:
        return None
    opens, closes = cal.facts.get(period.opens), cal.facts.get(period.closes)
    if opens is None or closes is None or not {opens.kind, closes.kind} <= {"date", "datetime"}:
        return None
    return opens, closes


def entry_expiry(cal: Calendar, entry: Entry) -> dt.datetime | None:
    """The instant after which the entry's posts mislead: the close of the period they speak
    of ("quedan tres días", "el plazo está abierto"). None for an entry without a period and
    for a closing post, which says that the period has closed."""
    facts = period_facts(cal, entry)
    if facts is None or entry.role == "closing":
        return None
    return fact_deadline(facts[1], cal)


def fact_start(fact: Fact, cal: Calendar) -> dt.datetime:
    """The first instant of a fact (a date starts at 00:00 local time)."""
    if fact.kind == "datetime":
        return fact.value
    return timeparse.localize(dt.datetime.combine(fact.value, dt.time(0, 0)), cal.timezone)
