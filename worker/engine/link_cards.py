"""The link card of a post, read from the linked page for platforms whose clients must
describe it (Bluesky: ``Capabilities.card_from_client``).

On Bluesky a link in a post's text is clickable (a facet) but shows no card unless the record
embeds one (``app.bsky.embed.external``: uri, title, description, optional thumb), which the
official app builds from the page before posting. Without it a town hall's post shows a bare
address where every other network shows the sede's page with its title. So, just before the
platform call, the engine reads the page the entry's ``link`` names (as the network policy
allows: the calendar is untrusted input, ``worker.net.fetch``), takes what it says of itself
(``worker.net.preview``) and its preview image (at most 1,000,000 bytes, an image type the
platform takes), and sends them as ``PostRequest.card``.

A card is a nicety, never a reason to hold a post: a page that is slow, refused, broken or
says nothing gives no card (logged), and the post goes out with its clickable link. The
reading happens in the dispatcher's lead time and is bounded by ``timeout_s``.
"""

from __future__ import annotations

import dataclasses

import structlog

from adapters.base import Capabilities, Image, LinkCard, PostRequest
from adapters.capabilities import BLUESKY_CARD_THUMB_MAX_BYTES
from adapters.imagetypes import sniff_image_type
from worker.net import fetch as netfetch
from worker.net.guard import NetPolicy
from worker.net.preview import page_preview

log = structlog.get_logger("pregonero.link_cards")

#: how much of the page is read: the head, where the tags live, comes first
PAGE_MAX_BYTES = 512 * 1024
USER_AGENT = "pregonero link card (+https://pregonero.example.org)"


def wants_card(request: PostRequest, caps: Capabilities) -> bool:
    """Whether this request should carry a card: a link, no images (a post shows one or the
    other), a platform that needs it from the client, and none read yet."""
    return (caps.card_from_client and request.link is not None and not request.images
            and request.card is None and request.action in ("publish", "reply"))


def read_card(url: str, *, policy: NetPolicy, timeout_s: float,
              image_types: frozenset[str], resolve: netfetch.Resolve | None = None
              ) -> LinkCard | None:
    """The card of ``url``, or None (why is logged) when the page gives none."""
    page = netfetch.fetch(url, policy=policy, timeout_s=timeout_s, max_bytes=PAGE_MAX_BYTES,
                          resolve=resolve, headers={"User-Agent": USER_AGENT})
    if page.status is None or not 200 <= page.status < 300:
        log.info("link_card_skipped", url=url,
                 reason=page.refused or page.error or f"HTTP {page.status}")
        return None
    preview = page_preview(page.text, page.final_url or url)
    if preview is None:
        log.info("link_card_skipped", url=url, reason="the page gives no title")
        return None
    thumb = None
    if preview.image_url:
        thumb = _thumb(preview.image_url, policy, timeout_s, image_types, resolve)
    return LinkCard(url, preview.title, preview.description, thumb)


def _thumb(url: str, policy: NetPolicy, timeout_s: float, image_types: frozenset[str],
           resolve) -> Image | None:
    """The page's preview image, if it is one the platform takes, small enough."""
    image = netfetch.fetch(url, policy=policy, timeout_s=timeout_s,
                           max_bytes=BLUESKY_CARD_THUMB_MAX_BYTES + 1, resolve=resolve,
                           headers={"User-Agent": USER_AGENT})
    data = image.content
    if image.status != 200:
        why = image.refused or image.error or f"HTTP {image.status}"
    elif image.truncated or len(data) > BLUESKY_CARD_THUMB_MAX_BYTES:
        why = f"larger than {BLUESKY_CARD_THUMB_MAX_BYTES:,} bytes"
    elif sniff_image_type(data) not in image_types:
        why = "not an image the platform takes"
    else:
        why = None
    if why:
        log.info("link_card_without_image", url=url, reason=why)
        return None
    return Image(url, "", data=data)


def with_card(request: PostRequest, caps: Capabilities, *, policy: NetPolicy,
              timeout_s: float, resolve: netfetch.Resolve | None = None) -> PostRequest:
    """``request`` with its link's card where the platform needs one (see module doc)."""
    if not wants_card(request, caps):
        return request
    card = read_card(request.link, policy=policy, timeout_s=timeout_s,
                     image_types=caps.image_types, resolve=resolve)
    return dataclasses.replace(request, card=card) if card else request
