"""The Bluesky adapter, through the real atproto ``Client`` (httpx), against the Bluesky twin: what
citizens see on bsky.app after each operation, and the PDS's and AppView's rules
(tests/twins/notes/bluesky.md). Adapter defects are ``xfail(strict=True)`` with the reason."""

from __future__ import annotations

import dataclasses

import datetime as dt
import json
import threading

import pytest
from atproto_client import models
from atproto_client.exceptions import BadRequestError, RequestException

from adapters.factory import make_adapter
from adapters.accounts import AccountConfig
from adapters.base import (AuthError, Image, NotSupported, OutcomeUnknown, PostRef, PostRequest,
                           RateLimited, Rejected, Unavailable)
from adapters.bluesky import BlueskyAdapter
from tests.twins.base import png_bytes, Fault, TwinClock, intercept
from tests.twins.bluesky import BlueskyTwin, blob_cid, graphemes

REF = "bluesky:ayto-calp"
OTHER = "bluesky:donostia"
TEXT = "El pleno municipal se celebra el jueves 15 de abril a las 19:00 en el salón de plenos."
CORRECTION = "Corrección: el pleno es el viernes 16 de abril a las 19:00."
CREATE = r"com\.atproto\.repo\.createRecord"
UPLOAD = r"com\.atproto\.repo\.uploadBlob"
DELETE = r"com\.atproto\.repo\.deleteRecord"


def png(path, width=1, height=1, rgb=(200, 30, 30), pad=0) -> bytes:
    """A real PNG (see ``png_bytes``), written to ``path``."""
    data = png_bytes(width, height, rgb, pad)
    path.write_bytes(data)
    return data


def build(twin, ref=REF, **kwargs) -> BlueskyAdapter:
    config = AccountConfig.from_mapping(ref, twin.account_entry(ref, "comunicacion"))
    if kwargs:
        return BlueskyAdapter(config, **kwargs)
    return make_adapter(config, "live")


def make_twin(clock, http, monkeypatch, **knobs) -> BlueskyTwin:
    twin = BlueskyTwin(clock, **knobs)
    twin.add_account(REF)
    twin.add_account(OTHER)
    twin.install(http)
    for name, value in twin.env().items():
        monkeypatch.setenv(name, value)
    return twin


@pytest.fixture
def twin(clock, http, monkeypatch) -> BlueskyTwin:
    return make_twin(clock, http, monkeypatch)


@pytest.fixture
def adapter(twin) -> BlueskyAdapter:
    return build(twin)


def req(clock, action="publish", text=TEXT, *, target=None, images=(), key="job-1#a",
        language="es", account=REF) -> PostRequest:
    return PostRequest(job_id="cal/pleno/" + account, account=account, action=action,
                       text=text, language=language, idempotency_key=key, due=clock.now(),
                       images=tuple(images), target=target)


def settled(twin, account=REF):
    twin.settle()
    return twin.visible(account)


def client(adapter):
    """The adapter's logged-in atproto client (for requests the adapter never sends)."""
    adapter._did()
    return adapter._client


def raw_create(adapter, record: dict, **fields):
    """createRecord with a record exactly as given (atproto's models would refuse some)."""
    body = {"repo": adapter._did(), "collection": "app.bsky.feed.post", "record": record,
            **fields}
    return client(adapter).invoke_procedure(
        "com.atproto.repo.createRecord", content=json.dumps(body),
        headers={"Content-Type": "application/json"})


def calls(http, since=0):
    return [(c.method, c.url.split("/xrpc/")[1].split("?")[0], c.status)
            for c in http.calls[since:]]


# --- publishing ---------------------------------------------------------------------------------


def test_a_published_post_shows_its_text_and_language_once_the_appview_has_indexed_it(
        twin, adapter, clock):
    ref = adapter.publish(req(clock, language="ca"))

    assert twin.visible(REF) == []  # the AppView has not seen the commit yet
    assert twin.record(ref.post_id)["text"] == TEXT  # the PDS has it
    clock.advance(twin.appview_lag_s)
    [seen] = twin.visible(REF)
    assert (seen.post_id, seen.text, seen.language, seen.edited) == (ref.post_id, TEXT, "ca",
                                                                     False)
    assert seen.media == () and seen.replies == () and seen.content_warning == ""
    handle = twin.handle(REF)
    assert ref.url == seen.url == f"https://bsky.app/profile/{handle}/post/" \
                                  f"{ref.post_id.rsplit('/', 1)[1]}"
    assert ref.extra["cid"] == twin.records(REF)[0]["cid"]
    assert ref.extra["root_uri"] == ref.post_id and ref.extra["root_cid"] == ref.extra["cid"]


def test_the_post_goes_to_the_pds_named_in_the_did_document_with_a_tid_record_key(
        twin, adapter, clock, http):
    ref = adapter.publish(req(clock))

    assert calls(http) == [("POST", "com.atproto.server.createSession", 200),
                           ("POST", "com.atproto.repo.createRecord", 200)]
    assert http.calls[0].url.startswith("https://bsky.social/")
    assert http.calls[1].url.startswith(twin.pds + "/")
    rkey = ref.post_id.rsplit("/", 1)[1]
    assert ref.post_id == f"at://{twin.did(REF)}/app.bsky.feed.post/{rkey}" and len(rkey) == 13
    record = twin.record(ref.post_id)
    assert record["$type"] == "app.bsky.feed.post" and record["langs"] == ["es"]
    created = dt.datetime.fromisoformat(record["createdAt"])
    assert abs((created - clock.now()).total_seconds()) < 5  # the twin clock, not the machine's


def test_images_are_shown_with_their_alt_text_in_order(twin, adapter, clock, tmp_path):
    first = png(tmp_path / "cartel.png", rgb=(1, 2, 3))
    second = png(tmp_path / "plano.png", rgb=(4, 5, 6))

    adapter.publish(req(clock, images=[Image(str(tmp_path / "cartel.png"), "Cartel del pleno"),
                                       Image(str(tmp_path / "plano.png"), "Plano del salón")]))

    [seen] = settled(twin)
    assert [(m.alt, m.source) for m in seen.media] == [
        ("Cartel del pleno", blob_cid(first)), ("Plano del salón", blob_cid(second))]
    assert twin.blobs(REF) == {blob_cid(first): ("image/png", len(first)),
                               blob_cid(second): ("image/png", len(second))}


def test_links_and_hashtags_become_facets_over_the_right_utf8_bytes(twin, adapter, clock):
    text = "Información del pleno: https://www.calp.es/pleno?id=7. #PlenoCalp"

    ref = adapter.publish(req(clock, text=text))

    record = twin.record(ref.post_id)
    data = text.encode()
    spans = {data[f["index"]["byteStart"]:f["index"]["byteEnd"]].decode():
             f["features"][0] for f in record["facets"]}
    assert spans["https://www.calp.es/pleno?id=7"]["uri"] == "https://www.calp.es/pleno?id=7"
    assert spans["#PlenoCalp"]["tag"] == "PlenoCalp"
    assert settled(twin)[0].text == text


def test_correct_is_not_supported_and_sends_nothing(twin, adapter, clock, http):
    ref = adapter.publish(req(clock))
    before = len(http.calls)

    with pytest.raises(NotSupported):
        adapter.correct(req(clock, "correct", CORRECTION, target=ref))

    assert len(http.calls) == before
    [seen] = settled(twin)
    assert seen.text == TEXT and not seen.edited


# --- replies ------------------------------------------------------------------------------------


def test_a_reply_appears_under_its_post_with_root_and_parent_strong_refs(twin, adapter, clock):
    ref = adapter.publish(req(clock))

    answer_ref = adapter.reply(req(clock, "reply", CORRECTION, target=ref, key="job-1#r"))

    reply = twin.record(answer_ref.post_id)["reply"]
    assert (reply["parent"]["uri"], reply["parent"]["cid"]) == (ref.post_id, ref.extra["cid"])
    assert (reply["root"]["uri"], reply["root"]["cid"]) == (ref.post_id, ref.extra["cid"])
    [seen] = settled(twin)
    assert seen.thread() == [TEXT, CORRECTION]
    assert seen.replies[0].post_id == answer_ref.post_id


def test_a_reply_to_a_reply_keeps_the_thread_root(twin, adapter, clock):
    ref = adapter.publish(req(clock))
    first = adapter.reply(req(clock, "reply", CORRECTION, target=ref, key="job-1#r1"))

    second = adapter.reply(req(clock, "reply", "Segunda corrección.", target=first,
                               key="job-1#r2"))

    reply = twin.record(second.post_id)["reply"]
    assert reply["parent"]["uri"] == first.post_id and reply["root"]["uri"] == ref.post_id
    assert second.extra["root_uri"] == ref.post_id
    [seen] = settled(twin)
    assert seen.thread() == [TEXT, CORRECTION, "Segunda corrección."]
    assert seen.replies[0].replies[0].post_id == second.post_id


def test_a_reply_to_an_old_ref_without_cid_reads_the_record_from_the_pds(
        twin, adapter, clock, http):
    ref = adapter.publish(req(clock))
    old = PostRef("bluesky", REF, ref.post_id, ref.url, {})  # a ref stored before cids were kept
    before = len(http.calls)

    adapter.reply(req(clock, "reply", CORRECTION, target=old, key="job-1#r"))

    assert calls(http, before) == [("GET", "com.atproto.repo.getRecord", 200),
                                   ("POST", "com.atproto.repo.createRecord", 200)]
    assert settled(twin)[0].thread() == [TEXT, CORRECTION]


def test_the_thread_shows_the_replies_under_their_parent(twin, adapter, clock):
    ref = adapter.publish(req(clock))
    adapter.reply(req(clock, "reply", CORRECTION, target=ref, key="job-1#r"))
    twin.settle()

    thread = client(adapter).get_post_thread(ref.post_id).thread

    assert thread.post.record.text == TEXT and thread.post.reply_count == 1
    assert [r.post.record.text for r in thread.replies] == [CORRECTION]
    posts = client(adapter).get_posts([ref.post_id]).posts
    assert [p.uri for p in posts] == [ref.post_id]


# --- retraction ---------------------------------------------------------------------------------


def test_a_retracted_post_is_gone_once_the_appview_indexes_the_deletion(twin, adapter, clock):
    ref = adapter.publish(req(clock))
    twin.settle()

    adapter.retract(req(clock, "retract", "", target=ref, key="job-1#x"))

    assert twin.record(ref.post_id) is None  # gone from the repository at once
    assert [s.post_id for s in twin.visible(REF)] == [ref.post_id]  # the AppView lags
    clock.advance(twin.appview_lag_s)
    assert twin.visible(REF) == []


def test_retracting_again_after_a_lost_answer_is_harmless(twin, adapter, clock, http):
    ref = adapter.publish(req(clock))
    http.plant(Fault("POST", DELETE, "lose_answer"))

    with pytest.raises(OutcomeUnknown):
        adapter.retract(req(clock, "retract", "", target=ref, key="job-1#x"))
    adapter.retract(req(clock, "retract", "", target=ref, key="job-1#x"))

    assert settled(twin) == []
    assert calls(http)[-1] == ("POST", "com.atproto.repo.deleteRecord", 200)


def test_a_reply_whose_post_was_retracted_stands_on_its_own(twin, adapter, clock):
    """Bluesky deletes only the record asked for: the account's correction stays public."""
    ref = adapter.publish(req(clock))
    adapter.reply(req(clock, "reply", CORRECTION, target=ref, key="job-1#r"))

    adapter.retract(req(clock, "retract", "", target=ref, key="job-1#x"))

    [seen] = settled(twin)
    assert seen.text == CORRECTION and seen.replies == ()


# --- lookup after a lost answer -----------------------------------------------------------------


def publish_once_like_the_engine(adapter, request):
    """The engine's path: an unknown outcome is settled by lookup, and only a lookup that
    finds nothing leads to another attempt; a failure before anything was posted
    (``Unavailable``) is simply tried again after its backoff."""
    try:
        return adapter.publish(request)
    except Unavailable:
        return adapter.publish(request)
    except OutcomeUnknown:
        found = adapter.lookup(request)
        return found if found is not None else adapter.publish(request)


def test_lookup_finds_a_lost_post_through_the_pds_read_after_write(
        clock, http, monkeypatch):
    """The AppView lags five minutes, but the account already has an indexed post: the PDS
    adds its newer records to the author's own feed, and lookup finds the post."""
    twin = make_twin(clock, http, monkeypatch, appview_lag_s=300)
    adapter = build(twin)
    adapter.publish(req(clock, text="Aviso anterior.", key="job-0#a"))
    twin.settle()
    http.plant(Fault("POST", CREATE, "lose_answer"))

    ref = publish_once_like_the_engine(adapter, req(clock))

    assert twin.visible(REF)[-1].text == "Aviso anterior."  # not indexed yet
    assert [s.text for s in settled(twin)] == ["Aviso anterior.", TEXT]
    assert ref.post_id == settled(twin)[1].post_id and ref.extra["cid"]


def test_lookup_finds_the_post_once_the_appview_has_indexed_it(twin, adapter, clock, http):
    http.plant(Fault("POST", CREATE, "lose_answer"))
    with pytest.raises(OutcomeUnknown):
        adapter.publish(req(clock))
    clock.advance(twin.appview_lag_s)

    found = adapter.lookup(req(clock))

    [seen] = twin.visible(REF)
    assert found is not None and found.post_id == seen.post_id


def test_lookup_of_a_reply_needs_the_same_parent(twin, adapter, clock):
    ref = adapter.publish(req(clock))
    other = adapter.publish(req(clock, text="Otro aviso.", key="job-2#a"))
    adapter.reply(req(clock, "reply", CORRECTION, target=ref, key="job-1#r"))
    twin.settle()

    assert adapter.lookup(req(clock, "reply", CORRECTION, target=other)) is None
    assert adapter.lookup(req(clock, "reply", CORRECTION, target=ref)) is not None


def test_a_lost_first_post_of_an_account_is_found_and_never_posted_twice(
        clock, http, monkeypatch):
    twin = make_twin(clock, http, monkeypatch, appview_lag_s=300)
    adapter = build(twin)
    http.plant(Fault("POST", CREATE, "lose_answer"))

    publish_once_like_the_engine(adapter, req(clock))

    assert [s.text for s in settled(twin)] == [TEXT]


def test_the_pds_read_after_write_adds_at_most_ten_newer_records(clock, http, monkeypatch):
    twin = make_twin(clock, http, monkeypatch, appview_lag_s=300)
    adapter = build(twin)
    adapter.publish(req(clock, text="Aviso 0", key="k0"))
    twin.settle()
    for n in range(1, 12):
        adapter.publish(req(clock, text=f"Aviso {n}", key=f"k{n}"))

    feed = client(adapter).get_author_feed(twin.did(REF), limit=30).feed

    assert [i.post.record.text for i in feed] == [f"Aviso {n}" for n in range(10, -1, -1)]
    # the feed misses the eleventh, but lookup reads the repository itself and finds it
    assert adapter.lookup(req(clock, text="Aviso 11", key="k11")) is not None


def test_a_citizen_sees_nothing_of_the_read_after_write(clock, http, monkeypatch):
    twin = make_twin(clock, http, monkeypatch, appview_lag_s=300)
    adapter = build(twin)
    adapter.publish(req(clock, text="Aviso anterior.", key="k0"))
    twin.settle()
    adapter.publish(req(clock))

    assert [s.text for s in twin.visible(REF)] == ["Aviso anterior."]
    assert [s.text for s in twin.visible(REF, as_of=clock.now() + dt.timedelta(seconds=300))] \
        == ["Aviso anterior.", TEXT]


# --- images -------------------------------------------------------------------------------------


def test_after_a_timeout_while_uploading_nothing_is_posted_and_the_retry_posts_once(
        twin, adapter, clock, http, tmp_path):
    data = png(tmp_path / "cartel.png")
    request = req(clock, images=[Image(str(tmp_path / "cartel.png"), "Cartel del pleno")])
    http.plant(Fault("POST", UPLOAD, "lose_answer"))

    ref = publish_once_like_the_engine(adapter, request)

    [seen] = settled(twin)
    assert seen.post_id == ref.post_id and [m.source for m in seen.media] == [blob_cid(data)]


def test_a_timeout_while_uploading_an_image_is_a_safe_retry(twin, adapter, clock, http,
                                                              tmp_path):
    png(tmp_path / "cartel.png")
    http.plant(Fault("POST", UPLOAD, "lose_answer"))

    with pytest.raises(Unavailable):
        adapter.publish(req(clock, images=[Image(str(tmp_path / "cartel.png"), "Cartel")]))


def test_each_image_carries_its_aspect_ratio(twin, adapter, clock, tmp_path):
    png(tmp_path / "cartel.png", width=3, height=4)

    ref = adapter.publish(req(clock, images=[Image(str(tmp_path / "cartel.png"), "Cartel")]))

    [image] = twin.record(ref.post_id)["embed"]["images"]
    ratio = image.get("aspectRatio") or {}
    assert (ratio.get("width"), ratio.get("height")) == (3, 4)


def test_an_image_over_the_lexicon_size_is_rejected_by_the_pds_and_nothing_is_posted(
        twin, adapter, clock, tmp_path):
    data = png(tmp_path / "cartel.png", pad=twin.image_max_size)
    # the PDS's own refusal, as an adapter that did not check the size first would meet it
    adapter.capabilities = dataclasses.replace(adapter.capabilities, image_max_bytes=None)

    with pytest.raises(Rejected) as refused:
        adapter.publish(req(clock, images=[Image(str(tmp_path / "cartel.png"), "Cartel")]))

    assert (f"blob too big (maximum {twin.image_max_size}, got {len(data)}) "
            "at $.record.embed.images[0].image") in str(refused.value)
    assert settled(twin) == [] and twin.records(REF) == []


def test_an_image_of_one_and_a_half_megabytes_fits_the_current_two_megabyte_limit(
        twin, adapter, clock, tmp_path):
    png(tmp_path / "cartel.png", pad=1_500_000)

    adapter.publish(req(clock, images=[Image(str(tmp_path / "cartel.png"), "Cartel")]))

    assert len(settled(twin)[0].media) == 1


def test_with_the_former_one_megabyte_limit_a_larger_image_is_rejected(
        clock, http, monkeypatch, tmp_path):
    twin = make_twin(clock, http, monkeypatch, image_max_size=1_000_000)
    png(tmp_path / "cartel.png", pad=1_000_000)

    with pytest.raises(Rejected, match=r"blob too big \(maximum 1000000"):
        build(twin).publish(req(clock, images=[Image(str(tmp_path / "cartel.png"), "Cartel")]))


def test_an_image_over_the_size_limit_is_refused_before_anything_is_uploaded(
        twin, adapter, clock, tmp_path, http):
    png(tmp_path / "cartel.png", pad=twin.image_max_size)

    with pytest.raises(Rejected):
        adapter.publish(req(clock, images=[Image(str(tmp_path / "cartel.png"), "Cartel")]))

    assert not any("uploadBlob" in c.url for c in http.calls)


def test_an_upload_over_the_pds_limit_is_413_and_rejected(clock, http, monkeypatch, tmp_path):
    twin = make_twin(clock, http, monkeypatch, blob_upload_limit=10_000)
    png(tmp_path / "cartel.png", pad=10_000)

    with pytest.raises(Rejected, match="request entity too large"):
        build(twin).publish(req(clock, images=[Image(str(tmp_path / "cartel.png"), "Cartel")]))

    assert http.calls[-1].status == 413


def test_more_than_four_images_are_refused_before_any_request(twin, adapter, clock, tmp_path,
                                                               http):
    for n in range(5):
        png(tmp_path / f"i{n}.png", rgb=(n, n, n))

    with pytest.raises(Rejected):
        adapter.publish(req(clock, images=[Image(str(tmp_path / f"i{n}.png"), f"Imagen {n}")
                                           for n in range(5)]))
    assert http.calls == []


def test_the_pds_refuses_a_non_image_blob_and_a_blob_it_never_received(twin, adapter, clock):
    api = client(adapter)
    blob = api.upload_blob(b"texto plano, no una imagen").blob
    assert blob.mime_type == "*/*"  # sniffing finds nothing: the request's encoding stays
    embed = models.AppBskyEmbedImages.Main(images=[models.AppBskyEmbedImages.Image(
        alt="x", image=blob)])
    with pytest.raises(BadRequestError) as refused:
        api.send_post("Aviso", embed=embed, profile_identify=adapter._did())
    assert refused.value.response.content.message == (
        'Invalid app.bsky.feed.post record: Expected "image/*" (got "*/*") '
        "at $.record.embed.images[0].image.mimeType")

    forged = models.AppBskyEmbedImages.Main(images=[models.AppBskyEmbedImages.Image(
        alt="x", image=models.blob_ref.BlobRef(mime_type="image/png", size=10,
                                               ref=models.blob_ref.IpldLink(
                                                   link=blob_cid(b"never sent"))))])
    with pytest.raises(BadRequestError) as missing:
        api.send_post("Aviso", embed=forged, profile_identify=adapter._did())
    assert missing.value.response.content.error == "BlobNotFound"
    assert twin.records(REF) == []


# --- text rules ---------------------------------------------------------------------------------


def test_a_text_over_300_graphemes_is_refused_before_any_request(twin, adapter, clock, http):
    with pytest.raises(Rejected):
        adapter.publish(req(clock, text="a" * 301))
    assert http.calls == []


def test_300_graphemes_of_accented_letters_and_emoji_are_accepted(twin, adapter, clock):
    text = ("é" * 150) + ("🇪🇸" * 150)
    assert graphemes(text) == 300 and len(text) == 450

    adapter.publish(req(clock, text=text))

    assert settled(twin)[0].text == text


def test_the_pds_refuses_301_graphemes_with_the_lexicon_error(twin, adapter, clock):
    adapter._did()
    with pytest.raises(BadRequestError) as refused:
        client(adapter).send_post("ñ" * 301, profile_identify=adapter._did())

    content = refused.value.response.content
    assert (refused.value.response.status_code, content.error) == (400, "InvalidRequest")
    assert content.message == ("Invalid app.bsky.feed.post record: grapheme too big "
                               "(maximum 300, got 301) at $.record.text")


def test_a_text_of_300_graphemes_but_over_3000_bytes_is_rejected_by_the_pds(
        twin, adapter, clock):
    family = "👨‍👩‍👧‍👦"  # one grapheme, 25 bytes
    text = family * 121
    assert graphemes(text) == 121 and len(text.encode()) == 3025

    with pytest.raises(Rejected) as refused:
        adapter.publish(req(clock, text=text))

    assert "string too big (maximum 3000, got 3025) at $.record.text" in str(refused.value)
    assert twin.records(REF) == []


def test_a_mention_facet_needs_the_mentioned_did(twin, adapter, clock):
    did = adapter._did()
    facet = models.AppBskyRichtextFacet.Main(
        index=models.AppBskyRichtextFacet.ByteSlice(byte_start=0, byte_end=8),
        features=[models.AppBskyRichtextFacet.Mention(did="@donostia")])
    with pytest.raises(BadRequestError) as refused:
        client(adapter).send_post("@donostia gracias", facets=[facet], profile_identify=did)
    assert refused.value.response.content.message == (
        'Invalid app.bsky.feed.post record: Invalid DID (got "@donostia") '
        "at $.record.facets[0].features[0].did")

    facet.features[0] = models.AppBskyRichtextFacet.Mention(did=twin.did(OTHER))
    client(adapter).send_post("@donostia gracias", facets=[facet], profile_identify=did)
    assert settled(twin)[0].text == "@donostia gracias"


def test_more_than_three_languages_are_refused(twin, adapter, clock):
    record = {"$type": "app.bsky.feed.post", "text": "Hola", "langs": ["es", "ca", "en", "eu"],
              "createdAt": clock.now().isoformat()}
    with pytest.raises(BadRequestError) as refused:
        raw_create(adapter, record)
    assert refused.value.response.content.message == (
        "Invalid app.bsky.feed.post record: array too big (maximum 3, got 4) at $.record.langs")


# --- the repository -----------------------------------------------------------------------------


def test_creating_a_record_with_an_existing_rkey_fails_inside_the_repository(
        twin, adapter, clock):
    ref = adapter.publish(req(clock))
    rkey = ref.post_id.rsplit("/", 1)[1]
    record = models.AppBskyFeedPost.Record(text="Otro", created_at=clock.now().isoformat())

    with pytest.raises(RequestException) as refused:
        client(adapter).app.bsky.feed.post.create(adapter._did(), record, rkey=rkey)

    assert refused.value.response.status_code == 500
    assert refused.value.response.content.error == "InternalServerError"
    assert twin.record(ref.post_id)["text"] == TEXT


def test_a_record_key_that_is_not_a_tid_is_refused_for_posts(twin, adapter, clock):
    record = models.AppBskyFeedPost.Record(text="Otro", created_at=clock.now().isoformat())
    with pytest.raises(BadRequestError, match="Invalid record key for app.bsky.feed.post"):
        client(adapter).app.bsky.feed.post.create(adapter._did(), record, rkey="aviso-1")


def test_a_stale_swap_commit_is_invalid_swap_and_writes_nothing(twin, adapter, clock):
    first = client(adapter).com.atproto.repo.create_record(models.ComAtprotoRepoCreateRecord.Data(
        repo=adapter._did(), collection="app.bsky.feed.post",
        record=models.AppBskyFeedPost.Record(text="Uno", created_at=clock.now().isoformat())))
    adapter.publish(req(clock))  # moves the repo on

    with pytest.raises(BadRequestError) as refused:
        client(adapter).com.atproto.repo.create_record(models.ComAtprotoRepoCreateRecord.Data(
            repo=adapter._did(), collection="app.bsky.feed.post", swap_commit=first.commit.cid,
            record=models.AppBskyFeedPost.Record(text="Dos",
                                                 created_at=clock.now().isoformat())))
    assert refused.value.response.content.error == "InvalidSwap"
    assert [r["value"]["text"] for r in twin.records(REF)] == [TEXT, "Uno"]


def test_deleting_a_missing_record_succeeds_without_a_commit(twin, adapter, clock):
    adapter._did()
    answer = client(adapter).com.atproto.repo.delete_record(models.ComAtprotoRepoDeleteRecord.Data(
        repo=adapter._did(), collection="app.bsky.feed.post", rkey="3lbfyzzzq4k2a"))
    assert answer.commit is None


def test_list_records_is_newest_first_and_pages_with_a_cursor(twin, adapter, clock):
    for n in range(3):
        adapter.publish(req(clock, text=f"Aviso {n}", key=f"k{n}"))

    first = client(adapter).app.bsky.feed.post.list(adapter._did(), limit=2)
    rest = client(adapter).app.bsky.feed.post.list(adapter._did(), limit=2,
                                                   cursor=first.cursor)

    assert [r.text for r in first.records.values()] == ["Aviso 2", "Aviso 1"]
    assert [r.text for r in rest.records.values()] == ["Aviso 0"]


def test_apply_writes_creates_and_deletes_in_one_commit(twin, adapter, clock):
    ref = adapter.publish(req(clock))
    rkey = ref.post_id.rsplit("/", 1)[1]
    client(adapter).com.atproto.repo.apply_writes(models.ComAtprotoRepoApplyWrites.Data(
        repo=adapter._did(), writes=[
            models.ComAtprotoRepoApplyWrites.Delete(collection="app.bsky.feed.post", rkey=rkey),
            models.ComAtprotoRepoApplyWrites.Create(
                collection="app.bsky.feed.post",
                value=models.AppBskyFeedPost.Record(text=CORRECTION,
                                                    created_at=clock.now().isoformat()))]))

    assert [s.text for s in settled(twin)] == [CORRECTION]


# --- sessions and errors ------------------------------------------------------------------------


def test_a_wrong_app_password_is_an_auth_error(twin, clock, monkeypatch):
    monkeypatch.setenv(twin.account_entry(REF, "x")["credentials"]["app_password"]["env"],
                       "abcd-efgh-ijkl-mnop")
    adapter = build(twin)

    status = adapter.verify()
    assert not status.ok and "Invalid identifier or password" in status.detail
    with pytest.raises(AuthError):
        adapter.publish(req(clock))


def test_verify_logs_in_and_reads_the_profile(twin, adapter, http):
    status = adapter.verify()
    assert status.ok and twin.handle(REF) in status.detail and twin.did(REF) in status.detail
    assert [c[1] for c in calls(http)] == ["com.atproto.server.createSession",
                                           "app.bsky.actor.getProfile"]


def test_the_session_is_refreshed_before_the_access_token_expires(twin, adapter, clock, http):
    adapter.publish(req(clock))
    clock.advance(2 * 3600 - 10 * 60)  # inside atproto's 15-minute early refresh

    adapter.publish(req(clock, text="Otro aviso.", key="job-2#a"))

    assert [c[1] for c in calls(http)] == ["com.atproto.server.createSession",
                                           "com.atproto.repo.createRecord",
                                           "com.atproto.server.refreshSession",
                                           "com.atproto.repo.createRecord"]
    assert len(settled(twin)) == 2


def test_an_expired_access_token_is_refused_with_expired_token(twin, adapter, clock, http):
    adapter._did()
    old = client(adapter)._session.access_jwt
    clock.advance(2 * 3600 + 1)
    from atproto import Client
    stale = Client(base_url=twin.pds)
    stale.request.add_additional_header("Authorization", f"Bearer {old}")

    with pytest.raises(BadRequestError) as refused:
        stale.com.atproto.repo.upload_blob(b"x", ignore_session_check=True)
    assert (refused.value.response.content.error,
            refused.value.response.content.message) == ("ExpiredToken", "Token has expired")


def test_a_session_string_is_reused_without_logging_in(twin, adapter, clock, http):
    adapter.publish(req(clock))
    saved = adapter.session_string()
    before = len(http.calls)

    again = build(twin, session_string=saved)
    again.publish(req(clock, text="Otro aviso.", key="job-2#a"))

    assert [c[1] for c in calls(http, before)] == ["com.atproto.repo.createRecord"]


def test_an_expired_session_string_falls_back_to_the_app_password(twin, adapter, clock, http):
    adapter.publish(req(clock))
    saved = adapter.session_string()
    clock.advance(91 * 86400)  # past the refresh token's 90 days
    before = len(http.calls)

    build(twin, session_string=saved).publish(req(clock, text="Otro aviso.", key="job-2#a"))

    assert calls(http, before) == [("POST", "com.atproto.server.refreshSession", 400),
                                   ("POST", "com.atproto.server.createSession", 200),
                                   ("POST", "com.atproto.repo.createRecord", 200)]


def test_after_ninety_idle_days_the_adapter_logs_in_again_with_its_app_password(
        twin, adapter, clock):
    adapter.publish(req(clock))
    clock.advance(91 * 86400)

    adapter.publish(req(clock, text="Otro aviso.", key="job-2#a"))

    assert len(settled(twin)) == 2


def test_the_write_rate_limit_is_429_with_the_reset_time(clock, http, monkeypatch):
    twin = make_twin(clock, http, monkeypatch, repo_write_hour=(6, 3600))
    adapter = build(twin)
    adapter.publish(req(clock, text="Uno", key="k1"))
    adapter.publish(req(clock, text="Dos", key="k2"))  # 3 points each

    with pytest.raises(RateLimited) as limited:
        adapter.publish(req(clock, text="Tres", key="k3"))

    assert 3500 < limited.value.retry_after_s <= 3600
    assert [s.text for s in settled(twin)] == ["Uno", "Dos"]
    clock.advance(3600)
    adapter.publish(req(clock, text="Tres", key="k3"))
    assert len(settled(twin)) == 3


def test_a_deletion_costs_one_point_of_the_write_budget(clock, http, monkeypatch):
    twin = make_twin(clock, http, monkeypatch, repo_write_hour=(4, 3600))
    adapter = build(twin)
    ref = adapter.publish(req(clock))

    adapter.retract(req(clock, "retract", "", target=ref, key="x"))  # 3 + 1 = 4

    with pytest.raises(RateLimited):
        adapter.retract(req(clock, "retract", "", target=ref, key="x"))


def test_too_many_logins_are_rate_limited(clock, http, monkeypatch):
    twin = make_twin(clock, http, monkeypatch, session_5min=(2, 300))
    adapter = build(twin)
    assert adapter.verify().ok and adapter.verify().ok

    with pytest.raises(RateLimited):
        adapter.verify()


def test_a_server_error_before_acting_is_unavailable(twin, adapter, clock, http):
    adapter._did()
    http.plant(Fault("POST", CREATE, "refuse", status=502,
                     payload={"error": "UpstreamFailure", "message": "Upstream Failure"}))
    with pytest.raises(Unavailable):
        adapter.publish(req(clock))
    http.plant(Fault("POST", CREATE, "refuse", status=503))
    with pytest.raises(Unavailable):
        adapter.publish(req(clock))
    assert twin.records(REF) == []


def test_the_twin_is_safe_under_concurrent_publishes(twin, clock):
    adapters = [build(twin) for _ in range(4)]
    errors = []

    def work(n, adapter):
        try:
            for m in range(3):
                adapter.publish(req(clock, text=f"Aviso {n}.{m}", key=f"k{n}{m}"))
        except Exception as exc:  # pragma: no cover - shown by the assertion
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n, a)) for n, a in enumerate(adapters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    seen = settled(twin)
    assert len(seen) == 12 and len({s.post_id for s in seen}) == 12


def test_the_other_account_sees_only_its_own_posts(twin, adapter, clock):
    adapter.publish(req(clock))
    build(twin, OTHER).publish(req(clock, text="Kaixo.", account=OTHER, key="o1"))

    twin.settle()
    assert [s.text for s in twin.visible(OTHER)] == ["Kaixo."]
    assert [s.text for s in twin.visible(REF)] == [TEXT]
    assert len(twin.visible()) == 2


def test_the_author_feed_answers_the_documented_shape(twin, adapter, clock):
    ref = adapter.publish(req(clock))
    adapter.reply(req(clock, "reply", CORRECTION, target=ref, key="r"))
    twin.settle()

    raw = client(adapter).app.bsky.feed.get_author_feed(
        models.AppBskyFeedGetAuthorFeed.Params(actor=twin.handle(REF),
                                               filter="posts_no_replies"))
    assert [i.post.record.text for i in raw.feed] == [TEXT]
    both = client(adapter).get_author_feed(twin.did(REF), limit=1)
    assert [i.post.record.text for i in both.feed] == [CORRECTION] and both.cursor
    assert both.feed[0].reply.parent.uri == ref.post_id
    rest = client(adapter).get_author_feed(twin.did(REF), limit=1, cursor=both.cursor)
    assert [i.post.record.text for i in rest.feed] == [TEXT]
    assert json.loads(json.dumps(twin.record(ref.post_id)))["text"] == TEXT


def test_atproto_reads_the_twin_clock_only_while_the_twin_is_installed(monkeypatch):
    from atproto import Client

    clock = TwinClock()
    clock.advance(30 * 86400)
    with intercept() as routes:
        BlueskyTwin(clock).install(routes)
        inside = Client().get_current_time()
    outside = Client().get_current_time()

    assert abs((inside - clock.now()).total_seconds()) < 5
    assert abs((outside - dt.datetime.now(dt.timezone.utc)).total_seconds()) < 5
