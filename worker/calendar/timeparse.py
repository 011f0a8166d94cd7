"""Parse the dates, times and time zones editors type, failing with messages they can act on.

Every error is a :class:`TimeValueError` carrying a ``message`` (what is wrong) and a
``hint`` (how to fix it), so the linter can show both next to the offending YAML line.
Nothing here reads the clock: all functions are pure.
"""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
import functools
import re
import zoneinfo

__all__ = [
    "TimeValueError",
    "NonexistentLocalTime",
    "AmbiguousLocalTime",
    "parse_date",
    "parse_time",
    "parse_local_datetime",
    "localize",
    "check_timezone",
    "to_utc_iso",
]

_DATE_HINT = "write dates as YYYY-MM-DD, e.g. 2027-04-09"
_TIME_HINT = "write times as HH:MM or HH:MM:SS in 24-hour form, e.g. 09:30 or 18:00"
_DATETIME_HINT = "write local date-times as YYYY-MM-DD HH:MM, e.g. 2027-04-09 09:30"

_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TIME_RE = re.compile(r"(\d{2}):(\d{2})(?::(\d{2}))?")
_DATETIME_RE = re.compile(r"(\S+)[ T](\S+)")
# Loose shapes we recognise only to give a better hint.
_LOOSE_ISO_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DMY_RE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_LOOSE_TIME_RE = re.compile(r"(\d{1,2})[:.h](\d{1,2})(?::(\d{1,2}))?")
_OFFSET_RE = re.compile(r"\d(Z|[+-]\d{2}:?\d{2})$")

_MONTHS = ["", "January", "February", "March", "April", "May", "June", "July",
           "August", "September", "October", "November", "December"]


class TimeValueError(ValueError):
    """A date, time or zone an editor wrote that we cannot accept, with a fix."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message if not hint else f"{message} ({hint})")
        self.message = message
        self.hint = hint


class NonexistentLocalTime(TimeValueError):
    """A wall-clock time skipped by a DST jump (e.g. 02:30 on the last Sunday of March in Madrid)."""


class AmbiguousLocalTime(TimeValueError):
    """A wall-clock time that happens twice because clocks go back (last Sunday of October)."""


def _require_text(value: object, what: str, hint: str) -> str:
    # YAML turns unquoted 2027-04-09 into a date and 9:30 into an int (sexagesimal in YAML 1.1);
    # accepting those silently would hide mistakes, so we insist on text and say how to quote.
    if not isinstance(value, str):
        raise TimeValueError(
            f"expected a {what} as text, got {type(value).__name__} {value!r}",
            f"quote the value in YAML, e.g. '\"{hint}\"'",
        )
    return value.strip()


def _check_ymd(text: str, year: int, month: int, day: int) -> dt.date:
    """Build the date or explain precisely why it does not exist."""
    if year < dt.MINYEAR:
        raise TimeValueError(f"{text} is not a date: there is no year 0", _DATE_HINT)
    if not 1 <= month <= 12:
        raise TimeValueError(
            f"{text} is not a date: there is no month {month} (months go from 01 to 12)",
            f"{_DATE_HINT}; the month comes second",
        )
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        reason = f"{_MONTHS[month]} {year} has {days} days"
        if month == 2 and day == 29:
            reason = f"{year} is not a leap year, so {reason}"
        elif day == 0:
            reason = "there is no day 0"
        last = dt.date(year, month, days).isoformat()
        raise TimeValueError(f"{text} is not a date: {reason}",
                             f"the last day of {_MONTHS[month]} {year} is {last}; "
                             f"write dates as YYYY-MM-DD, e.g. {last}")
    return dt.date(year, month, day)


def parse_date(text: str) -> dt.date:
    """Parse exactly ``YYYY-MM-DD``; anything else is rejected with a corrective hint."""
    text = _require_text(text, "date", "2027-04-09")
    m = _DATE_RE.fullmatch(text)
    if m:
        return _check_ymd(text, *(int(g) for g in m.groups()))
    loose = _LOOSE_ISO_RE.fullmatch(text)
    if loose:
        y, mo, d = (int(g) for g in loose.groups())
        raise TimeValueError(f"{text!r} is not in YYYY-MM-DD form: month and day need two digits",
                             f"write {y:04d}-{mo:02d}-{d:02d}")
    dmy = _DMY_RE.fullmatch(text)
    if dmy:
        d, mo, y = (int(g) for g in dmy.groups())
        # Day-first is the Spanish and Latin American convention, but we never guess a binding
        # date: we only offer the day-first reading as a suggestion.
        suggestion = (f"if you meant {d} {_MONTHS[mo]} {y}, write {y:04d}-{mo:02d}-{d:02d}"
                      if 1 <= mo <= 12 and 1 <= d <= 31 else _DATE_HINT)
        raise TimeValueError(f"{text!r} is not in YYYY-MM-DD form (day/month order is ambiguous)",
                             suggestion)
    raise TimeValueError(f"{text!r} is not a date in YYYY-MM-DD form", _DATE_HINT)


def parse_time(text: str) -> dt.time:
    """Parse ``HH:MM`` or ``HH:MM:SS`` on a 24-hour clock."""
    text = _require_text(text, "time", "09:30")
    m = _TIME_RE.fullmatch(text)
    if not m:
        loose = _LOOSE_TIME_RE.fullmatch(text)
        if loose:
            h, mi, s = loose.groups()
            fixed = f"{int(h):02d}:{int(mi):02d}" + (f":{int(s):02d}" if s else "")
            raise TimeValueError(f"{text!r} is not in HH:MM form", f"write {fixed}")
        if re.search(r"[ap]\.?m\.?$", text, re.IGNORECASE):
            raise TimeValueError(f"{text!r} uses a 12-hour clock", _TIME_HINT + " (e.g. 6 pm is 18:00)")
        raise TimeValueError(f"{text!r} is not a time in HH:MM form", _TIME_HINT)
    hour, minute = int(m.group(1)), int(m.group(2))
    second = int(m.group(3)) if m.group(3) else 0
    if hour > 23:
        hint = "midnight is 00:00 of the next day" if hour == 24 else _TIME_HINT
        raise TimeValueError(f"{text} is not a time: hours go from 00 to 23, not {hour}", hint)
    if minute > 59:
        raise TimeValueError(f"{text} is not a time: minutes go from 00 to 59, not {minute}",
                             _TIME_HINT)
    if second > 59:
        raise TimeValueError(f"{text} is not a time: seconds go from 00 to 59, not {second}",
                             _TIME_HINT)
    return dt.time(hour, minute, second)


def parse_local_datetime(text: str) -> dt.datetime:
    """Parse a naive wall-clock ``YYYY-MM-DD HH:MM[:SS]`` (a ``T`` separator is also fine)."""
    text = _require_text(text, "date and time", "2027-04-09 09:30")
    m = _DATETIME_RE.fullmatch(text)
    if not m:
        raise TimeValueError(f"{text!r} is not a date and time", _DATETIME_HINT)
    if _OFFSET_RE.search(m.group(2)):
        # An offset would silently disagree with the calendar's zone after a DST change.
        raise TimeValueError(f"{text!r} carries a UTC offset or 'Z'",
                             "write the local wall time without an offset; "
                             "the calendar's timezone decides the offset")
    date = parse_date(m.group(1))
    time = parse_time(m.group(2))
    return dt.datetime.combine(date, time)


@functools.cache
def _zones() -> frozenset[str]:
    # available_timezones() walks the tz database on disk; do it once per process.
    return frozenset(zoneinfo.available_timezones())


@functools.cache
def _zones_by_lower() -> dict[str, str]:
    return {z.lower(): z for z in _zones()}


def check_timezone(name: str) -> None:
    """Raise :class:`TimeValueError` unless ``name`` is a known IANA zone, suggesting the closest."""
    if not isinstance(name, str) or not name:
        raise TimeValueError(f"{name!r} is not a time zone name",
                             "write an IANA zone such as Europe/Madrid")
    if name in _zones():
        return
    exact = _zones_by_lower().get(name.lower())
    if exact:
        raise TimeValueError(f"unknown time zone {name!r}: zone names are case-sensitive",
                             f"did you mean {exact!r}?")
    close = difflib.get_close_matches(name.lower(), list(_zones_by_lower()), n=1, cutoff=0.6)
    hint = (f"did you mean {_zones_by_lower()[close[0]]!r}?" if close
            else "write an IANA zone such as Europe/Madrid, Atlantic/Canary or America/Mexico_City")
    raise TimeValueError(f"unknown time zone {name!r}", hint)


def _transition(zone: zoneinfo.ZoneInfo, lo: dt.datetime, hi: dt.datetime) -> dt.datetime:
    """The first UTC minute in (lo, hi] whose offset differs from lo's (naive UTC in and out)."""
    utc = dt.timezone.utc
    before = lo.replace(tzinfo=utc).astimezone(zone).utcoffset()
    t = lo
    while t < hi:
        t += dt.timedelta(minutes=1)
        if t.replace(tzinfo=utc).astimezone(zone).utcoffset() != before:
            return t
    return hi  # pragma: no cover - the caller guarantees a transition inside


def _hm(t: dt.datetime) -> str:
    return t.strftime("%H:%M")


def localize(naive: dt.datetime, tz_name: str) -> dt.datetime:
    """Attach IANA zone ``tz_name`` to a wall-clock time, refusing DST gaps and overlaps.

    Python would silently pick one reading of a skipped or repeated wall time; for a
    scheduled official post that is a wrong publication instant, so we ask the editor.
    """
    if naive.tzinfo is not None:
        raise TimeValueError(f"{naive.isoformat()} already has a time zone",
                             "pass the local wall time; the zone is attached here")
    check_timezone(tz_name)
    zone = zoneinfo.ZoneInfo(tz_name)
    utc = dt.timezone.utc
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    off0, off1 = first.utcoffset(), second.utcoffset()
    if off0 == off1:
        # PEP 495: both readings agree everywhere but in a DST gap or overlap
        return first

    def round_trips(aware: dt.datetime) -> bool:
        return aware.astimezone(utc).astimezone(zone).replace(tzinfo=None, fold=0) == naive

    if not round_trips(first) and not round_trips(second):
        # Gap: fold=0 uses the offset before the jump, fold=1 the one after.
        t = _transition(zone, naive - off1, naive - off0)
        start, end = t + off0, t + off1
        raise NonexistentLocalTime(
            f"{naive:%Y-%m-%d %H:%M} does not exist in {tz_name}: clocks jump from "
            f"{_hm(start)} to {_hm(end)} that day",
            f"pick a time outside the gap, e.g. {_hm(end)} or {_hm(start - dt.timedelta(minutes=1))}",
        )
    # Overlap: fold=0 is the earlier instant (old, larger offset).
    t = _transition(zone, naive - off0, naive - off1)
    start, end = t + off1, t + off0
    raise AmbiguousLocalTime(
        f"{naive:%Y-%m-%d %H:%M} happens twice in {tz_name}: clocks go back from "
        f"{_hm(end)} to {_hm(start)} that day",
        f"pick another time, e.g. {_hm(end)} or {_hm(start - dt.timedelta(minutes=1))}",
    )


def to_utc_iso(moment: dt.datetime) -> str:
    """UTC ISO 8601 with microseconds, e.g. ``2027-04-09T08:00:00.000000+00:00``."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise TimeValueError(f"{moment.isoformat()} has no time zone, so it is not an instant",
                             "localize() it with the calendar's timezone first")
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")
