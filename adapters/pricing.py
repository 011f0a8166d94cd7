"""What the platforms bill per request (data, with its source): since 2026 the X API bills
each request of a pay-per-use app, and a post carrying a link costs about 13 times one without.
Many town halls have no budget line for social networks, so ``pregonero plan`` says what a
calendar will cost before it is merged (``worker.costs``).

Prices are US dollars per billed resource, from X's pricing page and changelog (2026-04-16),
as read for the X twin (tests/twins/notes/x.md). A deployment whose contract differs sets its
own in ``config/policies.yaml`` (``costs: {x: {post_create: 0.015, ...}}``).
"""

from __future__ import annotations

from typing import Mapping

__all__ = ["X_PRICES", "X_PRICES_SOURCE", "X_PRICE_ITEMS", "X_LOOKUP_POSTS", "x_prices"]

#: how many of its own recent posts the X adapter reads to look one up (one page)
X_LOOKUP_POSTS = 50

X_PRICES_SOURCE = ("https://docs.x.com/x-api/getting-started/pricing (pay-per-use) and the "
                   "X API changelog of 2026-04-16")

#: what each billed resource costs, in US dollars
X_PRICES: Mapping[str, float] = {
    "post_create": 0.015,       # a post, reply or edit without a link
    "post_create_url": 0.20,    # ... with a link in its text
    "content_manage": 0.005,    # a deletion
    "media_metadata": 0.005,    # an image's alt text
    "owned_read": 0.001,        # each of the account's own posts read (lookup)
}
X_PRICE_ITEMS = tuple(X_PRICES)


def x_prices(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """The price table in force: X's published prices with the deployment's own on top."""
    return {**X_PRICES, **(overrides or {})}
