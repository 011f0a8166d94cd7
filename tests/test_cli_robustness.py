"""Every subcommand answers nonsense, missing files, impossible dates and an unreachable Redis
with a message and an exit code, never a traceback (on-call staff run these at night)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from worker.cli.main import COMMANDS, cli

#: long-running services: their start-up is tested elsewhere
SERVICES = {"run", "worker", "dispatcher", "metrics", "demo"}

NONSENSE = [
    [], ["nada"], ["--now", "ayer"], ["--json"], ["--config", "/nonexistent"],
    ["/nonexistent.yaml"], ["schedules/calp/ayudas-comercio-2027.yaml", "x", "y"],
    ["--day", "2027-02-30"], ["--from", "2027-13-01", "--to", "2027-01-01"], ["--week", "x"],
    ["ayudas", "plazo", "2027-02-30", "--reason", "r", "--by", "b", "--dry-run"],
    ["--all", "--reason", "r", "--by", "b"], ["-j", "0"], ["--format", "xml"],
    ["--html", "/proc/no-se-puede"],
]


@pytest.mark.parametrize("command", sorted(set(COMMANDS) - SERVICES))
def test_a_command_given_nonsense_answers_with_a_message_not_a_traceback(command, tmp_path):
    # a closed port: every command that needs Redis must say it cannot reach it
    env = {"PREGONERO_HOME": str(tmp_path / "home"), "REDIS_URL": "redis://127.0.0.1:1/0"}
    for args in NONSENSE:
        result = CliRunner().invoke(cli, [command, *args], env=env)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            f"pregonero {command} {' '.join(args)} raised {result.exception!r}")
        assert "Traceback" not in result.output
        assert result.exit_code == 0 or result.output.strip(), (
            f"pregonero {command} {' '.join(args)} failed without saying why")
