"""The layout's promises, checked: the import contracts in ``pyproject.toml``
(``[tool.importlinter]``: cli > ops > engine/corrections > plan > calendar, adapters apart) and
the calendar language's purity (it reads no clock: "now" is always passed in, which is what
makes a lint or a plan reproducible and testable at any instant)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: the modules that must give the same answer whenever they run
PURE = [*sorted((ROOT / "worker" / "calendar").glob("*.py")),
        ROOT / "worker" / "plan.py", ROOT / "worker" / "analysis.py",
        ROOT / "worker" / "jobs.py", ROOT / "worker" / "config_model.py"]
#: calls that read the clock, by what they are called on (``dt.time(9, 0)`` builds a time of
#: day and reads nothing)
CLOCK_READS = {"datetime": {"now", "utcnow", "today"}, "date": {"today"},
               "pendulum": {"now", "today", "tomorrow", "yesterday"},
               "time": {"time", "monotonic", "perf_counter", "time_ns"}}


def test_the_import_contracts_in_pyproject_hold():
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                               "sys.exit(lint_imports(no_cache=True))"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "7 kept, 0 broken" in result.stdout, result.stdout


def clock_reads(source: str) -> list[str]:
    """Each ``dt.datetime.now()``, ``time.time()``, ``pendulum.today()``... in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if node.func.attr in CLOCK_READS.get(name, ()):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("path", PURE, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_calendar_language_and_the_plan_never_read_the_clock(path):
    assert clock_reads(path.read_text(encoding="utf-8")) == []


def test_the_clock_check_sees_the_usual_ways_of_reading_the_clock():
    source = ("import datetime as dt, time, pendulum\n"
              "a = dt.datetime.now(dt.timezone.utc)\nb = time.time()\nc = pendulum.today()\n"
              "d = dt.date.today()\ne = dt.datetime(2027, 1, 1)\nf = dt.time(9, 0)\n")
    assert [r.split(":")[0] for r in clock_reads(source)] == ["line 2", "line 3", "line 4",
                                                              "line 5"]


def test_below_the_command_line_no_module_reads_the_deployment_s_settings_from_the_environment():
    # they are read once, by the CLI, into worker.settings.Settings and passed down
    from worker.settings import VARIABLES

    names = {variable for variable, _default in VARIABLES.values()}
    readers = []
    for path in sorted([*(ROOT / "worker").rglob("*.py"), *(ROOT / "adapters").rglob("*.py")]):
        relative = path.relative_to(ROOT)
        if relative.parts[:2] == ("worker", "cli") or relative.name == "settings.py":
            continue
        text = path.read_text(encoding="utf-8")
        readers += [f"{relative}: {name}" for name in names
                    if f'environ.get("{name}"' in text or f'environ["{name}"]' in text
                    or f'getenv("{name}"' in text]
    # the demo names its own folder under $PREGONERO_HOME when one is set (its doc says so)
    assert readers == ["worker/ops/demo.py: PREGONERO_HOME"]


def test_settings_are_read_from_the_environment_with_their_defaults(tmp_path):
    from worker.settings import Settings

    default = Settings.from_environment({})
    assert (default.home, default.schedules, default.config) == (
        Path(".pregonero").absolute(), Path("schedules"), Path("config"))
    assert default.redis_url is None and default.transport is None
    given = Settings.from_environment({"PREGONERO_HOME": str(tmp_path), "REDIS_URL": "redis://h:1",
                                       "PREGONERO_TRANSPORT": "live", "PREGONERO_CONFIG": "/c"})
    assert (given.home, given.redis_url, given.transport, given.config) == (
        tmp_path, "redis://h:1", "live", Path("/c"))
