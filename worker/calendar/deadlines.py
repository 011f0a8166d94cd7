"""Periods counted as Spanish administrative law counts them (Ley 39/2015, art. 30).

* Business days (30.2): from the day after notification or publication (30.3), skipping
  Saturdays, Sundays and holidays; the Nth business day is the last day.
* Calendar days ("días naturales"): from the day after; the Nth day is the last day,
  moved to the next business day if it is not one (30.5).
* Weeks: Ley 39/2015 does not define them. We count 7·N calendar days, which equals the
  date-to-date reading (same weekday N weeks later, as Código Civil art. 5 does for months),
  then apply the 30.5 move.
* Months and years (30.4): the period ends on the same day of the month as ``start`` in the
  final month, or on that month's last day if it has no such day (31 Jan + 1 month ->
  28 Feb), then the 30.5 move.

Not handled here: art. 30.6 (the interested party's and the body's calendars differ) and
the August/holiday suspensions of judicial procedure (those are Ley 29/1998 / LEC rules).
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import functools

from worker.calendar.holiday_calendar import HolidayCalendar
from worker.calendar.timeparse import TimeValueError

__all__ = ["DeadlineResult", "add_period", "business_days_between"]

_ONE_DAY = dt.timedelta(days=1)
_MONTHS = ["", "January", "February", "March", "April", "May", "June", "July",
           "August", "September", "October", "November", "December"]


@dataclasses.dataclass(frozen=True)
class DeadlineResult:
    """The last day of a period, and why, in terms an editor (or a lawyer) can check."""

    last_day: dt.date
    nominal_last_day: dt.date  # before the art. 30.5 move to the next business day
    moved_because: str | None  # e.g. "2027-04-03 is a Saturday"; None if not moved
    explanation: str  # one line for the linter and the plan
    # Weekday holidays that pushed the end later: skipped while counting business days,
    # or passed over by the 30.5 move. Weekend holidays change nothing and are left out.
    skipped_holidays: tuple[tuple[dt.date, str], ...] = ()


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def _add_months(start: dt.date, months: int) -> tuple[dt.date, bool]:
    """Same day of month ``months`` later, clamped to the month's end; also says if clamped."""
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(start.day, last)), start.day > last


def _weekday_holidays(cal: HolidayCalendar, first: dt.date, last: dt.date) -> tuple[tuple[dt.date, str], ...]:
    """Holidays falling Monday-Friday in [first, last]."""
    found = []
    day = first
    while day <= last:
        if day.weekday() < 5:
            name = cal.holiday_name(day)
            if name:
                found.append((day, name))
        day += _ONE_DAY
    return tuple(found)


def _format_skipped(skipped: tuple[tuple[dt.date, str], ...]) -> str:
    return ", ".join(f"{day.isoformat()} {name}" for day, name in skipped)


def _count_business_days(start: dt.date, n: int, cal: HolidayCalendar) -> DeadlineResult:
    day, counted = start, 0
    while counted < n:
        day += _ONE_DAY
        if cal.is_business_day(day):
            counted += 1
    skipped = _weekday_holidays(cal, start + _ONE_DAY, day)
    explanation = (f"{_plural(n, 'business day')} from the day after {start.isoformat()}: "
                   f"ends {day.isoformat()}")
    if skipped:
        explanation += f" (skips {_format_skipped(skipped)})"
    return DeadlineResult(day, day, None, explanation, skipped)


def _move_to_business_day(start: dt.date, nominal: dt.date, label: str, cal: HolidayCalendar,
                          note: str = "") -> DeadlineResult:
    """Apply art. 30.5: a last day that is not a business day moves to the next one."""
    last = cal.next_business_day(nominal)
    head = f"{label} from the day after {start.isoformat()}: {note}"
    if last == nominal:
        return DeadlineResult(last, nominal, None, f"{head}ends {last.isoformat()}")
    reason = cal.why_not_business_day(nominal)
    skipped = _weekday_holidays(cal, nominal, last - _ONE_DAY)
    # Mention holidays the move passed over, unless the only one is the nominal day itself
    # (already named in ``reason``).
    passed = tuple(h for h in skipped if h[0] != nominal)
    also = f"; skips {_format_skipped(passed)}" if passed else ""
    explanation = (f"{head}would end {nominal.isoformat()}, but {reason}; "
                   f"moves to {last.isoformat()} (art. 30.5{also})")
    return DeadlineResult(last, nominal, reason, explanation, skipped)


@functools.lru_cache(maxsize=65536, typed=True)
def add_period(start: dt.date, *, business_days: int = 0, calendar_days: int = 0,
               weeks: int = 0, months: int = 0, years: int = 0,
               holidays: HolidayCalendar) -> DeadlineResult:
    """The last day of a period of exactly one unit starting the day after ``start``.

    ``start`` is the day of notification or publication. Memoised: calendars repeat the
    same deadlines many times and both arguments are immutable.
    """
    units = {"business_days": business_days, "calendar_days": calendar_days,
             "weeks": weeks, "months": months, "years": years}
    given = {k: v for k, v in units.items() if v}
    if len(given) != 1:
        raise TimeValueError(
            f"a period needs exactly one unit, got {', '.join(given) or 'none'}",
            "write e.g. 'business_days: 20' or 'months: 1', not a mix")
    (unit, n), = given.items()
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise TimeValueError(f"{unit} must be a whole number of at least 1, got {n!r}",
                             f"write e.g. '{unit}: 10'")
    if isinstance(start, dt.datetime) or not isinstance(start, dt.date):
        raise TimeValueError(f"a period starts on a date, got {start!r}",
                             "pass the notification or publication date")

    if unit == "business_days":
        return _count_business_days(start, n, holidays)
    if unit == "calendar_days":
        return _move_to_business_day(start, start + dt.timedelta(days=n),
                                     _plural(n, "calendar day"), holidays)
    if unit == "weeks":
        return _move_to_business_day(start, start + dt.timedelta(weeks=n),
                                     _plural(n, "week"), holidays)
    total = n if unit == "months" else 12 * n
    nominal, clamped = _add_months(start, total)
    note = ""
    if clamped:
        note = (f"{_MONTHS[nominal.month]} {nominal.year} has no day {start.day}, "
                f"so it takes the month's last day; ")
    label = _plural(n, "month") if unit == "months" else _plural(n, "year")
    return _move_to_business_day(start, nominal, label, holidays, note)


def business_days_between(a: dt.date, b: dt.date, holidays: HolidayCalendar) -> int:
    """How many business days lie in (a, b]; 0 when ``b <= a``."""
    count = 0
    day = a + _ONE_DAY
    while day <= b:
        if holidays.is_business_day(day):
            count += 1
        day += _ONE_DAY
    return count
