"""The typed calendar, built from a validated document. Positions stay reachable through
``path`` tuples so that every later check can point at the file."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal, Mapping

FactKind = Literal["date", "datetime", "time", "text"]


@dataclasses.dataclass(frozen=True)
class Fact:
    """A resolved fact. ``value`` is a date, an aware datetime, a time or texts per language."""

    name: str
    kind: FactKind
    value: Any
    path: tuple
    label: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: facts this one is derived from (transitively), for the correction path
    derived_from: tuple[str, ...] = ()
    #: a human explanation of a derived deadline ("20 business days from ...")
    explanation: str = ""

    def display(self) -> str:
        """A canonical, language-neutral text of the value (stored in job dependencies)."""
        if self.kind == "text":
            return " | ".join(f"{k}={v}" for k, v in sorted(dict(self.value).items()))
        if isinstance(self.value, dt.datetime):
            return self.value.strftime("%Y-%m-%d %H:%M")
        return self.value.isoformat()


@dataclasses.dataclass(frozen=True)
class Period:
    name: str
    opens: str
    closes: str
    label: Mapping[str, str]
    path: tuple


@dataclasses.dataclass(frozen=True)
class ImageSpec:
    file: str | None
    url: str | None
    alt: Mapping[str, str]
    path: tuple


@dataclasses.dataclass(frozen=True)
class EventSpec:
    start: str
    end: str | None
    title: Mapping[str, str]
    place: Mapping[str, str]
    stream: str | None
    description: Mapping[str, str]
    path: tuple


@dataclasses.dataclass(frozen=True)
class Override:
    text: Mapping[str, str] | None
    link: str | None
    images: tuple[ImageSpec, ...] | None


@dataclasses.dataclass(frozen=True)
class Entry:
    id: str
    kind: str
    category: str
    period: str | None
    role: str | None
    at: Any  # the raw `at` value: a local datetime text or a relative mapping
    accounts: tuple[str, ...]
    text: Mapping[str, str]
    link: str | None
    images: tuple[ImageSpec, ...]
    check_url: str | None
    check_contains: str | None
    event: EventSpec | None
    overrides: Mapping[str, Override]
    archived: bool
    path: tuple  # ("entries", index)
    #: a text too long for a platform that threads goes out as a thread there
    thread: bool = False


@dataclasses.dataclass(frozen=True)
class Calendar:
    id: str
    title: Mapping[str, str]
    department: str
    timezone: str
    languages: tuple[str, ...]
    region: str | None
    local_holidays: tuple[tuple[dt.date, str], ...]
    sources: tuple[str, ...]
    hashtags: tuple[str, ...]
    facts: Mapping[str, Fact]
    periods: Mapping[str, Period]
    entries: tuple[Entry, ...]
    notices: Mapping[str, Mapping[str, str]]
    path: str

    @property
    def primary_language(self) -> str:
        return self.languages[0]
