"""Path arguments read exactly what was named: ``pregonero lint ../sched`` from a sibling
folder, ``plan .``, ``run --schedules ../sched`` and the engine's own sync all see the same
calendars as the absolute path would; hidden folders *inside* are skipped; a path that holds no
calendar is a usage error (exit 2), never a green "0 file(s)" that lets CI pass unchecked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.lintkit import BASE, FIXTURES, replace
from worker.analysis import calendar_files
from worker.cli.main import cli

NOW = "2027-01-10T09:00:00Z"
CONFIG = str(FIXTURES / "config")


@pytest.fixture
def tree(tmp_path):
    """tmp/sched/{good.yaml, sub/bad.yaml, .backup/old.yaml} and an empty tmp/work/."""
    sched = tmp_path / "sched"
    (sched / "sub").mkdir(parents=True)
    (sched / ".backup").mkdir()
    (sched / "good.yaml").write_text(BASE, encoding="utf-8")
    (sched / "sub" / "bad.yaml").write_text(replace("Europe/Madrid", "Europe/Madird"),
                                            encoding="utf-8")
    (sched / ".backup" / "old.yaml").write_text("calendar: [broken", encoding="utf-8")
    (tmp_path / "work").mkdir()
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_lint_of_a_parent_relative_folder_lints_every_calendar_in_it(tree, monkeypatch):
    monkeypatch.chdir(tree / "work")
    result = invoke("lint", "../sched", "--config", CONFIG, "--now", NOW)
    assert result.exit_code == 1, result.output  # sub/bad.yaml has an error
    assert "2 file(s): 1 error(s)" in result.output
    assert "../sched/sub/bad.yaml:" in result.output and "Europe/Madird" in result.output


def test_lint_of_dot_inside_the_folder_lints_the_same_files(tree, monkeypatch):
    monkeypatch.chdir(tree / "sched")
    result = invoke("lint", ".", "--config", CONFIG, "--now", NOW)
    assert "2 file(s): 1 error(s)" in result.output


def test_hidden_folders_inside_a_named_folder_are_still_skipped(tree, monkeypatch):
    monkeypatch.chdir(tree / "work")
    result = invoke("lint", "../sched", "--config", CONFIG, "--now", NOW)
    assert ".backup" not in result.output


def test_plan_of_a_parent_relative_folder_prints_its_jobs(tree, monkeypatch):
    (tree / "sched" / "sub" / "bad.yaml").unlink()
    monkeypatch.chdir(tree / "work")
    result = invoke("plan", "../sched", "--config", CONFIG, "--now", NOW, "--json")
    assert result.exit_code == 0, result.output
    assert '"account"' in result.output


@pytest.mark.parametrize("command", ["lint", "plan"])
def test_a_folder_without_calendars_is_a_usage_error_not_a_green_run(tree, command):
    empty = tree / "work"
    (empty / "README.md").write_text("no calendars here")
    result = invoke(command, str(empty), "--config", CONFIG, "--now", NOW)
    assert result.exit_code == 2
    assert "no calendar" in result.output and str(empty) in result.output


@pytest.mark.parametrize("command", ["lint", "plan"])
def test_a_folder_holding_only_hidden_calendars_is_a_usage_error(tree, command):
    only_hidden = tree / "sched" / ".backup"
    parent = only_hidden.parent / "hidden-only"
    (parent / ".drafts").mkdir(parents=True)
    (parent / ".drafts" / "draft.yaml").write_text(BASE, encoding="utf-8")
    result = invoke(command, str(parent), "--config", CONFIG, "--now", NOW)
    assert result.exit_code == 2 and "hidden folders inside are skipped" in result.output


@pytest.mark.parametrize("command", ["lint", "plan"])
def test_a_path_that_does_not_exist_is_a_usage_error(tree, command):
    result = invoke(command, str(tree / "nowhere"), "--config", CONFIG, "--now", NOW)
    assert result.exit_code == 2 and "nowhere" in result.output


def test_run_refuses_to_watch_a_folder_without_calendars(tree):
    # a child process with a timeout: a regression would start the service and never return
    env = {**os.environ, "PREGONERO_HOME": str(tree / "home")}
    env.pop("REDIS_URL", None)
    result = subprocess.run([sys.executable, "-m", "worker.cli.main", "run", "--schedules",
                             str(tree / "work"), "--config", CONFIG], env=env, timeout=60,
                            capture_output=True, text=True)
    assert result.returncode == 2 and "no calendar" in result.stderr
    assert not (tree / "home").exists()  # refused before anything started


def test_the_engine_compiles_a_parent_relative_schedules_folder(tree, monkeypatch,
                                                                redis_server):
    from worker.corrections.overrides import engine_compile
    from worker.engine.store import Store

    import datetime as dt

    (tree / "sched" / "sub" / "bad.yaml").unlink()
    monkeypatch.chdir(tree / "work")
    plans = engine_compile(Store(redis_server.client()), Path("../sched"), Path(CONFIG),
                           dt.datetime(2027, 1, 10, 9, tzinfo=dt.timezone.utc))
    assert [p.path for p in plans] == ["good.yaml"] and plans[0].jobs


# --- the file walker, over generated spellings of the same folder ---------------------------

SEGMENTS = st.lists(st.sampled_from(["a", "b", ".", "..", "x/.."]), max_size=4)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(detour=SEGMENTS)
def test_any_spelling_of_a_folder_finds_the_same_calendars(tree, detour):
    """``work/<detour>/../sched`` and friends name tmp/sched whatever dots they carry."""
    base = tree / "work"
    # walk the detour from work/ (creating the folders it names: a path through a missing
    # folder names nothing), then climb back to tmp/ and into sched/
    spelled, depth = Path("."), 0
    for segment in detour:
        for part in segment.split("/"):
            if part == "..":
                if depth == 0:
                    continue  # never climb out of work/ during the detour
                depth -= 1
            elif part != ".":
                depth += 1
            spelled = spelled / part
            (base / spelled).mkdir(parents=True, exist_ok=True)
    spelled = spelled.joinpath(*([".."] * (depth + 1)), "sched")
    cwd = os.getcwd()
    try:
        os.chdir(base)
        found = sorted(p.resolve() for p in calendar_files([spelled]))
    finally:
        os.chdir(cwd)
    expected = sorted(p.resolve() for p in calendar_files([tree / "sched"]))
    assert found == expected and len(found) == 2
