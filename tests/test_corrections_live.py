"""Corrections through the real X and Facebook adapters (tweepy, the Graph client), with HTTP
answered by ``responses``: the engine publishes, the deadline moves in the calendar file, the
X post gets a reply under it and the Facebook post is edited in place. Nothing is posted twice.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from urllib.parse import parse_qs

import pytest
import responses

from adapters.accounts import AccountConfig
from adapters.facebook import FacebookAdapter
from adapters.x import XAdapter
from tests.test_corrections import FB, X_CA, X_ES, make_world

UTC = dt.timezone.utc
API = "https://api.twitter.com"
GRAPH = "https://graph.facebook.com/v21.0"
PAGE = "1234567890"


@pytest.fixture
def live(engine, tmp_path, monkeypatch):
    for name in ("consumer_key", "consumer_secret", "access_token", "access_token_secret"):
        monkeypatch.setenv(f"TEST_X_{name.upper()}", f"secret-{name}")
    monkeypatch.setenv("TEST_FB_TOKEN", "secret-page-token")
    x_account = AccountConfig.from_mapping("x:ayto-test", {
        "department": "comunicacion",
        "credentials": {n: {"env": f"TEST_X_{n.upper()}"} for n in
                        ("consumer_key", "consumer_secret", "access_token", "access_token_secret")}})
    fb_account = AccountConfig.from_mapping("facebook:ayto-test", {
        "department": "comunicacion",
        "credentials": {"page_access_token": {"env": "TEST_FB_TOKEN"}},
        "options": {"page_id": PAGE, "graph_version": "v21.0"}})
    # X posts "were published" two hours ago: past X's 30-minute edit window
    x = XAdapter(x_account, timeout_s=5, clock=lambda: dt.datetime.now(UTC) - dt.timedelta(hours=2))
    fb = FacebookAdapter(fb_account, timeout_s=5)
    world = make_world(engine, tmp_path)
    outbox_for = world.adapter
    world.engine.adapter_for_account = lambda account: {"x:ayto-test": x,
                                                        "facebook:ayto-test": fb}.get(account) \
        or outbox_for(account)
    ids = itertools.count(1776000000000000001)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        def tweet(request):
            body = json.loads(request.body)
            return 201, {}, json.dumps({"data": {"id": str(next(ids)), "text": body["text"],
                                                 "edit_history_tweet_ids": []}})

        def fb_post(request):
            return 200, {}, json.dumps({"id": f"{PAGE}_{next(ids)}"})

        def fb_edit(request):
            return 200, {}, json.dumps({"success": True})

        def fb_comment(request):
            return 200, {}, json.dumps({"id": f"{next(ids)}_1"})

        rsps.add_callback(responses.POST, f"{API}/2/tweets", callback=tweet, content_type="application/json")
        rsps.add_callback(responses.POST, f"{GRAPH}/{PAGE}/feed", callback=fb_post, content_type="application/json")
        rsps.add_callback(responses.POST, responses.matchers.re.compile(
            rf"{GRAPH}/{PAGE}_\d+/comments"), callback=fb_comment, content_type="application/json")
        rsps.add_callback(responses.POST, responses.matchers.re.compile(rf"{GRAPH}/{PAGE}_\d+$"),
                          callback=fb_edit, content_type="application/json")
        world.rsps = rsps
        yield world


def calls(rsps, method, pattern):
    import re

    return [c.request for c in rsps.calls
            if c.request.method == method and re.search(pattern, c.request.url)]


def fb_form(request) -> dict:
    body = request.body if isinstance(request.body, str) else request.body.decode()
    return {k: v[0] for k, v in parse_qs(body).items()}


def test_a_moved_deadline_replies_on_x_and_edits_facebook_through_the_real_adapters(live):
    live.publish_entries(("anuncio",))
    tweets = calls(live.rsps, "POST", r"/2/tweets$")
    assert len(tweets) == 2  # es and ca, each once
    originals = {live.store.get(X_ES).ref.post_id, live.store.get(X_CA).ref.post_id}
    fb_posts = calls(live.rsps, "POST", rf"{PAGE}/feed$")
    assert len(fb_posts) == 1

    live.set_fact("plazo_fin", "2027-08-27")
    live.sync()
    live.wait_settled()

    tweets = [json.loads(r.body) for r in calls(live.rsps, "POST", r"/2/tweets$")]
    replies = [t for t in tweets if t.get("reply")]
    assert len(tweets) == 4 and len(replies) == 2
    assert {t["reply"]["in_reply_to_tweet_id"] for t in replies} == originals
    es = next(t for t in replies if "CORRECCIÓN" in t["text"])
    assert "«viernes 27 de agosto de 2027»" in es["text"] and "«viernes 20 de agosto de 2027»" in es["text"]
    edits = calls(live.rsps, "POST", rf"{GRAPH}/{PAGE}_\d+$")
    assert len(edits) == 1
    message = fb_form(edits[0])["message"]
    assert "viernes 27 de agosto de 2027" in message and "(Corregido:" in message \
        and "(Corregit:" in message
    assert edits[0].url.endswith(live.store.get(FB).ref.post_id)
    assert len(calls(live.rsps, "POST", rf"{PAGE}/feed$")) == 1   # never reposted
    assert live.store.get(FB).fields["v"] == "2" and live.store.get(X_ES).fields["v"] == "2"


def test_a_retraction_through_the_real_adapters_comments_and_replies(live):
    live.publish_entries(("anuncio",))
    from worker.corrections import writeback

    live.file.write_text(writeback.remove_entry_text(live.file.read_text(), "anuncio"))
    live.sync()
    live.wait_settled()
    replies = [json.loads(r.body) for r in calls(live.rsps, "POST", r"/2/tweets$")
               if json.loads(r.body).get("reply")]
    assert len(replies) == 2 and all(r["text"].startswith(("ANULADO", "ANUL·LAT")) for r in replies)
    comments = calls(live.rsps, "POST", r"/comments$")
    assert len(comments) == 1 and "ANULADO" in fb_form(comments[0])["message"]
    assert live.store.state(FB) == "retracted"
