"""Builds an account's adapter: the real platform client (``live``) or the outbox standing in
for it. The platform modules (and their client libraries) are imported only here, and only
when an account of theirs is built: the linter and the planner never load them."""

from __future__ import annotations

import os
import pathlib
from typing import Callable

from adapters import account_capabilities, parse_account_ref
from adapters.accounts import AccountConfig
from adapters.base import Adapter, NotSupported, PostRequest

__all__ = ["TRANSPORTS", "make_adapter"]

TRANSPORTS = ("live", "outbox")


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
        from adapters.outbox import OutboxAdapter
        return OutboxAdapter(account, capabilities, home_path, fail_plan=fail_plan)
    if account.platform == "ics":
        from adapters.ics import IcsAdapter
        return IcsAdapter(account, home_path, capabilities=capabilities)
    if account.platform == "mastodon":
        from adapters.mastodon import MastodonAdapter
        return MastodonAdapter(account)
    if account.platform == "bluesky":
        from adapters.bluesky import BlueskyAdapter
        return BlueskyAdapter(account)
    if account.platform == "x":
        from adapters.x import XAdapter
        return XAdapter(account)
    if account.platform == "facebook":
        from adapters.facebook import FacebookAdapter
        return FacebookAdapter(account)
    if account.platform == "telegram":
        from adapters.telegram import TelegramAdapter
        return TelegramAdapter(account)
    if account.platform == "instagram":
        from adapters.instagram import InstagramAdapter
        return InstagramAdapter(account)
    if account.platform == "linkedin":
        from adapters.linkedin import LinkedInAdapter
        return LinkedInAdapter(account)
    raise NotSupported(f"there is no live {account.platform} adapter yet "
                       f"(use transport 'outbox' for {account.ref} meanwhile)")
