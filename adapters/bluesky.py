"""Bluesky: publish, reply and delete posts of one account through atproto's ``Client``.

atproto talks HTTP through ``httpx``; the timeout is set on its ``httpx.Client`` via
``Request(timeout=...)`` so that every XRPC call has one. The account logs in with its handle
and an *app password* (credential ``app_password``), or reuses a session string (credential
``session_string``, or the ``session_string`` argument): createSession is rate limited by
handle (30 per 5 minutes, 300 per day), so long-running callers should keep
``session_string()`` and pass it back.

Bluesky has no edits: ``correct`` raises NotSupported and the engine replies instead. There is
no idempotency key either: after an unknown outcome ``lookup`` reads the account's own
repository on its PDS (``com.atproto.repo.listRecords``, newest first), which has every record
the moment it is written, and matches the exact text (Bluesky stores plain text), the reply
parent and the time. (The AppView's author feed is indexed later: a lookup there can miss the
post a lost answer created, and the retry would post it twice.)

Images are uploaded first (``uploadBlob``), each in a call of its own that creates nothing a
citizen sees, so a timeout there is a safe retry; only ``createRecord`` is the write whose lost
answer makes the outcome unknown. Each image carries its ``aspectRatio``, read from the file's
header, so bsky.app lays posters out uncropped. A post without images whose request carries
a link card (``PostRequest.card``, read from the page by the engine) embeds it as
``app.bsky.embed.external``, its image uploaded first the same way.
"""

from __future__ import annotations

import datetime as dt
from typing import Callable, TypeVar

import httpx
import structlog
from atproto import Client, client_utils, models
from atproto_client import exceptions as at_exc
from atproto_client.request import Request
from atproto_client.utils import facet_detection
from atproto_core.exceptions import AtProtocolError
from atproto_core.uri import AtUri

from .platform import PlatformAdapter, error_for_status
from .accounts import AccountConfig
from .base import (AccountStatus, AdapterError, AuthError, Duplicate, LinkCard, NotSupported,
                   OutcomeUnknown, PostRef, PostRequest, Rejected, Unavailable)
from .credentials import Secret, mask_secrets
from .imagetypes import image_dimensions

__all__ = ["BlueskyAdapter", "DEFAULT_PDS", "LOOKUP_LIMIT", "LOOKUP_EARLY_S"]

log = structlog.get_logger("pregonero.adapters.bluesky")

T = TypeVar("T")

DEFAULT_PDS = "https://bsky.social"
POST_COLLECTION = "app.bsky.feed.post"
#: how many recent posts ``lookup`` reads
LOOKUP_LIMIT = 30
#: a post created this long before ``due`` cannot be this request's (recurring texts repeat)
LOOKUP_EARLY_S = 15 * 60
#: XRPC error names that mean "log in again", whatever the HTTP status they come with
_AUTH_ERRORS = {"AuthFactorTokenRequired", "InvalidToken", "ExpiredToken", "AccountTakedown",
                "AuthenticationRequired", "AuthMissing"}


class BlueskyAdapter(PlatformAdapter):
    """One Bluesky account. Options: ``pds`` (default https://bsky.social). Credentials:
    ``app_password`` (required for login), ``session_string`` (optional, reused first)."""

    def __init__(self, account: AccountConfig, *, timeout_s: float = 10,
                 session_string: str | Secret | None = None) -> None:
        super().__init__(account)
        self.account_config = account
        # the login identifier: options.identifier where the public handle differs from it
        self.handle = str(account.options.get("identifier") or account.handle).lstrip("@")
        self.pds = str(account.options.get("pds") or DEFAULT_PDS).rstrip("/")
        self.timeout_s = timeout_s
        if isinstance(session_string, str):
            session_string = Secret(session_string, "argument")
        self._session_string: Secret | None = session_string
        self._secrets: list[Secret] = [session_string] if session_string else []
        self._client: Client | None = None

    def _repr_details(self) -> str:
        return f"handle={self.handle!r}, pds={self.pds!r}"

    # --- the Adapter protocol -----------------------------------------------------------------

    def publish(self, request: PostRequest) -> PostRef:
        """Create an app.bsky.feed.post record (a reply when ``request.target`` is set), with
        link and hashtag facets and images with their alt text."""
        self.check_content(request)
        images = [self._read_image(image) for image in request.images]
        reply_to, root = self._reply_ref(request.target) if request.target else (None, None)
        embed = self._image_embed(request, images) if images else \
            self._card_embed(request.card) if request.card else None
        did = self._did()
        text = _rich_text(request.text, self._mention_dids(request.text))
        created = self._call(lambda client: client.send_post(
            text, profile_identify=did, reply_to=reply_to, embed=embed,
            langs=[request.language]), write=True)
        extra = {"cid": created.cid, "published_at": _now_iso()}
        if root is not None:
            extra.update(root_uri=root.uri, root_cid=root.cid)
        else:
            extra.update(root_uri=created.uri, root_cid=created.cid)
        return self._ref(created.uri, extra)

    def correct(self, request: PostRequest) -> PostRef:
        """Bluesky posts cannot be edited: the engine publishes a reply instead."""
        raise NotSupported(f"bluesky {self.account}: posts cannot be edited; "
                           "correct with a reply")

    def reply(self, request: PostRequest) -> PostRef:
        """Publish ``request.text`` under the target post (root kept from the target's ref)."""
        if request.target is None:
            raise ValueError(f"reply of job {request.job_id} needs request.target")
        return self.publish(request)

    def retract(self, request: PostRequest) -> None:
        """Delete the target record (com.atproto.repo.deleteRecord; deleting a record that is
        already gone succeeds, so a retry after a lost answer is harmless)."""
        if request.target is None:
            raise ValueError(f"retract of job {request.job_id} needs request.target")
        uri = request.target.post_id
        self._call(lambda client: client.delete_post(uri), write=True)

    def lookup(self, request: PostRequest) -> PostRef | None:
        """After an unknown outcome: our post with exactly this text (and this parent, for a
        reply) among the last 30 records of the account's repository, created no earlier than
        ``due`` - 15 min. The repository is read on the PDS, which has a record as soon as it
        is written (the AppView's feed would lag behind it)."""
        if request.action in ("correct", "retract"):
            return None  # nothing is ever created by these on Bluesky
        did = self._did()
        listed = self._call(lambda client: client.com.atproto.repo.list_records(
            models.ComAtprotoRepoListRecords.Params(repo=did, collection=POST_COLLECTION,
                                                    limit=LOOKUP_LIMIT)), write=False)
        earliest = _aware(request.due) - dt.timedelta(seconds=LOOKUP_EARLY_S)
        parent = request.target.post_id if request.target else None
        for item in listed.records:
            record = item.value
            if getattr(record, "text", None) != request.text:
                continue
            created = _parse_time(getattr(record, "created_at", None))
            if created is not None and created < earliest:
                continue
            reply = getattr(record, "reply", None)
            if parent != (reply.parent.uri if reply else None):
                continue
            root_uri, root_cid = (reply.root.uri, reply.root.cid) if reply \
                else (item.uri, item.cid)
            return self._ref(item.uri, {"cid": item.cid, "root_uri": root_uri,
                                        "root_cid": root_cid,
                                        "published_at": created.isoformat() if created
                                        else _now_iso()})
        return None

    def verify(self) -> AccountStatus:
        """Log in with the app password (createSession) and read the profile."""
        self._client = None
        self._session_string = None  # verify the password itself, not a cached session
        try:
            did = self._did()
            profile = self._call(lambda client: client.get_profile(did), write=False)
        except AuthError as exc:
            return AccountStatus(self.account, False, str(exc))
        return AccountStatus(self.account, True,
                             f"logged in as @{profile.handle} ({did}) on {self.pds}")

    # --- Bluesky specifics ----------------------------------------------------------------------

    def session_string(self) -> Secret | None:
        """The current session (handle, did, JWTs, PDS), to reuse instead of logging in."""
        if self._client is None:
            return self._session_string
        secret = Secret(self._client.export_session_string(), "session")
        self._secrets.append(secret)
        return secret

    # --- internals ------------------------------------------------------------------------------

    def _login(self) -> Client:
        """A logged-in client: the session string first, the app password otherwise."""
        client = Client(base_url=self.pds, request=Request(timeout=self.timeout_s))
        if self._session_string is not None:
            # importing a session makes no request; an expired one fails at the first call
            try:
                client.login(session_string=self._session_string.reveal(),
                             fetch_bsky_profile=False)
                return client
            except (ValueError, AtProtocolError) as exc:
                log.warning("bluesky_session_unusable", account=self.account,
                            error=type(exc).__name__)
                self._session_string = None
        try:
            password = self.account_config.credential("app_password")
        except (KeyError, ValueError) as exc:
            raise AuthError(f"bluesky {self.account}: {exc}") from exc
        self._secrets.append(password)
        try:
            client.login(self.handle, password.reveal(), fetch_bsky_profile=False)
        except AtProtocolError as exc:
            raise self._translate(exc, write=False) from exc
        return client

    def _did(self) -> str:
        if self._client is None:
            self._client = self._login()
        return self._client._session.did  # set by login; the public `me` needs a profile call

    def _call(self, operation: Callable[[Client], T], *, write: bool) -> T:
        """Run one atproto call, translating errors; a refused *session* is replaced by a fresh
        login once (a 401 means nothing was done, so repeating the call is safe)."""
        for attempt in (1, 2):
            if self._client is None:
                self._client = self._login()
            try:
                return operation(self._client)
            except (AtProtocolError, httpx.HTTPError) as exc:
                error = self._translate(exc, write)
                if isinstance(error, AuthError) and attempt == 1:
                    # the session was refused (its refresh token expired after 90 idle days,
                    # or it was revoked): nothing was done, so log in again with the app
                    # password and repeat the call once; a refused password raises from login
                    log.info("bluesky_session_refused_logging_in", account=self.account)
                    self._client, self._session_string = None, None
                    continue
                log.warning("bluesky_call_failed", account=self.account,
                            error=type(error).__name__, detail=str(error))
                raise error from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _translate(self, exc: BaseException, write: bool) -> AdapterError:
        where = f"bluesky {self.account}"
        uncertain = OutcomeUnknown if write else Unavailable
        response = getattr(exc, "response", None)
        if response is None:  # transport failure: look at the httpx exception underneath
            cause = exc if isinstance(exc, httpx.HTTPError) else exc.__cause__
            name = type(cause or exc).__name__
            if isinstance(exc, at_exc.LoginRequiredError):
                return AuthError(f"{where}: not logged in")
            if isinstance(cause, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
                return Unavailable(f"{where}: cannot reach {self.pds} ({name})")
            if isinstance(cause, httpx.TransportError):  # read/write timeouts, dropped answers
                return uncertain(f"{where}: no answer from {self.pds} after sending ({name})")
            return uncertain(self._safe(f"{where}: unexpected {name}: {str(exc)[:200]}"))
        status = response.status_code
        content = response.content
        error_name = getattr(content, "error", None) or ""
        message = self._safe(f"{where}: HTTP {str(exc)[:300]}")  # str() starts with status
        if isinstance(exc, at_exc.RateLimitExceededError):
            status = 429
        if error_name in _AUTH_ERRORS:
            return AuthError(message)
        if status < 500 and ("already exists" in message.lower()
                             or error_name == "DuplicateRecord"):
            return Duplicate(message)
        if status == 409:  # a concurrent write to the repo (swap conflict): nothing was written
            return Unavailable(message)
        # a gateway timeout on a write may hide a record that was written: uncertain
        return error_for_status(status, message, write=write, retry_after_s=_retry_after(exc))

    def _safe(self, message: str) -> str:
        """Mask the app password and session JWTs should a server ever echo one back."""
        return mask_secrets(message, self._secrets)

    def _reply_ref(self, target: PostRef):
        """(ReplyRef, root StrongRef) for a reply under ``target``: root and cid from the
        target's ref, read from the repo (getRecord) when an older ref lacks them."""
        cid = target.extra.get("cid")
        root_uri, root_cid = target.extra.get("root_uri"), target.extra.get("root_cid")
        if not cid or not root_uri or not root_cid:
            uri = AtUri.from_str(target.post_id)
            record = self._call(lambda client: client.get_post(
                uri.rkey, profile_identify=uri.hostname), write=False)
            cid = record.cid
            reply = getattr(record.value, "reply", None)
            root_uri, root_cid = (reply.root.uri, reply.root.cid) if reply \
                else (target.post_id, cid)
        parent = models.ComAtprotoRepoStrongRef.Main(uri=target.post_id, cid=cid)
        root = models.ComAtprotoRepoStrongRef.Main(uri=root_uri, cid=root_cid)
        return models.AppBskyFeedPost.ReplyRef(parent=parent, root=root), root

    def _mention_dids(self, text: str) -> dict[str, str]:
        """The DID of each ``@handle`` in ``text`` (``com.atproto.identity.resolveHandle``),
        so the mention links to the account and notifies it; a handle that does not resolve
        stays plain text (nothing is posted yet: a failure here loses nothing)."""
        dids: dict[str, str] = {}
        for mention in facet_detection.detect_mentions(text):
            if mention.handle in dids:
                continue
            try:
                resolved = self._call(lambda client, handle=mention.handle:
                                      client.resolve_handle(handle), write=False)
            except AdapterError:
                continue
            dids[mention.handle] = resolved.did
        return dids

    def _image_embed(self, request: PostRequest, images: list[bytes]):
        """The images embed: each blob uploaded now (nothing is posted yet, so a failure here
        is never an unknown outcome), with its alt text and aspect ratio."""
        embedded = []
        for image, data in zip(request.images, images):
            uploaded = self._call(lambda client, data=data: client.upload_blob(data),
                                  write=False)
            size = image_dimensions(data)
            ratio = models.AppBskyEmbedDefs.AspectRatio(width=size[0], height=size[1]) \
                if size else None
            embedded.append(models.AppBskyEmbedImages.Image(alt=image.alt, image=uploaded.blob,
                                                            aspect_ratio=ratio))
        return models.AppBskyEmbedImages.Main(images=embedded)

    def _card_embed(self, card: LinkCard):
        """The link card (app.bsky.embed.external), its image uploaded now like a post's
        images (nothing is posted yet); an image the PDS refuses leaves a card without one."""
        thumb = None
        if card.thumb is not None and card.thumb.data:
            try:
                thumb = self._call(lambda client: client.upload_blob(card.thumb.data),
                                   write=False).blob
            except Rejected as exc:
                log.info("bluesky_card_image_refused", account=self.account, reason=str(exc))
        return models.AppBskyEmbedExternal.Main(external=models.AppBskyEmbedExternal.External(
            uri=card.uri, title=card.title, description=card.description, thumb=thumb))

    def _read_image(self, image) -> bytes:
        try:
            return image.bytes_or_read()  # the engine's checked bytes when it sent them
        except OSError as exc:
            raise Rejected(f"bluesky {self.account}: cannot read image {image.path} "
                           f"({type(exc).__name__})") from exc

    def _ref(self, uri: str, extra: dict) -> PostRef:
        handle = self._client._session.handle if self._client and self._client._session \
            else self.handle
        rkey = AtUri.from_str(uri).rkey
        return PostRef("bluesky", self.account, uri,
                       f"https://bsky.app/profile/{handle}/post/{rkey}", extra)


# --- helpers ------------------------------------------------------------------------------------


def _rich_text(text: str, mention_dids: dict[str, str] | None = None
               ) -> client_utils.TextBuilder:
    """The text with link, hashtag and mention facets. Detection is atproto's own (the
    official app's rules: bare domains with known TLDs, trailing punctuation left out);
    TextBuilder computes the UTF-8 byte offsets the facets need. A mention becomes a facet
    only when its handle resolved to a DID (``mention_dids``)."""
    spans = []
    for facet in facet_detection.detect_facets(text):
        feature = facet.features[0]
        if isinstance(feature, models.AppBskyRichtextFacet.Link):
            spans.append((facet.index.byte_start, facet.index.byte_end, "link", feature.uri))
        elif isinstance(feature, models.AppBskyRichtextFacet.Tag):
            spans.append((facet.index.byte_start, facet.index.byte_end, "tag", feature.tag))
        # cashtags ($) are for stock tickers, not municipal notices
    for mention in facet_detection.detect_mentions(text):
        did = (mention_dids or {}).get(mention.handle)
        if did:
            spans.append((mention.byte_start, mention.byte_end, "mention", did))
    builder = client_utils.TextBuilder()
    data = text.encode("utf-8")
    position = 0
    for start, end, kind, value in sorted(spans):
        if start < position:
            continue  # overlapping detections: the first one wins
        builder.text(data[position:start].decode("utf-8"))
        segment = data[start:end].decode("utf-8")
        if kind == "link":
            builder.link(segment, value)
        elif kind == "tag":
            builder.tag(segment, value)
        else:
            builder.mention(segment, value)
        position = end
    builder.text(data[position:].decode("utf-8"))
    return builder


def _retry_after(exc: BaseException) -> float | None:
    """Seconds until the ``ratelimit-reset`` epoch (or ``retry-after``), None if absent."""
    reset_at = getattr(exc, "reset_at", None)
    if reset_at is not None:
        return max(0.0, (reset_at - dt.datetime.now(dt.timezone.utc)).total_seconds())
    return getattr(exc, "retry_after", None)


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return _aware(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None
