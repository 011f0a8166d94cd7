"""Whatever is written in config/, loading it gives a configuration or findings (ConfigError),
never a traceback; and a configuration that loads lints the example calendars without one."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.lintkit import BASE, NOW
from worker.analysis import analyze_text
from worker.config import ConfigError, load_config

FIXTURES = Path(__file__).parent / "fixtures" / "config"
FILES = {name: (FIXTURES / name).read_text(encoding="utf-8").splitlines(keepends=True)
         for name in ("accounts.yaml", "departments.yaml", "policies.yaml")}
ROWS = [(name, i) for name, lines in FILES.items() for i in range(len(lines))]

values = st.one_of(
    st.text(max_size=20), st.integers(-10**4, 10**4), st.booleans(), st.none(),
    st.sampled_from(["2027-02-30 10:00", "25:00", "Europe/Madird", "[]", "{}", "[1, 2",
                     "{env: lower_case}", "{file: ''}", "{env: A, file: B}", "x:nadie",
                     "'unclosed", "*alias", "- a", "nadie", "0", "-5", "{text: ''}"]))
keys = st.sampled_from(["department", "also_departments", "languages", "credentials",
                        "options", "handle", "from", "to", "timezone", "allow", "reason",
                        "text", "hint", "default", "platforms", "name", "x:otra", "nada"])


def _load(files: dict[str, list[str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config_dir = Path(tmp) / "config"
        shutil.copytree(FIXTURES, config_dir)
        for name, lines in files.items():
            (config_dir / name).write_text("".join(lines), encoding="utf-8")
        try:
            config = load_config(config_dir)
        except ConfigError as exc:
            assert exc.findings and all(f.line >= 1 and f.code for f in exc.findings)
            return
    result = analyze_text(BASE, config, NOW, path="cal.yaml")
    assert all(f.line >= 1 and f.code for f in result.findings)


def _mutated(row: int, make) -> dict[str, list[str]]:
    name, index = ROWS[row]
    lines = list(FILES[name])
    lines[index] = make(lines[index])
    return {name: lines}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(ROWS) - 1), values)
def test_a_config_with_one_value_replaced_loads_or_gives_findings(row, value):
    def make(line: str) -> str:
        key, colon, _ = line.partition(":")
        return f"{key}: {value}\n" if colon else f"{value}\n"
    _load(_mutated(row, make))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(ROWS) - 1), keys)
def test_a_config_with_one_key_renamed_loads_or_gives_findings(row, key):
    def make(line: str) -> str:
        head, colon, rest = line.partition(":")
        if not colon:
            return line
        indent = head[:len(head) - len(head.lstrip(" -"))]
        return f"{indent}{key}:{rest}"
    _load(_mutated(row, make))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(ROWS) - 1), st.integers(0, 60))
def test_a_config_with_a_line_cut_loads_or_gives_findings(row, at):
    _load(_mutated(row, lambda line: line[:at] + "\n"))
