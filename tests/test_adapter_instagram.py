"""The Instagram adapter through the real facebook-sdk ``GraphAPI`` (the Graph client shared
with Facebook), with HTTP answered by ``responses`` in the shapes the Instagram Graph API
documents: containers ({"id"}), container status ({"status_code"}), media_publish ({"id"}),
media ({"permalink"}), content_publishing_limit ({"data": [{"quota_usage", "config"}]}) and
Graph errors ({"error": {message, type, code, error_subcode, fbtrace_id}})."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
import requests
import responses

from adapters.factory import make_adapter
from adapters.accounts import AccountConfig
from adapters.base import (Image, NotSupported, PostRef, RateLimited, Rejected,
                           Unavailable)
from adapters.instagram import InstagramAdapter, PublishingQuota
from tests.contract.cases import (CASES, DUE, TOKEN, form, refused, request, run_case,
                                  secret_guard)
from tests.test_adapter_facebook import graph_error  # the same Graph API error shape

ACCOUNT = "instagram:ayto-test"
IG_USER = "17841405822304914"
GRAPH = "https://graph.facebook.com/v21.0"
CONTAINER = "17889455560051444"
MEDIA = "17920238422030506"
COMMENT = "17873440459141021"
PERMALINK = "https://www.instagram.com/p/C5xYzAbCdEf/"
IMAGE = "https://www.calp.es/img/cartel-fiestas.jpg"
NOW = DUE + dt.timedelta(minutes=1)
ORIGINAL = PostRef("instagram", ACCOUNT, MEDIA, PERMALINK,
                   {"published_at": (NOW - dt.timedelta(days=2)).isoformat(), "edit_count": "0"})


no_token_anywhere = secret_guard(TOKEN)


@pytest.fixture
def account(monkeypatch) -> AccountConfig:
    monkeypatch.setenv("TEST_IG_TOKEN", TOKEN)
    return AccountConfig.from_mapping(ACCOUNT, {
        "department": "comunicacion",
        "credentials": {"access_token": {"env": "TEST_IG_TOKEN"}},
        "options": {"ig_user_id": IG_USER, "graph_version": "v21.0"}})


class FakeTime:
    """Monotonic time that only moves when the adapter sleeps."""

    def __init__(self):
        self.now, self.sleeps = 0.0, []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock():
    return FakeTime()


@pytest.fixture
def adapter(account, clock) -> InstagramAdapter:
    return InstagramAdapter(account, timeout_s=7, clock=lambda: NOW, sleep=clock.sleep,
                            monotonic=lambda: clock.now)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock






def post_request(*urls: str, action: str = "publish", **kwargs):
    base = request(action, account=ACCOUNT, **kwargs)
    images = tuple(Image(url, f"Cartel {i}") for i, url in enumerate(urls or (IMAGE,), 1))
    return dataclasses.replace(base, images=images)


def container(rsps, **answer):
    rsps.add(responses.POST, f"{GRAPH}/{IG_USER}/media", **(answer or {"json": {"id": CONTAINER}}))


def status(rsps, code="FINISHED", ident=CONTAINER, **extra):
    rsps.add(responses.GET, f"{GRAPH}/{ident}", json={"status_code": code, "id": ident, **extra})


def media_publish(rsps, **answer):
    rsps.add(responses.POST, f"{GRAPH}/{IG_USER}/media_publish",
             **(answer or {"json": {"id": MEDIA}}))


def permalink(rsps, **answer):
    rsps.add(responses.GET, f"{GRAPH}/{MEDIA}",
             **(answer or {"json": {"permalink": PERMALINK, "id": MEDIA}}))


def publishing(adapter):
    return lambda: adapter.publish(post_request())


def _until_publish(rsps, **answer):
    container(rsps)
    status(rsps)
    media_publish(rsps, **answer)


def _lookup(rsps, adapter, media):
    rsps.add(responses.GET, f"{GRAPH}/{IG_USER}/media", json={"data": media, "paging": {
        "cursors": {"before": "QVFIUjFh", "after": "QVFIUmVm"}}})
    return lambda: adapter.lookup(post_request())


USAGE = {IG_USER: [{"type": "instagram", "call_count": 100, "total_cputime": 10,
                    "total_time": 12, "estimated_time_to_regain_access": 30}]}

# --- the contract table ---------------------------------------------------------------------

SETUPS = {
    "publish_ok": lambda rsps, a: (_until_publish(rsps), permalink(rsps), publishing(a))[2],
    "rate_limited": lambda rsps, a: (container(rsps, **graph_error(
        4, "(#4) Application request limit reached", status=403,
        headers={"X-Business-Use-Case-Usage": json.dumps(USAGE)})), publishing(a))[1],
    "server_error": lambda rsps, a: (container(rsps, **graph_error(
        2, "An unexpected error has occurred. Please retry your request later.", status=500,
        is_transient=True)), publishing(a))[1],
    "connection_refused": lambda rsps, a: (container(rsps, body=refused("/v21.0")), publishing(a))[1],
    # only media_publish publishes: the timeout that matters is there
    "timeout_after_send": lambda rsps, a: (_until_publish(rsps, body=requests.ReadTimeout(
        "HTTPSConnectionPool(host='graph.facebook.com', port=443): Read timed out.")),
        publishing(a))[1],
    "bad_credentials": lambda rsps, a: (container(rsps, **graph_error(
        190, "Error validating access token: The session has been invalidated because the "
        "user changed their password.", status=400, error_subcode=460)), publishing(a))[1],
    "rejected_content": lambda rsps, a: (container(rsps, **graph_error(
        9004, "Only photo or video can be accepted as media type.", error_subcode=2207052,
        error_user_title="Media download has failed",
        error_user_msg="The media could not be fetched from this URI")), publishing(a))[1],
    # Instagram documents no duplicate refusal of its own; a Graph 506 on media_publish is
    # what the shared Graph mapping recognises, so it is what this row exercises
    "duplicate": lambda rsps, a: (_until_publish(rsps, **graph_error(
        506, "Duplicate status message", error_subcode=1455006)), publishing(a))[1],
    # platform-specific: no caption edits through the API, the engine comments instead
    "edit_ok": lambda rsps, a: lambda: a.correct(post_request(
        action="correct", target=ORIGINAL, text="Corregido: el lunes")),
    "reply_ok": lambda rsps, a: (
        rsps.add(responses.POST, f"{GRAPH}/{MEDIA}/comments", json={"id": COMMENT}),
        lambda: a.reply(request("reply", target=ORIGINAL, account=ACCOUNT,
                                text="Corrección: el plazo acaba el lunes")))[1],
    # DELETE /{ig-media-id} (IG Media reference "Deleting", Instagram Platform 2025-12-03)
    "delete_ok": lambda rsps, a: (
        rsps.add(responses.DELETE, f"{GRAPH}/{MEDIA}", json={"success": True,
                                                             "deleted_id": MEDIA}),
        lambda: a.retract(request("retract", target=ORIGINAL, account=ACCOUNT)))[1],
    "lookup_found": lambda rsps, a: _lookup(rsps, a, [
        {"id": "17900000000000001", "caption": "Otro aviso", "permalink":
            "https://www.instagram.com/p/C5other/", "timestamp": "2027-04-09T08:05:00+0000"},
        {"id": MEDIA, "caption": request().text + "\n", "permalink": PERMALINK,
         "timestamp": "2027-04-09T08:00:02+0000"}]),
    "lookup_missing": lambda rsps, a: _lookup(rsps, a, [
        # the same caption a week earlier is an older post, not this request's
        {"id": "17900000000000002", "caption": request().text, "permalink":
            "https://www.instagram.com/p/C5old/", "timestamp": "2027-04-02T08:00:02+0000"}]),
    "verify_ok": lambda rsps, a: (
        rsps.add(responses.GET, f"{GRAPH}/{IG_USER}",
                 json={"id": IG_USER, "username": "aytotest"}), a.verify)[1],
}

#: the table's expectations, with Instagram's own where the platform differs
EXPECT = {case.name: case.expect for case in CASES} | {"edit_ok": NotSupported}


def check_success(name: str, result, rsps) -> None:
    calls = rsps.calls
    if name == "publish_ok":
        assert form(calls[0]) == {"image_url": IMAGE, "alt_text": "Cartel 1",
                                  "caption": request().text}
        assert calls[1].request.params["fields"] == "status_code,status"
        assert form(calls[2]) == {"creation_id": CONTAINER}
        assert calls[3].request.params["fields"] == "permalink"
        assert result.post_id == MEDIA and result.url == PERMALINK
        assert result.extra["container_id"] == CONTAINER
    elif name == "reply_ok":
        assert form(calls[0]) == {"message": "Corrección: el plazo acaba el lunes"}
        assert result.post_id == COMMENT and result.extra["kind"] == "comment"
        assert result.extra["parent"] == MEDIA and result.url == PERMALINK
    elif name == "delete_ok":
        assert result is None
        assert [(c.request.method, c.request.url) for c in calls] == [("DELETE",
                                                                       f"{GRAPH}/{MEDIA}")]
    elif name == "lookup_found":
        assert calls[0].request.params["fields"] == "id,caption,permalink,timestamp"
        assert result.post_id == MEDIA and result.url == PERMALINK
    elif name == "lookup_missing":
        assert result is None
    elif name == "verify_ok":
        assert result.ok and "@aytotest" in result.detail
    else:  # pragma: no cover - a new case in the table needs an expectation here
        raise AssertionError(f"no expectation for {name}")


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_contract_case_maps_the_instagram_answer_through_the_graph_client(case, adapter,
                                                                               rsps):
    operation = SETUPS[case.name](rsps, adapter)
    case = dataclasses.replace(case, expect=EXPECT[case.name])
    result = run_case(case, operation)
    for call in rsps.calls:
        assert call.request.req_kwargs["timeout"] == 7
        assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert TOKEN not in call.request.url and TOKEN not in (call.request.body or "")
        assert call.request.url.startswith(f"{GRAPH}/")
    if case.expect is None:
        check_success(case.name, result, rsps)
    elif case.name == "rate_limited":
        assert result.retry_after_s == 30 * 60
    elif case.name == "edit_ok":
        assert len(rsps.calls) == 0  # refused without asking the platform


def test_contract_table_setups_and_expectations_cover_the_same_cases():
    assert {case.name for case in CASES} == set(SETUPS) == set(EXPECT)


# --- beyond the table -------------------------------------------------------------------------

def test_a_container_in_progress_is_polled_until_finished(adapter, rsps, clock):
    container(rsps)
    status(rsps, "IN_PROGRESS")
    status(rsps, "IN_PROGRESS")
    status(rsps, "FINISHED")
    media_publish(rsps)
    permalink(rsps)
    assert adapter.publish(post_request()).post_id == MEDIA
    assert clock.sleeps == [2.0, 2.0]


@pytest.mark.parametrize("code", ["ERROR", "EXPIRED"])
def test_a_container_in_error_or_expired_is_rejected_and_never_published(adapter, rsps, code):
    container(rsps)
    status(rsps, code, status="Error: 2207026")
    with pytest.raises(Rejected, match=code):
        adapter.publish(post_request())
    assert not any("media_publish" in call.request.url for call in rsps.calls)


def test_a_container_that_never_finishes_is_retryable_because_nothing_was_published(
        account, rsps, clock):
    slow = InstagramAdapter(dataclasses.replace(account, options={
        **account.options, "container_timeout_s": 5, "container_poll_s": 2}),
        clock=lambda: NOW, sleep=clock.sleep, monotonic=lambda: clock.now)
    container(rsps)
    for _ in range(3):
        status(rsps, "IN_PROGRESS")
    with pytest.raises(Unavailable, match="IN_PROGRESS"):
        slow.publish(post_request())
    assert clock.sleeps == [2.0, 2.0]


def test_a_read_timeout_while_creating_the_container_is_not_an_unknown_outcome(adapter, rsps):
    container(rsps, body=requests.ReadTimeout("Read timed out."))
    with pytest.raises(Unavailable):
        adapter.publish(post_request())


def test_several_images_become_a_carousel_of_item_containers(adapter, rsps):
    second = "https://www.calp.es/img/plano.jpg"
    rsps.add(responses.POST, f"{GRAPH}/{IG_USER}/media", json={"id": "901"})
    rsps.add(responses.POST, f"{GRAPH}/{IG_USER}/media", json={"id": "902"})
    status(rsps, ident="901")
    status(rsps, ident="902")
    rsps.add(responses.POST, f"{GRAPH}/{IG_USER}/media", json={"id": CONTAINER})
    status(rsps)
    media_publish(rsps)
    permalink(rsps)
    ref = adapter.publish(post_request(IMAGE, second))
    assert form(rsps.calls[0]) == {"image_url": IMAGE, "alt_text": "Cartel 1",
                                   "is_carousel_item": "true"}
    assert form(rsps.calls[1])["image_url"] == second
    assert form(rsps.calls[4]) == {"media_type": "CAROUSEL", "children": "901,902",
                                   "caption": request().text}
    assert form(rsps.calls[6]) == {"creation_id": CONTAINER}
    assert ref.post_id == MEDIA


def test_a_post_without_image_or_with_a_local_file_is_refused_before_any_request(adapter, rsps):
    with pytest.raises(Rejected, match="need an image"):
        adapter.publish(request(account=ACCOUNT))
    with pytest.raises(Rejected, match="by URL"):
        adapter.publish(post_request("carteles/fiestas.jpg"))
    with pytest.raises(Rejected, match="at most 10"):
        adapter.publish(post_request(*[f"{IMAGE}?{i}" for i in range(11)]))


def test_the_daily_publishing_limit_refusal_is_a_rate_limit(adapter, rsps):
    _until_publish(rsps, **graph_error(9, "Application request limit reached", status=400,
                                       error_subcode=2207042,
                                       error_user_title="Reached publishing limit"))
    with pytest.raises(RateLimited):
        adapter.publish(post_request())


def test_a_permalink_that_cannot_be_read_does_not_fail_a_published_post(adapter, rsps):
    _until_publish(rsps)
    permalink(rsps, **graph_error(2, "Service temporarily unavailable", status=503))
    ref = adapter.publish(post_request())
    assert ref.post_id == MEDIA and ref.url is None


def test_the_publishing_quota_is_read_from_content_publishing_limit(adapter, rsps):
    rsps.add(responses.GET, f"{GRAPH}/{IG_USER}/content_publishing_limit", json={"data": [
        {"quota_usage": 2, "config": {"quota_total": 50, "quota_duration": 86400}}]})
    assert adapter.publishing_quota() == PublishingQuota(used=2, total=50, duration_s=86400)
    assert rsps.calls[0].request.params["fields"] == "quota_usage,config"


def test_a_quota_answer_without_its_total_is_unavailable(adapter, rsps):
    rsps.add(responses.GET, f"{GRAPH}/{IG_USER}/content_publishing_limit",
             json={"data": [{"quota_usage": 2}]})
    with pytest.raises(Unavailable):
        adapter.publishing_quota()


def test_a_comment_of_the_account_can_be_retracted(adapter, rsps):
    rsps.add(responses.DELETE, f"{GRAPH}/{COMMENT}", json={"success": True})
    comment = PostRef("instagram", ACCOUNT, COMMENT, PERMALINK,
                      {"kind": "comment", "parent": MEDIA})
    assert adapter.retract(request("retract", target=comment, account=ACCOUNT)) is None


def test_a_token_that_may_not_delete_posts_says_where_to_delete_it_by_hand(adapter, rsps):
    # without instagram_manage_contents Graph answers code 10; the engine then answers the
    # post with a cancellation comment (NotSupported) and alerts with the post's link
    rsps.add(responses.DELETE, f"{GRAPH}/{MEDIA}", **graph_error(
        10, "(#10) Application does not have permission for this action"))
    permalink(rsps)
    with pytest.raises(NotSupported) as info:
        adapter.retract(request("retract", target=dataclasses.replace(ORIGINAL, url=None),
                                account=ACCOUNT))
    assert PERMALINK in str(info.value)


def test_a_reply_to_a_comment_uses_the_replies_edge(adapter, rsps):
    rsps.add(responses.POST, f"{GRAPH}/{COMMENT}/replies", json={"id": "17999"})
    comment = PostRef("instagram", ACCOUNT, COMMENT, PERMALINK,
                      {"kind": "comment", "parent": MEDIA})
    assert adapter.reply(request("reply", target=comment, account=ACCOUNT)).post_id == "17999"


def test_lookup_of_a_reply_searches_the_targets_comments(adapter, rsps):
    rsps.add(responses.GET, f"{GRAPH}/{MEDIA}/comments", json={"data": [
        # a citizen's comment with the same words first: only the account's own counts
        {"id": "17890000000000099", "text": "Nota", "username": "vecina_calp",
         "timestamp": "2027-04-09T08:01:00+0000"},
        {"id": COMMENT, "text": "Nota", "username": "aytotest",
         "timestamp": "2027-04-09T08:00:00+0000"}]})
    rsps.add(responses.GET, f"{GRAPH}/{IG_USER}", json={"id": IG_USER, "username": "aytotest"})
    ref = adapter.lookup(request("reply", target=ORIGINAL, text="Nota", account=ACCOUNT))
    assert ref.post_id == COMMENT


def test_lookup_of_a_correction_finds_nothing_because_nothing_is_edited(adapter, rsps):
    assert adapter.lookup(request("correct", target=ORIGINAL, account=ACCOUNT)) is None


def test_verify_reports_a_wrong_account_id_as_not_ok(adapter, rsps):
    rsps.add(responses.GET, f"{GRAPH}/{IG_USER}", **graph_error(
        100, "Unsupported get request. Object with ID does not exist", error_subcode=33))
    status_ = adapter.verify()
    assert not status_.ok and "ig_user_id" in status_.detail


def test_verify_reports_an_expired_token_as_not_ok_without_the_token(adapter, rsps):
    rsps.add(responses.GET, f"{GRAPH}/{IG_USER}", **graph_error(190, "Error validating "
                                                                "access token"))
    status_ = adapter.verify()
    assert not status_.ok and TOKEN not in status_.detail


def test_the_account_needs_its_instagram_user_id(monkeypatch):
    monkeypatch.setenv("TEST_IG_TOKEN", TOKEN)
    account = AccountConfig.from_mapping(ACCOUNT, {
        "department": "comunicacion", "credentials": {"access_token": {"env": "TEST_IG_TOKEN"}}})
    with pytest.raises(ValueError, match="ig_user_id"):
        InstagramAdapter(account)


def test_the_adapter_repr_shows_no_token(adapter):
    assert TOKEN not in repr(adapter) and TOKEN not in repr(adapter.client)


def test_make_adapter_builds_the_live_instagram_adapter(account):
    assert isinstance(make_adapter(account, "live"), InstagramAdapter)


def test_the_capabilities_say_no_edit_but_delete_and_comment_corrections(adapter):
    caps = adapter.capabilities
    assert (caps.text_limit, caps.max_images, caps.requires_image) == (2200, 10, True)
    assert not caps.edit.possible and caps.delete and not caps.clickable_links
    assert caps.correction_fallback == "comment" and caps.language_strategy == "combined"


def test_a_published_container_without_a_matching_post_is_unknowable_never_sent_again(adapter,
                                                                                      rsps):
    from adapters.base import OutcomeUnknown, Unknowable

    _until_publish(rsps, body=requests.ReadTimeout("Read timed out."))
    with pytest.raises(OutcomeUnknown):
        adapter.publish(post_request())
    # the account's recent media do not show the caption (edited by hand in the app, say),
    # but the container this attempt sent says it was published: a person must look
    rsps.add(responses.GET, f"{GRAPH}/{IG_USER}/media", json={"data": []})
    rsps.add(responses.GET, f"{GRAPH}/{CONTAINER}", json={"status_code": "PUBLISHED",
                                                          "id": CONTAINER})
    with pytest.raises(Unknowable, match=CONTAINER):
        adapter.lookup(post_request())
