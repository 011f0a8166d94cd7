"""Instagram professional accounts through the Instagram Graph API (Facebook Login flavour, on
``graph.facebook.com``), with the Graph client shared with Facebook (``adapters.graph``).

Publishing is two-step (developers.facebook.com, Instagram Platform, "Content Publishing"):
create a media container (``POST /{ig-user-id}/media`` with ``image_url``, ``caption`` and
``alt_text``), wait until the container's ``status_code`` is ``FINISHED`` (``GET
/{container-id}?fields=status_code``: IN_PROGRESS, FINISHED, ERROR, EXPIRED, PUBLISHED), then
``POST /{ig-user-id}/media_publish`` with ``creation_id``. A carousel is one container per image
(``is_carousel_item=true``) and a ``CAROUSEL`` container listing them in ``children``. Instagram
cURLs the images itself: they must be public URLs (the linter refuses ``file:``-only images).

Only ``media_publish`` publishes anything: a failure while creating or polling containers is
never an unknown outcome (an unpublished container simply expires after 24 hours).

After publishing, the API cannot change a caption, so ``correct`` raises NotSupported (the
engine comments instead). ``retract`` deletes the post (``DELETE /{ig-media-id}``, since the
Instagram Platform changelog of 2025-12-03; Facebook Login with ``instagram_manage_contents``)
or a comment of the account; one already gone counts as done, and a token without that
permission gets NotSupported with the post's link (the engine comments and alerts).

Accounts publish at most ``quota_total`` posts per moving 24 hours (a carousel counts as one);
``publishing_quota`` reads ``/{ig-user-id}/content_publishing_limit`` for the engine.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Callable

import structlog

from .platform import PlatformAdapter, utc_now
from .accounts import AccountConfig
from .base import (AccountStatus, AdapterError, AuthError, NotSupported, PostRef, PostRequest, Rejected)
from .containers import Containers, PublishingQuota
from .graph import GraphClient, check_graph_version, error_codes, graph_time

__all__ = ["InstagramAdapter", "PublishingQuota"]

log = structlog.get_logger("pregonero.adapters.instagram")

#: how many recent media/comments ``lookup`` reads
LOOKUP_PAGE = 25
LOOKUP_SLACK = dt.timedelta(minutes=10)
#: container polling: Meta suggests polling about once a minute for at most five minutes for
#: videos; images are usually FINISHED at once, so we poll briefly and often
POLL_INTERVAL_S = 2.0
POLL_TIMEOUT_S = 60.0


class InstagramAdapter(PlatformAdapter):
    """One Instagram professional account: ``options.ig_user_id``, credential ``access_token``
    (a token of a Page admin with instagram_content_publish, or a system user token)."""

    def __init__(self, account: AccountConfig, *, timeout_s: float = 10,
                 graph_version: str | None = None,
                 clock: Callable[[], dt.datetime] = utc_now,
                 sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__(account, clock=clock)
        self.graph_version = check_graph_version(
            account.ref, graph_version or account.options.get("graph_version"))
        user_id = account.options.get("ig_user_id")
        if not user_id:
            raise ValueError(f"account {account.ref}: options.ig_user_id is required (the "
                             "Instagram professional account id, not the Page id)")
        self.user_id = str(user_id)
        self._own_username: str | None = None
        self.poll_interval_s = float(account.options.get("container_poll_s", POLL_INTERVAL_S))
        self.poll_timeout_s = float(account.options.get("container_timeout_s", POLL_TIMEOUT_S))
        self.client = GraphClient("Instagram", account.credential("access_token"),
                                  timeout_s=timeout_s, graph_version=self.graph_version)
        self.containers = Containers(self.client, "Instagram", "status_code", "status",
                                     self.poll_interval_s, self.poll_timeout_s, sleep, monotonic)

    def _repr_details(self) -> str:
        return f"ig_user={self.user_id}"

    # --- the Adapter protocol -----------------------------------------------------------------

    def publish(self, request: PostRequest) -> PostRef:
        """Publish an image (or a carousel) with ``request.text`` as its caption; a comment
        when ``request.target`` is set."""
        if request.target is not None:
            return self.reply(request)
        self.check_content(request)
        for image in request.images:
            if not re.match(r"https?://", image.path):
                raise Rejected(f"Instagram fetches images by URL; {image.path} is a local file "
                               "(give the image a public url:)")
        if len(request.images) == 1:
            container = self._container(self._image_args(request.images[0]),
                                        caption=request.text)
        else:
            children = [self._container(dict(self._image_args(image), is_carousel_item="true"))
                        for image in request.images]
            for child in children:
                self.containers.wait_finished(child)
            container = self._container({"media_type": "CAROUSEL",
                                         "children": ",".join(children)}, caption=request.text)
        self.containers.wait_finished(container)
        # the only write that publishes: a timeout here is an unknown outcome, and the
        # container (whose status_code turns PUBLISHED once it is out) is what lookup asks
        media_id = self.containers.publish(f"{self.user_id}/media_publish", container,
                                           request.idempotency_key)
        return self._ref(media_id, self._permalink(media_id), container=container)

    def correct(self, request: PostRequest) -> PostRef:
        """Instagram's API cannot edit a published caption: NotSupported (comment instead)."""
        target = request.require_target()
        raise NotSupported(f"Instagram's API cannot edit the caption of {target.post_id}: "
                           "the correction goes out as a comment from the account")

    def reply(self, request: PostRequest) -> PostRef:
        """Comment ``request.text`` on the target media (or reply to the target comment)."""
        target = request.require_target()
        self.check_content(request)
        edge = "replies" if target.extra.get("kind") == "comment" else "comments"
        result = self.client.call("reply", f"{target.post_id}/{edge}",
                                  post_args={"message": request.text}, write=True)
        return self._comment_ref(target, str(result["id"]))

    def retract(self, request: PostRequest) -> None:
        """Delete the post (``DELETE /{ig-media-id}``) or a comment of the account; one already
        gone counts as done. Without the permission to delete posts, NotSupported says where
        the post is and what to do by hand (the engine comments and alerts)."""
        target = request.require_target()
        try:
            self.client.delete("retract", target.post_id)
        except (Rejected, AuthError) as exc:
            if target.extra.get("kind") != "comment" and error_codes(exc)[0] in (10, 200):
                # the token lacks instagram_manage_contents: the engine answers the post with
                # a cancellation comment instead, and says where to delete it by hand
                raise NotSupported(
                    f"{exc}; deleting Instagram posts needs the instagram_manage_contents "
                    f"permission: delete {self._where(target)} by hand in the Instagram app "
                    "(⋯ > Delete) or in Meta Business Suite, or grant the permission") from exc
            raise

    def _where(self, target: PostRef) -> str:
        url = target.url
        if not url:
            try:
                url = self._permalink(target.post_id)
            except AdapterError:
                url = None
        return url or f"media {target.post_id} of {self.account}"

    def lookup(self, request: PostRequest) -> PostRef | None:
        """Find what an earlier attempt of ``request`` produced, by its text.

        There is no idempotency key: a post is found among the account's last ``LOOKUP_PAGE``
        media published since ``due - LOOKUP_SLACK`` whose caption equals the request's text
        (surrounding whitespace and "@" ignored: a token whose user cannot perform
        admin-equivalent tasks reads captions back without "@", IG Media "Limitations"); a
        comment among the target's last comments made by the account. When the container an
        attempt sent says PUBLISHED but no media matches, the post exists and cannot be told
        apart: ``Unknowable`` (a person looks), never None, which would publish it twice.
        Corrections edit nothing and retractions produce nothing: None.
        """
        if request.action in ("correct", "retract"):
            return None
        wanted = request.text.strip()
        if request.target is not None:
            edge = "replies" if request.target.extra.get("kind") == "comment" else "comments"
            found = self.client.call("lookup", f"{request.target.post_id}/{edge}", args={
                "fields": "id,text,username,timestamp", "limit": str(LOOKUP_PAGE)})
            own = self._username()
            for comment in found.get("data") or ():
                # the account's own comment only: a citizen may have written the same words
                if comment.get("username") == own and (comment.get("text") or "").strip() == wanted:
                    return self._comment_ref(request.target, str(comment["id"]))
            return None
        since = request.due.astimezone(dt.timezone.utc) - LOOKUP_SLACK
        found = self.client.call("lookup", f"{self.user_id}/media", args={
            "fields": "id,caption,permalink,timestamp", "limit": str(LOOKUP_PAGE)})
        for media in found.get("data") or ():
            created = graph_time(media.get("timestamp"))
            if created is not None and created < since:
                continue
            if _comparable(media.get("caption") or "") == _comparable(wanted):
                return self._ref(str(media["id"]), media.get("permalink"))
        self.containers.refuse_if_published(request.idempotency_key, self.account)
        return None

    def verify(self) -> AccountStatus:
        """Ask for the account's username: the token must reach this Instagram account."""
        try:
            user = self.client.call("verify", self.user_id, args={"fields": "id,username"})
        except AuthError as exc:
            return AccountStatus(self.account, False, str(exc))
        except Rejected as exc:
            return AccountStatus(self.account, False,
                                 f"{exc} (is options.ig_user_id the Instagram account id?)")
        return AccountStatus(self.account, True,
                             f"@{user.get('username')} (ig user {self.user_id})")

    def _username(self) -> str:
        """The account's username as Instagram shows it on its comments (asked once)."""
        if self._own_username is None:
            user = self.client.call("lookup", self.user_id, args={"fields": "username"})
            self._own_username = str(user.get("username") or "")
        return self._own_username

    # --- beyond the protocol ------------------------------------------------------------------

    def publishing_quota(self) -> PublishingQuota:
        """How many posts the account has published through the API in the moving window, and
        how many it may (``content_publishing_limit``: quota_usage, config.quota_total)."""
        return self.containers.quota(f"{self.user_id}/content_publishing_limit")

    # --- internals ------------------------------------------------------------------------------

    def _image_args(self, image) -> dict[str, str]:
        args = {"image_url": image.path}
        if image.alt:
            # alt_text on image containers (Content Publishing, since March 2025; reels and
            # stories do not take it)
            args["alt_text"] = image.alt
        return args

    def _container(self, args: dict[str, str], *, caption: str | None = None) -> str:
        """Create a media container; returns its id. Nothing is published yet."""
        if caption is not None:
            args = dict(args, caption=caption)
        result = self.client.call("publish", f"{self.user_id}/media", post_args=args,
                                  write=False)
        return str(result["id"])

    def _permalink(self, media_id: str) -> str | None:
        """The public link of a published media; None (not an error) when it cannot be read:
        the post exists, and a failure here must not make the engine publish it again."""
        try:
            media = self.client.call("permalink", media_id, args={"fields": "permalink"})
        except AdapterError as exc:
            log.warning("instagram_permalink_unavailable", media_id=media_id, error=str(exc))
            return None
        return media.get("permalink")

    def _ref(self, media_id: str, url: str | None, *, container: str | None = None) -> PostRef:
        extra = {"published_at": self._now(), "edit_count": "0"}
        if container:
            extra["container_id"] = container
        return PostRef("instagram", self.account, media_id, url, extra)

    def _comment_ref(self, target: PostRef, comment_id: str) -> PostRef:
        # a comment has no permalink of its own: point at the post it is under
        return PostRef("instagram", self.account, comment_id, target.url,
                       {"published_at": self._now(), "edit_count": "0", "kind": "comment",
                        "parent": target.post_id})

    def _now(self) -> str:
        return self.clock().astimezone(dt.timezone.utc).isoformat()



def _comparable(caption: str) -> str:
    """A caption as lookup compares it: "@" dropped (read back without it by some tokens),
    surrounding whitespace ignored."""
    return caption.replace("@", "").strip()
