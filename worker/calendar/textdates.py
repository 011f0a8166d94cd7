"""Dates typed by hand in post texts, and what is wrong with them.

Editors write "el lunes 9 de abril de 2027" instead of ``{{ plazo_fin }}``. This module
finds such mentions in es, ca, eu, gl and en -- month and weekday names come from CLDR
(Babel), wide and abbreviated, case-insensitive, accents optional ("miercoles") -- plus
numeric dates (day first, as in Spain and Mexico; month first only for en-US; and
year-first 2027-04-09 / 2027/04/09 everywhere). It reports impossible dates, weekdays
that do not match the date, and dates that repeat or contradict a calendar fact.

One regex per language is compiled once; texts without a digit are skipped at once,
since every date form contains one.
"""

from __future__ import annotations

import calendar
import dataclasses
import functools
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from typing import Literal

import re

from worker.calendar import localize

# English names for messages (``calendar.month_name`` calls strftime on every access
# and follows the process locale).
_MONTHS_EN = (None, "January", "February", "March", "April", "May", "June", "July",
              "August", "September", "October", "November", "December")
_WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

ProblemKind = Literal["impossible-date", "weekday-mismatch", "contradicts-fact", "typed-date"]


@dataclasses.dataclass(frozen=True)
class DateMention:
    """A date written in a text. ``date`` is None when impossible or when the year is
    unknown; ``weekday`` (Monday=0) is the weekday the text states, if any."""

    start: int
    end: int
    text: str
    date: date | None
    weekday: int | None
    problem: str | None


@dataclasses.dataclass(frozen=True)
class TextDateProblem:
    """Something to report about a typed date; the linter chooses the severity by kind."""

    kind: ProblemKind
    start: int
    end: int
    text: str
    message: str
    fact: str | None = None
    hint: str = ""


@functools.lru_cache(maxsize=4096)
def _fold(word: str) -> str:
    """Lowercase without accents or dots: "Miércoles." -> "miercoles"."""
    decomposed = unicodedata.normalize("NFD", word.lower().replace(".", ""))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def _word_pattern(word: str) -> str:
    """A regex for ``word`` where every accented letter may also be typed without accent."""
    out = []
    for char in word:
        base = _fold(char)
        if char == "." or char == " ":
            continue
        if base and base != char.lower():
            out.append(f"(?:{re.escape(char)}|{re.escape(base)}[\u0300-\u036f]?)")
        else:
            out.append(re.escape(char))
    return "".join(out)


def _alternation(names: Mapping[str, int], abbreviated: frozenset[str]) -> str:
    """Longest names first; abbreviations may carry a dot ("abr.", "Sept.")."""
    items = sorted(names, key=len, reverse=True)
    return "|".join(_word_pattern(n) + (r"\.?" if n in abbreviated else "") for n in items)


# Spellings CLDR does not list but writers use.
_EXTRA_MONTHS = {"es": {"setiembre": 9, "sep": 9, "set": 9}, "en": {"sep": 9}, "gl": {"sep": 9}}
_EXTRA_WEEKDAYS = {"en": {"tues": 1, "thur": 3, "thurs": 3, "weds": 2}}


@functools.lru_cache(maxsize=None)
def _names(base: str) -> tuple[dict[str, int], dict[str, int], frozenset[str]]:
    """(month -> 1..12, weekday -> 0..6, abbreviations) for a base language, keyed by
    spelling as written (lowercase, accents kept, no dots); ``_fold`` the keys to look up.

    Basque names are stems ("apiril", "ostiral") since they appear declined:
    "apirilaren", "ostiralean". Catalan months lose their "de "/"d’" ("de gener").
    """
    locale = localize.babel_locale(base)
    months: dict[str, int] = dict(_EXTRA_MONTHS.get(base, {}))
    weekdays: dict[str, int] = dict(_EXTRA_WEEKDAYS.get(base, {}))
    abbreviated = set(months) | set(weekdays)
    widths = ("wide",) if base == "eu" else ("wide", "abbreviated")
    for context in ("format", "stand-alone"):
        for width in widths:
            for table, names in ((months, locale.months), (weekdays, locale.days)):
                for number, name in names[context][width].items():
                    name = name.lower().replace(".", "").replace("’", "'")
                    name = name.removeprefix("de ").removeprefix("d'")
                    name = name[:-1] if base == "eu" else name
                    table[name] = number
                    if width == "abbreviated":
                        abbreviated.add(name)
    return months, weekdays, frozenset(abbreviated)


@functools.lru_cache(maxsize=None)
def _lookup(base: str) -> tuple[dict[str, int], dict[str, int]]:
    """Accent-free keys, to read back what the regex matched ("miercoles" -> 2)."""
    months, weekdays, _ = _names(base)
    return {_fold(k): v for k, v in months.items()}, {_fold(k): v for k, v in weekdays.items()}


def _cores(base: str, wd: str, months: str) -> list[str]:
    """The language's written forms after an optional weekday, as regex alternatives.

    Group names differ per alternative (stdlib ``re``); ``_first`` reads them back.
    """
    year = r"(?P<y>\d{4})(?!\d)"
    if base == "eu":
        return [
            rf"(?:{year}(?:\(e\))?(?:e?ko)?\s+)?(?P<mon>{months})(?:aren|ak)\s+"
            r"(?P<d>\d{1,2})(?!\d)(?:\(a\)|[a-z]{0,5})(?!\w)"
            rf"(?:,?\s+(?P<wd_b>{wd})(?:arekin|ean|an|a)(?!\w))?"
        ]
    if base == "en":
        ordinal = r"(?:st|nd|rd|th)?(?!\w)"
        return [
            rf"(?P<d>\d{{1,2}}){ordinal}\s+(?:of\s+)?(?P<mon>{months})(?!\w)(?:,?\s+{year})?",
            rf"(?P<mon_b>{months})\s+(?P<d_b>\d{{1,2}}){ordinal}(?:,?\s+(?P<y_b>\d{{4}})(?!\d))?",
        ]
    of = r"(?:de\s+|d['’]\s?)" if base == "ca" else r"de\s+"
    year_of = r"(?:del?|d['’]|do)\s?" if base in ("ca", "gl") else r"del?\s+"
    return [rf"(?P<d>\d{{1,2}})(?!\d)(?:\.?[º°])?\s+{of}(?P<mon>{months})(?!\w)(?:,?\s+{year_of}{year})?"]


@functools.lru_cache(maxsize=None)
def _compiled(base: str, month_first: bool) -> re.Pattern[str]:
    """One regex per language: [weekday] then a written, year-first or numeric date."""
    months, weekdays, abbreviated = _names(base)
    wd = _alternation(weekdays, abbreviated)
    if base == "eu":
        prefix = rf"(?:(?P<wd>{wd})(?:ean|an|a),?\s+)?"
    else:
        prefix = rf"(?:(?P<wd>{wd}),?\s+(?:(?:el|the|d[ií]a)\s+)?)?"
    first, second = ("m_n", "d_n") if month_first else ("d_n", "m_n")
    cores = _cores(base, wd, _alternation(months, abbreviated)) + [
        r"(?P<y_i>\d{4})(?P<s_i>[/-])(?P<m_i>\d{1,2})(?P=s_i)(?P<d_i>\d{1,2})(?![\d/])",
        rf"(?P<{first}>\d{{1,2}})(?P<s_n>[/.-])(?P<{second}>\d{{1,2}})(?P=s_n)(?P<y_n>\d{{4}})(?!\d|[/-]\d)",
    ]
    # Cheap guards first: a match starts at a word start, with a digit or with the first
    # letter of a name; most positions of a text fail here without trying alternatives.
    initials = {_fold(n)[0] for n in weekdays} | ({_fold(n)[0] for n in months} if base in ("en", "eu") else set())
    lead = rf"(?<![\w/:.-])(?=[0-9{''.join(sorted(initials))}])"
    return re.compile(lead + prefix + "(?:" + "|".join(cores) + ")", re.IGNORECASE)


_DIGIT = re.compile(r"\d")


@functools.lru_cache(maxsize=None)
def _language(lang: str) -> tuple[str, bool]:
    """(base language, whether numeric dates are month-first) -- only en-US is."""
    return localize.base_language(lang), localize.normalize_language(lang) == "en-US"


def _first(groups: Mapping[str, str | None], *names: str) -> str | None:
    """The value of whichever of the alternative groups took part in the match."""
    for name in names:
        value = groups.get(name)
        if value:
            return value
    return None


def find_date_mentions(text: str, lang: str, default_year: int | None) -> list[DateMention]:
    """Every date written in ``text`` (in ``lang``), with what is wrong with it if anything.

    A missing year is taken from ``default_year``; when that is None too, the date is
    checked only for an impossible day ("31 de abril") and its ``date`` is None.
    """
    base, month_first = _language(lang)
    if not _DIGIT.search(text):  # every date form has a digit
        return []
    months, weekdays = _lookup(base)
    mentions = []
    for match in _compiled(base, month_first).finditer(text):
        g = match.groupdict()
        number = _first(g, "m_i", "m_n")
        month = int(number) if number else months[_fold(_first(g, "mon", "mon_b")).replace("’", "'")]
        year_text = _first(g, "y", "y_b", "y_i", "y_n")
        year = int(year_text) if year_text else default_year
        typed = _first(g, "wd", "wd_b")
        weekday = weekdays.get(_fold(typed)) if typed else None
        day = int(_first(g, "d", "d_b", "d_i", "d_n"))
        found, problem = _check(day, month, year, weekday, base)
        mentions.append(DateMention(match.start(), match.end(), match.group(), found, weekday, problem))
    return mentions


def _english(d: date) -> str:
    return localize.format_date(d, "en", "long")


def _check(day: int, month: int, year: int | None, weekday: int | None, base: str) -> tuple[date | None, str | None]:
    """(the date, or None) and the problem with it in English, or None."""
    if not 1 <= month <= 12:
        return None, f"there is no month {month}"
    name = _MONTHS_EN[month]
    if year is None:
        longest = 29 if month == 2 else calendar.monthrange(2000, month)[1]
        if not 1 <= day <= longest:
            return None, f"{name} has {'at most 29' if month == 2 else longest} days"
        return None, None
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        return None, f"{name}{f' {year}' if month == 2 else ''} has {days} days"
    found = date(year, month, day)
    if weekday is not None and weekday != found.weekday():
        local = "" if base == "en" else f" ({localize.format_date(found, base, 'weekday')})"
        return found, (
            f"{_english(found)} is a {_WEEKDAYS_EN[found.weekday()]}, "
            f"not a {_WEEKDAYS_EN[weekday]}{local}"
        )
    return found, None


def check_text_dates(
    text: str, lang: str, facts_dates: Mapping[str, date], default_year: int | None,
) -> list[TextDateProblem]:
    """Problems with the dates typed in ``text``, in text order.

    Kinds: ``impossible-date``; ``weekday-mismatch``; ``typed-date`` (the date of a fact
    typed by hand: it will not follow the fact if the fact changes); ``contradicts-fact``
    (a date that is no fact's but looks like a typo of one: same month and at most 10
    days away, the same day in an adjacent month, or the same day and month one year off).
    """
    facts = {name: (d.date() if isinstance(d, datetime) else d) for name, d in facts_dates.items()}
    problems: list[TextDateProblem] = []
    for m in find_date_mentions(text, lang, default_year):
        where = (m.start, m.end, m.text)
        if m.problem and m.date is None:
            problems.append(TextDateProblem("impossible-date", *where, m.problem))
            continue
        if m.problem:
            problems.append(TextDateProblem("weekday-mismatch", *where, m.problem))
        if m.date is None:
            continue
        same = [name for name, d in facts.items() if d == m.date]
        if same:
            problems.append(TextDateProblem(
                "typed-date", *where,
                f"the text types {_english(m.date)} by hand; it is the date of fact '{same[0]}'",
                same[0], f"write {{{{ {same[0]} }}}} so the text follows the fact if it changes",
            ))
            continue
        near = _nearest_lookalike(m.date, facts)
        if near is not None:
            problems.append(TextDateProblem(
                "contradicts-fact", *where,
                f"the text says {_english(m.date)} but fact '{near}' is {_english(facts[near])}; "
                f"write {{{{ {near} }}}} instead of typing the date",
                near, f"write {{{{ {near} }}}}",
            ))
    return problems


def _looks_like(typed: date, fact: date) -> bool:
    months_apart = abs((typed.year * 12 + typed.month) - (fact.year * 12 + fact.month))
    if months_apart == 0:
        return abs(typed.day - fact.day) <= 10
    if typed.day == fact.day:
        return months_apart == 1 or (typed.month == fact.month and abs(typed.year - fact.year) == 1)
    return False


def _nearest_lookalike(typed: date, facts: Mapping[str, date]) -> str | None:
    candidates = [name for name, d in facts.items() if d != typed and _looks_like(typed, d)]
    return min(candidates, key=lambda n: abs((facts[n] - typed).days), default=None)
