"""The compiled plan of a schedules directory: per calendar file, its jobs or why it failed.

Pure apart from reading the files: ``now`` is a parameter, so ``plan``, ``rehearse`` and the
engine's sync compute exactly the same jobs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Iterable, Sequence

from worker.analysis import FileAnalysis, analyze_file, calendar_files
from worker.calendar.findings import Finding
from worker.calendar_root import given_folder
from worker.config import ConfigError, load_config
from worker.config_model import Config
from worker.jobs import Job


@dataclasses.dataclass(frozen=True)
class SourcePlan:
    """One calendar file's part of the plan. ``ok`` False means: keep its last good version."""

    path: str
    calendar_id: str | None
    ok: bool
    jobs: tuple[Job, ...]
    findings: tuple[Finding, ...]
    archived_entries: frozenset[str] = frozenset()
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
    seen_ids: dict[str, str] = {}
    for file in calendar_files(paths):
        shown = str(file.relative_to(root)) if root and file.is_relative_to(root) else str(file)
        plan = source_plan(analyze_file(file, config, now, display_path=shown,
                                        given_folder=given_folder(file, paths)), shown)
        if plan.calendar_id and plan.calendar_id in seen_ids:
            finding = Finding(shown, 1, 1, "error", f"calendar id '{plan.calendar_id}' is already "
                              f"used by {seen_ids[plan.calendar_id]}", "duplicate-calendar",
                              "every calendar needs its own id")
            plan = dataclasses.replace(plan, ok=False, jobs=(),
                                       findings=plan.findings + (finding,))
        elif plan.calendar_id:
            seen_ids[plan.calendar_id] = shown
        plans.append(plan)
    return plans


def compile_directory(schedules_dir: Path, config_dir: Path, now: dt.datetime) -> list[SourcePlan]:
    """The engine's entry point: the whole schedules directory with its config.

    A broken config/ makes every calendar fail (ok False), so nothing already scheduled is
    cancelled because of a typo in accounts.yaml."""
    schedules_dir = Path(schedules_dir)
    try:
        config = load_config(config_dir)
    except ConfigError as exc:
        return [SourcePlan(str(f.relative_to(schedules_dir)), None, False, (), tuple(exc.findings))
                for f in calendar_files([schedules_dir])]
    return compile_paths([schedules_dir], config, now, root=schedules_dir)


def all_jobs(plans: Iterable[SourcePlan]) -> list[Job]:
    return sorted((j for p in plans for j in p.jobs), key=lambda j: (j.due_utc, j.id))


def plan_json(plans: Iterable[SourcePlan]) -> str:
    """``{"jobs": [...]}``, sorted and byte-identical between runs of the same input."""
    jobs = [dict(job.as_dict(), content_hash=job.content_hash) for job in all_jobs(plans)]
    return json.dumps({"jobs": jobs}, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
