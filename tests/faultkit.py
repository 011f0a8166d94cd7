"""Real engine processes for the fault suites, and the faults they are put through.

The tests start ``pregonero`` workers and dispatchers as separate OS processes running the
real entry points (``worker.engine.service.run_worker`` / ``run_dispatcher``) against a throwaway
redis-server (``REDIS_URL``), with the outbox under a tmp ``PREGONERO_HOME``. The only thing
the child changes is the adapter: the account's outbox adapter, wrapped with

* ``PREGONERO_FAULT_DELAYS="pre,post"``: seconds slept before and after the outbox write, so
  that a SIGKILL can land before the post exists or after it exists but before the engine
  recorded it;
* the outbox's ``fail_plan`` hook, chosen by the prefix of the job's entry name and the number
  of publish calls the job has had so far (counted in ``$PREGONERO_HOME/calls/``, so the count
  survives worker restarts):

  ``ok-``    never fails
  ``r429-``  1st call: 429 with a reset of ``RATE_RESET_S``
  ``e5xx-``  1st and 2nd calls: 503
  ``tmo-``   1st call: timeout after sending (the post IS written, the answer is lost)
  ``lost-``  1st call: connection dropped before the platform acted (nothing written; the
             engine cannot tell, so lookup must decide)
  ``auth-``  every call: 401 token expired
  ``down-``  every call: 503

Run as ``python -m tests.faultkit worker|dispatcher HOME CONFIG_DIR``.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from adapters.outbox import read_records

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "x:ayto-test"
RATE_RESET_S = 0.6

#: Engine timings for the fault suites: short leases so that dead workers are noticed in ~1 s.
FAULT_SETTINGS = dict(lead_ms=200, worker_threads=4, worker_timeout_ms=50, lease_ms=1000,
                      heartbeat_s=0.2, dispatch_lease_ms=1500, lookup_delay_ms=200,
                      uncertain_recheck_ms=500, reap_every_s=0.1, backoff_s=[0.3, 0.3],
                      rate_limit_jitter_s=0.05)

ACCOUNTS_YAML = f"""accounts:
  {ACCOUNT}:
    handle: ayto-test
    department: promocion
    transport: outbox
"""


def write_config(config_dir: Path) -> Path:
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "accounts.yaml").write_text(ACCOUNTS_YAML)
    return config_dir


# --- the child side ----------------------------------------------------------------------------


def _calls_file(home: Path, job_id: str) -> Path:
    return home / "calls" / re.sub(r"[^A-Za-z0-9._-]", "_", job_id)


def count_call(home: Path, job_id: str) -> int:
    """Record one publish call of ``job_id``; returns how many there have been (this one
    included). One O_APPEND write of one byte: safe across processes."""
    path = _calls_file(home, job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, b".")
        os.fsync(fd)
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


def calls(home: Path, job_id: str) -> int:
    path = _calls_file(home, job_id)
    return path.stat().st_size if path.exists() else 0


def fault_for(entry: str, call: int):
    """The exception the platform answers call number ``call`` of ``entry`` with, or None."""
    from adapters.base import AuthError, OutcomeUnknown, RateLimited, Unavailable

    kind = entry.split("-", 1)[0]
    if kind == "r429" and call == 1:
        return RateLimited("429 Too Many Requests", retry_after_s=RATE_RESET_S)
    if kind == "e5xx" and call <= 2:
        return Unavailable("503 Service Unavailable")
    if kind == "tmo" and call == 1:
        return OutcomeUnknown("read timeout after the request was sent")
    if kind == "lost" and call == 1:
        return ConnectionResetError("connection reset while sending")
    if kind == "auth":
        return AuthError("401 token expired")
    if kind == "down":
        return Unavailable("503 Service Unavailable")
    return None


class DelayedAdapter:
    """The outbox, slowed down around the write (a platform call takes time)."""

    def __init__(self, inner, pre_s: float, post_s: float):
        self.inner, self.pre_s, self.post_s = inner, pre_s, post_s
        self.account, self.capabilities = inner.account, inner.capabilities

    def publish(self, request):
        time.sleep(self.pre_s)
        ref = self.inner.publish(request)
        time.sleep(self.post_s)
        return ref

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _faulty_adapter_factory(home: Path, config_dir: Path, transport: str | None = None,
                            default_transport: str | None = None):
    import threading

    from adapters.factory import make_adapter
    from worker.config import load_config

    config = load_config(config_dir)
    pre_s, post_s = (float(x) for x in os.environ.get("PREGONERO_FAULT_DELAYS", "0,0").split(","))
    cache: dict = {}
    lock = threading.Lock()

    def plan(request):
        entry = request.job_id.split("/")[1]
        return fault_for(entry, count_call(Path(home), request.job_id))

    def adapter_for(job):
        with lock:
            if job.account not in cache:
                outbox = make_adapter(config.accounts[job.account], "outbox", home=home,
                                      fail_plan=plan)
                cache[job.account] = (DelayedAdapter(outbox, pre_s, post_s)
                                      if pre_s or post_s else outbox)
            return cache[job.account]

    return adapter_for


def child_main(argv: list[str]) -> int:
    role, home, config_dir = argv[0], Path(argv[1]), Path(argv[2])
    from worker.engine import service
    from worker.engine.publisher import EngineSettings

    raw = json.loads(os.environ["PREGONERO_TEST_SETTINGS"])
    raw["backoff_s"] = tuple(raw.get("backoff_s", ()))
    settings = EngineSettings(**raw)
    url = os.environ["REDIS_URL"]
    if role == "worker":
        service.adapter_factory = _faulty_adapter_factory
        return service.run_worker(home, config_dir, redis_url=url, settings=settings)
    if role == "dispatcher":
        return service.run_dispatcher(home, config_dir, redis_url=url, settings=settings)
    raise SystemExit(f"unknown role {role}")


# --- the test side -----------------------------------------------------------------------------


class EngineProcess:
    """One worker or dispatcher OS process; its output goes to ``log``."""

    def __init__(self, role: str, home: Path, config_dir: Path, redis_url: str, log: Path, *,
                 settings: dict | None = None, delays: tuple[float, float] = (0.0, 0.0)):
        self.role, self.home, self.config_dir, self.log = role, home, config_dir, log
        self.env = dict(os.environ, REDIS_URL=redis_url, PREGONERO_HOME=str(home),
                        PYTHONUNBUFFERED="1", PREGONERO_TRANSPORT="outbox",
                        PREGONERO_TEST_SETTINGS=json.dumps(settings or FAULT_SETTINGS),
                        PREGONERO_FAULT_DELAYS=f"{delays[0]},{delays[1]}")
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> "EngineProcess":
        self.starts += 1
        with open(self.log, "ab") as out:
            out.write(f"\n=== start {self.starts} ===\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.faultkit", self.role, str(self.home),
                 str(self.config_dir)], cwd=ROOT, env=self.env, stdout=out,
                stderr=subprocess.STDOUT)
        return self

    def ready(self) -> bool:
        """True once this start of the process logged ``service_started``."""
        text = self.log.read_text(errors="replace")
        return "service_started" in text.rsplit(f"=== start {self.starts} ===", 1)[-1]

    def kill(self) -> None:
        """SIGKILL: the process dies wherever it is."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def terminate(self, timeout_s: float = 15) -> int | None:
        """SIGTERM (graceful), SIGKILL if it does not exit in time."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def log_lines(self, event: str) -> list[str]:
        return [line for line in self.log.read_text(errors="replace").splitlines() if event in line]


def outbox_posts(home: Path) -> list[dict]:
    """Every complete ``publish`` line of the outbox (a torn line is not a post)."""
    return list(read_records(home / "outbox.jsonl", "publish"))


def exactly_once_report(posts: list[dict], expected_ids, forbidden_ids=()) -> dict:
    """What went wrong, if anything: duplicates, lost, early posts, posts that should not exist."""
    counts = collections.Counter(p["job_id"] for p in posts)
    expected = set(expected_ids)
    early = [p["job_id"] for p in posts
             if dt.datetime.fromisoformat(p["at"]) < dt.datetime.fromisoformat(p["due"])]
    return {
        "duplicates": {j: n for j, n in counts.items() if n > 1},
        "lost": sorted(expected - set(counts)),
        "unexpected": sorted(set(counts) - expected),
        "forbidden": sorted(set(forbidden_ids) & set(counts)),
        "early": early,
    }


def assert_exactly_once(posts: list[dict], expected_ids, forbidden_ids=()) -> None:
    report = exactly_once_report(posts, expected_ids, forbidden_ids)
    assert report == {"duplicates": {}, "lost": [], "unexpected": [], "forbidden": [],
                      "early": []}, report


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
