"""The deployment files, checked structurally (Docker is not available where the tests run:
`docker compose config` / `up` are not exercised here)."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest
import yaml

from worker.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def pregonero_services(compose: dict) -> dict:
    return {name: svc for name, svc in compose["services"].items() if name != "redis"}


def test_compose_runs_redis_7_with_an_aof_fsynced_on_every_write(compose):
    redis = compose["services"]["redis"]
    assert redis["image"].startswith("redis:7")
    command = redis["command"]
    assert command[0] == "redis-server"
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--appendfsync") + 1] == "always"
    assert any(v.endswith(":/data") for v in redis["volumes"])
    assert "redis-cli" in redis["healthcheck"]["test"]


def test_compose_has_a_dispatcher_and_a_worker_by_default_and_run_as_an_alternative(compose):
    services = pregonero_services(compose)
    assert set(services) == {"dispatcher", "worker", "run"}
    assert "profiles" not in services["dispatcher"] and "profiles" not in services["worker"]
    assert services["run"]["profiles"] == ["all-in-one"]
    assert [services[n]["command"][1] for n in ("dispatcher", "worker", "run")] == \
        ["dispatcher", "worker", "run"]


def test_every_pregonero_service_command_parses_with_the_real_cli(compose):
    for name, svc in pregonero_services(compose).items():
        program, sub, *args = svc["command"]
        assert program == "pregonero"
        command = cli.get_command(None, sub)
        assert command is not None, name
        command.make_context(sub, list(args))  # raises on an unknown option


def test_every_pregonero_service_shares_redis_home_volumes_and_waits_for_redis(compose):
    homes = set()
    for name, svc in pregonero_services(compose).items():
        env = svc["environment"]
        assert env["REDIS_URL"] == "redis://redis:6379/0", name
        homes.add(env["PREGONERO_HOME"])
        mounts = {v.split(":")[1] for v in svc["volumes"]}
        assert {"/srv/pregonero/schedules", "/srv/pregonero/config", env["PREGONERO_HOME"]} <= mounts
        assert svc["depends_on"]["redis"]["condition"] == "service_healthy"
        assert svc["build"] == "."
        assert int(svc["stop_grace_period"].rstrip("s")) >= 60, "in-flight posts need time"
    assert len(homes) == 1, "one PREGONERO_HOME path: it names the dramatiq queue"
    assert set(compose["volumes"]) == {"redis-data", "pregonero-home"}


def test_the_dockerfile_installs_the_package_on_python_3_11_slim_and_runs_pregonero():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()
             if line.strip() and not line.strip().startswith("#")]
    froms = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert froms and all(f == "python:3.11-slim" for f in froms)
    assert any("pip wheel" in line and line.endswith(" .") for line in lines)
    assert any(line.startswith("RUN pip install") for line in lines)
    assert lines[-1] == 'CMD ["pregonero", "run"]'
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".git" in ignored and ".venv" in ignored and "worker" not in ignored


def test_the_systemd_unit_runs_pregonero_run_and_lets_it_stop_its_own_redis():
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(ROOT / "deploy" / "pregonero.service")
    service = parser["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0].endswith("/pregonero") and argv[1] == "run"
    cli.get_command(None, "run").make_context("run", argv[2:])
    assert service["KillMode"] == "mixed" and service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) >= 60
    assert parser["Install"]["WantedBy"] == "multi-user.target"
