"""Which days are business days for an administration (Ley 39/2015, art. 30.2).

Saturdays, Sundays, national, regional and local holidays are not business days
("días inhábiles"). National and regional holidays come from the ``holidays`` package;
local ones (each municipality has two a year) come from the editor's calendar file,
because no package knows them.

Region codes are ISO 3166-1 alpha-2 countries (``ES``, ``MX``) optionally followed by an
ISO 3166-2 subdivision known to the ``holidays`` package (``ES-VC``, ``ES-PV``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import functools
import types
from typing import Iterable, Mapping

import holidays as holidays_pkg

from worker.calendar.timeparse import TimeValueError

__all__ = ["HolidayCalendar", "holiday_calendar", "check_region", "split_region"]

_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@functools.cache
def _countries() -> Mapping[str, tuple[str, ...]]:
    # Aliases (alpha-3 codes) are left out: calendars must use the ISO 3166-2 spelling.
    return {c: tuple(s) for c, s in holidays_pkg.list_supported_countries(include_aliases=False).items()}


@functools.cache
def _subdivision_aliases(country: str) -> Mapping[str, str]:
    """Human names of subdivisions (e.g. 'Valenciana') to their codes, for did-you-mean hints."""
    cls = type(holidays_pkg.country_holidays(country))
    return dict(getattr(cls, "subdivisions_aliases", {}) or {})


def split_region(region: str) -> tuple[str, str | None]:
    """``'ES-VC'`` -> ``('ES', 'VC')``; ``'ES'`` -> ``('ES', None)``. No validation."""
    country, _, subdiv = region.partition("-")
    return country, (subdiv or None)


def _suggest(word: str, candidates: Iterable[str]) -> str | None:
    by_lower = {c.lower(): c for c in candidates}
    if word.lower() in by_lower:
        return by_lower[word.lower()]
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None


@functools.cache
def _known_quickly(country: str, subdiv: str | None) -> bool:
    """Whether the package knows the region, asking only that country (listing every
    country imports them all: 0.2 s, too slow for a pre-commit hook)."""
    try:
        cls = type(holidays_pkg.country_holidays(country))
    except (NotImplementedError, KeyError, AttributeError):
        return False
    return subdiv is None or subdiv in (getattr(cls, "subdivisions", ()) or ())


def check_region(region: str) -> None:
    """Raise :class:`TimeValueError` unless the holidays package knows ``region``."""
    if not isinstance(region, str) or not region:
        raise TimeValueError(f"{region!r} is not a region code",
                             "write a country or region code such as ES, ES-VC or MX")
    country, subdiv = split_region(region)
    if _known_quickly(country, subdiv):
        return
    countries = _countries()
    if country not in countries:
        guess = _suggest(country, countries)
        hint = (f"did you mean {guess + (f'-{subdiv}' if subdiv else '')!r}?" if guess
                else "write an ISO 3166 country code such as ES or MX")
        raise TimeValueError(f"unknown country {country!r} in region {region!r}", hint)
    if subdiv is None:
        return
    known = countries[country]
    if not known:
        # Silently falling back to national holidays could move a binding deadline.
        raise TimeValueError(
            f"the holidays package knows no regions of {country}, so {region!r} cannot be used",
            f"use {country!r} and list the regional holidays as local holidays in the calendar",
        )
    if subdiv in known:
        return
    aliases = _subdivision_aliases(country)
    guess = _suggest(subdiv, known)
    alias = _suggest(subdiv, aliases)
    if guess is None and alias is not None:
        guess = aliases[alias]
    hint = (f"did you mean '{country}-{guess}'?" if guess
            else f"known regions of {country}: " + ", ".join(f"{country}-{s}" for s in known))
    raise TimeValueError(f"unknown region {region!r}", hint)


@functools.lru_cache(maxsize=None)
def _region_holidays(region: str, year: int) -> Mapping[dt.date, str]:
    """National plus regional holidays for one (region, year), computed once per process.

    Names come in the country's own language (``Lunes de Pascua``), because they end up
    in messages for Spanish-speaking editors.
    """
    country, subdiv = split_region(region)
    cls = type(holidays_pkg.country_holidays(country))
    language = getattr(cls, "default_language", None)
    table = holidays_pkg.country_holidays(country, subdiv=subdiv, years=year, language=language)
    return types.MappingProxyType(dict(table.items()))


@dataclasses.dataclass(frozen=True)
class HolidayCalendar:
    """The non-business days of one administration: a region plus its local holidays.

    Hashable, so functions taking it can be memoised. Holidays for any year are looked up
    lazily (and cached per region and year), because a period may run into the next year.
    """

    region: str
    local: tuple[tuple[dt.date, str], ...] = ()
    _local_index: Mapping[dt.date, str] = dataclasses.field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict)

    def __post_init__(self) -> None:
        index: dict[dt.date, str] = {}
        for day, name in self.local:
            index[day] = f"{index[day]}; {name}" if day in index else name
        object.__setattr__(self, "_local_index", types.MappingProxyType(index))

    def holiday_name(self, day: dt.date) -> str | None:
        """The holiday's name(s) on ``day`` (regional and local joined by '; '), else None."""
        names = [n for n in (_region_holidays(self.region, day.year).get(day),
                             self._local_index.get(day)) if n]
        return "; ".join(names) if names else None

    def is_business_day(self, day: dt.date) -> bool:
        """Monday to Friday and not a national, regional or local holiday (art. 30.2)."""
        # Hot path (tens of thousands of deadlines per lint run): plain lookups, no strings.
        return (day.weekday() < 5 and day not in self._local_index
                and day not in _region_holidays(self.region, day.year))

    def next_business_day(self, day: dt.date) -> dt.date:
        """``day`` itself if it is a business day, else the first one after it."""
        while not self.is_business_day(day):
            day += dt.timedelta(days=1)
        return day

    def why_not_business_day(self, day: dt.date) -> str | None:
        """A short reason for messages, e.g. '2027-03-29 is a holiday: Lunes de Pascua'."""
        name = self.holiday_name(day)
        weekday = day.weekday()
        if weekday >= 5 and name:
            return f"{day.isoformat()} is a {_WEEKDAYS[weekday]} and a holiday: {name}"
        if weekday >= 5:
            return f"{day.isoformat()} is a {_WEEKDAYS[weekday]}"
        if name:
            return f"{day.isoformat()} is a holiday: {name}"
        return None


def holiday_calendar(region: str, local: Iterable[tuple[dt.date, str]] = (),
                     years: Iterable[int] = ()) -> HolidayCalendar:
    """Validate ``region`` and build its calendar; ``years`` are pre-computed (others load lazily)."""
    check_region(region)
    local_list = list(local)
    for day, _ in local_list:
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            raise TimeValueError(f"local holiday {day!r} is not a date",
                                 "write local holidays as YYYY-MM-DD")
    local_days = tuple(sorted((day, str(name)) for day, name in local_list))
    for year in years:
        _region_holidays(region, year)
    return HolidayCalendar(region, local_days)
