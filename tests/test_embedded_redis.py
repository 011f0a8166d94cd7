"""The embedded redis-server belongs to the process that started it: it dies with it (even by
SIGKILL), and a server left behind by a dead owner is taken over, never silently shared."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.enginekit import wait_for
from tests.test_cli_engine import ROOT, small_calendar
from worker.engine.redis_server import RedisServerProcess, _alive, connect


def _pid(path: Path) -> int:
    return int(path.read_text().strip())


def test_a_sigkilled_pregonero_run_takes_its_embedded_redis_server_with_it(tmp_path):
    home, schedules = tmp_path / "home", tmp_path / "schedules"
    small_calendar(schedules, 3600.0)
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PREGONERO_TRANSPORT")}
    env.update(PREGONERO_HOME=str(home))
    proc = subprocess.Popen([sys.executable, "-m", "worker.cli.main", "run", "--schedules",
                             str(schedules), "--config", str(ROOT / "config")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        owner = home / "redis" / "owner"
        wait_for(lambda: owner.exists() and owner.read_text().strip() == str(proc.pid)
                 and (home / "redis" / "redis.pid").exists(), timeout_s=30,
                 what="the service owning its embedded redis")
        server_pid = _pid(home / "redis" / "redis.pid")
        assert _alive(server_pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        wait_for(lambda: not _alive(server_pid) or _zombie(server_pid), timeout_s=15,
                 what="the embedded redis-server gone with its owner")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_an_orphaned_embedded_server_is_taken_over_with_its_data_and_stopped_by_its_new_owner(
        tmp_path):
    home = tmp_path / "home"
    data_dir = home / "redis"
    # what a SIGKILL on a system without death signals leaves: a server whose owner is gone
    orphan = RedisServerProcess(data_dir, unix_socket=data_dir / "redis.sock").start()
    client = orphan.client()
    client.set("pregonero:test", "kept")
    client.close()
    (data_dir / "owner").write_text("999999999")  # no such process
    adopted, server = connect(home)
    try:
        assert server is not None, "an orphan is not attached to: it is taken over"
        wait_for(lambda: not orphan.running(), what="the orphan shut down")
        assert adopted.get("pregonero:test") == b"kept"          # same AOF, nothing lost
        assert (data_dir / "owner").read_text().strip() == str(os.getpid())
        # another command while the owner lives: attaches, does not own, does not restart
        again, none = connect(home)
        assert none is None and again.get("pregonero:test") == b"kept"
        again.close()
    finally:
        adopted.close()
        server.stop()
    assert not server.running() and not (data_dir / "owner").exists()
