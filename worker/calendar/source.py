"""Load YAML into plain Python values plus a map of where each value sits in the file.

Why not ``yaml.safe_load``: YAML 1.1 resolution turns ``10:00`` into 600 (sexagesimal), ``no``
into False and ``2027-02-30`` into a crash. Editors write times and dates as plain scalars, so
we compose the node tree with the C parser (fast: the linter runs in pre-commit) and resolve
scalars ourselves: only ``true``/``false``, ``null``, decimal integers and floats are typed;
everything else stays a string and the calendar layer parses dates with messages editors can act
on. Duplicate keys are reported, not silently overwritten.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from worker.calendar.findings import Finding

class _Untyped:
    """A resolver that types nothing: we resolve scalars ourselves (see the module doc), so
    YAML 1.1's regex-per-scalar resolution would be wasted work."""

    def resolve(self, kind, value, implicit):
        return "tag:yaml.org,2002:str"

    def descend_resolver(self, current_node, current_index):
        pass

    def ascend_resolver(self):
        pass


try:  # the C parser and composer are ~10x faster; fall back where libyaml is missing
    from yaml.cyaml import CParser

    class _Loader(CParser, yaml.constructor.SafeConstructor, _Untyped):  # type: ignore[misc]
        def __init__(self, stream):
            CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
except ImportError:  # pragma: no cover
    class _Loader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser,  # type: ignore[no-redef]
                  yaml.composer.Composer, yaml.constructor.SafeConstructor, _Untyped):
        def __init__(self, stream):
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)

Path = tuple  # a path into the document: ("entries", 3, "at")

_INT = re.compile(r"[-+]?(0|[1-9][0-9_]*)\Z")
_FLOAT = re.compile(r"[-+]?([0-9][0-9_]*)?\.[0-9_]+([eE][-+]?[0-9]+)?\Z")
_NULLS = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}


class Document:
    """A parsed YAML file: plain values and the 1-based (line, col) of every key and value.

    Positions are only needed to report a finding, and a clean calendar has none: they are
    worked out from the node tree on first use, not on every parse (the linter's hot path).
    """

    def __init__(self, path: str, data: Any, text: str, root: yaml.Node | None = None,
                 file: str | None = None):
        self.path, self.data, self.text = path, data, text
        #: the file on disk when ``path`` is a display path (relative to the schedules root)
        self.file = file
        #: the schedules folder the file was given in (``run --schedules``, a linted folder):
        #: the calendar repository root outside git (``worker.calendar_root``); None: its own
        self.given_folder: str | None = None
        self._root = root
        self._positions: tuple[dict, dict] | None = None

    @property
    def value_pos(self) -> dict[Path, tuple[int, int]]:
        return self._tables()[0]

    @property
    def key_pos(self) -> dict[Path, tuple[int, int]]:
        return self._tables()[1]

    def _tables(self) -> tuple[dict, dict]:
        if self._positions is None:
            value_pos: dict = {}
            key_pos: dict = {}
            if self._root is not None:
                _record_positions(self._root, (), value_pos, key_pos)
            self._positions = (value_pos, key_pos)
            self._root = None  # the tables hold all that is needed from the tree
        return self._positions

    def holds(self, path: Path) -> bool:
        """Whether the document has a value at ``path``."""
        node = self.data
        for step in path:
            if isinstance(node, dict) and step in node:
                node = node[step]
            elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
                node = node[step]
            else:
                return False
        return True

    def pos(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """Position of the value (or its key) at ``path``; falls back to the nearest parent."""
        value_pos, key_pos = self._tables()
        table = key_pos if key else value_pos
        p = tuple(path)
        while p:
            if p in table:
                return table[p]
            if p in value_pos:
                return value_pos[p]
            p = p[:-1]
        return value_pos.get((), (1, 1))

    def finding(self, path: Path, severity: str, message: str, code: str, hint: str = "",
                *, key: bool = False) -> Finding:
        line, col = self.pos(path, key=key)
        return Finding(self.path, line, col, severity, message, code, hint)  # type: ignore[arg-type]


class YamlProblem(Exception):
    """Raised when a file is not valid YAML, or has duplicate keys; carries one Finding."""

    def __init__(self, finding: Finding):
        super().__init__(finding.format())
        self.finding = finding


def _scalar(node: yaml.ScalarNode) -> Any:
    value = node.value
    if node.style:  # quoted or block scalars are always strings
        return value
    if value in _NULLS:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if _INT.match(value):
        return int(value.replace("_", ""))
    if _FLOAT.match(value):
        return float(value.replace("_", ""))
    return value


def _mark(mark: yaml.Mark) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


#: Limits that keep hostile YAML (recursive aliases, alias bombs, absurd nesting) from
#: taking the linter or the engine down; real calendars are far below them.
MAX_NODES = 500_000
MAX_DEPTH = 40


class _Walk:
    """Per-document state of the conversion: budget and the aliases on the current path."""

    def __init__(self, doc_path: str) -> None:
        self.doc_path = doc_path
        self.nodes = 0
        self.open: set[int] = set()


def _too_much(doc_path: str, node: yaml.Node, why: str) -> YamlProblem:
    line, col = _mark(node.start_mark)
    return YamlProblem(Finding(doc_path, line, col, "error", f"YAML structure refused: {why}",
                               "yaml-structure", "write the values out; avoid anchors (&) and "
                               "aliases (*) that refer to themselves or repeat huge blocks"))


def _convert(node: yaml.Node, depth: int, walk: _Walk) -> Any:
    """Plain values of a node, within the limits above; scalars typed by ``_scalar``."""
    walk.nodes += 1
    if walk.nodes > MAX_NODES:
        raise _too_much(walk.doc_path, node, "the document expands to too many values")
    if type(node) is yaml.ScalarNode:
        return _scalar(node)
    if depth >= MAX_DEPTH:
        raise _too_much(walk.doc_path, node, "the document is nested too deeply")
    if id(node) in walk.open:
        raise _too_much(walk.doc_path, node, "an alias refers to a value that contains it")
    walk.open.add(id(node))
    try:
        if isinstance(node, yaml.SequenceNode):
            return [_convert(child, depth + 1, walk) for child in node.value]
        if isinstance(node, yaml.MappingNode):
            return _convert_mapping(node, depth, walk)
        raise YamlProblem(Finding(walk.doc_path, *_mark(node.start_mark), "error",  # pragma: no cover
                                  "unsupported YAML construct", "yaml-syntax"))
    finally:
        walk.open.discard(id(node))


def _convert_mapping(node: yaml.MappingNode, depth: int, walk: _Walk) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if type(key_node) is not yaml.ScalarNode:
            line, col = _mark(key_node.start_mark)
            raise YamlProblem(Finding(walk.doc_path, line, col, "error",
                                      "a key must be a plain word, not a list or mapping",
                                      "yaml-key", "write the key as a single word followed by ':'"))
        key = str(key_node.value)
        if key in out:
            first = next(k for k, _ in node.value if str(k.value) == key)
            line, col = _mark(key_node.start_mark)
            raise YamlProblem(Finding(
                walk.doc_path, line, col, "error",
                f"duplicate key '{key}' (first written on line {first.start_mark.line + 1})",
                "duplicate-key", "keep one of the two; YAML would silently use only the last one"))
        out[key] = _convert(value_node, depth + 1, walk)
    return out


def _record_positions(node: yaml.Node, path: Path, value_pos: dict, key_pos: dict) -> None:
    """Where each value and key of a converted tree sits. Runs only on trees ``_convert``
    accepted, so it needs no limits of its own."""
    mark = node.start_mark
    value_pos[path] = (mark.line + 1, mark.column + 1)
    if isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            _record_positions(child, path + (i,), value_pos, key_pos)
    elif isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child_path = path + (str(key_node.value),)
            if child_path in key_pos:
                continue  # a duplicate key: refused while converting, never reached here
            key_pos[child_path] = _mark(key_node.start_mark)
            _record_positions(value_node, child_path, value_pos, key_pos)


def parse_yaml(text: str, path: str = "<string>") -> Document:
    """Parse one YAML document with positions; raise YamlProblem with an editor-facing finding."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        # Point at where the broken construct starts (the opening quote or bracket) when the
        # parser knows it: that is where the editor has to look, not where the parser gave up.
        mark = exc.context_mark or exc.problem_mark
        line, col = _mark(mark) if mark else (1, 1)
        what = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        unclosed = _unclosed_quote(text, exc.problem_mark.line if exc.problem_mark else None)
        if unclosed is not None:
            line, col = unclosed
            what = f"this quote is never closed on its line ({what})"
        raise YamlProblem(Finding(path, line, col, "error", f"YAML syntax: {what}", "yaml-syntax",
                                  _syntax_hint(what))) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(Finding(path, 1, 1, "error", f"YAML syntax: {exc}", "yaml-syntax")) from None
    data = None if node is None else _convert(node, 0, _Walk(path))
    return Document(path, data, text, node)


_VALUE_START = re.compile(r"(?:^\s*-\s+|:\s+|[\[{,]\s*)(['\"])")


def _unclosed_quote(text: str, last_line: int | None) -> tuple[int, int] | None:
    """The first quote that opens a value and is not closed on its own line, up to the line
    where the parser gave up. An unclosed quote swallows the following lines, so the parser's
    own position is far from the editor's mistake."""
    lines = text.splitlines()
    stop = len(lines) if last_line is None else min(len(lines), last_line + 1)
    for number, row in enumerate(lines[:stop], start=1):
        for match in _VALUE_START.finditer(row):
            quote, start = match.group(1), match.end(1)
            rest = row[start:]
            closed = (re.search(r'(?<!\\)"', rest) if quote == '"'
                      else re.search(r"'(?!')", rest.replace("''", "")))
            if not closed:
                return number, start
            break  # only the first value on a line can open a multi-line scalar
    return None


def _syntax_hint(what: str) -> str:
    if "never closed" in what:
        return "close the quote at the end of the text, or escape quotes inside it (\\\")"
    if "quoted scalar" in what:
        return "close the quote that starts here, or escape quotes inside the text"
    if "tab" in what.lower():
        return "indent with spaces, never tabs"
    if "mapping values are not allowed" in what:
        return "a text containing ': ' must be quoted, e.g. text: \"Plazo: hasta el lunes\""
    if "flow" in what:
        return "close the bracket or brace that starts here"
    return "check the indentation and quoting around this position"


def load_file(path: str) -> Document:
    """Read and parse a file (UTF-8); unreadable files raise YamlProblem too."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except UnicodeDecodeError:
        raise YamlProblem(Finding(path, 1, 1, "error", "the file is not UTF-8 text", "encoding",
                                  "save the file as UTF-8")) from None
    except OSError as exc:
        raise YamlProblem(Finding(path, 1, 1, "error", f"cannot read file: {exc.strerror}",
                                  "io")) from None
    return parse_yaml(text, path)
