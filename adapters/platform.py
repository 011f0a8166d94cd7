"""What every live platform adapter shares: the account it publishes as, that account's
capabilities (its own limits applied: ``adapters.capabilities_with_options``), a clock the
tests can set, the content checks asked before the first request (``adapters.content``), the
meaning of an HTTP status where the platform says nothing more precise (``error_for_status``),
and a repr that names the account and never a secret. Each adapter adds its client and the
platform's calls (the ``Adapter`` protocol in ``adapters.base``)."""

from __future__ import annotations

import datetime as dt
import os
import re
from typing import Callable

from adapters.accounts import AccountConfig
from adapters.base import (AccountBlocked, AdapterError, AuthError, Capabilities, Image,
                           OutcomeUnknown, PostRef,
                           PostRequest, RateLimited, Rejected, Unavailable, VersionRetired)
from adapters.content import content_problem


def _size(image: Image) -> int | None:
    """The bytes an image will upload: the engine's checked bytes, else the local file's size
    (None: fetched by the platform from its URL, or unreadable, which the upload reports)."""
    if image.data is not None:
        return len(image.data)
    if re.match(r"https?://", image.path):
        return None
    try:
        return os.path.getsize(image.path)
    except OSError:
        return None


def error_for_status(status: int, message: str, *, write: bool,
                     retry_after_s: float | None = None) -> AdapterError:
    """The adapter error an HTTP status means by itself; each adapter first checks what its
    platform says more precisely (an error code, a problem type, a duplicate) and falls back on
    this. A gateway timeout on a write may hide a post that exists (``OutcomeUnknown``); any
    other 5xx was not acted on (``Unavailable``); the account-level refusals are alerts about
    the account, never about the text."""
    if status == 429:
        return RateLimited(message, retry_after_s=retry_after_s)
    if status in (401, 403):
        return AuthError(message)
    if status == 402:
        return AccountBlocked(message)
    if status == 426:
        return VersionRetired(message)
    if status == 504 and write:
        return OutcomeUnknown(message)
    if status >= 500:
        return Unavailable(message)
    return Rejected(message)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class PlatformAdapter:
    """The common part of a live adapter (see module doc)."""

    def __init__(self, account: AccountConfig, *,
                 clock: Callable[[], dt.datetime] = utc_now) -> None:
        # imported here: the registry imports the platform modules lazily
        from adapters import account_capabilities

        self.account: str = account.ref
        self.capabilities = account_capabilities(account)
        self.clock = clock

    #: how the platform counts a text once received (None: the capabilities' counting)
    sent_counting: str | None = None

    def sent_length(self, text: str) -> int:
        """The text's length as the platform counts it once received (its capabilities'
        counting; Telegram counts after cleaning the text)."""
        return self.capabilities.count(text)

    def content_capabilities(self, request: PostRequest) -> Capabilities:
        """The limits the platform applies to ``request`` on this account (its capabilities;
        Mastodon asks its instance about a text longer than the configured limit)."""
        return self.capabilities

    def check_content(self, request: PostRequest) -> None:
        """Refuse, before any request, what the platform would refuse in ``request``'s content
        (a refusal costs nothing, and names the platform's own counting)."""
        problem = content_problem(self.content_capabilities(request), request, self.sent_length,
                                  self.sent_counting, [_size(image) for image in request.images])
        if problem:
            raise Rejected(f"{self.capabilities.platform} {self.account}: {problem}")

    def reply(self, request: PostRequest) -> PostRef:
        """A post under ``request.target``: where a reply is a publish aimed at a post (X,
        Mastodon, Telegram, Threads); the others have their own."""
        request.require_target()
        return self.publish(request)

    def _repr_details(self) -> str:
        """What tells this account's adapter apart besides its reference (never a secret)."""
        return ""

    def __repr__(self) -> str:
        details = self._repr_details()
        return f"{type(self).__name__}({self.account!r}{', ' + details if details else ''})"
