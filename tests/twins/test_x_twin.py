"""The X adapter, through the real tweepy client, against the X twin: what citizens see after
each operation, and every platform rule the twin models (see tests/twins/notes/x.md)."""

from __future__ import annotations

import concurrent.futures
import datetime as dt

import pytest
import requests
import tweepy
from requests_oauthlib import OAuth1

from adapters.factory import make_adapter
from adapters.accounts import AccountConfig
from adapters.base import (AuthError, Duplicate, Image, NotSupported, OutcomeUnknown, PostRef,
                           PostRequest, RateLimited, Rejected)
from adapters.x import XAdapter
from tests.twins.base import Fault
from tests.twins.x import XTwin, tiny_png

REF = "x:ayto-calp"
OTHER = "x:ayto-denia"
TEXT = "El plazo de inscripción termina el viernes 9 de abril."
#: an edit refusal whose wording mentions editing (X's real wording is undocumented: see notes)
SAYS_EDIT = (403, "This Tweet cannot be edited.")


@pytest.fixture
def twin(http, clock):
    return _twin(http, clock)


def _twin(http, clock, **knobs) -> XTwin:
    twin = XTwin(clock, **knobs)
    twin.add_account(REF)
    twin.install(http)
    return twin


def _adapter(twin: XTwin, clock, monkeypatch, ref: str = REF, **env) -> XAdapter:
    twin.add_account(ref)
    for name, value in {**twin.env(), **env}.items():
        monkeypatch.setenv(name, value)
    account = AccountConfig.from_mapping(ref, twin.account_entry(ref, "comunicacion"))
    # the adapter's clock must be the platform's: edit windows are checked on both sides
    return XAdapter(account, timeout_s=2, clock=clock.now)


@pytest.fixture
def adapter(twin, clock, monkeypatch) -> XAdapter:
    return _adapter(twin, clock, monkeypatch)


def req(clock, action="publish", text=TEXT, target=None, images=(), account=REF,
        due=None) -> PostRequest:
    return PostRequest(job_id=f"cal/e1/{account}/es/{action}", account=account, action=action,
                       text=text, language="es", idempotency_key=f"cal/e1#{hash(text)}",
                       due=due or clock.now(), images=tuple(images), target=target)


def png(tmp_path, name="cartel.png") -> str:
    path = tmp_path / name
    path.write_bytes(tiny_png(3, 2))
    return str(path)


def stale(ref: PostRef, **extra) -> PostRef:
    """``ref`` with its bookkeeping replaced (what the adapter would hold after a lost answer
    or an edit made elsewhere)."""
    fields = {k: v for k, v in ref.extra.items() if k not in extra}
    fields.update({k: v for k, v in extra.items() if v is not None})
    return PostRef(ref.platform, ref.account, ref.post_id, ref.url, fields)


# --- publish ---------------------------------------------------------------------------------


def test_a_published_post_is_what_citizens_see_with_its_link(twin, adapter, clock):
    ref = adapter.publish(req(clock))
    [seen] = twin.visible(REF)
    assert seen.post_id == ref.post_id and seen.text == TEXT
    assert not seen.edited and seen.media == () and seen.replies == ()
    assert seen.url == f"https://x.com/ayto_calp/status/{ref.post_id}"
    assert ref.url == f"https://x.com/i/web/status/{ref.post_id}"


def test_the_account_entry_builds_the_live_adapter_that_talks_to_the_twin(twin, monkeypatch):
    for name, value in twin.env().items():
        monkeypatch.setenv(name, value)
    account = AccountConfig.from_mapping(REF, twin.account_entry(REF, "comunicacion"))
    status = make_adapter(account, "live").verify()
    assert status.ok and status.detail == f"@ayto_calp (user id {twin.user_id(REF)})"


def test_images_reach_citizens_with_their_alt_text_through_the_v2_upload(http, clock,
                                                                         monkeypatch, tmp_path):
    twin = _twin(http, clock)
    adapter = _adapter(twin, clock, monkeypatch)
    images = (Image(png(tmp_path), "Cartel de las fiestas"),
              Image(png(tmp_path, "plano.png"), "Plano del recorrido"))
    adapter.publish(req(clock, images=images))
    [seen] = twin.visible()
    assert [(m.alt, m.source) for m in seen.media] == [
        ("Cartel de las fiestas", "cartel.png"), ("Plano del recorrido", "plano.png")]


def test_images_reach_citizens_now_that_x_has_retired_the_v1_media_upload(twin, adapter, clock,
                                                                          tmp_path):
    adapter.publish(req(clock, images=(Image(png(tmp_path), "Cartel de las fiestas"),)))
    assert [m.alt for m in twin.visible()[0].media] == ["Cartel de las fiestas"]


def test_the_v2_media_upload_records_alt_text_for_the_post(twin, adapter, clock, tmp_path):
    creds = twin._accounts[REF].credentials
    auth = OAuth1(creds["consumer_key"], creds["consumer_secret"], creds["access_token"],
                  creds["access_token_secret"], decoding=None)  # str headers, as tweepy
    uploaded = requests.post("https://api.x.com/2/media/upload", auth=auth,
                             data={"media_category": "tweet_image"},
                             files={"media": ("cartel.png", tiny_png(), "image/png")})
    assert uploaded.status_code == 200
    media_id = uploaded.json()["data"]["id"]
    metadata = requests.post("https://api.x.com/2/media/metadata", auth=auth, json={
        "id": media_id, "metadata": {"alt_text": {"text": "Cartel de las fiestas"}}})
    assert metadata.json()["data"]["id"] == media_id
    adapter.client.create_tweet(text="Cartel", media_ids=[media_id])
    [seen] = twin.visible()
    assert [(m.alt, m.source) for m in seen.media] == [("Cartel de las fiestas", "cartel.png")]


def test_alt_text_over_a_thousand_characters_is_rejected_before_any_post(http, clock,
                                                                         monkeypatch, tmp_path):
    twin = _twin(http, clock)
    adapter = _adapter(twin, clock, monkeypatch)
    with pytest.raises(Rejected):
        adapter.publish(req(clock, images=(Image(png(tmp_path), "a" * 1001),)))
    assert twin.visible() == []


def test_the_same_text_twice_is_refused_as_duplicate_content_until_a_day_has_passed(
        twin, adapter, clock):
    adapter.publish(req(clock))
    with pytest.raises(Duplicate, match="duplicate content"):
        adapter.publish(req(clock))
    assert len(twin.visible()) == 1
    clock.advance(25 * 3600)
    adapter.publish(req(clock))
    assert [p.text for p in twin.visible()] == [TEXT, TEXT]


def test_posts_from_several_threads_all_appear_once(twin, adapter, clock):
    texts = [f"Aviso número {i}" for i in range(8)]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        refs = list(pool.map(lambda t: adapter.publish(req(clock, text=t)), texts))
    assert len({r.post_id for r in refs}) == 8
    assert sorted(p.text for p in twin.visible()) == sorted(texts)


# --- errors ----------------------------------------------------------------------------------


def test_revoked_credentials_are_an_auth_error_and_verify_says_not_ok(twin, adapter, clock):
    twin.revoke(REF)
    with pytest.raises(AuthError):
        adapter.publish(req(clock))
    assert not adapter.verify().ok
    assert twin.visible() == []


def test_a_request_signed_with_the_wrong_secret_is_refused(twin, clock, monkeypatch):
    twin.add_account(REF)
    prefix = twin._accounts[REF].env_prefix
    adapter = _adapter(twin, clock, monkeypatch, **{f"{prefix}_CONSUMER_SECRET": "wrong"})
    with pytest.raises(AuthError):
        adapter.publish(req(clock))
    assert twin.visible() == [] and twin.requests == [("create", 401)]


def test_past_the_post_rate_limit_x_answers_429_with_its_reset_time(http, clock, monkeypatch):
    twin = _twin(http, clock, post_limits=((2, 900),))
    adapter = _adapter(twin, clock, monkeypatch)
    adapter.publish(req(clock, text="uno"))
    adapter.publish(req(clock, text="dos"))
    with pytest.raises(RateLimited) as info:
        adapter.publish(req(clock, text="tres"))
    assert 890 <= info.value.retry_after_s <= 901
    clock.advance(901)
    adapter.publish(req(clock, text="tres"))
    assert [p.text for p in twin.visible()] == ["uno", "dos", "tres"]


# --- edits -------------------------------------------------------------------------------------


def test_an_edit_shows_the_new_text_marked_edited_under_a_new_post_id(twin, adapter, clock):
    original = adapter.publish(req(clock))
    clock.advance(5 * 60)
    edited = adapter.correct(req(clock, "correct", "El plazo termina el lunes 12 de abril.",
                                 target=original))
    [seen] = twin.visible()
    assert seen.text == "El plazo termina el lunes 12 de abril." and seen.edited
    assert seen.post_id == edited.post_id != original.post_id
    assert twin.history(original.post_id) == [TEXT, "El plazo termina el lunes 12 de abril."]
    # the old id still answers with its own version and the whole chain
    old = adapter.client.get_tweet(original.post_id, user_auth=True).data
    assert old.text == TEXT
    assert old.edit_history_tweet_ids == [int(original.post_id), int(edited.post_id)]


def test_edit_controls_count_the_window_from_the_original_and_the_edits_left(twin, adapter,
                                                                             clock):
    original = adapter.publish(req(clock))
    created = clock.now()
    clock.advance(10 * 60)
    edited = adapter.correct(req(clock, "correct", "Corregido una vez", target=original))
    tweet = adapter.client.get_tweet(edited.post_id, tweet_fields=["edit_controls"],
                                     user_auth=True).data
    controls = tweet.edit_controls
    assert controls["is_edit_eligible"] is True and controls["edits_remaining"] == 4
    assert abs((controls["editable_until"] - created).total_seconds() - 1800) < 1


def test_an_edit_keeps_the_images(http, clock, monkeypatch, tmp_path):
    twin = _twin(http, clock)
    adapter = _adapter(twin, clock, monkeypatch)
    original = adapter.publish(req(clock, images=(Image(png(tmp_path), "Cartel"),)))
    adapter.correct(req(clock, "correct", "Nuevo horario: 19 h", target=original))
    [seen] = twin.visible()
    assert seen.text == "Nuevo horario: 19 h" and [m.alt for m in seen.media] == ["Cartel"]


def test_an_edit_carries_the_media_it_names_and_drops_those_it_omits(http, clock, monkeypatch,
                                                                      tmp_path):
    twin = _twin(http, clock)
    adapter = _adapter(twin, clock, monkeypatch)
    original = adapter.publish(req(clock, images=(Image(png(tmp_path), "Cartel"),)))
    media_ids = adapter.client.get_tweet(original.post_id, tweet_fields=["attachments"],
                                         user_auth=True).data.attachments["media_keys"]
    kept = adapter.client.request("POST", "/2/tweets", user_auth=True, json={
        "text": "Con cartel", "edit_options": {"previous_post_id": original.post_id},
        "media": {"media_ids": [k.split("_")[1] for k in media_ids]}}).json()["data"]["id"]
    assert [m.alt for m in twin.visible()[0].media] == ["Cartel"]
    adapter.client.request("POST", "/2/tweets", user_auth=True, json={
        "text": "Sin cartel", "edit_options": {"previous_post_id": kept}})
    assert twin.visible()[0].media == ()


def test_past_the_thirty_minute_window_the_adapter_replies_instead_without_asking_x(
        twin, adapter, clock):
    original = adapter.publish(req(clock))
    clock.advance(31 * 60)
    with pytest.raises(NotSupported):
        adapter.correct(req(clock, "correct", "Tarde", target=original))
    assert twin.requests == [("create", 201)]
    reply = adapter.reply(req(clock, "reply", "Corrección: el plazo es el lunes.",
                              target=original))
    [seen] = twin.visible()
    assert seen.text == TEXT and [r.post_id for r in seen.replies] == [reply.post_id]


def test_x_refuses_an_edit_past_the_window_and_the_post_stays_as_it_was(http, clock,
                                                                        monkeypatch):
    twin = _twin(http, clock, edit_refusal=SAYS_EDIT)
    adapter = _adapter(twin, clock, monkeypatch)
    original = adapter.publish(req(clock))
    clock.advance(31 * 60)
    unknown_age = stale(original, published_at=None)  # the adapter cannot check: X does
    with pytest.raises(NotSupported):  # its edit_controls say the window closed
        adapter.correct(req(clock, "correct", "Tarde", target=unknown_age))
    with pytest.raises(tweepy.Forbidden):  # and an edit sent anyway is refused
        adapter.client.request("POST", "/2/tweets", user_auth=True, json={
            "text": "Tarde", "edit_options": {"previous_post_id": original.post_id}})
    assert twin.requests[-1] == ("create", 403)
    [seen] = twin.visible()
    assert seen.text == TEXT and not seen.edited
    assert twin.billed() == {"post_create": 1, "posts_read": 1}


def test_x_refuses_a_sixth_edit(http, clock, monkeypatch):
    twin = _twin(http, clock, edit_refusal=SAYS_EDIT)
    adapter = _adapter(twin, clock, monkeypatch)
    ref = adapter.publish(req(clock))
    for n in range(5):
        ref = adapter.correct(req(clock, "correct", f"Versión {n + 2}", target=ref))
    assert twin.edit_controls(ref.post_id)["edits_remaining"] == 0
    with pytest.raises(NotSupported):  # the adapter's own count stops it
        adapter.correct(req(clock, "correct", "Versión 7", target=ref))
    with pytest.raises(NotSupported):  # and X does when that count is lost
        adapter.correct(req(clock, "correct", "Versión 7", target=stale(ref, edit_count="0")))
    assert twin.visible()[0].text == "Versión 6"


def test_only_the_latest_version_can_be_edited(http, clock, monkeypatch):
    twin = _twin(http, clock, edit_refusal=SAYS_EDIT)
    adapter = _adapter(twin, clock, monkeypatch)
    original = adapter.publish(req(clock))
    adapter.correct(req(clock, "correct", "Segunda versión", target=original))
    with pytest.raises(tweepy.Forbidden):
        adapter.client.request("POST", "/2/tweets", user_auth=True, json={
            "text": "Tercera versión", "edit_options": {"previous_post_id": original.post_id}})
    assert twin.visible()[0].text == "Segunda versión"


def test_a_correction_holding_an_old_version_edits_the_latest_one(http, clock, monkeypatch):
    # the engine's ref can be a version behind: an edit whose answer was lost, or a hand edit
    twin = _twin(http, clock, edit_refusal=SAYS_EDIT)
    adapter = _adapter(twin, clock, monkeypatch)
    original = adapter.publish(req(clock))
    adapter.correct(req(clock, "correct", "Segunda versión", target=original))
    third = adapter.correct(req(clock, "correct", "Tercera versión", target=original))
    [seen] = twin.visible()
    assert seen.text == "Tercera versión" and seen.post_id == third.post_id
    assert twin.edit_controls(third.post_id)["edits_remaining"] == 3


def test_a_correction_whose_edit_already_arrived_is_not_sent_again(http, clock, monkeypatch):
    twin = _twin(http, clock, edit_refusal=SAYS_EDIT)
    adapter = _adapter(twin, clock, monkeypatch)
    original = adapter.publish(req(clock))
    edited = adapter.correct(req(clock, "correct", "Corregido", target=original))
    again = adapter.correct(req(clock, "correct", "Corregido", target=original))
    assert again.post_id == edited.post_id
    assert again.extra["edit_count"] == "1"
    assert len(twin.history(edited.post_id)) == 2


def test_a_refused_edit_whose_message_does_not_say_edit_is_not_an_auth_error(twin, adapter,
                                                                            clock):
    original = adapter.publish(req(clock))
    clock.advance(31 * 60)
    with pytest.raises(NotSupported):
        adapter.correct(req(clock, "correct", "Tarde",
                            target=stale(original, published_at=None)))


def test_a_correction_of_a_post_x_will_not_let_edit_becomes_a_reply_not_an_auth_error(
        twin, adapter, clock):
    twin.set_premium(REF, False)
    original = adapter.publish(req(clock))
    assert twin.edit_controls(original.post_id)["is_edit_eligible"] is False
    with pytest.raises(NotSupported):
        adapter.correct(req(clock, "correct", "Corregido", target=original))


def test_after_a_lost_edit_answer_lookup_keeps_the_window_and_edit_count_of_the_original(
        http, twin, adapter, clock):
    original = adapter.publish(req(clock))
    clock.advance(20 * 60)
    http.plant(Fault("POST", r"/2/tweets$", "lose_answer"))
    edit = req(clock, "correct", "Corregido", target=original)
    with pytest.raises(OutcomeUnknown):
        adapter.correct(edit)
    found = adapter.lookup(edit)
    assert found is not None and found.post_id == twin.visible()[0].post_id
    # the window counts from the original, and this was its first edit
    assert found.extra["published_at"] == original.extra["published_at"]
    assert found.extra["edit_count"] == "1"
    clock.advance(15 * 60)  # 35 minutes after the original
    with pytest.raises(NotSupported):
        adapter.correct(req(clock, "correct", "Corregido otra vez", target=found))


# --- replies and deletions ---------------------------------------------------------------------


def test_a_reply_appears_under_its_post(twin, adapter, clock):
    original = adapter.publish(req(clock))
    first = adapter.reply(req(clock, "reply", "Más información en el ayuntamiento.",
                              target=original))
    adapter.reply(req(clock, "reply", "Horario: de 9 a 14 h.", target=first))
    [seen] = twin.visible()
    assert seen.thread() == [TEXT, "Más información en el ayuntamiento.",
                             "Horario: de 9 a 14 h."]


def test_a_reply_to_a_deleted_post_is_rejected(twin, adapter, clock):
    original = adapter.publish(req(clock))
    adapter.retract(req(clock, "retract", target=original))
    with pytest.raises(Rejected, match="deleted or not visible"):
        adapter.reply(req(clock, "reply", "Nota", target=original))
    assert twin.visible() == []


def test_a_reply_to_another_accounts_post_needs_a_mention(twin, clock, monkeypatch):
    denia = _adapter(twin, clock, monkeypatch, OTHER)
    calp = _adapter(twin, clock, monkeypatch, REF)
    plain = denia.publish(req(clock, text="Corte de agua mañana.", account=OTHER))
    with pytest.raises(Rejected, match="mentioned or are the author"):
        calp.reply(req(clock, "reply", "También en Calp.", target=plain))
    mention = denia.publish(req(clock, text="Corte de agua mañana, @ayto_calp", account=OTHER))
    calp.reply(req(clock, "reply", "También en Calp.", target=mention))
    assert [p.text for p in twin.visible(REF)] == ["También en Calp."]


@pytest.mark.parametrize("gone", ["not_found", "deleted_false"])
def test_a_retracted_post_is_gone_and_retracting_again_counts_as_deleted(http, clock,
                                                                         monkeypatch, gone):
    twin = _twin(http, clock, delete_gone=gone)
    adapter = _adapter(twin, clock, monkeypatch)
    original = adapter.publish(req(clock))
    other = adapter.publish(req(clock, text="Otro aviso"))
    adapter.retract(req(clock, "retract", target=original))
    assert [p.post_id for p in twin.visible()] == [other.post_id]
    assert adapter.retract(req(clock, "retract", target=original)) is None
    assert twin.requests[-1] == ("delete", 404 if gone == "not_found" else 200)


def test_deleting_the_original_id_of_an_edited_post_removes_the_whole_chain(twin, adapter,
                                                                            clock):
    original = adapter.publish(req(clock))
    adapter.correct(req(clock, "correct", "Corregido", target=original))
    adapter.retract(req(clock, "retract", target=original))
    assert twin.visible() == []


def test_replies_stay_when_their_post_is_deleted(twin, adapter, clock):
    original = adapter.publish(req(clock))
    reply = adapter.reply(req(clock, "reply", "Nota aclaratoria", target=original))
    adapter.retract(req(clock, "retract", target=original))
    assert [(p.post_id, p.text) for p in twin.visible()] == [(reply.post_id, "Nota aclaratoria")]


# --- lookup after a lost answer ------------------------------------------------------------------


def test_lookup_after_a_lost_answer_finds_the_post_once_and_a_retry_makes_no_second_post(
        http, twin, adapter, clock):
    http.plant(Fault("POST", r"/2/tweets$", "lose_answer"))
    request = req(clock)
    with pytest.raises(OutcomeUnknown):
        adapter.publish(request)
    [seen] = twin.visible()
    found = adapter.lookup(request)
    assert found is not None and found.post_id == seen.post_id
    with pytest.raises(Duplicate):  # a blind retry is refused by X's duplicate rule
        adapter.publish(request)
    assert [p.post_id for p in twin.visible()] == [seen.post_id]


def test_lookup_finds_a_post_whose_link_and_ampersand_x_rewrote(http, twin, adapter, clock):
    text = "Obras en la calle Mayor & plaza de la Villa: https://www.calp.es/obras-2027"
    http.plant(Fault("POST", r"/2/tweets$", "lose_answer"))
    request = req(clock, text=text)
    with pytest.raises(OutcomeUnknown):
        adapter.publish(request)
    timeline = adapter.client.get_users_tweets(twin.user_id(REF), user_auth=True).data
    assert "&amp;" in timeline[0].text and "https://t.co/" in timeline[0].text
    assert adapter.lookup(request).post_id == twin.visible()[0].post_id


def test_lookup_after_a_lost_edit_answer_finds_the_edit(http, twin, adapter, clock):
    original = adapter.publish(req(clock))
    http.plant(Fault("POST", r"/2/tweets$", "lose_answer"))
    edit = req(clock, "correct", "Corregido", target=original)
    with pytest.raises(OutcomeUnknown):
        adapter.correct(edit)
    found = adapter.lookup(edit)
    assert found.post_id == twin.visible()[0].post_id != original.post_id


def test_lookup_after_a_lost_reply_answer_finds_the_reply(http, twin, adapter, clock):
    original = adapter.publish(req(clock))
    http.plant(Fault("POST", r"/2/tweets$", "lose_answer"))
    reply = req(clock, "reply", "Nota", target=original)
    with pytest.raises(OutcomeUnknown):
        adapter.reply(reply)
    assert adapter.lookup(reply).post_id == twin.visible()[0].replies[0].post_id


def test_lookup_finds_nothing_when_the_lost_request_never_arrived(http, twin, adapter, clock):
    http.plant(Fault("POST", r"/2/tweets$", "refuse", status=503))
    request = req(clock)
    with pytest.raises(Exception):
        adapter.publish(request)
    assert adapter.lookup(request) is None and twin.visible() == []


def test_lookup_after_a_lost_answer_finds_a_post_with_an_image(http, clock, monkeypatch,
                                                               tmp_path):
    twin = _twin(http, clock)
    adapter = _adapter(twin, clock, monkeypatch)
    http.plant(Fault("POST", r"/2/tweets$", "lose_answer"))
    request = req(clock, images=(Image(png(tmp_path), "Cartel"),))
    with pytest.raises(OutcomeUnknown):
        adapter.publish(request)
    assert adapter.lookup(request).post_id == twin.visible()[0].post_id


# --- reads and billing ---------------------------------------------------------------------------


def test_the_timeline_lists_each_post_once_newest_first_at_its_latest_version(twin, adapter,
                                                                               clock):
    first = adapter.publish(req(clock, text="Primero"))
    clock.advance(60)
    second = adapter.publish(req(clock, text="Segundo"))
    clock.advance(60)
    edited = adapter.correct(req(clock, "correct", "Primero, corregido", target=first))
    user = twin.user_id(REF)
    page = adapter.client.get_users_tweets(user, max_results=5, user_auth=True)
    assert [t.text for t in page.data] == ["Primero, corregido", "Segundo"]
    assert page.data[0].edit_history_tweet_ids == [int(first.post_id), int(edited.post_id)]
    later = adapter.client.get_users_tweets(
        user, max_results=5, user_auth=True,
        start_time=clock.now() - dt.timedelta(seconds=30)).data
    assert [str(t.id) for t in later] == [edited.post_id]
    assert second.post_id not in [str(t.id) for t in later]
    with pytest.raises(tweepy.BadRequest):
        adapter.client.get_users_tweets(user, max_results=200, user_auth=True)


def test_requests_are_billed_by_kind_at_pay_per_use_prices(twin, adapter, clock):
    plain = adapter.publish(req(clock, text="Aviso sin enlace"))
    adapter.publish(req(clock, text="Más en https://www.calp.es/avisos"))
    adapter.lookup(req(clock, text="Aviso sin enlace"))
    adapter.lookup(req(clock, text="Aviso sin enlace"))  # same resources, same day: once
    adapter.retract(req(clock, "retract", target=plain))
    assert twin.billed() == {"post_create": 1, "post_create_url": 1, "user_read": 1,
                             "owned_reads": 2, "content_manage": 1}
    assert twin.cost() == pytest.approx(0.015 + 0.200 + 0.010 + 2 * 0.001 + 0.005)


def test_a_post_over_280_weighted_characters_is_refused_without_a_billed_request(
        twin, adapter, clock, http):
    # X bills every request: a post it would refuse must not cost one. A URL counts 23, an
    # accented letter 1, an emoji 2 (X's weighted counting, as the linter counts)
    text = "Inscripción abierta 😀 " + "a" * 240 + " https://www.calp.es/inscripcion"
    before = len(http.calls)
    with pytest.raises(Rejected, match="x-weighted"):
        adapter.publish(req(clock, text=text))
    with pytest.raises(Rejected, match="x-weighted"):
        adapter.reply(req(clock, action="reply", text=text,
                          target=PostRef("x", REF, "1", None, {})))
    assert http.calls[before:] == [] and twin.visible() == []
