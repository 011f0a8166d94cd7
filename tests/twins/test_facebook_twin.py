"""The real FacebookAdapter (through facebook-sdk's GraphAPI) against the Facebook Pages twin:
what citizens see on the page after each operation, and how the Graph API's refusals reach
the adapter. Adapter defects are ``xfail(strict=True)`` with the reason."""

from __future__ import annotations

import dataclasses
import datetime as dt

import facebook
import pytest

from adapters.factory import make_adapter
from adapters.accounts import AccountConfig
from adapters.base import (AuthError, Duplicate, Image, OutcomeUnknown, PostRef, PostRequest,
                           RateLimited, Rejected, Unavailable)
from adapters.facebook import FacebookAdapter
from tests.twins.base import png_bytes, Fault
from tests.twins.facebook import FacebookTwin
from tests.twins.graph import VERSIONS, transient_payload

REF = "facebook:ayto-calp"


def png(path, colour=(200, 30, 30)) -> str:
    """A real 1x1 PNG file."""
    path.write_bytes(png_bytes(rgb=colour))
    return str(path)


@pytest.fixture
def twin(http, clock):
    twin = FacebookTwin(clock)
    twin.install(http)
    twin.add_account(REF)
    return twin


def build(twin, monkeypatch, ref=REF, **options):
    for name, value in twin.env().items():
        monkeypatch.setenv(name, value)
    entry = twin.account_entry(ref, "comunicacion")
    entry["options"] = {**entry["options"], **options}
    return make_adapter(AccountConfig.from_mapping(ref, entry), "live")


@pytest.fixture
def adapter(twin, monkeypatch) -> FacebookAdapter:
    return build(twin, monkeypatch)


def request(clock, action="publish", text="El plazo termina el viernes 9 de abril.", *,
            target=None, images=(), link=None) -> PostRequest:
    return PostRequest(job_id=f"cal/entry/{REF}/es", account=REF, action=action, text=text,
                       language="es", idempotency_key="cal/entry/es#1", due=clock.now(),
                       link=link, images=tuple(images), target=target)


# --- publishing -------------------------------------------------------------------------------

def test_a_text_post_with_a_link_is_what_citizens_see_on_the_page(adapter, twin, clock):
    text = "Fiestas de Calp: programa en https://www.calp.es/fiestas"
    ref = adapter.publish(request(clock, text=text, link="https://www.calp.es/fiestas"))
    [seen] = twin.visible(REF)
    assert seen.post_id == ref.post_id and seen.post_id.startswith(twin.page_id(REF) + "_")
    assert seen.text == text and seen.media == () and not seen.edited
    assert seen.language is None  # page posts carry no language through the API


def test_one_image_goes_out_as_a_photo_post_with_its_alt_text(adapter, twin, clock, tmp_path):
    image = Image(png(tmp_path / "cartel.png"), "Cartel de las fiestas: 9 de abril, 20 h")
    ref = adapter.publish(request(clock, images=[image]))
    [seen] = twin.visible(REF)
    assert seen.post_id == ref.post_id
    assert [(m.alt, m.source) for m in seen.media] == [
        ("Cartel de las fiestas: 9 de abril, 20 h", "cartel.png")]
    assert seen.text == request(clock).text


def test_several_images_become_one_post_with_every_photo_and_its_alt_text(adapter, twin, clock,
                                                                           tmp_path):
    images = [Image("https://www.calp.es/img/cartel.jpg", "Cartel"),
              Image(png(tmp_path / "plano.png", (0, 90, 200)), "Plano del recorrido")]
    ref = adapter.publish(request(clock, images=images, link="https://www.calp.es/fiestas"))
    [seen] = twin.visible(REF)
    assert seen.post_id == ref.post_id
    assert [(m.alt, m.source) for m in seen.media] == [
        ("Cartel", "https://www.calp.es/img/cartel.jpg"), ("Plano del recorrido", "plano.png")]
    assert twin.unpublished_photos(REF) == []  # every upload ended up in the post


def test_a_photo_of_10_mb_or_more_is_rejected_and_nothing_is_posted(adapter, twin, clock,
                                                                   tmp_path):
    big = tmp_path / "enorme.png"
    big.write_bytes(b"\x89PNG" + b"\0" * (10 * 1024 * 1024))
    with pytest.raises(Rejected):
        adapter.publish(request(clock, images=[Image(str(big), "Plano")]))
    assert twin.visible(REF) == []


# --- corrections, replies, retractions --------------------------------------------------------

def test_an_edit_changes_the_text_in_place_keeps_the_photos_and_shows_the_edited_mark(
        adapter, twin, clock, tmp_path):
    image = Image(png(tmp_path / "cartel.png"), "Cartel")
    ref = adapter.publish(request(clock, images=[image]))
    clock.advance(3 * 86400)  # page posts have no edit window
    edited = adapter.correct(request(clock, "correct", "Corrección: el plazo termina el lunes.",
                                     target=ref))
    [seen] = twin.visible(REF)
    assert edited.post_id == ref.post_id == seen.post_id
    assert seen.text == "Corrección: el plazo termina el lunes." and seen.edited
    assert [m.alt for m in seen.media] == ["Cartel"]
    assert twin.history(ref.post_id) == [request(clock).text,
                                         "Corrección: el plazo termina el lunes."]


def test_a_reply_appears_under_the_post_as_the_pages_comment(adapter, twin, clock):
    ref = adapter.publish(request(clock))
    twin.comment_as_citizen(ref.post_id, "¿Y el sábado?")
    reply = adapter.reply(request(clock, "reply", "Actualización: también el sábado.",
                                  target=ref))
    [seen] = twin.visible(REF)
    assert [(r.post_id, r.text) for r in seen.replies] == [
        (reply.post_id, "Actualización: también el sábado.")]
    assert seen.thread() == [request(clock).text, "Actualización: también el sábado."]


def test_a_reply_to_the_pages_own_comment_nests_under_it(adapter, twin, clock):
    ref = adapter.publish(request(clock))
    first = adapter.reply(request(clock, "reply", "Primera nota.", target=ref))
    adapter.reply(request(clock, "reply", "Segunda nota.", target=first))
    [seen] = twin.visible(REF)
    assert seen.thread() == [request(clock).text, "Primera nota.", "Segunda nota."]


def test_a_retracted_post_is_gone(adapter, twin, clock):
    keep = adapter.publish(request(clock, text="Se queda"))
    gone = adapter.publish(request(clock, text="Se va"))
    assert adapter.retract(request(clock, "retract", target=gone)) is None
    assert [p.post_id for p in twin.visible(REF)] == [keep.post_id]


def test_a_retracted_reply_is_gone_and_the_post_stays(adapter, twin, clock):
    ref = adapter.publish(request(clock))
    reply = adapter.reply(request(clock, "reply", "Nota equivocada", target=ref))
    adapter.retract(request(clock, "retract", target=reply))
    [seen] = twin.visible(REF)
    assert seen.post_id == ref.post_id and seen.replies == ()


def test_graph_answers_a_deleted_post_with_code_100_subcode_33(adapter, twin, clock):
    ref = adapter.publish(request(clock))
    adapter.retract(request(clock, "retract", target=ref))
    with pytest.raises(facebook.GraphAPIError) as info:
        adapter.graph.request(f"v21.0/{ref.post_id}", method="DELETE")
    error = info.value.result["error"]
    assert (error["code"], error["error_subcode"], error["type"]) == (
        100, 33, "GraphMethodException")
    assert error["message"].startswith(f"Unsupported delete request. Object with ID "
                                       f"'{ref.post_id}' does not exist")


def test_retracting_a_post_that_is_already_gone_counts_as_done(adapter, twin, http, clock):
    ref = adapter.publish(request(clock))
    http.plant(Fault("DELETE", ref.post_id, "lose_answer"))
    with pytest.raises(OutcomeUnknown):
        adapter.retract(request(clock, "retract", target=ref))
    assert twin.visible(REF) == []  # the deletion happened; only the answer was lost
    assert adapter.retract(request(clock, "retract", target=ref)) is None


def test_editing_a_post_that_does_not_exist_is_rejected(adapter, twin, clock):
    ghost = PostRef("facebook", REF, f"{twin.page_id(REF)}_999", None, {"edit_count": "0"})
    with pytest.raises(Rejected, match="does not exist"):
        adapter.correct(request(clock, "correct", "Nuevo texto", target=ghost))
    assert twin.visible(REF) == []


def test_a_reply_under_a_deleted_post_is_rejected_and_appears_nowhere(adapter, twin, clock):
    ref = adapter.publish(request(clock))
    adapter.retract(request(clock, "retract", target=ref))
    with pytest.raises(Rejected):
        adapter.reply(request(clock, "reply", "Nota", target=ref))
    assert twin.visible(REF) == []


# --- lost answers and lookup ------------------------------------------------------------------

@pytest.mark.parametrize("images", [0, 1, 2], ids=["text", "one-photo", "two-photos"])
def test_a_lost_publish_answer_is_found_by_lookup_once_and_no_second_post_appears(
        adapter, twin, http, clock, tmp_path, images):
    pictures = [Image(png(tmp_path / f"f{i}.png"), f"Foto {i}") for i in range(images)]
    req = request(clock, images=pictures)
    http.plant(Fault("POST", r"/feed$" if images != 1 else r"/photos$", "lose_answer"))
    with pytest.raises(OutcomeUnknown):
        adapter.publish(req)
    found = adapter.lookup(req)
    [seen] = twin.visible(REF)
    assert found is not None and found.post_id == seen.post_id
    # what the engine does after an unknown outcome: publish only when lookup finds nothing
    assert (adapter.lookup(req) or adapter.publish(req)).post_id == seen.post_id
    assert len(twin.visible(REF)) == 1 and len(seen.media) == images


def test_lookup_finds_nothing_when_the_publish_never_arrived_and_the_retry_posts_once(
        adapter, twin, http, clock):
    req = request(clock)
    http.plant(Fault("POST", r"/feed$", "refuse", status=503, payload=transient_payload()))
    with pytest.raises(Unavailable):
        adapter.publish(req)
    assert adapter.lookup(req) is None
    adapter.lookup(req) or adapter.publish(req)
    assert [p.text for p in twin.visible(REF)] == [req.text]


def test_lookup_ignores_an_identical_post_older_than_the_due_time(adapter, twin, clock):
    old = adapter.publish(request(clock))
    clock.advance(7 * 86400)
    assert adapter.lookup(request(clock)) is None
    assert [p.post_id for p in twin.visible(REF)] == [old.post_id]


def test_a_lost_reply_answer_is_found_by_lookup(adapter, twin, http, clock):
    ref = adapter.publish(request(clock))
    req = request(clock, "reply", "Corrección: el lunes.", target=ref)
    http.plant(Fault("POST", r"/comments$", "lose_answer"))
    with pytest.raises(OutcomeUnknown):
        adapter.reply(req)
    found = adapter.lookup(req)
    [seen] = twin.visible(REF)
    assert [r.post_id for r in seen.replies] == [found.post_id]


def test_a_lost_edit_answer_is_found_by_lookup_of_the_correction(adapter, twin, http, clock):
    ref = adapter.publish(request(clock))
    req = request(clock, "correct", "Corrección: el lunes.", target=ref)
    http.plant(Fault("POST", ref.post_id + "$", "lose_answer"))
    with pytest.raises(OutcomeUnknown):
        adapter.correct(req)
    assert adapter.lookup(req).post_id == ref.post_id
    assert twin.visible(REF)[0].text == "Corrección: el lunes."


def test_a_refusal_whose_error_is_not_a_graph_object_is_unavailable(adapter, twin, http, clock):
    http.plant(Fault("POST", r"/feed$", "refuse", status=503))
    with pytest.raises(Unavailable):
        adapter.publish(request(clock))


def test_lookup_of_a_reply_ignores_a_citizens_comment_with_the_same_words(adapter, twin, clock):
    ref = adapter.publish(request(clock))
    twin.comment_as_citizen(ref.post_id, "Corrección: el lunes.")
    req = request(clock, "reply", "Corrección: el lunes.", target=ref)
    assert adapter.lookup(req) is None


# --- refusals ---------------------------------------------------------------------------------

def test_the_duplicate_knob_refuses_the_same_message_again_as_duplicate(http, clock,
                                                                       monkeypatch):
    twin = FacebookTwin(clock, duplicate_window_s=3600)
    twin.install(http)
    twin.add_account(REF)
    adapter = build(twin, monkeypatch)
    adapter.publish(request(clock))
    with pytest.raises(Duplicate):
        adapter.publish(request(clock))
    assert len(twin.visible(REF)) == 1


def test_an_expired_token_is_an_auth_error_and_verify_says_not_ok(adapter, twin, clock):
    assert adapter.verify().ok
    twin.expire_token(REF)
    with pytest.raises(AuthError):
        adapter.publish(request(clock))
    status = adapter.verify()
    assert not status.ok and "expired" in status.detail
    assert twin.visible(REF) == []


def test_an_unknown_token_is_an_auth_error(twin, monkeypatch, clock):
    for name in twin.env():
        monkeypatch.setenv(name, "EAAnotAtoken")
    adapter = make_adapter(AccountConfig.from_mapping(
        REF, twin.account_entry(REF, "comunicacion")), "live")
    with pytest.raises(AuthError, match="Cannot parse access token"):
        adapter.publish(request(clock))


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001])
def test_each_throttling_code_is_a_rate_limit_with_the_time_to_regain_access(adapter, twin,
                                                                             clock, code):
    twin.throttle(REF, code, minutes=15)
    with pytest.raises(RateLimited) as info:
        adapter.publish(request(clock))
    assert info.value.retry_after_s == 15 * 60
    assert twin.visible(REF) == []
    adapter.publish(request(clock))  # the throttle was for one call
    assert len(twin.visible(REF)) == 1


# --- Graph versions ---------------------------------------------------------------------------

def test_a_graph_version_graph_never_released_is_refused_and_nothing_is_posted(twin, clock,
                                                                              monkeypatch):
    adapter = build(twin, monkeypatch, graph_version="v99.0")
    with pytest.raises(Rejected, match="Unknown path components"):
        adapter.publish(request(clock))
    assert twin.visible(REF) == []


def test_the_configured_version_serves_while_it_is_available(adapter, clock):
    adapter.verify()
    assert adapter.client._last.response.headers["facebook-api-version"] == "v21.0"


def test_an_expired_graph_version_is_served_by_the_oldest_available_one(adapter, twin, clock):
    until = next(until for name, _, until in VERSIONS if name == "v21.0")
    moment = dt.datetime.combine(until, dt.time(12), dt.timezone.utc)
    clock.advance(max(0.0, (moment - clock.now()).total_seconds()))
    ref = adapter.publish(request(clock))
    served = adapter.client._last.response.headers["facebook-api-version"]
    assert served != "v21.0" and served == next(
        name for name, released, end in VERSIONS
        if released <= moment.date() and (end is None or moment.date() < end))
    assert [p.post_id for p in twin.visible(REF)] == [ref.post_id]


def test_two_pages_see_only_their_own_posts(http, clock, monkeypatch):
    twin = FacebookTwin(clock)
    twin.install(http)
    twin.add_account(REF)
    twin.add_account("facebook:ayto-benissa")
    calp = build(twin, monkeypatch)
    benissa = build(twin, monkeypatch, ref="facebook:ayto-benissa")
    mine = calp.publish(request(clock, text="Calp"))
    benissa.publish(dataclasses.replace(request(clock, text="Benissa"),
                                        account="facebook:ayto-benissa"))
    assert [p.post_id for p in twin.visible(REF)] == [mine.post_id]
    assert len(twin.visible()) == 2
    with pytest.raises(Rejected, match="does not exist"):  # another page's token
        benissa.correct(request(clock, "correct", "Intruso", target=mine))


def test_posts_from_several_worker_threads_each_appear_once(adapter, twin, clock):
    from concurrent.futures import ThreadPoolExecutor

    texts = [f"Aviso {i}" for i in range(12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        refs = list(pool.map(lambda t: adapter.publish(request(clock, text=t)), texts))
    seen = twin.visible(REF)
    assert sorted(p.text for p in seen) == sorted(texts)
    assert len({r.post_id for r in refs}) == 12 == len(seen)
