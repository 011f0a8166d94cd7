"""Fault suites with real processes: workers and dispatchers are OS processes running the real
entry points against a redis-server the test starts (and kills). Every suite ends with the
same verdict read from the outbox: every planned job published exactly once, none lost, none
early, nothing published that must not be.

See ``tests/faultkit.py`` for the processes and the faults injected into the adapter.
"""

from __future__ import annotations

import collections
import datetime as dt
import time

import pytest
import redis

from tests.enginekit import FakeSourcePlan, make_job, utc_in, wait_for
from tests.faultkit import (ACCOUNT, RATE_RESET_S, EngineProcess, assert_exactly_once, calls,
                            outbox_posts, write_config)
from worker.engine.store import Store
from worker.engine.sync import apply_plan

FINAL = ("published", "failed")


@pytest.fixture
def rig(redis_server, tmp_path):
    """Spawns engine processes against ``redis_server``; kills what is left at the end."""
    started: list[EngineProcess] = []
    home, config = tmp_path / "home", write_config(tmp_path / "config")
    home.mkdir()

    class Rig:
        def __init__(self):
            self.home, self.server = home, redis_server
            self.store = Store(redis_server.client(socket_timeout=5))

        def spawn(self, role: str, **kwargs) -> EngineProcess:
            proc = EngineProcess(role, home, config, redis_server.url,
                                 tmp_path / f"{role}-{len(started)}.log", **kwargs).start()
            started.append(proc)
            return proc

        def wait_ready(self, *procs: EngineProcess) -> None:
            for proc in procs:
                wait_for(proc.ready, timeout_s=20, what=f"{proc.role} process started")

        def schedule(self, jobs) -> None:
            apply_plan(self.store, [FakeSourcePlan("faults.yaml", True, tuple(jobs))],
                       dt.datetime.now(dt.timezone.utc))
            self.store.wake()

        def states(self) -> dict[str, str]:
            try:
                return {job_id: s.state for job_id, s in self.store.summaries().items()}
            except (redis.ConnectionError, redis.TimeoutError):
                return {}

        def wait_final(self, jobs, timeout_s: float) -> dict[str, str]:
            ids = [job.id for job in jobs]

            def settled():
                states = self.states()
                return states if all(states.get(i) in FINAL for i in ids) else None

            try:
                return wait_for(settled, timeout_s=timeout_s, every_s=0.1,
                                what="every job published or failed")
            except AssertionError:
                states = self.states()
                pending = {i: states.get(i) for i in ids if states.get(i) not in FINAL}
                raise AssertionError(f"not settled: {pending}") from None

        def audit_whys(self) -> list[str]:
            return [row["why"] for row in self.store.audit(count=1_000_000)]

    yield Rig()
    for proc in started:
        proc.kill()


def spread(prefix: str, count: int, first_s: float, over_s: float):
    return [make_job(f"{prefix}-{i:03d}", utc_in(first_s + i * over_s / count), account=ACCOUNT)
            for i in range(count)]


def test_a_worker_killed_again_and_again_mid_publish_loses_nothing_and_posts_nothing_twice(rig):
    # every publish call takes 0.35 s (0.1 s before the post exists, 0.25 s after), so kills
    # land in the two windows that matter: "not posted yet" and "posted, not yet recorded"
    dispatcher = rig.spawn("dispatcher")
    worker = rig.spawn("worker", delays=(0.1, 0.25))
    rig.wait_ready(dispatcher, worker)
    # spread wide enough that a loaded machine (a worker restart can take a second) still
    # gets its kills into both windows; the loop ends as soon as it has
    jobs = spread("ok", 60, 1.0, 16.0)
    rig.schedule(jobs)
    last_due = jobs[-1].due_utc.timestamp()
    hits = {"after_write": 0, "before_write": 0, "blind": 0}
    modes = ["after_write", "before_write"]
    kills = 0

    def enough() -> bool:
        return kills >= 7 and hits["after_write"] >= 1 and hits["before_write"] >= 1

    while time.time() < last_due + 0.5 and not enough():
        time.sleep(0.6)
        mode = modes[kills % 2]
        deadline = time.monotonic() + 0.6
        hit = "blind"
        while time.monotonic() < deadline and hit == "blind":
            publishing = {i for i, s in rig.states().items() if s == "publishing"}
            posted = {p["job_id"] for p in outbox_posts(rig.home)}
            if (mode == "after_write" and publishing & posted) or \
                    (mode == "before_write" and publishing - posted):
                hit = mode
            else:
                time.sleep(0.01)
        worker.kill()
        kills += 1
        hits[hit] += 1
        worker.start()
    rig.wait_final(jobs, timeout_s=25)
    assert_exactly_once(outbox_posts(rig.home), [j.id for j in jobs])
    assert kills >= 7 and hits["after_write"] >= 1 and hits["before_write"] >= 1, hits
    whys = rig.audit_whys()
    # the dead attempts were found by the reaper and settled by lookup, not by reposting
    assert sum("publish lease expired" in w for w in whys) >= 2
    assert "lookup found the post" in whys
    assert "lookup: not posted" in whys
    assert all(calls(rig.home, j.id) <= 2 for j in jobs)


def test_redis_killed_and_restarted_from_its_aof_mid_run_loses_and_repeats_nothing(rig):
    dispatcher = rig.spawn("dispatcher")
    worker = rig.spawn("worker", delays=(0.02, 0.05))
    rig.wait_ready(dispatcher, worker)
    jobs = spread("ok", 40, 1.0, 8.0)
    rig.schedule(jobs)
    t0 = jobs[0].due_utc.timestamp() - 1.0
    published_before = []
    # 4 s apart: after a broken connection dramatiq restarts its consumer after 3 s
    for crash_at in (2.0, 6.0):
        wait_for(lambda: time.time() >= t0 + crash_at, timeout_s=10, what="crash instant")
        published_before.append(len(outbox_posts(rig.home)))
        rig.server.kill()
        time.sleep(0.3)
        rig.server.start()
    rig.wait_final(jobs, timeout_s=30)
    assert_exactly_once(outbox_posts(rig.home), [j.id for j in jobs])
    # both crashes happened mid-run: posts before the first, between them, and after
    assert 0 < published_before[0] < published_before[1] < len(jobs)
    # the AOF kept every transition: each job's audit trail ends in published
    assert all(rig.store.state(j.id) == "published" for j in jobs)
    assert dispatcher.proc.poll() is None and worker.proc.poll() is None, "processes survived"


def test_two_dispatchers_and_two_workers_on_one_redis_publish_each_job_once(rig):
    procs = [rig.spawn("dispatcher"), rig.spawn("dispatcher"),
             rig.spawn("worker", delays=(0.0, 0.02)), rig.spawn("worker", delays=(0.0, 0.02))]
    rig.wait_ready(*procs)
    # bunches of 5 jobs due at the very same instant: both dispatchers race for each bunch
    base = utc_in(1.0)
    jobs = [make_job(f"ok-{b:02d}-{k}", base + dt.timedelta(milliseconds=300 * b), account=ACCOUNT)
            for b in range(16) for k in range(5)]
    rig.schedule(jobs)
    rig.wait_final(jobs, timeout_s=20)
    posts = outbox_posts(rig.home)
    assert_exactly_once(posts, [j.id for j in jobs])
    audit = rig.store.audit(count=1_000_000)
    dispatches = [row for row in audit if row["to"] == "dispatched"]
    assert sorted(row["job"] for row in dispatches) == sorted(j.id for j in jobs), \
        "each job claimed by exactly one dispatcher, once"
    claimers = collections.Counter(row["by"] for row in dispatches)
    assert len(claimers) == 2, f"both dispatchers claimed jobs: {claimers}"
    per_worker = [len(proc.log_lines("post_published")) for proc in procs[2:]]
    assert sum(per_worker) == len(jobs) and min(per_worker) > 0, per_worker
    lateness = sorted((dt.datetime.fromisoformat(p["at"]) - dt.datetime.fromisoformat(p["due"]))
                      .total_seconds() for p in posts)
    # never early; on time even with four processes racing (loose: CI machines are busy)
    assert lateness[0] >= 0, lateness  # never early (how late: bench/lateness.py)


def test_platform_errors_are_retried_resolved_or_failed_with_an_alert_and_never_duplicated(rig):
    dispatcher = rig.spawn("dispatcher")
    worker = rig.spawn("worker")
    rig.wait_ready(dispatcher, worker)
    kinds = ("ok", "r429", "e5xx", "tmo", "lost", "auth", "down")
    jobs = [make_job(f"{kind}-{i}", utc_in(1.0 + 0.1 * n), account=ACCOUNT)
            for n, (kind, i) in enumerate((k, i) for i in range(3) for k in kinds)]
    by_kind = {kind: [j for j in jobs if j.entry.startswith(kind + "-")] for kind in kinds}
    rig.schedule(jobs)
    states = rig.wait_final(jobs, timeout_s=20)
    failing = by_kind["auth"] + by_kind["down"]
    posts = outbox_posts(rig.home)
    assert_exactly_once(posts, [j.id for j in jobs if j not in failing],
                        forbidden_ids=[j.id for j in failing])
    expected_calls = {"ok": 1, "r429": 2, "e5xx": 3, "tmo": 1, "lost": 2, "auth": 1, "down": 3}
    assert {j.entry: calls(rig.home, j.id) for j in jobs} == \
        {j.entry: expected_calls[j.entry.split("-")[0]] for j in jobs}
    assert {j.entry: states[j.id] for j in failing} == {j.entry: "failed" for j in failing}
    at = {p["job_id"]: dt.datetime.fromisoformat(p["at"]) for p in posts}
    for job in by_kind["r429"]:  # the platform's reset time was honoured
        assert (at[job.id] - job.due_utc).total_seconds() >= RATE_RESET_S
    for job in by_kind["tmo"]:  # sent, answer lost: lookup found it, no second call
        trail = [(a["to"], a["why"]) for a in rig.store.audit(job.id)]
        assert trail[-2][0] == "uncertain" and trail[-1] == ("published", "lookup found the post")
    for job in by_kind["lost"]:
        assert "lookup: not posted" in [a["why"] for a in rig.store.audit(job.id)]
    alerts = worker.log_lines("publish_failed")
    for job in failing:
        line = next((a for a in alerts if job.id in a), "")
        assert "alert=True" in line, (job.id, alerts)
    assert any("AuthError" in a and "token expired" in a for a in alerts)
    assert "unavailable after 3 attempts" in rig.store.get(by_kind["down"][0].id).reason
