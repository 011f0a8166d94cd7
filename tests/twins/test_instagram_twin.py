"""The real InstagramAdapter (through facebook-sdk's GraphAPI) against the Instagram twin: what
citizens see on the profile after each operation, the container life cycle on the twin clock,
the publishing quota, and how the Graph API's refusals reach the adapter. Adapter defects are
``xfail(strict=True)`` with the reason."""

from __future__ import annotations

import dataclasses

import pytest

from adapters.factory import make_adapter
from adapters.accounts import AccountConfig
from adapters.base import (AuthError, Image, NotSupported, OutcomeUnknown, PostRequest,
                           RateLimited, Rejected, Unavailable)
from adapters.instagram import InstagramAdapter, PublishingQuota
from tests.twins.base import Fault
from tests.twins.instagram import InstagramTwin

REF = "instagram:ayto-calp"
IMAGE = "https://www.calp.es/img/cartel-fiestas.jpg"
PLANO = "https://www.calp.es/img/plano.jpg"


def make_twin(http, clock, **knobs) -> InstagramTwin:
    twin = InstagramTwin(clock, **knobs)
    twin.install(http)
    twin.add_account(REF)
    return twin


@pytest.fixture
def twin(http, clock):
    return make_twin(http, clock)


def build(twin, clock, monkeypatch, **options) -> InstagramAdapter:
    """The real adapter with its polling on the twin clock (sleeping advances it)."""
    for name, value in twin.env().items():
        monkeypatch.setenv(name, value)
    entry = twin.account_entry(REF, "comunicacion")
    entry["options"] = {**entry["options"], "container_poll_s": 2, "container_timeout_s": 60,
                        **options}
    start = clock.now()
    return InstagramAdapter(AccountConfig.from_mapping(REF, entry), timeout_s=5,
                            clock=clock.now, sleep=clock.advance,
                            monotonic=lambda: (clock.now() - start).total_seconds())


@pytest.fixture
def adapter(twin, clock, monkeypatch) -> InstagramAdapter:
    return build(twin, clock, monkeypatch)


def request(clock, action="publish", text="Fiestas de Calp: el 9 de abril a las 20 h. #calp",
            *, target=None, images=((IMAGE, "Cartel de las fiestas"),)) -> PostRequest:
    return PostRequest(job_id=f"cal/entry/{REF}/es", account=REF, action=action, text=text,
                       language="es", idempotency_key="cal/entry/es#1", due=clock.now(),
                       images=tuple(Image(url, alt) for url, alt in images), target=target)


# --- publishing -------------------------------------------------------------------------------

def test_an_image_post_shows_its_caption_image_and_alt_text(adapter, twin, clock):
    ref = adapter.publish(request(clock))
    [seen] = twin.visible(REF)
    assert seen.post_id == ref.post_id and seen.url == ref.url
    assert seen.url.startswith("https://www.instagram.com/p/")
    assert seen.text == request(clock).text
    assert [(m.alt, m.source) for m in seen.media] == [("Cartel de las fiestas", IMAGE)]
    assert twin.container_status(ref.extra["container_id"]) == "PUBLISHED"


def test_the_live_adapter_built_from_the_account_entry_publishes(twin, clock, monkeypatch):
    for name, value in twin.env().items():
        monkeypatch.setenv(name, value)
    adapter = make_adapter(AccountConfig.from_mapping(
        REF, twin.account_entry(REF, "comunicacion")), "live")
    ref = adapter.publish(request(clock))
    assert [p.post_id for p in twin.visible(REF)] == [ref.post_id]
    assert adapter.verify().ok


def test_a_carousel_shows_every_image_with_its_alt_text_in_order(adapter, twin, clock):
    ref = adapter.publish(request(clock, images=((IMAGE, "Cartel"), (PLANO, "Plano"))))
    [seen] = twin.visible(REF)
    assert seen.post_id == ref.post_id
    assert [(m.alt, m.source) for m in seen.media] == [("Cartel", IMAGE), ("Plano", PLANO)]
    assert twin.quota_usage(REF) == 1  # a carousel counts as one post


def test_a_container_still_processing_is_polled_until_finished_on_the_twin_clock(
        http, clock, monkeypatch):
    twin = make_twin(http, clock, processing_s=30)
    adapter = build(twin, clock, monkeypatch)
    before = clock.now()
    adapter.publish(request(clock))
    assert (clock.now() - before).total_seconds() >= 30
    assert len(twin.visible(REF)) == 1


def test_a_container_that_never_finishes_in_time_publishes_nothing(http, clock, monkeypatch):
    twin = make_twin(http, clock, processing_s=600)
    adapter = build(twin, clock, monkeypatch)
    with pytest.raises(Unavailable, match="IN_PROGRESS"):
        adapter.publish(request(clock))
    assert twin.visible(REF) == [] and twin.quota_usage(REF) == 0


def test_a_container_in_error_is_rejected_and_never_published(http, clock, monkeypatch):
    twin = make_twin(http, clock, failing={IMAGE})
    adapter = build(twin, clock, monkeypatch)
    with pytest.raises(Rejected, match="ERROR"):
        adapter.publish(request(clock))
    assert twin.visible(REF) == []


def test_an_image_instagram_cannot_fetch_is_rejected_at_the_container(http, clock, monkeypatch):
    twin = make_twin(http, clock, unreachable={IMAGE})
    adapter = build(twin, clock, monkeypatch)
    with pytest.raises(Rejected, match="Only photo or video"):
        adapter.publish(request(clock))
    assert twin.visible(REF) == [] and twin.containers(REF) == []


def test_a_container_expires_after_24_hours_and_cannot_be_published(adapter, twin, clock):
    container = adapter._container({"image_url": IMAGE, "alt_text": "Cartel"}, caption="Hola")
    assert twin.container_status(container) == "FINISHED"
    clock.advance(24 * 3600)
    assert twin.container_status(container) == "EXPIRED"
    with pytest.raises(Rejected, match="EXPIRED"):
        adapter.containers.wait_finished(container)
    with pytest.raises(Rejected, match="expired"):
        adapter.client.call("publish", f"{twin.user_id(REF)}/media_publish",
                            post_args={"creation_id": container}, write=True)
    assert twin.visible(REF) == []


def test_publishing_a_container_still_in_progress_is_refused(http, clock, monkeypatch):
    twin = make_twin(http, clock, processing_s=60)
    adapter = build(twin, clock, monkeypatch)
    container = adapter._container({"image_url": IMAGE}, caption="Hola")
    with pytest.raises(Rejected, match="Media ID is not available"):
        adapter.client.call("publish", f"{twin.user_id(REF)}/media_publish",
                            post_args={"creation_id": container}, write=True)
    assert twin.visible(REF) == [] and twin.container_status(container) == "IN_PROGRESS"


def test_publishing_a_container_twice_makes_one_post(adapter, twin, clock):
    ref = adapter.publish(request(clock))
    with pytest.raises(Rejected):
        adapter.client.call("publish", f"{twin.user_id(REF)}/media_publish",
                            post_args={"creation_id": ref.extra["container_id"]}, write=True)
    assert [p.post_id for p in twin.visible(REF)] == [ref.post_id]
    assert twin.quota_usage(REF) == 1


def test_the_publishing_quota_is_read_and_a_post_past_it_is_rate_limited(http, clock,
                                                                        monkeypatch):
    twin = make_twin(http, clock, quota_total=2)
    adapter = build(twin, clock, monkeypatch)
    assert adapter.publishing_quota() == PublishingQuota(used=0, total=2, duration_s=86400)
    adapter.publish(request(clock, text="Uno"))
    adapter.publish(request(clock, text="Dos"))
    assert adapter.publishing_quota() == PublishingQuota(used=2, total=2)
    with pytest.raises(RateLimited):
        adapter.publish(request(clock, text="Tres"))
    assert [p.text for p in twin.visible(REF)] == ["Uno", "Dos"]
    clock.advance(86400)  # a moving 24-hour window
    assert adapter.publishing_quota().used == 0
    adapter.publish(request(clock, text="Tres"))
    assert [p.text for p in twin.visible(REF)] == ["Uno", "Dos", "Tres"]


# --- captions ---------------------------------------------------------------------------------

def test_a_caption_of_30_hashtags_goes_out_and_one_of_31_is_refused(adapter, twin, clock):
    tags = " ".join(f"#calp{i}" for i in range(31))
    with pytest.raises(Rejected, match="caption"):
        adapter.publish(request(clock, text="Fiestas " + tags))
    assert twin.visible(REF) == []
    ok = "Fiestas " + tags.rsplit(" ", 1)[0]
    adapter.publish(request(clock, text=ok))
    assert [p.text for p in twin.visible(REF)] == [ok]


def test_a_caption_over_2200_characters_or_21_mentions_is_refused(adapter, twin, clock):
    with pytest.raises(Rejected):
        adapter.publish(request(clock, text="a" * 2201))
    with pytest.raises(Rejected, match="tags"):
        adapter.publish(request(clock, text=" ".join(f"@vecino{i}" for i in range(21))))
    assert twin.visible(REF) == [] and twin.quota_usage(REF) == 0


def test_links_in_a_caption_stay_plain_text(adapter, twin, clock):
    text = "Programa completo en https://www.calp.es/fiestas"
    adapter.publish(request(clock, text=text))
    assert twin.visible(REF)[0].text == text  # shown as typed; Instagram makes no link of it
    assert not adapter.capabilities.clickable_links


def test_an_alt_text_over_1000_characters_is_refused_by_instagram(adapter, twin, clock):
    with pytest.raises(Rejected):
        adapter.publish(request(clock, images=((IMAGE, "x" * 1001),)))
    assert twin.visible(REF) == []


def test_the_capabilities_know_instagrams_alt_text_limit(adapter):
    assert adapter.capabilities.alt_text_limit == 1000


# --- corrections, replies, retractions --------------------------------------------------------

def test_a_caption_cannot_be_edited_and_the_correction_goes_out_as_a_comment(adapter, twin,
                                                                            clock):
    ref = adapter.publish(request(clock))
    with pytest.raises(NotSupported):
        adapter.correct(request(clock, "correct", "Corregido: el 10 de abril", target=ref))
    # the Graph API agrees: updating IG Media takes comment_enabled only
    with pytest.raises(Rejected, match="comment_enabled"):
        adapter.client.call("correct", ref.post_id, post_args={"caption": "Corregido"},
                            write=True)
    adapter.reply(request(clock, "reply", "Corrección: es el 10 de abril.", target=ref))
    [seen] = twin.visible(REF)
    assert seen.text == request(clock).text and not seen.edited
    assert seen.thread() == [request(clock).text, "Corrección: es el 10 de abril."]


def test_a_reply_is_the_accounts_comment_under_the_post(adapter, twin, clock):
    ref = adapter.publish(request(clock))
    twin.comment_as_citizen(ref.post_id, "¿A qué hora?")
    reply = adapter.reply(request(clock, "reply", "A las 20 h.", target=ref))
    [seen] = twin.visible(REF)
    assert [(r.post_id, r.text) for r in seen.replies] == [(reply.post_id, "A las 20 h.")]
    assert reply.extra["kind"] == "comment" and reply.url == ref.url


def test_a_reply_to_the_accounts_comment_goes_in_its_replies(adapter, twin, clock):
    ref = adapter.publish(request(clock))
    first = adapter.reply(request(clock, "reply", "Primera nota.", target=ref))
    adapter.reply(request(clock, "reply", "Segunda nota.", target=first))
    [seen] = twin.visible(REF)
    assert seen.thread() == [request(clock).text, "Primera nota.", "Segunda nota."]


def test_a_retracted_comment_is_gone_and_the_post_stays(adapter, twin, clock):
    ref = adapter.publish(request(clock))
    reply = adapter.reply(request(clock, "reply", "Nota equivocada", target=ref))
    adapter.retract(request(clock, "retract", target=reply))
    [seen] = twin.visible(REF)
    assert seen.post_id == ref.post_id and seen.replies == ()


def test_retracting_a_comment_that_is_already_gone_counts_as_done(adapter, twin, http, clock):
    ref = adapter.publish(request(clock))
    reply = adapter.reply(request(clock, "reply", "Nota equivocada", target=ref))
    http.plant(Fault("DELETE", reply.post_id, "lose_answer"))
    with pytest.raises(OutcomeUnknown):
        adapter.retract(request(clock, "retract", target=reply))
    assert twin.visible(REF)[0].replies == ()
    assert adapter.retract(request(clock, "retract", target=reply)) is None


def test_graph_deletes_media_with_instagram_manage_contents_and_refuses_without(adapter, twin,
                                                                               clock):
    keep = adapter.publish(request(clock, text="Se queda"))
    gone = adapter.publish(request(clock, text="Se va"))
    twin.set_manage_contents(REF, False)
    with pytest.raises(AuthError):
        adapter.client.call("retract", gone.post_id, method="DELETE", write=True)
    twin.set_manage_contents(REF, True)
    assert adapter.client.call("retract", gone.post_id, method="DELETE", write=True) == {
        "success": True, "deleted_id": gone.post_id}
    assert [p.post_id for p in twin.visible(REF)] == [keep.post_id]


def test_a_retraction_deletes_the_instagram_post(adapter, twin, clock):
    ref = adapter.publish(request(clock))
    adapter.retract(request(clock, "retract", target=ref))
    assert twin.visible(REF) == []


# --- lost answers and lookup ------------------------------------------------------------------

def test_a_lost_media_publish_answer_is_found_by_lookup_and_not_published_again(
        adapter, twin, http, clock):
    req = request(clock)
    http.plant(Fault("POST", r"/media_publish$", "lose_answer"))
    with pytest.raises(OutcomeUnknown):
        adapter.publish(req)
    [seen] = twin.visible(REF)
    assert [twin.container_status(c) for c in twin.containers(REF)] == ["PUBLISHED"]
    assert adapter.lookup(req).post_id == seen.post_id
    assert (adapter.lookup(req) or adapter.publish(req)).post_id == seen.post_id
    assert len(twin.visible(REF)) == 1 and twin.quota_usage(REF) == 1


def test_a_lost_container_answer_publishes_nothing_and_the_retry_posts_once(adapter, twin,
                                                                           http, clock):
    req = request(clock)
    http.plant(Fault("POST", r"/media$", "lose_answer"))
    with pytest.raises(Unavailable):  # creating a container publishes nothing
        adapter.publish(req)
    assert twin.visible(REF) == []
    adapter.publish(req)
    assert len(twin.visible(REF)) == 1  # the orphan container just expires


def test_a_lost_media_publish_answer_never_leads_to_a_second_post(adapter, twin, http, clock):
    twin.set_admin_tasks(REF, False)
    req = request(clock, text="Fiestas con @ajuntamentcalp el 9 de abril")
    http.plant(Fault("POST", r"/media_publish$", "lose_answer"))
    with pytest.raises(OutcomeUnknown):
        adapter.publish(req)
    assert [twin.container_status(c) for c in twin.containers(REF)] == ["PUBLISHED"]
    adapter.lookup(req) or adapter.publish(req)
    assert len(twin.visible(REF)) == 1


def test_a_lost_reply_answer_is_found_by_lookup(adapter, twin, http, clock):
    ref = adapter.publish(request(clock))
    req = request(clock, "reply", "Corrección: el lunes.", target=ref)
    http.plant(Fault("POST", r"/comments$", "lose_answer"))
    with pytest.raises(OutcomeUnknown):
        adapter.reply(req)
    found = adapter.lookup(req)
    assert [r.post_id for r in twin.visible(REF)[0].replies] == [found.post_id]


def test_lookup_of_a_reply_ignores_a_citizens_comment_with_the_same_words(adapter, twin, clock):
    ref = adapter.publish(request(clock))
    twin.comment_as_citizen(ref.post_id, "Corrección: el lunes.")
    assert adapter.lookup(request(clock, "reply", "Corrección: el lunes.", target=ref)) is None


# --- refusals ---------------------------------------------------------------------------------

def test_an_expired_token_is_an_auth_error_and_verify_says_not_ok(adapter, twin, clock):
    assert adapter.verify().ok
    twin.expire_token(REF)
    with pytest.raises(AuthError):
        adapter.publish(request(clock))
    assert not adapter.verify().ok and twin.visible(REF) == []


def test_an_application_rate_limit_is_rate_limited_with_its_regain_time(adapter, twin, clock):
    twin.throttle(REF, 4, minutes=30)
    with pytest.raises(RateLimited) as info:
        adapter.publish(request(clock))
    assert info.value.retry_after_s == 30 * 60 and twin.visible(REF) == []


def test_an_instagram_business_use_case_rate_limit_is_rate_limited(adapter, twin, clock):
    twin.throttle(REF, 80002, minutes=10)
    with pytest.raises(RateLimited):
        adapter.publish(request(clock))


def test_a_graph_version_graph_never_released_is_refused(twin, clock, monkeypatch):
    adapter = build(twin, clock, monkeypatch, graph_version="v99.0")
    with pytest.raises(Rejected, match="Unknown path components"):
        adapter.publish(request(clock))
    assert twin.visible(REF) == [] and twin.containers(REF) == []


def test_another_accounts_media_is_not_reachable_with_this_token(http, clock, monkeypatch):
    twin = make_twin(http, clock)
    twin.add_account("instagram:ayto-benissa")
    calp = build(twin, clock, monkeypatch)
    ref = calp.publish(request(clock))
    for name, value in twin.env().items():
        monkeypatch.setenv(name, value)
    entry = twin.account_entry("instagram:ayto-benissa", "comunicacion")
    benissa = make_adapter(AccountConfig.from_mapping("instagram:ayto-benissa", entry), "live")
    with pytest.raises(Rejected, match="does not exist"):
        benissa.reply(dataclasses.replace(
            request(clock, "reply", "Intruso", target=ref), account="instagram:ayto-benissa"))
    assert twin.visible("instagram:ayto-benissa") == [] and twin.visible(REF)[0].replies == ()


def test_posts_from_several_worker_threads_each_appear_once(adapter, twin, clock):
    from concurrent.futures import ThreadPoolExecutor

    texts = [f"Aviso {i}" for i in range(10)]
    with ThreadPoolExecutor(max_workers=5) as pool:
        refs = list(pool.map(lambda t: adapter.publish(request(clock, text=t)), texts))
    seen = twin.visible(REF)
    assert sorted(p.text for p in seen) == sorted(texts)
    assert len({r.post_id for r in refs}) == 10 == len(seen) == twin.quota_usage(REF)


def test_an_image_that_is_not_jpeg_is_rejected_before_anything_is_published(http, clock,
                                                                           monkeypatch):
    poster = "https://www.calp.es/img/cartel.png"
    twin = make_twin(http, clock, not_jpeg={poster})
    adapter = build(twin, clock, monkeypatch)
    with pytest.raises(Rejected, match="format is not supported"):
        adapter.publish(request(clock, images=((poster, "Cartel"),)))
    assert twin.visible(REF) == [] and twin.quota_usage(REF) == 0
