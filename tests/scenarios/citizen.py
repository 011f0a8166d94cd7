"""What a citizen reading a network would be misled by, checked from the outside.

These checks know nothing of the engine: they read what the twins show (posts, the replies
under them, events in a subscriber's agenda) and the history of each fact (every value it has
had, the current one last), and say in words what is false or missing:

* a post that states an earlier value of a fact, with no correction directly under it (or in
  itself, for an edit) that gives the current value in full: weekday, date and, for a time of
  day, the time;
* a weekday written next to a date it does not fall on ("viernes 23 de diciembre de 2026");
* an event whose title, place or description still holds a template (``{{ plazo }}``) or an
  earlier value.

Written independently of ``worker.corrections``: only the calendar's date writer
(``localize``) is shared, because a citizen reads dates the way the calendar writes them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Iterable, Mapping, Sequence, Union

from babel.dates import get_day_names

from tests.twins.base import SeenPost
from worker.calendar import localize

Value = Union[dt.date, dt.datetime]


@dataclasses.dataclass(frozen=True)
class Fact:
    """A fact as citizens have been told it over the story: its values, oldest first."""

    name: str
    values: tuple[Value, ...]

    @property
    def current(self) -> Value:
        return self.values[-1]

    @property
    def earlier(self) -> tuple[Value, ...]:
        return tuple(v for v in self.values[:-1] if v != self.current)


def _day(value: Value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _date_forms(value: Value, lang: str) -> list[str]:
    day = _day(value)
    return sorted({localize.format_date(day, lang, style) for style in ("long", "day_month")},
                  key=len, reverse=True)


def _found(text: str, written: str) -> list[re.Match]:
    return list(re.finditer(r"(?<!\w)" + re.escape(written) + r"(?!\w)", text, re.IGNORECASE))


def states(text: str, value: Value, lang: str) -> bool:
    """Whether ``text`` writes ``value`` (its day and month at least) in ``lang``."""
    return any(_found(text, form) for form in _date_forms(value, lang))


def states_in_full(text: str, value: Value, lang: str) -> bool:
    """Whether ``text`` gives ``value`` with its weekday right beside the date (and its time,
    for a time of day): what a reader needs to act on a correction without doing sums."""
    weekday = localize.format_date(_day(value), lang, "weekday")
    for form in _date_forms(value, lang):
        for match in _found(text, form):
            around = text[max(0, match.start() - 20):match.end() + 20].lower()
            if weekday.lower() not in around:
                continue
            if isinstance(value, dt.datetime):
                clock = localize.format_time(value, lang)
                if clock not in text[match.end():match.end() + 40]:
                    continue
            return True
    return False


_WEEKDAY_CACHE: dict[str, list[str]] = {}


def _weekdays(lang: str) -> list[str]:
    if lang not in _WEEKDAY_CACHE:
        names = get_day_names("wide", locale=localize.babel_locale(lang))
        _WEEKDAY_CACHE[lang] = [names[i] for i in range(7)]
    return _WEEKDAY_CACHE[lang]


#: what may stand between a weekday and its date in the texts we write and read
_GLUE = re.compile(r"^[\s,]*(?:(?:el|día|dia|the|on)\s+)?$", re.IGNORECASE)


def misleading_weekdays(text: str, dates: Iterable[Value], lang: str) -> list[str]:
    """Phrases of ``text`` that put a weekday beside a date it does not fall on."""
    problems = []
    names = _weekdays(lang)
    seen: set[int] = set()  # "23 de diciembre de 2026" and "23 de diciembre" start alike
    for value in set(map(_day, dates)):
        right = localize.format_date(value, lang, "weekday").lower()
        for form in _date_forms(value, lang):
            for match in _found(text, form):
                if match.start() in seen:
                    continue
                seen.add(match.start())
                before = text[max(0, match.start() - 16):match.start()]
                after = text[match.end():match.end() + 16]
                for name in names:
                    lowered = name.lower()
                    if lowered == right:
                        continue
                    at = before.lower().rfind(lowered)
                    if at >= 0 and _GLUE.match(before[at + len(name):]):
                        problems.append(f"«{name}{before[at + len(name):]}{match.group(0)}»: "
                                        f"{value.isoformat()} is a {right}")
                    if after.lower().lstrip(", ").startswith(lowered):
                        problems.append(f"«{match.group(0)}{after[:after.lower().find(lowered) + len(name)]}»:"
                                        f" {value.isoformat()} is a {right}")
    return problems


def post_problems(post: SeenPost, languages: Sequence[str], facts: Iterable[Fact]) -> list[str]:
    """What a citizen reading ``post`` (and the replies under it) would be misled by."""
    problems = []
    facts = list(facts)
    thread = "\n".join(post.thread())
    dates = [v for f in facts for v in f.values]
    for lang in languages:
        for problem in misleading_weekdays(thread, dates, lang):
            problems.append(f"post {post.post_id} [{lang}]: {problem}")
        for fact in facts:
            stale = [v for v in fact.earlier if states(post.text, v, lang)]
            if not stale:
                continue
            if not states_in_full(thread, fact.current, lang):
                problems.append(f"post {post.post_id} [{lang}] says {fact.name} is "
                                f"{_day(stale[0]).isoformat()} and nothing under it gives "
                                f"{fact.current.isoformat()} in full: {post.text[:120]!r}")
    if "{{" in thread or "}}" in thread:
        problems.append(f"post {post.post_id}: a raw template is visible: {thread[:160]!r}")
    return problems


def view_problems(view: Mapping[str, Sequence[SeenPost]], languages: Mapping[str, Sequence[str]],
                  facts: Iterable[Fact]) -> list[str]:
    """Every problem of every visible post of every account (``view``: account -> posts)."""
    facts = list(facts)
    return [f"{account}: {problem}" for account, posts in sorted(view.items())
            for post in posts for problem in post_problems(post, languages[account], facts)]


def event_problems(events, languages: Sequence[str], facts: Iterable[Fact]) -> list[str]:
    """Events in a subscriber's agenda whose texts mislead (an earlier value, a template)."""
    facts = list(facts)
    problems = []
    for event in events:
        text = event.text
        if "{{" in text or "}}" in text:
            problems.append(f"event {event.uid}: a raw template: {text[:160]!r}")
        for lang in languages:
            for fact in facts:
                if any(states(text, v, lang) for v in fact.earlier):
                    problems.append(f"event {event.uid} [{lang}] still says an earlier "
                                    f"{fact.name}: {text[:160]!r}")
    return problems
