"""The precise timer: hands each job to the workers just before its instant.

The dispatcher sleeps until ``next due - lead`` (the minimum of ``pregonero:due``), woken
early by a push on ``pregonero:wake`` when sync adds an earlier job. At the instant it claims
the due jobs atomically (``Store.claim_due``: several dispatchers may run, none hands the
same job twice) and sends one dramatiq message per job. The message carries the exact
instant; the actor sleeps until it, so handing over ``lead_ms`` early absorbs the queue
latency without ever publishing early. Far-future jobs stay in Redis only.

It also runs the reaper: expired leases (lost messages, dead workers, uncertain outcomes due
for a re-check) are turned into lookups, never into blind reposts.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

import redis
import structlog

from worker.engine.store import Claim, Store
from worker.engine.clock import now_ms

log = structlog.get_logger("pregonero.dispatcher")

#: Redis resolves blocking timeouts on its event-loop tick (up to 1/hz s late): short waits
#: are done locally, long ones wake this much before the target.
BLPOP_MARGIN_S = 0.15


#: the longest the dispatcher sleeps without saying it is alive (read by /healthz, 180 s)
HEARTBEAT_EVERY_S = 60.0


class Dispatcher:
    """One dispatcher loop. ``send`` enqueues a claim; ``resolve`` enqueues a lookup."""

    def __init__(self, store: Store, send: Callable[[Claim], None],
                 resolve: Callable[[str, str], None], *, lead_ms: int = 200, batch: int = 100,
                 dispatch_lease_ms: int = 30_000, recheck_ms: int = 60_000,
                 reap_every_s: float = 1.0, max_sleep_s: float = 5.0, name: str = "dispatcher",
                 gate: Callable[[Claim], bool] | None = None,
                 send_many: Callable[[list[Claim]], None] | None = None, groups: int = 8):
        self.store = store
        self.send = send
        self.resolve = resolve
        self.lead_ms = lead_ms
        self.batch = batch
        self.dispatch_lease_ms = dispatch_lease_ms
        self.recheck_ms = recheck_ms
        self.reap_every_s = reap_every_s
        self.max_sleep_s = max_sleep_s
        self.name = name
        #: asked about every claim before it is sent (quiet periods): False = held, not sent
        self.gate = gate
        #: hands a group of claims to one worker thread; claims are spread over ``groups``
        #: groups so that a burst keeps every worker thread busy
        self.send_many = send_many
        self.groups = max(1, groups)
        self._next_reap = 0.0

    def tick(self) -> float:
        """Reap if it is time, claim and send what is due; returns seconds until next work."""
        if time.monotonic() >= self._next_reap:
            self._next_reap = time.monotonic() + self.reap_every_s
            for job_id, attempt_id in self.store.reap(recheck_ms=self.recheck_ms, by=self.name):
                log.info("lookup_requested", job_id=job_id, attempt_id=attempt_id)
                self.resolve(job_id, attempt_id)
        claims = self.store.claim_due(now_ms() + self.lead_ms, self.batch,
                                      dispatch_lease_ms=self.dispatch_lease_ms, by=self.name)
        ready = []
        for claim in claims:
            try:
                if self.gate is None or self.gate(claim):
                    ready.append(claim)
            except Exception:  # Redis hiccup: the dispatch lease brings the job back
                log.exception("dispatch_gate_failed", job_id=claim.job_id)
        for group in self._groups(ready):
            try:
                if len(group) > 1 and self.send_many is not None:
                    self.send_many(group)
                else:
                    self.send(group[0])
            except Exception:  # broker down: the dispatch lease brings the jobs back
                log.exception("dispatch_send_failed", job_ids=[c.job_id for c in group])
        if len(claims) >= self.batch:
            return 0.0
        wait_s = self.max_sleep_s
        next_due = self.store.next_due_ms()
        if next_due is not None:
            wait_s = min(wait_s, (next_due - self.lead_ms - now_ms()) / 1000)
        wait_s = min(wait_s, self._next_reap - time.monotonic())
        return max(0.0, wait_s)

    def _groups(self, claims: list[Claim]) -> list[list[Claim]]:
        """Claims due at the same instant, spread round-robin over at most ``groups`` groups;
        a claim alone (the usual case) travels alone."""
        if self.send_many is None or len(claims) <= 1:
            return [[claim] for claim in claims]
        count = min(self.groups, len(claims))
        return [claims[i::count] for i in range(count)]

    def run(self, stop: threading.Event) -> None:
        """Loop until ``stop`` is set; survives Redis hiccups."""
        from worker.engine.metrics import record_heartbeat

        log.info("dispatcher_started", name=self.name, lead_ms=self.lead_ms)
        while not stop.is_set():
            try:
                record_heartbeat(self.store, f"dispatcher:{self.name}")
                # wake at least every HEARTBEAT_EVERY_S even with nothing due, so /healthz
                # can tell a quiet dispatcher from a dead one
                wait_s = min(self.tick(), HEARTBEAT_EVERY_S)
                if wait_s > BLPOP_MARGIN_S * 2:
                    # sleep on the wake list: sync pushes to it when it adds an earlier job
                    self.store.wait_for_wake(wait_s - BLPOP_MARGIN_S)
                elif wait_s > 0:
                    stop.wait(wait_s)
            except (redis.ConnectionError, redis.TimeoutError):
                log.warning("dispatcher_redis_unavailable", name=self.name)
                stop.wait(0.5)
        log.info("dispatcher_stopped", name=self.name)
