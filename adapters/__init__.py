"""The platform registry: which platforms exist and what each can do (pure data, no client
library: the linter reads it). ``adapters.factory`` builds an account's adapter.

The registry is explicit (no module scanning): adding a platform means its ``Capabilities``
(``capabilities.py``), its adapter module, and one line in ``REGISTRY`` naming both; the
module is imported only when an account of the platform is built (``adapters.factory``).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
from typing import Mapping

from .accounts import LIMIT_OPTIONS, AccountConfig, split_ref
from .base import Capabilities, EditSupport
from .capabilities import (BLUESKY, COUNTERS, FACEBOOK, ICS, INSTAGRAM, LINKEDIN, MASTODON,
                           TELEGRAM, THREADS, X)
from .textlength import char_length

__all__ = ["REGISTRY", "PLATFORMS", "Platform", "capabilities_for", "account_capabilities",
           "capabilities_with_options", "parse_account_ref"]

# The outbox as an account of its own ("outbox:local"): accepts anything a platform could.
# When it stands in for a real account it takes that account's capabilities instead.
OUTBOX = Capabilities(
    platform="outbox", text_limit=1_000_000, counting="chars", count=char_length,
    edit=EditSupport(True), max_images=20, alt_text_limit=None,
    language_strategy="per_language", correction_fallback="reply",
)


@dataclasses.dataclass(frozen=True)
class Platform:
    """A platform as the registry knows it: what it can do, and its live adapter."""

    capabilities: Capabilities
    #: ``"module:Class"`` of its live adapter (imported only when an account of it is built);
    #: None: written locally whatever the transport (the outbox, the iCalendar feed)
    live: str | None = None


REGISTRY: dict[str, Platform] = {
    "x": Platform(X, "adapters.x:XAdapter"),
    "facebook": Platform(FACEBOOK, "adapters.facebook:FacebookAdapter"),
    "mastodon": Platform(MASTODON, "adapters.mastodon:MastodonAdapter"),
    "bluesky": Platform(BLUESKY, "adapters.bluesky:BlueskyAdapter"),
    "telegram": Platform(TELEGRAM, "adapters.telegram:TelegramAdapter"),
    "instagram": Platform(INSTAGRAM, "adapters.instagram:InstagramAdapter"),
    "linkedin": Platform(LINKEDIN, "adapters.linkedin:LinkedInAdapter"),
    "threads": Platform(THREADS, "adapters.threads:ThreadsAdapter"),
    "ics": Platform(ICS),
    "outbox": Platform(OUTBOX),
}

PLATFORMS: dict[str, Capabilities] = {name: p.capabilities for name, p in REGISTRY.items()}

# Names people type for the platforms, for "did you mean" (difflib cannot guess these).
_ALIASES = {"twitter": "x", "tw": "x", "fb": "facebook", "meta": "facebook",
            "bsky": "bluesky", "masto": "mastodon", "fedi": "mastodon", "tg": "telegram",
            "ical": "ics", "icalendar": "ics", "calendar": "ics", "ig": "instagram",
            "insta": "instagram", "li": "linkedin"}


def _unknown_platform(platform: str) -> ValueError:
    close = difflib.get_close_matches(platform.lower(), [*PLATFORMS, *_ALIASES], n=1,
                                      cutoff=0.6)
    guess = _ALIASES.get(close[0], close[0]) if close else None
    hint = f"; did you mean {guess!r}?" if guess else ""
    return ValueError(f"unknown platform {platform!r}{hint} "
                      f"(known: {', '.join(sorted(PLATFORMS))})")


def capabilities_for(platform: str, **overrides: object) -> Capabilities:
    """The capabilities of ``platform``, with fields overridden (``text_limit=1000``).

    Overriding ``counting`` also switches ``count`` to that counting's function.
    """
    try:
        base = PLATFORMS[platform]
    except KeyError:
        raise _unknown_platform(platform) from None
    if not overrides:
        return base
    fields = {field.name for field in dataclasses.fields(Capabilities)}
    unknown = set(overrides) - fields
    if unknown:
        raise ValueError(f"unknown capability field(s) {', '.join(sorted(unknown))} "
                         f"for {platform}")
    if "counting" in overrides and "count" not in overrides:
        try:
            overrides["count"] = COUNTERS[str(overrides["counting"])]
        except KeyError:
            raise ValueError(f"unknown counting {overrides['counting']!r} "
                             f"(known: {', '.join(COUNTERS)})") from None
    return dataclasses.replace(base, **overrides)


def account_capabilities(account: AccountConfig) -> Capabilities:
    """The capabilities of an account: its platform's, with the account's own limits
    (``options.text_limit`` of a Mastodon instance allowing 1000, ...)."""
    return capabilities_with_options(account.platform, account.options)


def capabilities_with_options(platform: str, options: Mapping | None) -> Capabilities:
    """``platform``'s capabilities with the limits an account's ``options`` set. The one
    place both the linter and the engine take an account's limits from: the linter must
    refuse exactly what the account's adapter would."""
    overrides = tuple((key, options[key]) for key in LIMIT_OPTIONS
                      if options and options.get(key) is not None)
    return _capabilities_with(platform, overrides)


@functools.lru_cache(maxsize=1024)
def _capabilities_with(platform: str, overrides: tuple[tuple[str, object], ...]) -> Capabilities:
    return capabilities_for(platform, **dict(overrides))


def parse_account_ref(ref: str) -> tuple[str, str]:
    """``"x:ayto-calp"`` -> ``("x", "ayto-calp")``; ValueError (with a suggestion) if the
    reference is malformed or the platform unknown."""
    platform, handle = split_ref(ref)
    if platform not in PLATFORMS:
        raise _unknown_platform(platform)
    return platform, handle
