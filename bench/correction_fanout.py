"""Benchmark: one fact change that touches 1,000 published posts across platforms.

1,000 posts (X, Facebook, Mastodon, Bluesky, Telegram; Spanish and Catalan) are stored as
published two hours ago, all saying the deadline is the 20th. The calendar then says the 27th.
Measured:

* ``plan_s``: from the change to every correction job planned -- the sync (diff + flags) and
  the correction planner (policy per platform, one Lua call per post). Target: < 1 s.
* ``send_s``: from then until every correction is sent through the outbox and every original
  is back to ``published`` -- the real dispatcher claims and the real ``Publisher`` (8 threads,
  as the worker runs it) with the outbox adapters standing in for each platform.

Prints {"posts", "plan_s", "sync_s", "planner_s", "send_s", "corrections", "by_action",
"posts_per_s"} as JSON on the last line. ``BENCH_POSTS`` changes the size.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters import capabilities_for  # noqa: E402
from adapters.base import PostRef  # noqa: E402
from adapters.outbox import OutboxAdapter  # noqa: E402
from tests.enginekit import FakeSourcePlan  # noqa: E402
from worker.engine.publisher import EngineSettings, Publisher  # noqa: E402
from worker.corrections.engine import default_planner  # noqa: E402
from worker.corrections.overrides import set_calendar_meta  # noqa: E402
from worker.jobs import Job, job_id  # noqa: E402
from worker.engine.redis_server import RedisServerProcess  # noqa: E402
from worker.engine.store import Store
from worker.engine.clock import now_ms
from worker.engine.sync import apply_plan  # noqa: E402

POSTS = int(os.environ.get("BENCH_POSTS", 1000))
UTC = dt.timezone.utc
PLATFORMS = ("x", "facebook", "mastodon", "bluesky", "telegram")
TEXT = {"es": "Convocatoria {n}: solicitudes hasta el viernes {d} de agosto de 2027.",
        "ca": "Convocatòria {n}: sol·licituds fins al divendres {d} d’agost del 2027."}


def jobs(day: int) -> list[Job]:
    out = []
    due = dt.datetime(2027, 8, 2, 8, tzinfo=UTC)
    for i in range(POSTS):
        platform = PLATFORMS[i % len(PLATFORMS)]
        lang = ("es", "ca")[(i // len(PLATFORMS)) % 2]
        account = f"{platform}:ayto-bench"
        entry = f"e{i // 10}"
        out.append(Job(id=job_id("bench", f"{entry}-{i}", account, lang), calendar="bench",
                       entry=f"{entry}-{i}", kind="post", account=account, platform=platform,
                       department="promocion", language=lang, due_utc=due,
                       due_local="2027-08-02 10:00", timezone="Europe/Madrid",
                       text=TEXT[lang].format(n=i, d=day),
                       depends_on={"plazo_fin": f"2027-08-{day}"}))
    return out


@dataclasses.dataclass
class Meta:
    facts: dict
    notices: dict
    languages: tuple = ("es", "ca")
    id: str = "bench"


@dataclasses.dataclass
class Label:
    label: dict
    derived_from: tuple = ()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        server = RedisServerProcess(tmp / "redis").start()
        try:
            run(Store(server.client()), tmp)
        finally:
            server.stop()


def run(store: Store, home: Path) -> None:
    old = jobs(20)
    # the originals: published two hours ago (outside X's edit window)
    published_at = (dt.datetime.now(UTC) - dt.timedelta(hours=2)).isoformat()
    apply_plan(store, [FakeSourcePlan("bench.yaml", True, tuple(old))], dt.datetime(2027, 1, 1, tzinfo=UTC))
    pipe = store.r.pipeline(transaction=False)
    for i, job in enumerate(old):
        ref = PostRef(job.platform, job.account, f"p{i}", f"https://example.org/p{i}",
                      {"published_at": published_at, "edit_count": "0"})
        store.transition(job.id, "scheduled", "published", "bench", "published",
                         due="-", fields={"ref": json.dumps(ref.as_dict()), "pa": now_ms()},
                         client=pipe)
    pipe.execute()
    set_calendar_meta(store, Meta({"plazo_fin": Label({"es": "el último día", "ca": "l'últim dia"})},
                                    {}), "bench.yaml")
    new = jobs(27)

    started = time.perf_counter()
    report = apply_plan(store, [FakeSourcePlan("bench.yaml", True, tuple(new))],
                        dt.datetime(2027, 1, 1, tzinfo=UTC))
    synced = time.perf_counter()
    planned = default_planner(store).run()
    plan_done = time.perf_counter()
    assert report.counts["corrections"] == POSTS, report.counts
    assert len(planned.planned) == POSTS, (len(planned.planned), planned.alerts, planned.conflicts)

    adapters = {p: OutboxAdapter(f"{p}:ayto-bench", capabilities_for(p), home) for p in PLATFORMS}
    publisher = Publisher(store, lambda job: adapters[job.platform],
                          EngineSettings(lead_ms=0, heartbeat_s=30))
    pool = ThreadPoolExecutor(8)
    futures = []
    while True:
        claims = store.claim_due(now_ms() + 1000, 500)
        futures += [pool.submit(publisher.publish_job, c.job_id, c.token, c.send_at_ms)
                    for c in claims]
        if not claims:
            break
    for future in futures:
        future.result()
    pool.shutdown()
    sent = time.perf_counter()
    states = store.count_by_state()
    assert states.get("published") == 2 * POSTS, states  # originals + corrections
    actions: dict[str, int] = {}
    for record in adapters["x"].records():
        actions[record["action"]] = actions.get(record["action"], 0) + 1
    print(f"{POSTS} published posts; one fact change -> {len(planned.planned)} corrections "
          f"planned in {plan_done - started:.3f} s, sent in {sent - plan_done:.3f} s",
          file=sys.stderr)
    print(json.dumps({"posts": POSTS, "plan_s": round(plan_done - started, 4),
                      "sync_s": round(synced - started, 4),
                      "planner_s": round(plan_done - synced, 4),
                      "send_s": round(sent - plan_done, 4), "corrections": len(planned.planned),
                      "by_action": actions,
                      "posts_per_s": round(POSTS / max(sent - plan_done, 1e-9), 1),
                      "target_plan_s": 1.0, "ok": plan_done - started < 1.0}))


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
