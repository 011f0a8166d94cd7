"""The engine respects Instagram's publishing quota: a job that would exceed it is held with
reason ``instagram_quota`` and re-checked, not failed. Engine tests run on a throwaway
redis-server (``conftest.engine_factory``) with outbox adapters that also report a quota."""

from __future__ import annotations

import threading

from adapters.base import Unavailable
from adapters.instagram import PublishingQuota
from tests.enginekit import FakeSourcePlan, hold_still, make_job, now, utc_in, wait_for
from worker.engine.quota import quota_gate
from worker.engine.states import INSTAGRAM_QUOTA
from worker.engine.store import StoredJob
from worker.engine.sync import apply_plan

ACCOUNT = "instagram:ayto-test"


class Quota:
    """What the fake account answers to ``publishing_quota``; counts the questions."""

    def __init__(self, used: int, total: int = 50, error: Exception | None = None):
        self.used, self.total, self.error, self.asked = used, total, error, 0
        self.lock = threading.Lock()

    def read(self) -> PublishingQuota:
        with self.lock:
            self.asked += 1
            if self.error is not None:
                raise self.error
            return PublishingQuota(self.used, self.total)


class QuotaAdapter:
    """An adapter (the outbox) with a publishing quota, like the Instagram adapter."""

    def __init__(self, inner, quota: Quota):
        self.inner, self.quota = inner, quota
        self.account, self.capabilities = inner.account, inner.capabilities

    def publishing_quota(self) -> PublishingQuota:
        return self.quota.read()

    def __getattr__(self, name):
        return getattr(self.inner, name)


def with_quota(engine, quota: Quota):
    outbox = engine.adapter_for_account
    engine.adapter_for_account = lambda account: (
        QuotaAdapter(outbox(account), quota) if account.startswith("instagram:")
        else outbox(account))
    return engine


def stored(job, **fields) -> StoredJob:
    return StoredJob(job.id, "dispatched", job, fields)


def published(engine, job_id):
    found = engine.store.get(job_id)
    return found if found and found.state == "published" else None


# --- the gate ---------------------------------------------------------------------------------

def test_a_post_within_the_quota_may_go_out():
    quota = Quota(used=49)
    check = quota_gate(_Only(quota), stored(make_job("a", utc_in(1), account=ACCOUNT)))
    assert check.allowed and quota.asked == 1


def test_a_post_that_would_exceed_the_quota_is_not_allowed_and_says_why():
    check = quota_gate(_Only(Quota(used=50)), stored(make_job("a", utc_in(1), account=ACCOUNT)))
    assert not check.allowed and "50 of 50" in check.detail and "24 h" in check.detail


def test_corrections_do_not_use_the_publishing_quota():
    quota = Quota(used=50)
    check = quota_gate(_Only(quota), stored(make_job("a", utc_in(1), account=ACCOUNT),
                                            ca="reply"))
    assert check.allowed and quota.asked == 0


def test_adapters_without_a_quota_are_never_held():
    assert quota_gate(object(), stored(make_job("a", utc_in(1)))).allowed


def test_an_unreadable_quota_lets_the_post_go_because_the_platform_enforces_its_limit():
    check = quota_gate(_Only(Quota(used=0, error=Unavailable("Instagram quota failed"))),
                       stored(make_job("a", utc_in(1), account=ACCOUNT)))
    assert check.allowed and check.detail == "quota unreadable"


class _Only:
    """Just ``publishing_quota``: the gate needs nothing else."""

    def __init__(self, quota: Quota):
        self.quota = quota

    def publishing_quota(self):
        return self.quota.read()


# --- in the engine ----------------------------------------------------------------------------

def test_a_job_over_the_quota_is_held_rechecked_and_published_once_a_slot_frees(
        engine_factory):
    quota = Quota(used=50, total=50)
    engine = with_quota(engine_factory(quota_recheck_s=0.3), quota)
    job = make_job("cartel", utc_in(1.0), account=ACCOUNT)
    apply_plan(engine.store, [FakeSourcePlan("cal.yaml", True, (job,))], now())
    wait_for(lambda: engine.store.get(job.id).reason == INSTAGRAM_QUOTA, what="held for quota")
    assert engine.store.state(job.id) == "held"
    why = [a["why"] for a in engine.store.audit(job.id) if a["to"] == "held"]
    assert why and why[0].startswith("instagram_quota: 50 of 50")
    wait_for(lambda: quota.asked >= 3, what="re-checks")
    assert not engine.posts(job.id) and engine.store.state(job.id) != "failed"
    with quota.lock:
        quota.used = 49
    wait_for(lambda: published(engine, job.id), what="published once under the quota")
    hold_still(lambda: len(engine.posts(job.id)) == 1, 0.5, what="published exactly once")


def test_other_accounts_are_not_held_by_an_instagram_quota(engine_factory):
    quota = Quota(used=50, total=50)
    engine = with_quota(engine_factory(quota_recheck_s=0.3), quota)
    other = make_job("aviso", utc_in(1.0), account="x:ayto-test")
    apply_plan(engine.store, [FakeSourcePlan("cal.yaml", True, (other,))], now())
    wait_for(lambda: published(engine, other.id), what="the X post published")
    assert quota.asked == 0


def test_a_quota_held_job_whose_entry_changes_takes_the_new_text(engine_factory):
    quota = Quota(used=50, total=50)
    engine = with_quota(engine_factory(quota_recheck_s=0.3), quota)
    job = make_job("cartel", utc_in(1.0), account=ACCOUNT, text="Versión antigua")
    apply_plan(engine.store, [FakeSourcePlan("cal.yaml", True, (job,))], now())
    wait_for(lambda: engine.store.get(job.id).reason == INSTAGRAM_QUOTA, what="held for quota")
    newer = make_job("cartel", utc_in(0.5), account=ACCOUNT, text="Versión nueva")
    apply_plan(engine.store, [FakeSourcePlan("cal.yaml", True, (newer,))], now())
    with quota.lock:
        quota.used = 0
    wait_for(lambda: published(engine, job.id), what="published")
    assert [p["text"] for p in engine.posts(job.id)] == ["Versión nueva"]
