"""How fast does a burst drain? BENCH_BURST_JOBS jobs (default 10,000) due at one instant.

The real engine (``worker.engine.service.run_dispatcher`` + ``run_worker`` threads in this process,
on a throwaway redis-server with pregonero's AOF settings: ``appendfsync always``) publishes
them to the outbox, every post fsynced. Publications/s = jobs / (last outbox ``at`` - the
instant); also the steady rate between the first and the last post. Exactly-once and
never-early are checked on the way.

    python bench/burst.py
    BENCH_BURST_JOBS=1000 python bench/burst.py        # smoke test
    BENCH_WORKER_PROCS=0 python bench/burst.py         # everything in one process

By default the deployment measured is `pregonero run` plus one `pregonero worker` process (one
extra worker process, BENCH_WORKER_PROCS=1): on 2 cores a single Python process is bound by its
GIL, and scaling out with `pregonero worker` is how a burst is absorbed. The last line of output
is one JSON object. Target: >= 1,000 publications/s on 2 cores.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lateness import (UTC, Engine, env_float, env_int, make_jobs, quiet_logs,  # noqa: E402
                      store_jobs, summarize, wait_until)


def main() -> None:
    from worker.engine.publisher import EngineSettings

    count = env_int("BENCH_BURST_JOBS", 10_000)
    threads = env_int("BENCH_THREADS", EngineSettings.worker_threads)
    workers = env_int("BENCH_WORKERS", 1)  # dramatiq worker pools in this process
    procs = env_int("BENCH_WORKER_PROCS", 1)  # extra worker processes (`pregonero worker`)
    lead_s = env_float("BENCH_LEAD_S", 8.0)
    settings = dataclasses.replace(EngineSettings(), worker_threads=threads)
    figures: dict = {"bench": "burst", "jobs": count, "cores": os.cpu_count(),
                     "worker_processes": procs, "in_process_worker_pools": workers, "threads_per_pool": threads,
                     "dispatchers": 1}
    with tempfile.TemporaryDirectory(prefix="pregonero-burst-") as tmp:
        quiet_logs(Path(tmp) / "engine.log")
        engine = Engine(Path(tmp), settings=settings, workers=workers, worker_procs=procs)
        try:
            time.sleep(1.0)
            instant = dt.datetime.now(UTC) + dt.timedelta(seconds=lead_s)
            instant = instant.replace(microsecond=instant.microsecond // 1000 * 1000)
            stored_at = time.monotonic()
            store_jobs(engine.store, make_jobs([instant] * count))
            figures["store_s"] = round(time.monotonic() - stored_at, 2)
            if dt.datetime.now(UTC) >= instant:
                raise SystemExit("storing took longer than BENCH_LEAD_S: raise it")
            wait_until(lambda: engine.count_posts() >= count,
                       timeout_s=lead_s + max(120.0, count / 50), every_s=0.1)
            time.sleep(1.0)
            posts = engine.outbox_posts()
        finally:
            engine.close()
    ats = sorted(dt.datetime.fromisoformat(p["at"]) for p in posts)
    counts = collections.Counter(p["job_id"] for p in posts)
    lateness = [(at - instant).total_seconds() * 1000 for at in ats]
    figures.update(published=len(counts), duplicates=sum(n - 1 for n in counts.values() if n > 1),
                   lost=count - len(counts), early=sum(v < 0 for v in lateness))
    if ats:
        drain_s = (ats[-1] - instant).total_seconds()
        steady_s = (ats[-1] - ats[0]).total_seconds()
        figures.update(drain_s=round(drain_s, 3), first_post_ms=round(lateness[0], 1),
                       publications_per_s=round(len(ats) / drain_s, 1),
                       steady_per_s=round((len(ats) - 1) / steady_s, 1) if steady_s else None,
                       lateness=summarize(lateness, count))
        figures["target_met"] = figures["publications_per_s"] >= 1000 and not (
            figures["duplicates"] or figures["lost"] or figures["early"])
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
