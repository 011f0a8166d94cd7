"""The engine's CLI: sync, status, pause/resume on a throwaway redis-server, and `pregonero
run` as a real subprocess publishing to the outbox and stopping cleanly on SIGTERM."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from tests.enginekit import wait_for
from worker.cli.main import cli
from worker.plan import all_jobs, compile_directory
from worker.engine.redis_server import free_port

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def deployment(tmp_path):
    """Copies of the example calendars and config, and a home, in tmp."""
    shutil.copytree(ROOT / "schedules", tmp_path / "schedules")
    shutil.copytree(ROOT / "config", tmp_path / "config")
    return tmp_path


@pytest.fixture
def invoke(redis_server, deployment):
    env = {"REDIS_URL": redis_server.url, "PREGONERO_HOME": str(deployment / "home"),
           "PREGONERO_SCHEDULES": str(deployment / "schedules"),
           "PREGONERO_CONFIG": str(deployment / "config")}

    def run(*args):
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    return run


def status_json(invoke) -> dict:
    result = invoke("status", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def expected_jobs(deployment):
    plans = compile_directory(deployment / "schedules", deployment / "config",
                              dt.datetime.now(dt.timezone.utc))
    return all_jobs(plans)


def test_sync_then_status_reports_every_field(invoke, deployment, redis_server):
    jobs = expected_jobs(deployment)
    result = invoke("sync")
    assert result.exit_code == 0, result.output
    assert f"adds {len(jobs)}" in result.output
    status = status_json(invoke)
    assert status["redis"] == {"reachable": True, "url": redis_server.url}
    assert status["jobs"] == {"total": len(jobs), "by_state": {"scheduled": len(jobs)}}
    assert status["last_sync"]["counts"]["adds"] == len(jobs)
    assert status["last_sync"]["refused"] is None and status["last_sync"]["conflicts"] == 0
    assert dt.datetime.fromisoformat(status["last_sync"]["at"]) <= dt.datetime.now(dt.timezone.utc)
    assert status["calendars_failing"] == {}
    calendars = sorted(p.relative_to(deployment / "schedules").as_posix()
                       for p in (deployment / "schedules").rglob("*.yaml"))
    assert sorted(status["calendars"]) == calendars
    assert sum(c["jobs"] for c in status["calendars"].values()) == len(jobs)
    assert status["pauses"] == {} and status["held"] == [] and status["uncertain"] == []
    assert status["failed"] == [] and status["attention"] is False
    again = invoke("sync")
    assert again.exit_code == 0 and "adds" not in again.output


def test_a_calendar_that_fails_to_load_is_listed_with_its_findings_and_sync_exits_1(invoke, deployment):
    assert invoke("sync").exit_code == 0
    scheduled = status_json(invoke)["jobs"]["by_state"]["scheduled"]
    victim = deployment / "schedules" / "calp" / "pleno-mayo-2027.yaml"
    victim.write_text(victim.read_text().replace("timezone: Europe/Madrid", "timezone: Europe/Madird"))
    result = invoke("sync")
    assert result.exit_code == 1
    assert "calp/pleno-mayo-2027.yaml: failed to load; its last good version stays scheduled" in result.output
    assert "Europe/Madird" in result.output
    status = status_json(invoke)
    assert list(status["calendars_failing"]) == ["calp/pleno-mayo-2027.yaml"]
    assert any("Europe/Madird" in f for f in status["calendars_failing"]["calp/pleno-mayo-2027.yaml"])
    assert status["jobs"]["by_state"] == {"scheduled": scheduled}, "nothing was cancelled"
    assert status["attention"] is True


def test_pause_and_resume_through_the_cli_hold_and_release_an_account(invoke, deployment):
    assert invoke("sync").exit_code == 0
    on_account = [j for j in expected_jobs(deployment) if j.account == "x:ayto-calp"]
    result = invoke("pause", "--account", "x:ayto-calp", "--reason", "cuenta comprometida",
                    "--by", "ana")
    assert result.exit_code == 0, result.output
    assert f"{len(on_account)} pending post(s) held" in result.output
    status = status_json(invoke)
    assert status["pauses"]["account:x:ayto-calp"]["reason"] == "cuenta comprometida"
    assert status["pauses"]["account:x:ayto-calp"]["by"] == "ana"
    assert sorted(row["job_id"] for row in status["held"]) == sorted(j.id for j in on_account)
    assert {row["reason"] for row in status["held"]} == {"paused"}
    assert status["jobs"]["by_state"]["held"] == len(on_account)
    result = invoke("resume", "--account", "x:ayto-calp", "--by", "luis")
    assert result.exit_code == 0, result.output
    assert f"{len(on_account)} released, 0 sent late, 0 skipped" in result.output
    status = status_json(invoke)
    assert status["pauses"] == {} and status["held"] == []
    assert "held" not in status["jobs"]["by_state"]


@pytest.mark.parametrize("args", [["pause", "--reason", "r", "--by", "a"],
                                  ["pause", "--all", "--account", "x:a", "--reason", "r", "--by", "a"],
                                  ["pause", "--all", "--by", "a"],
                                  ["resume", "--all"]])
def test_pause_and_resume_usage_errors_exit_2(invoke, args):
    assert invoke(*args).exit_code == 2


def test_status_exits_1_when_redis_is_not_reachable(tmp_path):
    url = f"redis://127.0.0.1:{free_port()}/0"
    result = CliRunner().invoke(cli, ["status", "--json"], env={"REDIS_URL": url,
                                "PREGONERO_HOME": str(tmp_path)})
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["redis"]["reachable"] is False and report["redis"]["url"] == url


def test_every_engine_command_has_help():
    for command in ("run", "sync", "worker", "dispatcher", "pause", "resume", "status", "demo"):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, command


def small_calendar(directory: Path, first_in_s: float) -> None:
    """One entry due ``first_in_s`` from now, on X (one post per language) and Telegram."""
    local = (dt.datetime.now(ZoneInfo("Europe/Madrid")) + dt.timedelta(seconds=first_in_s))
    directory.mkdir(parents=True)
    (directory / "aviso.yaml").write_text(f"""
calendar:
  id: calp-aviso-prueba
  title: {{es: "Aviso de prueba", ca: "Avís de prova"}}
  department: comunicacion
  timezone: Europe/Madrid
  languages: [es, ca]
  holidays: {{region: ES-VC}}
  sources: ["https://www.calp.es/"]
  hashtags: ["#Calp"]
entries:
  - id: corte-agua
    category: service
    at: "{local.strftime('%Y-%m-%d %H:%M:%S')}"
    accounts: [x:ayto-calp, telegram:ayto-calp]
    text:
      es: "Corte de agua en la calle Mayor de 10 a 12 h."
      ca: "Tall d'aigua al carrer Major de 10 a 12 h."
""", encoding="utf-8")


def test_pregonero_run_publishes_to_the_outbox_and_exits_0_on_sigterm(tmp_path):
    schedules, home = tmp_path / "schedules", tmp_path / "home"
    small_calendar(schedules, 4.0)
    jobs = all_jobs(compile_directory(schedules, ROOT / "config", dt.datetime.now(dt.timezone.utc)))
    assert len(jobs) == 3
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PREGONERO_TRANSPORT")}
    env.update(PREGONERO_HOME=str(home), PYTHONUNBUFFERED="1")
    out_path = tmp_path / "stdout.txt"
    metrics_port = free_port()
    with open(out_path, "w") as out, open(tmp_path / "stderr.txt", "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "worker.cli.main", "run", "--schedules",
                                 str(schedules), "--config", str(ROOT / "config"),
                                 "--metrics-port", str(metrics_port)],
                                stdout=out, stderr=err, env=env, cwd=tmp_path)
    outbox = home / "outbox.jsonl"
    try:
        def posts():
            if not outbox.exists():
                return []
            return [json.loads(line) for line in outbox.read_text().splitlines()]

        wait_for(lambda: len(posts()) >= 3 or proc.poll() is not None, timeout_s=30, what="posts")
        assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()[-3000:]
        wait_for(lambda: out_path.read_text().count("published") >= 3, timeout_s=5,
                 what="a readable line per post")
        base = f"http://127.0.0.1:{metrics_port}"
        with urllib.request.urlopen(base + "/healthz", timeout=5) as health:
            assert health.status == 200
        with urllib.request.urlopen(base + "/metrics", timeout=5) as scraped:
            assert 'pregonero_jobs{state="published"} 3.0' in scraped.read().decode()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, (tmp_path / "stderr.txt").read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    records = posts()
    assert sorted(r["job_id"] for r in records) == sorted(j.id for j in jobs)
    for record in records:
        assert dt.datetime.fromisoformat(record["at"]) >= dt.datetime.fromisoformat(record["due"])
    stdout = out_path.read_text()
    assert f"outbox: {outbox}" in stdout
    assert "scheduled: 3 post(s); next at " in stdout
    assert "x:ayto-calp" in stdout and "Corte de agua en la calle Mayor" in stdout
    assert stdout.rstrip().endswith("stopped cleanly")
    pid_file = home / "redis" / "redis.pid"
    time.sleep(0)  # the embedded redis-server is shut down by the service, not left behind
    assert not pid_file.exists() or not _alive(int(pid_file.read_text().strip() or 0))


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_dispatcher_and_a_worker_process_share_a_redis_url_and_both_stop_with_0(tmp_path, redis_server):
    schedules, home = tmp_path / "schedules", tmp_path / "home"
    small_calendar(schedules, 4.0)
    jobs = all_jobs(compile_directory(schedules, ROOT / "config", dt.datetime.now(dt.timezone.utc)))
    env = {k: v for k, v in os.environ.items() if k != "PREGONERO_TRANSPORT"}
    env.update(PREGONERO_HOME=str(home), REDIS_URL=redis_server.url, PYTHONUNBUFFERED="1")
    base = [sys.executable, "-m", "worker.cli.main"]
    procs = []
    try:
        for args in (["dispatcher", "--schedules", str(schedules), "--config", str(ROOT / "config")],
                     ["worker", "--config", str(ROOT / "config")]):
            log = open(tmp_path / f"{args[0]}.log", "w")
            procs.append(subprocess.Popen(base + args, stdout=log, stderr=log, env=env, cwd=tmp_path))
        outbox = home / "outbox.jsonl"
        wait_for(lambda: outbox.exists() and len(outbox.read_text().splitlines()) >= len(jobs),
                 timeout_s=30, what="posts from the worker process")
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        assert [proc.wait(timeout=30) for proc in procs] == [0, 0]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    records = [json.loads(line) for line in outbox.read_text().splitlines()]
    assert sorted(r["job_id"] for r in records) == sorted(j.id for j in jobs)
    assert "post_published" in (tmp_path / "worker.log").read_text()


def test_an_accounts_own_transport_wins_over_the_deployment_default(tmp_path):
    from adapters.accounts import AccountConfig
    from adapters.ics import IcsAdapter
    from adapters.outbox import OutboxAdapter
    from tests.enginekit import make_job, utc_in
    from worker.engine.service import adapter_factory

    config = tmp_path / "config"
    config.mkdir()
    (config / "departments.yaml").write_text("departments:\n  demo: {name: Demo}\n")
    (config / "accounts.yaml").write_text(
        "accounts:\n"
        "  ics:agenda: {handle: agenda, department: demo}\n"
        "  ics:prueba: {handle: prueba, department: demo, transport: outbox}\n")
    # the deployment's default, as the CLI reads it from $PREGONERO_TRANSPORT
    adapter_for = adapter_factory(tmp_path / "home", config, default_transport="live")
    assert isinstance(adapter_for(make_job("a", utc_in(60), account="ics:agenda")), IcsAdapter)
    assert isinstance(adapter_for(make_job("b", utc_in(60), account="ics:prueba")), OutboxAdapter)
    forced = adapter_factory(tmp_path / "home", config, transport="outbox")
    assert isinstance(forced(make_job("a", utc_in(60), account="ics:agenda")), OutboxAdapter)
    with pytest.raises(ValueError, match="transport must be 'live' or 'outbox'"):
        AccountConfig.from_mapping("x:a", {"department": "demo", "transport": "pigeon"})
