"""The LinkedIn adapter runs the shared contract table through its real ``httpx`` client, with
HTTP intercepted by ``respx``. Answers are shaped like the Posts, Images, Comments and token
introspection APIs document them (201 + ``x-restli-id``; errors as
{"status", "serviceErrorCode", "code", "message"})."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import urllib.parse

import httpx
import pytest
import respx

from adapters.factory import make_adapter
from adapters.accounts import AccountConfig
from adapters.base import (AuthError, Image, NotSupported, OutcomeUnknown, PostRef, Rejected,
                           Unavailable)
from adapters.linkedin import LinkedInAdapter, little_text
from tests.contract.cases import CASES, DUE, TOKEN, secret_guard, request, run_case

ACCOUNT = "linkedin:ayto-test"
ORG = "urn:li:organization:5515715"
ENC_ORG = "urn%3Ali%3Aorganization%3A5515715"
API = "https://api.linkedin.com/rest"
POSTS = f"{API}/posts"
NEW_URN = "urn:li:share:7181234567890123456"
OLD_URN = "urn:li:share:7170000000000000000"
ENC_OLD = urllib.parse.quote(OLD_URN, safe="")
INTROSPECT = "https://www.linkedin.com/oauth/v2/introspectToken"
NOW = DUE + dt.timedelta(minutes=1)
TEXT = "El plazo termina el viernes, 9 de abril de 2027."
ORIGINAL = PostRef("linkedin", ACCOUNT, OLD_URN, f"https://www.linkedin.com/feed/update/{OLD_URN}/",
                   {"published_at": (NOW - dt.timedelta(days=2)).isoformat(), "edit_count": "0"})
SECRET = f"{TOKEN}-client-secret"


no_token_anywhere = secret_guard(TOKEN, SECRET)


def make_account(monkeypatch, *, introspection=False, **options) -> AccountConfig:
    monkeypatch.setenv("TEST_LI_TOKEN", TOKEN)
    credentials = {"access_token": {"env": "TEST_LI_TOKEN"}}
    if introspection:
        monkeypatch.setenv("TEST_LI_CLIENT_ID", "86abcdefgh1234")
        monkeypatch.setenv("TEST_LI_CLIENT_SECRET", SECRET)
        credentials |= {"client_id": {"env": "TEST_LI_CLIENT_ID"},
                        "client_secret": {"env": "TEST_LI_CLIENT_SECRET"}}
    return AccountConfig.from_mapping(ACCOUNT, {
        "department": "comunicacion", "credentials": credentials,
        "options": {"organization_id": "5515715", "linkedin_version": "202411", **options}})


@pytest.fixture
def account(monkeypatch) -> AccountConfig:
    return make_account(monkeypatch)


@pytest.fixture
def adapter(account) -> LinkedInAdapter:
    return LinkedInAdapter(account, timeout_s=7, clock=lambda: NOW)


@pytest.fixture
def http():
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        yield mock


def li_error(status: int, code: str, message: str, service: int = 100, **headers):
    return httpx.Response(status, headers=headers, json={
        "status": status, "serviceErrorCode": service, "code": code, "message": message})


def created(urn: str = NEW_URN) -> httpx.Response:
    return httpx.Response(201, headers={"x-restli-id": urn, "x-linkedin-id": urn})


def publish(adapter):
    return adapter.publish(request(account=ACCOUNT))


def answer_create(response=None, side_effect=None):
    return lambda http: http.post(POSTS).mock(return_value=response, side_effect=side_effect)


def post_json(urn: str, text: str, created_at: dt.datetime) -> dict:
    ms = int(created_at.timestamp() * 1000)
    return {"id": urn, "author": ORG, "commentary": little_text(text), "visibility": "PUBLIC",
            "lifecycleState": "PUBLISHED", "createdAt": ms, "publishedAt": ms,
            "lastModifiedAt": ms, "distribution": {"feedDistribution": "MAIN_FEED"}}


def by_author(posts):
    return lambda http: http.get(POSTS, params={"q": "author"}).mock(
        return_value=httpx.Response(200, json={"elements": posts, "paging": {
            "start": 0, "count": 20, "links": []}}))


CASE_SETUP = {
    "publish_ok": (answer_create(created()), publish),
    "rate_limited": (answer_create(li_error(429, "TOO_MANY_REQUESTS", "Resource level throttle "
                                            "APPLICATION DAY limit for calls to this resource "
                                            "is reached.", 101, **{"Retry-After": "3600"})),
                     publish),
    "server_error": (answer_create(li_error(503, "SERVICE_UNAVAILABLE", "Service Unavailable",
                                            0)), publish),
    "connection_refused": (answer_create(side_effect=httpx.ConnectError(
        "[Errno 111] Connection refused")), publish),
    "timeout_after_send": (answer_create(side_effect=httpx.ReadTimeout(
        "The read operation timed out")), publish),
    "bad_credentials": (answer_create(li_error(401, "EXPIRED_ACCESS_TOKEN", "The token used in "
                                               "the request has expired", 65601)), publish),
    "rejected_content": (answer_create(li_error(422, "UNPROCESSABLE_ENTITY", "ERROR :: "
                                                "/commentary :: length of commentary exceeds "
                                                "3000")), publish),
    "duplicate": (answer_create(li_error(422, "DUPLICATE_POST", f"Content is a duplicate of "
                                         f"{OLD_URN}")), publish),
    "edit_ok": (lambda http: http.post(f"{POSTS}/{ENC_OLD}").mock(
        return_value=httpx.Response(204)),
        lambda a: a.correct(request("correct", target=ORIGINAL, account=ACCOUNT,
                                    text="Corregido: el plazo acaba el lunes (12)"))),
    "reply_ok": (lambda http: http.post(f"{API}/socialActions/{ENC_OLD}/comments").mock(
        return_value=httpx.Response(201, headers={"x-restli-id": "7181000000000000001"}, json={
            "id": "7181000000000000001", "actor": ORG, "object": OLD_URN,
            "$URN": "urn:li:comment:(urn:li:activity:7170000000000000001,7181000000000000001)",
            "message": {"text": "Corrección"}})),
        lambda a: a.reply(request("reply", target=ORIGINAL, account=ACCOUNT,
                                  text="Corrección"))),
    "delete_ok": (lambda http: http.delete(f"{POSTS}/{ENC_OLD}").mock(
        return_value=httpx.Response(204)),
        lambda a: a.retract(request("retract", target=ORIGINAL, account=ACCOUNT))),
    "lookup_found": (by_author([post_json("urn:li:share:1", "Otro aviso", DUE),
                                post_json(NEW_URN, TEXT, DUE + dt.timedelta(seconds=2))]),
                     lambda a: a.lookup(request(account=ACCOUNT))),
    "lookup_missing": (by_author([post_json("urn:li:share:2", TEXT, DUE - dt.timedelta(days=7))]),
                       lambda a: a.lookup(request(account=ACCOUNT))),
    "verify_ok": (by_author([]), lambda a: a.verify()),
}


def check_success(name: str, result, http) -> None:
    sent = http.calls.last.request
    if name == "publish_ok":
        body = json.loads(sent.content)
        assert body["author"] == ORG and body["commentary"] == TEXT
        assert body["visibility"] == "PUBLIC" and body["lifecycleState"] == "PUBLISHED"
        assert body["distribution"]["feedDistribution"] == "MAIN_FEED"
        assert "content" not in body
        assert result.post_id == NEW_URN
        assert result.url == f"https://www.linkedin.com/feed/update/{NEW_URN}/"
    elif name == "edit_ok":
        assert sent.headers["x-restli-method"] == "PARTIAL_UPDATE"
        assert json.loads(sent.content) == {"patch": {"$set": {
            "commentary": "Corregido: el plazo acaba el lunes \\(12\\)"}}}
        assert result.post_id == OLD_URN and result.extra["edit_count"] == "1"
        assert result.extra["published_at"] == ORIGINAL.extra["published_at"]
    elif name == "reply_ok":
        assert json.loads(sent.content) == {"actor": ORG, "object": OLD_URN,
                                            "message": {"text": "Corrección"}}
        assert result.post_id == "7181000000000000001"
        assert result.extra["kind"] == "comment" and result.extra["parent"] == OLD_URN
    elif name == "delete_ok":
        assert sent.method == "DELETE" and sent.headers["x-restli-method"] == "DELETE"
        assert result is None
    elif name == "lookup_found":
        assert f"author={ENC_ORG}" in str(sent.url) and "q=author" in str(sent.url)
        assert result.post_id == NEW_URN
    elif name == "lookup_missing":
        assert result is None
    elif name == "verify_ok":
        assert result.ok and "5515715" in result.detail and result.expires_in_days is None
    else:  # pragma: no cover - a new case in the table needs an expectation here
        raise AssertionError(f"no expectation for {name}")


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_contract_case_behaves_as_the_table_says_through_httpx(case, adapter, http):
    install, operation = CASE_SETUP[case.name]
    install(http)
    result = run_case(case, lambda: operation(adapter))
    for call in http.calls:
        headers = call.request.headers
        assert headers["authorization"] == f"Bearer {TOKEN}"
        assert headers["linkedin-version"] == "202411"
        assert headers["x-restli-protocol-version"] == "2.0.0"
        assert TOKEN not in str(call.request.url)
        assert call.request.extensions["timeout"]["read"] == 7
    if case.expect is None:
        check_success(case.name, result, http)
    if case.name == "rate_limited":
        assert result.retry_after_s == 3600


def test_every_case_of_the_contract_table_has_a_linkedin_answer():
    assert {case.name for case in CASES} == set(CASE_SETUP)


# --- LinkedIn specifics -------------------------------------------------------------------------

def test_reserved_characters_are_escaped_and_hashtags_become_templates():
    assert little_text("Ayudas (3.000 €) para comercio_local #Calp, C# y @ayto [info]") == (
        "Ayudas \\(3.000 €\\) para comercio\\_local {hashtag|\\#|Calp}, C\\# y \\@ayto "
        "\\[info\\]")


def image_status(http, status: str = "AVAILABLE"):
    """GET /rest/images/{urn} as the Images API answers it once the upload is processed."""
    return http.get(url__regex=rf"{API}/images/[^/?]+$").mock(
        side_effect=lambda request: httpx.Response(200, json={
            "owner": ORG, "id": urllib.parse.unquote(request.url.path.rsplit("/", 1)[1]),
            "status": status, "downloadUrl": "https://media.licdn.com/dms/image/x/0/",
            "downloadUrlExpiresAt": 1712736400000}))


def test_one_image_is_uploaded_through_the_images_api_with_its_alt_text(adapter, http, tmp_path):
    local = tmp_path / "cartel.png"
    local.write_bytes(b"\x89PNG fake")
    upload = "https://www.linkedin.com/dms-uploads/sp/D4E10AQabc/uploaded-image/0?ca=vector"
    init = http.post(f"{API}/images", params={"action": "initializeUpload"}).mock(
        return_value=httpx.Response(200, json={"value": {
            "uploadUrlExpiresAt": 1712650000000, "uploadUrl": upload,
            "image": "urn:li:image:D4E10AQabc"}}))
    put = http.put(upload).mock(return_value=httpx.Response(201))
    status = image_status(http)
    create = answer_create(created())(http)
    adapter.publish(dataclasses.replace(request(account=ACCOUNT),
                                        images=(Image(str(local), "Cartel de las fiestas"),)))
    # the post is made only once the image is AVAILABLE (else members would never see it)
    assert status.calls.last.request.url.raw_path == b"/rest/images/urn%3Ali%3Aimage%3AD4E10AQabc"
    assert json.loads(init.calls.last.request.content) == {
        "initializeUploadRequest": {"owner": ORG}}
    assert put.calls.last.request.content == b"\x89PNG fake"
    assert json.loads(create.calls.last.request.content)["content"] == {
        "media": {"id": "urn:li:image:D4E10AQabc", "altText": "Cartel de las fiestas"}}


def test_several_images_make_a_multi_image_post_and_public_images_are_fetched_without_token(
        adapter, http):
    public = "https://www.calp.es/cartel.jpg"
    fetch = http.get(public).mock(return_value=httpx.Response(200, content=b"jpeg"))
    images = iter(["urn:li:image:A", "urn:li:image:B"])
    http.post(f"{API}/images", params={"action": "initializeUpload"}).mock(
        side_effect=lambda request: httpx.Response(200, json={"value": {
            "uploadUrl": "https://www.linkedin.com/dms-uploads/x", "image": next(images)}}))
    http.put("https://www.linkedin.com/dms-uploads/x").mock(return_value=httpx.Response(201))
    image_status(http)
    create = answer_create(created())(http)
    adapter.publish(dataclasses.replace(request(account=ACCOUNT), images=(
        Image(public, "Uno"), Image(public, "Dos"))))
    assert "authorization" not in fetch.calls.last.request.headers
    assert json.loads(create.calls.last.request.content)["content"] == {"multiImage": {
        "images": [{"id": "urn:li:image:A", "altText": "Uno"},
                   {"id": "urn:li:image:B", "altText": "Dos"}]}}


def test_a_gateway_timeout_on_a_post_is_an_unknown_outcome_but_on_a_read_is_retryable(
        adapter, http):
    answer_create(li_error(504, "GATEWAY_TIMEOUT", "Gateway Timeout"))(http)
    with pytest.raises(OutcomeUnknown):
        publish(adapter)
    http.get(POSTS, params={"q": "author"}).mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(Unavailable):
        adapter.lookup(request(account=ACCOUNT))


def test_a_missing_permission_is_an_auth_error(adapter, http):
    answer_create(li_error(403, "ACCESS_DENIED", "Not enough permissions to access: "
                           "partnerApiPostsExternal.CREATE.20241101"))(http)
    with pytest.raises(AuthError):
        publish(adapter)


def test_a_created_post_without_its_id_header_is_an_unknown_outcome(adapter, http):
    answer_create(httpx.Response(201))(http)
    with pytest.raises(OutcomeUnknown):
        publish(adapter)


def test_deleting_a_post_that_is_already_gone_counts_as_deleted(adapter, http):
    http.delete(f"{POSTS}/{ENC_OLD}").mock(return_value=li_error(404, "NOT_FOUND", "Not found"))
    assert adapter.retract(request("retract", target=ORIGINAL, account=ACCOUNT)) is None


def test_retracting_a_comment_deletes_it_as_the_organization(adapter, http):
    route = http.delete(f"{API}/socialActions/{ENC_OLD}/comments/7181000000000000001").mock(
        return_value=httpx.Response(204))
    comment = PostRef("linkedin", ACCOUNT, "7181000000000000001", ORIGINAL.url,
                      {"kind": "comment", "parent": OLD_URN})
    adapter.retract(request("retract", target=comment, account=ACCOUNT))
    assert f"actor={ENC_ORG}" in str(route.calls.last.request.url)


def test_a_comment_is_not_edited_so_the_engine_replies_instead(adapter, http):
    comment = PostRef("linkedin", ACCOUNT, "7181", ORIGINAL.url,
                      {"kind": "comment", "parent": OLD_URN})
    with pytest.raises(NotSupported):
        adapter.correct(request("correct", target=comment, account=ACCOUNT))


def test_lookup_of_a_correction_reads_the_commentary_back(adapter, http):
    http.get(f"{POSTS}/{ENC_OLD}").mock(return_value=httpx.Response(200, json=post_json(
        OLD_URN, "Nuevo (lunes)", DUE)))
    ref = adapter.lookup(request("correct", target=ORIGINAL, text="Nuevo (lunes)",
                                 account=ACCOUNT))
    assert ref is not None and ref.post_id == OLD_URN


def test_lookup_of_a_reply_finds_the_organizations_comment(adapter, http):
    http.get(f"{API}/socialActions/{ENC_OLD}/comments").mock(return_value=httpx.Response(
        200, json={"elements": [
            {"id": "1", "actor": "urn:li:person:someone", "message": {"text": "Nota"}},
            {"id": "2", "actor": ORG, "message": {"text": "Nota"}}]}))
    ref = adapter.lookup(request("reply", target=ORIGINAL, text="Nota", account=ACCOUNT))
    assert ref.post_id == "2"


def test_verify_reports_days_left_from_token_introspection_and_warns_early(monkeypatch, http):
    adapter = LinkedInAdapter(make_account(monkeypatch, introspection=True), clock=lambda: NOW)
    by_author([])(http)
    expires = int((NOW + dt.timedelta(days=9, hours=3)).timestamp())
    route = http.post(INTROSPECT).mock(return_value=httpx.Response(200, json={
        "active": True, "client_id": "86abcdefgh1234", "status": "active",
        "authorized_at": 1712000000, "created_at": 1712000000, "expires_at": expires,
        "scope": "r_organization_social,w_organization_social", "auth_type": "3L"}))
    status = adapter.verify()
    assert status.ok and status.expires_in_days == 9 and "renew" in status.detail
    form = dict(urllib.parse.parse_qsl(route.calls.last.request.content.decode()))
    assert form == {"client_id": "86abcdefgh1234", "client_secret": SECRET, "token": TOKEN}
    assert SECRET not in status.detail


def test_verify_says_a_revoked_token_is_not_ok(monkeypatch, http):
    adapter = LinkedInAdapter(make_account(monkeypatch, introspection=True), clock=lambda: NOW)
    by_author([])(http)
    http.post(INTROSPECT).mock(return_value=httpx.Response(200, json={
        "active": False, "status": "revoked"}))
    status = adapter.verify()
    assert not status.ok and "revoked" in status.detail


def test_verify_uses_the_configured_expiry_date_without_introspection(monkeypatch, http):
    adapter = LinkedInAdapter(make_account(monkeypatch, token_expires_at="2027-05-20"),
                              clock=lambda: NOW)
    by_author([])(http)
    status = adapter.verify()
    assert status.ok and status.expires_in_days == 40 and "renew" not in status.detail


def test_verify_reports_refused_credentials_as_not_ok(adapter, http):
    http.get(POSTS, params={"q": "author"}).mock(return_value=li_error(
        401, "REVOKED_ACCESS_TOKEN", "The token used in the request has been revoked", 65602))
    status = adapter.verify()
    assert not status.ok and "revoked" in status.detail and TOKEN not in status.detail


def test_the_linkedin_version_is_validated_and_configurable(monkeypatch, http):
    with pytest.raises(ValueError, match="YYYYMM"):
        LinkedInAdapter(make_account(monkeypatch, linkedin_version="2024-11"))
    adapter = LinkedInAdapter(make_account(monkeypatch, linkedin_version="202504"))
    by_author([])(http)
    adapter.verify()
    assert http.calls.last.request.headers["linkedin-version"] == "202504"


def test_the_organization_id_is_required(monkeypatch):
    with pytest.raises(ValueError, match="organization_id"):
        LinkedInAdapter(make_account(monkeypatch, organization_id=None))


def test_the_adapter_repr_shows_no_token(adapter):
    assert TOKEN not in repr(adapter)


def test_make_adapter_builds_the_live_linkedin_adapter(account):
    assert isinstance(make_adapter(account, "live"), LinkedInAdapter)


def test_rejected_content_names_linkedins_reason(adapter, http):
    answer_create(li_error(422, "UNPROCESSABLE_ENTITY", "/commentary :: too long"))(http)
    with pytest.raises(Rejected, match="commentary"):
        publish(adapter)
