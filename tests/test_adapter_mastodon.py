"""The Mastodon adapter runs the shared contract table through the real Mastodon.py, with HTTP
intercepted by ``responses`` (Mastodon.py uses ``requests``). Answers are shaped like the
documented Mastodon entities (Status, Account, Instance, MediaAttachment)."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
from urllib.parse import parse_qs

import pytest
import requests
import responses
import urllib3

from adapters.factory import make_adapter
from adapters.accounts import AccountConfig
from adapters.base import (AuthError, Image, OutcomeUnknown, PostRef, RateLimited, Rejected,
                           Unavailable)
from adapters.mastodon import MastodonAdapter
from tests.contract.cases import CASES, TOKEN, request, run_case

BASE = "https://social.example.org"
ACCOUNT = "mastodon:ayto-test"
OWN_ID = "109876543210"
STATUS_ID = "112233445566778899"
ORIGINAL = PostRef("mastodon", ACCOUNT, "112233445566770000",
                   f"{BASE}/@ayto/112233445566770000",
                   {"published_at": "2027-04-08T08:00:00+00:00"})
TEXT = "El plazo termina el viernes, 9 de abril de 2027."


def account_json() -> dict:
    return {"id": OWN_ID, "username": "ayto", "acct": "ayto", "display_name": "Ajuntament",
            "locked": False, "bot": False, "created_at": "2022-11-01T00:00:00.000Z",
            "note": "", "url": f"{BASE}/@ayto", "avatar": "", "header": "",
            "followers_count": 1200, "following_count": 10, "statuses_count": 340,
            "emojis": [], "fields": []}


def status_json(status_id: str = STATUS_ID, text: str = TEXT, *, created: str =
                "2027-04-09T08:00:01.000Z", in_reply_to_id: str | None = None,
                edited_at: str | None = None) -> dict:
    return {"id": status_id, "created_at": created, "in_reply_to_id": in_reply_to_id,
            "in_reply_to_account_id": OWN_ID if in_reply_to_id else None, "sensitive": False,
            "spoiler_text": "", "visibility": "public", "language": "es",
            "uri": f"{BASE}/users/ayto/statuses/{status_id}",
            "url": f"{BASE}/@ayto/{status_id}", "replies_count": 0, "reblogs_count": 0,
            "favourites_count": 0, "edited_at": edited_at, "content": f"<p>{text}</p>",
            "reblog": None, "application": {"name": "pregonero", "website": None},
            "account": account_json(), "media_attachments": [], "mentions": [], "tags": [],
            "emojis": [], "card": None, "poll": None}


def illustrated_status(text: str = TEXT) -> dict:
    """The ORIGINAL status with two images and a content warning someone added by hand."""
    return {**status_json(ORIGINAL.post_id, text, created="2027-04-08T08:00:00.000Z"),
            "spoiler_text": "Cambio de fecha", "sensitive": True,
            "media_attachments": [{"id": media_id, "type": "image", "url": None,
                                   "description": f"Cartel {media_id}"}
                                  for media_id in ("5550001", "5550002")]}


def error(status: int, message: str, **headers) -> dict:
    return dict(status=status, json={"error": message}, headers=headers)


@pytest.fixture
def account(monkeypatch) -> AccountConfig:
    monkeypatch.setenv("PREGONERO_TEST_MASTODON_TOKEN", TOKEN)
    return AccountConfig.from_mapping(ACCOUNT, {
        "handle": "@ayto@social.example.org", "department": "comunicacion",
        "credentials": {"access_token": {"env": "PREGONERO_TEST_MASTODON_TOKEN"}},
        "options": {"instance": BASE, "text_limit": 500}})


@pytest.fixture
def adapter(account) -> MastodonAdapter:
    return MastodonAdapter(account, timeout_s=3)


@pytest.fixture
def http():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def reset_in(seconds: int) -> dict:
    """Rate-limit headers as Mastodon sends them (ISO reset time, plus Date for clock skew)."""
    now = dt.datetime.now(dt.timezone.utc)
    return {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": (now + dt.timedelta(seconds=seconds)).isoformat(),
            "Date": email.utils.format_datetime(now, usegmt=True)}


# --- per-case answers: (install HTTP answers, run the operation) --------------------------------

POST = f"{BASE}/api/v1/statuses"


def publish(adapter):
    return adapter.publish(request("publish", account=ACCOUNT))


CASE_SETUP = {
    "publish_ok": (lambda http: http.post(POST, json=status_json()), publish),
    "rate_limited": (lambda http: http.post(POST, **error(429, "Too many requests",
                                                          **reset_in(120))), publish),
    "server_error": (lambda http: http.post(POST, **error(503, "Service Unavailable")),
                     publish),
    "connection_refused": (lambda http: http.post(POST, body=requests.exceptions.ConnectionError(
        "Failed to establish a new connection: [Errno 111] Connection refused")), publish),
    "timeout_after_send": (lambda http: http.post(POST, body=requests.exceptions.ReadTimeout(
        "Read timed out. (read timeout=3)")), publish),
    "bad_credentials": (lambda http: http.post(POST, **error(401, "The access token is invalid")),
                        publish),
    "rejected_content": (lambda http: http.post(POST, **error(
        422, "Validation failed: Text character limit of 500 exceeded")), publish),
    "duplicate": (lambda http: http.post(POST, **error(
        422, "Validation failed: Text has already been posted")), publish),
    "edit_ok": (lambda http: (
        # correct reads the status first: the PUT must carry its media, warning and flag back
        http.get(f"{POST}/{ORIGINAL.post_id}", json=illustrated_status()),
        http.put(f"{POST}/{ORIGINAL.post_id}", json={**illustrated_status(
            "El plazo termina el lunes."), "edited_at": "2027-04-09T08:00:02.000Z"})),
        lambda adapter: adapter.correct(request("correct", target=ORIGINAL, account=ACCOUNT,
                                                text="El plazo termina el lunes."))),
    "reply_ok": (lambda http: http.post(POST, json=status_json(
        in_reply_to_id=ORIGINAL.post_id)),
        lambda adapter: adapter.reply(request("reply", target=ORIGINAL, account=ACCOUNT))),
    "delete_ok": (lambda http: http.delete(f"{POST}/{ORIGINAL.post_id}", json={
        **status_json(ORIGINAL.post_id), "text": TEXT}),
        lambda adapter: adapter.retract(request("retract", target=ORIGINAL, account=ACCOUNT))),
    "lookup_found": (lambda http: (
        http.get(f"{BASE}/api/v1/accounts/verify_credentials", json=account_json()),
        http.get(f"{BASE}/api/v1/accounts/{OWN_ID}/statuses", json=[
            status_json("112233445566778900", "Otra cosa."), status_json()])),
        lambda adapter: adapter.lookup(request("publish", account=ACCOUNT))),
    "lookup_missing": (lambda http: (
        http.get(f"{BASE}/api/v1/accounts/verify_credentials", json=account_json()),
        # the same text a week earlier (a recurring notice) is not this request's post
        http.get(f"{BASE}/api/v1/accounts/{OWN_ID}/statuses", json=[
            status_json("112233445566778900", "Otra cosa."),
            status_json("111111111111111111", created="2027-04-02T08:00:00.000Z")])),
        lambda adapter: adapter.lookup(request("publish", account=ACCOUNT))),
    "verify_ok": (lambda http: (
        http.get(f"{BASE}/api/v1/accounts/verify_credentials", json=account_json()),
        http.get(f"{BASE}/api/v2/instance/", json={
            "domain": "social.example.org", "title": "Social", "version": "4.3.0",
            "configuration": {"statuses": {"max_characters": 500,
                                           "max_media_attachments": 4}}})),
        lambda adapter: adapter.verify()),
}


def check_success(name: str, result, http) -> None:
    calls = http.calls
    if name == "publish_ok":
        sent = calls[0].request
        assert sent.method == "POST" and sent.url == POST
        assert sent.headers["Idempotency-Key"] == "cal/entry/acc/es#abc123"
        assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
        form = parse_qs(sent.body)
        assert form["status"] == [TEXT] and form["language"] == ["es"]
        assert "in_reply_to_id" not in form
        assert result.post_id == STATUS_ID
        assert result.url == f"{BASE}/@ayto/{STATUS_ID}"
        assert result.extra["published_at"] == "2027-04-09T08:00:01+00:00"
    elif name == "edit_ok":
        assert calls[0].request.method == "GET"
        sent = calls[1].request
        assert sent.method == "PUT" and sent.url == f"{POST}/{ORIGINAL.post_id}"
        form = parse_qs(sent.body, keep_blank_values=True)
        assert form["status"] == ["El plazo termina el lunes."]
        # everything but the text goes back as it was (the server drops what is absent)
        assert form["media_ids[]"] == ["5550001", "5550002"]
        assert form["spoiler_text"] == ["Cambio de fecha"] and form["sensitive"] == ["1"]
        # an edit keeps the id and the original publication time
        assert result.post_id == ORIGINAL.post_id
        assert result.extra["published_at"] == ORIGINAL.extra["published_at"]
        assert result.extra["edited_at"].startswith("2027-04-09T08:00:02")
    elif name == "reply_ok":
        form = parse_qs(calls[0].request.body)
        assert form["in_reply_to_id"] == [ORIGINAL.post_id]
        assert calls[0].request.headers["Idempotency-Key"] == "cal/entry/acc/es#abc123"
        assert result.post_id == STATUS_ID
    elif name == "delete_ok":
        assert calls[0].request.method == "DELETE"
        assert result is None
    elif name == "lookup_found":
        assert "limit=40" in calls[1].request.url
        assert result is not None and result.post_id == STATUS_ID
    elif name == "lookup_missing":
        assert result is None
    elif name == "verify_ok":
        assert result.ok and "@ayto" in result.detail and "500" in result.detail
    else:  # pragma: no cover - a new case in the table needs an expectation here
        raise AssertionError(f"no expectation for {name}")


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_contract_case_behaves_as_the_table_says_through_mastodon_py(
        case, adapter, http, caplog, capsys):
    install, operation = CASE_SETUP[case.name]
    install(http)
    with caplog.at_level(logging.DEBUG):
        result = run_case(case, lambda: operation(adapter))
    if case.expect is None:
        check_success(case.name, result, http)
    if case.name == "rate_limited":
        assert 100 < result.retry_after_s <= 121
    if case.name in ("duplicate", "rejected_content"):
        assert "422" in str(result)
    out = capsys.readouterr()
    assert TOKEN not in caplog.text and TOKEN not in out.out and TOKEN not in out.err


def test_every_case_of_the_contract_table_has_a_mastodon_answer():
    assert {case.name for case in CASES} == set(CASE_SETUP)


# --- Mastodon specifics -------------------------------------------------------------------------


def test_a_connection_dropped_after_sending_is_an_unknown_outcome(adapter, http):
    dropped = requests.exceptions.ConnectionError(urllib3.exceptions.ProtocolError(
        "Connection aborted.", ConnectionResetError(104, "Connection reset by peer")))
    http.post(POST, body=dropped)
    with pytest.raises(OutcomeUnknown) as info:
        publish(adapter)
    assert isinstance(info.value.__cause__.__context__, requests.exceptions.ConnectionError)


def test_a_read_timeout_while_reading_is_only_unavailable(adapter, http):
    http.get(f"{BASE}/api/v1/accounts/verify_credentials",
             body=requests.exceptions.ReadTimeout("Read timed out."))
    with pytest.raises(Unavailable):
        adapter.lookup(request("publish", account=ACCOUNT))


def test_a_rate_limit_without_a_reset_header_leaves_the_delay_to_the_engine(adapter, http):
    http.post(POST, **error(429, "Too many requests"))
    with pytest.raises(RateLimited) as info:
        publish(adapter)
    assert info.value.retry_after_s is None


def test_retracting_a_status_that_is_already_gone_succeeds(adapter, http):
    http.delete(f"{POST}/{ORIGINAL.post_id}", **error(404, "Record not found"))
    assert adapter.retract(request("retract", target=ORIGINAL, account=ACCOUNT)) is None


def test_a_missing_scope_is_an_auth_error(adapter, http):
    http.post(POST, **error(403, "This action is outside the authorized scopes"))
    with pytest.raises(AuthError):
        publish(adapter)


def test_a_text_over_the_limit_is_rejected_before_it_is_posted(adapter, http):
    # a text over options.text_limit: the instance's own limit is asked before refusing it
    http.get(f"{BASE}/api/v2/instance/", json={"configuration": {
        "statuses": {"max_characters": 500}}})
    with pytest.raises(Rejected, match="501 long"):
        adapter.publish(request("publish", account=ACCOUNT, text="a" * 501))
    assert [c.request.method for c in http.calls] == ["GET"]


def test_images_are_uploaded_with_their_alt_text_and_attached(adapter, http, tmp_path):
    picture = tmp_path / "cartel.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
    # Mastodon.py probes the server version once to pick /api/v2/media
    http.get(f"{BASE}/api/v1/instance/", json={"uri": "social.example.org", "version": "4.3.0"})
    http.get(f"{BASE}/api/v2/instance/", json={"domain": "social.example.org",
                                               "version": "4.3.0",
                                               "api_versions": {"mastodon": 2}})
    http.post(f"{BASE}/api/v2/media", json={"id": "5550001", "type": "image", "url": None,
                                            "description": "Cartel del pleno"})
    http.post(POST, json=status_json())
    post = request("publish", account=ACCOUNT)
    post = type(post)(**{**post.__dict__, "images": (Image(str(picture), "Cartel del pleno"),)})
    assert adapter.publish(post).post_id == STATUS_ID
    upload = next(call.request for call in http.calls if call.request.url.endswith("/media"))
    assert b"Cartel del pleno" in upload.body
    assert parse_qs(http.calls[-1].request.body)["media_ids[]"] == ["5550001"]


def test_a_correction_of_a_plain_status_sends_no_media_and_no_warning(adapter, http):
    http.get(f"{POST}/{ORIGINAL.post_id}", json=status_json(ORIGINAL.post_id))
    http.put(f"{POST}/{ORIGINAL.post_id}", json=status_json(ORIGINAL.post_id, "Otro texto."))
    adapter.correct(request("correct", target=ORIGINAL, account=ACCOUNT, text="Otro texto."))
    form = parse_qs(http.calls[1].request.body, keep_blank_values=True)
    assert "media_ids[]" not in form and form["spoiler_text"] == [""]
    assert form["sensitive"] == ["0"]


def test_a_correction_of_a_status_that_is_gone_is_rejected_without_a_write(adapter, http):
    http.get(f"{POST}/{ORIGINAL.post_id}", **error(404, "Record not found"))
    with pytest.raises(Rejected):
        adapter.correct(request("correct", target=ORIGINAL, account=ACCOUNT, text="Otro."))
    assert [call.request.method for call in http.calls] == ["GET"]


def test_the_instance_limit_falls_back_to_the_configured_one(adapter, http):
    http.get(f"{BASE}/api/v2/instance/", **error(404, "Not found"))
    http.get(f"{BASE}/api/v1/instance/", **error(503, "Down"))
    assert adapter.instance_limit() == 500


def test_the_instance_limit_comes_from_the_instance_configuration(adapter, http):
    http.get(f"{BASE}/api/v2/instance/", json={"configuration": {
        "statuses": {"max_characters": 1000}}})
    assert adapter.instance_limit() == 1000


def test_lookup_of_a_reply_needs_the_same_parent(adapter, http):
    http.get(f"{BASE}/api/v1/accounts/verify_credentials", json=account_json())
    http.get(f"{BASE}/api/v1/accounts/{OWN_ID}/statuses", json=[
        status_json("1", in_reply_to_id="999"), status_json("2", in_reply_to_id=ORIGINAL.post_id)])
    found = adapter.lookup(request("reply", target=ORIGINAL, account=ACCOUNT))
    assert found is not None and found.post_id == "2"


def test_a_missing_token_variable_is_an_auth_error_naming_the_variable(account, monkeypatch):
    monkeypatch.delenv("PREGONERO_TEST_MASTODON_TOKEN")
    with pytest.raises(AuthError, match="PREGONERO_TEST_MASTODON_TOKEN"):
        MastodonAdapter(account).publish(request("publish", account=ACCOUNT))


def test_verify_reports_refused_credentials_instead_of_raising(adapter, http):
    http.get(f"{BASE}/api/v1/accounts/verify_credentials",
             **error(401, "The access token was revoked"))
    status = adapter.verify()
    assert not status.ok and "401" in status.detail and TOKEN not in status.detail


def test_the_registry_builds_the_live_mastodon_adapter(account, tmp_path):
    adapter = make_adapter(account, "live", home=tmp_path)
    assert isinstance(adapter, MastodonAdapter)
    assert TOKEN not in repr(adapter)
