"""End to end, in process: real redis-server, dramatiq worker, dispatcher, outbox adapter.

Jobs are due in ~1-2 s; tests wait on conditions with deadlines, never on bare sleeps.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

from adapters.base import AuthError, OutcomeUnknown, RateLimited, Unavailable
from tests.enginekit import (FakeSourcePlan, hold_still, make_job, now, one_file_plan, utc_in,
                             wait_for)
from worker.engine.clock import to_ms
from worker.engine.sync import apply_plan


def published(engine, job_id):
    stored = engine.store.get(job_id)
    return stored if stored and stored.state == "published" else None


def test_jobs_due_soon_are_published_exactly_once_and_never_early(engine):
    jobs = [make_job(f"e{i}", utc_in(1.0 + i * 0.3)) for i in range(3)]
    apply_plan(engine.store, [FakeSourcePlan("cal.yaml", True, tuple(jobs))], now())
    for job in jobs:
        stored = wait_for(lambda: published(engine, job.id), what=f"{job.id} published")
        assert stored.lateness_ms >= 0  # never early; how late is bench/lateness.py's job
        posts = engine.posts(job.id)
        assert len(posts) == 1
        assert dt.datetime.fromisoformat(posts[0]["at"]) >= job.due_utc
        assert stored.ref.post_id == posts[0]["post_id"]
    hold_still(lambda: len(engine.posts()) == 3, 0.5, what="exactly three posts")
    trail = [(a["from"], a["to"]) for a in engine.store.audit(jobs[0].id)]
    assert trail == [("-", "scheduled"), ("scheduled", "dispatched"),
                     ("dispatched", "publishing"), ("publishing", "published")]


def test_a_plain_post_is_claimed_in_the_lead_time_so_only_the_call_is_left_at_its_instant(engine):
    job = make_job("e-lead", utc_in(1.5))
    apply_plan(engine.store, [FakeSourcePlan("cal.yaml", True, (job,))], now())
    claimed = wait_for(lambda: (s := engine.store.get(job.id)) and s.state == "publishing" and s,
                       what="the job claimed", every_s=0.005)
    seen_at = now()
    assert seen_at < job.due_utc, "claimed before its instant, within the lead time"
    assert not engine.posts(job.id), "but nothing sent before the instant"
    assert claimed.fields.get("at"), "with its attempt id"
    stored = wait_for(lambda: published(engine, job.id), what="published")
    [post] = engine.posts(job.id)
    assert dt.datetime.fromisoformat(post["at"]) >= job.due_utc
    assert stored.lateness_ms >= 0


def test_a_moved_entry_is_published_at_its_new_instant_only(engine):
    job = make_job("mover", utc_in(1.0))
    apply_plan(engine.store, one_file_plan(job), now())
    moved = make_job("mover", utc_in(2.0))
    report = apply_plan(engine.store, one_file_plan(moved), now())
    assert report.counts["moves"] == 1
    hold_still(lambda: not engine.posts(job.id), 1.5, what="nothing posted at the old instant")
    stored = wait_for(lambda: published(engine, job.id), what="published at new instant")
    assert dt.datetime.fromisoformat(engine.posts(job.id)[0]["at"]) >= moved.due_utc
    assert len(engine.posts(job.id)) == 1 and stored.lateness_ms >= 0


def test_an_updated_entry_is_published_with_its_new_text(engine):
    job = make_job("texto", utc_in(1.2), text="Versión antigua")
    apply_plan(engine.store, one_file_plan(job), now())
    apply_plan(engine.store, one_file_plan(make_job("texto", job.due_utc, text="Versión nueva")), now())
    wait_for(lambda: published(engine, job.id), what="published")
    assert [p["text"] for p in engine.posts(job.id)] == ["Versión nueva"]


def test_a_removed_entry_is_cancelled_and_never_posted(engine):
    keep, gone = make_job("keep", utc_in(1.0)), make_job("gone", utc_in(1.0))
    apply_plan(engine.store, one_file_plan(keep, gone), now())
    report = apply_plan(engine.store, one_file_plan(keep), now())
    assert report.counts["cancels"] == 1
    wait_for(lambda: published(engine, keep.id), what="kept job published")
    hold_still(lambda: not engine.posts(gone.id), 0.5, what="removed job not posted")
    assert engine.store.state(gone.id) == "cancelled"


def test_a_broken_calendar_cancels_nothing_and_its_last_good_jobs_still_go_out(engine):
    job = make_job("sigue", utc_in(1.2))
    apply_plan(engine.store, one_file_plan(job), now())
    report = apply_plan(engine.store, one_file_plan(ok=False), now())
    assert report.counts["cancels"] == 0 and "cal.yaml" in report.load_errors
    wait_for(lambda: published(engine, job.id), what="published despite the broken file")


def test_a_rate_limit_reschedules_at_the_reset_and_then_publishes_once(engine):
    calls = []

    def fail(request):
        calls.append(request)
        return RateLimited("429", retry_after_s=0.4) if len(calls) == 1 else None

    engine.fail_plan = fail
    job = make_job("limitado", utc_in(1.0))
    apply_plan(engine.store, one_file_plan(job), now())
    stored = wait_for(lambda: published(engine, job.id), what="published after the 429")
    assert len(engine.posts(job.id)) == 1 and len(calls) == 2
    assert stored.lateness_ms >= 400
    assert any("rate limited" in a["why"] for a in engine.store.audit(job.id))


def test_server_errors_are_retried_with_backoff_then_published(engine):
    calls = []
    engine.fail_plan = lambda r: calls.append(r) or (Unavailable("503") if len(calls) <= 2 else None)
    job = make_job("caido", utc_in(1.0))
    apply_plan(engine.store, one_file_plan(job), now())
    wait_for(lambda: published(engine, job.id), what="published after two 503s")
    assert len(engine.posts(job.id)) == 1 and len(calls) == 3


def test_server_errors_beyond_the_backoff_schedule_fail_the_job(engine):
    engine.fail_plan = lambda r: Unavailable("503")
    job = make_job("siempre-caido", utc_in(1.0))
    apply_plan(engine.store, one_file_plan(job), now())
    wait_for(lambda: engine.store.state(job.id) == "failed", what="failed")
    assert "unavailable after 3 attempts" in engine.store.get(job.id).reason
    assert not engine.posts(job.id)


def test_an_unknown_outcome_after_sending_is_resolved_by_lookup_without_a_duplicate(engine):
    calls = []
    engine.fail_plan = lambda r: calls.append(r) or (OutcomeUnknown("timeout") if len(calls) == 1 else None)
    job = make_job("incierto", utc_in(1.0))
    apply_plan(engine.store, one_file_plan(job), now())
    stored = wait_for(lambda: published(engine, job.id), what="published via lookup")
    assert len(engine.posts(job.id)) == 1 and len(calls) == 1
    assert stored.ref.post_id == engine.posts(job.id)[0]["post_id"]
    states = [a["to"] for a in engine.store.audit(job.id)]
    assert states[-2:] == ["uncertain", "published"]


def test_an_unknown_outcome_that_did_not_post_is_retried_after_lookup_says_no(engine):
    calls = []
    # an unexpected error before writing: the engine cannot know, so lookup decides
    engine.fail_plan = lambda r: calls.append(r) or (RuntimeError("socket closed") if len(calls) == 1 else None)
    job = make_job("reintento", utc_in(1.0))
    apply_plan(engine.store, one_file_plan(job), now())
    wait_for(lambda: published(engine, job.id), what="published after lookup said no")
    assert len(engine.posts(job.id)) == 1 and len(calls) == 2
    assert "lookup: not posted" in [a["why"] for a in engine.store.audit(job.id)]


def test_an_unexpected_error_every_time_fails_the_job_once_the_backoff_schedule_is_spent(engine):
    calls = []
    engine.fail_plan = lambda r: calls.append(r) or RuntimeError("socket closed")
    job = make_job("siempre-roto", utc_in(1.0))
    apply_plan(engine.store, one_file_plan(job), now())
    wait_for(lambda: engine.store.state(job.id) == "failed", what="failed")
    # the first attempt and one per backoff step (0.3, 0.3), each settled by lookup
    assert len(calls) == 3 and not engine.posts(job.id)
    assert "attempts that ended in an unexpected error" in engine.store.get(job.id).reason


def test_a_post_whose_worker_dies_more_often_than_the_backoff_schedule_still_goes_out_once(
        engine_factory):
    # a "dead" worker: its call never returns and no heartbeat renews the lease, so the
    # reaper finds it expired; lookup says not posted each time. Deaths are not failures:
    # a third death must not spend the one-step retry budget meant for errors.
    release = threading.Event()
    engine = engine_factory(backoff_s=(0.3,), lease_ms=400, heartbeat_s=60, worker_threads=4)
    calls = []

    def die_three_times(request):
        calls.append(request)
        if len(calls) <= 3:
            release.wait(30)  # released when the test ends: the dead call never posts
            return RuntimeError("this worker was dead")
        return None

    engine.fail_plan = die_three_times
    job = make_job("obrero-caido", utc_in(1.0))
    apply_plan(engine.store, one_file_plan(job), now())
    try:
        stored = wait_for(lambda: published(engine, job.id), timeout_s=15,
                          what="published after three dead attempts")
    finally:
        release.set()
    assert len(calls) == 4 and len(engine.posts(job.id)) == 1
    whys = [a["why"] for a in engine.store.audit(job.id)]
    assert sum("publish lease expired" in w for w in whys) == 3
    assert stored.worker_deaths == 3


def test_a_post_that_kills_its_worker_every_time_fails_with_an_alert_instead_of_looping(
        engine_factory):
    release = threading.Event()
    engine = engine_factory(lease_ms=300, heartbeat_s=60, worker_threads=4, max_worker_deaths=3)
    calls = []
    engine.fail_plan = lambda r: calls.append(r) or release.wait(30) and RuntimeError("dead")
    job = make_job("veneno", utc_in(1.0))
    apply_plan(engine.store, one_file_plan(job), now())
    try:
        wait_for(lambda: engine.store.state(job.id) == "failed", timeout_s=15, what="failed")
    finally:
        release.set()
    assert len(calls) == 3 and not engine.posts(job.id)
    assert "the worker sending it died 3 times" in engine.store.get(job.id).reason


def test_an_auth_error_fails_the_job_without_retrying(engine):
    calls = []
    engine.fail_plan = lambda r: calls.append(r) or AuthError("token expired")
    job = make_job("sin-token", utc_in(1.0))
    apply_plan(engine.store, one_file_plan(job), now())
    wait_for(lambda: engine.store.state(job.id) == "failed", what="failed")
    hold_still(lambda: len(calls) == 1, 0.5, what="a single attempt")
    assert "AuthError" in engine.store.get(job.id).reason


class OfficialPage:
    """A local http.server the test controls: ``placeholder`` (404 "Proximamente" unless told
    otherwise) until ``live`` is set, then 200 "Tramite abierto"."""

    def __init__(self, placeholder: tuple[int, bytes] = (404, b"Proximamente")):
        import http.server
        import threading

        page = self
        self.live = False
        self.hits = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                page.hits += 1
                status, body = (200, b"Tramite abierto") if page.live else placeholder
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tramite"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_golive_post_waits_for_the_official_page_and_goes_out_once_it_is_live(engine):
    page = OfficialPage()
    try:
        job = make_job("abierto", utc_in(1.0), kind="golive", official_url=page.url)
        apply_plan(engine.store, one_file_plan(job), now())
        wait_for(lambda: engine.store.get(job.id).reason == "golive_waiting", what="held")
        assert engine.store.state(job.id) == "held"
        wait_for(lambda: page.hits >= 3, what="re-checks")
        assert not engine.posts(job.id)
        page.live = True
        wait_for(lambda: published(engine, job.id), what="published once live")
        assert len(engine.posts(job.id)) == 1
    finally:
        page.close()


def test_a_golive_post_waits_while_the_page_answers_200_without_the_calendars_expected_text(engine):
    # the calendar's check_contains reaches the gate: "En construcción" with a 200 is not open
    page = OfficialPage(placeholder=(200, "En construcción".encode()))
    try:
        job = dataclasses.replace(
            make_job("abierto", utc_in(1.0), kind="golive", official_url=page.url),
            check_contains="Tramite abierto")
        apply_plan(engine.store, one_file_plan(job), now())
        wait_for(lambda: page.hits >= 3, what="re-checks of the placeholder page")
        # held between checks, dispatched while one runs: never published
        assert engine.store.state(job.id) in ("held", "dispatched") and not engine.posts(job.id)
        assert engine.store.get(job.id).reason == "golive_waiting"
        assert any("expected text not found" in a["why"] for a in engine.store.audit(job.id))
        page.live = True
        wait_for(lambda: published(engine, job.id), what="published once the real page is up")
        assert len(engine.posts(job.id)) == 1
    finally:
        page.close()


def test_a_golive_post_whose_page_never_goes_live_fails_with_an_alert(engine_factory):
    engine = engine_factory(golive_window_s=1.0)
    page = OfficialPage()
    try:
        job = make_job("nunca", utc_in(0.8), kind="golive", official_url=page.url)
        apply_plan(engine.store, one_file_plan(job), now())
        wait_for(lambda: engine.store.state(job.id) == "failed", what="failed after the window")
        assert engine.store.get(job.id).reason.startswith("golive_timeout")
        assert not engine.posts(job.id)
    finally:
        page.close()


def test_a_paused_account_holds_its_jobs_and_resume_releases_those_still_ahead(engine):
    from worker.engine.holds import pause, resume

    job = make_job("pausado", utc_in(1.5))
    other = make_job("otra", utc_in(1.0), account="bluesky:ayto-test")
    apply_plan(engine.store, one_file_plan(job, other), now())
    assert pause(engine.store, "account", "x:ayto-test", "incidencia", by="ana") == 1
    wait_for(lambda: published(engine, other.id), what="other account unaffected")
    assert engine.store.state(job.id) == "held"
    report = resume(engine.store, "account", "x:ayto-test", by="ana")
    assert report.released == [job.id]
    wait_for(lambda: published(engine, job.id), what="published after resume")
    assert engine.store.get(job.id).lateness_ms >= 0


def test_jobs_missed_while_paused_wait_for_a_decision_then_send_missed_sends_them(engine):
    from worker.engine.holds import pause, resume

    job = make_job("perdido", utc_in(0.8))
    apply_plan(engine.store, one_file_plan(job), now())
    pause(engine.store, "all", None, "luto oficial", by="ana")
    wait_for(lambda: to_ms(job.due_utc) < to_ms(now()), what="instant passes")
    report = resume(engine.store, "all", None, by="ana")
    assert report.awaiting_decision == [job.id]
    hold_still(lambda: not engine.posts(job.id), 0.5, what="not sent without a decision")
    assert engine.store.get(job.id).reason == "missed"
    report = resume(engine.store, "all", None, by="luis", missed="send")
    assert report.sent_late == [job.id]
    wait_for(lambda: published(engine, job.id), what="sent late by decision")
    decision = [a for a in engine.store.audit(job.id) if "decided" in a["why"]]
    assert decision and decision[0]["by"] == "luis"


def test_skip_missed_cancels_jobs_whose_instant_passed_while_paused(engine):
    from worker.engine.holds import pause, resume

    job = make_job("saltado", utc_in(0.6))
    apply_plan(engine.store, one_file_plan(job), now())
    pause(engine.store, "department", "promocion", "elecciones", by="ana")
    wait_for(lambda: to_ms(job.due_utc) < to_ms(now()), what="instant passes")
    report = resume(engine.store, "department", "promocion", by="ana", missed="skip")
    assert report.skipped == [job.id]
    assert engine.store.state(job.id) == "cancelled"
    hold_still(lambda: not engine.posts(job.id), 0.5, what="never posted")


def test_a_job_added_while_paused_is_held_at_its_instant_instead_of_sent(engine):
    from worker.engine.holds import pause

    pause(engine.store, "all", None, "mantenimiento", by="ana")
    job = make_job("nuevo", utc_in(0.8))
    apply_plan(engine.store, one_file_plan(job), now())
    wait_for(lambda: engine.store.state(job.id) == "held", what="held at its instant")
    assert engine.store.get(job.id).reason == "paused" and not engine.posts(job.id)


def test_two_dispatchers_and_many_jobs_still_publish_each_exactly_once(engine_factory):
    first = engine_factory()
    engine_factory()
    jobs = [make_job(f"m{i}", utc_in(1.0 + (i % 5) * 0.05)) for i in range(40)]
    apply_plan(first.store, one_file_plan(*jobs), now())
    wait_for(lambda: all(first.store.state(j.id) == "published" for j in jobs), what="all published")
    hold_still(lambda: len(first.posts()) == 40, 0.5, what="forty posts")
    assert len({p["job_id"] for p in first.posts()}) == 40
    assert all(first.store.get(j.id).lateness_ms >= 0 for j in jobs)


def test_an_attempt_whose_worker_died_after_posting_is_resolved_by_lookup_not_reposted(store, engine_factory, tmp_path):
    from worker.engine.publisher import build_request
    from worker.engine.clock import now_ms

    # stage the crash before any engine runs: claimed, begun, posted, then the worker died
    job = make_job("huerfano", utc_in(-0.5))
    store.add_job(job, "cal.yaml", "test")
    claim = store.claim_due(now_ms() + 1000, 10)[0]
    assert store.begin_publish(job.id, claim.token, "dead-attempt", lease_ms=-1)
    from adapters import capabilities_for
    from adapters.outbox import OutboxAdapter

    OutboxAdapter(job.account, capabilities_for("outbox"), tmp_path / "home").publish(build_request(job))
    engine = engine_factory()
    wait_for(lambda: published(engine, job.id), what="resolved by lookup")
    hold_still(lambda: len(engine.posts(job.id)) == 1, 0.5, what="a single post")
    assert "lookup found the post" in [a["why"] for a in engine.store.audit(job.id)]


def test_the_service_syncs_real_calendars_and_stops_cleanly(tmp_path):
    import shutil
    import threading
    from pathlib import Path

    from worker.engine import service
    from worker.engine.redis_server import connect
    from worker.engine.store import Store

    root = Path(__file__).resolve().parents[1]
    schedules = tmp_path / "schedules"
    shutil.copytree(root / "schedules", schedules)
    stop = threading.Event()
    result = {}
    home = tmp_path / "home"
    thread = threading.Thread(target=lambda: result.update(code=service.run(
        home, schedules, root / "config", stop=stop)), daemon=True)
    thread.start()
    try:
        wait_for(lambda: (home / "redis" / "redis.sock").exists() or (home / "redis" / "port").exists(),
                 what="embedded redis")
        client, embedded = wait_for(lambda: connect(home), what="attach")
        assert embedded is None, "a second process attaches to the running server"
        observer = Store(client)
        status = wait_for(observer.sync_status, what="first sync")
        assert status["counts"]["adds"] > 0
        scheduled = observer.count_by_state().get("scheduled", 0)
        # break one calendar: its jobs stay, nothing is cancelled
        victim = next(p for p in sorted(schedules.rglob("*.yaml")) if "fiestas" not in p.name)
        victim.write_text("calendar: [unclosed\n")
        wait_for(lambda: victim.relative_to(schedules).as_posix() in
                 (observer.sync_status() or {}).get("load_errors", {}), what="sync of the broken file")
        assert observer.count_by_state().get("scheduled", 0) == scheduled
        assert observer.sync_status()["counts"]["cancels"] == 0
    finally:
        stop.set()
        thread.join(timeout=30)
    assert result.get("code") == 0


def test_a_burst_due_at_one_instant_travels_in_groups_and_each_post_goes_out_once(engine):
    due = utc_in(1.0)
    jobs = [make_job(f"b{i:02d}", due) for i in range(20)]
    apply_plan(engine.store, [FakeSourcePlan("cal.yaml", True, tuple(jobs))], now())
    for job in jobs:
        stored = wait_for(lambda: published(engine, job.id), what=f"{job.id} published")
        assert stored.lateness_ms >= 0
    assert all(len(engine.posts(job.id)) == 1 for job in jobs)
    # 20 claims in one tick, 4 worker threads: 4 grouped messages, not 20
    assert engine.dispatcher.groups == 4 and len(engine.dispatcher._groups(jobs)) == 4


def test_an_unknown_outcome_the_platform_cannot_be_asked_about_fails_with_an_alert_not_a_repost(
        engine):
    from adapters.base import Unknowable

    job = make_job("telegrama", utc_in(0.8))
    outbox = engine.adapter_for_account(job.account)
    calls = []

    class CannotLookUp:
        account, capabilities = outbox.account, outbox.capabilities

        def publish(self, request):
            calls.append(request)
            outbox.publish(request)                 # it went out...
            raise OutcomeUnknown("read timeout")    # ...and the answer was lost

        def lookup(self, request):
            raise Unknowable("a bot cannot read its channel: look at it")

    adapter = CannotLookUp()
    engine.adapter_for_account = lambda account: adapter
    apply_plan(engine.store, one_file_plan(job), now())
    wait_for(lambda: engine.store.state(job.id) == "failed", what="failed, for a person")
    hold_still(lambda: len(calls) == 1, 0.5, what="never posted again")
    assert "cannot be asked" in engine.store.get(job.id).reason
