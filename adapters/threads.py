"""Threads (Meta) through the Threads API on ``graph.threads.net``, with the Graph client the
Facebook and Instagram adapters share (``adapters.graph``: the token in a header, Graph's error
codes mapped onto adapter errors).

A post is made in two steps (developers.facebook.com/documentation/threads/posts): a media
container (``POST /{user}/threads`` with ``media_type`` TEXT, IMAGE or CAROUSEL, ``text``,
``image_url`` of a public image, ``alt_text``; carousel items first, 2 to 20, with
``is_carousel_item``), then ``POST /{user}/threads_publish`` with its ``creation_id``. Only that
second call publishes: a failure before it is never an unknown outcome, and a lost answer to it
is settled by ``lookup`` (the account's recent posts, or its replies, by text), helped by the
container's own status (PUBLISHED once out). A reply is a post with ``reply_to_id``.

There is no edit endpoint: ``correct`` raises NotSupported and the engine replies under the
post. ``retract`` deletes (``DELETE /{threads-media-id}``, permission ``threads_delete``, 100 a
day per account); one already gone counts as done.

Options: ``user_id`` (the Threads user id; default ``me``), ``graph_version`` (default
``v1.0``), ``container_poll_s``, ``container_timeout_s``. Credential: ``access_token`` (a
long-lived Threads user token: 60 days, refreshable).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Callable

from . import api_versions
from .accounts import AccountConfig
from .base import (AccountStatus, AdapterError, AuthError, NotSupported, PostRef, PostRequest, Rejected)
from .containers import Containers, PublishingQuota
from .graph import GraphClient, graph_time
from .platform import PlatformAdapter, utc_now

__all__ = ["ThreadsAdapter", "THREADS_HOST", "THREADS_VERSION"]

THREADS_HOST = "https://graph.threads.net"
#: the version a Threads account calls unless its ``graph_version`` says otherwise
THREADS_VERSION = api_versions.THREADS.default
#: how many recent posts (or replies) ``lookup`` reads
LOOKUP_PAGE = 25
#: lookup ignores posts older than the request's due time minus this
LOOKUP_SLACK = dt.timedelta(minutes=10)
#: Meta asks to let media containers finish processing before publishing; text ones are ready
POLL_INTERVAL_S = 2.0
POLL_TIMEOUT_S = 60.0


class ThreadsAdapter(PlatformAdapter):
    """One Threads profile (see module doc)."""

    def __init__(self, account: AccountConfig, *, timeout_s: float = 10,
                 clock: Callable[[], dt.datetime] = utc_now,
                 sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__(account, clock=clock)
        self.user_id = str(account.options.get("user_id") or "me")
        version = str(account.options.get("graph_version") or THREADS_VERSION)
        if not re.fullmatch(r"v\d+\.\d+", version):
            raise ValueError(f"account {account.ref}: graph_version must look like "
                             f"'{THREADS_VERSION}'")
        self.poll_interval_s = float(account.options.get("container_poll_s", POLL_INTERVAL_S))
        self.poll_timeout_s = float(account.options.get("container_timeout_s", POLL_TIMEOUT_S))
        self.client = GraphClient("Threads", account.credential("access_token"),
                                  timeout_s=timeout_s, graph_version=version, host=THREADS_HOST)
        self.containers = Containers(self.client, "Threads", "status", "error_message",
                                     self.poll_interval_s, self.poll_timeout_s, sleep, monotonic)

    def _repr_details(self) -> str:
        return f"user={self.user_id!r}"

    # --- the Adapter protocol -----------------------------------------------------------------

    def publish(self, request: PostRequest) -> PostRef:
        """Create the container (text, an image or a carousel; a reply when ``target`` is set)
        and publish it."""
        self.check_content(request)
        for image in request.images:
            if not re.match(r"https?://", image.path):
                raise Rejected(f"Threads fetches images by URL; {image.path} is a local file "
                               "(give the image a public url:)")
        reply_to = request.target.post_id if request.target is not None else None
        container = self._container(request, reply_to)
        media_id = self.containers.publish(f"{self.user_id}/threads_publish", container,
                                           request.idempotency_key)
        extra = {"published_at": self._now(), "container_id": container}
        if reply_to is not None:
            extra.update(kind="reply", parent=reply_to)
        return PostRef("threads", self.account, media_id, self._permalink(media_id), extra)

    def correct(self, request: PostRequest) -> PostRef:
        """Threads has no edit endpoint: NotSupported (the engine replies instead)."""
        target = request.require_target()
        raise NotSupported(f"Threads cannot edit {target.post_id} through its API: the "
                           "correction goes out as a reply")

    def retract(self, request: PostRequest) -> None:
        """Delete the post or reply; one already gone counts as done."""
        self.client.delete("retract", request.require_target().post_id)

    def lookup(self, request: PostRequest) -> PostRef | None:
        """Find what an earlier attempt of ``request`` produced: among the account's last
        ``LOOKUP_PAGE`` posts (or replies, under the same parent) since ``due`` minus
        ``LOOKUP_SLACK``, the one with exactly this text. When the container the attempt sent
        says PUBLISHED but nothing matches, ``Unknowable``: never None, which would post it
        twice."""
        if request.action in ("correct", "retract"):
            return None
        parent = request.target.post_id if request.target is not None else None
        edge = "replies" if parent else "threads"
        found = self.client.call("lookup", f"{self.user_id}/{edge}", args={
            "fields": "id,text,timestamp,permalink,replied_to", "limit": str(LOOKUP_PAGE)})
        since = request.due.astimezone(dt.timezone.utc) - LOOKUP_SLACK
        for post in found.get("data") or ():
            created = graph_time(post.get("timestamp"))
            if created is not None and created < since:
                continue
            if parent and str((post.get("replied_to") or {}).get("id") or "") != parent:
                continue
            if (post.get("text") or "").strip() == request.text.strip():
                extra = {"published_at": created.isoformat() if created else self._now()}
                if parent:
                    extra.update(kind="reply", parent=parent)
                return PostRef("threads", self.account, str(post["id"]), post.get("permalink"),
                               extra)
        self.containers.refuse_if_published(request.idempotency_key, self.account)
        return None

    def verify(self) -> AccountStatus:
        """Whose token it is: ``GET /{user}?fields=id,username``."""
        try:
            me = self.client.call("verify", self.user_id, args={"fields": "id,username"})
        except (AuthError, Rejected) as exc:
            return AccountStatus(self.account, False, str(exc))
        return AccountStatus(self.account, True,
                             f"@{me.get('username')} (threads user {me.get('id')})")

    # --- beyond the protocol ------------------------------------------------------------------

    def publishing_quota(self) -> PublishingQuota:
        """How many posts the profile has published through the API in the moving window, and
        how many it may (``threads_publishing_limit``: quota_usage, config.quota_total; 250
        a day, a carousel counting as one): the engine's quota gate asks it before publishing."""
        return self.containers.quota(f"{self.user_id}/threads_publishing_limit")

    # --- internals ------------------------------------------------------------------------------

    def _container(self, request: PostRequest, reply_to: str | None) -> str:
        """The container to publish (its carousel items first), once it is FINISHED."""
        common = {"reply_to_id": reply_to} if reply_to else {}
        images = request.images
        if not images:
            return self._create({"media_type": "TEXT", "text": request.text, **common},
                                wait=False)
        if len(images) == 1:
            return self._create({"media_type": "IMAGE", "image_url": images[0].path,
                                 "text": request.text, **_alt(images[0]), **common})
        children = [self._create({"media_type": "IMAGE", "image_url": image.path,
                                  "is_carousel_item": "true", **_alt(image)})
                    for image in images]
        return self._create({"media_type": "CAROUSEL", "children": ",".join(children),
                             "text": request.text, **common})

    def _create(self, args: dict, *, wait: bool = True) -> str:
        result = self.client.call("publish", f"{self.user_id}/threads", post_args=args,
                                  write=False)  # a container publishes nothing
        container = str(result["id"])
        if wait:
            self.containers.wait_finished(container)
        return container

    def _permalink(self, media_id: str) -> str | None:
        """The post's public link; None (not an error) when it cannot be read now."""
        try:
            return self.client.call("permalink", media_id,
                                    args={"fields": "permalink"}).get("permalink")
        except AdapterError:
            return None

    def _now(self) -> str:
        return self.clock().astimezone(dt.timezone.utc).isoformat()


def _alt(image) -> dict:
    return {"alt_text": image.alt} if image.alt else {}

