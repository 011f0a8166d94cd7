"""Lint findings: what is wrong, where, and how to fix it, in terms an editor understands."""

from __future__ import annotations

import dataclasses
import difflib
from typing import Iterable, Literal

Severity = Literal["error", "warning"]


@dataclasses.dataclass(frozen=True, order=True)
class Finding:
    """One problem in a calendar, pinned to a file position (1-based line and column)."""

    path: str
    line: int
    col: int
    severity: Severity
    message: str
    code: str
    hint: str = ""

    def format(self) -> str:
        """The editor-facing form: ``path:line:col: severity: message [code]`` then the hint."""
        head = f"{self.path}:{self.line}:{self.col}: {self.severity}: {self.message} [{self.code}]"
        return head + (f"\n    hint: {self.hint}" if self.hint else "")

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A ' (did you mean 'x'?)' suffix when a close candidate exists, else ''."""
    match = difflib.get_close_matches(str(word), sorted(set(candidates)), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)
