"""The pure diff between a compiled plan and the stored jobs."""

from __future__ import annotations

import datetime as dt

from tests.enginekit import FakeSourcePlan, make_job
from worker.engine.diff import diff
from worker.engine.clock import to_ms
from worker.engine.states import StoredJobSummary

NOW = dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
NOW_MS = to_ms(NOW)


def at(hours: float) -> dt.datetime:
    return NOW + dt.timedelta(hours=hours)


def stored(job, state="scheduled", path="a.yaml", content_hash=None, planned_hash=""):
    return StoredJobSummary(job.id, state, content_hash or job.content_hash, to_ms(job.due_utc),
                            path, job.entry, "", planned_hash)


def plan(*jobs, path="a.yaml", ok=True, archived=()):
    return FakeSourcePlan(path, ok, tuple(jobs), archived_entries=frozenset(archived))


def table(*summaries):
    return {s.id: s for s in summaries}


def test_a_new_job_is_added():
    job = make_job("nuevo", at(2))
    changes = diff([plan(job)], {}, NOW_MS)
    assert [p.job for p in changes.adds] == [job] and changes.adds[0].path == "a.yaml"


def test_an_unchanged_job_yields_no_change():
    job = make_job("igual", at(2))
    assert diff([plan(job)], table(stored(job)), NOW_MS).empty


def test_a_job_whose_instant_changed_is_moved():
    old, new = make_job("e", at(2)), make_job("e", at(3))
    changes = diff([plan(new)], table(stored(old)), NOW_MS)
    assert [p.job for p in changes.moves] == [new] and not changes.rerenders


def test_a_job_whose_text_changed_is_rerendered_not_moved():
    old, new = make_job("e", at(2), text="a"), make_job("e", at(2), text="b")
    changes = diff([plan(new)], table(stored(old)), NOW_MS)
    assert [p.job for p in changes.rerenders] == [new] and not changes.moves


def test_held_and_dispatched_jobs_are_pending_and_can_be_moved():
    for state in ("held", "dispatched"):
        old, new = make_job("e", at(2)), make_job("e", at(5))
        assert diff([plan(new)], table(stored(old, state)), NOW_MS).moves


def test_a_pending_job_whose_entry_disappeared_is_cancelled():
    gone = make_job("gone", at(2))
    changes = diff([plan()], table(stored(gone)), NOW_MS)
    assert changes.cancels == [gone.id]


def test_a_published_job_whose_entry_disappeared_is_orphaned_not_forgotten():
    gone = make_job("gone", at(-2))
    changes = diff([plan()], table(stored(gone, "published")), NOW_MS)
    assert changes.orphans == [gone.id] and not changes.cancels


def test_a_published_job_whose_content_changed_needs_a_correction_never_a_repost():
    old, new = make_job("e", at(-1), text="plazo 9"), make_job("e", at(-1), text="plazo 10")
    changes = diff([plan(new)], table(stored(old, "published")), NOW_MS)
    assert [p.job for p in changes.corrections] == [new]
    assert not changes.adds and not changes.moves and not changes.rerenders


def test_a_correction_already_flagged_for_the_same_plan_is_not_flagged_again():
    old, new = make_job("e", at(-1), text="a"), make_job("e", at(-1), text="b")
    summary = stored(old, "needs_correction", planned_hash=new.content_hash)
    assert diff([plan(new)], table(summary), NOW_MS).empty


def test_a_broken_calendar_contributes_nothing_and_keeps_its_last_good_jobs():
    kept = make_job("kept", at(2))
    changes = diff([plan(ok=False)], table(stored(kept), stored(make_job("p", at(-3)), "published")),
                   NOW_MS)
    assert changes.empty and changes.kept_paths == ["a.yaml"]


def test_a_broken_calendar_does_not_stop_other_calendars_from_syncing():
    mine, other = make_job("mine", at(2)), make_job("other", at(2), calendar="b")
    changes = diff([plan(ok=False), plan(other, path="b.yaml")], table(stored(mine)), NOW_MS)
    assert [p.job for p in changes.adds] == [other] and not changes.cancels


def test_jobs_of_a_deleted_calendar_file_are_cancelled():
    job = make_job("e", at(2))
    changes = diff([plan(path="other.yaml")], table(stored(job)), NOW_MS)
    assert changes.cancels == [job.id]


def test_an_entry_moved_to_another_file_keeps_its_job():
    job = make_job("e", at(2))
    changes = diff([plan(path="a.yaml"), plan(job, path="b.yaml")], table(stored(job)), NOW_MS)
    assert [p.path for p in changes.rerenders] == ["b.yaml"] and not changes.cancels


def test_a_job_claimed_by_a_good_file_but_stored_under_a_broken_one_is_left_alone():
    job = make_job("e", at(2))
    changes = diff([plan(path="a.yaml", ok=False), plan(job, path="b.yaml")], table(stored(job)), NOW_MS)
    assert changes.empty


def test_in_flight_jobs_are_deferred_whatever_changed():
    for state in ("publishing", "uncertain"):
        old = make_job("e", at(0))
        changed = diff([plan(make_job("e", at(1)))], table(stored(old, state)), NOW_MS)
        removed = diff([plan()], table(stored(old, state)), NOW_MS)
        assert changed.deferred == [old.id] and removed.deferred == [old.id]
        assert not changed.moves and not removed.cancels


def test_a_new_job_whose_instant_already_passed_is_stale_not_added():
    job = make_job("tarde", at(-1))
    changes = diff([plan(job)], {}, NOW_MS)
    assert changes.stale == [job.id] and not changes.adds


def test_a_new_job_within_the_grace_period_is_still_added():
    job = make_job("justo", NOW - dt.timedelta(seconds=10))
    assert diff([plan(job)], {}, NOW_MS, grace_ms=60_000).adds


def test_a_cancelled_job_planned_again_with_new_content_is_added_again():
    old, new = make_job("e", at(2), text="a"), make_job("e", at(3), text="a")
    assert diff([plan(new)], table(stored(old, "cancelled")), NOW_MS).adds


def test_a_failed_job_with_unchanged_content_is_not_retried_by_the_sync():
    job = make_job("e", at(2))
    assert diff([plan(job)], table(stored(job, "failed")), NOW_MS).empty


def test_a_failed_job_fixed_by_the_editor_is_scheduled_again():
    old, new = make_job("e", at(2), text="demasiado largo"), make_job("e", at(2), text="corto")
    assert [p.job for p in diff([plan(new)], table(stored(old, "failed")), NOW_MS).adds] == [new]


def test_archived_entries_are_not_scheduled_and_their_posts_are_not_orphaned():
    new, posted = make_job("viejo", at(2)), make_job("hecho", at(-2))
    changes = diff([plan(new, archived=("viejo", "hecho"))], table(stored(posted, "published")), NOW_MS)
    assert changes.empty


def test_a_pending_job_of_an_archived_entry_is_cancelled():
    job = make_job("viejo", at(2))
    changes = diff([plan(job, archived=("viejo",))], table(stored(job)), NOW_MS)
    assert changes.cancels == [job.id]


def test_cancelled_and_orphaned_jobs_that_stay_gone_yield_nothing():
    a, b = make_job("a", at(2)), make_job("b", at(-2))
    assert diff([plan()], table(stored(a, "cancelled"), stored(b, "orphaned")), NOW_MS).empty


def test_the_diff_is_deterministic_and_sorted():
    jobs = [make_job(f"e{i}", at(i + 1)) for i in (3, 1, 2)]
    first = diff([plan(*jobs)], {}, NOW_MS)
    assert [p.job.entry for p in first.adds] == ["e1", "e2", "e3"]
    assert first == diff([plan(*reversed(jobs))], {}, NOW_MS)
