"""The adapter contract: what every platform adapter does, what it can do, and how it fails.

The engine and the correction path only ever talk to this interface. Platform knowledge lives
in the adapters and in their ``Capabilities`` (data, read by the linter, the compiler and the
correction planner), never re-encoded elsewhere.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Callable, Literal, Mapping, Protocol, runtime_checkable

from .imagetypes import KNOWN_TYPES

Action = Literal["publish", "correct", "reply", "retract"]
LanguageStrategy = Literal["per_language", "combined"]


# --- capabilities -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class EditSupport:
    """Whether and how a published post can be edited in place."""

    possible: bool
    #: seconds after publication during which an edit is accepted (None: no limit)
    window_s: int | None = None
    #: how many edits the platform accepts (None: no limit)
    max_edits: int | None = None
    #: True when an edit produces a new post id (X does)
    new_id: bool = False


@dataclasses.dataclass(frozen=True)
class Capabilities:
    """What a platform can do, as data. The linter refuses what a platform cannot do."""

    platform: str
    #: maximum text length, in the platform's own unit (see ``count``)
    text_limit: int
    #: how the platform counts: "x-weighted", "graphemes", "mastodon", "utf16", "chars"
    counting: str
    #: the function that counts a text the platform's way
    count: Callable[[str], int] = dataclasses.field(compare=False, repr=False)
    edit: EditSupport = EditSupport(False)
    #: whether posts can be deleted, and for how long (None: no limit)
    delete: bool = True
    delete_window_s: int | None = None
    max_images: int = 4
    #: image types (MIME, see ``imagetypes``) the platform takes from an uploaded file
    image_types: frozenset[str] = KNOWN_TYPES
    #: largest image file the platform takes, in bytes (None: no documented limit)
    image_max_bytes: int | None = None
    alt_text: bool = True
    alt_text_limit: int | None = None
    replies: bool = True
    #: a text too long for one post may go out as a thread, each part a reply to the one
    #: before (the calendar's ``thread: true``: ``worker.calendar.thread_split``)
    can_thread: bool = False
    native_events: bool = False
    #: one post per language, or one combined post with the primary language first
    language_strategy: LanguageStrategy = "per_language"
    requires_image: bool = False
    #: links are clickable in the text (not on Instagram)
    clickable_links: bool = True
    #: a link's preview card is described by the client, not built by the platform from the
    #: page (Bluesky): the engine reads the page and sends the card (``PostRequest.card``)
    card_from_client: bool = False
    #: how a correction of a published post is made when editing is not possible
    correction_fallback: Literal["reply", "comment", "alert"] = "reply"


# --- requests and results ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Image:
    """An image to attach, with its alternative text in the post's language.

    ``data``: the bytes to upload, read by the engine from inside the calendar repository
    and checked there (``worker.image_files``). Adapters upload exactly these and never open
    ``path`` when they are given, so a file swapped after the check is never read; ``path``
    is then only the image's name. Outside the engine (an adapter's own tests) ``data`` may
    be None and a local ``path`` is read as given. A URL ``path`` is for platforms that fetch
    images themselves."""

    path: str
    alt: str
    #: never in a repr: a log line or an exception message must not carry file contents
    data: bytes | None = dataclasses.field(default=None, repr=False)

    def bytes_or_read(self) -> bytes:
        """The bytes to upload: ``data`` when the engine read them, else the file at
        ``path`` (OSError when it cannot be read)."""
        if self.data is not None:
            return self.data
        with open(self.path, "rb") as handle:
            return handle.read()


@dataclasses.dataclass(frozen=True)
class LinkCard:
    """The preview card of a post's link, for platforms whose clients describe it themselves
    (Bluesky's ``app.bsky.embed.external``): what the linked page says of itself, read by the
    engine (``worker.engine.link_cards``). ``thumb``: the page's image, already fetched."""

    uri: str
    title: str
    description: str
    thumb: Image | None = None


@dataclasses.dataclass(frozen=True)
class PostRef:
    """Where a published post lives on its platform."""

    platform: str
    account: str
    post_id: str
    url: str | None = None
    #: platform-specific details needed later (Bluesky cid, Telegram chat id, ...)
    extra: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"platform": self.platform, "account": self.account, "post_id": self.post_id,
                "url": self.url, "extra": dict(self.extra)}

    def published_at(self) -> dt.datetime | None:
        """When the post first went out (``extra["published_at"]``): edit and delete windows
        count from it. Naive values are read as UTC."""
        value = self.extra.get("published_at")
        if not value:
            return None
        moment = dt.datetime.fromisoformat(str(value))
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)

    @classmethod
    def from_dict(cls, data: Mapping) -> "PostRef":
        return cls(data["platform"], data["account"], data["post_id"], data.get("url"),
                   dict(data.get("extra") or {}))


@dataclasses.dataclass(frozen=True)
class PostRequest:
    """One thing to send: a post, a correction, a reply or a retraction.

    ``idempotency_key`` is unique per job and attempt family: adapters pass it to the platform
    where supported (Mastodon) and embed it where lookup needs it, so that after an unknown
    outcome ``lookup`` can tell whether the post exists. Never reuse it for different content.
    """

    job_id: str
    account: str
    action: Action
    text: str
    language: str
    idempotency_key: str
    due: dt.datetime
    link: str | None = None
    images: tuple[Image, ...] = ()
    #: the post this one answers (reply) or changes (correct, retract)
    target: PostRef | None = None
    #: event details for platforms with native events (the iCalendar feed): the fields of
    #: ``worker.jobs.EventInfo`` (start_utc, end_utc, all_day, title, place, stream_url,
    #: description) plus optional "calendar" and "uid"; None for ordinary posts
    event: Mapping[str, object] | None = None
    #: the link's preview card, where the platform needs it from the client (None: none)
    card: LinkCard | None = None

    def require_target(self) -> PostRef:
        """The post a correct, reply or retract acts on; a request without one is a bug."""
        if self.target is None:
            raise ValueError(f"{self.action} of job {self.job_id} needs request.target")
        return self.target


@dataclasses.dataclass(frozen=True)
class AccountStatus:
    """The answer of ``verify``: are the credentials good, and what does the platform say."""

    account: str
    ok: bool
    detail: str
    #: days until the token expires, where the platform tells
    expires_in_days: int | None = None


# --- errors -----------------------------------------------------------------------------------


class AdapterError(Exception):
    """Raised when a platform operation fails; the subclass says whether and when to retry."""

    retryable: bool = False


class AuthError(AdapterError):
    """Raised when the platform refuses the credentials (expired, revoked, wrong scope)."""


class AccountBlocked(AuthError):
    """Raised when the platform refuses this account's requests for a reason a person must
    settle before it can publish again (X: the API credits are spent, or a monthly usage cap
    is reached): nothing is wrong with the post, and waiting a few minutes will not help."""


class VersionRetired(AuthError):
    """Raised when the platform no longer serves the API version the account is pinned to
    (LinkedIn's 426): nothing is wrong with the post, the account's configuration must name a
    current version (``adapters.api_versions``) before it can publish again."""


class Rejected(AdapterError):
    """Raised when the platform refuses the content itself (too long, invalid media, policy)."""


class Duplicate(Rejected):
    """Raised when the platform says this exact post already exists."""


class RateLimited(AdapterError):
    """Raised on 429 / rate limits; ``retry_after_s`` comes from the platform's reset time."""

    retryable = True

    def __init__(self, message: str, retry_after_s: float | None = None):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Unavailable(AdapterError):
    """Raised when the platform cannot be reached or fails (5xx, refused connection) before
    it could have acted: safe to retry."""

    retryable = True


class OutcomeUnknown(AdapterError):
    """Raised when the request may have reached the platform but no answer came back (timeout
    after sending): never retry blindly, ``lookup`` decides."""


class Unknowable(AdapterError):
    """Raised by ``lookup`` when the platform offers no way to tell whether an earlier attempt
    posted (a Telegram bot cannot read its own channel): the engine must neither post again
    nor assume it went out, but ask a person, who looks at the account."""


class NotSupported(AdapterError):
    """Raised when the platform cannot do the operation at all (e.g. edit on Bluesky)."""


# --- the protocol -----------------------------------------------------------------------------


@runtime_checkable
class Adapter(Protocol):
    """One account on one platform. Every network call has a timeout."""

    account: str
    capabilities: Capabilities

    def publish(self, request: PostRequest) -> PostRef:
        """Publish a new post (or a reply when ``request.target`` is set)."""

    def correct(self, request: PostRequest) -> PostRef:
        """Edit ``request.target`` in place with ``request.text``; raises NotSupported where
        the platform cannot (or its edit window has passed). Returns the (possibly new) ref."""

    def reply(self, request: PostRequest) -> PostRef:
        """Publish ``request.text`` as a reply under ``request.target``."""

    def retract(self, request: PostRequest) -> None:
        """Delete or hide ``request.target``."""

    def lookup(self, request: PostRequest) -> PostRef | None:
        """After an unknown outcome: the post this request produced, if it exists; None when
        it certainly does not; ``Unknowable`` when the platform cannot tell."""

    def verify(self) -> AccountStatus:
        """Check the credentials with the platform."""
