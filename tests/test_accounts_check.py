"""``pregonero accounts check``: every account verified, a table, never a secret printed."""

from __future__ import annotations

import json

import responses
from click.testing import CliRunner

from worker.cli.main import cli

TOKEN = "tok-SECRET-never-printed-987"

ACCOUNTS = """\
accounts:
  x:ayto-test:
    handle: "@AytoTest"
    department: comunicacion
    transport: live
    credentials:
      consumer_key: {env: T_X_CK}
      consumer_secret: {env: T_X_CS}
      access_token: {env: T_X_AT}
      access_token_secret: {env: T_X_ATS}
  facebook:ayto-test:
    handle: AytoTest
    department: comunicacion
    transport: live
    credentials:
      page_access_token: {env: T_FB_MISSING}
    options: {page_id: "1234"}
  telegram:ayto-test:
    handle: "@aytotest"
    department: comunicacion
"""


def write_config(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "accounts.yaml").write_text(ACCOUNTS, encoding="utf-8")
    (config / "departments.yaml").write_text("departments:\n  comunicacion: {name: Prensa}\n")
    return config


@responses.activate
def test_accounts_check_verifies_each_account_and_names_missing_variables(tmp_path, monkeypatch):
    for name in ("T_X_CK", "T_X_CS", "T_X_AT", "T_X_ATS"):
        monkeypatch.setenv(name, TOKEN)
    monkeypatch.delenv("T_FB_MISSING", raising=False)
    monkeypatch.setenv("PREGONERO_HOME", str(tmp_path / "home"))
    responses.get("https://api.twitter.com/2/users/me",
                  json={"data": {"id": "2244994945", "name": "Ayto", "username": "AytoTest"}})
    result = CliRunner().invoke(cli, ["accounts", "check", "--config", str(write_config(tmp_path)),
                                      "--json"])
    assert result.exit_code == 1, result.output
    rows = {row["account"]: row for row in json.loads(result.output)}
    assert rows["x:ayto-test"]["ok"] and "@AytoTest" in rows["x:ayto-test"]["detail"]
    assert rows["x:ayto-test"]["transport"] == "live"
    assert not rows["facebook:ayto-test"]["ok"]
    assert "T_FB_MISSING" in rows["facebook:ayto-test"]["detail"]
    assert rows["telegram:ayto-test"]["transport"] == "outbox" and rows["telegram:ayto-test"]["ok"]
    assert TOKEN not in result.output


def test_accounts_check_exits_zero_when_every_account_answers(tmp_path, monkeypatch):
    monkeypatch.setenv("PREGONERO_HOME", str(tmp_path / "home"))
    config = write_config(tmp_path)
    result = CliRunner().invoke(cli, ["accounts", "check", "--config", str(config),
                                      "--transport", "outbox"])
    # the two accounts with transport: live keep it; only the outbox one passes without network
    assert "telegram:ayto-test" in result.output and "FAILED" in result.output
    (config / "accounts.yaml").write_text(ACCOUNTS.replace("    transport: live\n", ""))
    result = CliRunner().invoke(cli, ["accounts", "check", "--config", str(config),
                                      "--transport", "outbox"])
    assert result.exit_code == 0, result.output
