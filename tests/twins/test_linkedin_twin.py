"""The real LinkedIn adapter (httpx) against the LinkedIn twin: what a member sees on the page.

Adapter defects are ``xfail(strict=True)``: the adapter is rewritten elsewhere."""

from __future__ import annotations

import dataclasses
import datetime as dt
from urllib.parse import quote

import httpx
import pytest

from adapters.factory import make_adapter
from adapters.accounts import AccountConfig
from adapters.base import (AdapterError, AuthError, Duplicate, Image, NotSupported,
                           OutcomeUnknown, PostRequest, RateLimited, Rejected, Unavailable,
                           VersionRetired)
from adapters.linkedin import little_text
from tests.twins.base import png_bytes, Fault
from tests.twins.linkedin import API, LinkedInTwin, parse_little

REF = "linkedin:ayto-calp"
OTHER = "linkedin:ayto-denia"
TEXT = "Ayudas (3.000 €) para el comercio_local #Calp: solicitudes hasta el 9 de abril."
UTC = dt.timezone.utc


def png(path, rgb=(200, 30, 30)) -> str:
    """A real 1x1 PNG file."""
    path.write_bytes(png_bytes(rgb=rgb))
    return str(path)


@pytest.fixture
def twin(http, clock):
    twin = LinkedInTwin(clock)
    twin.install(http)
    twin.add_account(REF)
    return twin


def adapter_for(twin, monkeypatch, ref=REF, **options):
    entry = twin.account_entry(ref, "comunicacion")
    entry["options"].update(options)
    for key in [k for k, v in options.items() if v is None]:
        del entry["options"][key]
    for name, value in twin.env().items():
        monkeypatch.setenv(name, value)
    return make_adapter(AccountConfig.from_mapping(ref, entry), "live")


@pytest.fixture
def adapter(twin, monkeypatch):
    return adapter_for(twin, monkeypatch)


def post_request(twin, action="publish", *, text=TEXT, target=None, images=(), ref=REF):
    return PostRequest(job_id=f"cal/fiestas/{ref}/es", account=ref, action=action, text=text,
                       language="es", idempotency_key=f"cal/fiestas/{ref}/es#1",
                       due=twin.clock.now(), images=tuple(images), target=target)


def raw_client(twin, ref=REF, **headers) -> httpx.Client:
    base = {"Authorization": f"Bearer {twin.token(ref)}", "LinkedIn-Version":
            twin.active_version(), "X-Restli-Protocol-Version": "2.0.0"}
    base.update(headers)
    return httpx.Client(headers={k: v for k, v in base.items() if v is not None}, timeout=5)


def enc(urn: str) -> str:
    return quote(urn, safe="")


# --- publishing ---------------------------------------------------------------------------------

def test_a_published_post_shows_its_text_exactly_as_written(twin, adapter):
    text = "Fiestas (del 1 al 9) en C/ Mayor_3 #Calp — info: @ayto [web] ~ *gratis* <sí> {ok} | a\\b"
    ref = adapter.publish(post_request(twin, text=text))
    [seen] = twin.visible(REF)
    assert seen.post_id == ref.post_id and ref.post_id.startswith("urn:li:share:")
    assert seen.text == text
    assert seen.edited is False and seen.media == () and seen.replies == ()
    assert ref.url == seen.url == f"https://www.linkedin.com/feed/update/{ref.post_id}/"
    assert twin.sent_commentary(ref.post_id) == little_text(text)


def test_a_text_that_was_not_escaped_loses_everything_after_the_first_reserved_character(
        twin, adapter, monkeypatch):
    monkeypatch.setattr("adapters.linkedin.little_text", lambda text: text)
    ref = adapter.publish(post_request(twin, text="Ayudas (3.000 €) para el comercio local"))
    [seen] = twin.visible()
    assert seen.post_id == ref.post_id
    assert seen.text == "Ayudas "


def test_a_hashtag_is_kept_as_a_template_and_read_as_a_hashtag():
    assert parse_little("Fiestas #Calp") == ("Fiestas #Calp", "Fiestas {hashtag|\\#|Calp}")
    assert parse_little("{hashtag|\\#|Calp} y @[Ayuntamiento](urn:li:organization:7)")[0] == \
        "#Calp y Ayuntamiento"
    assert parse_little("C# y más")[0] == "C"


def test_one_image_is_shown_with_its_alt_text(twin, adapter, tmp_path):
    path = png(tmp_path / "cartel.png")
    ref = adapter.publish(post_request(twin, images=[Image(path, "Cartel de las fiestas")]))
    [seen] = twin.visible()
    assert seen.post_id == ref.post_id and seen.text == TEXT
    [media] = seen.media
    assert media.alt == "Cartel de las fiestas" and media.source.startswith("urn:li:image:")
    assert twin.image_bytes(media.source) == (tmp_path / "cartel.png").read_bytes()
    assert "media" in twin.post_json(ref.post_id)["content"]


def test_several_images_make_one_multi_image_post_with_every_alt_text(twin, adapter, tmp_path):
    images = [Image(png(tmp_path / f"{n}.png", (n * 40, 10, 10)), f"Foto {n}") for n in (1, 2, 3)]
    adapter.publish(post_request(twin, images=images))
    [seen] = twin.visible()
    assert [m.alt for m in seen.media] == ["Foto 1", "Foto 2", "Foto 3"]
    assert len({m.source for m in seen.media}) == 3


def test_a_post_longer_than_3000_characters_is_refused_and_nothing_is_shown(twin, adapter):
    with pytest.raises(Rejected, match="3001 long"):  # before any request: LinkedIn would
        adapter.publish(post_request(twin, text="a" * 3001))
    assert twin.visible() == []


def test_the_same_text_twice_within_ten_minutes_is_a_duplicate_and_later_it_is_not(
        twin, adapter, clock):
    adapter.publish(post_request(twin))
    with pytest.raises(Duplicate):
        adapter.publish(post_request(twin))
    assert len(twin.visible()) == 1
    clock.advance(601)
    adapter.publish(post_request(twin))
    assert len(twin.visible()) == 2


def test_each_page_shows_only_its_own_posts(twin, monkeypatch):
    calp = adapter_for(twin, monkeypatch, REF)
    denia = adapter_for(twin, monkeypatch, OTHER)
    calp.publish(post_request(twin, text="Calp"))
    denia.publish(post_request(twin, text="Dénia", ref=OTHER))
    assert [p.text for p in twin.visible(REF)] == ["Calp"]
    assert [p.text for p in twin.visible(OTHER)] == ["Dénia"]
    assert [p.text for p in twin.visible()] == ["Calp", "Dénia"]


# --- corrections --------------------------------------------------------------------------------

def test_an_edit_shows_the_new_text_with_the_edited_mark_and_keeps_the_image(
        twin, adapter, tmp_path):
    ref = adapter.publish(post_request(twin, images=[Image(png(tmp_path / "a.png"), "Cartel")]))
    new = "Corrección: las solicitudes (todas) acaban el lunes 12 #Calp"
    edited = adapter.correct(post_request(twin, "correct", text=new, target=ref))
    [seen] = twin.visible()
    assert edited.post_id == ref.post_id == seen.post_id
    assert seen.text == new and seen.edited is True
    assert [m.alt for m in seen.media] == ["Cartel"]
    assert twin.history(ref.post_id) == [TEXT, new]


def test_an_edit_can_change_the_commentary_but_never_the_images(twin, adapter, tmp_path):
    ref = adapter.publish(post_request(twin, images=[Image(png(tmp_path / "a.png"), "Cartel")]))
    with raw_client(twin, **{"X-RestLi-Method": "PARTIAL_UPDATE"}) as client:
        refused = client.post(f"{API}/posts/{enc(ref.post_id)}", json={"patch": {"$set": {
            "content": {"media": {"id": "urn:li:image:other"}}}}})
        missing_method = httpx.post(f"{API}/posts/{enc(ref.post_id)}", headers={
            k: v for k, v in client.headers.items() if k.lower() != "x-restli-method"},
            json={"patch": {"$set": {"commentary": "x"}}})
    assert refused.status_code == 422 and "/content" in refused.json()["message"]
    assert missing_method.status_code == 400
    assert twin.visible()[0].text == TEXT and twin.visible()[0].edited is False


def test_a_comment_of_the_page_cannot_be_edited_so_the_engine_replies_instead(twin, adapter):
    ref = adapter.publish(post_request(twin))
    reply = adapter.reply(post_request(twin, "reply", text="Nota", target=ref))
    with pytest.raises(NotSupported):
        adapter.correct(post_request(twin, "correct", text="Otra", target=reply))
    assert twin.visible()[0].replies[0].text == "Nota"


def test_a_reply_appears_under_the_post_as_the_page(twin, adapter):
    ref = adapter.publish(post_request(twin))
    reply = adapter.reply(post_request(twin, "reply", text="Corrección: el plazo (real) es el 12.",
                                       target=ref))
    [seen] = twin.visible()
    assert [(r.post_id, r.text) for r in seen.replies] == [
        (reply.post_id, "Corrección: el plazo (real) es el 12.")]
    assert reply.extra["kind"] == "comment" and reply.extra["parent"] == ref.post_id
    assert seen.thread() == [TEXT, "Corrección: el plazo (real) es el 12."]


def test_a_retracted_post_is_gone_and_retracting_it_again_is_harmless(twin, adapter):
    keep = adapter.publish(post_request(twin, text="Se queda"))
    gone = adapter.publish(post_request(twin, text="Se va"))
    adapter.retract(post_request(twin, "retract", target=gone))
    assert [p.post_id for p in twin.visible()] == [keep.post_id]
    adapter.retract(post_request(twin, "retract", target=gone))
    with raw_client(twin) as client:
        again = client.delete(f"{API}/posts/{enc(gone.post_id)}")
        read = client.get(f"{API}/posts/{enc(gone.post_id)}")
    assert again.status_code == 204 and read.status_code == 404
    assert [p.post_id for p in twin.visible()] == [keep.post_id]


def test_retracting_the_pages_reply_removes_it_from_under_the_post(twin, adapter):
    ref = adapter.publish(post_request(twin))
    first = adapter.reply(post_request(twin, "reply", text="Primera", target=ref))
    adapter.reply(post_request(twin, "reply", text="Segunda", target=ref))
    adapter.retract(post_request(twin, "retract", target=first))
    assert [r.text for r in twin.visible()[0].replies] == ["Segunda"]


# --- unknown outcomes ---------------------------------------------------------------------------

def test_a_lost_answer_is_found_by_lookup_once_and_a_retried_publish_makes_no_second_post(
        twin, adapter, http):
    http.plant(Fault("POST", r"/rest/posts$", "lose_answer"))
    request = post_request(twin)
    with pytest.raises(OutcomeUnknown):
        adapter.publish(request)
    [seen] = twin.visible()
    found = adapter.lookup(request)
    assert found is not None and found.post_id == seen.post_id
    with pytest.raises(Duplicate):
        adapter.publish(request)
    assert [p.post_id for p in twin.visible()] == [seen.post_id]


def test_a_refused_publish_leaves_nothing_and_lookup_says_so(twin, adapter, http):
    http.plant(Fault("POST", r"/rest/posts$", "refuse", status=503))
    request = post_request(twin)
    with pytest.raises(Unavailable):
        adapter.publish(request)
    assert twin.visible() == [] and adapter.lookup(request) is None


def test_a_lost_answer_on_an_edit_is_recognised_by_reading_the_post_back(twin, adapter, http):
    ref = adapter.publish(post_request(twin))
    http.plant(Fault("POST", r"/rest/posts/urn%3Ali%3Ashare", "lose_answer"))
    request = post_request(twin, "correct", text="Nuevo plazo (lunes)", target=ref)
    with pytest.raises(OutcomeUnknown):
        adapter.correct(request)
    assert twin.visible()[0].text == "Nuevo plazo (lunes)"
    assert adapter.lookup(request).post_id == ref.post_id


def test_a_lost_answer_on_a_reply_is_found_by_lookup_exactly_once(twin, adapter, http):
    ref = adapter.publish(post_request(twin))
    http.plant(Fault("POST", r"/socialActions/[^/]+/comments$", "lose_answer"))
    request = post_request(twin, "reply", text="Corrección (12)", target=ref)
    with pytest.raises(OutcomeUnknown):
        adapter.reply(request)
    [reply] = twin.visible()[0].replies
    assert adapter.lookup(request).post_id == reply.post_id


# --- the versioned gateway ----------------------------------------------------------------------

def test_the_configured_version_is_active_now_and_every_call_carries_both_headers(
        twin, adapter, http):
    assert twin.version_active(twin.account_entry(REF, "x")["options"]["linkedin_version"])
    adapter.publish(post_request(twin))
    assert adapter.verify().ok
    assert http.calls and all(c.status in (200, 201) for c in http.calls)


def test_a_call_without_the_version_header_is_refused_as_version_missing(twin):
    with raw_client(twin, **{"LinkedIn-Version": None}) as client:
        answer = client.get(f"{API}/posts", params={"q": "author",
                                                    "author": twin.organization_urn(REF)})
    assert answer.status_code == 400 and answer.json()["code"] == "VERSION_MISSING"


def test_a_version_not_yet_released_and_a_retired_one_are_not_active(twin):
    for version, shown in (("209912", "20991201"), ("202411", "20241101")):
        with raw_client(twin, **{"LinkedIn-Version": version}) as client:
            answer = client.get(f"{API}/posts", params={"q": "author",
                                                        "author": twin.organization_urn(REF)})
        assert answer.status_code == 426
        assert answer.json() == {"status": 426, "code": "NONEXISTENT_VERSION",
                                 "message": f"Requested version {shown} is not active"}


def test_202411_was_active_until_its_published_sunset(twin):
    assert twin.version_active("202411", dt.datetime(2025, 11, 16, 23, 59, tzinfo=UTC))
    assert not twin.version_active("202411", dt.datetime(2025, 11, 17, 0, 0, tzinfo=UTC))
    assert twin.version_active("202611", dt.datetime(2027, 11, 14, tzinfo=UTC))
    assert not twin.version_active("202611", dt.datetime(2027, 11, 15, tzinfo=UTC))
    assert not twin.version_active("202612", dt.datetime(2026, 11, 30, tzinfo=UTC))


def test_a_version_retires_a_year_later_by_the_twins_clock_and_a_new_entry_works_again(
        twin, adapter, clock, monkeypatch, http):
    adapter.publish(post_request(twin, text="antes"))
    clock.advance(400 * 86400)
    with pytest.raises(AdapterError):
        adapter.publish(post_request(twin, text="después"))
    assert http.calls[-1].status == 426
    assert [p.text for p in twin.visible()] == ["antes"]
    adapter_for(twin, monkeypatch).publish(post_request(twin, text="después"))
    assert [p.text for p in twin.visible()] == ["antes", "después"]


def test_an_account_without_a_pinned_version_can_publish(twin, monkeypatch):
    adapter = adapter_for(twin, monkeypatch, linkedin_version=None)
    adapter.publish(post_request(twin))
    assert len(twin.visible()) == 1


def test_a_retired_version_is_reported_as_an_account_problem_not_as_refused_content(
        twin, monkeypatch):
    adapter = adapter_for(twin, monkeypatch, linkedin_version="202411")
    with pytest.raises(VersionRetired, match="set options.linkedin_version to 2026"):
        adapter.publish(post_request(twin))
    assert twin.visible() == []


def test_verify_says_a_retired_version_is_not_ok(twin, monkeypatch):
    adapter = adapter_for(twin, monkeypatch, linkedin_version="202411")
    status = adapter.verify()
    assert not status.ok and "202411" in status.detail


# --- credentials, permissions and limits --------------------------------------------------------

def test_a_revoked_token_is_an_auth_error_and_nothing_is_posted(twin, adapter):
    twin.revoke(REF)
    with pytest.raises(AuthError, match="revoked"):
        adapter.publish(post_request(twin))
    assert twin.visible() == []
    status = adapter.verify()
    assert not status.ok and "revoked" in status.detail


def test_a_token_without_the_write_permission_is_an_auth_error(twin, adapter):
    twin.drop_scope(REF, "w_organization_social")
    with pytest.raises(AuthError, match="permissions"):
        adapter.publish(post_request(twin))
    assert twin.visible() == []
    assert adapter.verify().ok  # reading the page's posts still works


def test_an_expired_token_makes_verify_not_ok(twin, adapter):
    twin.expire(REF)
    status = adapter.verify()
    assert not status.ok and "expired" in status.detail


def test_the_daily_limit_is_rate_limited_until_midnight_utc(twin, adapter, clock):
    twin.daily_post_limit = 1
    adapter.publish(post_request(twin, text="uno"))
    with pytest.raises(RateLimited):
        adapter.publish(post_request(twin, text="dos"))
    now = clock.now()
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), UTC)
    clock.advance((midnight - now).total_seconds() + 1)
    adapter.publish(post_request(twin, text="dos"))
    assert [p.text for p in twin.visible()] == ["uno", "dos"]


def test_another_pages_posts_cannot_be_touched(twin, monkeypatch):
    calp = adapter_for(twin, monkeypatch, REF)
    denia = adapter_for(twin, monkeypatch, OTHER)
    ref = calp.publish(post_request(twin))
    with pytest.raises(AuthError):
        denia.retract(post_request(twin, "retract", target=dataclasses.replace(
            ref, account=OTHER), ref=OTHER))
    assert [p.post_id for p in twin.visible(REF)] == [ref.post_id]


# --- images LinkedIn cannot process -------------------------------------------------------------

def test_an_image_linkedin_cannot_process_never_yields_an_invisible_published_post(
        twin, adapter, tmp_path):
    webp = tmp_path / "cartel.webp"
    webp.write_bytes(b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10"
                     b"\x11\x11\x88\x88\xfe\x07\x00")
    try:
        ref = adapter.publish(post_request(twin, images=[Image(str(webp), "Cartel")]))
    except Rejected:
        return  # an honest refusal: the engine alerts and nobody believes it was published
    assert [p.post_id for p in twin.visible()] == [ref.post_id]
