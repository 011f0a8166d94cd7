"""The platform registry: which platforms exist, what they can do, and how to build an adapter.

The registry is explicit (no module scanning): adding a platform means adding its
``Capabilities`` in ``capabilities.py``, an entry here, and a branch in ``make_adapter``.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import os
import pathlib
from typing import Callable, Mapping

from .accounts import LIMIT_OPTIONS, AccountConfig, split_ref
from .base import Adapter, Capabilities, EditSupport, NotSupported, PostRequest
from .capabilities import (BLUESKY, COUNTERS, FACEBOOK, ICS, INSTAGRAM, LINKEDIN, MASTODON,
                           TELEGRAM, X)
from .textlength import char_length

__all__ = ["PLATFORMS", "TRANSPORTS", "capabilities_for", "account_capabilities",
           "capabilities_with_options",
           "parse_account_ref", "make_adapter"]

# The outbox as an account of its own ("outbox:local"): accepts anything a platform could.
# When it stands in for a real account it takes that account's capabilities instead.
OUTBOX = Capabilities(
    platform="outbox", text_limit=1_000_000, counting="chars", count=char_length,
    edit=EditSupport(True), max_images=20, alt_text_limit=None,
    language_strategy="per_language", correction_fallback="reply",
)

PLATFORMS: dict[str, Capabilities] = {
    "x": X,
    "facebook": FACEBOOK,
    "mastodon": MASTODON,
    "bluesky": BLUESKY,
    "telegram": TELEGRAM,
    "ics": ICS,
    "instagram": INSTAGRAM,
    "linkedin": LINKEDIN,
    "outbox": OUTBOX,
}

TRANSPORTS = ("live", "outbox")

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


def make_adapter(account: AccountConfig, transport: str, *,
                 home: pathlib.Path | str | None = None,
                 fail_plan: Callable[[PostRequest], Exception | None] | None = None) -> Adapter:
    """Build the adapter of ``account``.

    ``transport="outbox"`` gives the outbox standing in for the account, with the account's
    capabilities (so dry runs hit the same limits and edit windows); ``"live"`` gives the real
    platform adapter. ``transport`` is the deployment's default: an account that sets its own
    (``transport:`` in accounts.yaml) keeps it, so accounts can go live one at a time. ``home`` is the state directory (default: ``$PREGONERO_HOME`` or
    ``./.pregonero``); ``fail_plan`` is the outbox's failure-injection hook for tests.
    """
    transport = account.transport or transport
    if transport not in TRANSPORTS:
        raise ValueError(f"unknown transport {transport!r} (known: {', '.join(TRANSPORTS)})")
    parse_account_ref(account.ref)
    home_path = pathlib.Path(home if home is not None
                             else os.environ.get("PREGONERO_HOME", ".pregonero"))
    capabilities = account_capabilities(account)
    if transport == "outbox" or account.platform == "outbox":
        from .outbox import OutboxAdapter
        return OutboxAdapter(account, capabilities, home_path, fail_plan=fail_plan)
    if account.platform == "ics":
        from .ics import IcsAdapter
        return IcsAdapter(account, home_path, capabilities=capabilities)
    if account.platform == "mastodon":
        from .mastodon import MastodonAdapter
        return MastodonAdapter(account)
    if account.platform == "bluesky":
        from .bluesky import BlueskyAdapter
        return BlueskyAdapter(account)
    if account.platform == "x":
        from .x import XAdapter
        return XAdapter(account)
    if account.platform == "facebook":
        from .facebook import FacebookAdapter
        return FacebookAdapter(account)
    if account.platform == "telegram":
        from .telegram import TelegramAdapter
        return TelegramAdapter(account)
    if account.platform == "instagram":
        from .instagram import InstagramAdapter
        return InstagramAdapter(account)
    if account.platform == "linkedin":
        from .linkedin import LinkedInAdapter
        return LinkedInAdapter(account)
    raise NotSupported(f"there is no live {account.platform} adapter yet "
                       f"(use transport 'outbox' for {account.ref} meanwhile)")
