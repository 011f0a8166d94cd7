"""Lint many calendar files, on every core when there are enough of them.

A provincial council's repository can hold hundreds of calendars, and CI lints them all on
every merge request. Analysis is pure CPU work in Python, so one process uses one core: above
a few dozen files the files are shared out to worker processes. Each worker sends back only
what a lint reports (findings and counts), never the compiled jobs, which would cost more to
pickle than to compute again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import os
from pathlib import Path
from typing import Sequence

from worker.analysis import analyze_file
from worker.calendar.findings import Finding
from worker.calendar_root import given_folder
from worker.config_model import Config
from worker.costs import Counts, x_counts

#: Below this many files one process is quicker than starting workers (~50 ms each).
PARALLEL_FROM = 40

#: What a worker sends back for its files: (path, findings) per file, entries, jobs, and
#: what the X API will bill for them (``worker.costs.x_counts``).
_Chunk = tuple[list[tuple[str, tuple[Finding, ...]]], int, int, Counts]


@dataclasses.dataclass(frozen=True)
class LintResult:
    """What linting some files found: findings in file order, and how much was compiled."""

    files: int
    findings: tuple[Finding, ...]
    entries: int
    jobs: int
    #: per X account, what the X API will bill (``worker.costs``)
    x_counts: Counts = dataclasses.field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    @property
    def warnings(self) -> int:
        return len(self.findings) - self.errors


def default_workers() -> int:
    """The cores this process may run on (a container's CPU set, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def lint_files(files: Sequence[str | Path], config: Config | None, now: dt.datetime,
               workers: int | None = None, named: Sequence[str | Path] = ()) -> LintResult:
    """Analyze ``files`` and gather their findings, in parallel when it pays. ``named``: the
    paths the user named (folders or files), which say where each calendar's images may lie
    outside git (``worker.calendar_root``)."""
    files = [str(f) for f in files]
    named = tuple(str(p) for p in named)
    workers = default_workers() if workers is None else max(1, workers)
    # no more workers than there are files to keep each busy (20 or more apiece)
    workers = min(workers, max(1, len(files) // (PARALLEL_FROM // 2)))
    if workers <= 1 or len(files) < PARALLEL_FROM:
        return _merge(files, [_lint_chunk(files, config, now, named)])
    # imported here: a pre-commit run on a few files never pays for them
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    if "fork" not in multiprocessing.get_all_start_methods():  # pragma: no cover - Windows
        return _merge(files, [_lint_chunk(files, config, now, named)])
    # Warm up here, before forking: Babel's locale data, holiday tables and compiled regexes
    # are loaded once and every worker inherits them instead of loading its own.
    first = _lint_chunk(files[:1], config, now, named)
    rest = files[1:]
    # interleaved chunks: neighbouring files are often alike in size, so each worker gets a
    # fair share; one chunk per worker keeps the pool's messages to a minimum
    chunks = [rest[i::workers] for i in range(workers)]
    context = multiprocessing.get_context("fork")
    # forked workers inherit the configuration instead of unpickling it (it holds read-only
    # mappings, which do not pickle)
    # What the workers inherit is never garbage to them: frozen, their collector leaves it
    # alone instead of walking it (and copying every page it touches) again and again.
    gc.freeze()
    try:
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_inherit,
                                 initargs=(config, now, named)) as pool:
            parts = list(pool.map(_lint_inherited, chunks))
    except BrokenProcessPool:
        # a worker died (out of memory, killed): the answer still comes, from this process
        parts = [_lint_chunk(rest, config, now, named)]
    finally:
        gc.unfreeze()
    return _merge(files, [first] + parts)


_inherited: tuple[Config | None, dt.datetime, tuple[str, ...]] | None = None


def _inherit(config: Config | None, now: dt.datetime, named: tuple[str, ...] = ()) -> None:
    """A worker's start: take the inherited configuration and switch the cyclic collector
    off for good. The worker only analyses files, which makes no reference cycles
    (``tests/test_analysis_memory.py``), and exits when the lint is done."""
    global _inherited
    _inherited = (config, now, named)
    gc.disable()


def _lint_inherited(paths: Sequence[str]) -> _Chunk:
    assert _inherited is not None, "runs only in a worker set up by _inherit"
    return _lint_chunk(paths, *_inherited)


def _lint_chunk(paths: Sequence[str], config: Config | None, now: dt.datetime,
                named: Sequence[str] = ()) -> _Chunk:
    per_file = []
    entries = jobs = 0
    counts: Counts = {}
    for path in paths:
        result = analyze_file(path, config, now, given_folder=given_folder(path, named))
        per_file.append((path, result.findings))
        entries += len(result.compiled)
        for compiled in result.compiled:
            if not compiled.entry.archived:
                jobs += len(compiled.drafts)
                x_counts(compiled.drafts, into=counts)
    return per_file, entries, jobs, counts


def _merge(files: list[str], chunks: list[_Chunk]) -> LintResult:
    """One result, findings in the order the files were given (as a sequential run)."""
    by_file = {path: found for chunk in chunks for path, found in chunk[0]}
    findings = tuple(f for path in files for f in by_file[path])
    counts: Counts = {}
    for chunk in chunks:
        for account, row in chunk[3].items():
            total = counts.setdefault(account, [0, 0, 0])
            total[:] = [a + b for a, b in zip(total, row)]
    return LintResult(len(files), findings, sum(c[1] for c in chunks), sum(c[2] for c in chunks),
                      counts)
