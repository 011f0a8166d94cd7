"""The engine publishes through every adapter: the real live adapter of each platform (its real
client library), HTTP answered underneath (``responses`` for requests-based clients, ``respx``
for httpx-based ones) in the shapes the adapter tests use, one job scheduled ~1 s ahead through
the store, dispatcher and dramatiq worker. The iCalendar feed is written to a file instead.
"""

from __future__ import annotations

import dataclasses
import json
import types
from typing import Callable
from urllib.parse import parse_qs, parse_qsl

import httpx
import icalendar
import pytest
import responses
import respx
from responses.registries import OrderedRegistry

from adapters.accounts import AccountConfig
from adapters.bluesky import BlueskyAdapter
from adapters.facebook import FacebookAdapter
from adapters.ics import IcsAdapter
from adapters.instagram import InstagramAdapter
from adapters.linkedin import LinkedInAdapter, little_text
from adapters.mastodon import MastodonAdapter
from adapters.telegram import TelegramAdapter
from adapters.threads import ThreadsAdapter
from adapters.x import XAdapter
from tests import test_adapter_bluesky as bsky, test_adapter_facebook as fb
from tests import test_adapter_instagram as ig, test_adapter_linkedin as li
from tests import test_adapter_mastodon as masto, test_adapter_telegram as tg, test_adapter_x as x
from tests import test_adapter_threads as th
from tests.contract.cases import TOKEN
from tests.enginekit import FakeSourcePlan, hold_still, make_job, utc_in, wait_for
from tests.test_engine import now, published
from worker.jobs import EventInfo, Job, PlannedImage
from worker.engine.sync import apply_plan

#: accents, an ampersand and a comma: each platform's body encoding must carry them intact
TEXT = "Pleno municipal: presupuestos & ordenanzas, jueves a las 19:00 en el salón de plenos"


def account(ref: str, monkeypatch, credentials: dict[str, str], **data) -> AccountConfig:
    """An account whose credentials come from (monkeypatched) environment variables."""
    specs = {}
    for name, value in credentials.items():
        var = f"PT_{ref.split(':')[0].upper()}_{name.upper()}"
        monkeypatch.setenv(var, value)
        specs[name] = {"env": var}
    return AccountConfig.from_mapping(ref, {"department": "promocion", "credentials": specs,
                                            **data})


def form(body) -> dict:
    return dict(parse_qsl(body if isinstance(body, str) else body.decode()))


def requests_sent(http, method: str, url: str) -> list:
    return [c.request for c in http.requests.calls
            if c.request.method == method and c.request.url.split("?")[0] == url]


@dataclasses.dataclass(frozen=True)
class Platform:
    """One row: build the live adapter, answer its publish path, read back what it sent."""

    account: str
    build: Callable  # (monkeypatch, tmp_path) -> adapter
    answer: Callable  # (http) -> None: install the publish path's answers
    texts: Callable  # (http, tmp_path) -> the texts of the publish requests received
    expect: Callable  # (job, tmp_path) -> the (post id, URL) the stored PostRef must hold
    job: Callable[[Job], Job] = lambda job: job


def _ig_answer(http):
    ig.container(http.requests)
    ig.status(http.requests)
    ig.media_publish(http.requests)
    ig.permalink(http.requests)
    # the engine's quota gate reads the publishing limit before publishing: one slot used
    http.requests.add(responses.GET, f"{ig.GRAPH}/{ig.IG_USER}/content_publishing_limit",
                      json={"data": [{"quota_usage": 1, "config": {"quota_total": 50,
                                                                    "quota_duration": 86400}}]})


def _ig_texts(http, _):
    """The caption goes with the container; only media_publish (of that container) posts."""
    made = [form(r.body) for r in requests_sent(http, "POST", f"{ig.GRAPH}/{ig.IG_USER}/media")]
    posted = [form(r.body)["creation_id"]
              for r in requests_sent(http, "POST", f"{ig.GRAPH}/{ig.IG_USER}/media_publish")]
    assert posted == [ig.CONTAINER] and [m["image_url"] for m in made] == [ig.IMAGE]
    return [m["caption"] for m in made]


def _bsky_answer(http):
    http.httpx.post(bsky.CREATE_SESSION).mock(
        return_value=httpx.Response(200, json=bsky.session_json()))
    http.httpx.post(bsky.CREATE_RECORD).mock(
        return_value=httpx.Response(200, json=bsky.record_json()))


def _feed(tmp_path):
    return tmp_path / "feed" / "ics" / "cal.ics"  # the job's calendar is "cal"


def _feed_events(tmp_path) -> list:
    return icalendar.Calendar.from_ical(_feed(tmp_path).read_bytes()).walk("VEVENT")


EVENT = EventInfo(start_utc="2027-04-15T17:00:00.000000+00:00",
                  end_utc="2027-04-15T19:00:00.000000+00:00", all_day=False,
                  title="Pleno municipal", place="Salón de plenos",
                  stream_url="https://calp.es/directo", description="")

PLATFORMS = {
    "x": Platform(
        "x:ayto-test",
        lambda mp, _: XAdapter(account("x:ayto-test", mp, {n: f"{TOKEN}-{n}" for n in (
            "consumer_key", "consumer_secret", "access_token", "access_token_secret")}),
            timeout_s=5),
        lambda http: http.requests.add(responses.POST, x.TWEETS, status=201,
                                       json={"data": x.tweet_json(x.NEW_ID, TEXT)}),
        lambda http, _: [json.loads(r.body)["text"] for r in requests_sent(http, "POST", x.TWEETS)],
        lambda *_: (x.NEW_ID, f"https://x.com/i/web/status/{x.NEW_ID}")),
    "facebook": Platform(
        "facebook:ayto-test",
        lambda mp, _: FacebookAdapter(account(
            "facebook:ayto-test", mp, {"page_access_token": TOKEN},
            options={"page_id": fb.PAGE, "graph_version": "v21.0"}), timeout_s=5),
        lambda http: http.requests.add(responses.POST, f"{fb.GRAPH}/{fb.PAGE}/feed",
                                       json={"id": fb.POST_ID}),
        lambda http, _: [form(r.body)["message"]
                         for r in requests_sent(http, "POST", f"{fb.GRAPH}/{fb.PAGE}/feed")],
        lambda *_: (fb.POST_ID, f"https://www.facebook.com/{fb.POST_ID}")),
    "mastodon": Platform(
        "mastodon:ayto-test",
        lambda mp, _: MastodonAdapter(account(
            "mastodon:ayto-test", mp, {"access_token": TOKEN},
            options={"instance": masto.BASE, "text_limit": 500}), timeout_s=5),
        lambda http: http.requests.add(responses.POST, masto.POST,
                                       json=masto.status_json(text=TEXT)),
        lambda http, _: [parse_qs(r.body)["status"][0]
                         for r in requests_sent(http, "POST", masto.POST)],
        lambda *_: (masto.STATUS_ID, f"{masto.BASE}/@ayto/{masto.STATUS_ID}")),
    "bluesky": Platform(
        "bluesky:ayto-test",
        lambda mp, _: BlueskyAdapter(account("bluesky:ayto-test", mp, {"app_password": TOKEN},
                                             handle=bsky.HANDLE), timeout_s=5),
        _bsky_answer,
        lambda http, _: [json.loads(c.request.content)["record"]["text"]
                         for c in http.httpx.calls if c.request.url == bsky.CREATE_RECORD],
        lambda *_: (bsky.NEW_URI, f"https://bsky.app/profile/{bsky.HANDLE}/post/3lbfz2xkq7c2s")),
    "telegram": Platform(
        "telegram:ayto-test",
        lambda mp, _: TelegramAdapter(account("telegram:ayto-test", mp, {"bot_token": TOKEN},
                                              options={"chat_id": "@AjuntamentTest"}), timeout_s=5),
        lambda http: http.httpx.post(f"{tg.BOT_URL}/sendMessage").mock(
            return_value=httpx.Response(200, **tg.ok(tg.message(42, TEXT)))),
        lambda http, _: [form(c.request.content)["text"] for c in http.httpx.calls
                         if c.request.url == f"{tg.BOT_URL}/sendMessage"],
        lambda *_: ("42", "https://t.me/AjuntamentTest/42")),
    "instagram": Platform(
        "instagram:ayto-test",
        lambda mp, _: InstagramAdapter(account(
            "instagram:ayto-test", mp, {"access_token": TOKEN},
            options={"ig_user_id": ig.IG_USER, "graph_version": "v21.0"}), timeout_s=5),
        _ig_answer, _ig_texts, lambda *_: (ig.MEDIA, ig.PERMALINK),
        job=lambda job: dataclasses.replace(job, images=(PlannedImage(ig.IMAGE, "Cartel"),))),
    "linkedin": Platform(
        "linkedin:ayto-test",
        lambda mp, _: LinkedInAdapter(account(
            "linkedin:ayto-test", mp, {"access_token": TOKEN},
            options={"organization_id": "5515715", "linkedin_version": "202411"}), timeout_s=5),
        lambda http: http.httpx.post(li.POSTS).mock(return_value=li.created()),
        lambda http, _: [json.loads(c.request.content)["commentary"] for c in http.httpx.calls
                         if c.request.url == li.POSTS and c.request.method == "POST"],
        lambda *_: (li.NEW_URN, f"https://www.linkedin.com/feed/update/{li.NEW_URN}/")),
    "threads": Platform(
        "threads:ayto-test",
        lambda mp, _: ThreadsAdapter(account("threads:ayto-test", mp, {"access_token": TOKEN},
                                             options={"user_id": th.USER}), timeout_s=5),
        lambda http: (th.text_post(http.requests), th.permalink(http.requests)),
        lambda http, _: [form(r.body)["text"]
                         for r in requests_sent(http, "POST", f"{th.API}/{th.USER}/threads")],
        lambda *_: (th.MEDIA, th.PERMALINK)),
    "ics": Platform(
        "ics:agenda-test",
        lambda mp, tmp: IcsAdapter(account("ics:agenda-test", mp, {}), tmp / "feed"),
        lambda http: None,
        lambda http, tmp: [str(e["DESCRIPTION"]) for e in _feed_events(tmp)],
        lambda job, tmp: (job.id, f"{_feed(tmp).resolve().as_uri()}#{job.id}@pregonero"),
        job=lambda job: dataclasses.replace(job, kind="event", category="event", event=EVENT)),
}


@pytest.fixture
def http():
    """Every HTTP request of either library is answered here, or refused: nothing escapes.
    Requested before ``engine`` so that it is torn down after the worker has stopped."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps, \
            respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        yield types.SimpleNamespace(requests=rsps, httpx=router)


@pytest.mark.parametrize("name", list(PLATFORMS))
def test_the_engine_publishes_one_job_through_the_live_adapter_of(name, http, engine,
                                                                   monkeypatch, tmp_path):
    platform = PLATFORMS[name]
    adapter = platform.build(monkeypatch, tmp_path)
    engine.adapter_for_account = lambda acct: adapter if acct == platform.account else None
    platform.answer(http)
    job = platform.job(make_job(f"pleno-{name}", utc_in(1.0), account=platform.account, text=TEXT))
    apply_plan(engine.store, [FakeSourcePlan("cal.yaml", True, (job,))], now())

    stored = wait_for(lambda: published(engine, job.id), what=f"{job.id} published")
    expected = little_text(TEXT) if name == "linkedin" else TEXT
    assert platform.texts(http, tmp_path) == [expected]
    assert stored.ref.platform == name and stored.ref.account == platform.account
    assert (stored.ref.post_id, stored.ref.url) == platform.expect(job, tmp_path)
    assert stored.lateness_ms >= 0
    if name == "ics":
        (event,) = _feed_events(tmp_path)
        assert str(event["SUMMARY"]) == EVENT.title and str(event["LOCATION"]) == EVENT.place
        assert event.decoded("DTSTART").isoformat() == "2027-04-15T17:00:00+00:00"
        assert str(event["UID"]) == f"{job.id}@pregonero" and event["SEQUENCE"] == 0


@pytest.fixture
def ordered():
    """``responses`` answering in registration order: first a 503, then the status."""
    with responses.RequestsMock(registry=OrderedRegistry) as rsps:  # all must fire, too
        yield rsps


def test_a_5xx_from_mastodon_is_retried_by_the_engine_and_the_status_is_published_once(
        ordered, engine, monkeypatch, tmp_path):
    adapter = PLATFORMS["mastodon"].build(monkeypatch, tmp_path)
    engine.adapter_for_account = lambda acct: adapter
    ordered.post(masto.POST, **masto.error(503, "Service Unavailable"))
    ordered.post(masto.POST, json=masto.status_json(text=TEXT))
    job = make_job("pleno-reintento", utc_in(1.0), account="mastodon:ayto-test", text=TEXT)
    apply_plan(engine.store, [FakeSourcePlan("cal.yaml", True, (job,))], now())

    stored = wait_for(lambda: published(engine, job.id), what="published after the 503")
    hold_still(lambda: len(ordered.calls) == 2, 0.4, what="no call after the success")
    assert [c.response.status_code for c in ordered.calls] == [503, 200]  # one success
    assert [parse_qs(c.request.body)["status"][0] for c in ordered.calls] == [TEXT, TEXT]
    # the retry carries the same Idempotency-Key: Mastodon itself would not post it twice
    assert len({c.request.headers["Idempotency-Key"] for c in ordered.calls}) == 1
    assert stored.state == "published" and stored.ref.post_id == masto.STATUS_ID
    assert stored.lateness_ms >= 300  # published on the retry, after the 0.3 s backoff
    assert any("unavailable" in a["why"] for a in engine.store.audit(job.id))
