"""Mastodon: publish, edit, reply and delete statuses of one account through Mastodon.py.

Mastodon.py talks HTTP through ``requests``. The client is built with ``ratelimit_method="throw"``
(the engine, not a sleeping worker thread, decides when to come back), ``request_timeout`` (every
call has one) and ``version_check_mode="none"`` (no version probe per call; only
``media_post`` reads /api/v1/instance once, to choose between /api/v1 and /api/v2/media).

Idempotency: every new status carries the request's ``Idempotency-Key`` header. Mastodon keeps
the key for one hour per account and answers a repeated POST with the status it already created,
so retrying a publish after a 5xx or a lost answer within that hour cannot duplicate the post.
The engine's retries (backoff up to 10 minutes) stay well inside that hour; after it, ``lookup``
(recent statuses of the account matched by text and time) is what protects us.

Duplicates: Mastodon itself has no "duplicate status" error (a repeated idempotency key returns
the original status with 200). Some servers and forks answer 422 with "already"/"duplicate"
in the message; that is mapped to ``Duplicate``, any other 422 to ``Rejected``.

Edits: PUT /api/v1/statuses/:id replaces the whole status, not just the fields sent.
``Api::V1::StatusesController#update`` hands every parameter key to ``UpdateStatusService``
whether the request had it or not, so an absent ``media_ids[]`` detaches every attachment, an
absent ``spoiler_text`` clears the content warning and an absent ``sensitive`` becomes "has a
content warning"; only an absent ``language`` keeps the status's own (``valid_locale_cascade``)
(mastodon/mastodon app/controllers/api/v1/statuses_controller.rb#update and
app/services/update_status_service.rb#update_media_attachments!/#update_immediate_attributes!,
unchanged since editing arrived in 3.5, #17320). ``correct`` therefore reads the status first
and sends its attachments, content warning and sensitive flag back with the new text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import io
import re
import time
from typing import Callable, TypeVar
from urllib.parse import urlsplit

import requests
import structlog
import urllib3
from mastodon import Mastodon
from mastodon.errors import (MastodonAPIError, MastodonError, MastodonIllegalArgumentError,
                             MastodonIOError, MastodonNetworkError, MastodonNotFoundError,
                             MastodonRatelimitError, MastodonServerError,
                             MastodonUnauthorizedError, MastodonVersionError)

from .platform import PlatformAdapter
from .accounts import AccountConfig
from .base import (AccountStatus, AdapterError, AuthError, Capabilities, Duplicate,
                   NotSupported,
                   OutcomeUnknown, PostRef, PostRequest, RateLimited, Rejected, Unavailable)
from .credentials import Secret, mask_secrets
from .imagetypes import sniff_image_type

__all__ = ["MastodonAdapter", "DEFAULT_TEXT_LIMIT", "LOOKUP_LIMIT", "LOOKUP_EARLY_S"]

log = structlog.get_logger("pregonero.adapters.mastodon")

T = TypeVar("T")

#: Mastodon's default status length when neither the instance nor the config says otherwise
DEFAULT_TEXT_LIMIT = 500
#: how many recent statuses ``lookup`` reads (the API's maximum page is 40)
LOOKUP_LIMIT = 40
#: a status created this long before ``due`` cannot be this request's (recurring texts repeat)
LOOKUP_EARLY_S = 15 * 60

_DUPLICATE = re.compile(r"already|duplicate", re.IGNORECASE)
# 422 on a status with media that the instance has not finished processing: try again later
_PROCESSING = re.compile(r"finished processing|not.*processed", re.IGNORECASE)
_MENTION_DOMAIN = re.compile(r"(?<![\w@])(@[\w.]+)@[\w.-]+\w", re.UNICODE)


class MastodonAdapter(PlatformAdapter):
    """One Mastodon account. Options: ``instance`` (base URL, required), ``text_limit``,
    ``visibility`` (public/unlisted/private; default: the account's own setting).
    Credential: ``access_token`` (an app token with the ``write:statuses``/``write:media``
    and ``read:accounts``/``read:statuses`` scopes)."""

    def __init__(self, account: AccountConfig, *, timeout_s: float = 10) -> None:
        super().__init__(account)
        self.account_config = account
        instance = account.options.get("instance")
        if not isinstance(instance, str) or not instance.startswith(("https://", "http://")):
            raise ValueError(f"account {account.ref}: options.instance must be the instance's "
                             "base URL, e.g. https://social.example.org")
        self.instance = instance.rstrip("/")
        if account.options.get("visibility") not in (None, "public", "unlisted", "private"):
            raise ValueError(f"account {account.ref}: options.visibility must be public, "
                             "unlisted or private")
        self.timeout_s = timeout_s
        self._api: Mastodon | None = None  # built on first use: reading config reads no secret
        #: the instance's status length, asked once (``content_capabilities``)
        self._instance_text_limit: int | None = None
        self._token: Secret | None = None
        self._own_id: str | None = None

    def _repr_details(self) -> str:
        return f"instance={self.instance!r}"

    # --- the Adapter protocol -----------------------------------------------------------------

    def publish(self, request: PostRequest) -> PostRef:
        """Post a new status (a reply when ``request.target`` is set), with the idempotency key."""
        self.check_content(request)
        media_ids = self._upload_images(request)
        status = self._call(lambda api: api.status_post(
            request.text,
            in_reply_to_id=request.target.post_id if request.target else None,
            media_ids=media_ids or None,
            language=_base_language(request.language),
            visibility=self.account_config.options.get("visibility"),
            idempotency_key=request.idempotency_key,
        ), write=True)
        return self._ref(status)

    def correct(self, request: PostRequest) -> PostRef:
        """Edit the target status in place (PUT /api/v1/statuses/:id, Mastodon 3.5+), changing
        only its text.

        The server rebuilds the status from the request: attachments from ``media_ids[]``,
        the content warning from ``spoiler_text``, the flag from ``sensitive`` (absent means
        none, empty, false; see the module docstring). So the status is read first
        (GET /api/v1/statuses/:id, a read: its failures are at worst Unavailable) and its
        attachment ids, ``spoiler_text`` and ``sensitive`` go back with the new text; the
        attachments keep their descriptions (alt text), which live on the attachments. The
        language is not sent (Mastodon.py's ``status_update`` has no such parameter) and the
        server keeps the status's own. Edits a person makes between the read and the write
        are overwritten in those three fields. The read is one more request per correction; it
        counts against the per-token API throttle (300 per 5 minutes) only, not against the
        "statuses" limit (300 statuses and edits per 3 hours). A lost answer to the read is
        Unavailable (nothing was written); a lost answer to the PUT is OutcomeUnknown and
        ``lookup`` decides by the text.
        """
        target = request.require_target()
        self.check_content(request)
        current = self._call(lambda api: api.status(target.post_id), write=False)
        media_ids = [str(media["id"]) for media in current.get("media_attachments") or []]
        status = self._call(lambda api: api.status_update(
            target.post_id, request.text,
            spoiler_text=current.get("spoiler_text") or "",
            sensitive=bool(current.get("sensitive")),
            media_ids=media_ids or None,
        ), write=True)
        return self._ref(status, extra=target.extra)

    def retract(self, request: PostRequest) -> None:
        """Delete the target status. Already gone (404) counts as done: a retry after a lost
        answer must not fail a retraction that happened."""
        target = request.require_target()
        try:
            self._call(lambda api: api.status_delete(target.post_id), write=True)
        except Rejected as exc:
            if isinstance(exc.__cause__, MastodonNotFoundError):
                log.info("mastodon_retract_already_gone", account=self.account,
                         post_id=target.post_id)
                return
            raise

    def lookup(self, request: PostRequest) -> PostRef | None:
        """After an unknown outcome: the status this request produced, if it exists.

        publish/reply: the account's last 40 statuses, matched by text (and reply target),
        created no earlier than ``due`` minus 15 minutes. correct: the target, if its text
        is now the corrected one. retract: the target's ref if it is gone, else None.
        """
        if request.action == "retract":
            target = request.require_target()
            try:
                self._call(lambda api: api.status(target.post_id), write=False)
            except Rejected as exc:
                if isinstance(exc.__cause__, MastodonNotFoundError):
                    return target
                raise
            return None
        if request.action == "correct":
            target = request.require_target()
            status = self._call(lambda api: api.status(target.post_id), write=False)
            return self._ref(status, extra=target.extra) if _same_text(status, request.text) \
                else None
        own_id = self._own_account_id()
        statuses = self._call(lambda api: api.account_statuses(
            own_id, limit=LOOKUP_LIMIT, exclude_reblogs=True), write=False)
        earliest = _aware(request.due) - dt.timedelta(seconds=LOOKUP_EARLY_S)
        parent = request.target.post_id if request.target else None
        for status in statuses:
            created = status.get("created_at")
            if isinstance(created, dt.datetime) and _aware(created) < earliest:
                continue
            if parent is not None and str(status.get("in_reply_to_id")) != str(parent):
                continue
            if _same_text(status, request.text):
                return self._ref(status)
        return None

    def verify(self) -> AccountStatus:
        """Check the token (GET /api/v1/accounts/verify_credentials) and the instance's limit."""
        try:
            me = self._call(lambda api: api.account_verify_credentials(), write=False)
        except AuthError as exc:
            return AccountStatus(self.account, False, str(exc))
        self._own_id = str(me["id"])
        detail = f"authenticated as @{me.get('acct')} on {self.instance}"
        limit = self.instance_limit()
        configured = self.capabilities.text_limit
        if limit != configured:
            # posts follow the instance; the linter follows options.text_limit
            detail += (f"; WARNING: the instance allows {limit} characters, the configuration "
                       f"says {configured}: set options.text_limit: {limit} so that lint "
                       "checks what the instance accepts")
        else:
            detail += f"; the instance allows {limit} characters"
        return AccountStatus(self.account, True, detail)

    # --- Mastodon specifics ---------------------------------------------------------------------

    def content_capabilities(self, request: PostRequest) -> Capabilities:
        """The account's capabilities; for a text longer than ``options.text_limit``, with the
        instance's own status length (asked once per adapter): the instance decides what it
        accepts, and a text within its limit is not refused because the configuration says
        less (``verify`` says when the two differ). A text within the configured limit but
        over a lower instance limit is refused by the instance itself (422)."""
        caps = self.capabilities
        if caps.count(request.text) <= caps.text_limit:
            return caps
        if self._instance_text_limit is None:
            self._instance_text_limit = self.instance_limit()
        if self._instance_text_limit <= caps.text_limit:
            return caps
        return dataclasses.replace(caps, text_limit=self._instance_text_limit)

    def instance_limit(self) -> int:
        """The instance's status length (``configuration.statuses.max_characters`` of
        /api/v2/instance, then /api/v1/instance); ``options.text_limit`` or 500 if unknown."""
        fallback = int(self.account_config.options.get("text_limit") or DEFAULT_TEXT_LIMIT)
        # instance_v2/v1 directly: instance() would first probe the server version
        for getter in (lambda api: api.instance_v2(), lambda api: api.instance_v1()):
            try:
                info = self._call(getter, write=False)
            except AdapterError as exc:
                log.info("mastodon_instance_info_unavailable", account=self.account,
                         error=type(exc).__name__)
                continue
            try:
                return int(info["configuration"]["statuses"]["max_characters"])
            except (KeyError, TypeError, ValueError):
                continue
        return fallback

    # --- internals ------------------------------------------------------------------------------

    def _client(self) -> Mastodon:
        if self._api is None:
            try:
                self._token = self.account_config.credential("access_token")
            except (KeyError, ValueError) as exc:
                # the message names the variable or file, never a value
                raise AuthError(f"mastodon {self.account}: {exc}") from exc
            self._api = Mastodon(access_token=self._token.reveal(), api_base_url=self.instance,
                                 request_timeout=self.timeout_s, ratelimit_method="throw",
                                 version_check_mode="none")
        return self._api

    def _call(self, operation: Callable[[Mastodon], T], *, write: bool) -> T:
        """Run one Mastodon.py call and translate its errors into the adapter contract.

        ``write`` says whether the call may have changed something on the server: a lost
        answer to a write is OutcomeUnknown, to a read merely Unavailable.
        """
        api = self._client()
        try:
            return operation(api)
        except MastodonError as exc:
            error = self._translate(exc, api, write)
            log.warning("mastodon_call_failed", account=self.account,
                        error=type(error).__name__, detail=str(error))
            raise error from exc

    def _translate(self, exc: MastodonError, api: Mastodon, write: bool) -> AdapterError:
        where = f"mastodon {self.account}"
        if isinstance(exc, MastodonRatelimitError):
            if str(exc).startswith("Rate limit time calculations failed"):
                # raised on a *successful* answer whose reset header was unparsable
                return (OutcomeUnknown if write else Unavailable)(
                    self._safe(f"{where}: unreadable rate-limit headers"))
            reset = api.ratelimit_reset  # epoch seconds, already corrected for server clock
            retry_after = max(0.0, float(reset) - time.time()) if reset else None
            return RateLimited(self._safe(f"{where}: rate limited (429)"), retry_after)
        if isinstance(exc, MastodonNetworkError):
            return self._network_error(exc, where, write)
        if isinstance(exc, MastodonUnauthorizedError):
            return AuthError(self._safe(f"{where}: {_describe(exc)} (token revoked or invalid)"))
        if isinstance(exc, MastodonServerError):
            # safe to retry even for writes: the idempotency key dedupes a repeated POST
            return Unavailable(self._safe(f"{where}: server error {_describe(exc)}"))
        if isinstance(exc, MastodonAPIError):
            status = _status_code(exc)
            message = self._safe(f"{where}: {_describe(exc)}")
            if status == 403:
                return AuthError(message + " (missing scope or suspended account)")
            if status == 422 and _DUPLICATE.search(_server_message(exc)):
                return Duplicate(message)
            if status == 422 and _PROCESSING.search(_server_message(exc)):
                return Unavailable(message)
            if status is not None and 400 <= status < 500:
                return Rejected(message)
            # no status: an unparsable answer to a request that may have succeeded
            return (OutcomeUnknown if write else Unavailable)(message)
        if isinstance(exc, MastodonVersionError):
            return NotSupported(self._safe(f"{where}: {exc}"))
        if isinstance(exc, (MastodonIOError, MastodonIllegalArgumentError)):
            # unreadable image file, unknown mime type: a problem of the content itself
            return Rejected(self._safe(f"{where}: {type(exc).__name__}: {exc}"))
        return (OutcomeUnknown if write else Unavailable)(
            self._safe(f"{where}: unexpected {type(exc).__name__}"))

    def _network_error(self, exc: MastodonNetworkError, where: str, write: bool) -> AdapterError:
        """Mastodon.py raises MastodonNetworkError *inside* its ``except`` without ``from``, so
        the requests exception is in ``__context__``. Connect failures (refused, DNS, TLS,
        connect timeout) happen before anything is sent; a read timeout or a connection
        dropped mid-answer happen after."""
        cause = _root_requests_error(exc)
        host = urlsplit(self.instance).hostname
        name = type(cause).__name__ if cause is not None else "network error"
        if isinstance(cause, requests.exceptions.ConnectTimeout):
            sent = False
        elif isinstance(cause, requests.exceptions.Timeout):  # ReadTimeout
            sent = True
        elif isinstance(cause, requests.exceptions.ConnectionError):
            # requests wraps "connection aborted" (urllib3 ProtocolError) as ConnectionError too
            sent = bool(cause.args) and isinstance(cause.args[0], urllib3.exceptions.ProtocolError)
        else:
            sent = True
        if sent and write:
            return OutcomeUnknown(f"{where}: no answer from {host} after sending ({name})")
        return Unavailable(f"{where}: cannot reach {host} ({name})")

    def _safe(self, message: str) -> str:
        """Mask the token if a server ever echoes it back into an error text."""
        return mask_secrets(message, [self._token] if self._token else [])

    def _own_account_id(self) -> str:
        if self._own_id is None:
            me = self._call(lambda api: api.account_verify_credentials(), write=False)
            self._own_id = str(me["id"])
        return self._own_id

    def _upload_images(self, request: PostRequest) -> list[str]:
        """Upload each image with its alt text (``description``); returns the media ids."""
        ids = []
        for image in request.images:
            if image.data is not None:  # the bytes the engine checked, never the path
                media = self._call(lambda api, image=image: api.media_post(
                    io.BytesIO(image.data), mime_type=sniff_image_type(image.data),
                    description=image.alt), write=False)
            else:
                media = self._call(lambda api, image=image: api.media_post(
                    image.path, description=image.alt), write=False)
            ids.append(str(media["id"]))
        return ids

    def _ref(self, status, extra=None) -> PostRef:
        details = dict(extra or {})  # an edit keeps the target's original publication time
        for key, field in (("published_at", "created_at"), ("edited_at", "edited_at")):
            moment = status.get(field)  # Mastodon.py parses these into datetimes
            if isinstance(moment, dt.datetime) and key not in details:
                details[key] = _aware(moment).isoformat()
        return PostRef("mastodon", self.account, str(status["id"]),
                       status.get("url") or status.get("uri"), details)


# --- helpers ------------------------------------------------------------------------------------


def _base_language(tag: str) -> str | None:
    """Mastodon wants ISO 639-1/3 codes: "es-ES" -> "es", "ca-valencia" -> "ca"."""
    return tag.split("-")[0].lower() if tag else None


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _status_code(exc: MastodonAPIError) -> int | None:
    # Mastodon.py raises ex_type('Mastodon API returned error', status, reason, error_msg)
    return exc.args[1] if len(exc.args) > 3 and isinstance(exc.args[1], int) else None


def _server_message(exc: MastodonAPIError) -> str:
    return str(exc.args[3] or "") if _status_code(exc) else ""


def _describe(exc: MastodonAPIError) -> str:
    if _status_code(exc) is None:
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    message = _server_message(exc)
    return f"HTTP {exc.args[1]} {exc.args[2]}" + (f": {message[:300]}" if message else "")


def _root_requests_error(exc: BaseException) -> BaseException | None:
    """The requests exception behind a MastodonNetworkError (``__cause__`` or ``__context__``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, requests.exceptions.RequestException):
            return current
        current = current.__cause__ or current.__context__
    return None


def _plain_text(content: str) -> str:
    """A status's HTML ``content`` back to text: Mastodon wraps paragraphs in <p>, lines in
    <br>, and keeps the hidden parts of long links in invisible spans (kept here)."""
    text = re.sub(r"<br\s*/?>", "\n", content)
    text = re.sub(r"</p>\s*<p>", "\n\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def _normalise(text: str) -> str:
    # remote mentions render as "@user" only; whitespace is rearranged by the HTML rendering
    return " ".join(_MENTION_DOMAIN.sub(r"\1", text).split())


def _same_text(status, text: str) -> bool:
    shown = status.get("text") or _plain_text(status.get("content") or "")
    return _normalise(shown) == _normalise(text)
