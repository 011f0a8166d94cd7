"""How late (or early) do posts go out? pregonero against APScheduler 3 and rq-scheduler.

The same load on each system, one after the other, each on its own throwaway redis-server
(same configuration as pregonero's embedded one: AOF, ``appendfsync always``):

* ``pregonero``: BENCH_JOBS jobs (default 1,000) due evenly over BENCH_SPREAD_S seconds
  (default 60), stored as ``scheduled`` jobs and published to the outbox by the real engine
  (``worker.engine.service.run_dispatcher`` + ``run_worker`` in this process, production
  ``EngineSettings``). Lateness = the outbox line's ``at`` minus the job's ``due``.
* ``apscheduler``: APScheduler 3 ``BackgroundScheduler`` with its ``RedisJobStore``, one
  ``date`` job per instant; lateness = job function start minus due.
* ``rq_scheduler``: ``rq-scheduler`` (``enqueue_at``) with ``rqscheduler`` (interval
  BENCH_RQ_INTERVAL_S, default 1 s; its own default is 60 s) and one ``rq worker`` as
  subprocesses; lateness = job function start minus due. rq-scheduler keeps due instants in
  whole seconds, so it can start jobs early: negative lateness.

Each system reports p50/p99/max/min ms, how many ran early and how many ran more than once
or never. The last line of output is one JSON object.

    python bench/lateness.py                          # full run, ~4 minutes
    BENCH_JOBS=50 BENCH_SPREAD_S=5 python bench/lateness.py   # smoke test
    BENCH_SYSTEMS=pregonero python bench/lateness.py  # only some systems

Needs the ``bench`` extra (``pip install -e '.[bench]'``) for the peers.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

UTC = dt.timezone.utc
ACCOUNT = "x:bench"
TEXT = ("Abierto el plazo de solicitud de las ayudas al comercio local 2027: hasta 3.000 € por "
        "establecimiento. Más información en la sede electrónica. #Calp")


# --- shared helpers (also used by bench/burst.py) -------------------------------------------


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def quiet_logs(path: Path) -> None:
    """structlog lines go to a file: stdout is for the figures."""
    import logging

    import structlog

    handle = open(path, "a", buffering=1 << 16)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=handle))
    logging.basicConfig(filename=str(path.with_suffix(".std.log")), level=logging.WARNING)


def summarize(lateness_ms: list[float], expected: int, counts: collections.Counter | None = None) -> dict:
    """p50/p99/max/min of lateness in ms (nearest rank), early count, duplicates, lost."""
    values = sorted(lateness_ms)

    def rank(q: float) -> float:
        return round(values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))], 1)

    out = {"runs": len(values)}
    if values:
        out.update(p50_ms=rank(0.50), p99_ms=rank(0.99), max_ms=round(values[-1], 1),
                   min_ms=round(values[0], 1), early=sum(v < 0 for v in values))
    if counts is not None:
        out["duplicates"] = sum(n - 1 for n in counts.values() if n > 1)
        out["lost"] = max(0, expected - len(counts))
    return out


def write_config(config_dir: Path) -> Path:
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "accounts.yaml").write_text(
        f"accounts:\n  {ACCOUNT}:\n    handle: bench\n    department: bench\n    transport: outbox\n")
    return config_dir


def make_jobs(dues: list[dt.datetime], prefix: str = "e"):
    from worker.jobs import Job, job_id

    return [Job(id=job_id("bench", f"{prefix}{i:06d}", ACCOUNT, "es"), calendar="bench",
                entry=f"{prefix}{i:06d}", kind="post", account=ACCOUNT, platform="x",
                department="bench", language="es", due_utc=due, due_local=due.isoformat(),
                timezone="Europe/Madrid", text=TEXT, link="https://www.calp.es/comercio")
            for i, due in enumerate(dues)]


def store_jobs(store, jobs, batch: int = 1000) -> None:
    """What sync does with new jobs: pipelined guarded adds, then a wake-up."""
    for start in range(0, len(jobs), batch):
        pipe = store.r.pipeline(transaction=False)
        for job in jobs[start:start + batch]:
            store.add_job(job, "bench.yaml", "bench", client=pipe)
        pipe.execute()
    store.wake()


class Engine:
    """pregonero's real dispatcher and worker entry points, in threads of this process, on a
    throwaway redis-server, publishing to the outbox in ``workdir/home``."""

    def __init__(self, workdir: Path, settings=None, dispatchers: int = 1, workers: int = 1,
                 worker_procs: int = 0):
        from worker.engine import service
        from worker.engine.publisher import EngineSettings
        from worker.engine.redis_server import RedisServerProcess
        from worker.engine.store import Store

        self.workdir = workdir
        self.home = workdir / "home"
        self.config = write_config(workdir / "config")
        self.server = RedisServerProcess(workdir / "redis").start()
        self.store = Store(self.server.client())
        self.settings = settings or EngineSettings()
        self.stop_event = threading.Event()
        url = self.server.url
        self.threads = [threading.Thread(target=service.run_dispatcher, daemon=True,
                                         args=(self.home, self.config),
                                         kwargs=dict(redis_url=url, settings=self.settings,
                                                     dispatchers=dispatchers, stop=self.stop_event))]
        self.threads += [threading.Thread(target=service.run_worker, daemon=True,
                                          args=(self.home, self.config),
                                          kwargs=dict(redis_url=url, settings=self.settings,
                                                      stop=self.stop_event))
                         for _ in range(workers)]
        for thread in self.threads:
            thread.start()
        # extra workers as OS processes (spawned: a fresh interpreter, no GIL shared with us)
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self.procs = [ctx.Process(target=_worker_process, daemon=True,
                                  args=(self.home, self.config, url,
                                        dataclasses.asdict(self.settings), str(workdir)))
                      for _ in range(worker_procs)]
        for proc in self.procs:
            proc.start()

    def outbox_posts(self) -> list[dict]:
        from adapters.outbox import read_records

        return list(read_records(self.home / "outbox.jsonl", "publish"))

    def count_posts(self) -> int:
        path = self.home / "outbox.jsonl"
        return path.read_bytes().count(b"\n") if path.exists() else 0

    def close(self) -> None:
        self.stop_event.set()
        self.store.wake()
        for thread in self.threads:
            thread.join(timeout=30)
        for proc in self.procs:
            proc.terminate()  # SIGTERM: the worker finishes in-flight attempts and exits
            proc.join(timeout=30)
        self.server.stop()


def _worker_process(home: Path, config: Path, url: str, settings: dict, workdir: str) -> None:
    from worker.engine import service
    from worker.engine.publisher import EngineSettings

    quiet_logs(Path(workdir) / f"worker-{os.getpid()}.log")
    service.run_worker(home, config, redis_url=url, settings=EngineSettings(**settings))


def wait_until(condition, timeout_s: float, every_s: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every_s)
    return bool(condition())


def evenly(count: int, spread_s: float, lead_s: float) -> list[dt.datetime]:
    """``count`` due instants on whole milliseconds, evenly over ``spread_s`` from now+lead."""
    start = dt.datetime.now(UTC) + dt.timedelta(seconds=lead_s)
    start = start.replace(microsecond=start.microsecond // 1000 * 1000)
    step_ms = spread_s * 1000 / count
    return [start + dt.timedelta(milliseconds=round(i * step_ms)) for i in range(count)]


# --- pregonero ----------------------------------------------------------------------------------


def bench_pregonero(workdir: Path, count: int, spread_s: float, lead_s: float) -> dict:
    engine = Engine(workdir)
    try:
        time.sleep(1.0)  # both halves connected
        dues = evenly(count, spread_s, lead_s)
        store_jobs(engine.store, make_jobs(dues))
        wait_until(lambda: engine.count_posts() >= count,
                   timeout_s=(dues[-1] - dt.datetime.now(UTC)).total_seconds() + 30)
        time.sleep(0.5)  # anything extra (a duplicate) would show up now
        posts = engine.outbox_posts()
    finally:
        engine.close()
    lateness = [(dt.datetime.fromisoformat(p["at"]) - dt.datetime.fromisoformat(p["due"]))
                .total_seconds() * 1000 for p in posts]
    return summarize(lateness, count, collections.Counter(p["job_id"] for p in posts))


# --- APScheduler 3 ------------------------------------------------------------------------------

_APS_RUNS: list[tuple[int, float]] = []
_APS_LOCK = threading.Lock()


def aps_record(i: int, due_ts: float) -> None:
    started = time.time()
    with _APS_LOCK:
        _APS_RUNS.append((i, (started - due_ts) * 1000))


def bench_apscheduler(workdir: Path, count: int, spread_s: float, lead_s: float) -> dict:
    from apscheduler.jobstores.redis import RedisJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    from worker.engine.redis_server import RedisServerProcess

    server = RedisServerProcess(workdir / "redis").start()
    scheduler = BackgroundScheduler(
        jobstores={"default": RedisJobStore(host="127.0.0.1", port=server.port)}, timezone=UTC)
    try:
        scheduler.start()
        _APS_RUNS.clear()
        dues = evenly(count, spread_s, lead_s)
        for i, due in enumerate(dues):
            scheduler.add_job(aps_record, "date", run_date=due, args=[i, due.timestamp()],
                              id=f"j{i}", misfire_grace_time=None)
        wait_until(lambda: len(_APS_RUNS) >= count,
                   timeout_s=(dues[-1] - dt.datetime.now(UTC)).total_seconds() + 30)
        time.sleep(0.5)
    finally:
        scheduler.shutdown(wait=True)
        server.stop()
    return summarize([late for _, late in _APS_RUNS], count,
                     collections.Counter(i for i, _ in _APS_RUNS))


# --- rq-scheduler -------------------------------------------------------------------------------


def rq_record(i: int, due_ts: float, out: str) -> None:
    """The rq job: note when it started (one O_APPEND write per line)."""
    started = time.time()
    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{i} {(started - due_ts) * 1000:.3f}\n".encode())
    finally:
        os.close(fd)


def bench_rq_scheduler(workdir: Path, count: int, spread_s: float, lead_s: float) -> dict:
    import redis
    from rq_scheduler import Scheduler

    from worker.engine.redis_server import RedisServerProcess

    server = RedisServerProcess(workdir / "redis").start()
    out = workdir / "rq-runs.txt"
    interval = env_float("BENCH_RQ_INTERVAL_S", 1.0)
    bindir = Path(sys.executable).parent
    logs = open(workdir / "rq.log", "ab")
    procs = [subprocess.Popen([str(bindir / "rq"), "worker", "--url", server.url, "--path",
                               str(BENCH_DIR), "default"], cwd=BENCH_DIR, stdout=logs,
                              stderr=subprocess.STDOUT),
             subprocess.Popen([str(bindir / "rqscheduler"), "--url", server.url, "--interval",
                               str(interval), "--path", str(BENCH_DIR)], cwd=BENCH_DIR,
                              stdout=logs, stderr=subprocess.STDOUT)]
    try:
        time.sleep(2.0)  # worker and scheduler up
        scheduler = Scheduler(connection=redis.Redis.from_url(server.url))
        dues = evenly(count, spread_s, lead_s)
        for i, due in enumerate(dues):
            scheduler.enqueue_at(due, "lateness.rq_record", i, due.timestamp(), str(out))

        def lines() -> int:
            return out.read_bytes().count(b"\n") if out.exists() else 0

        wait_until(lambda: lines() >= count,
                   timeout_s=(dues[-1] - dt.datetime.now(UTC)).total_seconds() + 30)
        time.sleep(1.5)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        server.stop()
        logs.close()
    runs = [line.split() for line in out.read_text().splitlines()] if out.exists() else []
    return dict(summarize([float(late) for _, late in runs], count,
                          collections.Counter(int(i) for i, _ in runs)), interval_s=interval)


SYSTEMS = {"pregonero": bench_pregonero, "apscheduler": bench_apscheduler,
           "rq_scheduler": bench_rq_scheduler}


def main() -> None:
    count = env_int("BENCH_JOBS", 1000)
    spread_s = env_float("BENCH_SPREAD_S", 60.0)
    lead_s = env_float("BENCH_LEAD_S", 3.0)
    chosen = [s.strip() for s in os.environ.get("BENCH_SYSTEMS", ",".join(SYSTEMS)).split(",")]
    figures: dict = {"bench": "lateness", "jobs": count, "spread_s": spread_s,
                     "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="pregonero-bench-") as tmp:
        quiet_logs(Path(tmp) / "engine.log")
        for name in chosen:
            workdir = Path(tmp) / name
            workdir.mkdir()
            started = time.monotonic()
            try:
                figures[name] = SYSTEMS[name](workdir, count, spread_s, lead_s)
            except Exception as exc:  # a peer that cannot run is reported, not fatal
                figures[name] = {"error": f"{type(exc).__name__}: {exc}"}
            print(f"{name}: {json.dumps(figures[name])} ({time.monotonic() - started:.0f} s)",
                  file=sys.stderr, flush=True)
    ours = figures.get("pregonero", {})
    if "p99_ms" in ours:
        figures["targets_met"] = (ours["p99_ms"] < 50 and ours["max_ms"] < 250 and ours["early"] == 0
                                  and ours["duplicates"] == 0 and ours["lost"] == 0)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
