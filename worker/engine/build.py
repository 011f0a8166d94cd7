"""The engine's parts wired together, once: the service (``pregonero run``, ``worker``,
``dispatcher``) and the tests build the same thing here, so a test exercises the wiring the
service runs, not a copy of it.

``build_engine`` makes the parts and starts nothing; ``Engine.start`` starts the dramatiq
worker and the dispatcher threads, ``Engine.close`` stops them in the order that loses
nothing (dispatchers stop claiming, in-flight attempts finish and record, the broker closes).
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Callable, Sequence

import dramatiq

from adapters.base import Adapter
from worker.engine.broker import Actors, setup, start_worker
from worker.engine.dispatcher import Dispatcher
from worker.engine.publisher import EngineSettings, Publisher
from worker.engine.store import Store
from worker.jobs import Job
from worker.net.guard import NetPolicy


@dataclasses.dataclass
class Engine:
    """A built engine: what publishes (publisher, actors, worker) and what claims
    (dispatchers), over one store."""

    store: Store
    settings: EngineSettings
    publisher: Publisher
    actors: Actors
    dispatchers: list[Dispatcher]
    with_worker: bool = True
    worker: dramatiq.Worker | None = None
    threads: list[threading.Thread] = dataclasses.field(default_factory=list)

    def start(self, stop: threading.Event) -> None:
        """The worker (if this engine has one) and one thread per dispatcher, until ``stop``."""
        if self.with_worker:
            self.worker = start_worker(self.actors, self.settings)
        self.threads = [threading.Thread(target=d.run, args=(stop,), name=d.name, daemon=True)
                        for d in self.dispatchers]
        for thread in self.threads:
            thread.start()

    def close(self, worker_timeout_ms: int | None = None) -> None:
        """After ``stop`` is set: dispatchers end, in-flight attempts finish (their outcome
        recorded), the broker closes. A job claimed but not begun comes back through its
        dispatch lease."""
        self.store.wake()  # unblock a dispatcher sleeping on the wake list
        for thread in self.threads:
            thread.join(timeout=10)
        if self.worker is not None:
            self.worker.stop(timeout=int(worker_timeout_ms if worker_timeout_ms is not None
                                         else self.settings.lease_ms))
        self.actors.broker.close()


def build_engine(store: Store, adapter_for: Callable[[Job], Adapter], settings: EngineSettings,
                 *, namespace: str, dispatchers: Sequence[str] = ("dispatcher",),
                 with_worker: bool = True, network_policy: Callable[[], NetPolicy] | None = None,
                 images_root: str | None = None,
                 quiet_gate_for: Callable[[str], Callable] | None = None) -> Engine:
    """The parts of an engine over ``store``: a publisher sending through ``adapter_for``, the
    broker's actors in ``namespace`` (one per home: two homes sharing a Redis never take each
    other's messages), and one dispatcher per name in ``dispatchers`` (each with the
    quiet-period gate ``quiet_gate_for(its name)`` gives, if any)."""
    publisher = Publisher(store, adapter_for, settings, network_policy=network_policy,
                          images_root=images_root)
    actors = setup(store.r, namespace, publisher)
    return Engine(store, settings, publisher, actors, with_worker=with_worker, dispatchers=[
        Dispatcher(store, lambda c: actors.publish.send(c.job_id, c.token, c.send_at_ms),
                   lambda job_id, attempt: actors.resolve.send(job_id, attempt),
                   lead_ms=settings.lead_ms, dispatch_lease_ms=settings.dispatch_lease_ms,
                   recheck_ms=settings.uncertain_recheck_ms, reap_every_s=settings.reap_every_s,
                   name=each, gate=quiet_gate_for(each) if quiet_gate_for else None,
                   send_many=actors.send_claims, groups=settings.worker_threads)
        for each in dispatchers])
