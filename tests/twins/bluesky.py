"""A stateful twin of Bluesky as the Bluesky adapter reaches it (atproto's ``Client`` over httpx):
the account's PDS (sessions, the repository, blobs) and the AppView behind it (author feed,
threads, posts, profiles), which sees the PDS's writes only ``appview_lag_s`` later.

What it keeps, the way the servers do (sources, rule by rule: tests/twins/notes/bluesky.md):

* Sessions (``com.atproto.server.createSession`` / ``refreshSession``) on the entryway
  ``https://bsky.social``; the DID document sends the client on to the account's PDS host.
  Access tokens live 2 h, refresh tokens 90 days, a refresh rotates the refresh token (the old
  one keeps a 2 h grace). An expired token is ``400 ExpiredToken``, a missing one ``401
  AuthMissing``, a wrong password ``401 AuthenticationRequired "Invalid identifier or password"``.
* The repository: ``createRecord`` (TID record keys from the twin clock, optional ``rkey``,
  ``validate``, ``swapCommit``; an existing rkey fails inside the MST: 500), ``deleteRecord``
  (a missing record is a no-op without commit), ``getRecord``, ``listRecords`` (newest first),
  ``applyWrites`` (create/delete). ``app.bsky.feed.post`` records are validated against the
  lexicon with @atproto/lex-schema's messages (300 graphemes / 3000 bytes, 3 langs, 4 images,
  blob ``image/*`` up to ``image_max_size``, strong refs, facets, self-labels, datetime).
* Blobs (``uploadBlob``): the MIME type is sniffed from the bytes, the upload limit is 5 MiB
  (413 ``PayloadTooLarge``); the record's blob ref must match the stored blob.
* Rate limits by DID: repo writes 5000 points per hour and 35 000 per day (create 3,
  delete 1), uploads 1000 per day, createSession 30 per 5 min and 300 per day per identifier;
  429 ``RateLimitExceeded`` with ``RateLimit-Limit/Remaining/Reset/Policy`` (reset as epoch
  seconds of the twin clock), the same headers on successful answers.
* The AppView indexes each write ``appview_lag_s`` after it happened on the twin clock
  (deletions too); ``indexedAt`` is that moment and feeds sort by ``min(indexedAt, createdAt)``.
  ``getAuthorFeed`` (filters, cursor ``<ms>::<cid>``), ``getPostThread``, ``getPosts``,
  ``getProfile``, reached through the PDS (which proxies them) or directly on
  ``public.api.bsky.app``.
* The PDS's read-after-write: for the author's own ``getAuthorFeed`` and ``getPostThread``
  through the PDS, up to 10 local records newer than the rev the AppView has indexed are
  inserted, and only when the AppView's first feed item is the author's own post.

What a citizen sees (``visible()``): what the AppView shows now (never the PDS's munging, which
only the author gets): the account's posts, oldest first, with the account's own replies under
their parent; a reply whose parent is gone (or not the account's) stands on its own.

atproto's client takes "now" from its own clock for ``createdAt`` and for the early refresh of
the access token; ``install`` makes it read the twin clock while the twin's interception is
active (see ``_use_twin_clock_for_atproto``), as a real client shares the real servers' time.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import re
import threading
import time
import weakref
from typing import Callable
from urllib.parse import urlsplit

import regex

from tests.twins.base import (sniff_image_type, Http, SeenMedia, SeenPost, TwinClock, TwinRequest, TwinResponse,
                              answer, iso)

UTC = dt.timezone.utc
POST = "app.bsky.feed.post"
ENTRYWAY = "https://bsky.social"
PDS_HOST = "https://morel.us-east.host.bsky.network"
APPVIEW_HOSTS = ("public.api.bsky.app", "api.bsky.app")
CDN = "https://cdn.bsky.app/img"

_GRAPHEME = regex.compile(r"\X")
_S32 = "234567abcdefghijklmnopqrstuvwxyz"
TID_RE = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
_RKEY_RE = re.compile(r"^[A-Za-z0-9._:~-]{1,512}$")
_DID_RE = re.compile(r"^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$")
_AT_URI_RE = re.compile(r"^at://[a-zA-Z0-9._:%-]+"
                        r"(/[a-zA-Z0-9.-]+(/[A-Za-z0-9._~:@!$&')(*+,;=%-]+)?)?$")
_CID_RE = re.compile(r"^[a-zA-Z0-9+=]{8,256}$")
_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_LANGUAGE_RE = re.compile(r"^(i|[a-zA-Z]{2,3})(-[A-Za-z0-9]{1,8})*$")
_URI_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9.+-]*:\S+$")
_NSID_RE = re.compile(r"^[a-zA-Z]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*"
                      r"[a-zA-Z0-9])?)+\.[a-zA-Z][a-zA-Z0-9]*$")
#: the scopes of access tokens (AuthScope in packages/pds/src/auth-scope.ts)
_ACCESS_SCOPES = {"com.atproto.access", "com.atproto.appPass", "com.atproto.appPassPrivileged"}
_REFRESH_SCOPE = "com.atproto.refresh"


# --- identifiers ---------------------------------------------------------------------------------


def tid(micros: int, clock_id: int = 0) -> str:
    """A TID (atproto.com/specs/tid): 53 bits of microseconds and 10 bits of clock id, top bit
    zero, in 13 characters of base32-sortable."""
    value = (micros << 10) | (clock_id & 0x3FF)
    return "".join(_S32[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def cid_for(data: bytes, codec: int = 0x71) -> str:
    """A CIDv1 (base32, sha2-256): ``0x71`` dag-cbor for records and commits (``bafyrei…``),
    ``0x55`` raw for blobs (``bafkrei…``, the real CID of the bytes)."""
    raw = bytes([0x01, codec, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def blob_cid(data: bytes) -> str:
    """The CID the PDS gives a blob of these bytes (what ``SeenMedia.source`` holds)."""
    return cid_for(data, 0x55)


def _canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def graphemes(text: str) -> int:
    return len(_GRAPHEME.findall(text))


sniff_mime = sniff_image_type  # the PDS sniffs the bytes (tests.twins.base)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- errors --------------------------------------------------------------------------------------


class _Xrpc(Exception):
    """An XRPC error answer: ``{"error": name, "message": message}``."""

    def __init__(self, status: int, error: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.headers = headers or {}


def _invalid(message: str, error: str = "InvalidRequest") -> _Xrpc:
    return _Xrpc(400, error, message)


def _internal() -> _Xrpc:
    # xrpc-server never shows the details of a 500
    return _Xrpc(500, "InternalServerError", "Internal Server Error")


# --- lexicon validation (app.bsky.feed.post), with @atproto/lex-schema's messages ----------------


def _path(parts) -> str:
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.match(r"^[a-zA-Z_$][a-zA-Z0-9_]*$", part):
            out += "." + part
        else:
            out += "[" + json.dumps(part) + "]"
    return out


def _show(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value if len(value) < 256 else value[:255] + "…", ensure_ascii=False)
    if value is None:
        return "null"
    if isinstance(value, list):
        shown = ", ".join(_show(v) for v in value[:2])
        return f"[{shown}{', ...' if len(value) > 2 else ''}]"
    if isinstance(value, dict):
        shown = ", ".join(f"{json.dumps(k)}: ..." for k in list(value)[:2])
        return "{" + shown + (", ..." if len(value) > 2 else "") + "}"
    return type(value).__name__


class _Issue(Exception):
    def __init__(self, message: str, path):
        super().__init__(f"{message} at {_path(path)}")


def _type_of(value) -> str:
    return {bool: "boolean", int: "integer", str: "string", list: "array",
            dict: "object"}.get(type(value), "unknown")


def _expect(value, kind: str, path):
    if _type_of(value) != kind:
        raise _Issue(f"Expected {kind} value type (got {_show(value)})", path)


def _string(value, path, *, max_bytes=None, max_graphemes=None, fmt=None):
    _expect(value, "string", path)
    if max_bytes is not None and len(value.encode()) > max_bytes:
        raise _Issue(f"string too big (maximum {max_bytes}, got {len(value.encode())})", path)
    if max_graphemes is not None and len(value) > max_graphemes:
        count = graphemes(value)
        if count > max_graphemes:
            raise _Issue(f"grapheme too big (maximum {max_graphemes}, got {count})", path)
    if fmt is not None:
        pattern, name = {"did": (_DID_RE, "DID"), "at-uri": (_AT_URI_RE, "at-uri"),
                         "cid": (_CID_RE, "CID string"), "datetime": (_DATETIME_RE, "datetime"),
                         "language": (_LANGUAGE_RE, "language"), "uri": (_URI_RE, "uri")}[fmt]
        if not pattern.match(value):
            raise _Issue(f"Invalid {name} (got {_show(value)})", path)


def _array(value, path, max_length=None):
    _expect(value, "array", path)
    if max_length is not None and len(value) > max_length:
        raise _Issue(f"array too big (maximum {max_length}, got {len(value)})", path)


def _integer(value, path, minimum=None):
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Issue(f"Expected integer value type (got {_show(value)})", path)
    if minimum is not None and value < minimum:
        raise _Issue(f"integer too small (minimum {minimum}, got {value})", path)


def _object(value, path, required=()):
    _expect(value, "object", path)
    for key in required:
        if key not in value:
            raise _Issue(f'Missing required key "{key}"', path)


def _strong_ref(value, path):
    _object(value, path, ("uri", "cid"))
    _string(value["uri"], [*path, "uri"], fmt="at-uri")
    _string(value["cid"], [*path, "cid"], fmt="cid")


def _typed(value, path) -> str:
    _expect(value, "object", path)
    kind = value.get("$type")
    if not isinstance(kind, str):
        raise _Issue('Expected an object which includes the "$type" property value type '
                     f"(got {_show(value)})", path)
    return kind


def _blob(value, path, accept: str, max_size: int):
    if not (isinstance(value, dict) and value.get("$type") == "blob"
            and isinstance(value.get("ref"), dict) and isinstance(value["ref"].get("$link"), str)
            and isinstance(value.get("mimeType"), str) and isinstance(value.get("size"), int)):
        raise _Issue(f"Expected blob value type (got {_show(value)})", path)
    mime = value["mimeType"]
    if not (mime == accept or (accept.endswith("/*") and mime.startswith(accept[:-1]))):
        raise _Issue(f"Expected {_show(accept)} (got {_show(mime)})", [*path, "mimeType"])
    if value["size"] > max_size:
        raise _Issue(f"blob too big (maximum {max_size}, got {value['size']})", path)


def validate_post(record: dict, path: list, image_max_size: int) -> None:
    """The app.bsky.feed.post lexicon (lexicons/app/bsky/feed/post.json and the lexicons it
    refers to), property by property in the lexicon's order; raises ``_Issue`` at the first."""
    _object(record, path)
    for key in ("text", "createdAt"):
        if key not in record:
            raise _Issue(f'Missing required key "{key}"', path)
    _string(record["text"], [*path, "text"], max_bytes=3000, max_graphemes=300)
    if "facets" in record:
        _array(record["facets"], [*path, "facets"])
        for i, facet in enumerate(record["facets"]):
            where = [*path, "facets", i]
            _object(facet, where, ("index", "features"))
            _object(facet["index"], [*where, "index"], ("byteStart", "byteEnd"))
            for key in ("byteStart", "byteEnd"):
                _integer(facet["index"][key], [*where, "index", key], 0)
            _array(facet["features"], [*where, "features"])
            for j, feature in enumerate(facet["features"]):
                at = [*where, "features", j]
                kind = _typed(feature, at)
                if kind == "app.bsky.richtext.facet#mention":
                    _object(feature, at, ("did",))
                    _string(feature["did"], [*at, "did"], fmt="did")
                elif kind == "app.bsky.richtext.facet#link":
                    _object(feature, at, ("uri",))
                    _string(feature["uri"], [*at, "uri"], fmt="uri")
                elif kind == "app.bsky.richtext.facet#tag":
                    _object(feature, at, ("tag",))
                    _string(feature["tag"], [*at, "tag"], max_bytes=640, max_graphemes=64)
    if "reply" in record:
        _object(record["reply"], [*path, "reply"], ("root", "parent"))
        _strong_ref(record["reply"]["root"], [*path, "reply", "root"])
        _strong_ref(record["reply"]["parent"], [*path, "reply", "parent"])
    if "embed" in record:
        kind = _typed(record["embed"], [*path, "embed"])
        if kind == "app.bsky.embed.images":
            embed = record["embed"]
            _object(embed, [*path, "embed"], ("images",))
            _array(embed["images"], [*path, "embed", "images"], 4)
            for i, image in enumerate(embed["images"]):
                where = [*path, "embed", "images", i]
                _object(image, where, ("image", "alt"))
                _blob(image["image"], [*where, "image"], "image/*", image_max_size)
                _string(image["alt"], [*where, "alt"])
                if "aspectRatio" in image:
                    ratio = image["aspectRatio"]
                    _object(ratio, [*where, "aspectRatio"], ("width", "height"))
                    _integer(ratio["width"], [*where, "aspectRatio", "width"], 1)
                    _integer(ratio["height"], [*where, "aspectRatio", "height"], 1)
    if "langs" in record:
        _array(record["langs"], [*path, "langs"], 3)
        for i, lang in enumerate(record["langs"]):
            _string(lang, [*path, "langs", i], fmt="language")
    if "labels" in record:
        kind = _typed(record["labels"], [*path, "labels"])
        if kind == "com.atproto.label.defs#selfLabels":
            _object(record["labels"], [*path, "labels"], ("values",))
            _array(record["labels"]["values"], [*path, "labels", "values"], 10)
            for i, label in enumerate(record["labels"]["values"]):
                _object(label, [*path, "labels", "values", i], ("val",))
                _string(label["val"], [*path, "labels", "values", i, "val"], max_bytes=128)
    if "tags" in record:
        _array(record["tags"], [*path, "tags"], 8)
        for i, tag in enumerate(record["tags"]):
            _string(tag, [*path, "tags", i], max_bytes=640, max_graphemes=64)
    _string(record["createdAt"], [*path, "createdAt"], fmt="datetime")


def _blob_refs(value):
    """Every typed blob ref in a record (enumBlobRefs)."""
    if isinstance(value, dict):
        if value.get("$type") == "blob":
            yield value
        else:
            for item in value.values():
                yield from _blob_refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _blob_refs(item)


# --- state ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Account:
    ref: str
    name: str
    handle: str
    did: str
    password: str
    env_var: str
    email: str
    created_at: dt.datetime
    commit_cid: str = ""
    rev: str = ""


@dataclasses.dataclass
class _Record:
    uri: str
    did: str
    collection: str
    rkey: str
    cid: str
    value: dict
    rev: str
    indexed_at: dt.datetime  # when the PDS stored it (record.indexedAt)


@dataclasses.dataclass
class _Blob:
    cid: str
    did: str
    mime: str
    size: int
    data: bytes


@dataclasses.dataclass
class _Event:
    """One commit as the AppView receives it from the firehose."""

    seq: int
    at: dt.datetime
    did: str
    rev: str
    action: str  # "create" or "delete"
    record: _Record | None = None
    uri: str = ""
    #: when settle() made the AppView catch up with this event (None: the lag decides)
    settled_at: dt.datetime | None = None


@dataclasses.dataclass
class _Indexed:
    record: _Record
    indexed_at: dt.datetime

    @property
    def created_at(self) -> dt.datetime:
        return _parse_time(self.record.value.get("createdAt")) or self.indexed_at

    @property
    def sort_at(self) -> dt.datetime:
        return min(self.indexed_at, self.created_at)

    @property
    def parent(self) -> str | None:
        reply = self.record.value.get("reply")
        return reply["parent"]["uri"] if isinstance(reply, dict) else None

    @property
    def root(self) -> str | None:
        reply = self.record.value.get("reply")
        return reply["root"]["uri"] if isinstance(reply, dict) else None


@dataclasses.dataclass
class _RefreshToken:
    jti: str
    did: str
    expires_at: dt.datetime
    next_id: str | None = None
    scope: str = "com.atproto.appPass"


@dataclasses.dataclass
class _Window:
    start: dt.datetime
    used: int


class _Limiter:
    """A fixed window per key, opened by the first request (rate-limiter-flexible)."""

    def __init__(self, name: str, points: int, duration_s: int):
        self.name, self.points, self.duration_s = name, points, duration_s
        self.windows: dict[str, _Window] = {}

    def consume(self, key: str, points: int, now: dt.datetime) -> tuple[bool, dict]:
        window = self.windows.get(key)
        if window is None or now >= window.start + dt.timedelta(seconds=self.duration_s):
            window = self.windows[key] = _Window(now, 0)
        window.used += points
        reset = window.start + dt.timedelta(seconds=self.duration_s)
        status = {"RateLimit-Limit": str(self.points),
                  "RateLimit-Remaining": str(max(0, self.points - window.used)),
                  "RateLimit-Reset": str(int(reset.timestamp())),
                  "RateLimit-Policy": f"{self.points};w={self.duration_s}"}
        return window.used <= self.points, status


def _in_ms(moment: dt.datetime) -> dt.datetime:
    """``moment`` cut to the millisecond, the precision platforms write instants with."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _parse_time(value) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- atproto's client reads the twin clock --------------------------------------------------------

_CLIENT_CLOCKS: list[tuple[weakref.ref, weakref.ref]] = []
_CLOCK_LOCK = threading.Lock()
_ORIGINAL_NOW: list[Callable] = []


def _router_active(router) -> bool:
    mocker = getattr(router, "Mocker", None)
    return mocker is not None and router in getattr(mocker, "routers", ())


def _use_twin_clock_for_atproto(http: Http, clock: TwinClock) -> None:
    """While ``http``'s httpx interception is active, atproto clients take "now" from
    ``clock`` (``TimeMethodsMixin.get_current_time``: the post's ``createdAt`` and the early
    refresh of the access token). Outside any twin they keep the real clock."""
    from atproto_client.client.methods_mixin.time import TimeMethodsMixin

    with _CLOCK_LOCK:
        if not _ORIGINAL_NOW:
            original = TimeMethodsMixin.get_current_time
            _ORIGINAL_NOW.append(original)

            def get_current_time(self):
                with _CLOCK_LOCK:
                    entries = list(_CLIENT_CLOCKS)
                for router_ref, clock_ref in reversed(entries):
                    router, twin_clock = router_ref(), clock_ref()
                    if router is not None and twin_clock is not None and _router_active(router):
                        return twin_clock.now()
                return original(self)

            TimeMethodsMixin.get_current_time = get_current_time
        _CLIENT_CLOCKS[:] = [(r, c) for r, c in _CLIENT_CLOCKS
                             if r() is not None and c() is not None and _router_active(r())]
        _CLIENT_CLOCKS.append((weakref.ref(http.httpx), weakref.ref(clock)))


# --- the twin ------------------------------------------------------------------------------------


class BlueskyTwin:
    """Bluesky's PDS and AppView for one or more accounts. Knobs: ``pds`` (the accounts' PDS
    host), ``appview_lag_s`` (also settable later), ``image_max_size`` (the images lexicon's
    ``maxSize``: 2 000 000 since April 2026, 1 000 000 before), ``blob_upload_limit``,
    ``access_ttl_s``, ``refresh_ttl_s``, ``repo_write_hour`` / ``repo_write_day`` /
    ``upload_blob_day`` / ``session_5min`` / ``session_day`` as (points, seconds),
    ``read_after_write`` (the PDS's munging of the author's own reads)."""

    platform = "bluesky"

    def __init__(self, clock: TwinClock | None = None, *, pds: str = PDS_HOST,
                 appview_lag_s: float = 1.0, image_max_size: int = 2_000_000,
                 blob_upload_limit: int = 5 * 1024 * 1024, access_ttl_s: int = 2 * 3600,
                 refresh_ttl_s: int = 90 * 86400, refresh_grace_s: int = 2 * 3600,
                 repo_write_hour: tuple[int, int] = (5000, 3600),
                 repo_write_day: tuple[int, int] = (35000, 86400),
                 upload_blob_day: tuple[int, int] = (1000, 86400),
                 session_5min: tuple[int, int] = (30, 300),
                 session_day: tuple[int, int] = (300, 86400),
                 read_after_write: bool = True) -> None:
        self.clock = clock or TwinClock()
        self.pds = pds.rstrip("/")
        self.appview_lag_s = appview_lag_s
        self.image_max_size = image_max_size
        self.blob_upload_limit = blob_upload_limit
        self.access_ttl_s, self.refresh_ttl_s = access_ttl_s, refresh_ttl_s
        self.refresh_grace_s = refresh_grace_s
        self.read_after_write = read_after_write
        self._write_limits = [_Limiter("repo-write-hour", *repo_write_hour),
                              _Limiter("repo-write-day", *repo_write_day)]
        self._upload_limits = [_Limiter("uploadBlob", *upload_blob_day)]
        self._session_limits = [_Limiter("createSession-5min", *session_5min),
                                _Limiter("createSession-day", *session_day)]
        self._lock = threading.RLock()
        self._secret = hashlib.sha256(f"bluesky-twin-{id(self)}".encode()).digest()
        self._accounts: dict[str, _Account] = {}
        self._records: dict[str, _Record] = {}  # uri -> live record on the PDS
        self._blobs: dict[tuple[str, str], _Blob] = {}  # (did, cid)
        self._events: list[_Event] = []
        self._refresh: dict[str, _RefreshToken] = {}
        self._last_micros = 0
        self._seq = 0

    # --- the harness interface ------------------------------------------------------------------

    def install(self, http: Http) -> None:
        hosts = "|".join(re.escape(urlsplit(u).netloc) for u in (ENTRYWAY, self.pds))
        xrpc = r"https://(?P<host>" + hosts + r")/xrpc/(?P<nsid>[A-Za-z0-9.]+)"
        http.route("POST", xrpc, self._dispatch)
        http.route("GET", xrpc, self._dispatch)
        appview = "|".join(re.escape(h) for h in APPVIEW_HOSTS)
        http.route("GET", r"https://(?P<host>" + appview
                   + r")/xrpc/(?P<nsid>app\.bsky\.[A-Za-z.]+)", self._dispatch)
        _use_twin_clock_for_atproto(http, self.clock)

    def add_account(self, ref: str) -> None:
        platform, _, name = ref.partition(":")
        if platform != self.platform or not name:
            raise ValueError(f"{ref!r} is not a bluesky: account reference")
        with self._lock:
            if ref in self._accounts:
                return
            digest = hashlib.sha256(ref.encode()).digest()
            label = re.sub(r"[^a-z0-9-]", "-", name.lower()).strip("-") or "cuenta"
            letters = base64.b32encode(digest[15:31]).decode().lower()
            account = _Account(
                ref=ref, name=name, handle=f"{label}.bsky.social",
                did="did:plc:" + base64.b32encode(digest[:15]).decode().lower(),
                password="-".join(letters[i:i + 4] for i in range(0, 16, 4)),
                env_var="PREGONERO_TWIN_BLUESKY_" + re.sub(r"[^A-Z0-9]", "_", name.upper())
                        + "_APP_PASSWORD",
                email=f"prensa+{label}@ayto.example", created_at=self.clock.now())
            self._accounts[ref] = account
            # the repo's first commit, long indexed by the AppView
            account.rev = self._next_tid()
            account.commit_cid = cid_for(_canonical({"did": account.did, "rev": account.rev}))
            self._append(_Event(0, account.created_at, account.did, account.rev, "init",
                                settled_at=account.created_at))

    def account_entry(self, ref: str, department: str) -> dict:
        self.add_account(ref)
        account = self._accounts[ref]
        return {"handle": account.handle, "department": department,
                "credentials": {"app_password": {"env": account.env_var}}, "options": {}}

    def env(self) -> dict[str, str]:
        with self._lock:
            return {a.env_var: a.password for a in self._accounts.values()}

    def visible(self, account: str | None = None, *,
                as_of: dt.datetime | None = None) -> list[SeenPost]:
        """What a citizen sees on bsky.app now (or ``as_of`` a moment): the AppView's posts of
        the account, oldest first, each with the account's replies under it."""
        with self._lock:
            index = self._appview(as_of or self.clock.now())
            dids = {a.did for a in self._accounts.values() if account in (None, a.ref)}
            if account is not None and not dids:
                raise KeyError(f"no account {account} on the twin")
            shown = {uri: p for uri, p in index.items() if p.record.did in dids}
            children: dict[str, list[_Indexed]] = {}
            top: list[_Indexed] = []
            for post in shown.values():
                parent = shown.get(post.parent) if post.parent else None
                if parent is not None and parent.record.did == post.record.did:
                    children.setdefault(parent.record.uri, []).append(post)
                else:
                    top.append(post)

            def order(posts):
                return sorted(posts, key=lambda p: (p.sort_at, p.record.rkey))

            def seen(post: _Indexed) -> SeenPost:
                value = post.record.value
                images = value.get("embed", {}).get("images", []) \
                    if value.get("embed", {}).get("$type") == "app.bsky.embed.images" else []
                labels = [v["val"] for v in value.get("labels", {}).get("values", [])] \
                    if isinstance(value.get("labels"), dict) else []
                langs = value.get("langs") or []
                return SeenPost(
                    post_id=post.record.uri, text=value.get("text", ""),
                    media=tuple(SeenMedia(i.get("alt", ""), i["image"]["ref"]["$link"])
                                for i in images),
                    content_warning=", ".join(labels), sensitive=bool(labels),
                    language=langs[0] if langs else None, edited=False,
                    replies=tuple(seen(c) for c in order(children.get(post.record.uri, []))),
                    url=self._web_url(post.record))

            return [seen(p) for p in order(top)]

    # --- introspection for tests --------------------------------------------------------------

    def settle(self) -> None:
        """Let the AppView catch up with every write made so far (as if the lag had passed),
        without moving the shared clock."""
        with self._lock:
            now = self.clock.now()
            for event in self._events:
                if event.settled_at is None and event.at + self._lag() > now:
                    event.settled_at = now
            # the next write comes after this indexing, to the millisecond (see ``_commit``)
            last = getattr(self, "_last_commit_at", None)
            self._last_commit_at = now if last is None else max(last, now)

    def record(self, uri: str) -> dict | None:
        """The PDS's current record at ``uri`` (None once deleted)."""
        with self._lock:
            found = self._records.get(uri)
            return json.loads(json.dumps(found.value)) if found else None

    def records(self, account: str) -> list[dict]:
        """The account's post records on the PDS, newest first, as ``{uri, cid, value}``."""
        with self._lock:
            did = self._account(account).did
            mine = sorted((r for r in self._records.values() if r.did == did
                           and r.collection == POST), key=lambda r: r.rkey, reverse=True)
            return [{"uri": r.uri, "cid": r.cid, "value": json.loads(json.dumps(r.value))}
                    for r in mine]

    def did(self, account: str) -> str:
        return self._account(account).did

    def handle(self, account: str) -> str:
        return self._account(account).handle

    def blobs(self, account: str) -> dict[str, tuple[str, int]]:
        """Uploaded blobs of the account: cid -> (mime type, size)."""
        with self._lock:
            did = self._account(account).did
            return {b.cid: (b.mime, b.size) for (d, _), b in self._blobs.items() if d == did}

    # --- dispatch ---------------------------------------------------------------------------------

    def _dispatch(self, request: TwinRequest) -> TwinResponse:
        nsid = request.match["nsid"]
        host = request.match["host"]
        via_pds = host not in APPVIEW_HOSTS
        handlers = {
            "com.atproto.server.createSession": self._create_session,
            "com.atproto.server.refreshSession": self._refresh_session,
            "com.atproto.server.getSession": self._get_session,
            "com.atproto.repo.createRecord": self._create_record,
            "com.atproto.repo.deleteRecord": self._delete_record,
            "com.atproto.repo.applyWrites": self._apply_writes,
            "com.atproto.repo.getRecord": self._get_record,
            "com.atproto.repo.listRecords": self._list_records,
            "com.atproto.repo.uploadBlob": self._upload_blob,
            "app.bsky.feed.getAuthorFeed": self._get_author_feed,
            "app.bsky.feed.getPostThread": self._get_post_thread,
            "app.bsky.feed.getPosts": self._get_posts,
            "app.bsky.actor.getProfile": self._get_profile,
        }
        procedures = {"com.atproto.server.createSession", "com.atproto.server.refreshSession",
                      "com.atproto.repo.createRecord", "com.atproto.repo.deleteRecord",
                      "com.atproto.repo.applyWrites", "com.atproto.repo.uploadBlob"}
        handler = handlers.get(nsid)
        try:
            if handler is None or (not via_pds and not nsid.startswith("app.bsky.")):
                raise _Xrpc(501, "MethodNotImplemented", "Method Not Implemented")
            if (request.method == "POST") != (nsid in procedures):
                raise _invalid("Incorrect HTTP method (%s) expected %s" % (
                    request.method, "POST" if nsid in procedures else "GET"))
            with self._lock:
                return handler(request, via_pds)
        except _Xrpc as refusal:
            return answer(refusal.status, {"error": refusal.error, "message": refusal.message},
                          **refusal.headers)

    # --- sessions ---------------------------------------------------------------------------------

    def _sign(self, header: dict, payload: dict) -> str:
        signing = _b64url(_canonical(header)) + "." + _b64url(_canonical(payload))
        signature = hmac.new(self._secret, signing.encode(), hashlib.sha256).digest()
        return signing + "." + _b64url(signature)

    def _tokens(self, account: _Account, scope: str, jti: str | None = None) -> tuple[str, str]:
        now = self.clock.now()
        iat = int(now.timestamp())
        aud = "did:web:" + urlsplit(self.pds).netloc
        access = self._sign({"typ": "at+jwt", "alg": "HS256"},
                            {"scope": scope, "aud": aud, "sub": account.did, "iat": iat,
                             "exp": iat + self.access_ttl_s})
        jti = jti or _b64url(hashlib.sha256(f"{account.did}{now}{self._next_tid()}".encode())
                             .digest()[:24])
        refresh = self._sign({"typ": "refresh+jwt", "alg": "HS256"},
                             {"scope": _REFRESH_SCOPE, "aud": aud, "sub": account.did,
                              "jti": jti, "iat": iat, "exp": iat + self.refresh_ttl_s})
        self._refresh[jti] = _RefreshToken(jti, account.did,
                                           now + dt.timedelta(seconds=self.refresh_ttl_s),
                                           scope=scope)
        return access, refresh

    def _session_body(self, account: _Account, access: str, refresh: str) -> dict:
        return {"accessJwt": access, "refreshJwt": refresh, "handle": account.handle,
                "did": account.did, "email": account.email, "emailConfirmed": True,
                "emailAuthFactor": False, "active": True,
                "didDoc": {"@context": ["https://www.w3.org/ns/did/v1",
                                        "https://w3id.org/security/multikey/v1"],
                           "id": account.did, "alsoKnownAs": [f"at://{account.handle}"],
                           "verificationMethod": [],
                           "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer",
                                        "serviceEndpoint": self.pds}]}}

    def _create_session(self, request: TwinRequest, _via_pds: bool) -> TwinResponse:
        body = request.json() or {}
        identifier = str(body.get("identifier") or "")
        password = str(body.get("password") or "")
        headers = self._consume(self._session_limits, identifier, 1)
        if len(password) > 512:
            raise _Xrpc(401, "AuthenticationRequired",
                        "Password too long. Consider resetting your password.")
        wanted = identifier.lower().lstrip("@")
        account = next((a for a in self._accounts.values()
                        if wanted in (a.handle.lower(), a.did, a.email.lower())), None)
        if account is None or not hmac.compare_digest(password, account.password):
            raise _Xrpc(401, "AuthenticationRequired", "Invalid identifier or password")
        access, refresh = self._tokens(account, "com.atproto.appPass")
        return answer(200, self._session_body(account, access, refresh), **headers)

    def _verify(self, request: TwinRequest, scopes: set[str]) -> dict:
        """verifyBearerJwt: the token's payload, or the PDS's refusal."""
        header = request.header("authorization") or ""
        if not header.lower().startswith("bearer "):
            raise _Xrpc(401, "AuthMissing", "Authentication Required")
        token = header[7:].strip()
        try:
            head, body, signature = token.split(".")
            expected = hmac.new(self._secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(_unb64url(signature), expected):
                raise ValueError("signature")
            payload = json.loads(_unb64url(body))
        except (ValueError, TypeError):
            raise _invalid("Token could not be verified", "InvalidToken") from None
        if payload.get("exp", 0) <= self.clock.now().timestamp():
            raise _invalid("Token has expired", "ExpiredToken")
        if payload.get("scope") not in scopes:
            raise _invalid("Bad token scope", "InvalidToken")
        return payload

    def _viewer(self, request: TwinRequest) -> _Account:
        did = self._verify(request, _ACCESS_SCOPES)["sub"]
        account = next((a for a in self._accounts.values() if a.did == did), None)
        if account is None:
            raise _Xrpc(403, "AccountNotFound", "Account not found")
        return account

    def _refresh_session(self, request: TwinRequest, _via_pds: bool) -> TwinResponse:
        payload = self._verify(request, {_REFRESH_SCOPE})
        account = next((a for a in self._accounts.values() if a.did == payload["sub"]), None)
        if account is None:
            raise _invalid(f"Could not find user info for account: {payload['sub']}")
        token = self._refresh.get(payload.get("jti", ""))
        now = self.clock.now()
        if token is None or token.expires_at <= now:
            raise _invalid("Token has been revoked", "ExpiredToken")
        # rotateRefreshToken: the old token keeps a grace period, a reuse gets the same next id
        token.expires_at = min(token.expires_at, now + dt.timedelta(seconds=self.refresh_grace_s))
        token.next_id = token.next_id or _b64url(
            hashlib.sha256(f"{token.jti}{now}".encode()).digest()[:24])
        access, refresh = self._tokens(account, token.scope, jti=token.next_id)
        return answer(200, self._session_body(account, access, refresh))

    def _get_session(self, request: TwinRequest, _via_pds: bool) -> TwinResponse:
        account = self._viewer(request)
        body = self._session_body(account, "", "")
        for key in ("accessJwt", "refreshJwt"):
            body.pop(key)
        return answer(200, body)

    # --- rate limits ------------------------------------------------------------------------------

    def _consume(self, limiters: list[_Limiter], key: str, points: int) -> dict:
        now = self.clock.now()
        statuses = []
        for limiter in limiters:
            ok, status = limiter.consume(key, points, now)
            if not ok:
                raise _Xrpc(429, "RateLimitExceeded", "Rate Limit Exceeded", status)
            statuses.append(status)
        return min(statuses, key=lambda s: int(s["RateLimit-Remaining"])) if statuses else {}

    # --- the repository ---------------------------------------------------------------------------

    def _next_tid(self) -> str:
        micros = int(self.clock.now().timestamp() * 1_000_000)
        self._last_micros = max(micros, self._last_micros + 1)
        return tid(self._last_micros, 7)

    def _append(self, event: _Event) -> _Event:
        self._seq += 1
        event.seq = self._seq
        self._events.append(event)
        return event

    def _account(self, ref_or_actor: str) -> _Account:
        found = self._find(ref_or_actor)
        if found is None:
            raise KeyError(f"no account {ref_or_actor} on the twin")
        return found

    def _find(self, actor: str | None) -> _Account | None:
        if not actor:
            return None
        wanted = actor.lower().lstrip("@")
        return next((a for a in self._accounts.values()
                     if actor == a.ref or wanted in (a.handle.lower(), a.did)), None)

    def _repo_of(self, repo, viewer: _Account) -> _Account:
        """findAccount(repo) and the check that it is the caller's own repo."""
        account = self._find(str(repo or ""))
        if account is None:
            raise _Xrpc(403, "AccountNotFound", "Account not found")
        if account.did != viewer.did:
            raise _Xrpc(401, "AuthenticationRequired", "Authentication Required")
        return account

    def _prepare_create(self, account: _Account, collection, record, rkey, validate,
                        path: list) -> _Record:
        """prepareCreate: $type, record key, lexicon validation, CID."""
        if not isinstance(collection, str) or not _NSID_RE.match(collection):
            raise _invalid(f"Invalid NSID (got {_show(collection)}) at $.collection")
        if not isinstance(record, dict):
            raise _invalid(f"Expected object value type (got {_show(record)}) at $.record")
        if record.get("$type") is None:
            record = {**record, "$type": collection}
        elif record["$type"] != collection:
            raise _invalid(f"Invalid $type: expected {collection}, got {record['$type']}")
        if rkey is not None:
            if not isinstance(rkey, str) or not _RKEY_RE.match(rkey) or rkey in (".", ".."):
                raise _invalid(f"Invalid record key: {rkey}")
        key = rkey or self._next_tid()
        if validate is not False:
            if collection == POST:
                if not TID_RE.match(key):
                    raise _invalid(f"Invalid record key for {POST}: Invalid TID string "
                                   f"(got {_show(key)}) at $")
                try:
                    validate_post(record, path, self.image_max_size)
                except _Issue as issue:
                    raise _invalid(f"Invalid {POST} record: {issue}") from None
            elif validate is True:
                raise _invalid(f"Unknown lexicon type: {record['$type']}")
        uri = f"at://{account.did}/{collection}/{key}"
        return _Record(uri, account.did, collection, key, cid_for(_canonical(record)), record,
                       rev="", indexed_at=self.clock.now())

    def _commit(self, account: _Account, creates: list[_Record], deletes: list[str],
                swap_commit) -> dict:
        """processWrites: swapCommit, the MST (an existing key cannot be added, a missing one
        cannot be deleted: both are plain errors, hence 500), the blobs, the new commit."""
        if swap_commit and swap_commit != account.commit_cid:
            raise _invalid(f"Commit was at {account.commit_cid}", "InvalidSwap")
        for record in creates:
            if record.uri in self._records:
                raise _internal()  # MST.add: "There is already a value at key"
        for uri in deletes:
            if uri not in self._records:
                raise _internal()  # MST.delete of a missing key
        for record in creates:
            for ref in _blob_refs(record.value):
                cid = ref["ref"]["$link"]
                blob = self._blobs.get((account.did, cid))
                if blob is None:
                    raise _invalid(f"Could not find blob: {cid}", "BlobNotFound")
                if ref["mimeType"] != blob.mime:
                    raise _invalid("Referenced Mimetype does not match stored blob. Expected: "
                                   f"{blob.mime}, Got: {ref['mimeType']}", "InvalidMimeType")
                if ref["size"] != blob.size:
                    raise _invalid("Referenced Size does not match stored blob. Expected: "
                                   f"{blob.size}, Got: {ref['size']}", "InvalidSize")
        rev = self._next_tid()
        # commits at least a millisecond apart: a real PDS's writes are tens of ms apart and
        # its reads compare JavaScript Dates (milliseconds); without this a feed's order would
        # depend on how fast a test runs
        last = getattr(self, "_last_commit_at", None)
        now = self.clock.now()
        while last is not None and _in_ms(now) <= _in_ms(last):
            time.sleep(0.0005)  # wait for the next millisecond: the twin's clock stays real
            now = self.clock.now()
        self._last_commit_at = now
        for uri in deletes:
            del self._records[uri]
            self._append(_Event(0, now, account.did, rev, "delete", uri=uri))
        for record in creates:
            record.rev, record.indexed_at = rev, now
            self._records[record.uri] = record
            self._append(_Event(0, now, account.did, rev, "create", record=record,
                                uri=record.uri))
        account.commit_cid = cid_for(_canonical({"did": account.did, "rev": rev,
                                                 "prev": account.commit_cid}))
        account.rev = rev
        return {"cid": account.commit_cid, "rev": rev}

    def _create_record(self, request: TwinRequest, _via_pds: bool) -> TwinResponse:
        viewer = self._viewer(request)
        headers = self._consume(self._write_limits, viewer.did, 3)
        body = request.json() or {}
        for key in ("repo", "collection", "record"):
            if key not in body:
                raise _invalid(f'Missing required key "{key}" at $')
        account = self._repo_of(body["repo"], viewer)
        validate = body.get("validate")
        record = self._prepare_create(account, body["collection"], body["record"],
                                      body.get("rkey"), validate, ["record"])
        commit = self._commit(account, [record], [], body.get("swapCommit"))
        reply = {"uri": record.uri, "cid": record.cid, "commit": commit}
        if validate is not False:
            reply["validationStatus"] = "valid" if record.collection == POST else "unknown"
        return answer(200, reply, **headers)

    def _delete_record(self, request: TwinRequest, _via_pds: bool) -> TwinResponse:
        viewer = self._viewer(request)
        headers = self._consume(self._write_limits, viewer.did, 1)
        body = request.json() or {}
        for key in ("repo", "collection", "rkey"):
            if key not in body:
                raise _invalid(f'Missing required key "{key}" at $')
        account = self._repo_of(body["repo"], viewer)
        uri = f"at://{account.did}/{body['collection']}/{body['rkey']}"
        current = self._records.get(uri)
        if current is None:
            return answer(200, {}, **headers)  # "No-op if record already doesn't exist"
        swap_record = body.get("swapRecord")
        if swap_record is not None and swap_record != current.cid:
            raise _invalid(f"Record was at {current.cid}", "InvalidSwap")
        commit = self._commit(account, [], [uri], body.get("swapCommit"))
        return answer(200, {"commit": commit}, **headers)

    def _apply_writes(self, request: TwinRequest, _via_pds: bool) -> TwinResponse:
        viewer = self._viewer(request)
        body = request.json() or {}
        writes = body.get("writes") or []
        points = sum({"com.atproto.repo.applyWrites#create": 3,
                      "com.atproto.repo.applyWrites#update": 2}.get(w.get("$type"), 1)
                     for w in writes if isinstance(w, dict))
        headers = self._consume(self._write_limits, viewer.did, points)
        account = self._repo_of(body.get("repo"), viewer)
        if len(writes) > 200:
            raise _invalid("Too many writes. Max: 200")
        creates, deletes, results = [], [], []
        for i, write in enumerate(writes):
            kind = write.get("$type")
            if kind == "com.atproto.repo.applyWrites#create":
                record = self._prepare_create(account, write.get("collection"),
                                              write.get("value"), write.get("rkey"),
                                              body.get("validate"), ["writes", i, "record"])
                creates.append(record)
                results.append({"$type": "com.atproto.repo.applyWrites#createResult",
                                "uri": record.uri, "cid": record.cid,
                                "validationStatus": "valid"})
            elif kind == "com.atproto.repo.applyWrites#delete":
                deletes.append(f"at://{account.did}/{write.get('collection')}/{write.get('rkey')}")
                results.append({"$type": "com.atproto.repo.applyWrites#deleteResult"})
            elif kind == "com.atproto.repo.applyWrites#update":
                # putRecord/update of posts is not modelled (the adapter never edits)
                raise _Xrpc(501, "MethodNotImplemented", "twin: updates are not modelled")
            else:
                raise _invalid(f"Action not supported: {kind}")
        commit = self._commit(account, creates, deletes, body.get("swapCommit"))
        return answer(200, {"commit": commit, "results": results}, **headers)

    def _get_record(self, request: TwinRequest, _via_pds: bool) -> TwinResponse:
        repo, collection, rkey = (request.arg(k) for k in ("repo", "collection", "rkey"))
        if not repo or not collection or not rkey:
            missing = next(k for k in ("repo", "collection", "rkey") if not request.arg(k))
            raise _invalid(f'Missing required key "{missing}" at $')
        account = self._find(repo)
        if account is None:
            raise _invalid("Could not locate record")
        uri = f"at://{account.did}/{collection}/{rkey}"
        found = self._records.get(uri)
        cid = request.arg("cid")
        if found is None or (cid and cid != found.cid):
            raise _invalid(f"Could not locate record: {uri}", "RecordNotFound")
        return answer(200, {"uri": uri, "cid": found.cid, "value": found.value})

    def _list_records(self, request: TwinRequest, _via_pds: bool) -> TwinResponse:
        repo, collection = request.arg("repo"), request.arg("collection")
        account = self._find(repo)
        if account is None:
            raise _invalid(f"Could not find repo: {repo}")
        limit = self._limit(request, 50, 100)
        reverse = (request.arg("reverse") or "false").lower() == "true"
        cursor = request.arg("cursor")
        mine = sorted((r for r in self._records.values()
                       if r.did == account.did and r.collection == collection),
                      key=lambda r: r.rkey, reverse=not reverse)
        if cursor:
            mine = [r for r in mine if (r.rkey > cursor if reverse else r.rkey < cursor)]
        page = mine[:limit]
        reply = {"records": [{"uri": r.uri, "cid": r.cid, "value": r.value} for r in page]}
        if page:
            reply["cursor"] = page[-1].rkey
        return answer(200, reply)

    def _upload_blob(self, request: TwinRequest, _via_pds: bool) -> TwinResponse:
        viewer = self._viewer(request)
        headers = self._consume(self._upload_limits, viewer.did, 1)
        data = request.body or b""
        if len(data) > self.blob_upload_limit:
            raise _Xrpc(413, "PayloadTooLarge", "request entity too large")
        encoding = (request.header("content-type") or "application/octet-stream")
        mime = sniff_mime(data) or encoding.split(";")[0].strip()
        cid = blob_cid(data)
        self._blobs[(viewer.did, cid)] = _Blob(cid, viewer.did, mime, len(data), data)
        return answer(200, {"blob": {"$type": "blob", "ref": {"$link": cid},
                                     "mimeType": mime, "size": len(data)}}, **headers)

    @staticmethod
    def _limit(request: TwinRequest, default: int, maximum: int) -> int:
        raw = request.arg("limit")
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise _invalid(f"Expected integer value type (got {_show(raw)}) at $.limit") from None
        if value < 1:
            raise _invalid(f"integer too small (minimum 1, got {value}) at $.limit")
        if value > maximum:
            raise _invalid(f"integer too big (maximum {maximum}, got {value}) at $.limit")
        return value

    # --- the AppView ------------------------------------------------------------------------------

    def _lag(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.appview_lag_s)

    def _indexed_at(self, event: _Event) -> dt.datetime:
        moment = event.at + self._lag()
        return min(moment, event.settled_at) if event.settled_at else moment

    def _appview(self, now: dt.datetime, revs: dict | None = None) -> dict[str, _Indexed]:
        """The posts the AppView has indexed by ``now`` (firehose order), and in ``revs`` the
        last rev it indexed per DID (what it sends back as ``atproto-repo-rev``)."""
        index: dict[str, _Indexed] = {}
        for event in self._events:
            moment = self._indexed_at(event)
            if moment > now:
                continue
            if revs is not None:
                revs[event.did] = event.rev
            if event.action == "create" and event.record.collection == POST:
                index[event.uri] = _Indexed(event.record, moment)
            elif event.action == "delete":
                index.pop(event.uri, None)
        return index

    def _web_url(self, record: _Record) -> str:
        account = next(a for a in self._accounts.values() if a.did == record.did)
        return f"https://bsky.app/profile/{account.handle}/post/{record.rkey}"

    def _author(self, did: str) -> dict:
        account = next(a for a in self._accounts.values() if a.did == did)
        return {"did": account.did, "handle": account.handle, "displayName": account.name,
                "labels": [], "createdAt": iso(account.created_at)}

    def _post_view(self, record: _Record, indexed_at: dt.datetime, reply_count: int = 0,
                   local: bool = False) -> dict:
        value = record.value
        view = {"$type": "app.bsky.feed.defs#postView", "uri": record.uri, "cid": record.cid,
                "author": self._author(record.did), "record": value,
                "bookmarkCount": 0, "replyCount": reply_count, "repostCount": 0,
                "likeCount": 0, "quoteCount": 0, "indexedAt": iso(indexed_at), "labels": []}
        embed = value.get("embed")
        if isinstance(embed, dict) and embed.get("$type") == "app.bsky.embed.images":
            images = []
            for image in embed.get("images", []):
                cid = image["image"]["ref"]["$link"]
                if local:  # the PDS's local viewer points at its own getBlob
                    thumb = full = (f"{self.pds}/xrpc/com.atproto.sync.getBlob?did="
                                    f"{record.did}&cid={cid}")
                else:
                    thumb = f"{CDN}/feed_thumbnail/plain/{record.did}/{cid}@jpeg"
                    full = f"{CDN}/feed_fullsize/plain/{record.did}/{cid}@jpeg"
                shown = {"$type": "app.bsky.embed.images#viewImage", "thumb": thumb,
                         "fullsize": full, "alt": image.get("alt", "")}
                if "aspectRatio" in image:
                    shown["aspectRatio"] = image["aspectRatio"]
                images.append(shown)
            view["embed"] = {"$type": "app.bsky.embed.images#view", "images": images}
        labels = value.get("labels")
        if not local and isinstance(labels, dict):
            view["labels"] = [{"src": record.did, "uri": record.uri, "cid": record.cid,
                               "val": label["val"], "cts": value.get("createdAt")}
                              for label in labels.get("values", [])]
        return view

    def _replies_of(self, index: dict[str, _Indexed], uri: str) -> list[_Indexed]:
        return sorted((p for p in index.values() if p.parent == uri),
                      key=lambda p: (p.sort_at, p.record.rkey))

    def _ref_view(self, index: dict[str, _Indexed], uri: str) -> dict:
        post = index.get(uri)
        if post is None:
            return {"$type": "app.bsky.feed.defs#notFoundPost", "uri": uri, "notFound": True}
        return self._post_view(post.record, post.indexed_at,
                               len(self._replies_of(index, uri)))

    def _local_since(self, did: str, rev: str | None) -> list[_Record]:
        """getRecordsSinceRev: the PDS's records newer than ``rev``, oldest first, at most 10."""
        if rev is None:
            return []
        newer = sorted((r for r in self._records.values() if r.did == did and r.rev > rev),
                       key=lambda r: r.rev)
        return newer[:10]

    def _get_author_feed(self, request: TwinRequest, via_pds: bool) -> TwinResponse:
        viewer = self._viewer(request) if via_pds else None
        actor = request.arg("actor")
        if not actor:
            raise _invalid('Missing required key "actor" at $')
        limit = self._limit(request, 50, 100)
        kind = request.arg("filter") or "posts_with_replies"
        account = self._find(actor)
        if account is None:
            raise _invalid("Profile not found")
        revs: dict[str, str] = {}
        now = self.clock.now()
        index = self._appview(now, revs)
        items = [p for p in index.values() if p.record.did == account.did]
        if kind == "posts_no_replies":
            items = [p for p in items if p.parent is None]
        elif kind == "posts_with_media":
            items = [p for p in items if p.record.value.get("embed", {}).get("$type")
                     == "app.bsky.embed.images"]
        elif kind == "posts_with_video":
            items = [p for p in items if p.record.value.get("embed", {}).get("$type")
                     == "app.bsky.embed.video"]
        elif kind == "posts_and_author_threads":
            def self_thread(post: _Indexed) -> bool:
                while post.parent is not None:
                    post = index.get(post.parent)
                    if post is None or post.record.did != account.did:
                        return False
                return True
            items = [p for p in items if p.parent is None or self_thread(p)]
        items.sort(key=lambda p: (p.sort_at, p.record.cid), reverse=True)
        cursor = request.arg("cursor")
        if cursor:
            ms, _, cursor_cid = cursor.partition("::")
            if not ms.isdigit():
                items = []  # clearlyBadCursor
            else:
                items = [p for p in items
                         if (self._ms(p.sort_at), p.record.cid) < (int(ms), cursor_cid)]
        page = items[:limit]
        feed = []
        for post in page:
            item = {"post": self._post_view(post.record, post.indexed_at,
                                            len(self._replies_of(index, post.record.uri)))}
            reply = post.record.value.get("reply")
            if isinstance(reply, dict):
                item["reply"] = {"root": self._ref_view(index, reply["root"]["uri"]),
                                 "parent": self._ref_view(index, reply["parent"]["uri"])}
            feed.append(item)
        body: dict = {"feed": feed}
        if len(page) == limit and page:
            last = page[-1]
            body["cursor"] = f"{self._ms(last.sort_at)}::{last.record.cid}"
        headers = {}
        rev = revs.get(viewer.did) if viewer is not None else None
        if viewer is not None and rev is not None:
            headers["atproto-repo-rev"] = rev
            if self.read_after_write:
                local = self._local_since(viewer.did, rev)
                first = feed[0] if feed else None
                if local and first is not None and first["post"]["author"]["did"] == viewer.did:
                    # getAuthorMunge -> formatAndInsertPostsInFeed
                    last_time = (_parse_time(feed[-1]["post"]["indexedAt"])
                                 if feed else dt.datetime.fromtimestamp(0, UTC))
                    # the PDS compares JavaScript Dates: milliseconds, as indexedAt is written
                    posts = [r for r in local if r.collection == POST
                             and _in_ms(r.indexed_at) > last_time]
                    for record in reversed(posts):
                        view = self._post_view(record, record.indexed_at, local=True)
                        spot = next((i for i, fi in enumerate(feed)
                                     if _parse_time(fi["post"]["indexedAt"])
                                     < _in_ms(record.indexed_at)), None)
                        if spot is None:
                            feed.append({"post": view})
                        else:
                            feed.insert(spot, {"post": view})
                    oldest = min(r.indexed_at for r in local)
                    headers["Atproto-Upstream-Lag"] = str(int((now - oldest).total_seconds()
                                                              * 1000))
        return answer(200, body, **headers)

    @staticmethod
    def _ms(moment: dt.datetime) -> int:
        return int(moment.timestamp() * 1000)

    def _thread(self, index: dict[str, _Indexed], post: _Indexed, depth: int,
                parent_height: int) -> dict:
        def down(node: _Indexed, level: int) -> dict:
            view = {"$type": "app.bsky.feed.defs#threadViewPost",
                    "post": self._post_view(node.record, node.indexed_at,
                                            len(self._replies_of(index, node.record.uri)))}
            if level < depth:
                view["replies"] = [down(r, level + 1)
                                   for r in self._replies_of(index, node.record.uri)]
            return view

        thread = down(post, 0)
        node, holder, height = post, thread, 0
        while node.parent is not None and height < parent_height:
            above = index.get(node.parent)
            if above is None:
                holder["parent"] = {"$type": "app.bsky.feed.defs#notFoundPost",
                                    "uri": node.parent, "notFound": True}
                break
            holder["parent"] = {"$type": "app.bsky.feed.defs#threadViewPost",
                                "post": self._post_view(above.record, above.indexed_at,
                                                        len(self._replies_of(
                                                            index, above.record.uri)))}
            node, holder, height = above, holder["parent"], height + 1
        return thread

    def _get_post_thread(self, request: TwinRequest, via_pds: bool) -> TwinResponse:
        viewer = self._viewer(request) if via_pds else None
        uri = request.arg("uri")
        if not uri:
            raise _invalid('Missing required key "uri" at $')
        depth = int(request.arg("depth") or 6)
        parent_height = int(request.arg("parentHeight") or 80)
        revs: dict[str, str] = {}
        index = self._appview(self.clock.now(), revs)
        rev = revs.get(viewer.did) if viewer is not None else None
        headers = {"atproto-repo-rev": rev} if rev else {}
        local = self._local_since(viewer.did, rev) if (viewer and self.read_after_write) else []
        post = index.get(uri)
        if post is None:
            # readAfterWriteNotFound: the author's own post, not indexed yet
            mine = next((r for r in local if r.uri == uri), None)
            if mine is None:
                raise _Xrpc(400, "NotFound", f"Post not found: {uri}", headers)
            thread = {"$type": "app.bsky.feed.defs#threadViewPost",
                      "post": self._post_view(mine, mine.indexed_at, local=True)}
            return answer(200, {"thread": thread}, **headers)
        thread = self._thread(index, post, depth, parent_height)
        root = post.root or post.record.uri
        for record in local:  # getPostThreadMunge: local replies into their parent
            reply = record.value.get("reply")
            if not isinstance(reply, dict) or reply["root"]["uri"] != root:
                continue
            self._insert_reply(thread, record, reply["parent"]["uri"])
        return answer(200, {"thread": thread}, **headers)

    def _insert_reply(self, view: dict, record: _Record, parent: str) -> None:
        if view["post"]["uri"] == parent:
            view["replies"] = [{"$type": "app.bsky.feed.defs#threadViewPost",
                                "post": self._post_view(record, record.indexed_at, local=True)},
                               *view.get("replies", [])]
            return
        for reply in view.get("replies", []):
            if reply.get("$type") == "app.bsky.feed.defs#threadViewPost":
                self._insert_reply(reply, record, parent)

    def _get_posts(self, request: TwinRequest, via_pds: bool) -> TwinResponse:
        if via_pds:
            self._viewer(request)
        uris = request.args("uris")
        if len(uris) > 25:
            raise _invalid(f"array too big (maximum 25, got {len(uris)}) at $.uris")
        index = self._appview(self.clock.now())
        posts = [self._ref_view(index, uri) for uri in uris if uri in index]
        return answer(200, {"posts": posts})

    def _get_profile(self, request: TwinRequest, via_pds: bool) -> TwinResponse:
        if via_pds:
            self._viewer(request)
        account = self._find(request.arg("actor"))
        if account is None:
            raise _invalid("Profile not found")
        index = self._appview(self.clock.now())
        count = sum(1 for p in index.values() if p.record.did == account.did)
        return answer(200, {**self._author(account.did), "description": "",
                            "followersCount": 0, "followsCount": 0, "postsCount": count,
                            "indexedAt": iso(account.created_at)})
