"""The real Telegram adapter (python-telegram-bot over httpx) against the Telegram twin: what a
subscriber of the channel sees after each operation, and every Bot API rule the twin models
(tests/twins/notes/telegram.md). Rules the adapter never exercises are driven through PTB's own
``telegram.Bot``, the same client library."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import threading

import pytest
import telegram
from telegram.request import HTTPXRequest

from adapters.factory import make_adapter
from adapters.accounts import AccountConfig
from adapters.base import (AuthError, Image, OutcomeUnknown, PostRef, PostRequest, RateLimited,
                           Unknowable,
                           Rejected)
from adapters.telegram import TelegramAdapter
from tests.twins.base import png_bytes, Fault
from tests.twins.telegram import NOT_MODIFIED, TelegramTwin

REF = "telegram:ayto-calp"
OTHER = "telegram:ayto-denia"
HOUR = 3600


# --- helpers --------------------------------------------------------------------------------------


def png(path, width=3, height=2, colour=(200, 30, 30)) -> str:
    """A tiny real PNG (8-bit RGB), written to ``path``."""
    path.write_bytes(png_bytes(width, height, colour))
    return str(path)


def blob(path) -> str:
    """How the twin names an uploaded file: the start of its SHA-256."""
    return "sha256:" + hashlib.sha256(open(path, "rb").read()).hexdigest()[:16]


def post(text="El plazo termina el viernes, 9 de abril de 2027.", *, action="publish",
         images=(), target: PostRef | None = None, account=REF) -> PostRequest:
    return PostRequest(job_id=f"cal/entry/{account}/{action}", account=account, action=action,
                       text=text, language="es", idempotency_key=f"cal/entry#{action}",
                       due=dt.datetime(2027, 4, 9, 8, 0, tzinfo=dt.timezone.utc),
                       images=tuple(images), target=target)


@pytest.fixture
def twin(clock, http):
    twin = TelegramTwin(clock)
    twin.add_account(REF)
    twin.install(http)
    return twin


def adapter_for(twin, monkeypatch, ref=REF, **knobs):
    twin.add_account(ref, **knobs)
    for name, value in twin.env().items():
        monkeypatch.setenv(name, value)
    return make_adapter(AccountConfig.from_mapping(ref, twin.account_entry(ref, "comunicacion")),
                        "live")


@pytest.fixture
def adapter(twin, monkeypatch):
    return adapter_for(twin, monkeypatch)


@pytest.fixture
def timed_adapter(twin, monkeypatch, clock):
    """The adapter on the twin's clock, so that its own 48-hour check sees time pass."""
    adapter_for(twin, monkeypatch)
    account = AccountConfig.from_mapping(REF, twin.account_entry(REF, "comunicacion"))
    return TelegramAdapter(account, timeout_s=5, clock=clock.now)


def bot_call(twin, ref, call):
    """Run ``call(bot)`` with PTB's real ``telegram.Bot`` holding the account's token."""
    token = next(v for k, v in twin.env().items() if k == twin.account_entry(
        ref, "x")["credentials"]["bot_token"]["env"])

    async def go():
        request = HTTPXRequest()
        bot = telegram.Bot(token, request=request)
        try:
            return await call(bot)
        finally:
            await request.shutdown()

    return asyncio.run(go())


def chat(twin, ref=REF):
    return twin.account_entry(ref, "x")["options"]["chat_id"]


# --- publishing -----------------------------------------------------------------------------------


def test_a_text_post_appears_on_the_channel_with_its_t_me_link(twin, adapter):
    ref = adapter.publish(post("Obertura del termini d'inscripció"))
    [seen] = twin.visible(REF)
    assert seen.text == "Obertura del termini d'inscripció"
    assert seen.post_id == ref.post_id == "2"  # message 1 is the "channel created" service message
    assert seen.url == ref.url == "https://t.me/AytoCalp/2"
    assert seen.media == () and not seen.edited and seen.language is None


def test_message_ids_increase_by_one_per_channel(twin, adapter, monkeypatch):
    other = adapter_for(twin, monkeypatch, OTHER)
    ids = [adapter.publish(post("uno")).post_id, other.publish(post("dos", account=OTHER)).post_id,
           adapter.publish(post("tres")).post_id]
    assert ids == ["2", "2", "3"]
    assert [p.text for p in twin.visible(REF)] == ["uno", "tres"]
    assert [p.text for p in twin.visible(OTHER)] == ["dos"]
    assert [p.text for p in twin.visible()] == ["uno", "dos", "tres"]


def test_one_image_becomes_a_photo_with_the_text_as_caption_and_no_alt_text(twin, adapter,
                                                                           tmp_path):
    cartel = png(tmp_path / "cartel.png")
    ref = adapter.publish(post("Cartel de fiestas", images=[Image(cartel, "Cartel rojo")]))
    [seen] = twin.visible()
    assert seen.text == "Cartel de fiestas"
    assert [(m.alt, m.source) for m in seen.media] == [("", blob(cartel))]
    assert ref.extra["kind"] == "photo"
    assert twin.message(ref.post_id)["photo"][0]["width"] == 3


def test_several_images_become_one_album_post_with_every_photo_in_order(twin, adapter, tmp_path):
    paths = [png(tmp_path / f"{i}.png", colour=(i, i, i)) for i in range(3)]
    ref = adapter.publish(post("Álbum", images=[Image(p, f"foto {i}") for i, p in
                                                enumerate(paths)]))
    [seen] = twin.visible()
    assert seen.post_id == ref.post_id and ref.extra["message_ids"] == "2,3,4"
    assert seen.text == "Álbum"
    assert [m.source for m in seen.media] == [blob(p) for p in paths]


def test_an_image_given_by_url_is_fetched_by_telegram(twin, adapter):
    adapter.publish(post("Cartel", images=[Image("https://www.calp.es/cartel.jpg", "x")]))
    assert [m.source for m in twin.visible()[0].media] == ["https://www.calp.es/cartel.jpg"]


def test_an_image_url_telegram_cannot_fetch_is_rejected(clock, http, monkeypatch):
    twin = TelegramTwin(clock, unreachable_urls=("https://www.calp.es/roto.jpg",))
    twin.install(http)
    adapter = adapter_for(twin, monkeypatch)
    with pytest.raises(Rejected, match="(?i)failed to get HTTP URL content"):
        adapter.publish(post("x", images=[Image("https://www.calp.es/roto.jpg", "x")]))
    assert twin.visible() == []


def test_a_file_that_is_not_an_image_is_refused_by_telegram(twin, adapter, tmp_path):
    fake = tmp_path / "cartel.png"
    fake.write_bytes(b"not an image at all")
    with pytest.raises(Rejected, match="(?i)IMAGE_PROCESS_FAILED"):
        adapter.publish(post("x", images=[Image(str(fake), "x")]))
    assert twin.visible() == []


def test_a_text_of_4096_emoji_is_accepted_because_telegram_counts_code_points(twin, adapter,
                                                                              http):
    # 4096 code points = 8192 UTF-16 units: TDLib's utf8_length counts code points
    adapter.publish(post("😀" * 4096))
    assert twin.visible()[0].text == "😀" * 4096
    before = len(http.calls)
    with pytest.raises(Rejected, match="4097 long"):
        adapter.publish(post("😀" * 4097))
    assert len(http.calls) == before  # refused before sending, as Telegram would refuse it
    assert len(twin.visible()) == 1


def test_a_text_over_4096_code_points_is_refused_by_telegram_itself(twin):
    with pytest.raises(telegram.error.BadRequest, match="(?i)message is too long"):
        bot_call(twin, REF, lambda bot: bot.send_message(chat(twin), "😀" * 4097))


def test_the_caption_guard_agrees_with_telegram_on_emoji(twin, adapter, tmp_path, http):
    image = Image(png(tmp_path / "c.png"), "")
    adapter.publish(post("😀" * 1024, images=[image]))  # 2048 UTF-16 units, 1024 code points
    assert twin.visible()[0].text == "😀" * 1024
    before = len(http.calls)
    with pytest.raises(Rejected):
        adapter.publish(post("😀" * 1025, images=[image]))
    assert len(http.calls) == before  # refused before sending, as Telegram would refuse it


def test_a_caption_that_fits_after_telegram_cleans_it_is_published(twin, adapter, tmp_path):
    text = "\r\n".join(["x" * 99] * 10) + " " * 30  # 1038 raw, 999 once cleaned
    adapter.publish(post(text, images=[Image(png(tmp_path / "c.png"), "")]))
    assert twin.visible()[0].text == "\n".join(["x" * 99] * 10)


def test_telegram_counts_a_caption_after_dropping_carriage_returns_and_trailing_spaces(twin):
    raw = "\r\n".join(["x" * 99] * 10) + " " * 30
    message = bot_call(twin, REF, lambda bot: bot.send_photo(
        chat(twin), "https://www.calp.es/cartel.jpg", caption=raw))
    assert message.caption == "\n".join(["x" * 99] * 10)


def test_a_caption_over_1024_code_points_is_refused_by_telegram_itself(twin):
    photo = "https://www.calp.es/cartel.jpg"
    with pytest.raises(telegram.error.BadRequest, match="(?i)message caption is too long"):
        bot_call(twin, REF, lambda bot: bot.send_photo(chat(twin), photo, caption="é" * 1025))
    message = bot_call(twin, REF, lambda bot: bot.send_photo(chat(twin), photo,
                                                             caption="é" * 1024))
    assert message.caption == "é" * 1024


def test_text_is_cleaned_and_trimmed_as_telegram_does(twin, adapter):
    adapter.publish(post("\n  Avís\r\n\tdos  \n\n"))
    assert twin.visible()[0].text == "Avís\n dos"


def test_a_message_sent_with_html_shows_its_text_without_tags(twin):
    bot_call(twin, REF, lambda bot: bot.send_message(
        chat(twin), "<b>Avís</b> &amp; <a href=\"https://calp.es\">web</a>",
        parse_mode="HTML", link_preview_options=telegram.LinkPreviewOptions(is_disabled=True)))
    assert twin.visible()[0].text == "Avís & web"
    assert twin.message("2")["link_preview_options"] == {"is_disabled": True}


def test_broken_formatting_is_refused_with_telegrams_parse_error(twin):
    with pytest.raises(telegram.error.BadRequest, match="(?i)Unsupported start tag \"p\""):
        bot_call(twin, REF, lambda bot: bot.send_message(chat(twin), "<p>x</p>",
                                                         parse_mode="HTML"))
    with pytest.raises(telegram.error.BadRequest, match="(?i)Character '.' is reserved"):
        bot_call(twin, REF, lambda bot: bot.send_message(chat(twin), "Hola.",
                                                         parse_mode="MarkdownV2"))
    bot_call(twin, REF, lambda bot: bot.send_message(chat(twin), "*Hola*\\.",
                                                     parse_mode="MarkdownV2"))
    assert [p.text for p in twin.visible()] == ["Hola."]


def test_concurrent_posts_get_distinct_increasing_ids(twin, adapter):
    ids, errors = [], []

    def publish(n):
        try:
            ids.append(int(adapter.publish(post(f"post {n}")).post_id))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=publish, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and sorted(ids) == list(range(2, 8))
    assert len(twin.visible()) == 6


# --- correcting -----------------------------------------------------------------------------------


def test_a_correction_edits_the_text_in_place_and_shows_the_edited_mark(twin, adapter):
    ref = adapter.publish(post("El plazo termina el viernes"))
    fixed = adapter.correct(post("El plazo termina el lunes", action="correct", target=ref))
    [seen] = twin.visible()
    assert (seen.post_id, seen.text, seen.edited) == (ref.post_id, "El plazo termina el lunes",
                                                      True)
    assert fixed.post_id == ref.post_id and fixed.extra["edit_count"] == "1"
    assert twin.history(ref.post_id) == ["El plazo termina el viernes",
                                         "El plazo termina el lunes"]


def test_correcting_a_photo_post_changes_the_caption_and_keeps_the_photo(twin, adapter,
                                                                         tmp_path):
    cartel = png(tmp_path / "cartel.png")
    ref = adapter.publish(post("Concierto el viernes", images=[Image(cartel, "alt")]))
    adapter.correct(post("Concierto el sábado", action="correct", target=ref))
    [seen] = twin.visible()
    assert seen.text == "Concierto el sábado" and seen.edited
    assert [m.source for m in seen.media] == [blob(cartel)]


def test_correcting_an_album_keeps_every_photo(twin, adapter, tmp_path):
    paths = [png(tmp_path / f"{i}.png", colour=(i, 0, 0)) for i in range(2)]
    ref = adapter.publish(post("Álbum del viernes", images=[Image(p, "") for p in paths]))
    adapter.correct(post("Álbum del sábado", action="correct", target=ref))
    [seen] = twin.visible()
    assert seen.text == "Álbum del sábado" and seen.edited
    assert [m.source for m in seen.media] == [blob(p) for p in paths]


def test_correcting_with_the_same_text_changes_nothing_and_counts_as_done(twin, adapter):
    ref = adapter.publish(post("Igual"))
    adapter.correct(post("Igual", action="correct", target=ref))
    [seen] = twin.visible()
    assert not seen.edited and twin.history(ref.post_id) == ["Igual"]


def test_telegram_says_not_modified_for_an_identical_edit(twin, adapter):
    ref = adapter.publish(post("Igual"))
    with pytest.raises(telegram.error.BadRequest) as info:
        bot_call(twin, REF, lambda bot: bot.edit_message_text(
            "Igual  ", chat_id=chat(twin), message_id=int(ref.post_id)))
    assert info.value.message == NOT_MODIFIED.capitalize()  # PTB strips "Bad Request: "


def test_the_bot_can_edit_its_channel_post_a_year_later(twin, adapter, clock):
    ref = adapter.publish(post("Horario de invierno"))
    clock.advance(365 * 24 * HOUR)
    adapter.correct(post("Horario de verano", action="correct", target=ref))
    assert twin.visible()[0].text == "Horario de verano"


def test_editing_a_text_message_as_a_caption_gets_telegrams_own_error(twin, adapter, tmp_path):
    text_ref = adapter.publish(post("Texto"))
    as_photo = PostRef(text_ref.platform, text_ref.account, text_ref.post_id, text_ref.url,
                       {**text_ref.extra, "kind": "photo"})
    with pytest.raises(Rejected, match="(?i)there is no caption in the message to edit"):
        adapter.correct(post("Otro", action="correct", target=as_photo))
    photo_ref = adapter.publish(post("Foto", images=[Image(png(tmp_path / "p.png"), "")]))
    as_text = PostRef(photo_ref.platform, photo_ref.account, photo_ref.post_id, photo_ref.url,
                      {**photo_ref.extra, "kind": "text"})
    with pytest.raises(Rejected, match="(?i)there is no text in the message to edit"):
        adapter.correct(post("Otra", action="correct", target=as_text))
    assert [p.text for p in twin.visible()] == ["Texto", "Foto"]


def test_correcting_a_deleted_message_is_rejected(twin, adapter):
    ref = adapter.publish(post("x"))
    twin.delete_by_hand(REF, int(ref.post_id))
    with pytest.raises(Rejected, match="(?i)message to edit not found"):
        adapter.correct(post("y", action="correct", target=ref))


def test_a_correction_longer_than_4096_code_points_is_rejected(twin, adapter):
    ref = adapter.publish(post("corto"))
    with pytest.raises(Rejected, match="4097 long"):  # before any request: Telegram would
        adapter.correct(post("x" * 4097, action="correct", target=ref))
    assert twin.visible()[0].text == "corto"


def test_a_caption_correction_over_1024_code_points_is_rejected(twin, adapter, tmp_path):
    ref = adapter.publish(post("corto", images=[Image(png(tmp_path / "p.png"), "")]))
    with pytest.raises(Rejected, match="(?i)MEDIA_CAPTION_TOO_LONG"):
        adapter.correct(post("é" * 1025, action="correct", target=ref))
    assert twin.visible()[0].text == "corto"


def test_replacing_the_photo_of_a_post_drops_its_caption_unless_given_again(twin, tmp_path):
    first, second = png(tmp_path / "a.png"), png(tmp_path / "b.png", colour=(0, 0, 255))
    sent = bot_call(twin, REF, lambda bot: bot.send_photo(chat(twin), open(first, "rb").read(),
                                                          caption="Cartel"))
    bot_call(twin, REF, lambda bot: bot.edit_message_media(
        telegram.InputMediaPhoto(open(second, "rb").read()), chat_id=chat(twin),
        message_id=sent.message_id))
    [seen] = twin.visible()
    assert (seen.text, [m.source for m in seen.media], seen.edited) == ("", [blob(second)], True)


# --- replying -------------------------------------------------------------------------------------


def test_a_reply_appears_under_the_post_it_answers(twin, adapter):
    ref = adapter.publish(post("Aviso"))
    adapter.publish(post("Otro aviso"))
    answer_ref = adapter.reply(post("Nota: cambia la hora", action="reply", target=ref))
    seen = twin.visible()
    assert [p.text for p in seen] == ["Aviso", "Otro aviso"]
    assert seen[0].thread() == ["Aviso", "Nota: cambia la hora"]
    assert seen[0].replies[0].post_id == answer_ref.post_id
    assert twin.message(answer_ref.post_id)["reply_to_message"]["message_id"] == int(ref.post_id)


def test_a_reply_to_an_album_appears_under_the_album(twin, adapter, tmp_path):
    ref = adapter.publish(post("Álbum", images=[Image(png(tmp_path / f"{i}.png"), "")
                                               for i in range(2)]))
    adapter.reply(post("Corrección", action="reply", target=ref))
    [seen] = twin.visible()
    assert seen.thread() == ["Álbum", "Corrección"] and len(seen.media) == 2


def test_a_reply_to_a_deleted_post_is_refused(twin, adapter):
    ref = adapter.publish(post("Aviso"))
    adapter.retract(post("retirado", action="retract", target=ref))
    with pytest.raises(Rejected, match="(?i)message to be replied not found"):
        adapter.reply(post("Nota", action="reply", target=ref))
    assert twin.visible() == []


def test_a_reply_whose_post_is_deleted_stands_on_its_own(twin, adapter):
    ref = adapter.publish(post("Aviso"))
    adapter.reply(post("Nota", action="reply", target=ref))
    twin.delete_by_hand(REF, int(ref.post_id))
    assert [(p.text, p.replies) for p in twin.visible()] == [("Nota", ())]


# --- retracting -----------------------------------------------------------------------------------


def test_a_retraction_within_48_hours_deletes_the_post(twin, adapter, clock):
    keep = adapter.publish(post("Se queda"))
    ref = adapter.publish(post("Se va"))
    clock.advance(47 * HOUR)
    adapter.retract(post("Retirado", action="retract", target=ref))
    assert [p.post_id for p in twin.visible()] == [keep.post_id]


def test_an_album_is_retracted_as_a_whole(twin, adapter, tmp_path):
    ref = adapter.publish(post("Álbum", images=[Image(png(tmp_path / f"{i}.png"), "")
                                               for i in range(3)]))
    adapter.retract(post("Retirado", action="retract", target=ref))
    assert twin.visible() == []


def test_retracting_twice_counts_as_done(twin, adapter):
    ref = adapter.publish(post("Se va"))
    adapter.retract(post("Retirado", action="retract", target=ref))
    adapter.retract(post("Retirado", action="retract", target=ref))  # "message to delete not found"
    assert twin.visible() == []


def test_past_48_hours_telegram_refuses_the_deletion_and_the_notice_replaces_the_text(
        twin, adapter, clock, http):
    ref = adapter.publish(post("Convocatoria"))
    clock.advance(48 * HOUR + 60)  # the adapter's own clock has not moved: it tries to delete
    adapter.retract(post("Aviso retirado", action="retract", target=ref))
    [seen] = twin.visible()
    assert (seen.text, seen.edited) == ("Aviso retirado", True)
    assert [c.status for c in http.calls if c.url.endswith("/deleteMessage")] == [400]


def test_past_48_hours_an_adapter_on_the_same_clock_edits_without_trying_to_delete(
        twin, timed_adapter, clock, http):
    ref = timed_adapter.publish(post("Convocatoria"))
    clock.advance(49 * HOUR)
    timed_adapter.retract(post("Aviso retirado", action="retract", target=ref))
    assert twin.visible()[0].text == "Aviso retirado"
    assert not [c for c in http.calls if "/deleteMessage" in c.url]


def test_the_deletion_window_closes_exactly_48_hours_after_sending(twin):
    first = bot_call(twin, REF, lambda bot: bot.send_message(chat(twin), "uno"))
    second = bot_call(twin, REF, lambda bot: bot.send_message(chat(twin), "dos"))
    twin.clock.advance(48 * HOUR - 2)
    assert bot_call(twin, REF, lambda bot: bot.delete_message(chat(twin), first.message_id))
    twin.clock.advance(2)
    with pytest.raises(telegram.error.BadRequest, match="(?i)message can't be deleted"):
        bot_call(twin, REF, lambda bot: bot.delete_message(chat(twin), second.message_id))
    assert [p.text for p in twin.visible()] == ["dos"]


def test_an_album_older_than_48_hours_keeps_its_photos_and_shows_the_notice(twin, adapter,
                                                                            clock, tmp_path):
    ref = adapter.publish(post("Álbum", images=[Image(png(tmp_path / f"{i}.png"), "")
                                               for i in range(2)]))
    clock.advance(50 * HOUR)
    adapter.retract(post("Aviso retirado", action="retract", target=ref))
    [seen] = twin.visible()  # deleteMessages refuses the whole batch: nothing is deleted
    assert seen.text == "Aviso retirado" and len(seen.media) == 2


def test_delete_messages_skips_ids_that_are_gone(twin):
    sent = [bot_call(twin, REF, lambda bot: bot.send_message(chat(twin), t)) for t in "abc"]
    ids = [m.message_id for m in sent]
    assert bot_call(twin, REF, lambda bot: bot.delete_message(chat(twin), ids[1]))
    assert bot_call(twin, REF, lambda bot: bot.delete_messages(chat(twin), ids))
    assert twin.visible() == []
    with pytest.raises(telegram.error.BadRequest, match="(?i)message to delete not found"):
        bot_call(twin, REF, lambda bot: bot.delete_message(chat(twin), ids[0]))


def test_the_channel_created_service_message_cannot_be_deleted(twin):
    with pytest.raises(telegram.error.BadRequest, match="(?i)message can't be deleted"):
        bot_call(twin, REF, lambda bot: bot.delete_message(chat(twin), 1))


# --- unknown outcomes -----------------------------------------------------------------------------


def test_a_lost_answer_on_publish_is_an_unknown_outcome_and_the_post_exists(twin, adapter, http):
    http.plant(Fault("POST", r"/sendMessage$", "lose_answer"))
    with pytest.raises(OutcomeUnknown):
        adapter.publish(post("Aviso"))
    assert [p.text for p in twin.visible()] == ["Aviso"]


def test_after_a_lost_publish_answer_lookup_says_it_cannot_know_so_nothing_is_posted_twice(
        twin, adapter, http):
    http.plant(Fault("POST", r"/sendMessage$", "lose_answer"))
    request = post("Aviso")
    with pytest.raises(OutcomeUnknown):
        adapter.publish(request)
    # a bot cannot read its channel: not "not posted" (the engine would post it again), but
    # "cannot know" (the engine fails the job with an alert and a person looks)
    with pytest.raises(Unknowable, match="look at the channel"):
        adapter.lookup(request)
    assert [p.text for p in twin.visible()] == ["Aviso"]


def test_after_a_lost_edit_answer_lookup_confirms_the_edit_exactly_once(twin, adapter, http):
    ref = adapter.publish(post("Viernes"))
    http.plant(Fault("POST", r"/editMessageText$", "lose_answer"))
    request = post("Lunes", action="correct", target=ref)
    with pytest.raises(OutcomeUnknown):
        adapter.correct(request)
    found = adapter.lookup(request)
    assert found is not None and found.post_id == ref.post_id
    assert twin.history(ref.post_id) == ["Viernes", "Lunes"]
    assert [p.text for p in twin.visible()] == ["Lunes"]


def test_after_a_lost_deletion_answer_the_retried_retraction_counts_as_done(twin, adapter, http):
    ref = adapter.publish(post("Se va"))
    http.plant(Fault("POST", r"/deleteMessage$", "lose_answer"))
    request = post("Retirado", action="retract", target=ref)
    with pytest.raises(OutcomeUnknown):
        adapter.retract(request)
    assert adapter.lookup(request) is None
    adapter.retract(request)
    assert twin.visible() == []


# --- credentials, rights, rate limits -------------------------------------------------------------


def test_verify_names_the_bot(twin, adapter):
    status = adapter.verify()
    assert status.ok and "@AytoCalp_bot" in status.detail


def test_a_revoked_token_is_an_auth_error_and_verify_says_not_ok(twin, adapter):
    twin.revoke_token(REF)
    with pytest.raises(AuthError):
        adapter.publish(post("x"))
    assert not adapter.verify().ok
    assert twin.visible() == []


def test_a_bot_removed_from_the_channel_is_an_auth_error(twin, adapter):
    twin.remove_bot(REF)
    with pytest.raises(AuthError, match="(?i)bot is not a member of the channel chat"):
        adapter.publish(post("x"))


def test_a_bot_without_post_rights_is_refused_with_telegrams_reason(twin, adapter):
    ref = adapter.publish(post("antes"))
    twin.demote(REF)
    with pytest.raises(Rejected, match="(?i)need administrator rights in the channel chat"):
        adapter.publish(post("x"))
    with pytest.raises(Rejected, match="(?i)message can't be edited"):
        adapter.correct(post("y", action="correct", target=ref))
    assert [p.text for p in twin.visible()] == ["antes"]


def test_verify_reports_a_bot_that_can_no_longer_post_as_not_ok(twin, adapter):
    assert adapter.verify().ok
    twin.demote(REF)
    status = adapter.verify()
    assert not status.ok and "Post messages" in status.detail


def test_verify_reports_a_bot_removed_from_the_channel_as_not_ok(twin, adapter):
    twin.remove_bot(REF)
    assert not adapter.verify().ok


def test_get_chat_and_get_chat_member_describe_the_channel_and_the_bots_rights(twin):
    info = bot_call(twin, REF, lambda bot: bot.get_chat(chat(twin)))
    assert (info.type, info.username) == ("channel", "AytoCalp")
    me = bot_call(twin, REF, lambda bot: bot.get_me())
    member = bot_call(twin, REF, lambda bot: bot.get_chat_member(chat(twin), me.id))
    assert member.status == "administrator" and member.can_post_messages
    twin.remove_bot(REF)
    member = bot_call(twin, REF, lambda bot: bot.get_chat_member(chat(twin), me.id))
    assert member.status == "left"


def test_flood_control_is_rate_limited_with_telegrams_retry_after(twin, adapter, clock):
    twin.flood_wait(REF, 35)
    with pytest.raises(RateLimited) as info:
        adapter.publish(post("x"))
    assert info.value.retry_after_s == 35
    clock.advance(36)
    adapter.publish(post("x"))
    assert len(twin.visible()) == 1


def test_more_posts_a_minute_than_the_chat_allows_are_rate_limited(clock, http, monkeypatch):
    twin = TelegramTwin(clock, posts_per_minute=2)
    twin.install(http)
    adapter = adapter_for(twin, monkeypatch)
    adapter.publish(post("1"))
    adapter.publish(post("2"))
    with pytest.raises(RateLimited) as info:
        adapter.publish(post("3"))
    assert 0 < info.value.retry_after_s <= 60
    clock.advance(61)
    adapter.publish(post("3"))
    assert [p.text for p in twin.visible()] == ["1", "2", "3"]


def test_a_bot_cannot_post_to_another_accounts_channel(twin, monkeypatch):
    adapter_for(twin, monkeypatch, OTHER)
    with pytest.raises(telegram.error.Forbidden, match="(?i)not a member of the channel chat"):
        bot_call(twin, OTHER, lambda bot: bot.send_message(chat(twin, REF), "x"))


def test_a_malformed_token_and_an_unknown_method_get_the_servers_answers(twin, http):
    import httpx

    reply = httpx.post("https://api.telegram.org/botnot-a-token/getMe").json()
    assert reply == {"ok": False, "error_code": 401,
                     "description": "Unauthorized: invalid token specified"}
    token = next(iter(twin.env().values()))
    reply = httpx.post(f"https://api.telegram.org/bot{token}/sendNothing").json()
    assert reply["error_code"] == 404 and reply["description"] == "Not Found"


def test_a_private_channel_is_reached_by_its_numeric_id_and_linked_through_t_me_c(
        twin, monkeypatch):
    adapter = adapter_for(twin, monkeypatch, "telegram:ayto-intern", private=True)
    chat_id = twin.account_entry("telegram:ayto-intern", "x")["options"]["chat_id"]
    assert chat_id.startswith("-100")
    ref = adapter.publish(post("intern", account="telegram:ayto-intern"))
    [seen] = twin.visible("telegram:ayto-intern")
    assert seen.url == ref.url == f"https://t.me/c/{chat_id[4:]}/{ref.post_id}"
