"""Builds an account's adapter: the real platform client (``live``) or the outbox standing in
for it. The platform modules (and their client libraries) are imported only here, and only
when an account of theirs is built: the linter and the planner never load them."""

from __future__ import annotations

import importlib
import pathlib
from typing import Callable

from adapters import REGISTRY, account_capabilities, parse_account_ref
from adapters.accounts import AccountConfig
from adapters.base import Adapter, NotSupported, PostRequest

__all__ = ["TRANSPORTS", "make_adapter"]

TRANSPORTS = ("live", "outbox")


#: the live adapter of each platform, by module and class (from ``adapters.REGISTRY``)
LIVE = {name: platform.live for name, platform in REGISTRY.items() if platform.live}


def live_adapter_class(platform: str) -> type:
    """The class of ``platform``'s live adapter (its module imported now)."""
    try:
        module_name, class_name = LIVE[platform].split(":")
    except KeyError:
        raise NotSupported(f"there is no live {platform} adapter yet") from None
    return getattr(importlib.import_module(module_name), class_name)


def make_adapter(account: AccountConfig, transport: str, *,
                 home: pathlib.Path | str | None = None,
                 fail_plan: Callable[[PostRequest], Exception | None] | None = None) -> Adapter:
    """Build the adapter of ``account``.

    ``transport="outbox"`` gives the outbox standing in for the account, with the account's
    capabilities (so dry runs hit the same limits and edit windows); ``"live"`` gives the real
    platform adapter. ``transport`` is the deployment's default: an account that sets its own
    (``transport:`` in accounts.yaml) keeps it, so accounts can go live one at a time.
    ``home``: the deployment's state folder (``$PREGONERO_HOME``, read by the command line),
    where the outbox and the iCalendar feed write; ``fail_plan`` is the outbox's
    failure-injection hook for tests.
    """
    transport = account.transport or transport
    if transport not in TRANSPORTS:
        raise ValueError(f"unknown transport {transport!r} (known: {', '.join(TRANSPORTS)})")
    parse_account_ref(account.ref)
    capabilities = account_capabilities(account)
    if transport == "outbox" or account.platform in ("outbox", "ics"):
        if home is None:
            raise ValueError(f"account {account.ref}: the outbox and the iCalendar feed write "
                             "under the deployment's home folder: pass home")
        if account.platform == "ics" and transport != "outbox":
            from adapters.ics import IcsAdapter
            return IcsAdapter(account, pathlib.Path(home), capabilities=capabilities)
        from adapters.outbox import OutboxAdapter
        return OutboxAdapter(account, capabilities, pathlib.Path(home), fail_plan=fail_plan)
    try:
        adapter_class = live_adapter_class(account.platform)
    except NotSupported:
        raise NotSupported(f"there is no live {account.platform} adapter yet (use transport "
                           f"'outbox' for {account.ref} meanwhile)") from None
    return adapter_class(account)
