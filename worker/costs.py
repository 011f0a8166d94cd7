"""What a plan will cost on the platforms that bill per request (X), per account: pure
arithmetic over the compiled jobs and a price table (``adapters.pricing``).

Counted for each X account: the posts (a post whose text carries a link is billed at the
link price; each post of a thread counts), and the alt text of each image (one metadata request each; uploads are not
billed). Corrections and lookups depend on what happens later, so their unit prices are
given for the reader to multiply: a correction is a reply or an edit (billed as a post), or a
deletion; a lookup after an unknown outcome reads up to ``X_LOOKUP_POSTS`` of the account's
own posts.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Mapping

from adapters.pricing import X_LOOKUP_POSTS
from adapters.textlength import extract_urls_with_indices
from worker.jobs import Job


@dataclasses.dataclass(frozen=True)
class AccountCost:
    account: str
    posts: int
    posts_with_link: int
    image_descriptions: int
    usd: float

    def as_dict(self) -> dict:
        return dataclasses.asdict(self) | {"usd": round(self.usd, 4)}


@dataclasses.dataclass(frozen=True)
class UnitCosts:
    """What one later operation costs, in US dollars."""

    correction: float
    correction_with_link: float
    deletion: float
    lookup_at_most: float

    def as_dict(self) -> dict:
        return {k: round(v, 4) for k, v in dataclasses.asdict(self).items()}


def has_link(text: str) -> bool:
    """Whether X bills the post at the link price: its text carries a URL (as X finds one)."""
    return bool(extract_urls_with_indices(text))


#: per X account: posts, posts with a link, image descriptions
Counts = dict[str, list[int]]


def x_counts(jobs: Iterable[Job], into: Counts | None = None) -> Counts:
    """What the X API will bill in ``jobs`` (whole jobs, or the linter's drafts, which carry
    the same fields), per account, added to ``into``."""
    counts: Counts = {} if into is None else into
    for job in jobs:
        if job.platform != "x":
            continue
        row = counts.setdefault(job.account, [0, 0, 0])
        posts = job.thread or (job.text,)  # each post of a thread is billed as one
        row[0] += len(posts)
        row[1] += sum(has_link(text) for text in posts)
        row[2] += sum(1 for image in job.images if image.alt)
    return counts


def priced(counts: Mapping[str, list[int]], prices: Mapping[str, float]) -> list[AccountCost]:
    """The cost of ``counts`` at ``prices``, per account (sorted by account)."""
    return [AccountCost(account, posts, linked, alts,
                        (posts - linked) * prices["post_create"]
                        + linked * prices["post_create_url"] + alts * prices["media_metadata"])
            for account, (posts, linked, alts) in sorted(counts.items())]


def x_costs(jobs: Iterable[Job], prices: Mapping[str, float]) -> list[AccountCost]:
    """The cost of the planned X posts, per account (sorted by account)."""
    return priced(x_counts(jobs), prices)


def x_unit_costs(prices: Mapping[str, float]) -> UnitCosts:
    return UnitCosts(correction=prices["post_create"],
                     correction_with_link=prices["post_create_url"],
                     deletion=prices["content_manage"],
                     lookup_at_most=X_LOOKUP_POSTS * prices["owned_read"])
