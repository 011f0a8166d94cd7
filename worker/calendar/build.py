"""Turn a structurally valid document into a typed ``Calendar``, resolving every fact.

Problems found here (unknown zone, impossible date, unknown fact, a cycle between facts) become
findings; the calendar is still returned when possible so later checks can report more.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from typing import Any, Mapping

from worker.calendar import localize, timeparse
from worker.calendar.deadlines import add_period
from worker.calendar.findings import Finding, did_you_mean
from worker.calendar.holiday_calendar import HolidayCalendar, check_region, holiday_calendar
from worker.calendar.model import Calendar, Entry, EventSpec, Fact, ImageSpec, Override, Period
from worker.calendar.schema import PERIOD_UNITS
from worker.calendar.source import Document

_VALUE_KEYS = ("date", "datetime", "time", "value", "from")


def lang_map(value: Any, languages: tuple[str, ...], *, everywhere: bool) -> dict[str, str]:
    """Normalize a text-or-mapping. A plain text belongs to every language when ``everywhere``
    (values such as '3.000 €'), else only to the primary language (posts must be translated)."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    text = str(value)
    return {lang: text for lang in languages} if everywhere else {languages[0]: text}


#: checks that return nothing and raise on a bad value: ``_check`` answers True or False
_CHECKS_ONLY = (timeparse.check_timezone, check_region, localize.check_language)


class Builder:
    """Builds one calendar; collects findings on the way."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.findings: list[Finding] = []

    def error(self, path: tuple, message: str, code: str, hint: str = "") -> None:
        self.findings.append(self.doc.finding(path, "error", message, code, hint))

    # -- header ----------------------------------------------------------------------------
    def build(self) -> Calendar | None:
        data = self.doc.data
        head = data["calendar"]
        languages = tuple(head["languages"])
        known = [self._check(("calendar", "languages", i), localize.check_language, str(lang),
                             "unsupported-language") is not False for i, lang in enumerate(languages)]
        if not all(known):
            return None  # every text is rendered and checked per language: fix this first
        tz = str(head["timezone"])
        tz_ok = self._check(("calendar", "timezone"), timeparse.check_timezone, tz, "unknown-timezone")
        holidays_spec = head.get("holidays") or {}
        region = holidays_spec.get("region")
        if region is not None:
            self._check(("calendar", "holidays", "region"), check_region, str(region),
                        "unknown-region")
        local = []
        for i, item in enumerate(holidays_spec.get("local") or []):
            raw, name = (item["date"], item.get("name", "local holiday")) if isinstance(item, dict) \
                else (item, "local holiday")
            path = ("calendar", "holidays", "local", i) + (("date",) if isinstance(item, dict) else ())
            day = self._check(path, timeparse.parse_date, str(raw), "impossible-date")
            if day is not None:
                local.append((day, str(name)))
        cal = Calendar(
            id=str(head["id"]), title=lang_map(head["title"], languages, everywhere=True),
            department=str(head["department"]), timezone=tz if tz_ok is not False else "UTC",
            languages=languages, region=str(region) if region else None,
            local_holidays=tuple(local), sources=tuple(head["sources"]),
            hashtags=tuple(head.get("hashtags") or ()), facts={}, periods={}, entries=(),
            notices={k: lang_map(v, languages, everywhere=False)
                     for k, v in (data.get("notices") or {}).items()},
            path=self.doc.path)
        self.holidays = self._holidays(cal)
        facts = self._resolve_facts(cal, data.get("facts") or {})
        periods = self._periods(data.get("periods") or {}, facts)
        entries = tuple(self._entry(raw, i, languages) for i, raw in enumerate(data["entries"]))
        return _replace(cal, facts=facts, periods=periods, entries=entries)

    def _check(self, path, fn, value, code):
        try:
            result = fn(value)
            return True if result is None and fn in _CHECKS_ONLY else result
        except (timeparse.TimeValueError, ValueError) as exc:
            self.error(path, getattr(exc, "message", str(exc)), code, getattr(exc, "hint", ""))
            return False if fn in _CHECKS_ONLY else None

    def _holidays(self, cal: Calendar) -> HolidayCalendar | None:
        return calendar_holidays(cal)

    # -- facts -----------------------------------------------------------------------------
    def _resolve_facts(self, cal: Calendar, raw_facts: Mapping[str, Any]) -> dict[str, Fact]:
        resolver = _FactResolver(self, cal, raw_facts)
        for name in raw_facts:
            resolver.resolve(name)
        return resolver.resolved

    def _fact(self, cal, name, raw, resolve, raw_facts) -> Fact | None:
        path = ("facts", name)
        if isinstance(raw, str):
            raw = {"date": raw}
            value_path = path
        else:
            value_path = None
        label = lang_map(raw.get("label"), cal.languages, everywhere=True)
        present = [k for k in _VALUE_KEYS if k in raw]
        if len(present) != 1:
            self.error(path, f"fact '{name}' must have exactly one of date, datetime, time, value "
                       f"or from (it has {', '.join(present) or 'none'})", "fact-shape",
                       "e.g. plazo_fin: {from: plazo_inicio, business_days: 20}")
            return None
        key = present[0]
        vpath = value_path or path + (key,)
        try:
            if key == "date":
                return Fact(name, "date", timeparse.parse_date(str(raw[key])), vpath, label)
            if key == "datetime":
                naive = timeparse.parse_local_datetime(str(raw[key]))
                return Fact(name, "datetime", timeparse.localize(naive, cal.timezone), vpath, label)
            if key == "time":
                return Fact(name, "time", timeparse.parse_time(str(raw[key])), vpath, label)
            if key == "value":
                return Fact(name, "text", lang_map(raw[key], cal.languages, everywhere=True),
                            vpath, label)
        except timeparse.TimeValueError as exc:
            self.error(vpath, exc.message, _code_for(exc), exc.hint)
            return None
        return self._derived(cal, name, raw, resolve, raw_facts, path, label)

    def _derived(self, cal, name, raw, resolve, raw_facts, path, label) -> Fact | None:
        base_name = str(raw["from"])
        units = {u: raw[u] for u in PERIOD_UNITS if u in raw}
        if len(units) != 1:
            self.error(path, f"fact '{name}' counts from '{base_name}' and needs exactly one of "
                       + ", ".join(PERIOD_UNITS), "fact-shape",
                       "e.g. business_days: 20 (Ley 39/2015 art. 30 rules apply)")
            return None
        if base_name not in raw_facts:
            self.error(path + ("from",), f"unknown fact '{base_name}'"
                       + did_you_mean(base_name, raw_facts), "unknown-fact",
                       "define it under facts: or fix the name")
            return None
        base = resolve(base_name)
        if base is None:
            return None
        if base.kind not in ("date", "datetime"):
            self.error(path + ("from",), f"'{base_name}' is a {base.kind}, a period must count "
                       "from a date", "fact-kind")
            return None
        if self.holidays is None:
            return None
        start = base.value.date() if base.kind == "datetime" else base.value
        unit, amount = next(iter(units.items()))
        result = add_period(start, holidays=self.holidays, **{unit: amount})
        return Fact(name, "date", result.last_day, path, label,
                    derived_from=(base_name,) + base.derived_from,
                    explanation=result.explanation)

    def _periods(self, raw, facts) -> dict[str, Period]:
        out = {}
        for name, spec in raw.items():
            for end in ("opens", "closes"):
                if spec[end] not in facts:
                    self.error(("periods", name, end), f"unknown fact '{spec[end]}'"
                               + did_you_mean(spec[end], facts), "unknown-fact")
                elif facts[spec[end]].kind not in ("date", "datetime"):
                    self.error(("periods", name, end), f"'{spec[end]}' is a "
                               f"{facts[spec[end]].kind}; a period {end} on a date or datetime",
                               "fact-kind", "name a fact with date: or datetime:")
            out[name] = Period(name, spec["opens"], spec["closes"],
                               lang_map(spec.get("label"), (), everywhere=False)
                               if isinstance(spec.get("label"), dict) else {}, ("periods", name))
        return out

    # -- entries ---------------------------------------------------------------------------
    def _entry(self, raw: dict, index: int, languages: tuple[str, ...]) -> Entry:
        path = ("entries", index)
        images = tuple(_image(img, path + ("images", i), languages)
                       for i, img in enumerate(raw.get("images") or []))
        overrides = {}
        for target, spec in (raw.get("overrides") or {}).items():
            overrides[target] = Override(
                text=lang_map(spec["text"], languages, everywhere=False) if "text" in spec else None,
                link=spec.get("link"),
                images=tuple(_image(img, path + ("overrides", target, "images", i), languages)
                             for i, img in enumerate(spec["images"])) if "images" in spec else None)
        event = None
        if raw.get("event"):
            ev = raw["event"]
            event = EventSpec(str(ev["start"]), str(ev["end"]) if ev.get("end") else None,
                              lang_map(ev["title"], languages, everywhere=False),
                              lang_map(ev.get("place"), languages, everywhere=True),
                              ev.get("stream"),
                              lang_map(ev.get("description"), languages, everywhere=False),
                              path + ("event",))
        accounts = raw["accounts"] if isinstance(raw["accounts"], list) else [raw["accounts"]]
        kind = raw.get("kind", "post")
        return Entry(
            id=str(raw["id"]), kind=kind,
            category=raw.get("category", "event" if kind == "event" else "institutional"),
            period=raw.get("for"), role=raw.get("role"), at=raw["at"],
            accounts=tuple(str(a) for a in accounts),
            text=lang_map(raw["text"], languages, everywhere=False), link=raw.get("link"),
            images=images, check_url=raw.get("check_url"),
            check_contains=raw.get("check_contains"), event=event, overrides=overrides,
            archived=bool(raw.get("archived", False)), path=path,
            thread=bool(raw.get("thread", False)))


class _FactResolver:
    """Resolves facts in dependency order, reporting circles. An object rather than a
    recursive closure: a closure that calls itself is a reference cycle, which would keep the
    builder and the whole parsed document alive until the cyclic collector ran."""

    def __init__(self, builder: Builder, cal: Calendar, raw_facts: Mapping[str, Any]):
        self.builder, self.cal, self.raw_facts = builder, cal, raw_facts
        self.resolved: dict[str, Fact] = {}
        self.visiting: list[str] = []

    def resolve(self, name: str) -> Fact | None:
        if name in self.resolved:
            return self.resolved[name]
        if name in self.visiting:
            cycle = " -> ".join(self.visiting[self.visiting.index(name):] + [name])
            self.builder.error(("facts", name), f"facts refer to each other in a circle: {cycle}",
                               "fact-cycle", "one of them must be a plain date")
            return None
        self.visiting.append(name)
        try:
            fact = self.builder._fact(self.cal, name, self.raw_facts[name], self.resolve,
                                      self.raw_facts)
        finally:
            self.visiting.pop()
        if fact is not None:
            self.resolved[name] = fact
        return fact


def _image(raw: dict, path: tuple, languages) -> ImageSpec:
    return ImageSpec(raw.get("file"), raw.get("url"),
                     lang_map(raw.get("alt"), languages, everywhere=False), path)


def _code_for(exc: Exception) -> str:
    name = type(exc).__name__
    return {"NonexistentLocalTime": "nonexistent-local-time",
            "AmbiguousLocalTime": "ambiguous-local-time"}.get(name, "impossible-date")


def _replace(obj, **changes):
    return dataclasses.replace(obj, **changes)


#: Years whose holidays are known to deadline arithmetic: calendars plan a few years ahead.
HOLIDAY_YEARS = range(2020, 2041)


def calendar_holidays(cal: Calendar) -> HolidayCalendar | None:
    """The business-day calendar of ``cal`` (None when its region is unknown: reported)."""
    return _holidays_for(cal.region or "ES", cal.local_holidays)


@functools.lru_cache(maxsize=1024)
def _holidays_for(region: str, local: tuple[tuple[dt.date, str], ...]) -> HolidayCalendar | None:
    # cached: building and analysing a calendar both ask, and many calendars share a region
    try:
        return holiday_calendar(region, local, HOLIDAY_YEARS)
    except (timeparse.TimeValueError, ValueError):
        return None


def build_calendar(doc: Document) -> tuple[Calendar | None, list[Finding]]:
    """Build the typed calendar of a structurally valid document."""
    builder = Builder(doc)
    calendar = builder.build()
    return calendar, builder.findings
