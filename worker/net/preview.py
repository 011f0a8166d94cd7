"""What a web page says of itself for a link card: pure (the HTML in, the preview out).

The Open Graph tags first (``og:title``, ``og:description``, ``og:image``: what the page's
own authors chose for previews, and what every network's card reader takes), then the
``twitter:`` ones, then the ``<title>`` and the ``description`` meta. Entities are decoded,
whitespace collapsed, lengths capped; an image address is made absolute against the page's.
A page that gives no title gives no preview: a card that says nothing is worse than none.
"""

from __future__ import annotations

import dataclasses
import html.parser
from urllib.parse import urljoin

#: what a card shows at most (bsky.app cuts longer texts anyway)
TITLE_MAX = 300
DESCRIPTION_MAX = 1000


@dataclasses.dataclass(frozen=True)
class Preview:
    title: str
    description: str
    #: the absolute address of the page's preview image, or None
    image_url: str | None


class _Head(html.parser.HTMLParser):
    """Collects the meta tags and the title; stops caring after ``</head>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title = ""
        self._in_title = False
        self._done = False

    def handle_starttag(self, tag, attrs):
        if self._done:
            return
        values = {name.lower(): (value or "") for name, value in attrs}
        if tag == "meta":
            key = (values.get("property") or values.get("name") or "").strip().lower()
            if key and "content" in values and key not in self.meta:
                self.meta[key] = values["content"]
        elif tag == "title":
            self._in_title = True
        elif tag == "body":
            self._done = True

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag == "head":
            self._done = True

    def handle_data(self, data):
        if self._in_title and not self._done:
            self.title += data


def _clean(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def page_preview(page: str, page_url: str) -> Preview | None:
    """The preview of ``page`` (HTML) found at ``page_url``; None without a title."""
    head = _Head()
    try:
        head.feed(page)
        head.close()
    except Exception:  # noqa: BLE001 - html.parser is lenient; a page it chokes on has no card
        return None
    meta = head.meta

    def first(*keys: str) -> str:
        return next((meta[k] for k in keys if meta.get(k, "").strip()), "")

    title = _clean(first("og:title", "twitter:title") or head.title, TITLE_MAX)
    if not title:
        return None
    description = _clean(first("og:description", "twitter:description", "description"),
                         DESCRIPTION_MAX)
    image = first("og:image:secure_url", "og:image", "og:image:url", "twitter:image").strip()
    image_url = urljoin(page_url, image) if image else None
    if image_url and not image_url.startswith(("https://", "http://")):
        image_url = None  # data:, javascript: and the like are no image to fetch
    return Preview(title, description, image_url)
