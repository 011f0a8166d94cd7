"""X (Twitter) through tweepy: API v2 ``Client`` for posts; images through the v2 media
endpoints (``POST /2/media/upload``, then ``POST /2/media/metadata`` for the alt text) signed
with the same OAuth 1.0a user credentials. X retired the v1.1 media upload for self-serve apps
(2025), and tweepy 4.17 has no v2 media call, so the adapter makes those two requests itself
and maps their answers exactly as tweepy maps the others.

Mapping of X's answers onto the adapter errors (``adapters.base``):

* 429 -> ``RateLimited``; ``retry_after_s`` is ``x-rate-limit-reset`` (epoch seconds) - now.
* 5xx, refused/unreachable connection, connect timeout -> ``Unavailable`` (nothing was done).
* read timeout, or a connection dropped after the request went out, on a *write* ->
  ``OutcomeUnknown`` (the tweet may exist: ``lookup`` decides). On reads -> ``Unavailable``.
* 429 whose problem type is ``usage-capped`` (a monthly product cap, not the 15-minute rate
  limit) and 402 (the app's pay-per-use credits are spent) -> ``AccountBlocked``: an account
  alert, since waiting for the rate limit's reset would fail all month.
* 401 -> ``AuthError``; 403 "duplicate content" -> ``Duplicate``; 403 ``client-forbidden``
  (the app lacks access) -> ``AuthError``; 403 ``not-authorized-for-resource`` or about the
  reply target -> ``Rejected``; a 403 to an edit -> ``NotSupported`` (X says why it refuses an
  edit in no documented wording: whatever the reason, the engine replies instead, and a reply
  that is refused too says whether the account is at fault); any other 403 (app without write
  access, suspended account, ...) -> ``AuthError``; 400 / 404 / other 4xx -> ``Rejected``.

X has no idempotency key, so ``lookup`` searches the account's recent tweets for the request's
text (see ``lookup`` for the limits). Edits (``correct``) produce a new tweet id and are only
possible while X's ``edit_controls`` allow them (X Premium when the post was made, within 30
minutes of the original, 5 times); ``correct`` reads them first, and outside them
``NotSupported`` tells the engine to reply instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import os
import re
import time
from typing import Callable

import requests
import tweepy
from requests_oauthlib import OAuth1

from .platform import PlatformAdapter, error_for_status, utc_now
from .accounts import AccountConfig
from .base import (AccountBlocked, AccountStatus, AdapterError, AuthError, Duplicate,
                   NotSupported, OutcomeUnknown, PostRef, PostRequest, RateLimited, Rejected,
                   Unavailable)
from .imagetypes import sniff_image_type
from .pricing import X_LOOKUP_POSTS
from .requests_errors import may_have_arrived
from .credentials import mask_secrets, masking_filter

__all__ = ["XAdapter"]

_CREDENTIALS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
#: how many recent tweets ``lookup`` reads (one page; X allows 5..100; each one billed)
LOOKUP_PAGE = X_LOOKUP_POSTS
#: lookup ignores tweets older than the request's due time minus this (clock skew, early sends)
LOOKUP_SLACK = dt.timedelta(minutes=10)
_URL = re.compile(r"https?://\S+")
#: loggers that print the OAuth 1.0a client (consumer key, access token) at debug level
_OAUTH_LOGGERS = ("requests_oauthlib.oauth1_auth", "oauthlib.oauth1.rfc5849")


_FILTER = masking_filter(_OAUTH_LOGGERS)
#: the v2 media endpoints (docs.x.com, "Media": upload, then metadata for the alt text)
MEDIA_API = "https://api.x.com/2/media"
#: what tweepy raises for each status (``tweepy.Client.request``)
_TWEEPY_ERRORS = {400: tweepy.BadRequest, 401: tweepy.Unauthorized, 403: tweepy.Forbidden,
                  404: tweepy.NotFound, 429: tweepy.TooManyRequests}


class _TimeoutSession(requests.Session):
    """A session that applies a default timeout: ``tweepy.Client.request`` passes none, and a
    request without a timeout can hang a worker thread forever."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout_s
        return super().request(method, url, *args, **kwargs)


class XAdapter(PlatformAdapter):
    """One X account, authenticated as the user with OAuth 1.0a (the four credentials)."""

    def __init__(self, account: AccountConfig, *, timeout_s: float = 10,
                 clock: Callable[[], dt.datetime] = utc_now) -> None:
        super().__init__(account, clock=clock)
        self.timeout_s = timeout_s
        secrets = {name: account.credential(name) for name in _CREDENTIALS}
        # kept only to mask them out of messages; revealed once, into the client libraries
        self._secrets = tuple(secrets.values())
        values = {name: secret.reveal() for name, secret in secrets.items()}
        _FILTER.secrets.update(values.values())
        self.client = tweepy.Client(**values, wait_on_rate_limit=False)
        self.client.session = _TimeoutSession(timeout_s)
        # the v2 media endpoints, signed as tweepy signs the v2 calls
        self._oauth = OAuth1(values["consumer_key"], values["consumer_secret"],
                             values["access_token"], values["access_token_secret"],
                             decoding=None)
        self._user_id: str | None = None


    # --- the Adapter protocol -----------------------------------------------------------------

    def publish(self, request: PostRequest) -> PostRef:
        """Tweet ``request.text`` (with its images); a reply when ``request.target`` is set."""
        self.check_content(request)
        media_ids = self._upload_images(request)
        target = request.target.post_id if request.target else None
        response = self._call("publish", lambda: self.client.create_tweet(
            text=request.text, in_reply_to_tweet_id=target, media_ids=media_ids or None),
            write=True)
        return self._ref(str(response.data["id"]), published_at=self.clock(),
                         media_ids=media_ids)

    def correct(self, request: PostRequest) -> PostRef:
        """Edit ``request.target`` (a new tweet id); NotSupported past 30 min or 5 edits."""
        target = request.require_target()
        self.check_content(request)
        edit = self.capabilities.edit
        published = target.published_at()
        edits = int(target.extra.get("edit_count", "0"))
        if published is not None and edit.window_s is not None:
            age = (self.clock() - published).total_seconds()
            if age > edit.window_s:
                raise NotSupported(f"X edit window of {edit.window_s // 60} min has passed "
                                   f"({int(age // 60)} min since publication): reply instead")
        if edit.max_edits is not None and edits >= edit.max_edits:
            raise NotSupported(f"X allows {edit.max_edits} edits and tweet {target.post_id} "
                               f"has had {edits}: reply instead")
        if request.images:
            raise NotSupported("X edits cannot change images: reply instead")
        latest = self._editable_version(target)
        if latest.text_matches(request.text):
            # an earlier attempt's edit arrived and its answer was lost: it is done
            return self._edited_ref(target, latest.post_id, edits)
        body = {"text": request.text, "edit_options": {"previous_post_id": latest.post_id}}
        # an edit is a whole new version of the post: without its media ids it has no images
        # (docs.x.com "Edit Posts": the edit is a POST /2/tweets like any other); ids are
        # valid for 24 h, far longer than the edit window
        media_ids = [m for m in target.extra.get("media_ids", "").split(",") if m]
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        try:
            # tweepy's create_tweet has no edit_options: same endpoint through Client.request
            response = self._call("correct", lambda: self.client.request(
                "POST", "/2/tweets", json=body, user_auth=True), write=True)
        except (Rejected, AuthError) as exc:
            # X refuses edits of non-editable tweets (too old, too many edits, not ours) with a
            # 403 whose wording is not documented: the engine should then reply rather than
            # give up on the correction or take the account for broken
            forbidden = isinstance(exc.__cause__, tweepy.Forbidden)
            if forbidden or "edit" in str(exc).lower():
                raise NotSupported(f"X refused the edit of {latest.post_id}: {exc}") from exc
            raise
        return self._edited_ref(target, str(response.json()["data"]["id"]), edits)

    def retract(self, request: PostRequest) -> None:
        """Delete ``request.target``; a tweet that is already gone counts as deleted."""
        target = request.require_target()
        try:
            self._call("retract", lambda: self.client.delete_tweet(target.post_id), write=True)
        except Rejected as exc:
            if isinstance(exc.__cause__, tweepy.NotFound):
                return  # deleted by an earlier attempt or by hand: the goal is reached
            raise

    def lookup(self, request: PostRequest) -> PostRef | None:
        """Find the tweet an earlier attempt of ``request`` produced, by its text.

        Limits, because X has no idempotency key: only the last ``LOOKUP_PAGE`` tweets created
        since ``request.due - LOOKUP_SLACK`` are read (X's search index can lag a few seconds,
        hence the engine's lookup delay); text is compared after undoing X's changes (links
        become t.co, ``&`` becomes ``&amp;``), so two tweets differing only in their links
        would be confused - X's own duplicate-content rule makes that unlikely. Replies must
        answer ``request.target``; corrections must list it in their edit history. A
        retraction produces no tweet: None (deleting again is harmless, see ``retract``).
        """
        if request.action == "retract":
            return None
        user_id = self._authenticated_user_id()
        since = request.due.astimezone(dt.timezone.utc) - LOOKUP_SLACK
        response = self._call("lookup", lambda: self.client.get_users_tweets(
            user_id, max_results=LOOKUP_PAGE, start_time=since, user_auth=True,
            tweet_fields=["created_at", "referenced_tweets", "edit_history_tweet_ids",
                          "attachments"]))
        target = request.target.post_id if request.target else None
        for tweet in response.data or ():
            if not _Version.of(tweet).text_matches(request.text):
                continue
            if request.action == "correct":
                if target not in [str(i) for i in (tweet.edit_history_tweet_ids or ())]:
                    continue
                # the bookkeeping of an edit: the window and the count run from the original
                return self._edited_ref(request.require_target(), str(tweet.id),
                                        int(request.target.extra.get("edit_count", "0")))
            if target is not None:
                replied = [str(ref.id) for ref in (tweet.referenced_tweets or ())
                           if ref.type == "replied_to"]
                if target not in replied:
                    continue
            created = tweet.created_at or self.clock()
            return self._ref(str(tweet.id), published_at=created,
                             media_ids=_media_ids(tweet.attachments))
        return None

    def verify(self) -> AccountStatus:
        """Ask X who the credentials belong to; refused credentials give ``ok=False``."""
        try:
            response = self._call("verify", lambda: self.client.get_me(
                user_fields=["username"]))
        except AuthError as exc:
            return AccountStatus(self.account, False, str(exc))
        self._user_id = str(response.data.id)
        return AccountStatus(self.account, True,
                             f"@{response.data.username} (user id {response.data.id})")

    # --- internals ------------------------------------------------------------------------------

    def _authenticated_user_id(self) -> str:
        if self._user_id is None:
            response = self._call("lookup", lambda: self.client.get_me())
            self._user_id = str(response.data.id)
        return self._user_id

    def _editable_version(self, target: PostRef) -> "_Version":
        """The latest version of ``target``'s post, once X's ``edit_controls`` say it can be
        edited now (NotSupported otherwise: the engine replies instead).

        The latest version, because X edits only that one: when an earlier attempt's edit
        arrived but its answer was lost, or someone edited the post by hand, ``target`` is no
        longer it."""
        response = self._call("correct", lambda: self.client.get_tweet(
            target.post_id, user_auth=True,
            tweet_fields=["edit_controls", "edit_history_tweet_ids", "attachments"]))
        tweet = response.data
        if tweet is None:
            raise Rejected(f"X post {target.post_id} no longer exists (deleted on X?): "
                           "nothing to edit")
        # tweepy has parsed them: edits_remaining an int, editable_until an aware datetime
        controls = tweet.edit_controls or {}
        until = controls.get("editable_until")
        if controls and not controls.get("is_edit_eligible", True):
            raise NotSupported(f"X does not let post {target.post_id} be edited (it was not "
                               "edit-eligible when posted): reply instead")
        if controls and int(controls.get("edits_remaining", 1)) <= 0:
            raise NotSupported(f"X post {target.post_id} has no edits left: reply instead")
        if until is not None and until <= self.clock():
            raise NotSupported(f"X's edit window of post {target.post_id} closed at "
                               f"{until.isoformat()}: reply instead")
        history = [str(i) for i in (tweet.edit_history_tweet_ids or ())]
        if history and history[-1] != str(tweet.id):
            latest = self._call("correct", lambda: self.client.get_tweet(
                history[-1], user_auth=True, tweet_fields=["attachments"])).data
            if latest is not None:
                return _Version.of(latest)
        return _Version.of(tweet)

    def _edited_ref(self, target: PostRef, new_id: str, edits_before: int) -> PostRef:
        """The ref of an edit of ``target``: the window counts from the original publication
        (it does not restart with an edit), one more edit is used, the images stay."""
        media_ids = [m for m in target.extra.get("media_ids", "").split(",") if m]
        return self._ref(new_id, published_at=target.published_at() or self.clock(),
                         edit_count=edits_before + 1, previous_post_id=target.post_id,
                         media_ids=media_ids)

    def _upload_images(self, request: PostRequest) -> list[str]:
        """Upload each image (``POST /2/media/upload``) and set its alt text
        (``POST /2/media/metadata``); returns the media ids. Nothing is posted yet, so a
        failure here is never an unknown outcome."""
        media_ids = []
        for image in request.images:
            if re.match(r"https?://", image.path):
                raise Rejected(f"X needs a local image file, not a URL ({image.path})")
            try:
                data = image.bytes_or_read()  # the engine's checked bytes when it sent them
            except OSError as exc:
                raise Rejected(f"X: image {image.path} cannot be read "
                               f"({type(exc).__name__})") from exc
            mime = sniff_image_type(data) or "application/octet-stream"
            uploaded = self._call("upload", lambda: self._media_post(
                "upload", data={"media_category": "tweet_image"},
                files={"media": (os.path.basename(image.path), data, mime)}))
            media_id = str(uploaded["data"]["id"])
            if image.alt:
                self._call("upload", lambda: self._media_post("metadata", json={
                    "id": media_id, "metadata": {"alt_text": {"text": image.alt}}}))
            media_ids.append(media_id)
        return media_ids

    def _media_post(self, endpoint: str, **kwargs) -> dict:
        """One v2 media request; a refusal raised as tweepy raises it for the other calls."""
        response = self.client.session.post(f"{MEDIA_API}/{endpoint}", auth=self._oauth,
                                            **kwargs)
        if response.status_code >= 400:
            raise _TWEEPY_ERRORS.get(response.status_code, (
                tweepy.TwitterServerError if response.status_code >= 500
                else tweepy.HTTPException))(response)
        try:
            return response.json()
        except ValueError:
            raise tweepy.HTTPException(response) from None

    def _call(self, operation: str, call: Callable, *, write: bool = False):
        """Run one tweepy call, turning its failures into adapter errors."""
        try:
            return call()
        except (tweepy.TweepyException, requests.RequestException) as exc:
            raise self._error(operation, exc, write=write) from exc

    def _error(self, operation: str, exc: Exception, *, write: bool) -> AdapterError:
        message = mask_secrets(f"X {operation} failed ({type(exc).__name__}): {exc}",
                               self._secrets)
        problem = _problem_type(exc)
        if problem == "usage-capped":
            # a product cap (monthly), not the 15-minute rate limit: retrying at the rate
            # limit's reset would fail all month
            return AccountBlocked(f"{message}; X's usage cap for this app is reached: raise the "
                                  "plan or wait for the cap's period to end")
        if isinstance(exc, tweepy.TooManyRequests):
            retry = (max(0.0, exc.reset_time - time.time())
                     if exc.reset_time is not None else None)
            return RateLimited(message, retry_after_s=retry)
        if _status(exc) == 402:
            return AccountBlocked(f"{message}; the X API credits of this app are spent: top "
                                  "them up in the developer console")
        if isinstance(exc, tweepy.TwitterServerError):
            return Unavailable(message)
        if isinstance(exc, tweepy.Unauthorized):
            return AuthError(message)
        if isinstance(exc, tweepy.Forbidden):
            text = " ".join(exc.api_messages).lower()
            if "duplicate" in text:
                return Duplicate(message)
            if problem == "client-forbidden":
                return AuthError(message)  # the app lacks access to the endpoint
            if problem in ("not-authorized-for-resource", "resource-not-found"):
                return Rejected(message)  # this post may not be answered (reply rules)
            if "reply" in text or "not visible" in text or "deleted" in text:
                return Rejected(message)
            return AuthError(message)
        if isinstance(exc, tweepy.HTTPException):
            return error_for_status(_status(exc) or 400, message, write=write)
        if isinstance(exc, tweepy.TweepyException):
            # tweepy wraps some of requests' errors: classify the wrapped one
            inner = exc.__context__
            if isinstance(inner, requests.RequestException):
                return self._error(operation, inner, write=write)
            return Unavailable(message)
        if write and may_have_arrived(exc):
            return OutcomeUnknown(message)
        return Unavailable(message)

    def _ref(self, post_id: str, *, published_at: dt.datetime, edit_count: int = 0,
             previous_post_id: str | None = None, media_ids=()) -> PostRef:
        extra = {"published_at": published_at.astimezone(dt.timezone.utc).isoformat(),
                 "edit_count": str(edit_count)}
        if previous_post_id:
            extra["previous_post_id"] = previous_post_id
        if media_ids:  # an edit must send them again (see ``correct``)
            extra["media_ids"] = ",".join(media_ids)
        # i/web/status works without knowing the account's screen name
        return PostRef("x", self.account, post_id, f"https://x.com/i/web/status/{post_id}",
                       extra)


def _status(exc: Exception) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _problem_type(exc: Exception) -> str:
    """The last part of an X API v2 problem's ``type`` (``usage-capped``, ``client-forbidden``,
    ...; docs.x.com "Response codes and errors"), or "" when the answer carries none."""
    response = getattr(exc, "response", None)
    if response is None:
        return ""
    try:
        body = response.json()
    except ValueError:
        return ""
    kind = body.get("type") if isinstance(body, dict) else None
    return kind.rsplit("/", 1)[-1] if isinstance(kind, str) and "/problems/" in kind else ""


def _comparable(text: str) -> str:
    """Text as X gives it back and as we sent it, made comparable (links, entities, spaces)."""
    return " ".join(_URL.sub("<link>", html.unescape(text)).split())


def _media_ids(attachments) -> list[str]:
    """Media ids from a tweet's ``attachments.media_keys`` (``<type>_<media id>``)."""
    keys = (attachments or {}).get("media_keys") or ()
    return [key.split("_", 1)[1] for key in keys if "_" in key]


@dataclasses.dataclass(frozen=True)
class _Version:
    """One version of a post as X gives it back."""

    post_id: str
    text: str
    has_media: bool

    @classmethod
    def of(cls, tweet) -> "_Version":
        return cls(str(tweet.id), tweet.text or "", bool(_media_ids(tweet.attachments)))

    def text_matches(self, sent: str) -> bool:
        """Whether this version's text is ``sent``: X writes attached media as one more t.co
        link at the end of the text it gives back."""
        seen = _comparable(self.text)
        if self.has_media and seen.endswith("<link>") and seen != _comparable(sent):
            seen = seen[:-len("<link>")].rstrip()
        return seen == _comparable(sent)
