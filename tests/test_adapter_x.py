"""The X adapter through the real tweepy client, with HTTP answered by ``responses`` in the
shapes X documents (API v2 errors are problem+json: title/detail/type/status)."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
import requests
import responses
import urllib3

from adapters.factory import make_adapter
from adapters.accounts import AccountConfig
from adapters.base import (AccountBlocked, AuthError, NotSupported, OutcomeUnknown, PostRef,
                           Rejected, Unavailable)
from adapters.x import XAdapter
from tests.contract.cases import CASES, DUE, TOKEN, refused, request, run_case, secret_guard

API = "https://api.twitter.com"
TWEETS = f"{API}/2/tweets"
ME = f"{API}/2/users/me"
USER_ID = "2244994945"
NEW_ID = "1777000000000000001"
OLD_ID = "1776000000000000000"
NOW = DUE + dt.timedelta(minutes=1)
LINKED_TEXT = "Obras en la calle Mayor & plaza de la Villa: https://www.calp.es/obras-2027"


no_token_anywhere = secret_guard(TOKEN)


@pytest.fixture
def account(monkeypatch) -> AccountConfig:
    for name in ("consumer_key", "consumer_secret", "access_token", "access_token_secret"):
        monkeypatch.setenv(f"TEST_X_{name.upper()}", f"{TOKEN}-{name}")
    return AccountConfig.from_mapping("x:ayto-test", {
        "department": "comunicacion",
        "credentials": {name: {"env": f"TEST_X_{name.upper()}"} for name in
                        ("consumer_key", "consumer_secret", "access_token",
                         "access_token_secret")},
    })


@pytest.fixture
def adapter(account) -> XAdapter:
    return XAdapter(account, timeout_s=7, clock=lambda: NOW)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def problem(status: int, title: str, detail: str, **extra) -> dict:
    """An API v2 error body (RFC 7807 problem, as X sends it)."""
    return {"title": title, "detail": detail, "type": "about:blank", "status": status, **extra}


def target(minutes_ago: float = 5, edits: int = 0) -> PostRef:
    published = NOW - dt.timedelta(minutes=minutes_ago)
    return PostRef("x", "x:ayto-test", OLD_ID, f"https://x.com/i/web/status/{OLD_ID}",
                   {"published_at": published.isoformat(), "edit_count": str(edits)})




def tweet_json(tweet_id: str, text: str, **fields) -> dict:
    return {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id], **fields}


def _editable(rsps, remaining: int = 5) -> None:
    """X's answer about the post a correction edits: eligible, within its window."""
    until = (NOW + dt.timedelta(minutes=25)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    rsps.add(responses.GET, f"{TWEETS}/{OLD_ID}", json={"data": tweet_json(
        OLD_ID, "Obras en la calle Mayor", edit_controls={
            "is_edit_eligible": True, "editable_until": until, "edits_remaining": remaining})})


# --- the contract table ---------------------------------------------------------------------

def _publish(rsps, adapter, **answer):
    rsps.add(responses.POST, TWEETS, **answer)
    return lambda: adapter.publish(request())


def _lookup(rsps, adapter, tweets):
    rsps.add(responses.GET, ME, json={"data": {"id": USER_ID, "name": "Ajuntament de Test",
                                               "username": "AjuntamentTest"}})
    body = {"data": tweets, "meta": {"result_count": len(tweets)}} if tweets else \
        {"meta": {"result_count": 0}}
    rsps.add(responses.GET, f"{API}/2/users/{USER_ID}/tweets", json=body)
    return lambda: adapter.lookup(request(text=LINKED_TEXT))


SETUPS = {
    "publish_ok": lambda rsps, a: _publish(
        rsps, a, status=201, json={"data": tweet_json(NEW_ID, request().text)}),
    "rate_limited": lambda rsps, a: _publish(
        rsps, a, status=429, json=problem(429, "Too Many Requests", "Too Many Requests"),
        headers={"x-rate-limit-limit": "200", "x-rate-limit-remaining": "0",
                 "x-rate-limit-reset": str(int(time.time()) + 120)}),
    "server_error": lambda rsps, a: _publish(
        rsps, a, status=503, json=problem(503, "Service Unavailable", "Service Unavailable")),
    "connection_refused": lambda rsps, a: _publish(rsps, a, body=refused("/2/tweets")),
    "timeout_after_send": lambda rsps, a: _publish(rsps, a, body=requests.ReadTimeout(
        "HTTPSConnectionPool(host='api.twitter.com', port=443): Read timed out. "
        "(read timeout=7)")),
    "bad_credentials": lambda rsps, a: _publish(
        rsps, a, status=401, json=problem(401, "Unauthorized", "Unauthorized")),
    "rejected_content": lambda rsps, a: _publish(rsps, a, status=400, json={
        "errors": [{"parameters": {"text": ["x" * 300]}, "message": "Text is too long"}],
        "title": "Invalid Request", "detail": "One or more parameters to your request was "
        "invalid.", "type": "https://api.twitter.com/2/problems/invalid-request"}),
    "duplicate": lambda rsps, a: _publish(rsps, a, status=403, json=problem(
        403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.")),
    "edit_ok": lambda rsps, a: (
        _editable(rsps), rsps.add(responses.POST, TWEETS, status=200, json={"data": {
            "id": NEW_ID, "text": "corrected", "edit_history_tweet_ids": [OLD_ID, NEW_ID]}}),
        lambda: a.correct(request("correct", target=target(), text="corrected")))[2],
    "reply_ok": lambda rsps, a: (
        rsps.add(responses.POST, TWEETS, status=201, json={"data": tweet_json(NEW_ID, "Nota")}),
        lambda: a.reply(request("reply", target=target(), text="Nota")))[1],
    "delete_ok": lambda rsps, a: (
        rsps.add(responses.DELETE, f"{TWEETS}/{OLD_ID}", json={"data": {"deleted": True}}),
        lambda: a.retract(request("retract", target=target())))[1],
    "lookup_found": lambda rsps, a: _lookup(rsps, a, [
        tweet_json("1777000000000000009", "Otro aviso", created_at="2027-04-09T08:02:00.000Z"),
        # X gives the text back with the link shortened and "&" escaped
        tweet_json(NEW_ID, "Obras en la calle Mayor &amp; plaza de la Villa: "
                   "https://t.co/AbCdEf1234", created_at="2027-04-09T08:00:03.000Z"),
    ]),
    "lookup_missing": lambda rsps, a: _lookup(rsps, a, [
        tweet_json("1777000000000000009", "Otro aviso", created_at="2027-04-09T08:02:00.000Z"),
    ]),
    "verify_ok": lambda rsps, a: (
        rsps.add(responses.GET, ME, json={"data": {"id": USER_ID, "name": "Ajuntament de Test",
                                                   "username": "AjuntamentTest"}}),
        a.verify)[1],
}


def check_success(case_name: str, result, rsps) -> None:
    """What each successful case must have sent and returned."""
    calls = rsps.calls
    if case_name == "publish_ok":
        assert json.loads(calls[0].request.body) == {"text": request().text}
        assert result.post_id == NEW_ID
        assert result.url == f"https://x.com/i/web/status/{NEW_ID}"
        assert result.extra["published_at"] == NOW.isoformat()
    elif case_name == "edit_ok":
        assert calls[0].request.method == "GET"  # edit_controls first
        assert json.loads(calls[1].request.body) == {
            "text": "corrected", "edit_options": {"previous_post_id": OLD_ID}}
        assert result.post_id == NEW_ID  # an X edit is a new tweet
        assert result.extra["edit_count"] == "1"
        assert result.extra["previous_post_id"] == OLD_ID
        # the 30-minute window keeps counting from the original tweet
        assert result.extra["published_at"] == target().extra["published_at"]
    elif case_name == "reply_ok":
        assert json.loads(calls[0].request.body) == {
            "text": "Nota", "reply": {"in_reply_to_tweet_id": OLD_ID}}
        assert result.post_id == NEW_ID
    elif case_name == "delete_ok":
        assert calls[0].request.method == "DELETE" and result is None
    elif case_name == "lookup_found":
        assert result.post_id == NEW_ID
        assert result.extra["published_at"].startswith("2027-04-09T08:00:03")
        params = calls[1].request.params
        assert params["max_results"] == "50"
        assert params["start_time"] == "2027-04-09T07:50:00Z"
        assert "edit_history_tweet_ids" in params["tweet.fields"]
    elif case_name == "lookup_missing":
        assert result is None
    elif case_name == "verify_ok":
        assert result.ok and "@AjuntamentTest" in result.detail


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_contract_case_maps_xs_answer_through_tweepy(case, adapter, rsps):
    operation = SETUPS[case.name](rsps, adapter)
    result = run_case(case, operation)
    for call in rsps.calls:
        # tweepy.Client sets no timeout: the adapter's session must
        assert call.request.req_kwargs["timeout"] == 7
        assert call.request.headers["Authorization"].startswith("OAuth ")
    if case.expect is None:
        check_success(case.name, result, rsps)
    elif case.name == "rate_limited":
        assert 115 <= result.retry_after_s <= 121


def test_contract_table_and_setups_cover_the_same_cases():
    assert set(SETUPS) == {case.name for case in CASES}


# --- beyond the table -------------------------------------------------------------------------

def test_correcting_after_the_thirty_minute_window_is_not_supported_without_calling_x(
        adapter, rsps):
    with pytest.raises(NotSupported, match="30 min"):
        adapter.correct(request("correct", target=target(minutes_ago=31), text="tarde"))
    assert len(rsps.calls) == 0


def test_a_sixth_edit_is_not_supported(adapter, rsps):
    with pytest.raises(NotSupported, match="5 edits"):
        adapter.correct(request("correct", target=target(edits=5), text="otra vez"))


def test_x_refusing_an_edit_becomes_not_supported_so_the_engine_replies(adapter, rsps):
    _editable(rsps)
    rsps.add(responses.POST, TWEETS, status=403, json=problem(
        403, "Forbidden", "Tweet is not editable: edit window has expired."))
    with pytest.raises(NotSupported) as info:
        adapter.correct(request("correct", target=target(), text="corregido"))
    assert info.value.__cause__ is not None


def test_a_forbidden_answer_without_duplicate_is_an_auth_error(adapter, rsps):
    rsps.add(responses.POST, TWEETS, status=403, json=problem(
        403, "Forbidden", "You are not permitted to perform this action."))
    with pytest.raises(AuthError):
        adapter.publish(request())


def test_a_connection_dropped_after_sending_a_tweet_is_an_unknown_outcome(adapter, rsps):
    aborted = urllib3.exceptions.ProtocolError(
        "Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
    rsps.add(responses.POST, TWEETS, body=requests.ConnectionError(aborted))
    with pytest.raises(OutcomeUnknown):
        adapter.publish(request())


def test_a_connect_timeout_never_sent_anything_so_it_is_retryable(adapter, rsps):
    rsps.add(responses.POST, TWEETS, body=requests.ConnectTimeout("connect timed out"))
    with pytest.raises(Unavailable):
        adapter.publish(request())


def test_a_read_timeout_on_a_lookup_is_retryable_not_unknown(adapter, rsps):
    rsps.add(responses.GET, ME, body=requests.ReadTimeout("Read timed out."))
    with pytest.raises(Unavailable):
        adapter.lookup(request())


def test_deleting_a_tweet_that_is_already_gone_counts_as_deleted(adapter, rsps):
    rsps.add(responses.DELETE, f"{TWEETS}/{OLD_ID}", status=404, json=problem(
        404, "Not Found Error", f"Could not find tweet with id: [{OLD_ID}]."))
    assert adapter.retract(request("retract", target=target())) is None


def test_images_are_uploaded_with_alt_text_before_the_tweet(adapter, rsps, tmp_path):
    from adapters.base import Image, PostRequest
    image = tmp_path / "cartel.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    # X API v2 media (docs.x.com "Media upload" and "Media metadata"); v1.1 is retired
    rsps.add(responses.POST, "https://api.x.com/2/media/upload", json={"data": {
        "id": "710511363345354753", "media_key": "3_710511363345354753", "size": 72,
        "expires_after_secs": 86400, "image": {"image_type": "image/png", "w": 1, "h": 1}}})
    rsps.add(responses.POST, "https://api.x.com/2/media/metadata",
             json={"data": {"id": "710511363345354753"}})
    rsps.add(responses.POST, TWEETS, status=201, json={"data": tweet_json(NEW_ID, "Cartel")})
    req = PostRequest(**{**request().__dict__, "text": "Cartel",
                         "images": (Image(str(image), "Cartel de las fiestas de Calp"),)})
    ref = adapter.publish(req)
    assert ref.post_id == NEW_ID
    upload = rsps.calls[0].request
    assert b'name="media_category"' in upload.body and b"tweet_image" in upload.body
    assert b'filename="cartel.png"' in upload.body and b"Content-Type: image/png" in upload.body
    assert upload.headers["Authorization"].startswith("OAuth ")
    assert json.loads(rsps.calls[1].request.body) == {
        "id": "710511363345354753",
        "metadata": {"alt_text": {"text": "Cartel de las fiestas de Calp"}}}
    assert json.loads(rsps.calls[2].request.body)["media"] == {
        "media_ids": ["710511363345354753"]}
    assert all(call.request.req_kwargs["timeout"] == 7 for call in rsps.calls)


def test_verify_reports_refused_credentials_as_not_ok(adapter, rsps):
    rsps.add(responses.GET, ME, status=401, json=problem(401, "Unauthorized", "Unauthorized"))
    status = adapter.verify()
    assert not status.ok and TOKEN not in status.detail


def test_the_adapter_repr_shows_no_credentials(adapter):
    assert TOKEN not in repr(adapter)


def test_make_adapter_builds_the_live_x_adapter(account):
    assert isinstance(make_adapter(account, "live"), XAdapter)


def test_oauth_debug_logs_are_captured_but_show_no_credentials(adapter, rsps, caplog):
    SETUPS["publish_ok"](rsps, adapter)()
    signing = [r for r in caplog.records if r.name == "requests_oauthlib.oauth1_auth"]
    # requests-oauthlib prints the client (consumer key, access token): masked to ***
    assert signing and any("client_key=***" in r.getMessage() for r in signing)


# --- errors by status and X problem type (docs.x.com "Response codes and errors") -------------

def test_a_monthly_usage_cap_is_an_account_alert_not_a_rate_limit_to_wait_out(adapter, rsps):
    # the body X sends for a product cap (xdevplatform/xdk#25): a 429 whose rate limit is fine;
    # waiting for x-rate-limit-reset would retry every 15 minutes for the rest of the month
    rsps.add(responses.POST, TWEETS, status=429, headers={
        "x-rate-limit-limit": "40000", "x-rate-limit-remaining": "39999",
        "x-rate-limit-reset": str(int(NOW.timestamp()) + 900)}, json={
        "account_id": "1", "product_name": "standard-basic", "title": "UsageCapExceeded",
        "period": "Monthly", "scope": "Product",
        "detail": "Usage cap exceeded: Monthly product cap",
        "type": "https://api.twitter.com/2/problems/usage-capped"})
    with pytest.raises(AccountBlocked, match="usage cap"):
        adapter.publish(request())


def test_payment_required_is_an_account_alert_never_a_refused_text(adapter, rsps):
    rsps.add(responses.POST, TWEETS, status=402, json=problem(
        402, "Payment Required", "Your account does not have enough credits."))
    with pytest.raises(AccountBlocked, match="credits"):
        adapter.publish(request())


def test_an_app_without_access_is_an_auth_error_and_a_reply_restriction_a_refusal(adapter,
                                                                                  rsps):
    rsps.add(responses.POST, TWEETS, status=403, json=problem(
        403, "Client Forbidden", "This request must be made using an approved developer "
        "account that is enrolled in the requested endpoint.",
        type="https://api.twitter.com/2/problems/client-forbidden"))
    with pytest.raises(AuthError):
        adapter.publish(request())
    rsps.add(responses.POST, TWEETS, status=403, json=problem(
        403, "Forbidden", "Reply to this conversation is not allowed because you have not "
        "been mentioned or otherwise engaged by the author of the post you are replying to.",
        type="https://api.twitter.com/2/problems/not-authorized-for-resource"))
    with pytest.raises(Rejected) as refused:
        adapter.publish(request())
    assert not isinstance(refused.value, AuthError)
