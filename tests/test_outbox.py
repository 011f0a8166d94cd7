"""The outbox writes one fsynced JSON line per action and behaves like the platform it replaces."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing

import pytest

from adapters import capabilities_for
from adapters.factory import make_adapter
from adapters.accounts import AccountConfig
from adapters.base import (Adapter, Image, NotSupported, OutcomeUnknown, PostRequest,
                           RateLimited, Rejected, Unavailable)
from adapters.outbox import OutboxAdapter

UTC = dt.timezone.utc
NOW = dt.datetime(2025, 3, 1, 17, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: dt.datetime = NOW):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def request(n: int = 1, action: str = "publish", text: str = "Pleno hoy a las 18:00",
            target=None, **kw) -> PostRequest:
    return PostRequest(job_id=f"cal/pleno-{n}/x:ayto-calp/es", account="x:ayto-calp",
                       action=action, text=text, language="es",
                       idempotency_key=kw.pop("key", f"key-{n}-{action}"),
                       due=dt.datetime(2025, 3, 1, 16, 59, tzinfo=UTC), target=target, **kw)


def outbox(tmp_path, platform: str = "x", clock=None, **kw) -> OutboxAdapter:
    return OutboxAdapter("x:ayto-calp", capabilities_for(platform), tmp_path,
                         clock=clock or Clock(), **kw)


def lines(tmp_path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "outbox.jsonl").read_text().splitlines()]


def test_publishing_appends_one_json_line_with_the_required_fields(tmp_path):
    box = outbox(tmp_path)
    ref = box.publish(request(images=(Image("a.jpg", "Fachada del ayuntamiento"),),
                              link="https://calp.es"))
    (line,) = lines(tmp_path)
    assert line["action"] == "publish"
    assert line["account"] == "x:ayto-calp"
    assert line["job_id"] == "cal/pleno-1/x:ayto-calp/es"
    assert line["text"] == "Pleno hoy a las 18:00" and line["language"] == "es"
    assert line["due"] == "2025-03-01T16:59:00.000000+00:00"
    assert line["at"] == "2025-03-01T17:00:00.000000+00:00"
    assert line["idempotency_key"] == "key-1-publish"
    assert line["post_id"] == ref.post_id == "outbox-1"
    assert line["url"].startswith("file://") and line["url"].endswith("outbox.jsonl#outbox-1")
    assert line["link"] == "https://calp.es"
    assert line["images"] == [{"path": "a.jpg", "alt": "Fachada del ayuntamiento"}]
    assert ref.platform == "x" and ref.url == line["url"]


def test_the_outbox_is_an_adapter(tmp_path):
    assert isinstance(outbox(tmp_path), Adapter)
    assert outbox(tmp_path).verify().ok


def test_replies_corrections_and_retractions_record_their_target(tmp_path):
    box = outbox(tmp_path, platform="mastodon")
    ref = box.publish(request())
    box.reply(request(2, "reply", "Corrección: a las 19:00", target=ref))
    box.correct(request(3, "correct", "Pleno hoy a las 19:00", target=ref))
    box.retract(request(4, "retract", "", target=ref))
    actions = [(line["action"], line["target"] and line["target"]["post_id"])
               for line in lines(tmp_path)]
    assert actions == [("publish", None), ("reply", "outbox-1"), ("correct", "outbox-1"),
                       ("retract", "outbox-1")]


def test_publish_with_a_target_is_a_reply(tmp_path):
    box = outbox(tmp_path)
    ref = box.publish(request())
    box.publish(request(2, target=ref))
    assert lines(tmp_path)[1]["action"] == "reply"


def test_lookup_finds_the_post_of_an_earlier_attempt_by_idempotency_key(tmp_path):
    box = outbox(tmp_path)
    assert box.lookup(request()) is None
    ref = box.publish(request())
    assert box.lookup(request()) == ref
    assert box.lookup(request(action="correct", target=ref)) is None
    assert box.lookup(request(2)) is None


def test_an_outcome_unknown_after_send_writes_the_line_and_lookup_finds_it(tmp_path):
    box = outbox(tmp_path, fail_plan=lambda req: OutcomeUnknown("timeout after send"))
    with pytest.raises(OutcomeUnknown):
        box.publish(request())
    assert len(lines(tmp_path)) == 1
    assert box.lookup(request()).post_id == "outbox-1"


@pytest.mark.parametrize("error", [RateLimited("429", retry_after_s=60), Unavailable("503")])
def test_failures_before_send_write_nothing(tmp_path, error):
    box = outbox(tmp_path, fail_plan=lambda req: error)
    with pytest.raises(type(error)):
        box.publish(request())
    assert not (tmp_path / "outbox.jsonl").exists() or lines(tmp_path) == []
    assert box.lookup(request()) is None


def test_the_fail_plan_can_fail_only_some_requests(tmp_path):
    calls = []

    def plan(req):
        calls.append(req.job_id)
        return Unavailable("first attempt fails") if len(calls) == 1 else None

    box = outbox(tmp_path, fail_plan=plan)
    with pytest.raises(Unavailable):
        box.publish(request())
    box.publish(request())
    assert len(lines(tmp_path)) == 1


def test_text_over_the_platform_limit_is_rejected_with_its_counting(tmp_path):
    with pytest.raises(Rejected, match="x-weighted"):
        outbox(tmp_path).publish(request(text="ñ" * 281))
    outbox(tmp_path).publish(request(text="https://calp.es/" + "a" * 400))  # a link counts 23
    with pytest.raises(Rejected, match="300"):
        outbox(tmp_path, "bluesky").publish(request(text="a" * 301))


def test_instagram_posts_need_an_image(tmp_path):
    with pytest.raises(Rejected, match="image"):
        outbox(tmp_path, "instagram").publish(request())


def test_too_many_images_are_rejected(tmp_path):
    images = tuple(Image(f"{i}.jpg", "alt") for i in range(5))
    with pytest.raises(Rejected, match="5 images"):
        outbox(tmp_path).publish(request(images=images))


def test_correcting_on_a_platform_without_edits_is_not_supported(tmp_path):
    box = outbox(tmp_path, "bluesky")
    ref = box.publish(request())
    with pytest.raises(NotSupported, match="reply"):
        box.correct(request(2, "correct", target=ref))


def test_x_edits_get_a_new_id_within_30_minutes_and_are_refused_after(tmp_path):
    clock = Clock()
    box = outbox(tmp_path, "x", clock=clock)
    ref = box.publish(request())
    clock.now = NOW + dt.timedelta(minutes=29)
    edited = box.correct(request(2, "correct", "Pleno a las 19:00", target=ref))
    assert edited.post_id != ref.post_id
    # the window counts from the original publication, not from the last edit
    assert edited.extra["published_at"] == ref.extra["published_at"]
    clock.now = NOW + dt.timedelta(minutes=31)
    with pytest.raises(NotSupported, match="30 min"):
        box.correct(request(3, "correct", "Pleno a las 20:00", target=edited))


def test_x_refuses_a_sixth_edit(tmp_path):
    box = outbox(tmp_path, "x")
    ref = box.publish(request())
    for n in range(5):
        ref = box.correct(request(10 + n, "correct", f"Edición {n}", target=ref))
    with pytest.raises(NotSupported, match="at most 5"):
        box.correct(request(20, "correct", "Una más", target=ref))


def test_mastodon_edits_keep_the_post_id(tmp_path):
    box = outbox(tmp_path, "mastodon")
    ref = box.publish(request())
    assert box.correct(request(2, "correct", target=ref)).post_id == ref.post_id


def test_telegram_refuses_to_delete_after_48_hours(tmp_path):
    clock = Clock()
    box = outbox(tmp_path, "telegram", clock=clock)
    ref = box.publish(request())
    clock.now = NOW + dt.timedelta(hours=49)
    with pytest.raises(NotSupported, match="48 h"):
        box.retract(request(2, "retract", target=ref))


def test_make_adapter_gives_the_outbox_with_the_accounts_capabilities(tmp_path):
    account = AccountConfig.from_mapping("mastodon:calp", {
        "department": "comunicacion", "options": {"text_limit": 1000}})
    adapter = make_adapter(account, "outbox", home=tmp_path)
    assert isinstance(adapter, OutboxAdapter)
    assert adapter.capabilities.platform == "mastodon"
    assert adapter.capabilities.text_limit == 1000


def test_make_adapter_live_refuses_an_account_its_live_adapter_cannot_use(tmp_path):
    # every platform has a live adapter now; one without its required options is refused
    account = AccountConfig.from_mapping("linkedin:ayto-calp", {"department": "comunicacion"})
    with pytest.raises(ValueError, match="organization_id"):
        make_adapter(account, "live", home=tmp_path)
    with pytest.raises(ValueError, match="transport"):
        make_adapter(account, "carrier-pigeon", home=tmp_path)


def test_a_torn_last_line_is_skipped_by_lookup(tmp_path):
    box = outbox(tmp_path)
    box.publish(request())
    with open(tmp_path / "outbox.jsonl", "a") as handle:
        handle.write('{"action": "publish", "idempot')
    assert box.lookup(request()).post_id == "outbox-1"


def _append_many(home: str, worker: int, count: int) -> None:
    box = OutboxAdapter(f"x:w{worker}", capabilities_for("telegram"), home)
    for n in range(count):
        # long texts make interleaving visible if lines were written in pieces
        box.publish(request(worker * 1000 + n, text=f"{worker}-{n} " + "ñ" * 3000))


def test_concurrent_appends_from_several_processes_give_valid_json_lines_only(tmp_path):
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(str(tmp_path), w, 25))
               for w in range(6)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=60)
        assert process.exitcode == 0
    records = lines(tmp_path)  # json.loads raises on any torn or interleaved line
    assert len(records) == 6 * 25
    assert len({record["idempotency_key"] for record in records}) == 6 * 25
    # post ids are line numbers, counted under the lock: unique
    assert sorted(int(r["post_id"].split("-")[1]) for r in records) == list(range(1, 151))
