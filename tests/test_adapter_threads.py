"""The Threads adapter through the shared Graph client (requests underneath), with HTTP answered
by ``responses`` in the shapes the Threads API documents (developers.facebook.com/documentation/
threads): containers ({"id"}), container status ({"status", "error_message"}), threads_publish
({"id"}), media ({"permalink"}), the profile's threads and replies ({"data": [...], "paging"}),
deletion ({"success", "deleted_id"}) and Graph errors ({"error": {message, type, code, ...}})."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import requests
import responses

from adapters import capabilities_for
from adapters.accounts import AccountConfig
from adapters.base import Image, NotSupported, OutcomeUnknown, PostRef, Rejected, Unknowable
from adapters.factory import make_adapter
from adapters.textlength import threads_length
from adapters.threads import ThreadsAdapter
from tests.contract.cases import (CASES, DUE, TOKEN, form, refused, request, run_case,
                                  secret_guard)
from tests.test_adapter_facebook import graph_error  # the same Graph error shape

ACCOUNT = "threads:ayto-test"
USER = "25847893321094567"
API = "https://graph.threads.net/v1.0"
CONTAINER = "18027351234567890"
MEDIA = "18045678901234567"
REPLY = "18045678901239999"
PERMALINK = "https://www.threads.net/@ayto.test/post/DAbCdEfGhIj"
IMAGE = "https://www.calp.es/img/cartel-fiestas.jpg"
NOW = DUE + dt.timedelta(minutes=1)
ORIGINAL = PostRef("threads", ACCOUNT, MEDIA, PERMALINK,
                   {"published_at": (NOW - dt.timedelta(hours=3)).isoformat()})

no_token_anywhere = secret_guard(TOKEN)


class FakeTime:
    """Monotonic time that only moves when the adapter sleeps."""

    def __init__(self):
        self.now, self.sleeps = 0.0, []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def account(monkeypatch) -> AccountConfig:
    monkeypatch.setenv("TEST_THREADS_TOKEN", TOKEN)
    return AccountConfig.from_mapping(ACCOUNT, {
        "department": "comunicacion",
        "credentials": {"access_token": {"env": "TEST_THREADS_TOKEN"}},
        "options": {"user_id": USER}})


@pytest.fixture
def clock():
    return FakeTime()


@pytest.fixture
def adapter(account, clock) -> ThreadsAdapter:
    return ThreadsAdapter(account, timeout_s=7, clock=lambda: NOW, sleep=clock.sleep,
                          monotonic=lambda: clock.now)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def post_request(action="publish", *, target=None, text=None, images=()):
    base = request(action, target=target, text=text, account=ACCOUNT)
    return dataclasses.replace(base, images=tuple(images))


def container(rsps, ident=CONTAINER, **answer):
    rsps.add(responses.POST, f"{API}/{USER}/threads", **(answer or {"json": {"id": ident}}))


def status(rsps, value="FINISHED", ident=CONTAINER):
    rsps.add(responses.GET, f"{API}/{ident}", json={"status": value, "id": ident})


def threads_publish(rsps, **answer):
    rsps.add(responses.POST, f"{API}/{USER}/threads_publish",
             **(answer or {"json": {"id": MEDIA}}))


def permalink(rsps, ident=MEDIA):
    rsps.add(responses.GET, f"{API}/{ident}", json={"permalink": PERMALINK, "id": ident})


def text_post(rsps, **publish_answer):
    container(rsps)
    threads_publish(rsps, **publish_answer)


def listed(rsps, edge, posts):
    rsps.add(responses.GET, f"{API}/{USER}/{edge}", json={"data": posts, "paging": {
        "cursors": {"before": "QVFIUjFh", "after": "QVFIUmVm"}}})


SETUPS = {
    "publish_ok": lambda rsps, a: (text_post(rsps), permalink(rsps),
                                   lambda: a.publish(post_request()))[-1],
    "rate_limited": lambda rsps, a: (container(rsps, **graph_error(
        4, "Application request limit reached", headers={"x-app-usage": (
            '{"call_count":100,"total_cputime":10,"total_time":12,'
            '"estimated_time_to_regain_access":30}')})), lambda: a.publish(post_request()))[1],
    "server_error": lambda rsps, a: (container(rsps, **graph_error(
        2, "Service temporarily unavailable", status=503, is_transient=True)),
        lambda: a.publish(post_request()))[1],
    "connection_refused": lambda rsps, a: (container(rsps, body=refused("/v1.0")),
                                           lambda: a.publish(post_request()))[1],
    "timeout_after_send": lambda rsps, a: (text_post(rsps, body=requests.ReadTimeout(
        "HTTPSConnectionPool(host='graph.threads.net', port=443): Read timed out.")),
        lambda: a.publish(post_request()))[1],
    "bad_credentials": lambda rsps, a: (container(rsps, **graph_error(
        190, "Error validating access token: Session has expired", error_subcode=463)),
        lambda: a.publish(post_request()))[1],
    "rejected_content": lambda rsps, a: (container(rsps, **graph_error(
        100, "Invalid parameter", error_user_msg="The post text is too long")),
        lambda: a.publish(post_request()))[1],
    "duplicate": lambda rsps, a: (text_post(rsps, **graph_error(506, "Duplicate post")),
                                  lambda: a.publish(post_request()))[1],
    # no edit endpoint: the engine replies instead
    "edit_ok": lambda rsps, a: lambda: a.correct(post_request("correct", target=ORIGINAL,
                                                              text="Corregido: el lunes")),
    "reply_ok": lambda rsps, a: (container(rsps), threads_publish(rsps, json={"id": REPLY}),
                                 permalink(rsps, REPLY),
                                 lambda: a.reply(post_request("reply", target=ORIGINAL,
                                                              text="Corrección: el lunes")))[-1],
    "delete_ok": lambda rsps, a: (
        rsps.add(responses.DELETE, f"{API}/{MEDIA}", json={"success": True,
                                                           "deleted_id": MEDIA}),
        lambda: a.retract(post_request("retract", target=ORIGINAL)))[1],
    "lookup_found": lambda rsps, a: (listed(rsps, "threads", [
        {"id": "18000000000000001", "text": "Otro aviso", "permalink": PERMALINK + "x",
         "timestamp": "2027-04-09T08:05:00+0000"},
        {"id": MEDIA, "text": request().text, "permalink": PERMALINK,
         "timestamp": "2027-04-09T08:00:02+0000"}]), lambda: a.lookup(post_request()))[1],
    "lookup_missing": lambda rsps, a: (listed(rsps, "threads", [
        # the same text a week earlier is an older post, not this request's
        {"id": "18000000000000002", "text": request().text, "permalink": PERMALINK + "old",
         "timestamp": "2027-04-02T08:00:02+0000"}]), lambda: a.lookup(post_request()))[1],
    "verify_ok": lambda rsps, a: (rsps.add(responses.GET, f"{API}/{USER}", json={
        "id": USER, "username": "ayto.test"}), a.verify)[1],
}

EXPECT = {case.name: case.expect for case in CASES} | {"edit_ok": NotSupported}


def check_success(name: str, result, rsps) -> None:
    calls = rsps.calls
    if name == "publish_ok":
        assert form(calls[0]) == {"media_type": "TEXT", "text": request().text}
        assert form(calls[1]) == {"creation_id": CONTAINER}
        assert result.post_id == MEDIA and result.url == PERMALINK
        assert result.extra["container_id"] == CONTAINER
    elif name == "reply_ok":
        assert form(calls[0]) == {"media_type": "TEXT", "text": "Corrección: el lunes",
                                  "reply_to_id": MEDIA}
        assert result.post_id == REPLY and result.extra["parent"] == MEDIA
    elif name == "delete_ok":
        assert result is None and calls[0].request.method == "DELETE"
    elif name == "lookup_found":
        assert calls[0].request.params["fields"] == "id,text,timestamp,permalink,replied_to"
        assert result.post_id == MEDIA and result.url == PERMALINK
    elif name == "lookup_missing":
        assert result is None
    elif name == "verify_ok":
        assert result.ok and "@ayto.test" in result.detail
    else:  # pragma: no cover - a new case in the table needs an expectation here
        raise AssertionError(f"no expectation for {name}")


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_contract_case_maps_the_threads_answer_through_the_graph_client(case, adapter,
                                                                             rsps):
    operation = SETUPS[case.name](rsps, adapter)
    case = dataclasses.replace(case, expect=EXPECT[case.name])
    result = run_case(case, operation)
    for call in rsps.calls:
        assert call.request.req_kwargs["timeout"] == 7
        assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert TOKEN not in call.request.url and TOKEN not in (call.request.body or "")
        assert call.request.url.startswith(f"{API}/")
    if case.expect is None:
        check_success(case.name, result, rsps)
    elif case.name == "rate_limited":
        assert result.retry_after_s == 30 * 60
    elif case.name == "edit_ok":
        assert len(rsps.calls) == 0  # refused without asking the platform


def test_contract_table_setups_and_expectations_cover_the_same_cases():
    assert {case.name for case in CASES} == set(SETUPS) == set(EXPECT)


# --- beyond the table -------------------------------------------------------------------------

def test_a_carousel_creates_its_items_then_the_carousel_and_waits_until_each_is_finished(
        adapter, rsps, clock):
    for ident in ("c1", "c2"):
        container(rsps, ident)
        status(rsps, "FINISHED", ident)
    container(rsps, "carousel")
    status(rsps, "IN_PROGRESS", "carousel")
    status(rsps, "FINISHED", "carousel")
    threads_publish(rsps)
    permalink(rsps)
    ref = adapter.publish(post_request(images=(Image(IMAGE, "Cartel"), Image(IMAGE + "?2", ""))))
    assert ref.post_id == MEDIA and clock.sleeps == [2.0]
    assert form(rsps.calls[0]) == {"media_type": "IMAGE", "image_url": IMAGE,
                                   "is_carousel_item": "true", "alt_text": "Cartel"}
    carousel = form(rsps.calls[4])
    assert carousel["media_type"] == "CAROUSEL" and carousel["children"] == "c1,c2"
    assert form(rsps.calls[-2]) == {"creation_id": "carousel"}


def test_a_local_image_is_refused_before_any_request_threads_fetches_by_url(adapter, rsps):
    with pytest.raises(Rejected, match="by URL"):
        adapter.publish(post_request(images=(Image("carteles/fiestas.jpg", "Cartel"),)))


def test_a_container_in_error_is_a_refusal_and_nothing_is_published(adapter, rsps):
    container(rsps)
    rsps.add(responses.GET, f"{API}/{CONTAINER}", json={
        "status": "ERROR", "id": CONTAINER, "error_message": "FAILED_DOWNLOADING_IMAGE"})
    with pytest.raises(Rejected, match="FAILED_DOWNLOADING_IMAGE"):
        adapter.publish(post_request(images=(Image(IMAGE, "Cartel"),)))


def test_a_lost_publish_answer_whose_container_was_published_is_unknowable(adapter, rsps):
    text_post(rsps, body=requests.ReadTimeout("Read timed out."))
    with pytest.raises(OutcomeUnknown):
        adapter.publish(post_request())
    listed(rsps, "threads", [])
    rsps.add(responses.GET, f"{API}/{CONTAINER}", json={"status": "PUBLISHED",
                                                        "id": CONTAINER})
    with pytest.raises(Unknowable, match=CONTAINER):
        adapter.lookup(post_request())


def test_lookup_of_a_reply_takes_only_one_under_the_same_parent(adapter, rsps):
    listed(rsps, "replies", [
        {"id": "18000000000000003", "text": "Corrección: el lunes", "permalink": PERMALINK,
         "timestamp": "2027-04-09T08:00:05+0000", "replied_to": {"id": "18000000000000777"}},
        {"id": REPLY, "text": "Corrección: el lunes", "permalink": PERMALINK + "r",
         "timestamp": "2027-04-09T08:00:03+0000", "replied_to": {"id": MEDIA}}])
    found = adapter.lookup(post_request("reply", target=ORIGINAL, text="Corrección: el lunes"))
    assert found.post_id == REPLY and found.extra["parent"] == MEDIA


def test_retracting_a_post_that_is_already_gone_counts_as_done(adapter, rsps):
    rsps.add(responses.DELETE, f"{API}/{MEDIA}", **graph_error(
        100, "Unsupported delete request. Object with ID does not exist", error_subcode=33))
    assert adapter.retract(post_request("retract", target=ORIGINAL)) is None


def test_emoji_count_their_utf8_bytes_against_the_500_and_the_text_is_refused_before_posting(
        adapter, rsps):
    assert threads_length("Fiestas 🎉") == 8 + 4 and threads_length("¡Olé!") == 5
    with pytest.raises(Rejected, match="threads"):
        adapter.publish(post_request(text="🎉" * 126))  # 504 bytes of emoji


def test_threads_is_in_the_registry_and_corrects_by_reply_with_deletions(account):
    caps = capabilities_for("threads")
    assert (caps.text_limit, caps.max_images, caps.edit.possible, caps.delete) == (
        500, 20, False, True)
    assert caps.correction_fallback == "reply"
    assert isinstance(make_adapter(account, "live"), ThreadsAdapter)


def test_the_publishing_quota_is_read_for_the_engines_gate_and_a_full_one_holds_the_post(
        adapter, rsps):
    from worker.engine.quota import quota_gate, quota_reason
    from worker.engine.store import StoredJob
    from tests.enginekit import make_job, utc_in

    # GET /{user}/threads_publishing_limit (Threads "Overview": 250 posts per 24 h)
    rsps.add(responses.GET, f"{API}/{USER}/threads_publishing_limit", json={"data": [
        {"quota_usage": 250, "config": {"quota_total": 250, "quota_duration": 86400}}]})
    job = dataclasses.replace(make_job("aviso", utc_in(60), account=ACCOUNT), platform="threads")
    check = quota_gate(adapter, StoredJob(job.id, "dispatched", job, {}))
    assert not check.allowed and "250 of 250" in check.detail
    assert quota_reason("threads") == "threads_quota" != quota_reason("instagram")
