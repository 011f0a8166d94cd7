"""A stateful twin of Instagram professional accounts on the Instagram Graph API (Facebook Login
flavour, graph.facebook.com), reached through the real ``InstagramAdapter`` and facebook-sdk.

What it keeps, per account: media containers and their life (IN_PROGRESS -> FINISHED after a
processing delay on the twin clock, ERROR, EXPIRED after 24 h, PUBLISHED), published media
(caption, images with ``alt_text``, carousels), the comments under them and the account's
publishing quota over a moving 24 hours. ``visible()`` is what a citizen sees on the profile.
Every rule and its source is in ``tests/twins/notes/instagram.md``; the Graph plumbing shared
with Facebook is in ``tests/twins/graph.py``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
import threading

from tests.twins.base import Http, SeenMedia, SeenPost, TwinClock, TwinResponse, answer
from tests.twins.graph import (GraphCall, GraphError, GraphHost, Throttle, expired_token,
                               graph_time, invalid, missing, page_of, pick, required, throttled)

CONTAINER_LIFETIME = dt.timedelta(hours=24)
CAPTION_MAX = 2200
HASHTAGS_MAX = 30
MENTIONS_MAX = 20
ALT_TEXT_MAX = 1000
CAROUSEL_ITEMS = (2, 10)
_HASHTAG = re.compile(r"(?<![\w&])#\w+")
_MENTION = re.compile(r"(?<![\w@])@[\w.]+")


@dataclasses.dataclass
class _Account:
    ref: str
    username: str
    user_id: str
    token: str
    #: the token's user can perform admin-equivalent tasks (captions read back keep their "@")
    admin_tasks: bool = True
    #: the token has instagram_manage_contents (needed to delete media)
    manage_contents: bool = True
    token_expired: bool = False
    throttles: list = dataclasses.field(default_factory=list)
    #: moments of every media_publish that published something
    publishes: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class _Container:
    id: str
    user_id: str
    kind: str  # IMAGE | CAROUSEL
    created: dt.datetime
    ready_at: dt.datetime
    caption: str = ""
    image_url: str = ""
    alt_text: str = ""
    carousel_item: bool = False
    children: tuple[str, ...] = ()
    error: str | None = None
    media_id: str | None = None


@dataclasses.dataclass
class _Media:
    id: str
    user_id: str
    container_id: str
    caption: str
    items: tuple[tuple[str, str], ...]  # (image url, alt text)
    created: dt.datetime
    shortcode: str
    deleted: bool = False

    @property
    def media_type(self) -> str:
        return "CAROUSEL_ALBUM" if len(self.items) > 1 else "IMAGE"


@dataclasses.dataclass
class _Comment:
    id: str
    media_id: str
    parent_id: str | None
    username: str
    user_id: str | None
    text: str
    created: dt.datetime
    deleted: bool = False


class InstagramTwin:
    """Instagram professional accounts. Knobs:

    * ``graph_version``: the version ``account_entry`` configures;
    * ``processing_s``: seconds (twin clock) a container stays IN_PROGRESS before FINISHED;
    * ``quota_total`` / ``quota_duration_s``: the publishing limit (media_publish reference:
      50 posts per moving 24 hours; the guides have said 25 and 100, so it is a knob);
    * ``unreachable``: image URLs Instagram cannot cURL (container creation fails, 9004);
    * ``failing``: image URLs whose containers end in ERROR (``status`` says the subcode);
    * ``not_jpeg``: image URLs whose bytes are not JPEG (the twin never downloads images;
      Image Specifications: "Format: JPEG"; creation fails, 36001);
    * ``poll_s`` / ``poll_timeout_s``: the adapter's polling options written by
      ``account_entry`` (real seconds: keep them small in tests).
    """

    platform = "instagram"

    def __init__(self, clock: TwinClock | None = None, *, graph_version: str = "v21.0",
                 processing_s: float = 0.0, quota_total: int = 50,
                 quota_duration_s: int = 86400, unreachable: set[str] | None = None,
                 failing: set[str] | None = None, not_jpeg: set[str] | None = None,
                 poll_s: float = 0.05, poll_timeout_s: float = 10.0) -> None:
        self.clock = clock or TwinClock()
        self.graph_version = graph_version
        self.processing_s = processing_s
        self.quota_total, self.quota_duration_s = quota_total, quota_duration_s
        self.unreachable = set(unreachable or ())
        self.failing = set(failing or ())
        self.not_jpeg = set(not_jpeg or ())
        self.poll_s, self.poll_timeout_s = poll_s, poll_timeout_s
        self._lock = threading.RLock()
        self._accounts: dict[str, _Account] = {}
        self._by_token: dict[str, _Account] = {}
        self._containers: dict[str, _Container] = {}
        self._media: dict[str, _Media] = {}
        self._comments: dict[str, _Comment] = {}
        self._ids = itertools.count(1)

    # --- the twin interface ---------------------------------------------------------------------

    def install(self, http: Http) -> None:
        GraphHost.attach(http, self.clock).join(self)

    def add_account(self, ref: str) -> None:
        platform, handle = ref.split(":", 1)
        if platform != self.platform:
            raise ValueError(f"{ref} is not an instagram account")
        with self._lock:
            if ref in self._accounts:
                return
            n = len(self._accounts) + 1
            username = re.sub(r"[^a-z0-9._]", "", handle.lower()) or f"cuenta{n}"
            account = _Account(ref, username, str(17841405800000000 + n),
                               f"EAAtwinIg{n:04d}{re.sub(r'[^A-Za-z0-9]', '', handle)}")
            self._accounts[ref] = account
            self._by_token[account.token] = account

    def account_entry(self, ref: str, department: str) -> dict:
        account = self._account(ref)
        return {"handle": account.username, "department": department,
                "credentials": {"access_token": {"env": self._env_name(account)}},
                "options": {"ig_user_id": account.user_id, "graph_version": self.graph_version,
                            "container_poll_s": self.poll_s,
                            "container_timeout_s": self.poll_timeout_s}}

    def env(self) -> dict[str, str]:
        with self._lock:
            return {self._env_name(a): a.token for a in self._accounts.values()}

    def visible(self, account: str | None = None) -> list[SeenPost]:
        with self._lock:
            users = {a.user_id: a for a in self._accounts.values() if account in (None, a.ref)}
            media = sorted((m for m in self._media.values()
                            if m.user_id in users and not m.deleted),
                           key=lambda m: (m.created, m.id))
            return [self._seen(m, users[m.user_id]) for m in media]

    # --- introspection and knobs for tests ------------------------------------------------------

    def user_id(self, ref: str) -> str:
        return self._account(ref).user_id

    def username(self, ref: str) -> str:
        return self._account(ref).username

    def container_status(self, container_id: str) -> str:
        with self._lock:
            return self._status(self._containers[container_id])

    def containers(self, ref: str) -> list[str]:
        account = self._account(ref)
        with self._lock:
            return [c.id for c in self._containers.values() if c.user_id == account.user_id]

    def break_container(self, container_id: str, subcode: str = "2207001") -> None:
        """The container fails processing: status_code ERROR, status the error subcode."""
        with self._lock:
            self._containers[container_id].error = subcode

    def comment_as_citizen(self, media_id: str, text: str, username: str = "vecina_calp") -> str:
        with self._lock:
            return self._new_comment(self._media[media_id], None, username, None, text).id

    def set_admin_tasks(self, ref: str, allowed: bool) -> None:
        """Whether the token's user can perform admin-equivalent tasks (IG Media reference:
        otherwise captions are read back without their "@")."""
        with self._lock:
            self._account(ref).admin_tasks = allowed

    def set_manage_contents(self, ref: str, granted: bool) -> None:
        with self._lock:
            self._account(ref).manage_contents = granted

    def expire_token(self, ref: str) -> None:
        with self._lock:
            self._account(ref).token_expired = True

    def throttle(self, ref: str, code: int = 80002, *, calls: int = 1,
                 minutes: float = 15) -> None:
        with self._lock:
            self._account(ref).throttles.append(Throttle(code, calls, minutes))

    def quota_usage(self, ref: str) -> int:
        with self._lock:
            return self._usage(self._account(ref))

    # --- Graph ----------------------------------------------------------------------------------

    def graph_knows(self, token: str) -> bool:
        with self._lock:
            return token in self._by_token

    def graph_serve(self, call: GraphCall) -> TwinResponse | None:
        with self._lock:
            account = self._by_token[call.token]
            if account.token_expired:
                raise expired_token(self.clock.now())
            if account.throttles:
                throttle = account.throttles[0]
                throttle.calls -= 1
                if throttle.calls <= 0:
                    account.throttles.pop(0)
                raise throttled(throttle.code, account.user_id, "instagram", throttle.minutes)
            if call.node == account.user_id:
                return self._user_node(account, call)
            container = self._containers.get(call.node)
            if container is not None and container.user_id == account.user_id:
                if call.method == "GET" and call.edge is None:
                    return answer(200, pick(self._container_fields(container),
                                            call.fields(("id",))))
                raise missing(call.method, call.node)
            media = self._media.get(call.node)
            if media is not None and media.user_id == account.user_id:
                if media.deleted:
                    raise missing(call.method, call.node)
                return self._media_node(account, media, call)
            comment = self._comments.get(call.node)
            if comment is not None and self._media[comment.media_id].user_id == account.user_id:
                if comment.deleted or self._media[comment.media_id].deleted:
                    raise missing(call.method, call.node)
                return self._comment_node(account, comment, call)
            return None

    # --- nodes ----------------------------------------------------------------------------------

    def _user_node(self, account: _Account, call: GraphCall) -> TwinResponse:
        if call.edge is None and call.method == "GET":
            count = sum(1 for m in self._media.values()
                        if m.user_id == account.user_id and not m.deleted)
            return answer(200, pick({"id": account.user_id, "username": account.username,
                                     "media_count": count}, call.fields(("id",))))
        if call.edge == "media" and call.method == "POST":
            return answer(200, {"id": self._create_container(account, call).id})
        if call.edge == "media" and call.method == "GET":
            media = sorted((m for m in self._media.values()
                            if m.user_id == account.user_id and not m.deleted),
                           key=lambda m: (m.created, m.id), reverse=True)
            since, until = call.timestamp_arg("since"), call.timestamp_arg("until")
            media = [m for m in media if (since is None or m.created.timestamp() >= since)
                     and (until is None or m.created.timestamp() <= until)]
            fields = call.fields(("id",))
            return answer(200, page_of([pick(self._media_fields(m, account), fields)
                                        for m in media], call.limit()))
        if call.edge == "media_publish" and call.method == "POST":
            return answer(200, {"id": self._publish(account, call).id})
        if call.edge == "content_publishing_limit" and call.method == "GET":
            row: dict = {}
            fields = call.fields(("quota_usage",))
            if "quota_usage" in fields:
                row["quota_usage"] = self._usage(account)
            if "config" in fields:
                row["config"] = {"quota_total": self.quota_total,
                                 "quota_duration": self.quota_duration_s}
            return answer(200, {"data": [row]})
        raise missing(call.method, call.node)

    def _media_node(self, account: _Account, media: _Media, call: GraphCall) -> TwinResponse:
        if call.edge is None:
            if call.method == "GET":
                return answer(200, pick(self._media_fields(media, account),
                                        call.fields(("id",))))
            if call.method == "POST":
                # Updating IG Media: comment_enabled is the only (and required) parameter
                if call.arg("comment_enabled") is None:
                    raise required("comment_enabled")
                return answer(200, {"success": True})
            if call.method == "DELETE":
                # DELETE /<IG_MEDIA_ID>: Facebook Login only, instagram_manage_contents
                if not account.manage_contents:
                    raise GraphError(10, "(#10) Application does not have permission for this "
                                     "action", status=403)
                media.deleted = True
                return answer(200, {"success": True, "deleted_id": media.id})
        if call.edge == "comments":
            return self._comments_edge(account, media, None, call)
        raise missing(call.method, call.node)

    def _comment_node(self, account: _Account, comment: _Comment,
                      call: GraphCall) -> TwinResponse:
        if call.edge is None:
            if call.method == "GET":
                return answer(200, pick(self._comment_fields(comment),
                                        call.fields(("id", "text", "timestamp"))))
            if call.method == "DELETE":
                comment.deleted = True
                return answer(200, {"success": True})
            if call.method == "POST" and call.arg("hide") is not None:
                return answer(200, {"success": True})
        if call.edge == "replies":
            if comment.parent_id is not None and call.method == "POST":
                # replies are one level deep: a reply to a reply goes under the top comment
                comment = self._comments[comment.parent_id]
            return self._comments_edge(account, self._media[comment.media_id], comment, call)
        raise missing(call.method, call.node)

    # --- publishing -----------------------------------------------------------------------------

    def _create_container(self, account: _Account, call: GraphCall) -> _Container:
        now = self.clock.now()
        ready = now + dt.timedelta(seconds=self.processing_s)
        media_type = (call.arg("media_type") or "").upper()
        caption = call.arg("caption") or ""
        if media_type == "CAROUSEL":
            children = tuple(c.strip() for c in (call.arg("children") or "").split(",")
                             if c.strip())
            if not CAROUSEL_ITEMS[0] <= len(children) <= CAROUSEL_ITEMS[1]:
                raise GraphError(100, "Carousels need between 2 and 10 photos or videos",
                                 subcode=2207028)
            for child in children:
                item = self._containers.get(child)
                if item is None or item.user_id != account.user_id or not item.carousel_item:
                    raise invalid(f"children: {child} is not a carousel item container of "
                                  "this account")
            self._check_caption(caption)
            container = _Container(self._new_id(17889455560000000), account.user_id,
                                   "CAROUSEL", now, ready, caption=caption, children=children)
        elif media_type in ("", "IMAGE"):
            image_url = call.arg("image_url")
            if not image_url:
                raise required("image_url")
            if image_url in self.unreachable:
                raise GraphError(9004, "Only photo or video can be accepted as media type.",
                                 subcode=2207052, user_title="Media download has failed",
                                 user_msg=f"The media could not be fetched from this uri: "
                                          f"{image_url}")
            if image_url in self.not_jpeg:
                raise GraphError(36001, "The image format is not supported", subcode=2207005,
                                 user_title="Image format not supported",
                                 user_msg="The image format is not supported. Use JPEG.")
            alt_text = call.arg("alt_text") or ""
            if len(alt_text) > ALT_TEXT_MAX:
                raise invalid(f"alt_text is up to {ALT_TEXT_MAX} characters")
            item = (call.arg("is_carousel_item") or "").lower() == "true"
            if not item:
                self._check_caption(caption)
            # a caption is "not supported on images or videos in carousels": not kept
            container = _Container(self._new_id(17889455560000000), account.user_id, "IMAGE",
                                   now, ready, caption="" if item else caption,
                                   image_url=image_url, alt_text=alt_text, carousel_item=item,
                                   error="2207001" if image_url in self.failing else None)
        else:
            raise GraphError(100, "The media type is unknown", subcode=2207023)
        self._containers[container.id] = container
        return container

    @staticmethod
    def _check_caption(caption: str) -> None:
        if len(caption) > CAPTION_MAX or len(_HASHTAG.findall(caption)) > HASHTAGS_MAX:
            raise GraphError(36004, "The caption was too long", subcode=2207010,
                             user_title="Caption too long",
                             user_msg="Captions take at most 2200 characters and 30 hashtags")
        if len(_MENTION.findall(caption)) > MENTIONS_MAX:
            raise GraphError(100, f"Cannot use more than {MENTIONS_MAX} tags per media",
                             subcode=2207040)

    def _publish(self, account: _Account, call: GraphCall) -> _Media:
        creation_id = call.arg("creation_id")
        if not creation_id:
            raise required("creation_id")
        container = self._containers.get(creation_id)
        if container is None or container.user_id != account.user_id:
            raise GraphError(24, f"The media with {creation_id} cannot be found",
                             subcode=2207006)
        status = self._status(container)
        if status == "EXPIRED":
            raise GraphError(-2, "The media you are trying to access has expired. Please try "
                             "to upload again.", subcode=2207020)
        if status != "FINISHED" or container.carousel_item:
            raise GraphError(9007, "Media ID is not available", subcode=2207027,
                             user_title="Media not ready for publishing",
                             user_msg="The media is not ready for publishing, please wait "
                                      "for a moment")
        if self._usage(account) >= self.quota_total:
            raise GraphError(9, "Application request limit reached", subcode=2207042,
                             user_title="Reached publishing limit",
                             user_msg="You reached the maximum number of posts allowed by "
                                      "the Content Publishing API")
        now = self.clock.now()
        if container.kind == "CAROUSEL":
            items = tuple((self._containers[c].image_url, self._containers[c].alt_text)
                          for c in container.children)
        else:
            items = ((container.image_url, container.alt_text),)
        media_id = self._new_id(17920238422000000)
        media = _Media(media_id, account.user_id, container.id, container.caption, items, now,
                       self._shortcode(media_id))
        self._media[media.id] = media
        container.media_id = media.id
        for child in container.children:
            self._containers[child].media_id = media.id
        account.publishes.append(now)
        return media

    def _status(self, container: _Container) -> str:
        if container.media_id is not None:
            return "PUBLISHED"
        if container.error is not None:
            return "ERROR"
        now = self.clock.now()
        if now - container.created >= CONTAINER_LIFETIME:
            return "EXPIRED"
        children = [self._status(self._containers[c]) for c in container.children]
        if "ERROR" in children:
            return "ERROR"
        if now < container.ready_at or any(s != "FINISHED" for s in children):
            return "IN_PROGRESS"
        return "FINISHED"

    def _usage(self, account: _Account) -> int:
        horizon = self.clock.now() - dt.timedelta(seconds=self.quota_duration_s)
        return sum(1 for moment in account.publishes if moment > horizon)

    # --- comments -------------------------------------------------------------------------------

    def _comments_edge(self, account: _Account, media: _Media, parent: _Comment | None,
                       call: GraphCall) -> TwinResponse:
        if call.method == "POST":
            message = call.arg("message")
            if not message:
                raise required("message")
            comment = self._new_comment(media, parent, account.username, account.user_id,
                                        message)
            return answer(200, {"id": comment.id})
        if call.method != "GET":
            raise missing(call.method, call.node)
        parent_id = parent.id if parent else None
        found = sorted((c for c in self._comments.values()
                        if c.media_id == media.id and c.parent_id == parent_id
                        and not c.deleted), key=lambda c: (c.created, c.id), reverse=True)
        fields = call.fields(("id", "text", "timestamp"))
        return answer(200, page_of([pick(self._comment_fields(c), fields) for c in found],
                                   call.limit(50)))

    def _new_comment(self, media: _Media, parent: _Comment | None, username: str,
                     user_id: str | None, text: str) -> _Comment:
        comment = _Comment(self._new_id(17873440459000000), media.id,
                           parent.id if parent else None, username, user_id, text,
                           self.clock.now())
        self._comments[comment.id] = comment
        return comment

    # --- representations ------------------------------------------------------------------------

    def _container_fields(self, container: _Container) -> dict:
        status = self._status(container)
        return {"id": container.id, "status_code": status,
                "status": container.error if status == "ERROR" else None}

    def _media_fields(self, media: _Media, reader: _Account) -> dict:
        caption = media.caption if reader.admin_tasks else media.caption.replace("@", "")
        owner = self._owner(media)
        return {"id": media.id, "caption": caption or None, "media_type": media.media_type,
                "media_url": media.items[0][0], "alt_text": media.items[0][1] or None,
                "permalink": f"https://www.instagram.com/p/{media.shortcode}/",
                "shortcode": media.shortcode, "timestamp": graph_time(media.created),
                "username": owner.username, "owner": {"id": owner.user_id},
                "comments_count": sum(1 for c in self._comments.values()
                                      if c.media_id == media.id and not c.deleted),
                "is_comment_enabled": True}

    def _comment_fields(self, comment: _Comment) -> dict:
        return {"id": comment.id, "text": comment.text, "timestamp": graph_time(comment.created),
                "username": comment.username,
                "from": {"id": comment.user_id or f"1784{comment.id[-8:]}",
                         "username": comment.username},
                "parent_id": comment.parent_id, "media": {"id": comment.media_id}}

    def _owner(self, media: _Media) -> _Account:
        return next(a for a in self._accounts.values() if a.user_id == media.user_id)

    def _seen(self, media: _Media, account: _Account) -> SeenPost:
        items = tuple(SeenMedia(alt, url) for url, alt in media.items)
        return SeenPost(media.id, media.caption, items,
                        replies=self._seen_replies(media, None, account),
                        url=f"https://www.instagram.com/p/{media.shortcode}/")

    def _seen_replies(self, media: _Media, parent_id: str | None,
                      account: _Account) -> tuple[SeenPost, ...]:
        comments = sorted((c for c in self._comments.values()
                           if c.media_id == media.id and c.parent_id == parent_id
                           and not c.deleted and c.user_id == account.user_id),
                          key=lambda c: (c.created, c.id))
        return tuple(SeenPost(c.id, c.text, replies=self._seen_replies(media, c.id, account))
                     for c in comments)

    def _new_id(self, base: int) -> str:
        return str(base + next(self._ids))

    @staticmethod
    def _shortcode(media_id: str) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        number, code = int(media_id), ""
        while number:
            number, digit = divmod(number, 64)
            code = alphabet[digit] + code
        return "C" + code[-10:]

    def _account(self, ref: str) -> _Account:
        with self._lock:
            try:
                return self._accounts[ref]
            except KeyError:
                raise KeyError(f"{ref} was not added to the twin (add_account)") from None

    @staticmethod
    def _env_name(account: _Account) -> str:
        return "TWIN_INSTAGRAM_" + re.sub(r"[^A-Z0-9]", "_", account.ref.split(":")[1].upper()) \
            + "_TOKEN"
