"""Redis bytes per scheduled job, at BENCH_MEMORY_JOBS jobs (default 100,000).

The jobs are the real compiled plan of ``schedules/`` (texts, links, images, facts, events),
repeated with fresh ids and instants until there are enough, and stored the way sync stores
them (``Store.add_job``: the job hash, its entry in the due set, one audit line). Measured on
a throwaway redis-server with pregonero's configuration:

* ``per_job_bytes``: INFO memory ``used_memory`` after minus before, divided by the jobs
  (everything: job hashes, due zset, audit stream, key dictionary overhead);
* ``job_key_bytes``: ``MEMORY USAGE`` of sample job keys (mean, min, max) and their encoding;
* the shares of the due zset and the audit stream.

Target: < 2 KB per job. The last line of output is one JSON object.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

UTC = dt.timezone.utc


def template_jobs():
    from worker.plan import all_jobs, compile_directory

    jobs = all_jobs(compile_directory(ROOT / "schedules", ROOT / "config",
                                      dt.datetime(2027, 1, 1, tzinfo=UTC)))
    if not jobs:
        raise SystemExit("the calendars in schedules/ compile to no jobs")
    return jobs


def main() -> None:
    from worker.engine import keys
    from worker.engine.redis_server import RedisServerProcess
    from worker.engine.store import Store

    count = int(os.environ.get("BENCH_MEMORY_JOBS", 100_000))
    templates = template_jobs()
    start = dt.datetime(2027, 1, 1, tzinfo=UTC)
    with tempfile.TemporaryDirectory(prefix="pregonero-mem-") as tmp:
        server = RedisServerProcess(Path(tmp) / "redis").start()
        try:
            client = server.client()
            store = Store(client)
            client.ping()
            before = int(client.info("memory")["used_memory"])
            ids = []
            batch = 2000
            for first in range(0, count, batch):
                pipe = client.pipeline(transaction=False)
                for i in range(first, min(count, first + batch)):
                    base = templates[i % len(templates)]
                    entry = f"{base.entry}-{i:06d}"
                    job = dataclasses.replace(
                        base, entry=entry, id=f"{base.calendar}/{entry}/{base.account}/{base.language}",
                        due_utc=start + dt.timedelta(seconds=37 * i))
                    store.add_job(job, f"{base.calendar}.yaml", "sync", client=pipe)
                    ids.append(job.id)
                pipe.execute()
            after = int(client.info("memory")["used_memory"])
            sample = ids[:: max(1, count // 500)]
            usage = [int(client.memory_usage(keys.job(i), samples=0)) for i in sample]
            encodings = {client.object("encoding", keys.job(i)).decode() for i in sample[:50]}
            due_bytes = int(client.memory_usage(keys.DUE, samples=0))
            audit_bytes = int(client.memory_usage(keys.AUDIT, samples=0))
            jobs_stored = client.zcard(keys.DUE)
            json_bytes = statistics.mean(len(client.hget(keys.job(i), "j")) for i in sample)
            version = client.info("server")["redis_version"]
            allocator = client.info("memory").get("mem_allocator")
        finally:
            server.stop()
    per_job = (after - before) / count
    figures = {
        "bench": "memory", "jobs": count, "stored": jobs_stored, "redis": version,
        "allocator": allocator, "templates": len(templates),
        "used_memory_delta_bytes": after - before, "per_job_bytes": round(per_job, 1),
        "job_key_bytes": {"mean": round(statistics.mean(usage), 1), "min": min(usage),
                          "max": max(usage), "encoding": sorted(encodings)},
        "job_json_bytes_mean": round(json_bytes, 1),
        "due_zset_per_job_bytes": round(due_bytes / count, 1),
        "audit_per_job_bytes": round(audit_bytes / count, 1),
        "target_met": per_job < 2048,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
