"""Fixtures: throwaway redis-servers (free ports, tmp dirs; never 6379, never a server we did
not start), the store over them, and a whole in-process engine publishing to the outbox."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Callable

import pytest

from worker.net.guard import NetPolicy
from worker.engine.redis_server import RedisServerProcess
from worker.engine.store import Store


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServerProcess(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def store(redis_server):
    client = redis_server.client()
    yield Store(client)
    try:
        undocumented = undocumented_job_fields(client)
    finally:
        client.close()
    assert not undocumented, (f"job fields written but not documented in "
                              f"worker/engine/fields.py: {undocumented}")


def undocumented_job_fields(client) -> dict[str, list[str]]:
    """Fields of the job hashes a test left behind that ``worker.engine.fields`` does not
    list, each with a job that has it: every engine test checks the written list. A server
    the test itself stopped (redis down on purpose) has nothing to check."""
    import redis

    from worker.engine import keys
    from worker.engine.fields import FIELDS

    found: dict[str, list[str]] = {}
    try:
        for key in client.scan_iter(match=keys.JOB_PREFIX + "*", count=1000):
            for name in client.hkeys(key):
                name = name.decode()
                if name not in FIELDS:
                    found.setdefault(name, []).append(key.decode()[len(keys.JOB_PREFIX):])
    except redis.ConnectionError:
        return {}
    return {name: jobs[:3] for name, jobs in found.items()}


@dataclasses.dataclass
class Engine:
    """An in-process engine (``worker.engine.build``, as the service builds it) publishing to
    outbox adapters: one dispatcher thread and a dramatiq worker."""

    store: Store
    home: Path
    built: object  # worker.engine.build.Engine
    stop: threading.Event
    #: set per test: request -> exception to inject (or None)
    fail_plan: Callable | None = None

    @property
    def publisher(self):
        return self.built.publisher

    @property
    def actors(self):
        return self.built.actors

    @property
    def worker(self):
        return self.built.worker

    @property
    def dispatcher(self):
        return self.built.dispatchers[0]

    def outbox(self, account: str = "x:ayto-test"):
        return self.adapter_for_account(account)

    def adapter_for_account(self, account: str):
        from adapters import capabilities_for
        from adapters.outbox import OutboxAdapter

        return OutboxAdapter(account, capabilities_for("outbox"), self.home,
                             fail_plan=lambda request: self.fail_plan(request) if self.fail_plan else None)

    def posts(self, job_id: str | None = None) -> list[dict]:
        records = [r for r in self.outbox().records() if r.get("action") == "publish"]
        return [r for r in records if job_id is None or r["job_id"] == job_id]


#: the tests' official pages are servers on 127.0.0.1: allow-listed, as an operator would
#: allow-list an intranet page (tests/test_netguard_engine.py runs without it)
LOCAL_PAGES = NetPolicy(allow_hosts=("127.0.0.1",))

FAST = dict(lead_ms=200, worker_threads=4, worker_timeout_ms=50, lease_ms=3000, heartbeat_s=0.5,
            dispatch_lease_ms=5000, lookup_delay_ms=200, uncertain_recheck_ms=300,
            reap_every_s=0.1, backoff_s=(0.3, 0.3), rate_limit_jitter_s=0.05,
            golive_interval_s=0.3, golive_window_s=30.0, golive_timeout_s=1.0,
            network=LOCAL_PAGES)


@pytest.fixture
def engine_factory(store, tmp_path):
    from worker.engine.build import build_engine
    from worker.engine.publisher import EngineSettings

    started: list[Engine] = []

    def make(images_root: str | None = None, **overrides) -> Engine:
        """``images_root``: the calendar repository local images may be sent from (None:
        none may, as for a worker told no schedules folder)."""
        settings = EngineSettings(**{**FAST, **overrides})
        holder: dict = {}
        built = build_engine(store, lambda job: holder["engine"].adapter_for_account(job.account),
                             settings, namespace=f"test-{len(started)}", images_root=images_root)
        engine = Engine(store, tmp_path / "home", built, threading.Event())
        holder["engine"] = engine
        built.start(engine.stop)
        started.append(engine)
        return engine

    yield make
    for engine in started:
        engine.stop.set()
        engine.built.close(worker_timeout_ms=10_000)


@pytest.fixture
def engine(engine_factory):
    return engine_factory()
