"""The Facebook adapter through the real facebook-sdk ``GraphAPI``, with HTTP answered by
``responses`` in the Graph API's documented shapes ({"error": {message, type, code, ...}})."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import requests
import responses

from adapters.factory import make_adapter
from adapters.accounts import AccountConfig
from adapters.base import (AuthError, Image, OutcomeUnknown, PostRef, PostRequest, RateLimited,
                           Unavailable)
from adapters.facebook import FacebookAdapter
from tests.contract.cases import (CASES, DUE, TOKEN, form, refused, request, run_case,
                                  secret_guard)

PAGE = "100064512345678"
GRAPH = "https://graph.facebook.com/v21.0"
POST_ID = f"{PAGE}_122105000000000001"
NEW_POST = f"{PAGE}_122105000000000777"
NOW = DUE + dt.timedelta(minutes=1)


no_token_anywhere = secret_guard(TOKEN)


@pytest.fixture
def account(monkeypatch) -> AccountConfig:
    monkeypatch.setenv("TEST_FB_PAGE_TOKEN", TOKEN)
    return AccountConfig.from_mapping("facebook:ayto-test", {
        "department": "comunicacion",
        "credentials": {"page_access_token": {"env": "TEST_FB_PAGE_TOKEN"}},
        "options": {"page_id": PAGE, "graph_version": "v21.0"},
    })


@pytest.fixture
def adapter(account) -> FacebookAdapter:
    return FacebookAdapter(account, timeout_s=7, clock=lambda: NOW)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def graph_error(code: int, message: str, *, status: int = 400, headers=None, **extra):
    """An error answer as the Graph API sends it."""
    body = {"error": {"message": message, "type": "OAuthException", "code": code,
                      "fbtrace_id": "AbCdEfGh123", **extra}}
    return dict(status=status, json=body, headers=headers or {})


def target(**extra) -> PostRef:
    return PostRef("facebook", "facebook:ayto-test", POST_ID,
                   f"https://www.facebook.com/{POST_ID}",
                   {"published_at": (NOW - dt.timedelta(days=3)).isoformat(),
                    "edit_count": "0", **extra})






# --- the contract table ---------------------------------------------------------------------

def _publish(rsps, adapter, **answer):
    rsps.add(responses.POST, f"{GRAPH}/{PAGE}/feed", **answer)
    return lambda: adapter.publish(request(account="facebook:ayto-test"))


def _lookup(rsps, adapter, posts):
    rsps.add(responses.GET, f"{GRAPH}/{PAGE}/feed", json={"data": posts, "paging": {
        "cursors": {"before": "QVFIUjFh", "after": "QVFIUmVm"}}})
    return lambda: adapter.lookup(request(account="facebook:ayto-test"))


USAGE = {PAGE: [{"type": "pages", "call_count": 100, "total_cputime": 12, "total_time": 14,
                 "estimated_time_to_regain_access": 15}]}

SETUPS = {
    "publish_ok": lambda rsps, a: _publish(rsps, a, json={"id": POST_ID}),
    "rate_limited": lambda rsps, a: _publish(rsps, a, **graph_error(
        32, "(#32) Page request limit reached", status=403,
        headers={"X-Business-Use-Case-Usage": json.dumps(USAGE)})),
    "server_error": lambda rsps, a: _publish(rsps, a, **graph_error(
        1, "An unknown error has occurred.", status=500, is_transient=True)),
    "connection_refused": lambda rsps, a: _publish(rsps, a, body=refused("/v21.0")),
    "timeout_after_send": lambda rsps, a: _publish(rsps, a, body=requests.ReadTimeout(
        "HTTPSConnectionPool(host='graph.facebook.com', port=443): Read timed out.")),
    "bad_credentials": lambda rsps, a: _publish(rsps, a, **graph_error(
        190, "Error validating access token: Session has expired on Friday, 09-Apr-27 "
        "01:00:00 PDT.", error_subcode=463)),
    "rejected_content": lambda rsps, a: _publish(rsps, a, **graph_error(
        100, "(#100) Invalid parameter")),
    "duplicate": lambda rsps, a: _publish(rsps, a, **graph_error(
        506, "Duplicate status message", error_subcode=1455006,
        error_user_title="Duplicate Post")),
    "edit_ok": lambda rsps, a: (
        rsps.add(responses.POST, f"{GRAPH}/{POST_ID}", json={"success": True}),
        lambda: a.correct(request("correct", target=target(), text="Corregido: el lunes")))[1],
    "reply_ok": lambda rsps, a: (
        rsps.add(responses.POST, f"{GRAPH}/{POST_ID}/comments",
                 json={"id": "122105000000000001_987654321"}),
        lambda: a.reply(request("reply", target=target(), text="Corrección: el lunes")))[1],
    "delete_ok": lambda rsps, a: (
        rsps.add(responses.DELETE, f"{GRAPH}/{POST_ID}", json={"success": True}),
        lambda: a.retract(request("retract", target=target())))[1],
    "lookup_found": lambda rsps, a: _lookup(rsps, a, [
        {"id": f"{PAGE}_1", "message": "Otro aviso", "created_time": "2027-04-09T08:05:00+0000",
         "permalink_url": "https://www.facebook.com/100064512345678/posts/pfbid0other"},
        {"id": NEW_POST, "message": request().text + "\n",
         "created_time": "2027-04-09T08:00:02+0000",
         "permalink_url": "https://www.facebook.com/100064512345678/posts/pfbid0abc"},
    ]),
    "lookup_missing": lambda rsps, a: _lookup(rsps, a, [
        {"id": f"{PAGE}_1", "message": "Otro aviso", "created_time": "2027-04-09T08:05:00+0000",
         "permalink_url": "https://www.facebook.com/100064512345678/posts/pfbid0other"}]),
    "verify_ok": lambda rsps, a: (
        rsps.add(responses.GET, f"{GRAPH}/me", json={"id": PAGE, "name": "Ajuntament de Test"}),
        a.verify)[1],
}


def check_success(case_name: str, result, rsps) -> None:
    calls = rsps.calls
    if case_name == "publish_ok":
        assert form(calls[0]) == {"message": request().text}
        assert result.post_id == POST_ID
        assert result.url == f"https://www.facebook.com/{POST_ID}"
    elif case_name == "edit_ok":
        assert form(calls[0]) == {"message": "Corregido: el lunes"}
        assert result.post_id == POST_ID and result.extra["edit_count"] == "1"
        assert result.extra["published_at"] == target().extra["published_at"]
    elif case_name == "reply_ok":
        assert form(calls[0]) == {"message": "Corrección: el lunes"}
        assert result.post_id == "122105000000000001_987654321"
        assert result.url == f"https://www.facebook.com/{POST_ID}?comment_id=987654321"
    elif case_name == "delete_ok":
        assert calls[0].request.method == "DELETE" and result is None
    elif case_name == "lookup_found":
        assert result.post_id == NEW_POST
        assert result.url == "https://www.facebook.com/100064512345678/posts/pfbid0abc"
        params = calls[0].request.params
        assert params["fields"] == "id,message,permalink_url,created_time"
        assert params["limit"] == "25"
        assert params["since"] == str(int((DUE - dt.timedelta(minutes=10)).timestamp()))
    elif case_name == "lookup_missing":
        assert result is None
    elif case_name == "verify_ok":
        assert result.ok and "Ajuntament de Test" in result.detail


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_contract_case_maps_the_graph_answer_through_facebook_sdk(case, adapter, rsps):
    operation = SETUPS[case.name](rsps, adapter)
    result = run_case(case, operation)
    for call in rsps.calls:
        assert call.request.req_kwargs["timeout"] == 7
        # the token travels in a header, never in the URL (logs, proxies, error messages)
        assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert TOKEN not in call.request.url
        assert TOKEN not in (call.request.body or "")
        assert call.request.url.startswith(f"{GRAPH}/")
    if case.expect is None:
        check_success(case.name, result, rsps)
    elif case.name == "rate_limited":
        assert result.retry_after_s == 15 * 60


def test_contract_table_and_setups_cover_the_same_cases():
    assert set(SETUPS) == {case.name for case in CASES}


# --- beyond the table -------------------------------------------------------------------------

def photo_request(*paths: str) -> PostRequest:
    images = tuple(Image(path, f"Cartel {i}") for i, path in enumerate(paths, 1))
    return PostRequest(**{**request(account="facebook:ayto-test").__dict__, "images": images,
                          "link": "https://www.calp.es/fiestas"})


def test_one_image_is_published_through_photos_with_its_alt_text(adapter, rsps):
    rsps.add(responses.POST, f"{GRAPH}/{PAGE}/photos",
             json={"id": "122105000000000500", "post_id": NEW_POST})
    ref = adapter.publish(photo_request("https://www.calp.es/cartel.jpg"))
    assert ref.post_id == NEW_POST
    assert form(rsps.calls[0]) == {"message": request().text, "alt_text_custom": "Cartel 1",
                                   "url": "https://www.calp.es/cartel.jpg"}


def test_several_images_are_uploaded_unpublished_and_attached_to_one_feed_post(adapter, rsps,
                                                                               tmp_path):
    local = tmp_path / "plano.jpg"
    local.write_bytes(b"\xff\xd8\xff\xe0fake-jpeg")
    rsps.add(responses.POST, f"{GRAPH}/{PAGE}/photos", json={"id": "5001"})
    rsps.add(responses.POST, f"{GRAPH}/{PAGE}/photos", json={"id": "5002"})
    rsps.add(responses.POST, f"{GRAPH}/{PAGE}/feed", json={"id": NEW_POST})
    ref = adapter.publish(photo_request("https://www.calp.es/cartel.jpg", str(local)))
    assert ref.post_id == NEW_POST
    assert form(rsps.calls[0])["published"] == "false"
    assert b"fake-jpeg" in rsps.calls[1].request.body  # multipart "source" upload
    feed = form(rsps.calls[2])
    assert feed["link"] == "https://www.calp.es/fiestas"
    assert json.loads(feed["attached_media[0]"]) == {"media_fbid": "5001"}
    assert json.loads(feed["attached_media[1]"]) == {"media_fbid": "5002"}


def test_a_rate_limit_without_usage_headers_has_no_retry_after(adapter, rsps):
    rsps.add(responses.POST, f"{GRAPH}/{PAGE}/feed", **graph_error(
        4, "(#4) Application request limit reached"))
    with pytest.raises(RateLimited) as info:
        adapter.publish(request(account="facebook:ayto-test"))
    assert info.value.retry_after_s is None


def test_an_html_gateway_error_is_unavailable(adapter, rsps):
    rsps.add(responses.POST, f"{GRAPH}/{PAGE}/feed", status=502,
             body="<html><body>Bad Gateway</body></html>", content_type="text/html")
    with pytest.raises(Unavailable):
        adapter.publish(request(account="facebook:ayto-test"))


def test_an_unreadable_success_answer_to_a_post_is_an_unknown_outcome(adapter, rsps):
    rsps.add(responses.POST, f"{GRAPH}/{PAGE}/feed", status=200, body="ok",
             content_type="text/plain")
    with pytest.raises(OutcomeUnknown):
        adapter.publish(request(account="facebook:ayto-test"))


def test_a_permissions_error_is_an_auth_error(adapter, rsps):
    rsps.add(responses.POST, f"{GRAPH}/{PAGE}/feed", **graph_error(
        200, "(#200) The user hasn't authorized the application to perform this action",
        status=403))
    with pytest.raises(AuthError):
        adapter.publish(request(account="facebook:ayto-test"))


def test_a_read_timeout_on_lookup_is_retryable(adapter, rsps):
    rsps.add(responses.GET, f"{GRAPH}/{PAGE}/feed", body=requests.ReadTimeout("timed out"))
    with pytest.raises(Unavailable):
        adapter.lookup(request(account="facebook:ayto-test"))


def test_lookup_of_a_correction_reads_the_target_message(adapter, rsps):
    rsps.add(responses.GET, f"{GRAPH}/{POST_ID}", json={"id": POST_ID, "message": "Nuevo"})
    ref = adapter.lookup(request("correct", target=target(), text="Nuevo"))
    assert ref.post_id == POST_ID and ref.extra["edit_count"] == "1"


def test_lookup_of_a_reply_searches_the_targets_comments(adapter, rsps):
    rsps.add(responses.GET, f"{GRAPH}/{POST_ID}/comments", json={"data": [
        # a citizen's comment with the same words first: only the page's own reply counts
        {"id": "122105000000000001_56", "message": "Nota", "created_time": "2027-04-09T08:01:00+0000",
         "from": {"id": "1000123", "name": "Vecina"}},
        {"id": "122105000000000001_55", "message": "Nota", "created_time": "2027-04-09T08:00:00+0000",
         "from": {"id": PAGE, "name": "Ayto"}}]})
    ref = adapter.lookup(request("reply", target=target(), text="Nota"))
    assert ref.post_id == "122105000000000001_55"
    assert rsps.calls[0].request.params["order"] == "reverse_chronological"


def test_verify_refuses_a_token_that_is_not_the_pages(adapter, rsps):
    rsps.add(responses.GET, f"{GRAPH}/me", json={"id": "10220000000", "name": "Persona"})
    status = adapter.verify()
    assert not status.ok and "page access token" in status.detail


def test_verify_reports_an_expired_token_as_not_ok(adapter, rsps):
    rsps.add(responses.GET, f"{GRAPH}/me", **graph_error(190, "Error validating access token"))
    status = adapter.verify()
    assert not status.ok and TOKEN not in status.detail


def test_the_graph_version_comes_from_the_account_options(monkeypatch, rsps):
    monkeypatch.setenv("TEST_FB_PAGE_TOKEN", TOKEN)
    account = AccountConfig.from_mapping("facebook:ayto-test", {
        "department": "comunicacion",
        "credentials": {"page_access_token": {"env": "TEST_FB_PAGE_TOKEN"}},
        "options": {"page_id": PAGE, "graph_version": "v22.0"}})
    rsps.add(responses.GET, "https://graph.facebook.com/v22.0/me",
             json={"id": PAGE, "name": "Ajuntament de Test"})
    assert FacebookAdapter(account).verify().ok
    assert rsps.calls[0].request.req_kwargs["timeout"] == 10


def test_the_adapter_repr_shows_no_token(adapter):
    assert TOKEN not in repr(adapter) and TOKEN not in repr(adapter.__dict__.get("account"))


def test_make_adapter_builds_the_live_facebook_adapter(account):
    assert isinstance(make_adapter(account, "live"), FacebookAdapter)
