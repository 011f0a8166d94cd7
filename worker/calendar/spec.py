"""The shape of a calendar file, declared once: it validates documents (with line:col and
"did you mean") and generates the JSON Schema that editors' YAML plugins use.

Only structure lives here (which keys, which types). Meaning (does the date exist, does the
fact exist, is the text too long) is checked by ``checks`` on the typed model.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any, Callable

from worker.calendar.findings import Finding, did_you_mean
from worker.calendar.source import Document, Path

SLUG = r"^[a-z0-9][a-z0-9_-]*$"
FACT_NAME = r"^[a-z][a-z0-9_]*$"
URL = r"^https?://\S+$"
LANG = r"^[a-z]{2}(-[A-Za-z]{2,8})?$"
ACCOUNT = r"^[a-z]+:[A-Za-z0-9_.@-]+$"


@dataclasses.dataclass(frozen=True)
class Spec:
    """Base of the structural types; ``doc`` becomes the schema's description."""

    doc: str = ""
    #: where a secret may be pasted by mistake (credentials): findings never quote the value
    secret: bool = False

    def schema(self) -> dict:  # pragma: no cover - overridden
        raise NotImplementedError

    def validate(self, value: Any, path: Path, doc: Document, out: list[Finding]) -> bool:
        raise NotImplementedError  # pragma: no cover

    def what(self) -> str:
        return "a value"


@functools.lru_cache(maxsize=None)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def _type_name(value: Any, hide: bool = False) -> str:
    if hide and value is not None:
        return "what is written there (not repeated here: it may be a secret)"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"'{str(value).lower()}'"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text '{value[:40]}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _wrong_type(spec: Spec, value: Any, path: Path, doc: Document, out: list[Finding],
                hint: str = "") -> bool:
    where = _path_text(path)
    out.append(doc.finding(path, "error",
                           f"{where} must be {spec.what()}, not {_type_name(value, spec.secret)}",
                           "wrong-type", hint or spec.doc))
    return False


def _path_text(path: Path) -> str:
    parts = []
    for p in path:
        parts.append(f"[{p}]" if isinstance(p, int) else (("." if parts else "") + str(p)))
    return "'" + "".join(parts) + "'" if parts else "the document"


@dataclasses.dataclass(frozen=True)
class Str(Spec):
    pattern: str | None = None
    example: str = ""
    max_len: int = 100_000

    def what(self) -> str:
        return "a text" + (f" like '{self.example}'" if self.example else "")

    def schema(self) -> dict:
        s: dict = {"type": "string", "description": self.doc}
        if self.pattern:
            s["pattern"] = self.pattern
        return s

    def validate(self, value, path, doc, out):
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            return _wrong_type(self, value, path, doc, out)
        text = str(value)
        if len(text) > self.max_len:
            out.append(doc.finding(path, "error", f"{_path_text(path)} is too long "
                                   f"({len(text)} characters)", "too-long-value"))
            return False
        if self.pattern and not _compiled(self.pattern).match(text):
            # the right type in the wrong form: say which value, and what the form is
            shown = "what is written there" if self.secret else f"'{text[:40]}'"
            like = f", e.g. {self.example}" if self.example else ""
            out.append(doc.finding(path, "error", f"{_path_text(path)} has the wrong form: {shown}",
                                   "wrong-type", f"{self.doc or 'see pregonero schema'}{like}"))
            return False
        return True


@dataclasses.dataclass(frozen=True)
class Int(Spec):
    minimum: int = 0
    maximum: int = 10_000

    def what(self) -> str:
        return f"a whole number from {self.minimum} to {self.maximum}"

    def schema(self) -> dict:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum,
                "description": self.doc}

    def validate(self, value, path, doc, out):
        if isinstance(value, bool) or not isinstance(value, int) or not (
                self.minimum <= value <= self.maximum):
            return _wrong_type(self, value, path, doc, out)
        return True


@dataclasses.dataclass(frozen=True)
class Num(Spec):
    """A number, whole or decimal (a price in dollars)."""

    minimum: float = 0.0
    maximum: float = 1_000_000.0

    def what(self) -> str:
        return f"a number from {self.minimum:g} to {self.maximum:g}"

    def schema(self) -> dict:
        return {"type": "number", "minimum": self.minimum, "maximum": self.maximum,
                "description": self.doc}

    def validate(self, value, path, doc, out):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                self.minimum <= value <= self.maximum):
            return _wrong_type(self, value, path, doc, out)
        return True


@dataclasses.dataclass(frozen=True)
class Bool(Spec):
    def what(self) -> str:
        return "true or false"

    def schema(self) -> dict:
        return {"type": "boolean", "description": self.doc}

    def validate(self, value, path, doc, out):
        return isinstance(value, bool) or _wrong_type(self, value, path, doc, out)


@dataclasses.dataclass(frozen=True)
class Enum(Spec):
    values: tuple[str, ...] = ()

    def what(self) -> str:
        return "one of " + ", ".join(self.values)

    def schema(self) -> dict:
        return {"enum": list(self.values), "description": self.doc}

    def validate(self, value, path, doc, out):
        if value in self.values:
            return True
        out.append(doc.finding(path, "error", f"{_path_text(path)} must be {self.what()}, not "
                               f"{_type_name(value)}{did_you_mean(value, self.values)}",
                               "unknown-value", self.doc))
        return False


@dataclasses.dataclass(frozen=True)
class List(Spec):
    item: Spec = dataclasses.field(default_factory=Spec)
    min_items: int = 0
    scalar_ok: bool = False  # accept a single item where a list is expected

    def what(self) -> str:
        return f"a list of {self.item.what()}s" if self.min_items == 0 else \
            f"a list (at least {self.min_items}) of {self.item.what()}s"

    def schema(self) -> dict:
        s = {"type": "array", "items": self.item.schema(), "minItems": self.min_items,
             "description": self.doc}
        return {"anyOf": [self.item.schema(), s]} if self.scalar_ok else s

    def validate(self, value, path, doc, out):
        if not isinstance(value, list):
            if self.scalar_ok:
                return self.item.validate(value, path, doc, out)
            return _wrong_type(self, value, path, doc, out)
        if len(value) < self.min_items:
            out.append(doc.finding(path, "error", f"{_path_text(path)} needs at least "
                                   f"{self.min_items} item(s)", "empty-list", self.doc))
            return False
        ok = True
        for i, item in enumerate(value):
            ok = self.item.validate(item, path + (i,), doc, out) and ok
        return ok


@dataclasses.dataclass(frozen=True)
class Obj(Spec):
    fields: dict[str, Spec] = dataclasses.field(default_factory=dict)
    required: tuple[str, ...] = ()
    #: keys matching this pattern map to ``values`` (e.g. facts by name)
    keys: str | None = None
    values: Spec | None = None
    name: str = "mapping"

    def what(self) -> str:
        return f"a {self.name}"

    def schema(self) -> dict:
        s: dict = {"type": "object", "description": self.doc}
        if self.fields:
            s["properties"] = {k: v.schema() for k, v in self.fields.items()}
        if self.required:
            s["required"] = list(self.required)
        if self.values is not None:
            s["patternProperties"] = {self.keys or ".*": self.values.schema()}
        s["additionalProperties"] = False
        return s

    def validate(self, value, path, doc, out):
        if not isinstance(value, dict):
            return _wrong_type(self, value, path, doc, out)
        ok = True
        for key, item in value.items():
            if key in self.fields:
                ok = self.fields[key].validate(item, path + (key,), doc, out) and ok
            elif self.values is not None and (self.keys is None or _compiled(self.keys).match(key)):
                ok = self.values.validate(item, path + (key,), doc, out) and ok
            else:
                ok = False
                hint = ("allowed keys: " + ", ".join(self.fields)) if self.fields else self.doc
                what = (f"unknown key '{key}' in {_path_text(path)}" if self.fields
                        else f"'{key}' is not a valid name in {_path_text(path)}")
                out.append(doc.finding(path + (key,), "error", what + did_you_mean(key, self.fields),
                                       "unknown-key", hint, key=True))
        for key in self.required:
            if key not in value:
                ok = False
                out.append(doc.finding(path, "error", f"{_path_text(path)} is missing '{key}'",
                                       "missing-key", self.fields[key].doc if key in self.fields
                                       else ""))
        return ok


@dataclasses.dataclass(frozen=True)
class OneOf(Spec):
    """Alternatives chosen by a function of the value (no guessing between error lists)."""

    options: tuple[Spec, ...] = ()
    choose: Callable[[Any], int | None] = dataclasses.field(default=lambda v: None, compare=False)
    description: str = "a value"

    def what(self) -> str:
        return self.description

    def schema(self) -> dict:
        return {"anyOf": [o.schema() for o in self.options], "description": self.doc}

    def validate(self, value, path, doc, out):
        index = self.choose(value)
        if index is None:
            return _wrong_type(self, value, path, doc, out)
        return self.options[index].validate(value, path, doc, out)


def lang_text(doc: str, example: str = "") -> OneOf:
    """A text, or a mapping from language tag to text."""
    per_lang = Obj(doc=doc, keys=LANG, values=Str(doc=doc), name="mapping of language to text")
    return OneOf(doc=doc, options=(Str(doc=doc, example=example), per_lang),
                 choose=lambda v: 1 if isinstance(v, dict) else (0 if isinstance(v, (str, int, float)) and not isinstance(v, bool) else None),
                 description="a text, or a text per language (es: ..., ca: ...)")
