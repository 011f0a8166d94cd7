"""The message path: dramatiq over Redis, with the two actors bound to a ``Publisher``.

dramatiq's own retries are off (``max_retries=0``): a message is only a nudge to look at a
job; whether and when it is tried again is decided by the store (``worker.engine.publisher``),
so a lost or repeated message can never post twice.
"""

from __future__ import annotations

import dataclasses
import hashlib

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from worker.engine import keys
from worker.engine.publisher import EngineSettings, Publisher


def home_id(home) -> str:
    return hashlib.sha256(str(home).encode()).hexdigest()[:12]


@dataclasses.dataclass
class Actors:
    broker: RedisBroker
    publish: dramatiq.Actor
    resolve: dramatiq.Actor
    #: several claims in one message: a burst costs one broker round trip per group, not per job
    publish_many: dramatiq.Actor | None = None

    def send_claims(self, claims) -> None:
        """Hand claims to the workers: one message for one claim, grouped messages for more."""
        if len(claims) == 1 or self.publish_many is None:
            for claim in claims:
                self.publish.send(claim.job_id, claim.token, claim.send_at_ms)
            return
        self.publish_many.send([[c.job_id, c.token, c.send_at_ms] for c in claims])


def setup(client: redis.Redis, namespace: str, publisher: Publisher, queue: str = "pregonero") -> Actors:
    """A broker for this home and the two actors bound to ``publisher``."""
    broker = RedisBroker(client=client, namespace=namespace)

    def publish_job(job_id: str, token: str, send_at_ms: int) -> None:
        publisher.publish_job(job_id, token, send_at_ms)

    def publish_jobs(claims: list) -> None:
        # one by one, in claim (due) order; each claim is checked and published exactly as a
        # single message would be, so a worker lost mid-group loses nothing: the claims it
        # never began come back through their dispatch lease
        for job_id, token, send_at_ms in claims:
            publisher.publish_job(job_id, token, send_at_ms)

    def resolve_job(job_id: str, attempt_id: str) -> None:
        publisher.resolve_job(job_id, attempt_id)

    options = {"broker": broker, "queue_name": queue, "max_retries": 0}
    return Actors(broker, dramatiq.actor(publish_job, actor_name="publish_job", **options),
                  dramatiq.actor(resolve_job, actor_name="resolve_job", **options),
                  dramatiq.actor(publish_jobs, actor_name="publish_jobs", **options))


def start_worker(actors: Actors, settings: EngineSettings) -> dramatiq.Worker:
    worker = dramatiq.Worker(actors.broker, worker_threads=settings.worker_threads,
                             worker_timeout=settings.worker_timeout_ms)
    worker.start()
    return worker


def namespace_for(home) -> str:
    return keys.dramatiq_namespace(home_id(home))
