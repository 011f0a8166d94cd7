"""Linting many files on several cores reports exactly what one process reports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner

from worker.analysis import analyze_file, calendar_files
from worker.cli.main import cli
from worker.config import load_config
from worker.lint_run import PARALLEL_FROM, lint_files

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)


def _many_calendars(tmp_path: Path) -> list[Path]:
    """Copies of the examples, every third one broken, enough of them to go parallel."""
    sources = calendar_files([ROOT / "schedules"])
    files = []
    for i in range(PARALLEL_FROM + 10):
        text = sources[i % len(sources)].read_text(encoding="utf-8")
        if i % 3 == 0:  # a misspelt time zone
            text = text.replace("Europe/Madrid", "Europe/Madird")
        target = tmp_path / f"{i:03d}.yaml"
        target.write_text(text, encoding="utf-8")
        files.append(target)
    return files


def test_parallel_lint_reports_the_same_findings_in_the_same_order(tmp_path):
    config = load_config(ROOT / "config")
    files = _many_calendars(tmp_path)
    sequential = lint_files(files, config, NOW, workers=1)
    parallel = lint_files(files, config, NOW, workers=2)
    assert parallel.findings == sequential.findings
    assert sequential.findings, "the broken fixtures must give findings"
    assert (parallel.entries, parallel.jobs) == (sequential.entries, sequential.jobs) != (0, 0)
    expected = tuple(f for file in files for f in analyze_file(file, config, NOW).findings)
    assert sequential.findings == expected


def test_few_files_are_linted_without_starting_workers(tmp_path, monkeypatch):
    import concurrent.futures

    def refuse(*args, **kwargs):
        raise AssertionError("a pool was started for a handful of files")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", refuse)
    files = calendar_files([ROOT / "schedules"])
    result = lint_files(files, load_config(ROOT / "config"), NOW, workers=8)
    assert result.files == len(files) and result.errors == 0


def test_lint_command_takes_a_number_of_processes(tmp_path):
    files = _many_calendars(tmp_path)
    runner = CliRunner()
    args = ["lint", str(tmp_path), "--config", str(ROOT / "config"), "--now", NOW.isoformat()]
    one = runner.invoke(cli, args + ["--jobs", "1"])
    two = runner.invoke(cli, args + ["-j", "2"])
    assert one.exit_code == two.exit_code == 1
    assert one.output == two.output
    assert f"{len(files)} file(s)" in one.output


def _die(paths):
    import os

    os._exit(3)


def test_a_worker_that_dies_does_not_lose_the_answer(tmp_path, monkeypatch):
    import worker.lint_run as lint_run

    config = load_config(ROOT / "config")
    files = _many_calendars(tmp_path)
    expected = lint_files(files, config, NOW, workers=1)
    monkeypatch.setattr(lint_run, "_lint_inherited", _die)  # each worker dies on its chunk
    assert lint_files(files, config, NOW, workers=2) == expected
