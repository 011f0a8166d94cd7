"""config/ is checked like a calendar: each mistake with its file, line and column, a hint,
and never the value of a secret pasted where its name should be."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from worker.cli.main import cli
from worker.config import ConfigError, load_config

FIXTURES = Path(__file__).parent / "fixtures"
PASTED = "AAAAAAAAAAAAAAAAAAAAAF7x9pasted0token0value"
PASTED_AS_NAME = "ghp_Abc123PastedWhereTheVariableNameGoes"

MALFORMED = f"""accounts:
  x:ayto-test: {{handle: "@AytoTest", department: comunicacion}}
  twitter-ayto: {{handle: "@Ayto", department: comunicacion}}
  x:ayto-cultura: {{handle: "@AytoCultura", department: comunicacion, languages: [español]}}
  x:ayto-otra:
    handle: "@AytoOtra"
    department: comunicacion
    credentials: {{bearer_token: {{env: {PASTED_AS_NAME}}}}}
  mastodon:ayto-test:
    handle: "@ayto@social.example.org"
    department: comunicacion
    credentials:
      access_token: "{PASTED}"
"""

INCONSISTENT = """accounts:
  x:ayto-test: {handle: "@AytoTest", department: comunicacion}
  x:ayto-deportes:
    handle: "@AytoDeportes"
    department: deportes
  mastodon:ayto-otra:
    handle: "@otra@social.example.org"
    department: comunicacion
    options: {instance: "https://social.example.org", text_limit: 0}
"""


def config_with(tmp_path, accounts: str) -> Path:
    config = tmp_path / "config"
    shutil.copytree(FIXTURES / "config", config)
    (config / "accounts.yaml").write_text(accounts, encoding="utf-8")
    return config


def findings_of(config: Path):
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    return caught.value.findings


def test_malformed_accounts_are_reported_where_they_are_without_quoting_secrets(tmp_path):
    findings = findings_of(config_with(tmp_path, MALFORMED))
    by_line = {f.line: f for f in findings}
    assert by_line[3].code == "unknown-key" and "twitter-ayto" in by_line[3].message
    assert "has the wrong form: 'español'" in by_line[4].message
    assert by_line[4].hint == "language tag"
    # a token pasted where the variable's name goes, and one pasted instead of {env: ...}
    assert "wrong form" in by_line[8].message and "PREGONERO_X_TOKEN" in by_line[8].hint
    assert "must be a secret reference" in by_line[13].message
    everything = "\n".join(f.format() for f in findings)
    assert PASTED[:12] not in everything and PASTED_AS_NAME[:12] not in everything


def test_accounts_with_impossible_options_or_unknown_departments_are_reported(tmp_path):
    findings = findings_of(config_with(tmp_path, INCONSISTENT))
    found = {(f.code, f.line) for f in findings}
    assert found == {("unknown-department", 5), ("bad-account", 7)}
    (department,) = [f for f in findings if f.code == "unknown-department"]
    assert "deportes" in department.message and "departments.yaml" in department.hint
    (limit,) = [f for f in findings if f.code == "bad-account"]
    assert "text_limit must be a positive integer" in limit.message


def test_lint_with_a_broken_config_fails_with_the_findings_and_no_secret(tmp_path):
    config = config_with(tmp_path, MALFORMED)
    result = CliRunner().invoke(cli, ["lint", str(FIXTURES.parent.parent / "schedules"),
                                      "--config", str(config)])
    assert result.exit_code == 1
    assert "accounts.yaml:13:" in result.output and "[wrong-type]" in result.output
    assert PASTED[:12] not in result.output and PASTED_AS_NAME[:12] not in result.output
