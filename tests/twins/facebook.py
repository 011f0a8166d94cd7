"""A stateful twin of Facebook Pages on the Graph API, reached through the real
``FacebookAdapter`` and facebook-sdk's ``GraphAPI`` (HTTP answered in-process by ``responses``).

What it keeps, per page: feed posts (text, link, photos with their ``alt_text_custom``), their
edits, the comments under them, deletions. ``visible()`` is what a citizen sees on the page.
Every rule and its source is in ``tests/twins/notes/facebook.md``; the Graph plumbing shared
with Instagram (versions, tokens, errors, rate limits) is in ``tests/twins/graph.py``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import re
import threading

from tests.twins.base import Http, SeenMedia, SeenPost, TwinClock, TwinResponse, answer
from tests.twins.graph import (GraphCall, GraphError, GraphHost, Throttle, expired_token,
                               graph_time, invalid, missing, page_of, pick, throttled)

#: "a photo must be less than 10MB in size" (Graph API Photo reference, Creating)
PHOTO_MAX_BYTES = 10 * 1024 * 1024


@dataclasses.dataclass
class _Page:
    ref: str
    handle: str
    page_id: str
    name: str
    token: str
    token_expired: bool = False
    throttles: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class _Photo:
    id: str
    page_id: str
    source: str
    alt: str
    caption: str
    created: dt.datetime
    published: bool
    post_id: str | None = None


@dataclasses.dataclass
class _Post:
    id: str
    page_id: str
    message: str
    link: str | None
    photos: list[str]
    created: dt.datetime
    updated: dt.datetime
    published: bool = True
    deleted: bool = False
    #: every message the post has had, the current one last
    history: list[str] = dataclasses.field(default_factory=list)

    @property
    def edited(self) -> bool:
        return len(self.history) > 1


@dataclasses.dataclass
class _Comment:
    id: str
    post_id: str
    parent_id: str | None
    author_id: str
    author_name: str
    message: str
    created: dt.datetime
    deleted: bool = False


class FacebookTwin:
    """Facebook Pages on graph.facebook.com. Knobs:

    * ``graph_version``: the version ``account_entry`` configures (the adapter's default);
    * ``duplicate_window_s``: when set, a feed post whose message equals one of the page's posts
      published within that many seconds is refused with code 506 "Duplicate status message"
      (Graph documents the code, not the rule: off by default).
    """

    platform = "facebook"

    def __init__(self, clock: TwinClock | None = None, *, graph_version: str = "v21.0",
                 duplicate_window_s: float | None = None) -> None:
        self.clock = clock or TwinClock()
        self.graph_version = graph_version
        self.duplicate_window_s = duplicate_window_s
        self._lock = threading.RLock()
        self._pages: dict[str, _Page] = {}
        self._by_token: dict[str, _Page] = {}
        self._posts: dict[str, _Post] = {}
        self._photos: dict[str, _Photo] = {}
        self._comments: dict[str, _Comment] = {}
        self._ids = itertools.count(1)

    # --- the twin interface ---------------------------------------------------------------------

    def install(self, http: Http) -> None:
        GraphHost.attach(http, self.clock).join(self)

    def add_account(self, ref: str) -> None:
        platform, handle = ref.split(":", 1)
        if platform != self.platform:
            raise ValueError(f"{ref} is not a facebook account")
        with self._lock:
            if ref in self._pages:
                return
            n = len(self._pages) + 1
            token = f"EAAtwinPage{n:04d}" + re.sub(r"[^A-Za-z0-9]", "", handle)
            page = _Page(ref, handle, str(100064500000000 + n), f"Pàgina {handle}", token)
            self._pages[ref] = page
            self._by_token[page.token] = page

    def account_entry(self, ref: str, department: str) -> dict:
        page = self._page(ref)
        return {"handle": page.handle, "department": department,
                "credentials": {"page_access_token": {"env": self._env_name(page)}},
                "options": {"page_id": page.page_id, "graph_version": self.graph_version}}

    def env(self) -> dict[str, str]:
        with self._lock:
            return {self._env_name(page): page.token for page in self._pages.values()}

    def visible(self, account: str | None = None) -> list[SeenPost]:
        with self._lock:
            pages = {p.page_id for p in self._pages.values() if account in (None, p.ref)}
            posts = sorted((p for p in self._posts.values()
                            if p.page_id in pages and p.published and not p.deleted),
                           key=lambda p: (p.created, p.id))
            return [self._seen(post) for post in posts]

    # --- introspection for tests -----------------------------------------------------------------

    def page_id(self, ref: str) -> str:
        return self._page(ref).page_id

    def history(self, post_id: str) -> list[str]:
        """Every message the post has had, oldest first."""
        with self._lock:
            return list(self._posts[post_id].history)

    def unpublished_photos(self, ref: str) -> list[str]:
        """Uploaded with published=false and attached to no post (invisible to citizens)."""
        page = self._page(ref)
        with self._lock:
            return [p.id for p in self._photos.values()
                    if p.page_id == page.page_id and not p.published and p.post_id is None]

    def comment_as_citizen(self, post_id: str, text: str, name: str = "Vecina") -> str:
        """A comment by someone else under a post (citizens comment too)."""
        with self._lock:
            post = self._posts[post_id]
            comment = self._new_comment(post, None, f"1000{next(self._ids):08d}", name, text)
            return comment.id

    def expire_token(self, ref: str) -> None:
        with self._lock:
            self._page(ref).token_expired = True

    def throttle(self, ref: str, code: int = 32, *, calls: int = 1, minutes: float = 15) -> None:
        """The next ``calls`` requests with the page's token answer throttling ``code``."""
        with self._lock:
            self._page(ref).throttles.append(Throttle(code, calls, minutes))

    # --- Graph ----------------------------------------------------------------------------------

    def graph_knows(self, token: str) -> bool:
        with self._lock:
            return token in self._by_token

    def graph_serve(self, call: GraphCall) -> TwinResponse | None:
        with self._lock:
            page = self._by_token[call.token]
            if page.token_expired:
                raise expired_token(self.clock.now())
            if page.throttles:
                throttle = page.throttles[0]
                throttle.calls -= 1
                if throttle.calls <= 0:
                    page.throttles.pop(0)
                raise throttled(throttle.code, page.page_id, "pages", throttle.minutes)
            node = page.page_id if call.node == "me" else call.node
            if node == page.page_id:
                return self._page_node(page, call)
            post = self._posts.get(node)
            if post is not None and post.page_id == page.page_id:
                if post.deleted or not post.published:
                    raise missing(call.method, call.node)
                return self._post_node(page, post, call)
            comment = self._comments.get(node)
            if comment is not None and self._posts[comment.post_id].page_id == page.page_id:
                if comment.deleted or self._posts[comment.post_id].deleted:
                    raise missing(call.method, call.node)
                return self._comment_node(page, comment, call)
            photo = self._photos.get(node)
            if photo is not None and photo.page_id == page.page_id and call.method == "GET" \
                    and call.edge is None:
                return answer(200, pick(self._photo_fields(photo), call.fields(
                    ("id", "created_time", "name"))))
            return None

    # --- nodes ----------------------------------------------------------------------------------

    def _page_node(self, page: _Page, call: GraphCall) -> TwinResponse:
        if call.edge is None and call.method == "GET":
            return answer(200, pick({"id": page.page_id, "name": page.name},
                                    call.fields(("id", "name"))))
        if call.edge in ("feed", "posts", "published_posts") and call.method == "GET":
            return answer(200, self._feed(page, call))
        if call.edge == "feed" and call.method == "POST":
            return answer(200, {"id": self._create_post(page, call).id})
        if call.edge == "photos" and call.method == "POST":
            return answer(200, self._upload_photo(page, call))
        raise missing(call.method, call.node)

    def _post_node(self, page: _Page, post: _Post, call: GraphCall) -> TwinResponse:
        if call.edge is None:
            if call.method == "GET":
                return answer(200, pick(self._post_fields(post), call.fields(
                    ("id", "message", "created_time"))))
            if call.method == "POST":
                message = call.arg("message")
                if message is not None and message != post.message:
                    post.message = message
                    post.history.append(message)
                    post.updated = self.clock.now()
                return answer(200, {"success": True})
            if call.method == "DELETE":
                post.deleted = True
                return answer(200, {"success": True})
        if call.edge == "comments":
            return self._comments_edge(page, post, None, call)
        raise missing(call.method, call.node)

    def _comment_node(self, page: _Page, comment: _Comment, call: GraphCall) -> TwinResponse:
        if call.edge is None:
            if call.method == "GET":
                return answer(200, pick(self._comment_fields(comment), call.fields(
                    ("id", "message", "created_time", "from"))))
            if call.method == "POST" and comment.author_id == page.page_id:
                if call.arg("message") is not None:
                    comment.message = call.arg("message") or ""
                return answer(200, {"success": True})
            if call.method == "DELETE":
                comment.deleted = True
                return answer(200, {"success": True})
        if call.edge == "comments":
            return self._comments_edge(page, self._posts[comment.post_id], comment, call)
        raise missing(call.method, call.node)

    # --- edges ----------------------------------------------------------------------------------

    def _feed(self, page: _Page, call: GraphCall) -> dict:
        since, until = call.timestamp_arg("since"), call.timestamp_arg("until")
        posts = [p for p in self._posts.values()
                 if p.page_id == page.page_id and p.published and not p.deleted
                 and (since is None or p.created.timestamp() >= since)
                 and (until is None or p.created.timestamp() <= until)]
        posts.sort(key=lambda p: (p.created, p.id), reverse=True)
        fields = call.fields(("id", "message", "created_time"))
        return page_of([pick(self._post_fields(p), fields) for p in posts], call.limit())

    def _create_post(self, page: _Page, call: GraphCall) -> _Post:
        message = call.arg("message") or ""
        link = call.arg("link")
        attached: list[_Photo] = []
        for index in itertools.count():
            raw = call.arg(f"attached_media[{index}]")
            if raw is None:
                break
            try:
                fbid = str(json.loads(raw)["media_fbid"])
            except (ValueError, KeyError, TypeError):
                raise invalid(f"attached_media[{index}] must be {{\"media_fbid\": ...}}") from None
            photo = self._photos.get(fbid)
            if photo is None or photo.page_id != page.page_id or photo.published \
                    or photo.post_id is not None:
                raise invalid(f"attached_media[{index}]: {fbid} is not an unpublished photo "
                              "of this Page")
            attached.append(photo)
        if not (message or link or attached):
            raise invalid("a post needs a message, a link or attached media")
        if self.duplicate_window_s is not None and message:
            horizon = self.clock.now() - dt.timedelta(seconds=self.duplicate_window_s)
            if any(p.page_id == page.page_id and not p.deleted and p.message == message
                   and p.created >= horizon for p in self._posts.values()):
                raise GraphError(506, "Duplicate status message", subcode=1455006,
                                 user_title="Duplicate Post")
        published = (call.arg("published") or "true").lower() != "false"
        post = self._new_post(page, message, link, attached, published)
        return post

    def _upload_photo(self, page: _Page, call: GraphCall) -> dict:
        files = call.request.files()
        url = call.arg("url")
        if "source" in files:
            name, content = files["source"]
            if len(content) >= PHOTO_MAX_BYTES:
                raise invalid("a photo must be less than 10MB in size")
            source = name or "source"
        elif url:
            source = url
        else:
            raise invalid("a photo needs url or a source file")
        # "message" and "name" are deprecated in favour of "caption" (Photo reference)
        caption = call.arg("caption") or call.arg("message") or call.arg("name") or ""
        published = (call.arg("published") or "true").lower() != "false"
        photo = _Photo(self._numeric_id(), page.page_id, source, call.arg("alt_text_custom") or "",
                       caption, self.clock.now(), published)
        self._photos[photo.id] = photo
        if not published:
            return {"id": photo.id}
        post = self._new_post(page, caption, None, [photo], True)
        return {"id": photo.id, "post_id": post.id}

    def _comments_edge(self, page: _Page, post: _Post, parent: _Comment | None,
                       call: GraphCall) -> TwinResponse:
        if call.method == "POST":
            message = call.arg("message") or ""
            if not message and not call.arg("attachment_url"):
                raise invalid("a comment needs a message")
            comment = self._new_comment(post, parent, page.page_id, page.name, message)
            return answer(200, {"id": comment.id})
        if call.method != "GET":
            raise missing(call.method, call.node)
        parent_id = parent.id if parent else None
        if (call.arg("filter") or "toplevel") == "stream" and parent is None:
            found = [c for c in self._comments.values() if c.post_id == post.id]
        else:
            found = [c for c in self._comments.values()
                     if c.post_id == post.id and c.parent_id == parent_id]
        found = [c for c in found if not c.deleted]
        found.sort(key=lambda c: (c.created, c.id),
                   reverse=(call.arg("order") == "reverse_chronological"))
        fields = call.fields(("id", "message", "created_time", "from"))
        return answer(200, page_of([pick(self._comment_fields(c), fields) for c in found],
                                   call.limit()))

    # --- state ----------------------------------------------------------------------------------

    def _new_post(self, page: _Page, message: str, link: str | None, photos: list[_Photo],
                  published: bool) -> _Post:
        now = self.clock.now()
        post = _Post(f"{page.page_id}_{122105000000000000 + next(self._ids)}", page.page_id,
                     message, link, [p.id for p in photos], now, now, published,
                     history=[message])
        for photo in photos:
            photo.post_id = post.id
        self._posts[post.id] = post
        return post

    def _new_comment(self, post: _Post, parent: _Comment | None, author_id: str, name: str,
                     message: str) -> _Comment:
        local = post.id.split("_")[-1]
        comment = _Comment(f"{local}_{987654000 + next(self._ids)}", post.id,
                           parent.id if parent else None, author_id, name, message,
                           self.clock.now())
        self._comments[comment.id] = comment
        return comment

    def _numeric_id(self) -> str:
        return str(122104000000000000 + next(self._ids))

    def _post_fields(self, post: _Post) -> dict:
        return {"id": post.id, "message": post.message or None,
                "created_time": graph_time(post.created),
                "updated_time": graph_time(post.updated),
                "permalink_url": self._permalink(post), "link": post.link,
                "is_published": post.published}

    def _photo_fields(self, photo: _Photo) -> dict:
        return {"id": photo.id, "name": photo.caption or None,
                "alt_text_custom": photo.alt or None, "created_time": graph_time(photo.created),
                "page_story_id": photo.post_id}

    def _comment_fields(self, comment: _Comment) -> dict:
        return {"id": comment.id, "message": comment.message,
                "created_time": graph_time(comment.created),
                "from": {"id": comment.author_id, "name": comment.author_name},
                "parent": {"id": comment.parent_id} if comment.parent_id else None}

    @staticmethod
    def _permalink(post: _Post) -> str:
        page_id, local = post.id.split("_")
        return f"https://www.facebook.com/{page_id}/posts/{local}"

    def _seen(self, post: _Post) -> SeenPost:
        media = tuple(SeenMedia(self._photos[p].alt, self._photos[p].source) for p in post.photos)
        return SeenPost(post.id, post.message, media, edited=post.edited,
                        replies=self._seen_replies(post, None), url=self._permalink(post))

    def _seen_replies(self, post: _Post, parent_id: str | None) -> tuple[SeenPost, ...]:
        comments = sorted((c for c in self._comments.values()
                           if c.post_id == post.id and c.parent_id == parent_id
                           and not c.deleted and c.author_id == post.page_id),
                          key=lambda c: (c.created, c.id))
        return tuple(SeenPost(c.id, c.message, replies=self._seen_replies(post, c.id))
                     for c in comments)

    def _page(self, ref: str) -> _Page:
        with self._lock:
            try:
                return self._pages[ref]
            except KeyError:
                raise KeyError(f"{ref} was not added to the twin (add_account)") from None

    @staticmethod
    def _env_name(page: _Page) -> str:
        return "TWIN_FACEBOOK_" + re.sub(r"[^A-Z0-9]", "_", page.handle.upper()) + "_TOKEN"
