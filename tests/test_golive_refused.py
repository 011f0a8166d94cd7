"""A go-live whose official page the network policy refuses, end to end through the engine
(redis-server, dispatcher, dramatiq worker, outbox): held with the reason and an alert, never
published, its page never asked, and released the way status says once someone fixed it."""

from __future__ import annotations

import dataclasses
import datetime as dt

from structlog.testing import capture_logs

from tests.conftest import LOCAL_PAGES
from tests.enginekit import hold_still, make_job, now, one_file_plan, utc_in, wait_for
from tests.netkit import LocalServer, page
from worker.cli.status_cmd import collect as status_report
from worker.engine.holds import resume
from worker.net.guard import NetPolicy
from worker.engine.service import live_network_policy
from worker.engine.sync import apply_plan

OPEN = "Presentar solicitud"


def go_live(url: str, due_s: float = 0.5):
    return dataclasses.replace(make_job("abierto", utc_in(due_s), kind="golive", official_url=url),
                               check_contains=OPEN)


def refused(engine, job_id):
    stored = engine.store.get(job_id)
    held = stored and (stored.state, stored.reason) == ("held", "golive_refused")
    return stored if held else None


def test_a_go_live_pointing_at_a_local_server_is_held_refused_with_an_alert_and_never_asks_it(
        engine_factory):
    engine = engine_factory(network=NetPolicy())
    with LocalServer({"/": page(OPEN)}) as server, capture_logs() as logs:
        job = go_live(server.url("/"))
        apply_plan(engine.store, one_file_plan(job), now())
        stored = wait_for(lambda: refused(engine, job.id), what="held as refused")
        # not re-checked: nothing is due, and the page is never asked
        hold_still(lambda: engine.store.state(job.id) == "held" and not engine.posts(job.id)
                   and server.hits == 0, 1.0, what="held, unpublished, the page untouched")
    assert engine.store.r.zscore("pregonero:due", job.id) is None
    why = (f"golive_refused: check_url {server.url('/')} points to a loopback address "
           "(127.0.0.1); allow-list 127.0.0.1 in config/policies.yaml network.allow_hosts if it "
           "is an internal page on purpose; otherwise fix check_url in the calendar")
    assert engine.store.audit(job.id)[-1]["why"] == why
    alerts = [e for e in logs if e["event"] == "golive_refused"]
    assert len(alerts) == 1 and alerts[0]["alert"] is True and alerts[0]["reason"] == why
    assert alerts[0]["log_level"] == "error" and alerts[0]["job_id"] == job.id
    (row,) = status_report(engine.store)["held"]
    assert row["reason"] == "golive_refused" and row["refused"] == stored.fields["gr"]
    assert "network.allow_hosts, then pregonero resume --account x:ayto-test" in row["release"]


def test_the_same_go_live_with_its_host_allow_listed_is_published(engine_factory):
    engine = engine_factory(network=LOCAL_PAGES)
    with LocalServer({"/": page(OPEN)}) as server:
        job = go_live(server.url("/"))
        apply_plan(engine.store, one_file_plan(job), now())
        wait_for(lambda: engine.store.state(job.id) == "published", what="published")
        assert server.hits == 1
    assert len(engine.posts(job.id)) == 1


def test_a_page_that_redirects_into_the_network_holds_the_go_live_naming_the_hop(engine_factory):
    engine = engine_factory(network=LOCAL_PAGES)
    with LocalServer({"/": redirect_to_metadata()}) as server:
        job = go_live(server.url("/"))
        apply_plan(engine.store, one_file_plan(job), now())
        stored = wait_for(lambda: refused(engine, job.id), what="held as refused")
    assert stored.fields["gr"].startswith(
        f"check_url {server.url('/')} redirects to http://169.254.169.254/latest/meta-data/, "
        "which points to a link-local address (169.254.169.254); allow-list 169.254.169.254")
    assert not engine.posts(job.id) and server.hits == 1


def redirect_to_metadata():
    return lambda handler: (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"")


def test_allow_listing_the_host_then_resuming_publishes_a_refused_go_live(engine_factory):
    engine = engine_factory(network=NetPolicy())
    with LocalServer({"/": page(OPEN)}) as server:
        job = go_live(server.url("/"))
        apply_plan(engine.store, one_file_plan(job), now())
        wait_for(lambda: refused(engine, job.id), what="held as refused")
        # the operator allow-lists the page (the service reads config/ live), then resumes
        engine.publisher.network_policy = lambda: LOCAL_PAGES
        report = resume(engine.store, "account", job.account, "guardia")
        assert report.released == [job.id] and report.awaiting_decision == []
        wait_for(lambda: engine.store.state(job.id) == "published", what="published")
        assert server.hits == 1
    assert "resumed: go-live checked again" in [a["why"] for a in engine.store.audit(job.id)]


def test_fixing_check_url_in_the_calendar_checks_the_new_page_at_once(engine_factory):
    engine = engine_factory(network=LOCAL_PAGES)
    with LocalServer({"/": page(OPEN)}) as server:
        job = go_live("http://10.0.0.5/tramite")
        apply_plan(engine.store, one_file_plan(job), now())
        wait_for(lambda: refused(engine, job.id), what="held as refused")
        fixed = dataclasses.replace(job, official_url=server.url("/"))
        # the sync that brings the fix sees the post's instant in the past
        apply_plan(engine.store, one_file_plan(fixed, flagged={job.id: "in_the_past"}),
                   now() + dt.timedelta(minutes=2))
        wait_for(lambda: engine.store.state(job.id) == "published", what="published")
        assert server.hits == 1
    assert engine.posts(job.id)[0]["text"] == job.text


def test_a_page_that_is_only_down_keeps_the_go_live_waiting_as_before(engine_factory):
    engine = engine_factory(network=LOCAL_PAGES)
    with LocalServer({"/": page("Servicio no disponible", status=503)}) as server:
        job = go_live(server.url("/"))
        apply_plan(engine.store, one_file_plan(job), now())
        wait_for(lambda: server.hits >= 2, what="re-checked")
    assert engine.store.get(job.id).reason == "golive_waiting"


def test_the_service_reads_the_allow_list_from_config_as_it_changes(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "policies.yaml").write_text("golive: {recheck_s: 60}\n")
    fallback = NetPolicy(allow_hosts=("fallback.example",))
    current = live_network_policy(config, fallback)
    assert current() == NetPolicy()
    (config / "policies.yaml").write_text("network:\n  allow_hosts: [intranet.sede.example]\n")
    wait_for(lambda: current().allows("intranet.sede.example"), 5, what="the new allow-list")
    (config / "policies.yaml").write_text("network:\n  allow_hosts: ['http://x/']\n")
    hold_still(lambda: current().allows("intranet.sede.example"), 1.5,
               what="the last good allow-list kept while the file is broken")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "policies.yaml").write_text("network: [\n")
    assert live_network_policy(broken, fallback)() == fallback
