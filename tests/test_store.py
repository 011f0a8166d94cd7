"""The store: guarded transitions, atomic claims, audit, leases, durability, memory."""

from __future__ import annotations

import threading

from adapters.base import PostRef
from tests.enginekit import make_job, utc_in, wait_for
from worker.engine import keys
from worker.jobs import EventInfo, PlannedImage
from worker.engine.store import Store, compact_job_json, job_from_json
from worker.engine.clock import now_ms, to_ms

REF = PostRef("x", "x:ayto-test", "123", "https://x.example/123")


def add(store, entry="e", due_s=-1.0, **kw):
    job = make_job(entry, utc_in(due_s), **kw)
    assert store.add_job(job, "cal.yaml", "test")
    return job


def claim_one(store, job):
    claims = store.claim_due(now_ms() + 1000, 10)
    assert [c.job_id for c in claims] == [job.id]
    return claims[0]


def test_the_compact_job_json_round_trips_to_the_same_content_hash():
    job = make_job("e", utc_in(10), text="Hola «món» ñ")
    rich = make_job("r", utc_in(10)).__class__(**{**make_job("r", utc_in(10)).__dict__,
        "images": (PlannedImage("a.png", "alt"),), "depends_on": {"plazo": "2027-01-01"},
        "event": EventInfo("2027-01-01T10:00:00+00:00", None, False, "T", None, None, "d"),
        "link": "https://sede.example.org"})
    for original in (job, rich):
        back = job_from_json(original.id, compact_job_json(original))
        assert back == original and back.content_hash == original.content_hash


def test_an_added_job_is_scheduled_in_the_due_zset_at_its_instant(store):
    job = add(store, due_s=30)
    assert store.state(job.id) == "scheduled"
    assert store.next_due_ms() == to_ms(job.due_utc)
    assert store.add_job(job, "cal.yaml", "test") is False, "adding twice must not reset state"


def test_claim_due_hands_a_due_job_once_and_leaves_future_ones(store):
    due, future = add(store, "due", -0.1), add(store, "future", 60)
    claim = claim_one(store, due)
    assert claim.send_at_ms == to_ms(due.due_utc)
    assert store.claim_due(now_ms() + 1000, 10) == []
    assert store.state(due.id) == "dispatched" and store.state(future.id) == "scheduled"


def test_concurrent_claimers_never_get_the_same_job(store, redis_server):
    jobs = [add(store, f"j{i}", -0.01) for i in range(200)]
    got: list[str] = []
    lock = threading.Lock()

    def claimer():
        other = Store(redis_server.client())
        for _ in range(50):
            claims = other.claim_due(now_ms() + 1000, 7)
            with lock:
                got.extend(c.job_id for c in claims)

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(j.id for j in jobs)


def test_begin_publish_needs_the_current_token_and_wins_only_once(store):
    job = add(store)
    claim = claim_one(store, job)
    assert not store.begin_publish(job.id, "wrong", "a1", 60_000)
    assert store.begin_publish(job.id, claim.token, "a1", 60_000)
    assert not store.begin_publish(job.id, claim.token, "a2", 60_000)
    assert store.get(job.id).attempt_id == "a1"


def test_mark_published_needs_the_attempt_id_and_records_the_ref(store):
    job = add(store)
    claim = claim_one(store, job)
    store.begin_publish(job.id, claim.token, "a1", 60_000)
    assert store.transition(job.id, "publishing", "published", "t", "x", check=("at", "zz")) is False
    assert store.mark_published(job.id, "a1", REF, 12)
    stored = store.get(job.id)
    assert stored.state == "published" and stored.ref == REF and stored.lateness_ms == 12
    assert store.r.zscore(keys.LEASES, job.id) is None


def test_every_transition_writes_exactly_one_audit_entry_and_failed_ones_none(store):
    job = add(store)
    claim = claim_one(store, job)
    store.begin_publish(job.id, "wrong", "a1", 60_000)
    store.begin_publish(job.id, claim.token, "a1", 60_000)
    store.mark_failed(job.id, "Rejected: too long", attempt_id="a1")
    trail = [(a["from"], a["to"], a["by"]) for a in store.audit(job.id)]
    assert trail == [("-", "scheduled", "test"), ("scheduled", "dispatched", "dispatcher"),
                     ("dispatched", "publishing", "worker"), ("publishing", "failed", "worker")]


def test_updating_a_dispatched_job_voids_the_message_in_flight(store):
    job = add(store)
    claim = claim_one(store, job)
    later = make_job("e", utc_in(30))
    assert store.update_job(later, "cal.yaml", "sync", "moved")
    assert store.state(job.id) == "scheduled" and store.next_due_ms() == to_ms(later.due_utc)
    assert not store.begin_publish(job.id, claim.token, "a1", 60_000)


def test_cancel_only_touches_pending_jobs(store):
    job = add(store)
    claim = claim_one(store, job)
    store.begin_publish(job.id, claim.token, "a1", 60_000)
    assert not store.cancel_job(job.id, "sync", "removed")
    pending = add(store, "p", 30)
    assert store.cancel_job(pending.id, "sync", "removed")
    assert store.next_due_ms() is None


def test_the_reaper_turns_a_dead_attempt_into_uncertain_and_a_lost_message_back_into_scheduled(store):
    dead, lost = add(store, "dead"), add(store, "lost")
    claims = {c.job_id: c for c in store.claim_due(now_ms() + 1000, 10, dispatch_lease_ms=-1)}
    store.begin_publish(dead.id, claims[dead.id].token, "a1", lease_ms=-1)
    found = store.reap(recheck_ms=60_000)
    assert found == [(dead.id, "a1")]
    assert store.state(dead.id) == "uncertain" and store.state(lost.id) == "scheduled"
    assert store.reap() == [], "a re-check is not handed out twice"


def test_a_heartbeat_extends_only_the_current_attempts_lease(store):
    job = add(store)
    claim = claim_one(store, job)
    store.begin_publish(job.id, claim.token, "a1", lease_ms=1000)
    before = store.r.zscore(keys.LEASES, job.id)
    assert store.heartbeat(job.id, "a1", 60_000)
    assert store.r.zscore(keys.LEASES, job.id) > before
    assert not store.heartbeat(job.id, "other", 60_000)


def test_a_paused_job_is_held_at_claim_time(store):
    job = add(store, department="cultura")
    store.r.hset(keys.PAUSES, "department:cultura", "{}")
    assert store.claim_due(now_ms() + 1000, 10) == []
    assert store.state(job.id) == "held" and store.get(job.id).reason == "paused"


def test_a_published_state_survives_a_redis_server_crash(store, redis_server):
    job = add(store)
    claim = claim_one(store, job)
    store.begin_publish(job.id, claim.token, "a1", 60_000)
    store.mark_published(job.id, "a1", REF, 5)
    redis_server.kill()
    redis_server.restart()
    again = Store(redis_server.client())
    assert again.state(job.id) == "published" and again.get(job.id).ref == REF


def test_a_scheduled_job_costs_well_under_two_kilobytes_of_redis(store):
    n = 3000
    base = store.r.info("memory")["used_memory"]
    pipe = store.r.pipeline(transaction=False)
    for i in range(n):
        job = make_job(f"entrada-{i:05d}", utc_in(3600 + i), text="Ayudas de hasta 3.000 € para "
                       "el comercio local. Solicitudes hasta el 9 de abril. " * 2)
        store.add_job(job, "calp/ayudas.yaml", "bench", client=pipe)
    pipe.execute()
    per_job = (store.r.info("memory")["used_memory"] - base) / n
    assert per_job < 2048, f"{per_job:.0f} bytes per scheduled job"


def test_a_held_job_whose_instant_passed_is_released_only_by_a_decision(store):
    from worker.engine.holds import hold_job, release_job

    job = add(store, "quieto", due_s=0.2)
    assert hold_job(store, job.id, "quiet_period", by="policy")
    assert store.claim_due(now_ms() + 1000, 10) == []
    wait_for(lambda: now_ms() > to_ms(job.due_utc), what="the instant passes")
    assert not release_job(store, job.id, by="ana")
    assert release_job(store, job.id, by="ana", send_late=True)
    assert store.state(job.id) == "scheduled"
    assert store.audit(job.id)[-1]["by"] == "ana"


def test_a_job_field_missing_from_the_written_list_is_caught_when_a_test_ends(store):
    from tests.conftest import undocumented_job_fields

    store.r.hset(keys.job("cal/e/x:ayto/es"), mapping={"s": "scheduled", "zz": "1"})
    assert undocumented_job_fields(store.r) == {"zz": ["cal/e/x:ayto/es"]}
    store.r.hdel(keys.job("cal/e/x:ayto/es"), "zz")  # the fixture's own check stays green
    assert undocumented_job_fields(store.r) == {}
