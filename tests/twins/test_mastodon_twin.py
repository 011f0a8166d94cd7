"""The Mastodon adapter, through the real Mastodon.py, against the Mastodon twin: what citizens
see on the account after each operation, and the server's rules (tests/twins/notes/mastodon.md).
"""

from __future__ import annotations

import hashlib

import pytest

from adapters.factory import make_adapter
from adapters.accounts import AccountConfig
from adapters.base import (AuthError, Image, OutcomeUnknown, PostRequest, RateLimited, Rejected,
                           Unavailable)
from adapters.mastodon import MastodonAdapter
from mastodon.errors import MastodonAPIError, MastodonNotFoundError
from tests.twins.base import png_bytes, Fault
from tests.twins.mastodon import MastodonTwin, countable_length

REF = "mastodon:ayto-calp"
TEXT = "El pleno municipal se celebra el jueves 15 de abril a las 19:00 en el salón de plenos."
CORRECTED = ("El pleno municipal se celebra el viernes 16 de abril a las 19:00 en el salón de "
             "plenos.")


def png(path, rgb=(200, 30, 30)):
    """A real 1x1 PNG, and the name the twin gives it once uploaded."""
    data = png_bytes(rgb=rgb)
    path.write_bytes(data)
    return str(path), "sha256:" + hashlib.sha256(data).hexdigest()[:16]


@pytest.fixture
def twin(clock, http, monkeypatch):
    twin = MastodonTwin(clock)
    twin.add_account(REF)
    twin.install(http)
    for name, value in twin.env().items():
        monkeypatch.setenv(name, value)
    return twin


def build(twin, tmp_path, ref=REF, **options):
    entry = twin.account_entry(ref, "comunicacion")
    entry["options"] = {**entry["options"], **options}
    return make_adapter(AccountConfig.from_mapping(ref, entry), "live", home=tmp_path)


@pytest.fixture
def adapter(twin, tmp_path) -> MastodonAdapter:
    return build(twin, tmp_path)


def req(clock, action="publish", text=TEXT, *, target=None, images=(), key="job-1#a",
        language="es-ES", due=None) -> PostRequest:
    return PostRequest(job_id="cal/pleno/" + REF, account=REF, action=action, text=text,
                       language=language, idempotency_key=key, due=due or clock.now(),
                       images=tuple(images), target=target)


def pictures(tmp_path, count=2):
    made = []
    for index in range(count):
        path, digest = png(tmp_path / f"cartel{index}.png", (10 * index, 100, 200))
        made.append((Image(path, f"Cartel {index + 1} del pleno"), digest))
    return made


def published_with_images_and_staff_warning(twin, adapter, clock, tmp_path):
    images = pictures(tmp_path)
    ref = adapter.publish(req(clock, images=[image for image, _ in images]))
    # a person at the town hall adds a content warning in Mastodon's web interface
    twin.edit_by_hand(ref.post_id, spoiler_text="Cambio de fecha", sensitive=True)
    return ref, images


# --- the defect this branch fixes ---------------------------------------------------------------


def test_a_correction_keeps_the_images_and_the_content_warning_staff_added(
        twin, adapter, clock, tmp_path):
    ref, images = published_with_images_and_staff_warning(twin, adapter, clock, tmp_path)
    clock.advance(600)

    adapter.correct(req(clock, "correct", CORRECTED, target=ref, key="job-1#c"))

    [seen] = twin.visible(REF)
    assert seen.text == CORRECTED and seen.edited
    assert [(m.alt, m.source) for m in seen.media] == [
        ("Cartel 1 del pleno", images[0][1]), ("Cartel 2 del pleno", images[1][1])]
    assert seen.content_warning == "Cambio de fecha" and seen.sensitive
    assert seen.language == "es"


def test_the_server_drops_images_and_warning_from_an_edit_that_sends_only_the_text(
        twin, adapter, clock, tmp_path):
    """The platform rule behind the fix: PUT with only ``status`` (what correct used to send)."""
    ref, _ = published_with_images_and_staff_warning(twin, adapter, clock, tmp_path)

    adapter._client().status_update(ref.post_id, CORRECTED)

    [seen] = twin.visible(REF)
    assert seen.text == CORRECTED
    assert seen.media == () and seen.content_warning == "" and not seen.sensitive
    assert seen.language == "es"  # an absent language keeps the status's own


def test_a_correction_sends_the_current_state_read_just_before_it(
        twin, adapter, clock, tmp_path, http):
    ref, _ = published_with_images_and_staff_warning(twin, adapter, clock, tmp_path)
    before = len(http.calls)

    adapter.correct(req(clock, "correct", CORRECTED, target=ref, key="job-1#c"))

    assert [(c.method, c.url.rsplit("/", 1)[-1]) for c in http.calls[before:]] == [
        ("GET", ref.post_id), ("PUT", ref.post_id)]


# --- publishing ---------------------------------------------------------------------------------


def test_a_published_status_shows_its_text_and_language_to_citizens(twin, adapter, clock):
    ref = adapter.publish(req(clock, language="ca-valencia"))

    [seen] = twin.visible(REF)
    assert (seen.post_id, seen.text, seen.language) == (ref.post_id, TEXT, "ca")
    assert not seen.edited and seen.media == () and seen.content_warning == ""
    assert ref.url == seen.url == f"https://social.example.org/@ayto_calp/{ref.post_id}"
    assert ref.extra["published_at"]


def test_images_are_uploaded_first_and_shown_with_their_alt_text_in_order(
        twin, adapter, clock, tmp_path, http):
    images = pictures(tmp_path, 3)

    adapter.publish(req(clock, images=[image for image, _ in images]))

    [seen] = twin.visible(REF)
    assert [(m.alt, m.source) for m in seen.media] == [
        (image.alt, digest) for image, digest in images]
    paths = [(c.method, c.url.split("social.example.org")[1]) for c in http.calls]
    # Mastodon.py reads the version once to choose /api/v2/media, then uploads, then posts
    assert paths[:2] == [("GET", "/api/v1/instance/"), ("GET", "/api/v2/instance/")]
    assert paths[2:] == [("POST", "/api/v2/media")] * 3 + [("POST", "/api/v1/statuses")]


def test_more_than_four_images_are_refused_before_anything_is_uploaded(
        twin, adapter, clock, tmp_path, http):
    with pytest.raises(Rejected):
        adapter.publish(req(clock, images=[image for image, _ in pictures(tmp_path, 5)]))
    assert http.calls == [] and twin.visible() == []


def test_the_server_refuses_a_fifth_attachment_and_media_already_attached(
        twin, adapter, clock, tmp_path):
    api = adapter._client()
    ids = [api.media_post(path, description="x")["id"]
           for path, _ in (png(tmp_path / f"m{i}.png", (i, i, i)) for i in range(5))]
    with pytest.raises(MastodonAPIError) as too_many:
        api.status_post(TEXT, media_ids=ids)
    assert too_many.value.args[1] == 422
    assert too_many.value.args[3] == "Cannot attach more than 4 files"
    api.status_post(TEXT, media_ids=ids[:1])
    with pytest.raises(MastodonAPIError) as attached:
        api.status_post("Otro aviso.", media_ids=ids[:1])
    assert attached.value.args[3] == f"Media {ids[0]} not found or already attached to another post"
    assert len(twin.visible()) == 1


def test_a_text_over_the_instance_limit_is_rejected_before_it_is_posted(
        twin, adapter, clock, http):
    with pytest.raises(Rejected, match="501 long"):
        adapter.publish(req(clock, text="a" * 501))
    # only the instance's limit was asked, nothing posted
    assert {c.method for c in http.calls} == {"GET"} and twin.visible() == []


def test_the_instance_limit_applies_whatever_the_configuration_says(clock, http, monkeypatch,
                                                                    tmp_path):
    twin = MastodonTwin(clock, max_characters=1000)
    twin.install(http)
    adapter = build(twin, tmp_path, text_limit=500)  # what the linter checks
    for name, value in twin.env().items():
        monkeypatch.setenv(name, value)
    adapter.publish(req(clock, text="a" * 700))
    with pytest.raises(Rejected, match="1001 long"):
        adapter.publish(req(clock, text="b" * 1001))
    assert [s.text for s in twin.visible()] == ["a" * 700]
    assert "set options.text_limit: 1000" in adapter.verify().detail


def test_links_count_23_and_remote_mentions_count_their_local_part(twin, adapter, clock):
    link = "https://www.calp.es/es/actualidad/noticias/" + "pleno-extraordinario-" * 5
    text = "a" * 440 + " " + link + " @vecinos@comunidad.example.org"
    assert len(text) > 500 and countable_length("", text) == 440 + 1 + 23 + 1 + 8

    adapter.publish(req(clock, text=text))

    [seen] = twin.visible(REF)
    assert seen.text == text


def test_the_server_refuses_a_correction_whose_text_and_kept_warning_exceed_the_limit(
        twin, adapter, clock, tmp_path):
    """The content warning counts towards the limit (StatusLengthValidator joins both)."""
    ref, _ = published_with_images_and_staff_warning(twin, adapter, clock, tmp_path)
    longer = "b" * 490  # fits alone, not with the 15 characters of the warning

    with pytest.raises(Rejected, match="character limit of 500 exceeded"):
        adapter.correct(req(clock, "correct", longer, target=ref, key="job-1#c"))

    [seen] = twin.visible(REF)
    assert seen.text == TEXT and len(seen.media) == 2


def test_a_private_status_is_not_seen_by_citizens_but_lookup_finds_it(
        twin, clock, tmp_path):
    adapter = build(twin, tmp_path, visibility="private")
    ref = adapter.publish(req(clock))

    assert twin.visible(REF) == []
    assert adapter.lookup(req(clock)).post_id == ref.post_id


# --- edits ----------------------------------------------------------------------------------------


def test_the_history_lists_the_original_the_staff_edit_and_the_correction(
        twin, adapter, clock, tmp_path):
    ref, _ = published_with_images_and_staff_warning(twin, adapter, clock, tmp_path)
    adapter.correct(req(clock, "correct", CORRECTED, target=ref, key="job-1#c"))

    history = adapter._client().status_history(ref.post_id)

    assert [h["spoiler_text"] for h in history] == ["", "Cambio de fecha", "Cambio de fecha"]
    assert [h["sensitive"] for h in history] == [False, True, True]
    assert [len(h["media_attachments"]) for h in history] == [2, 2, 2]
    assert "jueves" in history[1]["content"] and "viernes" in history[2]["content"]


def test_a_correction_that_changes_nothing_adds_no_history_entry(twin, adapter, clock):
    ref = adapter.publish(req(clock))

    again = adapter.correct(req(clock, "correct", TEXT, target=ref, key="job-1#c"))

    [seen] = twin.visible(REF)
    assert not seen.edited and "edited_at" not in again.extra
    assert len(twin.history(ref.post_id)) == 1  # the original, built on the fly
    adapter.correct(req(clock, "correct", CORRECTED, target=ref, key="job-1#d"))
    assert len(twin.history(ref.post_id)) == 2 and twin.visible(REF)[0].edited


def test_an_edit_without_a_language_keeps_the_status_language(twin, adapter, clock):
    ref = adapter.publish(req(clock, language="eu"))

    adapter.correct(req(clock, "correct", CORRECTED, target=ref, key="job-1#c"))

    assert twin.visible(REF)[0].language == "eu"


def test_media_attributes_change_an_attachment_description_on_edit(
        twin, adapter, clock, tmp_path):
    ref = adapter.publish(req(clock, images=[image for image, _ in pictures(tmp_path, 1)]))
    api = adapter._client()
    [media] = api.status(ref.post_id)["media_attachments"]

    api.status_update(ref.post_id, TEXT, media_attributes=[
        api.generate_media_edit_attributes(media["id"], description="Cartel corregido")])

    [seen] = twin.visible(REF)
    assert [m.alt for m in seen.media] == ["Cartel corregido"] and seen.edited
    assert [m for _, m in twin.history(ref.post_id)[0]["media"]] == ["Cartel 1 del pleno"]


def test_a_correction_of_a_deleted_status_is_rejected_without_writing(
        twin, adapter, clock, http):
    ref = adapter.publish(req(clock))
    adapter.retract(req(clock, "retract", target=ref, key="job-1#r"))

    with pytest.raises(Rejected):
        adapter.correct(req(clock, "correct", CORRECTED, target=ref, key="job-1#c"))
    assert http.calls[-1].method == "GET" and http.calls[-1].status == 404


# --- replies and retractions ----------------------------------------------------------------------


def test_a_reply_appears_under_its_parent(twin, adapter, clock):
    parent = adapter.publish(req(clock))
    clock.advance(60)

    reply = adapter.reply(req(clock, "reply", "Corrección: es el viernes.", target=parent,
                              key="job-1#r"))

    [seen] = twin.visible(REF)
    assert seen.post_id == parent.post_id
    assert [r.post_id for r in seen.replies] == [reply.post_id]
    assert seen.thread() == [TEXT, "Corrección: es el viernes."]


def test_a_reply_to_a_deleted_status_is_rejected(twin, adapter, clock):
    parent = adapter.publish(req(clock))
    adapter.retract(req(clock, "retract", target=parent, key="job-1#x"))

    with pytest.raises(Rejected, match="does not appear to exist"):
        adapter.reply(req(clock, "reply", "Corrección.", target=parent, key="job-1#r"))
    assert twin.visible() == []


def test_a_retracted_status_is_gone_and_retracting_again_succeeds(twin, adapter, clock):
    keep = adapter.publish(req(clock, text="Otro aviso.", key="job-0#a"))
    ref = adapter.publish(req(clock))

    adapter.retract(req(clock, "retract", target=ref, key="job-1#x"))
    adapter.retract(req(clock, "retract", target=ref, key="job-1#x"))

    assert [s.post_id for s in twin.visible(REF)] == [keep.post_id]
    assert adapter.lookup(req(clock, "retract", target=ref, key="job-1#x")) == ref


def test_deleting_answers_the_status_with_its_source_text_then_404(
        twin, adapter, clock, tmp_path):
    ref = adapter.publish(req(clock, images=[image for image, _ in pictures(tmp_path, 1)]))
    api = adapter._client()

    deleted = api.status_delete(ref.post_id)

    # source_requested: the source text instead of the HTML (Mastodon.py fills in None)
    assert deleted["text"] == TEXT and deleted.get("content") is None
    assert [m["description"] for m in deleted["media_attachments"]] == ["Cartel 1 del pleno"]
    with pytest.raises(MastodonNotFoundError):
        api.status(ref.post_id)


# --- unknown outcomes and retries ---------------------------------------------------------------


def test_lookup_after_a_lost_publish_answer_finds_the_status_once_and_a_retry_adds_none(
        twin, adapter, clock, http):
    http.plant(Fault("POST", r"/api/v1/statuses$", "lose_answer"))
    with pytest.raises(OutcomeUnknown):
        adapter.publish(req(clock))

    found = adapter.lookup(req(clock))
    retried = adapter.publish(req(clock))  # same idempotency key: the same status comes back

    [seen] = twin.visible(REF)
    assert found.post_id == retried.post_id == seen.post_id


def test_a_retry_after_a_503_makes_one_post(twin, adapter, clock, http):
    http.plant(Fault("POST", r"/api/v1/statuses$", "refuse", status=503))
    with pytest.raises(Unavailable):
        adapter.publish(req(clock))

    adapter.publish(req(clock))

    assert len(twin.visible(REF)) == 1


def test_an_idempotency_key_is_forgotten_after_an_hour(twin, adapter, clock):
    """After the hour only lookup can protect a retry: the server posts again."""
    first = adapter.publish(req(clock))
    clock.advance(30 * 60)
    assert adapter.publish(req(clock)).post_id == first.post_id
    clock.advance(31 * 60)

    adapter.publish(req(clock))

    assert len(twin.visible(REF)) == 2


def test_a_repeated_key_of_a_deleted_status_is_not_found(twin, adapter, clock):
    ref = adapter.publish(req(clock))
    adapter.retract(req(clock, "retract", target=ref, key="job-1#x"))

    with pytest.raises(Rejected, match="404"):
        adapter.publish(req(clock))
    assert twin.visible() == []


def test_a_lost_answer_to_a_correction_is_found_by_lookup_with_everything_kept(
        twin, adapter, clock, tmp_path, http):
    ref, _ = published_with_images_and_staff_warning(twin, adapter, clock, tmp_path)
    http.plant(Fault("PUT", r"/api/v1/statuses/\d+$", "lose_answer"))
    correction = req(clock, "correct", CORRECTED, target=ref, key="job-1#c")

    with pytest.raises(OutcomeUnknown):
        adapter.correct(correction)
    found = adapter.lookup(correction)

    assert found is not None and found.post_id == ref.post_id
    [seen] = twin.visible(REF)
    assert seen.text == CORRECTED and len(seen.media) == 2
    assert seen.content_warning == "Cambio de fecha" and seen.sensitive


def test_a_lost_answer_to_the_read_before_a_correction_changes_nothing(
        twin, adapter, clock, http):
    ref = adapter.publish(req(clock))
    http.plant(Fault("GET", r"/api/v1/statuses/\d+$", "lose_answer"))
    correction = req(clock, "correct", CORRECTED, target=ref, key="job-1#c")

    with pytest.raises(Unavailable):  # a read: safe to retry, nothing was written
        adapter.correct(correction)
    assert twin.visible(REF)[0].text == TEXT and adapter.lookup(correction) is None

    adapter.correct(correction)
    assert twin.visible(REF)[0].text == CORRECTED


# --- accounts, limits, credentials --------------------------------------------------------------


def test_the_account_statuses_are_newest_first_and_limited(twin, adapter, clock):
    ids = []
    for index in range(3):
        ids.append(adapter.publish(req(clock, text=f"Aviso {index}.", key=f"k{index}")).post_id)
        clock.advance(1)
    api = adapter._client()
    me = api.account_verify_credentials()

    page = api.account_statuses(me["id"], limit=2, exclude_reblogs=True)

    assert [s["id"] for s in page] == [ids[2], ids[1]]
    assert [s["id"] for s in api.account_statuses(me["id"], max_id=ids[1])] == [ids[0]]


def test_verify_reports_the_instance_limit(clock, http, monkeypatch, tmp_path):
    twin = MastodonTwin(clock, max_characters=1000)
    twin.install(http)
    adapter = build(twin, tmp_path)
    for name, value in twin.env().items():
        monkeypatch.setenv(name, value)

    status = adapter.verify()

    assert status.ok and "@ayto_calp" in status.detail and "1000" in status.detail
    assert adapter.instance_limit() == 1000


def test_a_bad_token_is_an_auth_error_and_verify_reports_it(twin, adapter, clock, monkeypatch):
    [variable] = twin.env()
    monkeypatch.setenv(variable, "not-the-token")

    assert not adapter.verify().ok
    with pytest.raises(AuthError, match="401"):
        adapter.publish(req(clock))
    assert twin.visible() == []


def test_a_revoked_token_is_an_auth_error(twin, adapter, clock):
    twin.revoke(REF)
    with pytest.raises(AuthError):
        adapter.publish(req(clock))


def test_the_statuses_rate_limit_answers_429_with_its_reset_and_lifts_after_it(
        clock, http, monkeypatch, tmp_path):
    twin = MastodonTwin(clock, statuses_limit=(2, 3 * 3600))
    twin.install(http)
    adapter = build(twin, tmp_path)
    for name, value in twin.env().items():
        monkeypatch.setenv(name, value)
    adapter.publish(req(clock, text="Uno.", key="k1"))
    adapter.publish(req(clock, text="Dos.", key="k2"))

    with pytest.raises(RateLimited) as limited:
        adapter.publish(req(clock, text="Tres.", key="k3"))

    now = int(clock.now().timestamp())
    expected = 3 * 3600 - now % (3 * 3600)
    assert limited.value.retry_after_s == pytest.approx(expected, abs=3)
    assert len(twin.visible(REF)) == 2
    clock.advance(expected + 1)
    adapter.publish(req(clock, text="Tres.", key="k3"))
    assert len(twin.visible(REF)) == 3


def test_edits_count_towards_the_statuses_rate_limit(clock, http, monkeypatch, tmp_path):
    twin = MastodonTwin(clock, statuses_limit=(2, 3 * 3600))
    twin.install(http)
    adapter = build(twin, tmp_path)
    for name, value in twin.env().items():
        monkeypatch.setenv(name, value)
    ref = adapter.publish(req(clock))
    adapter.correct(req(clock, "correct", CORRECTED, target=ref, key="c1"))

    with pytest.raises(RateLimited):
        adapter.correct(req(clock, "correct", "Tercera versión.", target=ref, key="c2"))
    assert twin.visible(REF)[0].text == CORRECTED


def test_the_per_token_api_throttle_answers_429(clock, http, monkeypatch, tmp_path):
    twin = MastodonTwin(clock, token_limit=(3, 300))
    twin.install(http)
    adapter = build(twin, tmp_path)
    for name, value in twin.env().items():
        monkeypatch.setenv(name, value)
    for index in range(3):
        adapter.publish(req(clock, text=f"Aviso {index}.", key=f"k{index}"))

    with pytest.raises(RateLimited) as limited:
        adapter.publish(req(clock, text="Uno más.", key="k9"))
    assert 0 < limited.value.retry_after_s <= 301


def test_lookup_reads_back_a_text_with_links_paragraphs_and_ampersands(
        twin, adapter, clock, http):
    """GET answers HTML ``content`` (links shortened into spans, <p> and <br />, &amp;); the
    adapter's lookup must still recognise its text."""
    text = ("Pleno & comisión #Calp\nOrden del día: https://www.calp.es/es/pleno/orden-del-dia-"
            "sesion-extraordinaria-2027\n\nRetransmisión en directo.")
    http.plant(Fault("POST", r"/api/v1/statuses$", "lose_answer"))
    with pytest.raises(OutcomeUnknown):
        adapter.publish(req(clock, text=text))

    found = adapter.lookup(req(clock, text=text))

    assert found is not None and found.post_id == twin.visible(REF)[0].post_id
    content = adapter._client().status(found.post_id)["content"]
    assert '<span class="invisible">https://www.</span>' in content and "&amp;" in content
    assert content.startswith("<p>") and "<br />" in content and "</p><p>" in content
