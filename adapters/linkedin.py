"""LinkedIn organization pages through the versioned REST Posts API, with ``httpx``.

Every call carries ``LinkedIn-Version: YYYYMM`` (pinned, ``options.linkedin_version``: LinkedIn
sunsets each version about a year after release, so upgrading is a config change) and
``X-Restli-Protocol-Version: 2.0.0`` (learn.microsoft.com, "Posts API"). The page posts as
``urn:li:organization:{options.organization_id}``; the token needs ``w_organization_social``
(and ``r_organization_social`` for lookup and verify) of a page ADMINISTRATOR/CONTENT_ADMIN.

* publish: ``POST /rest/posts`` -> 201, the post URN in the ``x-restli-id`` header. Images go
  first through the Images API (``POST /rest/images?action=initializeUpload``, then ``PUT``
  the bytes to ``uploadUrl``) and are attached as ``content.media`` (one) or
  ``content.multiImage`` (2-20), each with its ``altText``.
* correct: ``POST /rest/posts/{urn}`` with ``X-RestLi-Method: PARTIAL_UPDATE`` and
  ``{"patch": {"$set": {"commentary": ...}}}`` (the commentary is the one editable field).
* retract: ``DELETE /rest/posts/{urn}`` (``X-RestLi-Method: DELETE``); 404 means already gone.
* reply: a comment by the organization (``POST /rest/socialActions/{urn}/comments``).
* lookup: ``GET /rest/posts?q=author&author={urn}`` matched by commentary and time.

Commentary is in LinkedIn's "little text" format: ``\\ | { } @ [ ] ( ) < > # * _ ~`` are
reserved and must be escaped, or the post is cut at the first unescaped one; ``#word`` becomes
a hashtag template. Errors: 429 -> RateLimited (Retry-After), 401/403 -> AuthError, 409 or a
"duplicate" refusal -> Duplicate, other 4xx -> Rejected, 5xx and refused connections ->
Unavailable; a read timeout (or a 504) on a write -> OutcomeUnknown.

Tokens last 60 days: ``verify`` reports the days left from token introspection (credentials
``client_id``/``client_secret``) or from ``options.token_expires_at``, and warns under 14 days.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Callable
from urllib.parse import quote

import httpx

from .platform import PlatformAdapter, error_for_status, utc_now
from .accounts import AccountConfig
from .base import (AccountStatus, AdapterError, AuthError, Duplicate, NotSupported,
                   OutcomeUnknown, PostRef, PostRequest, Rejected, Unavailable)
from .api_versions import LINKEDIN
from .credentials import mask_secrets

__all__ = ["LinkedInAdapter", "little_text", "DEFAULT_VERSION", "EXPIRY_WARNING_DAYS"]

API = "https://api.linkedin.com/rest"
INTROSPECT = "https://www.linkedin.com/oauth/v2/introspectToken"
#: a current Marketing API version (``adapters.api_versions``: each lives about a year; pin
#: your own with options.linkedin_version and raise it when ``accounts check`` warns)
DEFAULT_VERSION = LINKEDIN.default
EXPIRY_WARNING_DAYS = 14
#: an uploaded image is PROCESSING for a while; a post made before it is AVAILABLE is never
#: shown if the processing then fails (Images API), so the adapter waits, bounded
IMAGE_POLL_S = 1.0
IMAGE_TIMEOUT_S = 60.0
LOOKUP_PAGE = 20
LOOKUP_SLACK = dt.timedelta(minutes=10)
_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")
#: a hashtag: "#" and a word, not preceded by a word character ("C#" is no hashtag)
_HASHTAG_SPLIT = re.compile(r"(?<!\w)(#\w+)", re.UNICODE)


def little_text(text: str) -> str:
    """``text`` in LinkedIn's little text format: ``#word`` as a hashtag template, every other
    reserved character (``#`` included) escaped with a backslash."""
    parts = _HASHTAG_SPLIT.split(text)
    return "".join("{hashtag|\\#|" + _RESERVED.sub(r"\\\1", part[1:]) + "}" if index % 2
                   else _RESERVED.sub(r"\\\1", part) for index, part in enumerate(parts))


class LinkedInAdapter(PlatformAdapter):
    """One organization page. Options: ``organization_id`` (required), ``linkedin_version``,
    ``token_expires_at``. Credentials: ``access_token``; optional ``client_id`` and
    ``client_secret`` (token introspection)."""

    def __init__(self, account: AccountConfig, *, timeout_s: float = 10,
                 clock: Callable[[], dt.datetime] = utc_now,
                 transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__(account, clock=clock)
        self.sleep, self.monotonic = sleep, monotonic
        self.image_poll_s = float(account.options.get("image_poll_s", IMAGE_POLL_S))
        self.image_timeout_s = float(account.options.get("image_timeout_s", IMAGE_TIMEOUT_S))
        org = str(account.options.get("organization_id") or "").removeprefix(
            "urn:li:organization:")
        if not org.isdigit():
            raise ValueError(f"account {account.ref}: options.organization_id must be the "
                             "page's numeric id (from its admin URL)")
        self.author = f"urn:li:organization:{org}"
        self.version = str(account.options.get("linkedin_version") or DEFAULT_VERSION)
        if not re.fullmatch(r"20\d{4}", self.version):
            raise ValueError(f"account {account.ref}: linkedin_version must be YYYYMM")
        token = account.credential("access_token")
        self._token = token
        self._client_id = (account.credential("client_id")
                           if "client_id" in account.credentials else None)
        self._client_secret = (account.credential("client_secret")
                               if "client_secret" in account.credentials else None)
        self._expires_at = account.options.get("token_expires_at") or (
            account.credential("token_expires_at").reveal()
            if "token_expires_at" in account.credentials else None)
        self._secrets = tuple(s for s in (token, self._client_id, self._client_secret) if s)
        self.http = httpx.Client(timeout=timeout_s, transport=transport, headers={
            "Authorization": f"Bearer {token.reveal()}", "LinkedIn-Version": self.version,
            "X-Restli-Protocol-Version": "2.0.0"})

    def _repr_details(self) -> str:
        return f"author={self.author!r}, v{self.version}"

    # --- the Adapter protocol -----------------------------------------------------------------

    def publish(self, request: PostRequest) -> PostRef:
        """Post ``request.text`` as the organization, with its images; a comment when
        ``request.target`` is set."""
        if request.target is not None:
            return self.reply(request)
        self.check_content(request)
        body: dict = {"author": self.author, "commentary": little_text(request.text),
                      "visibility": "PUBLIC", "lifecycleState": "PUBLISHED",
                      "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                                       "thirdPartyDistributionChannels": []},
                      "isReshareDisabledByAuthor": False}
        images = [{"id": self._upload(image), "altText": image.alt} for image in request.images]
        if len(images) == 1:
            body["content"] = {"media": images[0]}
        elif images:
            body["content"] = {"multiImage": {"images": images}}
        response = self._call("publish", "POST", f"{API}/posts", json=body, write=True)
        urn = response.headers.get("x-restli-id")
        if not urn:
            raise OutcomeUnknown(f"LinkedIn accepted the post ({response.status_code}) "
                                 "without naming it (no x-restli-id): lookup decides")
        return self._ref(urn)

    def correct(self, request: PostRequest) -> PostRef:
        """Replace the commentary of the post in place (partial update; no time limit)."""
        target = request.require_target()
        if target.extra.get("kind") == "comment":
            raise NotSupported("comments of the page are not edited: reply instead")
        self.check_content(request)
        self._call("correct", "POST", f"{API}/posts/{quote(target.post_id, safe='')}",
                   headers={"X-RestLi-Method": "PARTIAL_UPDATE"}, write=True,
                   json={"patch": {"$set": {"commentary": little_text(request.text)}}})
        extra = dict(target.extra)
        extra["edit_count"] = str(int(extra.get("edit_count", "0")) + 1)
        return PostRef("linkedin", self.account, target.post_id, target.url, extra)

    def reply(self, request: PostRequest) -> PostRef:
        """Comment ``request.text`` under the target as the organization."""
        target = request.require_target()
        self.check_content(request)
        parent = target.extra.get("parent") or target.post_id
        response = self._call(
            "reply", "POST", f"{API}/socialActions/{quote(parent, safe='')}/comments",
            write=True, json={"actor": self.author, "object": parent,
                              "message": {"text": request.text}})
        data = _json(response)
        comment = str(response.headers.get("x-restli-id") or data.get("id") or "")
        if not comment:
            raise OutcomeUnknown("LinkedIn accepted the comment without naming it")
        return self._comment_ref(parent, target.url, comment, data.get("$URN"))

    def retract(self, request: PostRequest) -> None:
        """Delete the post (or the page's comment); one that is already gone counts as done."""
        target = request.require_target()
        if target.extra.get("kind") == "comment":
            url = (f"{API}/socialActions/{quote(target.extra['parent'], safe='')}/comments/"
                   f"{quote(target.post_id, safe='')}?actor={quote(self.author, safe='')}")
        else:
            url = f"{API}/posts/{quote(target.post_id, safe='')}"
        try:
            self._call("retract", "DELETE", url, headers={"X-RestLi-Method": "DELETE"},
                       write=True)
        except Rejected as exc:
            if getattr(exc.__cause__, "response", None) is not None and \
                    exc.__cause__.response.status_code in (404, 410):
                return
            raise

    def lookup(self, request: PostRequest) -> PostRef | None:
        """Find what an earlier attempt of ``request`` produced, by its text: the page's last
        ``LOOKUP_PAGE`` posts created since ``due - LOOKUP_SLACK`` (commentary compared in
        little text form), the target's comments by the page for a reply. An edit is found by
        reading the target's commentary; a retraction produces nothing."""
        if request.action == "retract":
            return None
        if request.action == "correct":
            target = request.require_target()
            post = _json(self._call("lookup", "GET",
                                    f"{API}/posts/{quote(target.post_id, safe='')}"))
            if (post.get("commentary") or "").strip() == little_text(request.text).strip():
                return PostRef("linkedin", self.account, target.post_id, target.url,
                               dict(target.extra))
            return None
        if request.target is not None:
            parent = request.target.extra.get("parent") or request.target.post_id
            found = _json(self._call("lookup", "GET",
                                     f"{API}/socialActions/{quote(parent, safe='')}/comments"))
            for comment in found.get("elements") or ():
                text = ((comment.get("message") or {}).get("text") or "").strip()
                if comment.get("actor") == self.author and text == request.text.strip():
                    return self._comment_ref(parent, request.target.url,
                                             str(comment.get("id")), comment.get("$URN"))
            return None
        since_ms = (request.due.astimezone(dt.timezone.utc) - LOOKUP_SLACK).timestamp() * 1000
        found = _json(self._call("lookup", "GET", self._by_author(LOOKUP_PAGE)))
        wanted = little_text(request.text).strip()
        for post in found.get("elements") or ():
            if (post.get("createdAt") or since_ms) < since_ms:
                continue
            if (post.get("commentary") or "").strip() == wanted:
                return self._ref(str(post["id"]))
        return None

    def verify(self) -> AccountStatus:
        """Read the page's posts with the token, and say how many days the token has left."""
        try:
            self._call("verify", "GET", self._by_author(1))
        except AuthError as exc:
            return AccountStatus(self.account, False, str(exc))
        days, how = self._expiry()
        detail = f"organization {self.author.rsplit(':', 1)[1]} (LinkedIn-Version {self.version})"
        if days is not None and days < 0:
            return AccountStatus(self.account, False, f"{detail}: the token has expired ({how})",
                                 days)
        if days is not None:
            detail += f"; token expires in {days} days ({how})"
            if days < EXPIRY_WARNING_DAYS:
                detail += ": renew it now (LinkedIn tokens last 60 days)"
        return AccountStatus(self.account, True, detail, days)

    # --- internals ------------------------------------------------------------------------------

    def _by_author(self, count: int) -> str:
        # Rest.li 2.0 wants URNs in query strings encoded (":" as %3A)
        return (f"{API}/posts?q=author&author={quote(self.author, safe='')}"
                f"&count={count}&sortBy=LAST_MODIFIED")

    def _expiry(self) -> tuple[int | None, str]:
        """Days until the token expires, and where that comes from."""
        if self._client_id and self._client_secret:
            try:
                info = _json(self._call("verify", "POST", INTROSPECT, data={
                    "client_id": self._client_id.reveal(), "token": self._token.reveal(),
                    "client_secret": self._client_secret.reveal()}))
            except AdapterError as exc:
                return None, f"introspection failed: {exc}"
            if not info.get("active", False) or info.get("status") in ("revoked", "expired"):
                return -1, f"introspection: {info.get('status') or 'inactive'}"
            if info.get("expires_at"):
                moment = dt.datetime.fromtimestamp(int(info["expires_at"]), dt.timezone.utc)
                return (moment - self.clock()).days, "token introspection"
        if self._expires_at:
            moment = _parse_moment(self._expires_at)
            if moment is not None:
                return (moment - self.clock()).days, "token_expires_at"
        return None, "unknown"

    def _upload(self, image) -> str:
        """Register and upload one image; returns its ``urn:li:image``. Nothing is posted yet,
        so failures here are never an unknown outcome."""
        if re.match(r"https?://", image.path):
            data = self._call("upload", "GET", image.path, auth=False).content
        else:
            try:
                data = image.bytes_or_read()  # the engine's checked bytes when it sent them
            except OSError as exc:
                raise Rejected(f"image {image.path} cannot be read ({type(exc).__name__})") \
                    from exc
        init = _json(self._call("upload", "POST", f"{API}/images?action=initializeUpload",
                                json={"initializeUploadRequest": {"owner": self.author}}))
        value = init.get("value") or {}
        self._call("upload", "PUT", value["uploadUrl"], content=data)
        urn = str(value["image"])
        self._wait_available(urn, image.path)
        return urn

    def _wait_available(self, urn: str, shown: str) -> None:
        """Poll ``GET /rest/images/{urn}`` until AVAILABLE (bounded): a post naming an image
        LinkedIn then fails to process is created but no member ever sees it. Nothing is
        posted yet, so a timeout is a safe retry and PROCESSING_FAILED a refusal."""
        deadline = self.monotonic() + self.image_timeout_s
        while True:
            status = _json(self._call("upload", "GET",
                                      f"{API}/images/{quote(urn, safe='')}")).get("status")
            if status == "AVAILABLE":
                return
            if status == "PROCESSING_FAILED":
                raise Rejected(f"LinkedIn could not process image {shown} (only JPG, GIF and "
                               "PNG are taken): nothing was posted")
            if self.monotonic() + self.image_poll_s > deadline:
                raise Unavailable(f"LinkedIn image {shown} still {status} after "
                                  f"{self.image_timeout_s:.0f} s: nothing was posted")
            self.sleep(self.image_poll_s)

    def _call(self, operation: str, method: str, url: str, *, write: bool = False,
              auth: bool = True, **kwargs) -> httpx.Response:
        """One HTTP request, its failures turned into adapter errors."""
        try:
            if auth:
                response = self.http.request(method, url, **kwargs)
            else:  # a public image: never send our token to someone else's server
                response = httpx.request(method, url, timeout=self.http.timeout,
                                         follow_redirects=True, **kwargs)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise self._error(operation, exc, write=write) from exc
        return response

    def _error(self, operation: str, exc: httpx.HTTPError, *, write: bool) -> AdapterError:
        response = getattr(exc, "response", None) if isinstance(exc, httpx.HTTPStatusError) \
            else None
        detail = str(exc)
        if response is not None:
            body = _json(response)
            detail = (f"{response.status_code} {body.get('code') or ''} "
                      f"{body.get('message') or response.text[:200]}").strip()
        message = mask_secrets(f"LinkedIn {operation} failed ({type(exc).__name__}): {detail}",
                               self._secrets)
        if response is None:
            if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout,
                                httpx.WriteTimeout)):
                return Unavailable(message)  # nothing reached LinkedIn
            return OutcomeUnknown(message) if write else Unavailable(message)
        status = response.status_code
        if status == 426:
            # the gateway no longer serves this LinkedIn-Version (NONEXISTENT_VERSION): an
            # account configuration to fix, never the post's content
            message += (f"; LinkedIn-Version {self.version} is not served any more: set "
                        f"options.linkedin_version to {LINKEDIN.default} (pregonero accounts "
                        "check)")
        if status == 409 or (status in (400, 422) and "duplicate" in detail.lower()):
            return Duplicate(message)
        return error_for_status(status, message, write=write,
                                retry_after_s=_retry_after(response))

    def _ref(self, urn: str) -> PostRef:
        return PostRef("linkedin", self.account, urn,
                       f"https://www.linkedin.com/feed/update/{urn}/",
                       {"published_at": self._now(), "edit_count": "0"})

    def _comment_ref(self, parent: str, url: str | None, comment_id: str,
                     comment_urn: object) -> PostRef:
        extra = {"published_at": self._now(), "edit_count": "0", "kind": "comment",
                 "parent": parent}
        if comment_urn:
            extra["urn"] = str(comment_urn)
        return PostRef("linkedin", self.account, comment_id, url, extra)

    def _now(self) -> str:
        return self.clock().astimezone(dt.timezone.utc).isoformat()


def _json(response: httpx.Response) -> dict:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _parse_moment(value: object) -> dt.datetime | None:
    """``token_expires_at`` as a date or an ISO datetime (UTC when no offset is given)."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time(), dt.timezone.utc)
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
