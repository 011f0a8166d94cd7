"""The Bluesky adapter runs the shared contract table through the real atproto ``Client``, with
HTTP intercepted by ``respx`` (atproto uses ``httpx``). Answers are shaped like the documented
XRPC outputs (createSession, createRecord, deleteRecord, listRecords, getProfile)."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import logging
import time

import httpx
import pytest
import respx

from adapters.factory import make_adapter
from adapters.accounts import AccountConfig
from adapters.base import (AuthError, Image, LinkCard, NotSupported, OutcomeUnknown, PostRef,
                           Rejected, Unavailable)
from adapters.bluesky import BlueskyAdapter
from tests.contract.cases import CASES, TOKEN, request, run_case

ENTRYWAY = "https://bsky.social"
PDS = "https://morel.us-east.host.bsky.network"  # where createSession's didDoc points
DID = "did:plc:z72i7hdynmk6r22z27h6tvur"
HANDLE = "aytotest.bsky.social"
ACCOUNT = "bluesky:ayto-test"
TEXT = "El plazo termina el viernes, 9 de abril de 2027."
NEW_URI = f"at://{DID}/app.bsky.feed.post/3lbfz2xkq7c2s"
NEW_CID = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"
ORIGINAL = PostRef("bluesky", ACCOUNT, f"at://{DID}/app.bsky.feed.post/3lbfyzzzq4k2a",
                   f"https://bsky.app/profile/{HANDLE}/post/3lbfyzzzq4k2a",
                   {"cid": "bafyreia6fj3xu2lpyqsvfxn4wbgbt3xmqyhh4o5s7ydhcwgnxmy3pk3rre",
                    "root_uri": f"at://{DID}/app.bsky.feed.post/3lbfyzzzq4k2a",
                    "root_cid": "bafyreia6fj3xu2lpyqsvfxn4wbgbt3xmqyhh4o5s7ydhcwgnxmy3pk3rre"})

CREATE_SESSION = f"{ENTRYWAY}/xrpc/com.atproto.server.createSession"
CREATE_RECORD = f"{PDS}/xrpc/com.atproto.repo.createRecord"
DELETE_RECORD = f"{PDS}/xrpc/com.atproto.repo.deleteRecord"
LIST_RECORDS = f"{PDS}/xrpc/com.atproto.repo.listRecords"
GET_PROFILE = f"{PDS}/xrpc/app.bsky.actor.getProfile"


def _b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwt(scope: str, lifetime_s: int) -> str:
    """A JWT shaped like the PDS's (the client reads ``exp`` to decide when to refresh)."""
    now = int(time.time())
    return ".".join([_b64({"typ": "at+jwt", "alg": "ES256K"}),
                     _b64({"scope": scope, "sub": DID, "iat": now, "exp": now + lifetime_s,
                           "aud": "did:web:morel.us-east.host.bsky.network"}),
                     _b64(b"signature")])


def session_json() -> dict:
    return {"did": DID, "handle": HANDLE, "email": "prensa@ayto.example", "active": True,
            "accessJwt": jwt("com.atproto.appPass", 7200),
            "refreshJwt": jwt("com.atproto.refresh", 90 * 86400),
            "didDoc": {"@context": ["https://www.w3.org/ns/did/v1"], "id": DID,
                       "alsoKnownAs": [f"at://{HANDLE}"], "verificationMethod": [],
                       "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer",
                                    "serviceEndpoint": PDS}]}}


def record_json(uri: str = NEW_URI, cid: str = NEW_CID) -> dict:
    return {"uri": uri, "cid": cid, "validationStatus": "valid",
            "commit": {"cid": "bafyreigq4wiyjc3ckqsgakfwlsnw4bfmlw5xhvz5jhwrynzwhoy3yw3xe4",
                       "rev": "3lbfz2xl4s22s"}}


def repo_record(uri: str, text: str, created: str, *, parent: PostRef | None = None) -> dict:
    """One record as com.atproto.repo.listRecords lists it: uri, cid and the record itself."""
    record = {"$type": "app.bsky.feed.post", "text": text, "createdAt": created, "langs": ["es"]}
    if parent is not None:
        ref = {"uri": parent.post_id, "cid": parent.extra["cid"]}
        record["reply"] = {"root": ref, "parent": ref}
    return {"uri": uri, "cid": NEW_CID, "value": record}


def xrpc_error(status: int, error: str, message: str, **headers) -> httpx.Response:
    return httpx.Response(status, json={"error": error, "message": message}, headers=headers)


@pytest.fixture
def account(monkeypatch) -> AccountConfig:
    monkeypatch.setenv("PREGONERO_TEST_BSKY_PASSWORD", TOKEN)
    return AccountConfig.from_mapping(ACCOUNT, {
        "handle": HANDLE, "department": "comunicacion",
        "credentials": {"app_password": {"env": "PREGONERO_TEST_BSKY_PASSWORD"}}})


@pytest.fixture
def adapter(account) -> BlueskyAdapter:
    return BlueskyAdapter(account, timeout_s=3)


@pytest.fixture
def http():
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        yield mock


def logged_in(http) -> None:
    http.post(CREATE_SESSION).mock(return_value=httpx.Response(200, json=session_json()))


def publish(adapter):
    return adapter.publish(request("publish", account=ACCOUNT))


def answer_create(response=None, side_effect=None):
    def install(http):
        logged_in(http)
        route = http.post(CREATE_RECORD)
        if side_effect is not None:
            route.mock(side_effect=side_effect)
        else:
            route.mock(return_value=response)
    return install


# --- per-case answers: (install HTTP answers, run the operation) --------------------------------

CASE_SETUP = {
    "publish_ok": (answer_create(httpx.Response(200, json=record_json())), publish),
    # the reset is an hour from when the answer is given, not from when tests were collected
    "rate_limited": (answer_create(side_effect=lambda request: xrpc_error(
        429, "RateLimitExceeded", "Rate Limit Exceeded", **{
            "ratelimit-limit": "5000", "ratelimit-remaining": "0",
            "ratelimit-reset": str(int(time.time()) + 3600), "ratelimit-policy": "5000;w=3600"}
    )), publish),
    "server_error": (answer_create(xrpc_error(500, "InternalServerError",
                                              "Internal Server Error")), publish),
    "connection_refused": (answer_create(side_effect=httpx.ConnectError(
        "[Errno 111] Connection refused")), publish),
    "timeout_after_send": (answer_create(side_effect=httpx.ReadTimeout("The read operation "
                                                                       "timed out")), publish),
    "bad_credentials": (lambda http: http.post(CREATE_SESSION).mock(return_value=xrpc_error(
        401, "AuthenticationRequired", "Invalid identifier or password")), publish),
    "rejected_content": (answer_create(xrpc_error(
        400, "InvalidRequest", "Invalid app.bsky.feed.post record: Record/text must not be "
        "longer than 300 graphemes")), publish),
    # Bluesky reports no duplicate posts of its own: this is the "record already exists"
    # refusal of a repo write, the only duplicate the adapter can recognise
    "duplicate": (answer_create(xrpc_error(400, "InvalidRequest", "Record already exists")),
                  publish),
    # platform-specific expectation: no edits on Bluesky, the engine replies instead
    "edit_ok": (lambda http: None,
                lambda adapter: adapter.correct(request("correct", target=ORIGINAL,
                                                        account=ACCOUNT))),
    "reply_ok": (answer_create(httpx.Response(200, json=record_json())),
                 lambda adapter: adapter.reply(request("reply", target=ORIGINAL,
                                                       account=ACCOUNT))),
    "delete_ok": (lambda http: (logged_in(http), http.post(DELETE_RECORD).mock(
        return_value=httpx.Response(200, json={"commit": {"cid": NEW_CID, "rev": "3lbg"}}))),
        lambda adapter: adapter.retract(request("retract", target=ORIGINAL, account=ACCOUNT))),
    "lookup_found": (lambda http: (logged_in(http), http.get(LIST_RECORDS).mock(
        return_value=httpx.Response(200, json={"cursor": "3lbg0000000aa", "records": [
            repo_record(f"at://{DID}/app.bsky.feed.post/3lbg0000000aa", "Otra cosa.",
                        "2027-04-09T08:00:05.000Z"),
            repo_record(NEW_URI, TEXT, "2027-04-09T08:00:01.000Z")]}))),
        lambda adapter: adapter.lookup(request("publish", account=ACCOUNT))),
    "lookup_missing": (lambda http: (logged_in(http), http.get(LIST_RECORDS).mock(
        return_value=httpx.Response(200, json={"records": [
            # the same text a week earlier, and the same text as a reply to another post
            repo_record(f"at://{DID}/app.bsky.feed.post/3lazzzzzzzzaa", TEXT,
                        "2027-04-02T08:00:01.000Z"),
            repo_record(f"at://{DID}/app.bsky.feed.post/3lbg0000000bb", TEXT,
                        "2027-04-09T08:00:01.000Z", parent=PostRef(
                            "bluesky", ACCOUNT, f"at://{DID}/app.bsky.feed.post/3lb00000000cc",
                            None, {"cid": NEW_CID}))]}))),
        lambda adapter: adapter.lookup(request("publish", account=ACCOUNT))),
    "verify_ok": (lambda http: (logged_in(http), http.get(GET_PROFILE).mock(
        return_value=httpx.Response(200, json={"did": DID, "handle": HANDLE,
                                               "displayName": "Ajuntament",
                                               "followersCount": 1200}))),
        lambda adapter: adapter.verify()),
}

#: the table's expectations, with Bluesky's own where the platform differs
EXPECT = {case.name: case.expect for case in CASES} | {"edit_ok": NotSupported}


def sent_json(route) -> dict:
    return json.loads(route.calls.last.request.content)


def check_success(name: str, result, http) -> None:
    if name == "publish_ok":
        login = json.loads(http.calls[0].request.content)
        assert login == {"identifier": HANDLE, "password": TOKEN}
        create = http.calls[1].request
        assert str(create.url) == CREATE_RECORD  # the PDS from the DID document
        assert create.headers["authorization"].startswith("Bearer ey")
        body = json.loads(create.content)
        assert body["repo"] == DID and body["collection"] == "app.bsky.feed.post"
        assert body["record"]["text"] == TEXT and body["record"]["langs"] == ["es"]
        assert result.post_id == NEW_URI
        assert result.url == f"https://bsky.app/profile/{HANDLE}/post/3lbfz2xkq7c2s"
        assert result.extra["cid"] == NEW_CID
        assert result.extra["root_uri"] == NEW_URI and result.extra["root_cid"] == NEW_CID
    elif name == "reply_ok":
        record = json.loads(http.calls[1].request.content)["record"]
        parent = {"uri": ORIGINAL.post_id, "cid": ORIGINAL.extra["cid"]}
        assert record["reply"]["parent"] | {"$type": None} == parent | {"$type": None}
        assert record["reply"]["root"]["uri"] == ORIGINAL.extra["root_uri"]
        assert result.extra["root_uri"] == ORIGINAL.extra["root_uri"]
    elif name == "delete_ok":
        body = json.loads(http.calls[1].request.content)
        assert body == {"repo": DID, "collection": "app.bsky.feed.post",
                        "rkey": "3lbfyzzzq4k2a"}
        assert result is None
    elif name == "lookup_found":
        query = http.calls[1].request.url.params
        assert query["repo"] == DID and query["limit"] == "30"
        assert query["collection"] == "app.bsky.feed.post"
        assert result is not None and result.post_id == NEW_URI
    elif name == "lookup_missing":
        assert result is None
    elif name == "verify_ok":
        assert result.ok and HANDLE in result.detail
    else:  # pragma: no cover - a new case in the table needs an expectation here
        raise AssertionError(f"no expectation for {name}")


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_contract_case_behaves_as_the_table_says_through_atproto(
        case, adapter, http, caplog, capsys):
    install, operation = CASE_SETUP[case.name]
    install(http)
    case = dataclasses.replace(case, expect=EXPECT[case.name])
    with caplog.at_level(logging.DEBUG):
        result = run_case(case, lambda: operation(adapter))
    if case.expect is None:
        check_success(case.name, result, http)
    if case.name == "rate_limited":
        assert 3500 < result.retry_after_s <= 3600
    if case.name == "edit_ok":
        assert len(http.calls) == 0  # refused without asking the platform
    out = capsys.readouterr()
    assert TOKEN not in caplog.text and TOKEN not in out.out and TOKEN not in out.err


def test_every_case_of_the_contract_table_has_a_bluesky_answer():
    assert {case.name for case in CASES} == set(CASE_SETUP) == set(EXPECT)


# --- Bluesky specifics --------------------------------------------------------------------------


def test_links_and_hashtags_become_facets_with_utf8_byte_offsets(adapter, http):
    answer_create(httpx.Response(200, json=record_json()))(http)
    text = "Inscripción: https://sede.calp.es/tramite?id=7. #Calp"
    adapter.publish(request("publish", account=ACCOUNT, text=text))
    facets = json.loads(http.calls[1].request.content)["record"]["facets"]
    data = text.encode("utf-8")
    link, tag = facets
    assert link["features"][0]["uri"] == "https://sede.calp.es/tramite?id=7"
    assert data[link["index"]["byteStart"]:link["index"]["byteEnd"]] == \
        b"https://sede.calp.es/tramite?id=7"
    assert tag["features"][0]["tag"] == "Calp"
    assert data[tag["index"]["byteStart"]:tag["index"]["byteEnd"]] == b"#Calp"


def test_images_are_uploaded_and_embedded_with_their_alt_text(adapter, http, tmp_path):
    picture = tmp_path / "cartel.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
    logged_in(http)
    http.post(f"{PDS}/xrpc/com.atproto.repo.uploadBlob").mock(return_value=httpx.Response(
        200, json={"blob": {"$type": "blob", "ref": {"$link": NEW_CID},
                            "mimeType": "image/png", "size": 40}}))
    create = http.post(CREATE_RECORD).mock(return_value=httpx.Response(200, json=record_json()))
    post = dataclasses.replace(request("publish", account=ACCOUNT),
                               images=(Image(str(picture), "Cartel del pleno"),))
    adapter.publish(post)
    embed = sent_json(create)["record"]["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    assert embed["images"][0]["alt"] == "Cartel del pleno"


def test_a_reused_session_string_skips_the_login(account, http):
    first = BlueskyAdapter(account)
    logged_in(http)
    http.get(GET_PROFILE).mock(return_value=httpx.Response(200, json={"did": DID,
                                                                     "handle": HANDLE}))
    first.verify()
    saved = first.session_string()
    assert TOKEN not in repr(saved) and TOKEN not in str(saved)
    again = BlueskyAdapter(account, session_string=saved.reveal())
    create = http.post(CREATE_RECORD).mock(return_value=httpx.Response(200, json=record_json()))
    again.publish(request("publish", account=ACCOUNT))
    assert http.routes[0].call_count == 1  # one createSession, from the first adapter only
    assert create.call_count == 1


def test_an_expired_session_falls_back_to_the_app_password(account, http):
    stale = ":::".join([HANDLE, DID, jwt("com.atproto.appPass", 7200),
                        jwt("com.atproto.refresh", 86400), PDS])  # atproto's session format
    adapter = BlueskyAdapter(account, session_string=stale)
    logged_in(http)
    create = http.post(CREATE_RECORD).mock(side_effect=[
        xrpc_error(400, "ExpiredToken", "Token has been revoked"),
        httpx.Response(200, json=record_json())])
    assert publish(adapter).post_id == NEW_URI
    assert create.call_count == 2


def test_an_unreadable_session_string_falls_back_to_the_app_password(account, http):
    adapter = BlueskyAdapter(account, session_string="not a session")
    answer_create(httpx.Response(200, json=record_json()))(http)
    assert publish(adapter).post_id == NEW_URI


def test_a_read_timeout_while_reading_the_repository_is_only_unavailable(adapter, http):
    logged_in(http)
    http.get(LIST_RECORDS).mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(Unavailable):
        adapter.lookup(request("publish", account=ACCOUNT))


def test_a_server_that_drops_the_connection_after_the_post_is_an_unknown_outcome(adapter, http):
    answer_create(side_effect=httpx.RemoteProtocolError("Server disconnected"))(http)
    with pytest.raises(OutcomeUnknown):
        publish(adapter)


def test_a_bad_gateway_is_unavailable(adapter, http):
    answer_create(httpx.Response(502, text="Bad Gateway"))(http)
    with pytest.raises(Unavailable):
        publish(adapter)


def test_a_text_over_300_graphemes_is_rejected_before_logging_in(adapter, http):
    with pytest.raises(Rejected):
        adapter.publish(request("publish", account=ACCOUNT, text="á" * 301))
    assert len(http.calls) == 0


def test_a_reply_to_an_old_ref_without_cid_reads_the_parent_record(adapter, http):
    logged_in(http)
    root = f"at://{DID}/app.bsky.feed.post/3laroot000000"
    http.get(f"{PDS}/xrpc/com.atproto.repo.getRecord").mock(return_value=httpx.Response(
        200, json={"uri": ORIGINAL.post_id, "cid": ORIGINAL.extra["cid"], "value": {
            "$type": "app.bsky.feed.post", "text": "Hilo", "createdAt": "2027-04-08T08:00:00Z",
            "reply": {"root": {"uri": root, "cid": NEW_CID},
                      "parent": {"uri": root, "cid": NEW_CID}}}}))
    create = http.post(CREATE_RECORD).mock(return_value=httpx.Response(200, json=record_json()))
    bare = dataclasses.replace(ORIGINAL, extra={})
    ref = adapter.reply(request("reply", target=bare, account=ACCOUNT))
    reply = sent_json(create)["record"]["reply"]
    assert reply["root"]["uri"] == root and reply["parent"]["uri"] == ORIGINAL.post_id
    assert ref.extra["root_uri"] == root


def test_verify_reports_a_refused_app_password_instead_of_raising(adapter, http):
    http.post(CREATE_SESSION).mock(return_value=xrpc_error(
        401, "AuthenticationRequired", "Invalid identifier or password"))
    status = adapter.verify()
    assert not status.ok and TOKEN not in status.detail


def test_a_missing_app_password_is_an_auth_error_naming_the_variable(account, monkeypatch):
    monkeypatch.delenv("PREGONERO_TEST_BSKY_PASSWORD")
    with pytest.raises(AuthError, match="PREGONERO_TEST_BSKY_PASSWORD"):
        BlueskyAdapter(account).publish(request("publish", account=ACCOUNT))


def test_the_registry_builds_the_live_bluesky_adapter(account, tmp_path):
    adapter = make_adapter(account, "live", home=tmp_path)
    assert isinstance(adapter, BlueskyAdapter)
    assert TOKEN not in repr(adapter)


def test_a_mention_links_to_the_account_it_names_and_an_unknown_handle_stays_plain(
        adapter, http):
    answer_create(httpx.Response(200, json=record_json()))(http)
    resolve = http.get(f"{PDS}/xrpc/com.atproto.identity.resolveHandle").mock(
        side_effect=lambda request: httpx.Response(200, json={"did": "did:plc:policiacalp0001"})
        if request.url.params["handle"] == "policia-calp.bsky.social" else
        xrpc_error(400, "InvalidRequest", "Unable to resolve handle"))
    text = "Con @policia-calp.bsky.social y @nadie.bsky.social: https://calp.es"
    adapter.publish(request("publish", account=ACCOUNT, text=text))
    record = json.loads(next(c for c in http.calls if c.request.url == CREATE_RECORD)
                        .request.content)["record"]
    data = text.encode("utf-8")
    mentions = [f for f in record["facets"]
                if f["features"][0]["$type"] == "app.bsky.richtext.facet#mention"]
    assert [(m["features"][0]["did"], data[m["index"]["byteStart"]:m["index"]["byteEnd"]])
            for m in mentions] == [("did:plc:policiacalp0001", b"@policia-calp.bsky.social")]
    assert len(record["facets"]) == 2 and resolve.call_count == 2  # the link too


def _png_bytes() -> bytes:
    from PIL import Image as Picture

    out = io.BytesIO()
    Picture.new("RGB", (120, 63), "white").save(out, "PNG")
    return out.getvalue()


def test_bluesky_embeds_the_card_with_its_image_uploaded_before_the_post(adapter, http):
    logged_in(http)
    upload = http.post(f"{PDS}/xrpc/com.atproto.repo.uploadBlob").mock(
        return_value=httpx.Response(200, json={"blob": {"$type": "blob", "ref": {"$link": NEW_CID},
                                                        "mimeType": "image/png", "size": 900}}))
    create = http.post(CREATE_RECORD).mock(return_value=httpx.Response(200, json=record_json()))
    card = LinkCard("https://sede.calp.es/ayudas", "Ayudas al alquiler joven 2027",
                    "Solicitudes hasta el 9 de abril.", Image("https://sede.calp.es/c.png", "",
                                                              data=_png_bytes()))
    post = dataclasses.replace(request("publish", account=ACCOUNT,
                                       text="Bases: https://sede.calp.es/ayudas"),
                               link="https://sede.calp.es/ayudas", card=card)
    adapter.publish(post)
    assert upload.called and upload.calls[0].request.content.startswith(b"\x89PNG")
    embed = sent_json(create)["record"]["embed"]
    assert embed["$type"] == "app.bsky.embed.external"
    external = embed["external"]
    assert (external["uri"], external["title"], external["description"]) == (
        card.uri, card.title, card.description)
    assert external["thumb"]["ref"]["$link"] == NEW_CID
    # the link in the text stays a clickable facet
    assert json.loads(create.calls[0].request.content)["record"]["facets"]


@pytest.mark.parametrize("field", ["title", "description"])
def test_the_card_texts_reach_bluesky_as_the_page_wrote_them(adapter, http, field):
    logged_in(http)
    create = http.post(CREATE_RECORD).mock(return_value=httpx.Response(200, json=record_json()))
    card = LinkCard("https://calp.es/", "Festes de Sant Joan · Calp", "Programa d’actes")
    adapter.publish(dataclasses.replace(request("publish", account=ACCOUNT),
                                        link="https://calp.es/", card=card))
    assert sent_json(create)["record"]["embed"]["external"][field] == getattr(card, field)
    assert "thumb" not in sent_json(create)["record"]["embed"]["external"]
