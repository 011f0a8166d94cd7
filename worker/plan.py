"""The compiled plan of a schedules directory: per calendar file, its jobs or why it failed.

Pure apart from reading the files: ``now`` is a parameter, so ``plan``, ``rehearse`` and the
engine's sync compute exactly the same jobs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from worker.analysis import (MAX_FILE_BYTES, FileAnalysis, analyze_document, analyze_file,
                             calendar_files)
from worker.calendar.findings import Finding
from worker.calendar.instants import entry_expiry
from worker.calendar.source import YamlProblem, parse_yaml
from worker.calendar_root import given_folder
from worker.config import ConfigError, load_config
from worker.config_model import Config
from worker.corrections import writeback
from worker.corrections.rules import Override, apply_to_data, decide
from worker.jobs import Job


@dataclasses.dataclass(frozen=True)
class SourcePlan:
    """One calendar file's part of the plan, for ``pregonero plan`` and for the engine alike.
    ``ok`` False means: keep its last good version. The fields after ``archived_entries`` are
    filled by the engine's compile (``compile_for_engine``)."""

    path: str
    calendar_id: str | None
    ok: bool
    jobs: tuple[Job, ...]
    findings: tuple[Finding, ...]
    archived_entries: frozenset[str] = frozenset()
    #: job id -> reason to hold it (after its period's deadline, in the past)
    flagged: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: on-call changes applied to this file
    applied: tuple[Override, ...] = ()
    #: jobs of archived entries: never scheduled, but their published posts are still
    #: corrected when a fact they quote changes (the diff reads this)
    archived_jobs: tuple[Job, ...] = ()
    #: entry id -> the instant after which its posts mislead (its period closed); a late
    #: send (``pregonero retry``) must not go out after it
    expires: Mapping[str, dt.datetime] = dataclasses.field(default_factory=dict)
    #: the file does not load: these jobs are its last good version with the on-call changes
    #: on top, and ``findings`` are the file's (the sync reports them as a load error)
    degraded: bool = False
    #: how each derived date was counted ("plazo_fin = 2027-04-09: 20 business days from ...")
    explanations: tuple[str, ...] = ()


def source_plan(analysis: FileAnalysis, path: str) -> SourcePlan:
    cal = analysis.calendar
    facts = cal.facts.values() if cal else ()
    return SourcePlan(path=path, calendar_id=cal.id if cal else None, ok=analysis.ok,
                      jobs=analysis.jobs if analysis.ok else (), findings=analysis.findings,
                      archived_entries=analysis.archived_entries,
                      explanations=tuple(f"{f.name} = {f.display()}: {f.explanation}"
                                         for f in facts if f.explanation))


def compile_paths(paths: Sequence[str | Path], config: Config | None, now: dt.datetime,
                  root: Path | None = None) -> list[SourcePlan]:
    """Compile every calendar under ``paths``; paths in the result are relative to ``root``.
    A calendar's images must lie in its repository: outside git, the folder of ``paths``
    holding it (``worker.calendar_root``)."""
    plans = []
    for file in calendar_files(paths):
        shown = str(file.relative_to(root)) if root and file.is_relative_to(root) else str(file)
        plans.append(source_plan(analyze_file(file, config, now, display_path=shown,
                                              given_folder=given_folder(file, paths)), shown))
    return one_file_per_id(plans)


def one_file_per_id(plans: list[SourcePlan]) -> list[SourcePlan]:
    """``plans`` with each calendar id kept by its first file: a later file with the same id
    fails, with a finding naming the first (their job ids would collide)."""
    seen: dict[str, str] = {}
    out = []
    for plan in plans:
        if plan.calendar_id and plan.calendar_id in seen:
            finding = Finding(plan.path, 1, 1, "error", f"calendar id '{plan.calendar_id}' is "
                              f"already used by {seen[plan.calendar_id]}", "duplicate-calendar",
                              "every calendar needs its own id")
            plan = dataclasses.replace(plan, ok=False, jobs=(), flagged={},
                                       findings=plan.findings + (finding,))
        elif plan.calendar_id:
            seen[plan.calendar_id] = plan.path
        out.append(plan)
    return out


def compile_directory(schedules_dir: Path, config_dir: Path, now: dt.datetime) -> list[SourcePlan]:
    """The whole schedules directory with its config, as the files say it (the demo's plan;
    the engine compiles with ``compile_for_engine``, on-call changes on top). A broken
    config/ makes every calendar fail (``config_failed``)."""
    try:
        config = load_config(config_dir)
    except ConfigError as exc:
        return config_failed(schedules_dir, exc)
    return compile_paths([Path(schedules_dir)], config, now, root=Path(schedules_dir))


def all_jobs(plans: Iterable[SourcePlan]) -> list[Job]:
    return sorted((j for p in plans for j in p.jobs), key=lambda j: (j.due_utc, j.id))


def plan_json(plans: Iterable[SourcePlan], x_costs: dict | None = None) -> str:
    """``{"jobs": [...]}`` (and ``x_costs`` when the plan has X posts: ``worker.costs``),
    sorted and byte-identical between runs of the same input."""
    jobs = [dict(job.as_dict(), content_hash=job.content_hash) for job in all_jobs(plans)]
    out: dict = {"jobs": jobs}
    if x_costs is not None:
        out["x_costs"] = x_costs
    return json.dumps(out, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


# --- the engine's compile ------------------------------------------------------------------------
#
# The engine's compile differs from ``pregonero lint`` in two ways, both on purpose: an entry
# whose instant has passed is not an error (its posts went out; the diff never sends a past job
# late), and a post that now falls after its period's deadline is not an error either: its jobs
# are planned but *flagged*, and the sync holds them with a reason for a person to decide. A
# calendar must not be frozen at its old dates because a date moved. On-call changes
# (``worker.corrections.rules.Override``) are applied on top of the files, so a stale checkout
# can never bring an old date back. Pure apart from reading the files: what the store knows
# comes in as ``PlanInputs``, what it should remember goes out as ``PlanEffects``
# (``worker.corrections.overrides`` reads and applies them), and git is asked through the
# ``committed`` function given.

#: lint errors that do not stop the engine's compile
TOLERATED = {"in-the-past": "in_the_past", "after-deadline": "after_deadline"}


@dataclasses.dataclass(frozen=True)
class LastGood:
    """The source text of a calendar file as it last compiled cleanly for the engine."""

    path: str
    calendar_id: str
    text: str
    at: str


@dataclasses.dataclass(frozen=True)
class PlanInputs:
    """What the engine's compile needs to know beyond the files (read from the store)."""

    #: on-call changes, applied on top of the files they concern
    overrides: tuple[Override, ...] = ()
    #: a calendar file's last good source (by its path): compiled, with the on-call changes
    #: on top, when the file itself no longer loads
    last_good: Callable[[str], LastGood | None] = lambda path: None
    #: every value an override's fact had before it (a file saying one of these is stale)
    earlier: Callable[[Override], Iterable[str]] = lambda override: ()


@dataclasses.dataclass
class PlanEffects:
    """What the compile found that the store should remember, for the caller to apply."""

    #: (path, calendar id, text) of the files that compiled: their new last good source
    sources: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    #: (calendar, path): the labels and notices correction texts quote
    metas: list[tuple[object, str]] = dataclasses.field(default_factory=list)
    #: (override, why): overrides the files as committed now carry (or an editor superseded)
    cleared: list[tuple[Override, str]] = dataclasses.field(default_factory=list)
    #: (override, path, why): overrides kept on top of a file that says an earlier value
    stale: list[tuple[Override, str, str]] = dataclasses.field(default_factory=list)


def _flags(doc, analysis) -> dict[str, str]:
    """Jobs of entries with a tolerated timing error, with the reason to hold them."""
    by_pos = {}
    for finding in analysis.findings:
        if finding.code in TOLERATED:
            by_pos.setdefault((finding.line, finding.col), TOLERATED[finding.code])
    flagged = {}
    for item in analysis.compiled:
        reason = by_pos.get(doc.pos(item.entry.path + ("at",)))
        if reason:
            for job in item.jobs:
                flagged[job.id] = reason
    return flagged


def _read(file: Path, shown: str) -> tuple[str | None, Finding | None]:
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            return None, Finding(shown, 1, 1, "error", "file too large for a calendar",
                                 "too-large")
        return file.read_text(encoding="utf-8"), None
    except UnicodeDecodeError:
        return None, Finding(shown, 1, 1, "error", "the file is not UTF-8 text", "encoding",
                             "save the file as UTF-8")
    except OSError as exc:
        return None, Finding(shown, 1, 1, "error", f"cannot read: {exc.strerror}", "io")


def analyze_for_engine(file: Path, shown: str, config, now: dt.datetime,
                       inputs: PlanInputs = PlanInputs(), effects: PlanEffects | None = None,
                       *, clear: bool = True, given_folder: Path | None = None,
                       committed: Callable[[Path], tuple[str | None, bool]] | None = None
                       ) -> SourcePlan:
    """One calendar file for the engine: overrides applied, timing errors tolerated.

    A file that does not load keeps its last good version scheduled (the sync cancels
    nothing). When an on-call change applies to that calendar, the change is compiled on top
    of the last good version instead, so on-call can correct while the editor's mistake is
    still in the file: the plan is ``degraded`` and carries the file's findings.
    ``given_folder``: the schedules folder, the root of the calendar's images outside git.
    ``clear``: overrides found redundant are reported in ``effects.cleared`` (not applied);
    without it they are applied anyway (a preview changes nothing)."""
    effects = effects if effects is not None else PlanEffects()
    committed = committed or writeback.committed_version
    text, unreadable = _read(file, shown)
    plan = (SourcePlan(shown, None, False, (), (unreadable,)) if text is None else
            _analyze_text(text, file, shown, config, now, inputs, effects, clear, given_folder,
                          committed))
    if plan.ok:
        effects.sources.append((shown, plan.calendar_id, text))
        return plan
    last = inputs.last_good(shown)
    if last is None or last.path != shown \
            or not any(o.calendar == last.calendar_id for o in inputs.overrides):
        return plan
    fallback = _analyze_text(last.text, file, shown, config, now, inputs, effects, clear,
                             given_folder, committed)
    if not fallback.ok:
        return plan
    return dataclasses.replace(fallback, findings=plan.findings, degraded=True)


def _analyze_text(text: str, file: Path, shown: str, config, now: dt.datetime,
                  inputs: PlanInputs, effects: PlanEffects, clear: bool,
                  given_folder: Path | None, committed) -> SourcePlan:
    try:
        doc = parse_yaml(text, shown)
    except YamlProblem as exc:
        return SourcePlan(shown, None, False, (), (exc.finding,))
    doc.file, doc.path = str(file), shown  # images resolve next to the real file
    doc.given_folder = str(given_folder) if given_folder is not None else None
    calendar_id = None
    if isinstance(doc.data, dict) and isinstance(doc.data.get("calendar"), dict):
        calendar_id = doc.data["calendar"].get("id")
    mine = [o for o in inputs.overrides if o.calendar == calendar_id]
    applied = []
    if mine:
        committed_text, in_git = committed(file)
        for override in mine:
            decision = decide(override, committed_text, in_git, inputs.earlier(override))
            if decision.action == "clear" and clear:
                effects.cleared.append((override, f"{shown}: {decision.why}"))
                continue
            if decision.action == "apply_stale" and clear:
                effects.stale.append((override, shown, decision.why))
            applied.append(override)
        if applied:
            doc.data = apply_to_data(doc.data, applied)
    analysis = analyze_document(doc, config, now)
    fatal = [f for f in analysis.findings if f.severity == "error" and f.code not in TOLERATED]
    ok = analysis.calendar is not None and not fatal
    if ok:
        effects.metas.append((analysis.calendar, shown))
    archived_jobs = tuple(j for c in analysis.compiled if c.entry.archived for j in c.jobs) \
        if ok else ()
    expires = {c.entry.id: moment for c in analysis.compiled
               if (moment := entry_expiry(analysis.calendar, c.entry)) is not None} if ok else {}
    return SourcePlan(shown, calendar_id, ok, analysis.jobs if ok else (), analysis.findings,
                      analysis.archived_entries, _flags(doc, analysis) if ok else {},
                      tuple(applied), archived_jobs, expires)


def compile_for_engine(schedules_dir: Path, config: Config, now: dt.datetime,
                       inputs: PlanInputs = PlanInputs(), *, clear: bool = True,
                       committed: Callable[[Path], tuple[str | None, bool]] | None = None
                       ) -> tuple[list[SourcePlan], PlanEffects]:
    """The whole schedules directory for the engine, and what the store should remember."""
    schedules_dir = Path(schedules_dir)
    effects = PlanEffects()
    plans = [analyze_for_engine(file, str(file.relative_to(schedules_dir)), config, now,
                                inputs, effects, clear=clear, given_folder=schedules_dir,
                                committed=committed)
             for file in calendar_files([schedules_dir])]
    return one_file_per_id(plans), effects


def config_failed(schedules_dir: Path, error: ConfigError) -> list[SourcePlan]:
    """Every calendar failed because config/ does not load, so nothing already scheduled is
    cancelled because of a typo in accounts.yaml."""
    schedules_dir = Path(schedules_dir)
    return [SourcePlan(str(f.relative_to(schedules_dir)), None, False, (), tuple(error.findings))
            for f in calendar_files([schedules_dir])]
