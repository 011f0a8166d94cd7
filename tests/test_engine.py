"""End to end, in process: real redis-server, dramatiq worker, dispatcher, outbox adapter.

Jobs are due in ~1-2 s; tests wait on conditions with deadlines, never on bare sleeps.
"""

from __future__ import annotations

import datetime as dt

from adapters.base import AuthError, OutcomeUnknown, RateLimited, Unavailable
from tests.enginekit import FakeSourcePlan, hold_still, make_job, utc_in, wait_for
from worker.store import to_ms
from worker.sync import apply_plan


def now():
    return dt.datetime.now(dt.timezone.utc)


def published(engine, job_id):
    stored = engine.store.get(job_id)
    return stored if stored and stored.state == "published" else None


def test_jobs_due_soon_are_published_exactly_once_and_never_early(engine):
    jobs = [make_job(f"e{i}", utc_in(1.0 + i * 0.3)) for i in range(3)]
    apply_plan(engine.store, [FakeSourcePlan("cal.yaml", True, tuple(jobs))], now())
    for job in jobs:
        stored = wait_for(lambda: published(engine, job.id), what=f"{job.id} published")
        assert 0 <= stored.lateness_ms < 150
        posts = engine.posts(job.id)
        assert len(posts) == 1
        assert dt.datetime.fromisoformat(posts[0]["at"]) >= job.due_utc
        assert stored.ref.post_id == posts[0]["post_id"]
    hold_still(lambda: len(engine.posts()) == 3, 0.5, what="exactly three posts")
    trail = [(a["from"], a["to"]) for a in engine.store.audit(jobs[0].id)]
    assert trail == [("-", "scheduled"), ("scheduled", "dispatched"),
                     ("dispatched", "publishing"), ("publishing", "published")]
