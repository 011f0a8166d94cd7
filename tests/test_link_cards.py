"""Link cards on Bluesky: the engine reads the linked page as the network policy allows and
the post embeds what the page says of itself (app.bsky.embed.external), so a citizen sees the
sede's page with its title and image instead of a bare address; a page that gives nothing
costs the post nothing."""

from __future__ import annotations

import dataclasses
import io
import json

from adapters.base import Image
from adapters.capabilities import BLUESKY, MASTODON
from tests.contract.cases import request
from tests.netkit import LocalServer, page
from tests.test_adapter_bluesky import ACCOUNT
from worker.engine.link_cards import read_card, with_card
from worker.net.guard import NetPolicy
from worker.net.preview import page_preview

LOCAL = NetPolicy(allow_hosts=("127.0.0.1",))

SEDE = """<!doctype html><html lang="es"><head>
<meta charset="utf-8"><title>Sede electrónica - Ayuntamiento</title>
<meta property="og:title" content="Ayudas al alquiler joven 2027 &amp; bases">
<meta property="og:description" content="Solicitudes hasta el 9 de abril.   Requisitos y documentación.">
<meta property="og:image" content="/img/cartel.png">
</head><body><h1>Ayudas</h1><meta property="og:title" content="not this one"></body></html>"""


def _png(width=120, height=63) -> bytes:
    from PIL import Image as Picture

    out = io.BytesIO()
    Picture.new("RGB", (width, height), "white").save(out, "PNG")
    return out.getvalue()


def _image(data: bytes):
    return lambda handler: (200, {"Content-Type": "image/png"}, data)


def test_the_page_says_its_title_description_and_image_as_open_graph_gives_them():
    preview = page_preview(SEDE, "https://sede.calp.es/tramites/ayudas")
    assert preview.title == "Ayudas al alquiler joven 2027 & bases"
    assert preview.description == "Solicitudes hasta el 9 de abril. Requisitos y documentación."
    assert preview.image_url == "https://sede.calp.es/img/cartel.png"


def test_a_page_without_open_graph_falls_back_on_its_title_and_description_meta():
    preview = page_preview('<html><head><title> Pleno  municipal </title><meta name="description" '
                           'content="Orden del día"></head></html>', "https://calp.es/")
    assert (preview.title, preview.description, preview.image_url) == (
        "Pleno municipal", "Orden del día", None)


def test_a_page_without_any_title_gives_no_card_and_a_script_image_is_no_image():
    assert page_preview("<html><body>En construcción</body></html>", "https://calp.es/") is None
    preview = page_preview('<title>T</title><meta property="og:image" content="javascript:x">',
                           "https://calp.es/")
    assert preview.image_url is None


def test_the_card_is_read_through_the_network_guard_with_its_image_bytes():
    with LocalServer({"/ayudas": page(SEDE), "/img/cartel.png": _image(_png())}) as server:
        card = read_card(server.url("/ayudas"), policy=LOCAL, timeout_s=3,
                         image_types=BLUESKY.image_types)
    assert card.title.startswith("Ayudas al alquiler joven") and card.uri.endswith("/ayudas")
    assert card.thumb.data.startswith(b"\x89PNG")


def test_an_internal_address_is_never_read_and_the_post_goes_without_card():
    with LocalServer({"/ayudas": page(SEDE)}) as server:
        link = server.url("/ayudas")
        post = dataclasses.replace(request("publish", account=ACCOUNT), link=link)
        assert with_card(post, BLUESKY, policy=NetPolicy(), timeout_s=3).card is None
        assert server.seen == []  # the default policy refuses 127.0.0.1 before connecting


def test_an_image_over_a_megabyte_leaves_a_card_without_image():
    big = _png(1800, 1800) + b"\0" * 1_000_001
    with LocalServer({"/ayudas": page(SEDE), "/img/cartel.png": _image(big)}) as server:
        card = read_card(server.url("/ayudas"), policy=LOCAL, timeout_s=3,
                         image_types=BLUESKY.image_types)
    assert card is not None and card.thumb is None


def test_only_platforms_that_need_it_and_posts_without_images_get_a_card():
    with LocalServer({"/ayudas": page(SEDE)}) as server:
        post = dataclasses.replace(request("publish", account=ACCOUNT), link=server.url("/ayudas"))
        assert with_card(post, MASTODON, policy=LOCAL, timeout_s=3).card is None
        pictured = dataclasses.replace(post, images=(Image("cartel.png", "Cartel", b"x"),))
        assert with_card(pictured, BLUESKY, policy=LOCAL, timeout_s=3).card is None
        assert with_card(post, BLUESKY, policy=LOCAL, timeout_s=3).card is not None
        assert [path for path, _ in server.seen].count("/ayudas") == 1


def test_the_engine_sends_a_bluesky_post_with_the_card_of_its_link_and_others_without(
        engine_factory, tmp_path):
    from tests.enginekit import FakeSourcePlan, make_job, now, utc_in, wait_for
    from worker.engine.sync import apply_plan

    from adapters import capabilities_for
    from adapters.outbox import OutboxAdapter

    engine = engine_factory(network=LOCAL)
    # each account with its own platform's capabilities (the default is the outbox's)
    engine.adapter_for_account = lambda ref: OutboxAdapter(
        ref, capabilities_for(ref.split(":")[0]), engine.home)
    with LocalServer({"/ayudas": page(SEDE), "/img/cartel.png": _image(_png())}) as server:
        link = server.url("/ayudas")
        jobs = [dataclasses.replace(make_job("bases", utc_in(1.0), account=ref),
                                    link=link, text=f"Bases de las ayudas\n{link}")
                for ref in ("bluesky:ayto-test", "mastodon:ayto-test")]
        apply_plan(engine.store, [FakeSourcePlan("cal.yaml", True, tuple(jobs))], now())
        for job in jobs:
            wait_for(lambda: engine.store.state(job.id) == "published", what=job.id)
    records = {r["account"]: r for r in map(json.loads, (engine.home / "outbox.jsonl")
                                               .read_text().splitlines())}
    card = records["bluesky:ayto-test"]["card"]
    assert card["title"] == "Ayudas al alquiler joven 2027 & bases" and card["image"] is True
    assert records["mastodon:ayto-test"].get("card") is None  # Mastodon builds its own
