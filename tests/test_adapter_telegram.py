"""The Telegram adapter through the real python-telegram-bot ``Bot``, with HTTP answered by
``respx`` in the Bot API's documented shapes ({"ok": false, "error_code", "description",
"parameters"})."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import urllib.parse

import httpx
import pytest
import respx

from adapters.factory import make_adapter
from adapters.accounts import AccountConfig
from adapters.base import (Image, OutcomeUnknown, PostRef, PostRequest, Rejected, Unavailable)
from adapters.telegram import TelegramAdapter
from tests.contract.cases import CASES, DUE, TOKEN, secret_guard, request, run_case

BOT_URL = f"https://api.telegram.org/bot{TOKEN}"
CHAT = {"id": -1001234567890, "title": "Ajuntament de Test", "username": "AjuntamentTest",
        "type": "channel"}
NOW = DUE + dt.timedelta(minutes=1)
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message")


no_token_anywhere = secret_guard(TOKEN)


def make_account(monkeypatch, chat_id="@AjuntamentTest") -> AccountConfig:
    monkeypatch.setenv("TEST_TG_BOT_TOKEN", TOKEN)
    return AccountConfig.from_mapping("telegram:ayto-test", {
        "department": "comunicacion",
        "credentials": {"bot_token": {"env": "TEST_TG_BOT_TOKEN"}},
        "options": {"chat_id": chat_id},
    })


@pytest.fixture
def account(monkeypatch) -> AccountConfig:
    return make_account(monkeypatch)


@pytest.fixture
def adapter(account) -> TelegramAdapter:
    return TelegramAdapter(account, timeout_s=7, clock=lambda: NOW)


@pytest.fixture
def router():
    with respx.mock(base_url=BOT_URL, assert_all_called=True,
                    assert_all_mocked=True) as mock:
        yield mock


def ok(result) -> dict:
    return {"json": {"ok": True, "result": result}}


def fail(code: int, description: str, **parameters) -> dict:
    body = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return {"status_code": code, "json": body}


def message(message_id: int, text: str | None = "texto", **extra) -> dict:
    body = {"message_id": message_id, "sender_chat": CHAT, "chat": CHAT, "date": 1807776000,
            **extra}
    if text is not None:
        body["text"] = text
    return body


def target(message_id: int = 41, hours_ago: float = 1, **extra) -> PostRef:
    published = NOW - dt.timedelta(hours=hours_ago)
    return PostRef("telegram", "telegram:ayto-test", str(message_id),
                   f"https://t.me/AjuntamentTest/{message_id}",
                   {"published_at": published.isoformat(), "edit_count": "0", "kind": "text",
                    **extra})


def sent(route) -> dict:
    """The form fields PTB sent on the route's last call (complex values are JSON)."""
    return dict(urllib.parse.parse_qsl(route.calls.last.request.content.decode()))


def tg_request(action="publish", **kwargs) -> PostRequest:
    return request(action, account="telegram:ayto-test", **kwargs)


# --- the contract table ---------------------------------------------------------------------

def _publish(router, adapter, **answer):
    router.post("/sendMessage").mock(**answer)
    return lambda: adapter.publish(tg_request())


SETUPS = {
    "publish_ok": lambda r, a: _publish(r, a, return_value=httpx.Response(
        200, **ok(message(42, tg_request().text)))),
    "rate_limited": lambda r, a: _publish(r, a, return_value=httpx.Response(
        **fail(429, "Too Many Requests: retry after 35", retry_after=35))),
    "server_error": lambda r, a: _publish(r, a, return_value=httpx.Response(
        **fail(500, "Internal Server Error"))),
    "connection_refused": lambda r, a: _publish(
        r, a, side_effect=httpx.ConnectError("[Errno 111] Connection refused")),
    "timeout_after_send": lambda r, a: _publish(
        r, a, side_effect=httpx.ReadTimeout("The read operation timed out")),
    "bad_credentials": lambda r, a: _publish(r, a, return_value=httpx.Response(
        **fail(401, "Unauthorized"))),
    "rejected_content": lambda r, a: _publish(r, a, return_value=httpx.Response(
        **fail(400, "Bad Request: message is too long"))),
    "duplicate": None,  # Telegram has no duplicate-content rule: nothing to map
    "edit_ok": lambda r, a: (
        r.post("/editMessageText").mock(return_value=httpx.Response(
            200, **ok(message(41, "Corregido", edit_date=1807776300)))),
        lambda: a.correct(tg_request("correct", target=target(), text="Corregido")))[1],
    "reply_ok": lambda r, a: (
        r.post("/sendMessage").mock(return_value=httpx.Response(200, **ok(message(43, "Nota")))),
        lambda: a.reply(tg_request("reply", target=target(), text="Nota")))[1],
    "delete_ok": lambda r, a: (
        r.post("/deleteMessage").mock(return_value=httpx.Response(200, **ok(True))),
        lambda: a.retract(tg_request("retract", target=target(), text="Retirado")))[1],
    # a bot cannot read the channel: only an edit (target known) can be confirmed, by
    # re-sending it - "not modified" proves the earlier attempt landed
    "lookup_found": lambda r, a: (
        r.post("/editMessageText").mock(return_value=httpx.Response(
            **fail(400, NOT_MODIFIED))),
        lambda: a.lookup(tg_request("correct", target=target(), text="Corregido")))[1],
    # a publish's lookup cannot know (tests/twins: Unknowable); a deletion's can say "not
    # done" without asking: deleting again is safe ("not found" counts as done)
    "lookup_missing": lambda r, a: lambda: a.lookup(tg_request("retract", target=target())),
    "verify_ok": lambda r, a: (
        r.post("/getMe").mock(return_value=httpx.Response(200, **ok({
            "id": 7012345678, "is_bot": True, "first_name": "Pregonero Test",
            "username": "pregonero_test_bot", "can_join_groups": True,
            "can_read_all_group_messages": False, "supports_inline_queries": False}))),
        # ChatMemberAdministrator (Bot API "getChatMember"): the bot may post in the channel
        r.post("/getChatMember").mock(return_value=httpx.Response(200, **ok({
            "status": "administrator", "can_be_edited": False, "is_anonymous": False,
            "can_manage_chat": True, "can_delete_messages": True,
            "can_manage_video_chats": False, "can_restrict_members": True,
            "can_promote_members": False, "can_change_info": False, "can_invite_users": True,
            "can_post_stories": False, "can_edit_stories": False, "can_delete_stories": False,
            "can_post_messages": True, "can_edit_messages": True,
            "user": {"id": 7012345678, "is_bot": True, "first_name": "Pregonero Test",
                     "username": "pregonero_test_bot"}}))),
        a.verify)[2],
}


def check_success(case_name: str, result, router) -> None:
    calls = router.calls
    if case_name == "publish_ok":
        assert sent(router.routes[0]) == {"chat_id": "@AjuntamentTest",
                                          "text": tg_request().text}
        assert result.post_id == "42"
        assert result.url == "https://t.me/AjuntamentTest/42"
        assert result.extra["kind"] == "text"
    elif case_name == "edit_ok":
        assert sent(router.routes[0]) == {"chat_id": "@AjuntamentTest", "message_id": "41",
                                          "text": "Corregido"}
        assert result.post_id == "41" and result.extra["edit_count"] == "1"
    elif case_name == "reply_ok":
        fields = sent(router.routes[0])
        assert json.loads(fields["reply_parameters"]) == {"message_id": 41}
        assert result.post_id == "43"
    elif case_name == "delete_ok":
        assert sent(router.routes[0]) == {"chat_id": "@AjuntamentTest", "message_id": "41"}
        assert result is None
    elif case_name == "lookup_found":
        assert result.post_id == "41"
    elif case_name == "lookup_missing":
        assert result is None and len(calls) == 0
    elif case_name == "verify_ok":
        assert result.ok and "@pregonero_test_bot" in result.detail
        assert dict(urllib.parse.parse_qsl(calls[1].request.content.decode()))["user_id"] \
            == "7012345678"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_contract_case_maps_the_bot_api_answer_through_python_telegram_bot(
        case, adapter, router):
    setup = SETUPS[case.name]
    if setup is None:
        pytest.skip("Telegram accepts identical messages: there is no duplicate answer")
    result = run_case(case, setup(router, adapter))
    for call in router.calls:
        assert call.request.extensions["timeout"] == {
            "connect": 7, "read": 7, "write": 7, "pool": 7}
    if case.expect is None:
        check_success(case.name, result, router)
    elif case.name == "rate_limited":
        assert result.retry_after_s == 35


def test_contract_table_and_setups_cover_the_same_cases():
    assert set(SETUPS) == {case.name for case in CASES}


# --- beyond the table -------------------------------------------------------------------------

def test_httpx_and_ptb_log_the_bot_url_with_the_token_masked(adapter, router, caplog):
    # httpx logs each request at INFO; a command run earlier in this process may have set the
    # library loggers quieter (worker.logging_setup), so the level is set here
    caplog.set_level(logging.INFO, logger="httpx")
    SETUPS["publish_ok"](router, adapter)()
    # (another test's leftover thread in this process may log its own httpx requests)
    urls = [r.getMessage() for r in caplog.records
            if r.name == "httpx" and "api.telegram.org" in r.getMessage()]
    assert urls and all("/bot***/sendMessage" in text for text in urls)
    assert not any(TOKEN in r.getMessage() for r in caplog.records)


def test_a_connect_timeout_never_sent_the_message_so_it_is_retryable(adapter, router):
    router.post("/sendMessage").mock(side_effect=httpx.ConnectTimeout("timed out"))
    with pytest.raises(Unavailable):
        adapter.publish(tg_request())


def test_a_connection_dropped_after_sending_is_an_unknown_outcome(adapter, router):
    router.post("/sendMessage").mock(side_effect=httpx.RemoteProtocolError(
        "Server disconnected without sending a response."))
    with pytest.raises(OutcomeUnknown):
        adapter.publish(tg_request())


def test_correcting_with_the_same_text_is_a_successful_no_op(adapter, router):
    router.post("/editMessageText").mock(return_value=httpx.Response(**fail(400, NOT_MODIFIED)))
    ref = adapter.correct(tg_request("correct", target=target(), text="igual"))
    assert ref.post_id == "41"


def test_a_photo_post_is_corrected_through_its_caption(adapter, router):
    route = router.post("/editMessageCaption").mock(return_value=httpx.Response(
        200, **ok(message(41, None, caption="Nuevo pie"))))
    adapter.correct(tg_request("correct", target=target(kind="photo"), text="Nuevo pie"))
    assert sent(route)["caption"] == "Nuevo pie"


def test_past_48_hours_a_retraction_replaces_the_text_with_the_withdrawal_notice(adapter,
                                                                                 router):
    route = router.post("/editMessageText").mock(return_value=httpx.Response(
        200, **ok(message(41, "Aviso retirado"))))
    adapter.retract(tg_request("retract", target=target(hours_ago=49), text="Aviso retirado"))
    assert sent(route)["text"] == "Aviso retirado"


def test_a_message_telegram_will_not_delete_is_edited_to_the_notice_instead(adapter, router):
    router.post("/deleteMessage").mock(return_value=httpx.Response(
        **fail(400, "Bad Request: message can't be deleted")))
    edit = router.post("/editMessageText").mock(return_value=httpx.Response(
        200, **ok(message(41, "Aviso retirado"))))
    adapter.retract(tg_request("retract", target=target(), text="Aviso retirado"))
    assert edit.called


def test_deleting_a_message_that_is_already_gone_counts_as_deleted(adapter, router):
    router.post("/deleteMessage").mock(return_value=httpx.Response(
        **fail(400, "Bad Request: message to delete not found")))
    assert adapter.retract(tg_request("retract", target=target(), text="x")) is None


def test_one_image_is_sent_as_a_photo_with_the_text_as_caption(adapter, router):
    route = router.post("/sendPhoto").mock(return_value=httpx.Response(
        200, **ok(message(44, None, caption="Cartel", photo=[
            {"file_id": "AgAD", "file_unique_id": "AQAD", "width": 90, "height": 90}]))))
    req = PostRequest(**{**tg_request(text="Cartel").__dict__,
                         "images": (Image("https://www.calp.es/cartel.jpg", "alt"),)})
    ref = adapter.publish(req)
    assert ref.extra["kind"] == "photo" and ref.post_id == "44"
    assert sent(route)["photo"] == "https://www.calp.es/cartel.jpg"
    assert sent(route)["caption"] == "Cartel"


def test_a_caption_over_1024_characters_is_rejected_before_sending(adapter, router):
    req = PostRequest(**{**tg_request(text="x" * 1025).__dict__,
                         "images": (Image("https://www.calp.es/cartel.jpg", "alt"),)})
    with pytest.raises(Rejected):
        adapter.publish(req)
    assert not router.calls


def test_several_images_become_an_album_retracted_as_a_whole(adapter, router):
    photo = [{"file_id": "AgAD", "file_unique_id": "AQAD", "width": 90, "height": 90}]
    router.post("/sendMediaGroup").mock(return_value=httpx.Response(200, **ok([
        message(45, None, caption="Álbum", photo=photo, media_group_id="13"),
        message(46, None, photo=photo, media_group_id="13")])))
    req = PostRequest(**{**tg_request(text="Álbum").__dict__, "images": (
        Image("https://www.calp.es/a.jpg", ""), Image("https://www.calp.es/b.jpg", ""))})
    ref = adapter.publish(req)
    assert ref.post_id == "45" and ref.extra["message_ids"] == "45,46"
    delete = router.post("/deleteMessages").mock(return_value=httpx.Response(200, **ok(True)))
    adapter.retract(tg_request("retract", target=ref, text="Retirado"))
    assert json.loads(sent(delete)["message_ids"]) == [45, 46]


def test_a_private_channel_gets_a_t_me_c_link(monkeypatch, router):
    adapter = TelegramAdapter(make_account(monkeypatch, chat_id="-1001234567890"), timeout_s=7)
    route = router.post("/sendMessage").mock(return_value=httpx.Response(
        200, **ok(message(42, "hola"))))
    ref = adapter.publish(tg_request(text="hola"))
    assert ref.url == "https://t.me/c/1234567890/42"
    assert sent(route)["chat_id"] == "-1001234567890"


def test_the_adapter_also_works_when_called_from_inside_an_event_loop(adapter, router):
    SETUPS["publish_ok"](router, adapter)

    async def caller():
        return adapter.publish(tg_request())

    assert asyncio.run(caller()).post_id == "42"


def test_verify_reports_a_revoked_token_as_not_ok(adapter, router):
    router.post("/getMe").mock(return_value=httpx.Response(**fail(401, "Unauthorized")))
    status = adapter.verify()
    assert not status.ok and TOKEN not in status.detail


def test_the_adapter_repr_shows_no_token(adapter):
    assert TOKEN not in repr(adapter)


def test_make_adapter_builds_the_live_telegram_adapter(account):
    assert isinstance(make_adapter(account, "live"), TelegramAdapter)
