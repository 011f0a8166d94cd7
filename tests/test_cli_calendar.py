"""The editors' commands as editors run them: exit codes, output formats, determinism."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.lintkit import BASE, FIXTURES, replace
from worker.calendar.schema import json_schema_text
from worker.cli.main import cli

ROOT = Path(__file__).parent.parent
NOW = "2027-01-10T09:00:00Z"


@pytest.fixture
def calendars(tmp_path):
    (tmp_path / "good.yaml").write_text(BASE, encoding="utf-8")
    return tmp_path


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_lint_exits_zero_on_a_clean_calendar(calendars):
    result = run("lint", str(calendars), "--config", str(FIXTURES / "config"), "--now", NOW)
    assert result.exit_code == 0, result.output


def test_lint_exits_one_and_prints_path_line_col_and_hint_on_errors(calendars):
    bad = calendars / "bad.yaml"
    bad.write_text(replace("Europe/Madrid", "Europe/Madird"), encoding="utf-8")
    result = run("lint", str(bad), "--config", str(FIXTURES / "config"), "--now", NOW)
    assert result.exit_code == 1
    first, hint = result.output.splitlines()[:2]
    assert first.startswith(f"{bad}:5:13: error: ") and first.endswith("[unknown-timezone]")
    assert hint.strip().startswith("hint:") and "Europe/Madrid" in hint


def test_lint_exits_two_on_usage_errors(calendars):
    assert run("lint", "--format", "xml", str(calendars)).exit_code == 2
    assert run("lint", str(calendars / "nope.yaml")).exit_code == 2
    assert run("lint", str(calendars), "--now", "yesterday").exit_code == 2


def test_lint_json_lists_every_finding_field(calendars):
    bad = calendars / "bad.yaml"
    bad.write_text(replace("publicacion: 2027-03-12", "publicacion: 2027-02-30"), encoding="utf-8")
    result = run("lint", str(bad), "--config", str(FIXTURES / "config"), "--now", NOW,
                 "--format", "json")
    data = json.loads(result.output)
    assert data["errors"] >= 1 and data["files"] == 1
    finding = data["findings"][0]
    assert set(finding) == {"path", "line", "col", "severity", "message", "code", "hint"}
    assert finding["code"] == "impossible-date" and finding["line"] == 14


def test_plan_json_is_sorted_and_byte_identical_between_runs(calendars):
    args = ("plan", str(calendars), "--config", str(FIXTURES / "config"), "--now", NOW, "--json")
    first, second = run(*args), run(*args)
    assert first.exit_code == 0 and first.output == second.output
    jobs = json.loads(first.output)["jobs"]
    assert [(j["due_utc"], j["id"]) for j in jobs] == sorted((j["due_utc"], j["id"]) for j in jobs)


def test_plan_splits_x_per_language_and_combines_facebook(calendars):
    result = run("plan", str(calendars), "--config", str(FIXTURES / "config"), "--now", NOW, "--json")
    jobs = {j["id"]: j for j in json.loads(result.output)["jobs"]}
    assert "test-ayudas/anuncio/x:ayto-test/es" in jobs
    assert "test-ayudas/anuncio/x:ayto-test/ca" in jobs
    combined = jobs["test-ayudas/anuncio/facebook:ayto-test/es+ca"]
    assert combined["text"].index("Ayudas de hasta") < combined["text"].index("Ajudes de fins")


def test_plan_counts_the_deadline_in_valencian_business_days_across_easter(calendars):
    # Published 2027-03-12; 20 business days in the Valencian Community skip 19 March
    # (San José), 26 March (Viernes Santo) and 29 March (Lunes de Pascua): 14 April 2027.
    result = run("plan", str(calendars), "--config", str(FIXTURES / "config"), "--now", NOW, "--json")
    jobs = json.loads(result.output)["jobs"]
    reminder = next(j for j in jobs if j["id"] == "test-ayudas/recordatorio/x:ayto-test/es")
    assert reminder["depends_on"]["plazo_fin"] == "2027-04-14"
    assert reminder["due_local"].startswith("2027-04-11 10:00")
    assert "miércoles, 14 de abril de 2027" in reminder["text"]
    reminder_ca = next(j for j in jobs if j["id"] == "test-ayudas/recordatorio/x:ayto-test/ca")
    assert "dimecres, 14 d’abril del 2027" in reminder_ca["text"]


def test_plan_marks_go_live_jobs_with_the_official_url(calendars):
    result = run("plan", str(calendars), "--config", str(FIXTURES / "config"), "--now", NOW, "--json")
    golive = next(j for j in json.loads(result.output)["jobs"] if j["entry"] == "abierto")
    assert golive["kind"] == "golive"
    assert golive["official_url"] == "https://sede.example.org/ayudas"
    # one calendar day after Friday 12 March is Saturday 13: art. 30.5 moves it to Monday 15.
    assert golive["due_local"].startswith("2027-03-15 09:00")


def test_the_published_json_schema_is_the_one_the_linter_uses():
    assert (ROOT / "docs" / "calendar.schema.json").read_text(encoding="utf-8") == json_schema_text()


def test_the_command_line_entry_point_answers_help_everywhere():
    for args in ([], ["lint"], ["plan"], ["schema"]):
        out = subprocess.run([sys.executable, "-m", "worker.cli.main", *args, "--help"],
                             capture_output=True, text=True, cwd=ROOT)
        assert out.returncode == 0 and "Usage:" in out.stdout


def test_plan_as_a_table_explains_how_each_deadline_was_counted(calendars):
    result = run("plan", str(calendars), "--config", str(FIXTURES / "config"), "--now", NOW)
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "test-ayudas: plazo_fin = 2027-04-14: 20 business days" in flat
    assert "Lunes de Pascua" in flat
