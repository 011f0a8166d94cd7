"""Posts held when a change lands: they keep the hold they had (a go-live waiting for its
page, a pause), every held post says how it gets out, and corrections are never skipped."""

from __future__ import annotations

import dataclasses
import datetime as dt

from tests.enginekit import hold_still, make_job, one_file_plan, utc_in, wait_for
from tests.test_engine import OfficialPage, now, published
from worker.cli.status_cmd import collect as status_report
from worker.corrections.engine import default_planner
from worker.engine.holds import pause, resume
from worker.engine.sync import apply_plan


def held_row(store, job_id):
    return next(r for r in status_report(store)["held"] if r["job_id"] == job_id)


def test_a_go_live_waiting_for_its_page_keeps_waiting_when_a_correction_re_renders_it(engine):
    page = OfficialPage()
    try:
        job = make_job("abierto", utc_in(0.5), kind="golive", official_url=page.url,
                       text="Ya puedes presentar la solicitud hasta el 9 de abril.")
        apply_plan(engine.store, one_file_plan(job), now())
        wait_for(lambda: engine.store.get(job.id).reason == "golive_waiting", what="waiting")
        # on-call moves the deadline: the post re-renders, its instant is now in the past
        fixed = dataclasses.replace(job, text="Ya puedes presentar la solicitud hasta el 16 de abril.")
        # two minutes later: well past the grace in which a just-due post simply goes out
        later = now() + dt.timedelta(minutes=2)
        apply_plan(engine.store, one_file_plan(fixed, flagged={job.id: "in_the_past"}), later)
        stored = engine.store.get(job.id)
        assert (stored.state, stored.reason) == ("held", "golive_waiting")
        assert "16 de abril" in stored.job.text
        assert "goes out by itself" in held_row(engine.store, job.id)["release"]
        page.live = True
        wait_for(lambda: published(engine, job.id), what="published once the page is live")
        (post,) = engine.posts(job.id)
        assert "16 de abril" in post["text"]
    finally:
        page.close()


def test_a_paused_post_moved_into_the_past_stays_paused_and_is_released_by_a_decision(engine):
    job = make_job("pausado", utc_in(2.0))
    apply_plan(engine.store, one_file_plan(job), now())
    assert pause(engine.store, "account", job.account, "cuenta comprometida", "guardia") == 1
    moved = dataclasses.replace(job, due_utc=utc_in(-600), text="Nuevo texto")
    apply_plan(engine.store, one_file_plan(moved, flagged={job.id: "in_the_past"}), now())
    stored = engine.store.get(job.id)
    assert (stored.state, stored.reason) == ("held", "paused") and stored.job.text == "Nuevo texto"
    assert "pregonero resume --account x:ayto-test" in held_row(engine.store, job.id)["release"]
    first = resume(engine.store, "account", job.account, "guardia")
    assert first.awaiting_decision == [job.id]
    assert "--send-missed" in held_row(engine.store, job.id)["release"]
    second = resume(engine.store, "account", job.account, "guardia", missed="send")
    assert second.sent_late == [job.id]
    wait_for(lambda: published(engine, job.id), what="sent late, by decision")
    assert [p["text"] for p in engine.posts(job.id)] == ["Nuevo texto"]


def test_a_post_a_change_moved_into_the_past_is_listed_and_released_by_send_missed(engine):
    job = make_job("movido", utc_in(3600))
    apply_plan(engine.store, one_file_plan(job), now())
    apply_plan(engine.store, one_file_plan(dataclasses.replace(job, due_utc=utc_in(-300))), now())
    stored = engine.store.get(job.id)
    assert (stored.state, stored.reason) == ("held", "moved_to_past")
    row = held_row(engine.store, job.id)
    assert "--send-missed" in row["release"] and "--skip-missed" in row["release"]
    # a resume without a decision does not send it
    assert resume(engine.store, "all", None, "guardia").awaiting_decision == [job.id]
    hold_still(lambda: not engine.posts(job.id), 0.4, what="not sent without a decision")
    report = resume(engine.store, "all", None, "guardia", missed="send")
    assert report.sent_late == [job.id]
    wait_for(lambda: published(engine, job.id), what="published after the decision")


def test_a_correction_held_by_a_pause_is_sent_at_resume_even_with_skip_missed(engine):
    job = make_job("aviso", utc_in(0.5), text="El plazo termina el 9 de abril.")
    apply_plan(engine.store, one_file_plan(job), now())
    wait_for(lambda: published(engine, job.id), what="original published")
    pause(engine.store, "account", job.account, "revisión", "guardia")
    apply_plan(engine.store, one_file_plan(dataclasses.replace(job, text="El plazo termina el 16 de abril.")),
               now())
    assert default_planner(engine.store).run().planned
    (correction,) = [s for s in engine.store.summaries().values() if s.of == job.id]
    wait_for(lambda: engine.store.get(correction.id).reason == "paused", what="held by the pause")
    report = resume(engine.store, "account", job.account, "guardia", missed="skip")
    assert report.corrections == [correction.id] and report.skipped == []
    wait_for(lambda: engine.store.state(job.id) == "published"
             and "16 de abril" in engine.store.get(job.id).job.text, what="corrected")
    sent = [r for r in engine.outbox().records() if r["job_id"] == correction.id]
    assert len(sent) == 1 and "16 de abril" in sent[0]["text"]


def test_a_sync_that_finds_an_unchanged_go_live_mid_recheck_leaves_it_waiting(store):
    # the engine's compile flags every entry whose instant passed; an unchanged go-live that
    # a sync catches between two checks of its page is no news and must keep waiting
    job = make_job("abierto", utc_in(-30), kind="golive", official_url="https://sede.example/f")
    apply_plan(store, one_file_plan(job), now())
    assert store.transition(job.id, "scheduled", "dispatched", "test", "re-check",
                            fields={"r": "golive_waiting", "t": "tok"})
    apply_plan(store, one_file_plan(job, flagged={job.id: "in_the_past"}), now())
    stored = store.get(job.id)
    assert (stored.state, stored.reason) == ("dispatched", "golive_waiting")


def test_an_unchanged_post_after_its_deadline_is_still_held_for_a_decision(store):
    job = make_job("recordatorio", utc_in(3600))
    apply_plan(store, one_file_plan(job), now())
    apply_plan(store, one_file_plan(job, flagged={job.id: "after_deadline"}), now())
    stored = store.get(job.id)
    assert (stored.state, stored.reason) == ("held", "after_deadline")


def test_a_post_changed_moments_after_its_instant_goes_out_in_its_new_version(store):
    job = make_job("justo", utc_in(-5), text="Texto viejo")
    apply_plan(store, one_file_plan(job), now() - dt.timedelta(seconds=10))   # added before its instant
    fixed = dataclasses.replace(job, text="Texto nuevo")
    # the compile says "in the past" five seconds after the instant: within the grace, the
    # new version is simply sent, not held for a decision nobody is asked to make
    apply_plan(store, one_file_plan(fixed, flagged={job.id: "in_the_past"}), now())
    stored = store.get(job.id)
    assert (stored.state, stored.job.text) == ("scheduled", "Texto nuevo")
