"""Write a correction back into the calendar file, keeping its comments and layout.

On-call staff run ``pregonero correct`` at night without git at hand: the new value goes into
the calendar file with a ``ruamel.yaml`` round trip (comments, quoting, flow lists and
indentation are kept; only the changed value differs, plus a short comment saying who changed
it and why). ``pregonero retract`` removes the entry and leaves a comment in its place.

The file is replaced atomically (temp file + rename). Nothing here touches git: committing is
for people (``pregonero status`` lists overrides whose value is not committed yet).
"""

from __future__ import annotations

import datetime as dt
import difflib
import io
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

#: keys that hold a fact's own value (a derived fact has "from" instead)
VALUE_KEYS = ("date", "datetime", "time", "value")
#: keys that make a fact derived from another one
DERIVED_KEYS = ("from",)


class WritebackError(ValueError):
    """The change cannot be written (unknown fact, derived fact, entry not found...)."""


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 100_000          # never re-wrap long texts
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _load(text: str) -> Any:
    return _yaml().load(text)


def _dump(data: Any) -> str:
    out = io.StringIO()
    _yaml().dump(data, out)
    return out.getvalue()


def fact_node(data: Any, fact: str) -> CommentedMap:
    facts = data.get("facts") if isinstance(data, dict) else None
    if not isinstance(facts, dict) or fact not in facts:
        known = ", ".join(sorted(facts)) if isinstance(facts, dict) else "none"
        raise WritebackError(f"the calendar has no fact '{fact}' (facts: {known})")
    node = facts[fact]
    if not isinstance(node, dict):
        raise WritebackError(f"fact '{fact}' is not a mapping")
    return node


def fact_value_key(node: dict, fact: str) -> str:
    """Which key of the fact holds its value; WritebackError for derived facts."""
    if any(k in node for k in DERIVED_KEYS):
        raise WritebackError(f"fact '{fact}' is derived from '{node.get('from')}': correct "
                             f"'{node.get('from')}' instead (the derived dates follow)")
    for key in VALUE_KEYS:
        if key in node:
            if key == "value" and not isinstance(node[key], str):
                raise WritebackError(f"fact '{fact}' has a value per language: edit the "
                                     "calendar file (pregonero correct takes one value)")
            return key
    raise WritebackError(f"fact '{fact}' has no value to correct")


def read_fact_value(text: str, fact: str) -> str | None:
    """The fact's value as written in ``text`` (None when absent or derived)."""
    try:
        node = fact_node(_load(text), fact)
        return str(node[fact_value_key(node, fact)])
    except (WritebackError, Exception):  # a broken file carries no value
        return None


def has_entry(text: str, entry: str) -> bool:
    try:
        data = _load(text)
    except Exception:
        return False
    return any(isinstance(e, dict) and e.get("id") == entry for e in (data or {}).get("entries") or ())


def _same_style(old: Any, new: str) -> Any:
    """``new`` written the way ``old`` was (plain date, quoted string...)."""
    if isinstance(old, dt.datetime):
        return dt.datetime.strptime(new, "%Y-%m-%d %H:%M")
    if isinstance(old, dt.date):
        return dt.date.fromisoformat(new)
    if isinstance(old, DoubleQuotedScalarString):
        return DoubleQuotedScalarString(new)
    if isinstance(old, SingleQuotedScalarString):
        return SingleQuotedScalarString(new)
    return new


def _note(reason: str, by: str, when: dt.datetime) -> str:
    return f"{when.strftime('%Y-%m-%d %H:%M')} UTC, {by}: {reason}".replace("\n", " ")


def set_fact_text(text: str, fact: str, value: str, *, reason: str = "", by: str = "",
                  when: dt.datetime | None = None) -> tuple[str, str]:
    """``text`` with the fact's value replaced; returns (new text, old value)."""
    data = _load(text)
    node = fact_node(data, fact)
    key = fact_value_key(node, fact)
    old = node[key]
    node[key] = _same_style(old, value)
    if reason or by:
        when = when or dt.datetime.now(dt.timezone.utc)
        note = f"corregido {_note(reason, by, when)} (antes: {old})"
        existing = node.ca.items.get(key)
        token = existing[2] if existing and len(existing) > 2 else None
        if token is not None and token.value.strip().startswith("#"):
            # keep the editor's comment, add ours after it on the same line
            first, newline, rest = token.value.partition("\n")
            token.value = f"{first.rstrip()} · {note}{newline}{rest}"
        elif token is not None and not token.value.strip():
            # only the blank lines after the value: keep them after our comment
            token.value = f"  # {note}{token.value}"
        else:
            node.yaml_add_eol_comment(note, key)
    return _dump(data), str(old)


def remove_entry_text(text: str, entry: str, *, reason: str = "", by: str = "",
                      when: dt.datetime | None = None) -> str:
    """``text`` without the entry ``entry``, with a comment where it was."""
    data = _load(text)
    entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, CommentedSeq):
        raise WritebackError("the calendar has no entries")
    index = next((i for i, e in enumerate(entries) if isinstance(e, dict) and e.get("id") == entry),
                 None)
    if index is None:
        known = ", ".join(str(e.get("id")) for e in entries if isinstance(e, dict))
        raise WritebackError(f"the calendar has no entry '{entry}' (entries: {known})")
    when = when or dt.datetime.now(dt.timezone.utc)
    del entries[index]
    out = _dump(data)
    marker = f"# entrada '{entry}' retirada {_note(reason, by, when)}\n"
    # the comment goes at the end of the file: ruamel attaches comments to neighbours, and a
    # line of its own is what editors look for in git diff
    return out + ("" if out.endswith("\n") else "\n") + marker


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_fact(path: Path, fact: str, value: str, *, reason: str = "", by: str = "",
               when: dt.datetime | None = None) -> tuple[str, str]:
    """Write the new value into the file. Returns (old value, unified diff)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    new_text, old = set_fact_text(text, fact, value, reason=reason, by=by, when=when)
    _atomic_write(path, new_text)
    return old, unified_diff(text, new_text, str(path))


def write_removal(path: Path, entry: str, *, reason: str = "", by: str = "",
                  when: dt.datetime | None = None) -> str:
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    new_text = remove_entry_text(text, entry, reason=reason, by=by, when=when)
    _atomic_write(path, new_text)
    return unified_diff(text, new_text, str(path))


def unified_diff(before: str, after: str, name: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True),
                                        f"a/{name}", f"b/{name}", n=1))


def committed_version(path: Path) -> tuple[str | None, bool]:
    """(text, in_git): the file as committed in git HEAD, or (outside a git checkout) the file
    on disk. ``in_git`` tells the caller whether the text is a commit someone made (None as
    text: HEAD does not have the file yet) or merely whatever the folder holds now."""
    path = Path(path)
    try:
        result = subprocess.run(["git", "-C", str(path.parent), "show", f"HEAD:./{path.name}"],
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        result = None
    if result is not None and result.returncode == 0:
        return result.stdout, True
    if result is not None and "not a git repository" not in (result.stderr or ""):
        return None, True  # a repository that does not have the file (yet) in HEAD
    try:
        return path.read_text(encoding="utf-8"), False
    except OSError:
        return None, False


def parses(text: str) -> bool:
    """Whether ``text`` is readable YAML (a broken file says nothing about its facts)."""
    try:
        _load(text)
    except Exception:
        return False
    return True
