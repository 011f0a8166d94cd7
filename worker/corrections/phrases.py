"""Find the whole date phrases a published text wrote, so a correction quotes what citizens read.

A post rendered from ``"el {{ sesion | weekday }} {{ sesion | long }} a las {{ hora }}"`` says
"el viernes 18 de diciembre de 2026 a las 10:00". When ``sesion`` moves to the 23rd, quoting
only «18 de diciembre de 2026» → «23 de diciembre de 2026» leaves "viernes" standing: the
reader composes "viernes 23", a Wednesday. So a correction quotes the *phrase*: every written
form of every date, datetime or time the post depends on, merged with its neighbours when only
a connector stands between them ("viernes" + " " + "18 de diciembre de 2026" + " a las " +
"10:00"), and it gives the new phrase in full, weekday and time included.

Pure: texts and values in, spans and strings out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Iterable, Mapping, Union

from worker.calendar import localize

Value = Union[dt.date, dt.datetime, dt.time]

#: date styles a template can write (localize.DATE_STYLES), longest first
_DATE_STYLES = ("full", "long", "day_month", "short", "iso", "weekday")
#: styles that do not state the weekday: a new value written this way is completed
_WITHOUT_WEEKDAY = frozenset({"long", "day_month", "short", "iso"})
#: what may stand between two parts of one phrase: spaces, a comma, a dash, or the small
#: words templates put between a weekday, a date and a time, in our languages
_CONNECTOR = re.compile(
    r"[\s,–—-]*(?:(?:a\s+las?|a\s+les|ás?|at|on|the|el|día|dia|de|del|d’|d'|from|h|horas?|"
    r"hores|ordu(?:etan)?)[\s,–—-]*)*", re.IGNORECASE)
#: a connector longer than this is a sentence between two dates, not one phrase
_MAX_GAP = 14


@dataclasses.dataclass(frozen=True)
class Written:
    """One value written in a text: where, which fact, and in which form."""

    start: int
    end: int
    fact: str
    #: a date style, "datetime" (date and time), "time", or "time_phrase" ("a las 10:00")
    form: str


@dataclasses.dataclass(frozen=True)
class Phrase:
    """Adjacent written values read as one phrase: "viernes 18 de diciembre de 2026 a las 10:00"."""

    start: int
    end: int
    parts: tuple[Written, ...]

    @property
    def facts(self) -> frozenset[str]:
        return frozenset(p.fact for p in self.parts)

    def text(self, source: str) -> str:
        return source[self.start:self.end]


def parse_value(value: str) -> Value | None:
    """A fact's stored display ("2027-04-09", "2027-04-09 10:00", "10:00:00") as a value; None
    for text facts."""
    try:
        if " " in value:
            return dt.datetime.strptime(value, "%Y-%m-%d %H:%M")
        if ":" in value:
            return dt.time.fromisoformat(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def written_forms(value: Value, lang: str) -> list[tuple[str, str]]:
    """Every (form, text) a template can produce for ``value`` in ``lang``, longest first."""
    forms: list[tuple[str, str]] = []
    if isinstance(value, dt.datetime):
        forms.append(("datetime", localize.format_datetime(value, lang, "full")))
        forms.extend((style, localize.format_datetime(value, lang, style))
                     for style in ("long", "day_month"))
    if isinstance(value, dt.time) or isinstance(value, dt.datetime):
        forms.append(("time_phrase", localize.time_phrase(value, lang)))
        forms.append(("time", localize.format_time(value, lang)))
    if isinstance(value, dt.date):
        day = value.date() if isinstance(value, dt.datetime) else value
        forms.extend((style, localize.format_date(day, lang, style)) for style in _DATE_STYLES)
    unique = {text: form for form, text in reversed(forms) if text}
    return sorted(((form, text) for text, form in unique.items()),
                  key=lambda item: -len(item[1]))


def find_written(text: str, values: Mapping[str, Value], lang: str) -> list[Written]:
    """Where ``text`` writes each value, as whole words, the longest form winning where
    forms overlap ("miércoles, 14 de abril de 2027" over "14 de abril de 2027")."""
    candidates = []
    for fact, value in values.items():
        for form, written in written_forms(value, lang):
            pattern = re.compile(r"(?<!\w)" + re.escape(written) + r"(?!\w)", re.IGNORECASE)
            candidates.extend((m.start(), m.end(), fact, form) for m in pattern.finditer(text))
    candidates.sort(key=lambda c: (-(c[1] - c[0]), c[0]))
    taken: list[Written] = []
    for start, end, fact, form in candidates:
        if all(end <= w.start or start >= w.end for w in taken):
            taken.append(Written(start, end, fact, form))
    return sorted(taken, key=lambda w: w.start)


def phrases(text: str, values: Mapping[str, Value], lang: str) -> list[Phrase]:
    """The written values of ``text`` merged into phrases, in reading order."""
    out: list[Phrase] = []
    for written in find_written(text, values, lang):
        if out:
            gap = text[out[-1].end:written.start]
            if len(gap) <= _MAX_GAP and _CONNECTOR.fullmatch(gap):
                last = out[-1]
                out[-1] = Phrase(last.start, written.end, last.parts + (written,))
                continue
        out.append(Phrase(written.start, written.end, (written,)))
    return out


def complete(text: str, phrase: Phrase, values: Mapping[str, Value], lang: str) -> str:
    """The phrase as a correction gives it: as the new text wrote it, with every date that was
    written without its weekday (or a datetime without its time) in its full form instead,
    so the reader never has to combine the new date with an old weekday."""
    has_weekday = any(p.form in ("full", "weekday", "datetime") for p in phrase.parts)
    has_time = any(p.form in ("time", "time_phrase", "datetime") for p in phrase.parts)
    pieces: list[str] = []
    position = phrase.start
    for part in phrase.parts:
        pieces.append(text[position:part.start])
        value = values[part.fact]
        written = text[part.start:part.end]
        if part.form in _WITHOUT_WEEKDAY and not has_weekday:
            if isinstance(value, dt.datetime) and not has_time:
                written = localize.format_datetime(value, lang, "full")
            else:
                day = value.date() if isinstance(value, dt.datetime) else value
                written = localize.format_date(day, lang, "full")
            has_weekday = True
        pieces.append(written)
        position = part.end
    pieces.append(text[position:phrase.end])
    return "".join(pieces)


def changed_phrases(old_text: str, old_values: Mapping[str, Value], new_text: str,
                    new_values: Mapping[str, Value], lang: str,
                    changed: Iterable[str]) -> list[tuple[str, str, frozenset[str]]] | None:
    """(old phrase, new phrase in full, facts) for each phrase that states a changed fact and
    now reads differently. None when the two texts do not have the same phrases in the same
    order (the text itself was rewritten): the caller falls back to single values."""
    changed = set(changed)
    before = phrases(old_text, old_values, lang)
    after = phrases(new_text, new_values, lang)
    if len(before) != len(after) or any(a.facts != b.facts for a, b in zip(before, after)):
        return None
    out = []
    for old, new in zip(before, after):
        if not (old.facts & changed):
            continue
        said, says = old.text(old_text), complete(new_text, new, new_values, lang)
        if said != says:
            out.append((said, says, old.facts))
    return out
