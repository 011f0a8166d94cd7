"""Facebook Pages through facebook-sdk's ``GraphAPI``, on a current Graph API version.

The Graph client (token in a Bearer header, never in URLs; timeouts; the mapping of Graph
errors onto the adapter errors) lives in ``adapters.graph``, shared with Instagram.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from typing import Callable

from .platform import PlatformAdapter, utc_now
from .accounts import AccountConfig
from .base import AccountStatus, AuthError, PostRef, PostRequest, Rejected
from .graph import GraphClient, check_graph_version

__all__ = ["FacebookAdapter"]

#: how many recent posts/comments ``lookup`` reads
LOOKUP_PAGE = 25
LOOKUP_SLACK = dt.timedelta(minutes=10)


class FacebookAdapter(PlatformAdapter):
    """One Facebook Page (``options.page_id``), with its page access token."""

    def __init__(self, account: AccountConfig, *, timeout_s: float = 10,
                 graph_version: str | None = None,
                 clock: Callable[[], dt.datetime] = utc_now) -> None:
        super().__init__(account, clock=clock)
        self.graph_version = check_graph_version(
            account.ref, graph_version or account.options.get("graph_version"))
        page_id = account.options.get("page_id")
        if not page_id:
            raise ValueError(f"account {account.ref}: options.page_id is required")
        self.page_id = str(page_id)
        self.client = GraphClient("Facebook", account.credential("page_access_token"),
                                  timeout_s=timeout_s, graph_version=self.graph_version)
        self.graph = self.client.graph

    def _repr_details(self) -> str:
        return f"page={self.page_id}"

    # --- the Adapter protocol -----------------------------------------------------------------

    def publish(self, request: PostRequest) -> PostRef:
        """Post to the page's feed (with photos if any); a comment when ``target`` is set."""
        if request.target is not None:
            return self.reply(request)
        self.check_content(request)
        if len(request.images) == 1:
            image = request.images[0]
            # one photo: /photos publishes it as a post with the text as its description
            result = self._photo(image, {"message": request.text}, write=True)
            return self._ref(str(result.get("post_id") or result["id"]))
        args: dict[str, str] = {"message": request.text}
        if request.link:
            args["link"] = request.link
        for index, image in enumerate(request.images):
            # several photos: upload unpublished, then one feed post that attaches them all
            photo = self._photo(image, {"published": "false"}, write=False)
            args[f"attached_media[{index}]"] = json.dumps({"media_fbid": str(photo["id"])})
        result = self._call("publish", f"{self.page_id}/feed", post_args=args, write=True)
        return self._ref(str(result["id"]))

    def correct(self, request: PostRequest) -> PostRef:
        """Edit the post's text in place (page posts have no edit window)."""
        target = request.require_target()
        self.check_content(request)
        self._call("correct", target.post_id, post_args={"message": request.text}, write=True)
        return self._edited(target)

    def reply(self, request: PostRequest) -> PostRef:
        """Comment ``request.text`` under ``request.target`` as the page."""
        target = request.require_target()
        self.check_content(request)
        result = self._call("reply", f"{target.post_id}/comments",
                            post_args={"message": request.text}, write=True)
        return self.reply_ref(target, str(result["id"]))

    def retract(self, request: PostRequest) -> None:
        """Delete ``request.target`` (post or comment)."""
        self.client.delete("retract", request.require_target().post_id)

    def lookup(self, request: PostRequest) -> PostRef | None:
        """Find what an earlier attempt of ``request`` produced, by its text.

        The Graph API has no idempotency key: a post is found among the page's last
        ``LOOKUP_PAGE`` feed posts since ``due - LOOKUP_SLACK`` whose message equals the
        request's text (surrounding whitespace ignored); a reply among the target's last
        comments written by the page itself (a citizen's comment with the same words is not
        the page's reply); a correction by reading the target's current message. Two identical texts
        published in that window would be confused (Facebook itself refuses most such
        duplicates with code 506). A retraction produces nothing: None.
        """
        wanted = request.text.strip()
        if request.action == "retract":
            return None
        if request.action == "correct":
            target = request.require_target()
            post = self._call("lookup", target.post_id, args={"fields": "id,message"})
            return self._edited(target) if (post.get("message") or "").strip() == wanted \
                else None
        since = int((request.due.astimezone(dt.timezone.utc) - LOOKUP_SLACK).timestamp())
        if request.target is not None:
            found = self._call("lookup", f"{request.target.post_id}/comments", args={
                "fields": "id,message,created_time,from", "limit": str(LOOKUP_PAGE),
                "order": "reverse_chronological"})
            for comment in found.get("data") or ():
                author = str((comment.get("from") or {}).get("id") or "")
                if author == self.page_id and (comment.get("message") or "").strip() == wanted:
                    return self.reply_ref(request.target, str(comment["id"]))
            return None
        found = self._call("lookup", f"{self.page_id}/feed", args={
            "fields": "id,message,permalink_url,created_time", "limit": str(LOOKUP_PAGE),
            "since": str(since)})
        for post in found.get("data") or ():
            if (post.get("message") or "").strip() == wanted:
                return self._ref(str(post["id"]), url=post.get("permalink_url"))
        return None

    def verify(self) -> AccountStatus:
        """Ask who the token belongs to: it must be the configured page's token."""
        try:
            me = self._call("verify", "me", args={"fields": "id,name"})
        except AuthError as exc:
            return AccountStatus(self.account, False, str(exc))
        if str(me.get("id")) != self.page_id:
            return AccountStatus(self.account, False,
                                 f"the token belongs to {me.get('name')!r} ({me.get('id')}), "
                                 f"not to page {self.page_id}: use the page access token")
        return AccountStatus(self.account, True, f"page {me.get('name')!r} ({self.page_id})")

    def reply_ref(self, target: PostRef, comment_id: str) -> PostRef:
        """The ref of comment ``comment_id`` under ``target``."""
        return PostRef("facebook", self.account, comment_id,
                       f"https://www.facebook.com/{target.post_id}"
                       f"?comment_id={comment_id.split('_')[-1]}",
                       {"published_at": self._now(), "edit_count": "0", "kind": "comment",
                        "parent": target.post_id})

    # --- internals ------------------------------------------------------------------------------

    def _photo(self, image, args: dict[str, str], *, write: bool) -> dict:
        args = dict(args)
        if image.alt:
            args["alt_text_custom"] = image.alt
        path = f"{self.page_id}/photos"
        if re.match(r"https?://", image.path):
            args["url"] = image.path
            return self._call("publish", path, post_args=args, write=write)
        try:
            data = image.bytes_or_read()  # the engine's checked bytes when it sent them
        except OSError as exc:
            raise Rejected(f"image {image.path} cannot be read ({type(exc).__name__})") from exc
        return self._call("publish", path, post_args=args, write=write,
                          files={"source": (os.path.basename(image.path), data)})

    def _call(self, operation: str, path: str, *, args: dict | None = None,
              post_args: dict | None = None, method: str | None = None, files=None,
              write: bool = False) -> dict:
        """One Graph request on ``{version}/{path}``, its failures turned into adapter errors."""
        return self.client.call(operation, path, args=args, post_args=post_args, method=method,
                                files=files, write=write)

    def _ref(self, post_id: str, *, url: str | None = None) -> PostRef:
        return PostRef("facebook", self.account, post_id,
                       url or f"https://www.facebook.com/{post_id}",
                       {"published_at": self._now(), "edit_count": "0"})

    def _edited(self, target: PostRef) -> PostRef:
        # edited in place: same id and URL, the original publication time stays
        extra = dict(target.extra)
        extra["edit_count"] = str(int(extra.get("edit_count", "0")) + 1)
        return PostRef("facebook", self.account, target.post_id,
                       target.url or f"https://www.facebook.com/{target.post_id}", extra)

    def _now(self) -> str:
        return self.clock().astimezone(dt.timezone.utc).isoformat()
