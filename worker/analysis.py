"""One calendar file through the whole pure pipeline: parse, validate, build, compile, check.

Both ``pregonero lint`` and ``pregonero plan`` (and the engine's sync) go through here, so the
linter checks exactly what the engine would schedule.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import datetime as dt
from pathlib import Path
from typing import Iterable

from worker.calendar.build import build_calendar, calendar_holidays
from worker.calendar.checks import check_calendar
from worker.calendar.compile import CompiledEntry, compile_calendar
from worker.calendar.findings import Finding, has_errors
from worker.calendar.model import Calendar
from worker.calendar.schema import CALENDAR
from worker.calendar.source import Document, YamlProblem, load_file, parse_yaml
from worker.config_model import Config
from worker.jobs import Job

#: Larger calendars are refused: a YAML alias bomb must not take the linter down.
MAX_FILE_BYTES = 2_000_000


@dataclasses.dataclass(frozen=True)
class FileAnalysis:
    """What one file yields: its calendar (when it could be built), jobs and findings."""

    path: str
    calendar: Calendar | None
    compiled: tuple[CompiledEntry, ...]
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return self.calendar is not None and not has_errors(self.findings)

    @property
    def jobs(self) -> tuple[Job, ...]:
        return tuple(sorted((j for c in self.compiled if not c.entry.archived for j in c.jobs),
                            key=lambda j: (j.due_utc, j.id)))

    @property
    def archived_entries(self) -> frozenset[str]:
        return frozenset(c.entry.id for c in self.compiled if c.entry.archived)


def analyze_document(doc: Document, config: Config | None, now: dt.datetime) -> FileAnalysis:
    findings: list[Finding] = []
    if not isinstance(doc.data, dict) or "calendar" not in doc.data:
        findings.append(doc.finding((), "error", "this file is not a pregonero calendar (no "
                                    "'calendar:' section at the top)", "not-a-calendar",
                                    "start the file with calendar: {id, title, department, "
                                    "timezone, languages, sources} — see docs/calendar.md"))
        return FileAnalysis(doc.path, None, (), tuple(findings))
    if not CALENDAR.validate(doc.data, (), doc, findings):
        return FileAnalysis(doc.path, None, (), tuple(sorted(findings)))
    calendar, built = build_calendar(doc)
    findings.extend(built)
    holidays = calendar_holidays(calendar) if calendar is not None else None
    if calendar is None or holidays is None:
        return FileAnalysis(doc.path, calendar, (), tuple(sorted(findings)))
    options = {ref: acc.options for ref, acc in config.accounts.items()} if config else {}
    compiled, compile_findings = compile_calendar(doc, calendar, holidays, options)
    findings.extend(compile_findings)
    findings.extend(check_calendar(doc, calendar, compiled, config, now))
    return FileAnalysis(doc.path, calendar, tuple(compiled), tuple(sorted(set(findings))))


@contextlib.contextmanager
def _without_cycle_collection():
    """Analysis allocates hundreds of thousands of short-lived objects and no reference
    cycles (``tests/test_analysis_memory.py`` checks that), so the cyclic collector would only
    walk them again and again for nothing (~15% of lint time); reference counting frees them.

    Re-enabling the collector as such would make its next young collection walk everything
    the analysis returns (another ~10%). ``freeze()`` + ``unfreeze()`` instead moves all
    tracked objects to the oldest generation in constant time: the results are looked at
    only by the next full collection, if they are still alive then."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def analyze_file(path: str | Path, config: Config | None, now: dt.datetime,
                 display_path: str | None = None,
                 given_folder: str | Path | None = None) -> FileAnalysis:
    """Analyze one file; never raises on bad input. ``given_folder``: the schedules folder
    the file was given in, the root its images must lie in outside git
    (``worker.calendar_root``); None: the file's own folder."""
    with _without_cycle_collection():
        return _analyze_file(path, config, now, display_path, given_folder)


def _analyze_file(path: str | Path, config: Config | None, now: dt.datetime,
                  display_path: str | None = None,
                  given_folder: str | Path | None = None) -> FileAnalysis:
    shown = display_path or str(path)
    try:
        if Path(path).stat().st_size > MAX_FILE_BYTES:
            return FileAnalysis(shown, None, (), (Finding(shown, 1, 1, "error", "file too large "
                                "for a calendar", "too-large", "split it into several calendars"),))
        doc = load_file(str(path))
    except YamlProblem as exc:
        return FileAnalysis(shown, None, (), (exc.finding,))
    except OSError as exc:
        return FileAnalysis(shown, None, (), (Finding(shown, 1, 1, "error",
                                                      f"cannot read: {exc.strerror}", "io"),))
    doc.file, doc.path = str(path), shown
    doc.given_folder = str(given_folder) if given_folder is not None else None
    return analyze_document(doc, config, now)


def analyze_text(text: str, config: Config | None, now: dt.datetime,
                 path: str = "<string>") -> FileAnalysis:
    try:
        doc = parse_yaml(text, path)
    except YamlProblem as exc:
        return FileAnalysis(path, None, (), (exc.finding,))
    return analyze_document(doc, config, now)


CALENDAR_SUFFIXES = (".yaml", ".yml")


def calendar_files(paths: Iterable[str | Path]) -> list[Path]:
    """YAML files under the given paths (files or directories), sorted.

    Exactly what was named: a folder named ``../sched`` or ``.`` is read, whatever its own
    path looks like; only hidden files and folders *inside* a named folder (``.git``,
    ``.github``, an editor's ``.backup``) are skipped."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.suffix in CALENDAR_SUFFIXES
                              and q.is_file() and not _hidden_inside(q, p)))
        else:
            out.append(p)
    return out


def _hidden_inside(path: Path, folder: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(folder).parts)


def paths_without_calendars(paths: Iterable[str | Path]) -> list[str]:
    """The named paths that hold no calendar: a wrong path must never lint green as
    "0 file(s)" nor let the service start watching nothing."""
    return [str(p) for p in map(Path, paths) if Path(p).exists() and not calendar_files([p])]
