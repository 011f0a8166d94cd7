"""A stateful twin of one Mastodon instance as the Mastodon adapter reaches it (Mastodon.py over
requests): statuses (create, show, edit, history, source, delete), media upload (v1 and v2),
the account endpoints the adapter reads, and the instance description (v1 and v2).

What it keeps, the way the server does (sources, rule by rule: tests/twins/notes/mastodon.md):

* ``POST /api/v1/statuses``: text, media_ids[], in_reply_to_id, spoiler_text, sensitive,
  visibility, language; the ``Idempotency-Key`` header remembered per account for one hour (a
  repeated key answers the status it created, 404 if that status was deleted since); the length
  rule of ``StatusLengthValidator`` (spoiler text + text, grapheme clusters, every http(s) link
  23, ``@user@domain`` as ``@user``); media must be the account's own and not yet attached.
* ``PUT /api/v1/statuses/:id`` as ``UpdateStatusService``: the controller passes every
  parameter key, present or not, so an absent ``media_ids[]`` removes the attachments, an absent
  ``spoiler_text`` clears the content warning and an absent ``sensitive`` becomes "is there a
  content warning"; an absent ``language`` keeps the status's own (``valid_locale_cascade``);
  ``media_attributes`` change descriptions; an edit that changes nothing changes nothing (no
  ``edited_at``, no history entry); the first real edit also records the original version.
* ``GET /api/v1/statuses/:id/history``; ``DELETE`` answers the deleted status with its source
  ``text`` (and no ``content``), 404 afterwards; the account's statuses newest first.
* Rate limits: the per-token API throttle (300 per 5 min), the "statuses" family (300
  statuses and edits per 3 h), media uploads (30 per 30 min) and deletions (30 per 30 min), each
  answered 429 with ``X-RateLimit-Reset`` (and ``Date``, which Mastodon.py uses for clock skew).
* 401 ``{"error": "The access token is invalid"}`` for an unknown token.

What a citizen sees (``visible()``): the account's public and unlisted statuses, oldest first,
with the account's own replies under their parent; a reply whose parent is gone, or whose parent
belongs to someone else, stands on its own (the profile still lists it).

Knobs (constructor): ``instance`` (base URL), ``max_characters``, ``max_media_attachments``,
``description_limit``, ``version``, ``api_version``, ``default_locale``, ``idempotency_ttl_s``,
``statuses_limit`` / ``token_limit`` / ``media_limit`` / ``delete_limit`` as (count, seconds).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import hashlib
import html
import re
import struct
import threading
from typing import Callable

import regex

from tests.twins.base import (sniff_image_type, Http, SeenMedia, SeenPost, TwinClock, TwinRequest, TwinResponse,
                              answer, iso)

UTC = dt.timezone.utc

#: ``LanguagesHelper::SUPPORTED_LOCALES`` (ISO 639-1, 639-1 regional, 639-3, 639-3 regional)
SUPPORTED_LOCALES = frozenset("""
aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da
de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gu gv ha he hi ho hr ht hu hy hz ia
id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo
lt lu lv mg mh mi mk ml mn mn-Mong mr ms ms-Arab mt my na nb nd ne ng nl nn no nr nv ny oc oj om
or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sn so sq sr ss st su sv sw ta te
tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu ast chr ckb cnr
csb gsw jbo kab ldn lfn lzz moh nds ota pdc sco sma smj szl tok vai xal xmf zba zgh zh-CN zh-HK
zh-TW zh-YUE nan-TW
""".split())

#: ``ActiveModel::Type::Boolean::FALSE_VALUES`` as strings
_FALSE = {"0", "f", "F", "false", "FALSE", "off", "OFF"}
# http(s) links (Mastodon extracts them with twitter-text, extract_url_without_protocol: false)
_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_URL_TRAILING = ".,:;!?'\""
# Account::MENTION_RE
_MENTION = regex.compile(
    r"(?<![=/\w])@(([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@\w+(?:[.-]+\w+)*)?)", regex.IGNORECASE)
_HASHTAG = regex.compile(r"(?<![\w&/])[#＃](\w*[^\W\d_]\w*)")
_GRAPHEME = regex.compile(r"\X")

INVALID_TOKEN = {"error": "The access token is invalid"}
NOT_FOUND = {"error": "Record not found"}
TOO_MANY_REQUESTS = {"error": "Too many requests"}
IN_REPLY_NOT_FOUND = {"error": "The post you are trying to reply to does not appear to exist."}


class _Refusal(Exception):
    """An answer other than 200 (the Rails ``rescue_from`` handlers)."""

    def __init__(self, status: int, payload: dict, headers: dict | None = None):
        super().__init__(payload.get("error"))
        self.status, self.payload, self.headers = status, payload, headers or {}


def _invalid(message: str) -> _Refusal:
    """ActiveRecord::RecordInvalid / Mastodon::ValidationError -> 422 {"error": e.to_s}."""
    return _Refusal(422, {"error": message})


# --- text rules ---------------------------------------------------------------------------------


def _links(text: str) -> list[tuple[int, int]]:
    spans = []
    for hit in _URL.finditer(text):
        end = hit.end()
        while end > hit.start() and text[end - 1] in _URL_TRAILING:
            end -= 1
        if text[end - 1] == ")" and "(" not in text[hit.start():end]:
            end -= 1
        spans.append((hit.start(), end))
    return spans


def countable_length(spoiler_text: str, text: str) -> int:
    """StatusLengthValidator#too_long?: grapheme clusters of the spoiler text joined with the
    text in which each link counts 23 and each ``@user@domain`` counts as ``@user``."""
    parts, last = [], 0
    for start, end in _links(text):
        parts.append(_MENTION.sub(lambda m: "@" + m.group(2), text[last:start]))
        parts.append("x" * 23)
        last = end
    parts.append(_MENTION.sub(lambda m: "@" + m.group(2), text[last:]))
    return len(_GRAPHEME.findall(spoiler_text + "".join(parts)))


def _shortened_link(url: str) -> str:
    """TextFormatter.shortened_link: the scheme (and www.) hidden, 30 characters shown."""
    prefix = re.match(r"https?://(?:www\.)?", url, re.IGNORECASE).group(0)
    shown, rest = url[len(prefix):len(prefix) + 30], url[len(prefix) + 30:]
    cutoff = len(url) - len(prefix) > 30
    if len(rest) == 1:
        shown, rest, cutoff = shown + rest, "", False
    e = html.escape
    return (f'<a href="{e(url)}" target="_blank" rel="nofollow noopener" translate="no">'
            f'<span class="invisible">{e(prefix)}</span>'
            f'<span class="{"ellipsis" if cutoff else ""}">{e(shown)}</span>'
            f'<span class="invisible">{e(rest)}</span></a>')


def render_content(text: str, base: str) -> str:
    """TextFormatter#to_s: HTML-escaped text, links shortened, hashtags linked (mentions of
    accounts the instance does not know stay text), then ``simple_format`` with the newlines
    removed: paragraphs in <p>, single line breaks as <br />."""
    if not text.strip():
        return ""
    entities = [(s, e, "url") for s, e in _links(text)]
    for hit in _HASHTAG.finditer(text):
        if not any(s <= hit.start() < e for s, e, _ in entities):
            entities.append((hit.start(), hit.end(), "tag"))
    entities.sort()
    out, last = [], 0
    for start, end, kind in entities:
        out.append(html.escape(text[last:start]))
        chunk = text[start:end]
        if kind == "url":
            out.append(_shortened_link(chunk))
        else:
            tag = chunk[1:]
            out.append(f'<a href="{html.escape(base)}/tags/{html.escape(tag)}" '
                       f'class="mention hashtag" rel="tag">#<span>{html.escape(tag)}</span></a>')
        last = end
    out.append(html.escape(text[last:]))
    body = "".join(out).replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = [p for p in re.split(r"\n\s*\n", body) if p.strip()]
    return "".join("<p>" + p.replace("\n", "<br />") + "</p>" for p in paragraphs)


def _truthy(value) -> bool:
    """Ruby truthiness: only nil and false are false ("0" is true)."""
    return value is not None and value is not False


def _cast_bool(value) -> bool:
    """ActiveModel boolean casting of a parameter (form strings or JSON booleans)."""
    if isinstance(value, bool):
        return value
    if value is None or value == "":
        return False
    return str(value) not in _FALSE


def _present(value) -> bool:
    return value is not None and str(value).strip() != ""


def _valid_locale_or_nil(value) -> str | None:
    if not _present(value):
        return None
    value = str(value)
    if value in SUPPORTED_LOCALES:
        return value
    code = re.split(r"[_-]", value)[0]
    return code if code in SUPPORTED_LOCALES else None


def valid_locale_cascade(*candidates) -> str | None:
    for candidate in candidates:
        locale = _valid_locale_or_nil(candidate)
        if locale:
            return locale
    return None


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24 and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    return None


_image_type = sniff_image_type  # Paperclip checks the bytes (tests.twins.base)


# --- state --------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Account:
    ref: str
    username: str
    account_id: str
    token: str
    env_var: str
    created_at: dt.datetime
    #: the user's settings: default privacy, sensitive, posting language
    default_privacy: str = "public"
    default_sensitive: bool = False
    posting_language: str | None = None
    revoked: bool = False


@dataclasses.dataclass
class _Media:
    media_id: str
    account_id: str
    digest: str
    mime: str
    size: tuple[int, int] | None
    description: str | None
    focus: str | None
    created_at: dt.datetime
    status_id: str | None = None


@dataclasses.dataclass(frozen=True)
class _Version:
    """A StatusEdit: one version of a status."""

    text: str
    spoiler_text: str
    sensitive: bool
    media_ids: tuple[str, ...]
    media_descriptions: tuple[str | None, ...]
    created_at: dt.datetime
    account_id: str


@dataclasses.dataclass
class _Status:
    status_id: str
    account_id: str
    text: str
    spoiler_text: str
    sensitive: bool
    visibility: str
    language: str | None
    created_at: dt.datetime
    media_ids: list[str]
    in_reply_to_id: str | None = None
    in_reply_to_account_id: str | None = None
    edited_at: dt.datetime | None = None
    deleted: bool = False
    edits: list[_Version] = dataclasses.field(default_factory=list)


class MastodonTwin:
    """One Mastodon instance with any number of local accounts."""

    platform = "mastodon"

    def __init__(self, clock: TwinClock | None = None, *,
                 instance: str = "https://social.example.org",
                 max_characters: int = 500, max_media_attachments: int = 4,
                 description_limit: int = 1500, version: str = "4.5.0", api_version: int = 7,
                 default_locale: str = "en", idempotency_ttl_s: int = 3600,
                 statuses_limit: tuple[int, int] = (300, 3 * 3600),
                 token_limit: tuple[int, int] = (300, 300),
                 media_limit: tuple[int, int] = (30, 1800),
                 delete_limit: tuple[int, int] = (30, 1800)) -> None:
        self.clock = clock or TwinClock()
        self.base = instance.rstrip("/")
        self.domain = self.base.split("://", 1)[1]
        self.max_characters = max_characters
        self.max_media_attachments = max_media_attachments
        self.description_limit = description_limit
        self.version = version
        self.api_version = api_version
        self.default_locale = default_locale
        self.idempotency_ttl_s = idempotency_ttl_s
        self.statuses_limit = statuses_limit
        self.token_limit = token_limit
        self.media_limit = media_limit
        self.delete_limit = delete_limit
        self._lock = threading.RLock()
        self._accounts: dict[str, _Account] = {}
        self._statuses: dict[str, _Status] = {}
        self._media: dict[str, _Media] = {}
        #: (account id, key) -> (status id, expiry)
        self._idempotency: dict[tuple[str, str], tuple[str, dt.datetime]] = {}
        #: (throttle, who, period bucket) -> count
        self._counters: dict[tuple[str, str, int], int] = {}
        self._last_id = 0

    # --- the twin interface -------------------------------------------------------------------

    def install(self, http: Http) -> None:
        base = re.escape(self.base)
        status = base + r"/api/v1/statuses/(?P<id>\d+)"
        routes: list[tuple[str, str, Callable]] = [
            ("POST", base + r"/api/v1/statuses", self._create),
            ("GET", status, self._show),
            ("PUT", status, self._update),
            ("DELETE", status, self._destroy),
            ("GET", status + r"/history", self._history),
            ("GET", status + r"/source", self._source),
            ("POST", base + r"/api/v(?P<v>[12])/media", self._upload),
            ("GET", base + r"/api/v1/media/(?P<id>\d+)", self._media_show),
            ("PUT", base + r"/api/v1/media/(?P<id>\d+)", self._media_update),
            ("GET", base + r"/api/v1/accounts/verify_credentials", self._verify_credentials),
            ("GET", base + r"/api/v1/accounts/(?P<id>\d+)/statuses", self._account_statuses),
            ("GET", base + r"/api/v1/accounts/(?P<id>\d+)", self._account_show),
        ]
        for method, pattern, handler in routes:
            http.route(method, pattern, self._api(handler))
        http.route("GET", base + r"/api/v1/instance/?", self._public(self._instance_v1))
        http.route("GET", base + r"/api/v2/instance/?", self._public(self._instance_v2))

    def add_account(self, ref: str, *, default_privacy: str = "public",
                    posting_language: str | None = None) -> None:
        platform, _, name = ref.partition(":")
        if platform != self.platform or not name:
            raise ValueError(f"{ref!r} is not a mastodon: account reference")
        with self._lock:
            if ref in self._accounts:
                return
            digest = hashlib.sha256(ref.encode()).hexdigest()
            # local usernames are letters, digits and underscores (Account::USERNAME_ONLY_RE
            # allows dots and dashes for remote accounts only)
            username = re.sub(r"[^A-Za-z0-9_]", "_", name)[:30]
            created = self.clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
            self._accounts[ref] = _Account(
                ref, username, self._snowflake(), f"twin-{digest[:40]}",
                "TWIN_MASTODON_" + re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_TOKEN",
                created, default_privacy=default_privacy, posting_language=posting_language)

    def account_entry(self, ref: str, department: str) -> dict:
        self.add_account(ref)
        account = self._accounts[ref]
        return {"department": department, "handle": f"@{account.username}@{self.domain}",
                "credentials": {"access_token": {"env": account.env_var}},
                "options": {"instance": self.base, "text_limit": self.max_characters}}

    def env(self) -> dict[str, str]:
        with self._lock:
            return {a.env_var: a.token for a in self._accounts.values()}

    def visible(self, account: str | None = None) -> list[SeenPost]:
        """What an anonymous reader sees on the account's profile (public and unlisted
        statuses), oldest first, the account's replies under their parent."""
        with self._lock:
            owners = {a.account_id for a in self._accounts.values()
                      if account is None or a.ref == account}
            shown = [s for s in self._statuses.values() if s.account_id in owners
                     and not s.deleted and s.visibility in ("public", "unlisted")]
            ids = {s.status_id for s in shown}

            def under(parent: _Status | None) -> list[_Status]:
                if parent is None:
                    return [s for s in shown if not (
                        s.in_reply_to_id in ids
                        and self._statuses[s.in_reply_to_id].account_id == s.account_id)]
                return [s for s in shown if s.in_reply_to_id == parent.status_id
                        and s.account_id == parent.account_id]

            def seen(status: _Status) -> SeenPost:
                return SeenPost(
                    status.status_id, status.text,
                    tuple(SeenMedia(self._media[m].description or "", self._media[m].digest)
                          for m in status.media_ids),
                    status.spoiler_text, status.sensitive, status.language,
                    status.edited_at is not None,
                    tuple(seen(r) for r in sorted(under(status), key=_created)),
                    self._url(status))

            return [seen(s) for s in sorted(under(None), key=_created)]

    # --- introspection and what people do by hand ---------------------------------------------

    def history(self, post_id: str) -> list[dict]:
        """The versions GET /api/v1/statuses/:id/history lists, oldest first."""
        with self._lock:
            status = self._statuses[post_id]
            return [{"text": v.text, "spoiler_text": v.spoiler_text, "sensitive": v.sensitive,
                     "media": [(m, d) for m, d in zip(v.media_ids, v.media_descriptions)],
                     "created_at": v.created_at} for v in self._versions(status)]

    def edit_by_hand(self, post_id: str, **changes) -> None:
        """Edit a status as a person does in Mastodon's web interface: the compose form opens
        with the status's text, content warning, sensitive flag, attachments (with their
        descriptions) and language, the person changes some (``text``, ``spoiler_text``,
        ``sensitive``, ``language``, ``media_ids``, ``descriptions={media_id: alt}``) and the
        form sends everything (JSON) to PUT /api/v1/statuses/:id."""
        unknown = set(changes) - {"text", "spoiler_text", "sensitive", "language", "media_ids",
                                  "descriptions"}
        if unknown:
            raise TypeError(f"edit_by_hand: unknown field(s) {sorted(unknown)}")
        with self._lock:
            status = self._statuses[post_id]
            account = self._account_by_id(status.account_id)
            media_ids = list(changes.get("media_ids", status.media_ids))
            descriptions = {m: self._media[m].description for m in media_ids if m in self._media}
            descriptions.update(changes.get("descriptions") or {})
            options = {
                "text": changes.get("text", status.text),
                "spoiler_text": changes.get("spoiler_text", status.spoiler_text),
                "sensitive": bool(changes.get("sensitive", status.sensitive)),
                "language": changes.get("language", status.language),
                "media_ids": media_ids,
                "media_attributes": [{"id": m, "description": descriptions.get(m)}
                                     for m in media_ids],
                "poll": None,
            }
            try:
                self._apply_update(account, status, options)
            except _Refusal as refusal:
                raise ValueError(f"the server refused the edit: {refusal.status} "
                                 f"{refusal.payload}") from None

    def revoke(self, ref: str) -> None:
        """Revoke the account's token (Preferences > Account > Authorized apps)."""
        with self._lock:
            self._accounts[ref].revoked = True

    # --- plumbing -------------------------------------------------------------------------------

    def _api(self, handler):
        """Authenticated API endpoints: Doorkeeper's 401, rack-attack's per-token throttle (and
        the media/delete throttles), then the controller; every answer carries the rate-limit
        headers of the most limited throttle and a Date."""

        def serve(request: TwinRequest) -> TwinResponse:
            with self._lock:
                now = self.clock.now()
                account = self._authenticate(request)
                if account is None:
                    return answer(401, INVALID_TOKEN, Date=_http_date(now))
                throttles = [("token", account.token, *self.token_limit)]
                if request.method == "POST" and re.search(r"/api/v\d+/media$", request.path):
                    throttles.append(("media", account.account_id, *self.media_limit))
                if request.method == "DELETE":
                    throttles.append(("delete", account.account_id, *self.delete_limit))
                data = [self._count(name, who, limit, period, now)
                        for name, who, limit, period in throttles]
                tightest = min(data, key=lambda d: d[1] - d[0])
                headers = _rate_headers(*tightest, now)
                headers["Date"] = _http_date(now)
                over = next((d for d in data if d[0] > d[1]), None)
                if over is not None:  # Rack::Attack.throttled_responder
                    return answer(429, TOO_MANY_REQUESTS, **{**_rate_headers(
                        over[1], over[1], over[2], now), "Date": _http_date(now)})
                try:
                    status, payload, extra = handler(request, account)
                except _Refusal as refusal:
                    status, payload, extra = refusal.status, refusal.payload, refusal.headers
                family = extra.pop("_family", None)
                if family is not None:  # override_rate_limit_headers (statuses family)
                    if int(family["X-RateLimit-Remaining"]) <= int(
                            headers["X-RateLimit-Remaining"]):
                        headers.update(family)
                return answer(status, payload, **{**headers, **extra})

        return serve

    def _public(self, handler):
        def serve(request: TwinRequest) -> TwinResponse:
            with self._lock:
                return answer(200, handler(), Date=_http_date(self.clock.now()))

        return serve

    def _authenticate(self, request: TwinRequest) -> _Account | None:
        header = request.header("authorization") or ""
        token = header[7:] if header.startswith("Bearer ") else None
        return next((a for a in self._accounts.values()
                     if token and a.token == token and not a.revoked), None)

    def _count(self, name: str, who: str, limit: int, period: int, now: dt.datetime):
        bucket = int(now.timestamp()) // period
        key = (name, who, bucket)
        self._counters[key] = self._counters.get(key, 0) + 1
        return self._counters[key], limit, period

    def _statuses_family(self, account: _Account, now: dt.datetime, record: bool) -> dict:
        """RateLimiter (family :statuses): records one status or edit; 429 past the limit."""
        limit, period = self.statuses_limit
        key = ("statuses", account.account_id, int(now.timestamp()) // period)
        count = self._counters.get(key, 0)
        if record:
            if count >= limit:
                raise _Refusal(429, TOO_MANY_REQUESTS,
                               {"_family": _rate_headers(limit, limit, period, now)})
            self._counters[key] = count + 1
        return _rate_headers(self._counters.get(key, 0), limit, period, now)

    def _snowflake(self) -> str:
        """Mastodon::Snowflake: milliseconds << 16 plus a sequence, strictly increasing."""
        candidate = int(self.clock.now().timestamp() * 1000) << 16
        self._last_id = max(candidate, self._last_id + 1)
        return str(self._last_id)

    def _account_by_id(self, account_id: str) -> _Account:
        return next(a for a in self._accounts.values() if a.account_id == account_id)

    def _url(self, status: _Status) -> str:
        return f"{self.base}/@{self._account_by_id(status.account_id).username}/{status.status_id}"

    def _params(self, request: TwinRequest) -> dict:
        """Rails params: a JSON body, or form fields (``name[]`` repeated -> a list)."""
        kind = (request.header("content-type") or "").lower()
        if kind.startswith("application/json"):
            body = request.json()
            return body if isinstance(body, dict) else {}
        params: dict = {}
        for source in (request.query, request.form()):
            for name, values in source.items():
                if name.endswith("[]"):
                    params.setdefault(name[:-2], []).extend(values)
                else:
                    params[name] = values[-1]
        return params

    def _find(self, status_id: str, viewer: _Account | None) -> _Status:
        """Status.find + StatusPolicy#show? (404 either way)."""
        status = self._statuses.get(status_id)
        if status is None or status.deleted:
            raise _Refusal(404, NOT_FOUND)
        if status.visibility in ("private", "direct") and (
                viewer is None or viewer.account_id != status.account_id):
            raise _Refusal(404, NOT_FOUND)
        return status

    def _own(self, status_id: str, account: _Account) -> _Status:
        """Status.where(account: current_account).find(params[:id])."""
        status = self._statuses.get(status_id)
        if status is None or status.deleted or status.account_id != account.account_id:
            raise _Refusal(404, NOT_FOUND)
        return status

    def _versions(self, status: _Status) -> list[_Version]:
        return status.edits or [self._snapshot(status, status.edited_at or status.created_at)]

    def _snapshot(self, status: _Status, at: dt.datetime, account_id: str | None = None):
        return _Version(status.text, status.spoiler_text, status.sensitive,
                        tuple(status.media_ids),
                        tuple(self._media[m].description for m in status.media_ids), at,
                        account_id or status.account_id)

    def _validate(self, text: str, spoiler_text: str, media_ids: list[str]) -> None:
        """Status validations: text presence unless media, then StatusLengthValidator."""
        if not text.strip() and not media_ids:
            raise _invalid("Validation failed: Text can't be blank")
        if countable_length(spoiler_text, text) > self.max_characters:
            raise _invalid("Validation failed: Text character limit of "
                           f"{self.max_characters} exceeded")

    def _media_for(self, account: _Account, ids, status: _Status | None) -> list[str]:
        """validate_media! of PostStatusService / UpdateStatusService: at most 4, the
        account's own, not attached (or attached to this very status, on edit)."""
        if not ids or not isinstance(ids, list):
            return []
        ids = [str(i) for i in ids]
        if len(ids) > self.max_media_attachments:
            raise _invalid(f"Cannot attach more than {self.max_media_attachments} files")
        allowed = {None} if status is None else {None, status.status_id}
        found = [m for m in ids[:self.max_media_attachments] if m in self._media
                 and self._media[m].account_id == account.account_id
                 and self._media[m].status_id in allowed]
        missing = [m for m in ids if m not in found]
        if missing:
            raise _invalid(f"Media {', '.join(missing)} not found or already attached to "
                           "another post")
        return list(dict.fromkeys(found))

    # --- statuses -------------------------------------------------------------------------------

    def _create(self, request: TwinRequest, account: _Account):
        params = self._params(request)
        now = self.clock.now()
        thread = None
        if _present(params.get("in_reply_to_id")):  # before_action :set_thread
            try:
                thread = self._find(str(params["in_reply_to_id"]), account)
            except _Refusal:
                raise _Refusal(404, IN_REPLY_NOT_FOUND) from None
        key = request.header("idempotency-key")
        if key:  # PostStatusService#with_idempotency
            remembered = self._idempotency.get((account.account_id, key))
            if remembered is not None and remembered[1] > now:
                status = self._statuses[remembered[0]]
                if status.deleted:
                    raise _Refusal(404, NOT_FOUND)
                return 200, self._status_json(status, account), {}
        media_ids = self._media_for(account, params.get("media_ids"), None)
        spoiler = params.get("spoiler_text")
        text = params.get("status") or ""
        # (sensitive.nil? ? the user's default : sensitive) || spoiler_text.present?
        chosen = params.get("sensitive")
        chosen = account.default_sensitive if chosen is None else chosen
        sensitive = _cast_bool(chosen if _truthy(chosen) else _present(spoiler))
        if not text.strip() and _present(spoiler):
            text, spoiler = spoiler, None  # the spoiler text becomes the text
        visibility = params.get("visibility") or account.default_privacy
        if visibility not in ("public", "unlisted", "private", "direct"):
            raise _invalid(f"'{visibility}' is not a valid visibility")
        spoiler = spoiler or ""
        self._validate(text, spoiler, media_ids)
        family = self._statuses_family(account, now, record=True)
        status = _Status(
            self._snowflake(), account.account_id, text.strip(), spoiler.strip(), sensitive,
            visibility, valid_locale_cascade(params.get("language"), account.posting_language,
                                             self.default_locale),
            now, media_ids, thread.status_id if thread else None,
            thread.account_id if thread else None)
        for media_id in media_ids:
            self._media[media_id].status_id = status.status_id
        self._statuses[status.status_id] = status
        if key:
            self._idempotency[(account.account_id, key)] = (
                status.status_id, now + dt.timedelta(seconds=self.idempotency_ttl_s))
        return 200, self._status_json(status, account), {"_family": family}

    def _show(self, request: TwinRequest, account: _Account):
        return 200, self._status_json(self._find(request.match["id"], account), account), {}

    def _update(self, request: TwinRequest, account: _Account):
        status = self._own(request.match["id"], account)
        params = self._params(request)
        # Api::V1::StatusesController#update passes every key, whether the request had it or not
        options = {"text": params.get("status"), "media_ids": params.get("media_ids"),
                   "media_attributes": params.get("media_attributes"),
                   "sensitive": params.get("sensitive"), "language": params.get("language"),
                   "spoiler_text": params.get("spoiler_text"), "poll": params.get("poll")}
        family = self._apply_update(account, status, options)
        return 200, self._status_json(status, account), {"_family": family}

    def _apply_update(self, account: _Account, status: _Status, options: dict) -> dict:
        """UpdateStatusService#call, in one transaction: nothing changes unless it all works."""
        now = self.clock.now()
        previous_media = list(status.media_ids)
        next_media = self._media_for(account, options.get("media_ids"), status)
        descriptions = {m: self._media[m].description for m in next_media}
        media_changed = False
        for attributes in options.get("media_attributes") or []:
            media_id = str(attributes.get("id"))
            if media_id in descriptions and "description" in attributes and \
                    attributes["description"] != descriptions[media_id]:
                descriptions[media_id] = attributes["description"]
                media_changed = True  # MediaAttachment#significantly_changed?
        media_changed = media_changed or previous_media != next_media
        for media_id, description in descriptions.items():
            if description is not None and len(description) > self.description_limit:
                raise _invalid("Validation failed: Description is too long (maximum is "
                               f"{self.description_limit} characters)")
        spoiler_given = "spoiler_text" in options
        text = status.text
        if "text" in options:  # update_immediate_attributes!
            text = options["text"] if _present(options["text"]) else ""
            if not text.strip():
                text = options.pop("spoiler_text", None) or ""
                spoiler_given = "spoiler_text" in options
        spoiler = (options.get("spoiler_text") or "") if spoiler_given else status.spoiler_text
        sensitive = status.sensitive
        if "sensitive" in options or spoiler_given:
            value = options.get("sensitive")
            sensitive = _cast_bool(value) if _truthy(value) else _present(
                options.get("spoiler_text"))
        language = valid_locale_cascade(options.get("language"), status.language,
                                        account.posting_language, self.default_locale)
        changed = (text != status.text or spoiler != status.spoiler_text
                   or sensitive != status.sensitive or language != status.language
                   or media_changed)
        if not changed:  # NoChangesSubmittedError: rolled back, the status reloaded
            return self._statuses_family(account, now, record=False)
        self._validate(text, spoiler, next_media)
        first_edit = not status.edits
        if first_edit:  # create_previous_edit! (not rate limited)
            original = self._snapshot(status, status.created_at)
        family = self._statuses_family(account, now, record=True)  # create_edit! is
        if first_edit:
            status.edits.append(original)
        for media_id in next_media:
            self._media[media_id].status_id = status.status_id
            self._media[media_id].description = descriptions[media_id]
        status.media_ids = next_media
        status.text, status.spoiler_text = text.strip(), spoiler.strip()
        status.sensitive, status.language = sensitive, language
        status.edited_at = now
        status.edits.append(self._snapshot(status, now, account.account_id))
        return family

    def _destroy(self, request: TwinRequest, account: _Account):
        status = self._own(request.match["id"], account)
        payload = self._status_json(status, account, source=True)
        status.deleted = True
        keep_media = not _cast_bool(self._params(request).get("delete_media"))
        for media_id in status.media_ids:
            if keep_media:  # RemovalWorker redraft: the media can be attached again
                self._media[media_id].status_id = None
            else:
                self._media.pop(media_id, None)
        return 200, payload, {}

    def _history(self, request: TwinRequest, account: _Account):
        status = self._find(request.match["id"], account)
        owner = self._account_json(self._account_by_id(status.account_id))
        return 200, [{
            "content": render_content(v.text, self.base), "spoiler_text": v.spoiler_text,
            "sensitive": v.sensitive, "created_at": iso(v.created_at), "account": owner,
            "media_attachments": [self._media_json(self._media[m], d)
                                  for m, d in zip(v.media_ids, v.media_descriptions)
                                  if m in self._media],
            "emojis": []} for v in self._versions(status)], {}

    def _source(self, request: TwinRequest, account: _Account):
        status = self._find(request.match["id"], account)
        return 200, {"id": status.status_id, "text": status.text,
                     "spoiler_text": status.spoiler_text}, {}

    # --- media ----------------------------------------------------------------------------------

    def _upload(self, request: TwinRequest, account: _Account):
        files = request.files()
        if "file" not in files:
            raise _invalid("Validation failed: File can't be blank")
        _name, data = files["file"]
        mime = _image_type(data)
        if mime is None:  # only images are modelled
            raise _invalid("Validation failed: File content type is invalid, File is invalid")
        params = self._params(request)
        description = params.get("description")
        if description is not None and len(description) > self.description_limit:
            raise _invalid("Validation failed: Description is too long (maximum is "
                           f"{self.description_limit} characters)")
        media = _Media(self._snowflake(), account.account_id,
                       "sha256:" + hashlib.sha256(data).hexdigest()[:16], mime, _png_size(data),
                       description, params.get("focus"), self.clock.now())
        self._media[media.media_id] = media
        # images are processed synchronously: 200 with a URL on v2 as on v1
        return 200, self._media_json(media), {}

    def _unattached(self, request: TwinRequest, account: _Account) -> _Media:
        media = self._media.get(request.match["id"])
        if media is None or media.account_id != account.account_id or media.status_id:
            raise _Refusal(404, NOT_FOUND)
        return media

    def _media_show(self, request: TwinRequest, account: _Account):
        return 200, self._media_json(self._unattached(request, account)), {}

    def _media_update(self, request: TwinRequest, account: _Account):
        media = self._unattached(request, account)
        params = self._params(request)
        if "description" in params:
            media.description = params["description"]
        if "focus" in params:
            media.focus = params["focus"]
        return 200, self._media_json(media), {}

    # --- accounts and instance ------------------------------------------------------------------

    def _verify_credentials(self, request: TwinRequest, account: _Account):
        return 200, {**self._account_json(account), "source": {
            "privacy": account.default_privacy, "sensitive": account.default_sensitive,
            "language": account.posting_language, "note": "", "fields": []}}, {}

    def _account_show(self, request: TwinRequest, account: _Account):
        owner = next((a for a in self._accounts.values()
                      if a.account_id == request.match["id"]), None)
        if owner is None:
            raise _Refusal(404, NOT_FOUND)
        return 200, self._account_json(owner), {}

    def _account_statuses(self, request: TwinRequest, account: _Account):
        """AccountStatusesFilter + pagination by id, newest first; limit 20 by default, 40 at
        most; the author sees every visibility, anyone else public and unlisted."""
        owner = next((a for a in self._accounts.values()
                      if a.account_id == request.match["id"]), None)
        if owner is None:
            raise _Refusal(404, NOT_FOUND)
        query = {name: values[-1] for name, values in request.query.items()}
        author = owner.account_id == account.account_id
        allowed = ({"public", "unlisted", "private", "direct"} if author
                   else {"public", "unlisted"})
        if _cast_bool(query.get("exclude_direct")):
            allowed.discard("direct")
        found = [s for s in self._statuses.values()
                 if s.account_id == owner.account_id and not s.deleted
                 and s.visibility in allowed]
        if _cast_bool(query.get("exclude_replies")):
            found = [s for s in found if s.in_reply_to_id is None
                     or s.in_reply_to_account_id == s.account_id]
        if _cast_bool(query.get("only_media")):
            found = [s for s in found if s.media_ids]
        if _cast_bool(query.get("pinned")):
            found = []  # nothing is pinned on the twin
        # (exclude_reblogs: the twin's accounts never boost)
        for name, keep in (("max_id", lambda s, v: int(s.status_id) < v),
                           ("since_id", lambda s, v: int(s.status_id) > v),
                           ("min_id", lambda s, v: int(s.status_id) > v)):
            if query.get(name):
                found = [s for s in found if keep(s, int(query[name]))]
        limit = 20 if not query.get("limit") else min(abs(int(query["limit"])), 40)
        found.sort(key=lambda s: int(s.status_id), reverse=True)
        if query.get("min_id"):  # the page just after min_id, still given newest first
            found = sorted(found, key=lambda s: int(s.status_id))[:limit][::-1]
        return 200, [self._status_json(s, account) for s in found[:limit]], {}

    def _configuration(self) -> dict:
        return {
            "statuses": {"max_characters": self.max_characters,
                         "max_media_attachments": self.max_media_attachments,
                         "characters_reserved_per_url": 23},
            "media_attachments": {
                "description_limit": self.description_limit,
                "supported_mime_types": ["image/jpeg", "image/png", "image/gif", "image/webp"],
                "image_size_limit": 16 * 1024 * 1024, "image_matrix_limit": 33177600},
            "polls": {"max_options": 4, "max_characters_per_option": 50,
                      "min_expiration": 300, "max_expiration": 2629746},
            "accounts": {"max_featured_tags": 10},
        }

    def _instance_v1(self) -> dict:
        return {"uri": self.domain, "title": "Twin", "short_description": "",
                "description": "", "email": f"admin@{self.domain}", "version": self.version,
                "urls": {"streaming_api": f"wss://{self.domain}"},
                "stats": {"user_count": len(self._accounts),
                          "status_count": len(self._statuses), "domain_count": 1},
                "thumbnail": None, "languages": [self.default_locale],
                "registrations": False, "approval_required": False, "invites_enabled": False,
                "configuration": self._configuration(), "contact_account": None, "rules": []}

    def _instance_v2(self) -> dict:
        return {"domain": self.domain, "title": "Twin", "version": self.version,
                "source_url": "https://github.com/mastodon/mastodon", "description": "",
                "usage": {"users": {"active_month": len(self._accounts)}},
                "thumbnail": {"url": f"{self.base}/packs/media/images/preview.png"},
                "icon": [], "languages": [self.default_locale],
                "configuration": {**self._configuration(),
                                  "urls": {"streaming": f"wss://{self.domain}"},
                                  "translation": {"enabled": False}},
                "registrations": {"enabled": False, "approval_required": False,
                                  "message": None},
                "api_versions": {"mastodon": self.api_version},
                "contact": {"email": f"admin@{self.domain}", "account": None}, "rules": []}

    # --- entities -------------------------------------------------------------------------------

    def _account_json(self, account: _Account) -> dict:
        url = f"{self.base}/@{account.username}"
        return {"id": account.account_id, "username": account.username,
                "acct": account.username, "display_name": account.username, "locked": False,
                "bot": False, "discoverable": True, "group": False,
                "created_at": iso(account.created_at), "note": "", "url": url,
                "uri": f"{self.base}/users/{account.username}", "avatar": "",
                "avatar_static": "", "header": "", "header_static": "",
                "followers_count": 0, "following_count": 0,
                "statuses_count": sum(1 for s in self._statuses.values()
                                      if s.account_id == account.account_id and not s.deleted),
                "last_status_at": None, "emojis": [], "fields": []}

    def _media_json(self, media: _Media, description: str | None = ...) -> dict:
        path = f"{self.base}/system/media_attachments/files/{media.media_id}"
        width, height = media.size or (0, 0)
        meta = {"original": {"width": width, "height": height, "size": f"{width}x{height}",
                             "aspect": width / height if height else 0}} if media.size else {}
        return {"id": media.media_id, "type": "image", "url": f"{path}/original.png",
                "preview_url": f"{path}/small.png", "remote_url": None,
                "preview_remote_url": None, "text_url": None, "meta": meta,
                "description": media.description if description is ... else description,
                "blurhash": "UFBWY:8_0Jxv4mx]t8t64.%M-:IUWGWAt6M}"}

    def _status_json(self, status: _Status, viewer: _Account | None, *,
                     source: bool = False) -> dict:
        owner = self._account_by_id(status.account_id)
        body = {
            "id": status.status_id, "created_at": iso(status.created_at),
            "in_reply_to_id": status.in_reply_to_id,
            "in_reply_to_account_id": status.in_reply_to_account_id,
            "sensitive": status.sensitive, "spoiler_text": status.spoiler_text,
            "visibility": status.visibility, "language": status.language,
            "uri": f"{self.base}/users/{owner.username}/statuses/{status.status_id}",
            "url": self._url(status),
            "replies_count": sum(1 for s in self._statuses.values()
                                 if s.in_reply_to_id == status.status_id and not s.deleted),
            "reblogs_count": 0, "favourites_count": 0, "quotes_count": 0,
            "edited_at": iso(status.edited_at) if status.edited_at else None,
            "favourited": False, "reblogged": False, "muted": False, "bookmarked": False,
            "pinned": False, "filtered": [],
            "reblog": None, "application": {"name": "pregonero", "website": None},
            "account": self._account_json(owner),
            "media_attachments": [self._media_json(self._media[m]) for m in status.media_ids
                                  if m in self._media],
            "mentions": [], "tags": [{"name": t.lower(), "url": f"{self.base}/tags/{t.lower()}"}
                                     for t in _HASHTAG.findall(status.text)],
            "emojis": [], "card": None, "poll": None, "quote": None,
        }
        if source:  # source_requested: text instead of content
            body["text"] = status.text
        else:
            body["content"] = render_content(status.text, self.base)
        return body


def _created(status: _Status):
    return (status.created_at, int(status.status_id))


def _http_date(moment: dt.datetime) -> str:
    return email.utils.format_datetime(moment.astimezone(UTC), usegmt=True)


def _rate_headers(count: int, limit: int, period: int, now: dt.datetime) -> dict:
    """X-RateLimit-* as Api::RateLimitHeaders / RateLimiter#to_headers write them: the reset is
    the end of the current period, ISO 8601 with microseconds."""
    seconds = int(now.timestamp())
    reset = now + dt.timedelta(seconds=period - seconds % period)
    return {"X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - count)),
            "X-RateLimit-Reset": reset.astimezone(UTC).isoformat(
                timespec="microseconds").replace("+00:00", "Z")}
