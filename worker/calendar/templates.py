"""Post texts that refer to calendar facts: ``"El plazo termina el {{ plazo_fin }}."``.

The language is deliberately tiny -- ``{{ NAME }}`` or ``{{ NAME | FORMAT }}`` -- so it is
sandboxed by construction: there is no expression language, attribute access, call or
I/O to escape through, and no Jinja. Everything else between ``{{`` and ``}}`` (and any
``{%``/``{#`` block) is a TemplateError with the character offset of the problem, so the
linter can point at line:col. ``{{`` and ``}}`` are reserved: a text cannot contain them
literally. Parsing is a single left-to-right scan plus linear regexes on each
placeholder, and texts longer than MAX_TEMPLATE_LENGTH are refused, so hostile input
costs linear time at worst.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from typing import Literal, NamedTuple, Union

from worker.calendar import localize

FactKind = Literal["date", "datetime", "time", "text"]
FACT_KINDS: tuple[str, ...] = ("date", "datetime", "time", "text")

#: Formats a placeholder may ask for.
FORMATS: tuple[str, ...] = (
    "full", "long", "day_month", "weekday", "short", "iso", "time", "datetime",
)
_DATE_FORMATS = frozenset(localize.DATE_STYLES)

#: Which formats make sense for which kind of fact (None = no format written).
ALLOWED_FORMATS: dict[str, frozenset[str | None]] = {
    "date": frozenset({None, *_DATE_FORMATS}),
    "datetime": frozenset({None, *_DATE_FORMATS, "time", "datetime"}),
    "time": frozenset({None, "time"}),
    "text": frozenset({None}),
}

#: Longest text accepted; far above any social post, far below anything costly.
MAX_TEMPLATE_LENGTH = 20_000

_NAME = r"[a-z][a-z0-9_]*"
# Linear: each part is a simple class repetition, separated by literal characters.
_PLACEHOLDER = re.compile(rf"\s*({_NAME})\s*(?:\|\s*([A-Za-z_][A-Za-z0-9_]*)\s*)?")


class TemplateError(Exception):
    """A problem in a template text: what, where (character offset) and how to fix it."""

    def __init__(self, message: str, offset: int = 0, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} (at offset {self.offset})" + (f"; {self.hint}" if self.hint else "")

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TemplateError)
            and (self.message, self.offset, self.hint) == (other.message, other.offset, other.hint)
        )

    def __hash__(self) -> int:
        return hash((self.message, self.offset, self.hint))


class Placeholder(NamedTuple):
    """One ``{{ name | format }}``; ``offset`` is where its ``{{`` starts in the text."""

    # a named tuple, not a frozen dataclass: every text of every calendar is parsed, and
    # a tuple is built several times faster
    name: str
    format: str | None
    offset: int
    end: int


@dataclasses.dataclass(frozen=True)
class Template:
    """A parsed text: literal strings and placeholders, in order."""

    source: str
    parts: tuple[Union[str, Placeholder], ...]
    #: the placeholders of ``parts``, in order
    placeholders: tuple[Placeholder, ...] = ()

    @property
    def references(self) -> tuple[str, ...]:
        """The fact names used, in order of first use, without repeats."""
        return tuple(dict.fromkeys(p.name for p in self.placeholders))


@dataclasses.dataclass(frozen=True)
class FactValue:
    """A resolved fact: a date, datetime, time, or a text (one string, or one per language)."""

    kind: FactKind
    value: Union[date, datetime, time, str, Mapping[str, str]]


def _suggest(word: str, candidates: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def parse_template(text: str) -> Template:
    """Parse ``text`` or raise TemplateError; never raises anything else."""
    if not isinstance(text, str):
        raise TemplateError(f"a template must be text, not {type(text).__name__}", 0)
    if len(text) > MAX_TEMPLATE_LENGTH:
        raise TemplateError(
            f"text is {len(text)} characters long; the limit is {MAX_TEMPLATE_LENGTH}",
            MAX_TEMPLATE_LENGTH,
        )
    return _parse_cached(text)


# A whole, well-formed placeholder: what nearly every text holds, read in one regex pass.
_WELL_FORMED = re.compile(r"\{\{" + _PLACEHOLDER.pattern + r"\}\}")


@functools.lru_cache(maxsize=4096)
def _parse_cached(text: str) -> Template:
    # lru_cache does not store exceptions: broken texts are re-parsed, which is fine.
    return _parse_well_formed(text) or _parse_carefully(text)


def _parse_well_formed(text: str) -> Template | None:
    """The template of a text whose braces all belong to well-formed placeholders with known
    formats; None for anything else, which ``_parse_carefully`` accepts or explains."""
    parts: list[Union[str, Placeholder]] = []
    placeholders = []
    pos = 0
    for match in _WELL_FORMED.finditer(text):
        name, fmt = match.group(1, 2)
        if fmt is not None and fmt not in FORMATS:
            return None
        start = match.start()
        if start > pos:
            parts.append(text[pos:start])
        placeholder = Placeholder(name, fmt, start, match.end())
        parts.append(placeholder)
        placeholders.append(placeholder)
        pos = match.end()
    if pos < len(text):
        parts.append(text[pos:])
    if any("{" in part or "}" in part for part in parts if type(part) is str):
        return None  # a stray brace, a block, a broken placeholder: let the careful parser say
    return Template(text, tuple(parts), tuple(placeholders))


def _parse_carefully(text: str) -> Template:
    parts: list[Union[str, Placeholder]] = []
    pos = 0
    for block in ("{%", "{#"):
        at = text.find(block)
        if at >= 0:
            raise TemplateError(
                f"'{block}' blocks are not supported", at,
                "only {{ fact }} and {{ fact | format }} are allowed; there are no loops or conditions",
            )
    while True:
        start = text.find("{{", pos)
        stray = text.find("}}", pos, start if start >= 0 else len(text))
        if stray >= 0:
            raise TemplateError("'}}' without a matching '{{'", stray, "'{{' and '}}' are reserved")
        if start < 0:
            break
        if start > pos:
            parts.append(text[pos:start])
        close = text.find("}}", start + 2)
        reopen = text.find("{{", start + 2, close if close >= 0 else len(text))
        if close < 0 or reopen >= 0:
            raise TemplateError("'{{' is never closed", start, "close it with '}}'")
        parts.append(_parse_placeholder(text, start, close))
        pos = close + 2
    if pos < len(text):
        parts.append(text[pos:])
    return Template(text, tuple(parts), tuple(p for p in parts if type(p) is Placeholder))


def _parse_placeholder(text: str, start: int, close: int) -> Placeholder:
    inner_start = start + 2
    inner = text[inner_start:close]
    match = _PLACEHOLDER.fullmatch(inner)
    if match is None:
        raise _explain(inner, inner_start)
    name, fmt = match.group(1), match.group(2)
    if fmt is not None and fmt not in FORMATS:
        raise TemplateError(
            f"unknown format '{fmt}'{_suggest(fmt, FORMATS)}", inner_start + match.start(2),
            f"formats: {', '.join(FORMATS)}",
        )
    return Placeholder(name, fmt, start, close + 2)


def _explain(inner: str, offset: int) -> TemplateError:
    """The most useful message for a placeholder that is not ``NAME [| FORMAT]``."""
    stripped = inner.strip()
    at = offset + (len(inner) - len(inner.lstrip()))
    usage = "write {{ fact_name }} or {{ fact_name | format }}"
    if not stripped:
        return TemplateError("empty placeholder '{{ }}'", at, usage)
    for char, what in (("(", "calls are"), (".", "attribute access is"), ("[", "indexing is")):
        if char in stripped:
            return TemplateError(f"{what} not allowed in a placeholder", offset + inner.index(char), usage)
    if stripped.count("|") > 1:
        return TemplateError("only one format per placeholder", offset + inner.rindex("|"), usage)
    name = stripped.split("|", 1)[0].strip()
    if name and re.fullmatch(_NAME, name.lower()) and name != name.lower():
        return TemplateError(f"fact names are lowercase: '{name.lower()}', not '{name}'", at, usage)
    return TemplateError(f"not a fact reference: '{stripped[:40]}'", at, usage)


def check_template(template: Template, known_facts: Mapping[str, str]) -> list[TemplateError]:
    """Every unknown fact and every format that does not suit its fact's kind.

    ``known_facts`` maps fact names to their kind ("date", "datetime", "time", "text").
    """
    errors: list[TemplateError] = []
    for ph in template.placeholders:
        kind = known_facts.get(ph.name)
        if kind is None:
            errors.append(TemplateError(
                f"unknown fact '{ph.name}'{_suggest(ph.name, known_facts)}", ph.offset + 2,
                "facts are defined in the calendar's 'facts' section",
            ))
        elif ph.format not in ALLOWED_FORMATS.get(kind, frozenset({None})):
            errors.append(_format_error(ph, kind))
    return errors


def _format_error(ph: Placeholder, kind: str) -> TemplateError:
    allowed = sorted(f for f in ALLOWED_FORMATS.get(kind, ()) if f)
    hint = f"use one of: {', '.join(allowed)}" if allowed else f"write {{{{ {ph.name} }}}} without a format"
    return TemplateError(f"format '{ph.format}' cannot be used on {kind} fact '{ph.name}'", ph.offset + 2, hint)


def render(template: Template | str, lang: str, values: Mapping[str, FactValue]) -> str:
    """The text with every placeholder replaced by its fact written in ``lang``.

    Raises only TemplateError (unknown fact, unsuitable format, missing translation,
    unsupported language). Values are inserted literally, never re-parsed.
    """
    if not isinstance(template, Template):
        template = parse_template(template)
    try:
        localize.check_language(lang)
    except ValueError as exc:
        raise TemplateError(str(exc), 0) from None
    out: list[str] = []
    for part in template.parts:
        out.append(part if type(part) is str else _render_one(part, lang, values))
    return "".join(out)


def _render_one(ph: Placeholder, lang: str, values: Mapping[str, FactValue]) -> str:
    fact = values.get(ph.name)
    if fact is None:
        raise TemplateError(f"unknown fact '{ph.name}'{_suggest(ph.name, values)}", ph.offset + 2)
    if not isinstance(fact, FactValue) or ph.format not in ALLOWED_FORMATS.get(fact.kind, ()):
        kind = getattr(fact, "kind", type(fact).__name__)
        raise _format_error(ph, str(kind))
    value = fact.value
    fmt = ph.format
    try:
        if fact.kind == "text":
            return _text_for(value, lang, ph)
        if fact.kind == "time" and isinstance(value, time):
            return localize.format_time(value, lang)
        if fact.kind == "datetime" and isinstance(value, datetime):
            if fmt in (None, "datetime"):
                return localize.format_datetime(value, lang, "full")
            if fmt == "time":
                return localize.format_time(value, lang)
            return localize.format_date(value.date(), lang, fmt)
        if fact.kind == "date" and isinstance(value, date):
            day = value.date() if isinstance(value, datetime) else value
            return localize.format_date(day, lang, fmt or "full")
    except (ValueError, TypeError, KeyError) as exc:
        raise TemplateError(f"cannot write fact '{ph.name}': {exc}", ph.offset + 2) from None
    raise TemplateError(
        f"fact '{ph.name}' is declared as {fact.kind} but holds {type(value).__name__}", ph.offset + 2,
    )


def _text_for(value: object, lang: str, ph: Placeholder) -> str:
    """A text fact in ``lang``: exact tag first ("es-MX"), then its base language ("es")."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for key in (lang, localize.normalize_language(lang), localize.base_language(lang)):
            text = value.get(key)
            if isinstance(text, str):
                return text
        raise TemplateError(
            f"text fact '{ph.name}' has no '{lang}' version", ph.offset + 2,
            f"available: {', '.join(sorted(map(str, value)))}",
        )
    raise TemplateError(f"text fact '{ph.name}' holds {type(value).__name__}, not text", ph.offset + 2)
