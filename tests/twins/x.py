"""A stateful twin of X's API as the X adapter reaches it (tweepy over requests): API v2 posts,
users and timelines on api.twitter.com / api.x.com, media upload on v1.1
(upload.twitter.com) and on v2 (/2/media/upload, /2/media/metadata).

What it keeps, the way X does (sources in tests/twins/notes/x.md):

* posts as edit chains: an edit (``POST /2/tweets`` with ``edit_options.previous_post_id``)
  is a new post id; the citizen sees the latest version, marked edited; the old id still
  answers ``GET /2/tweets/:id`` with its own version and the whole ``edit_history_tweet_ids``;
  timelines list each chain once, at its latest version; deleting any version deletes the
  chain;
* ``edit_controls``: eligibility is fixed at creation (X Premium, not a reply to someone else),
  the window counts from the original post, 5 edits at most;
* the request is the whole new version: an edit that omits ``media`` has no media;
* 403 duplicate content, reply restrictions, 401 on a bad OAuth 1.0a signature, 429 with
  ``x-rate-limit-reset`` past the per-user limits;
* read answers show text the way X gives it back: ``&`` as ``&amp;``, links as t.co, and a
  trailing t.co link for attached media;
* what every request would cost under pay-per-use (``billed()``, ``cost()``).

Knobs (constructor): ``edit_window_s``, ``max_edits``, ``v1_media`` (False: X has retired the
v1.1 media upload, as announced for 2025), ``edit_keeps_media``, ``edit_refusal`` (status,
detail) of a refused edit, ``duplicate_window_s``, ``post_limits`` / ``delete_limits``
(count, window seconds), ``delete_gone`` ("not_found" or "deleted_false").
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import datetime as dt
import hashlib
import html
import re
import struct
import threading
from urllib.parse import urlsplit

from tests.twins.base import (png_bytes, Http, SeenMedia, SeenPost, TwinClock, TwinRequest, TwinResponse,
                              answer, iso)

UTC = dt.timezone.utc
API = r"https://api\.(?:twitter|x)\.com"
UPLOAD_V1 = r"https://upload\.(?:twitter|x)\.com/1\.1"
PROBLEMS = "https://api.x.com/2/problems"
#: Twitter's snowflake epoch (ms)
_EPOCH_MS = 1288834974657
_URL = re.compile(r"(?:https?://|www\.)[^\s]+", re.IGNORECASE)
_CREDENTIALS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
_CREATE_KEYS = {"card_uri", "community_id", "direct_message_deep_link", "edit_options",
                "for_super_followers_only", "geo", "made_with_ai", "media", "nullcast",
                "paid_partnership", "poll", "quote_tweet_id", "reply", "reply_settings",
                "share_with_followers", "text"}

#: pay-per-use unit prices in US dollars (docs.x.com/x-api/getting-started/pricing)
PRICES = {
    "post_create": 0.015, "post_create_url": 0.200, "content_manage": 0.005,
    "media_metadata": 0.005, "media_upload": 0.0, "posts_read": 0.005, "user_read": 0.010,
    "owned_reads": 0.001,
}


def problem(status: int, title: str, detail: str, kind: str = "about:blank", **extra) -> dict:
    """An API v2 problem body (RFC 7807, as X sends it)."""
    return {"title": title, "detail": detail, "type": kind, "status": status, **extra}


def invalid(message: str, **parameters) -> dict:
    return {"errors": [{"parameters": parameters, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": f"{PROBLEMS}/invalid-request"}


DUPLICATE = problem(403, "Forbidden",
                    "You are not allowed to create a Tweet with duplicate content.")
REPLY_GONE = problem(403, "Forbidden",
                     "You attempted to reply to a Tweet that is deleted or not visible to you.")
REPLY_NOT_SUMMONED = problem(403, "Forbidden", "You can only reply to or quote posts where you "
                             "are mentioned or are the author.",
                             f"{PROBLEMS}/not-authorized-for-resource")
UNAUTHORIZED = problem(401, "Unauthorized", "Unauthorized")
TOO_MANY = problem(429, "Too Many Requests", "Too Many Requests")
V1_UNAUTHORIZED = {"errors": [{"code": 32, "message": "Could not authenticate you."}]}
V1_RETIRED = {"errors": [{"message": "You currently have access to a subset of X API V2 "
                          "endpoints and limited v1.1 endpoints (e.g. media post, oauth) only. "
                          "If you need access to this endpoint, you may need a different access "
                          "level. You can learn more here: https://developer.x.com/en/portal/"
                          "product", "code": 453}]}


# --- state ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Account:
    ref: str
    username: str
    user_id: str
    credentials: dict[str, str]
    env_prefix: str
    premium: bool = True
    revoked: bool = False


@dataclasses.dataclass
class _Media:
    media_id: str
    account: str
    source: str
    size: int
    uploaded_at: dt.datetime
    width: int = 0
    height: int = 0
    image_type: str = "image/png"
    alt: str = ""


@dataclasses.dataclass
class _Version:
    post_id: str
    text: str
    media_ids: tuple[str, ...]
    created_at: dt.datetime


@dataclasses.dataclass
class _Chain:
    """A post and its edits: versions oldest first; the last one is what citizens see."""

    account: str
    versions: list[_Version]
    reply_to: str | None  # the post id the first version answered
    edit_eligible: bool
    deleted: bool = False

    @property
    def latest(self) -> _Version:
        return self.versions[-1]

    @property
    def created_at(self) -> dt.datetime:
        return self.versions[0].created_at

    @property
    def ids(self) -> list[str]:
        return [v.post_id for v in self.versions]


class XTwin:
    platform = "x"

    def __init__(self, clock: TwinClock | None = None, *, edit_window_s: int = 30 * 60,
                 max_edits: int = 5, v1_media: bool = False, edit_keeps_media: bool = False,
                 edit_refusal: tuple[int, str] = (403, "Forbidden"),
                 duplicate_window_s: float | None = 24 * 3600,
                 post_limits: tuple[tuple[int, int], ...] = ((200, 15 * 60), (300, 3 * 3600)),
                 delete_limits: tuple[tuple[int, int], ...] = ((50, 15 * 60),),
                 delete_gone: str = "not_found") -> None:
        self.clock = clock or TwinClock()
        self.edit_window_s = edit_window_s
        self.max_edits = max_edits
        self.v1_media = v1_media
        self.edit_keeps_media = edit_keeps_media
        self.edit_refusal = edit_refusal
        self.duplicate_window_s = duplicate_window_s
        self.post_limits = post_limits
        self.delete_limits = delete_limits
        if delete_gone not in ("not_found", "deleted_false"):
            raise ValueError("delete_gone is 'not_found' or 'deleted_false'")
        self.delete_gone = delete_gone
        self._lock = threading.RLock()
        self._accounts: dict[str, _Account] = {}
        self._chains: dict[str, _Chain] = {}  # any version id -> its chain
        self._media: dict[str, _Media] = {}
        self._seq = 0
        self._last_id = 0
        #: (account ref, limit name) -> timestamps of accepted requests
        self._hits: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
        self._billed: collections.Counter = collections.Counter()
        self._billed_resources: set[tuple[str, str, str, str]] = set()
        #: every request the twin answered: (kind, status)
        self.requests: list[tuple[str, int]] = []

    # --- the interface every twin provides -------------------------------------------------

    def install(self, http: Http) -> None:
        http.route("POST", API + r"/2/tweets", self._guard("create", self._create))
        http.route("DELETE", API + r"/2/tweets/(?P<id>\d+)", self._guard("delete", self._delete))
        http.route("GET", API + r"/2/tweets/(?P<id>\d+)", self._guard("get_tweet", self._get_tweet))
        http.route("GET", API + r"/2/users/me", self._guard("get_me", self._get_me))
        http.route("GET", API + r"/2/users/(?P<id>\d+)/tweets",
                   self._guard("user_tweets", self._user_tweets))
        http.route("POST", UPLOAD_V1 + r"/media/upload\.json",
                   self._guard("v1_upload", self._v1_upload, v1=True))
        http.route("POST", UPLOAD_V1 + r"/media/metadata/create\.json",
                   self._guard("v1_metadata", self._v1_metadata, v1=True))
        http.route("POST", API + r"/2/media/upload", self._guard("v2_upload", self._v2_upload))
        http.route("POST", API + r"/2/media/metadata(?:/create)?",
                   self._guard("v2_metadata", self._v2_metadata))

    def add_account(self, ref: str, *, premium: bool = True) -> None:
        platform, _, name = ref.partition(":")
        if platform != self.platform or not name:
            raise ValueError(f"{ref!r} is not an x: account reference")
        with self._lock:
            if ref in self._accounts:
                return
            # X usernames are letters, digits and underscores
            username = re.sub(r"[^A-Za-z0-9_]", "_", name)[:15]
            digest = hashlib.sha256(ref.encode()).hexdigest()
            user_id = str(int(digest[:15], 16) % 10**18 + 10**17)
            prefix = "TWIN_X_" + re.sub(r"[^A-Z0-9]", "_", name.upper())
            creds = {c: f"{c[:6]}-{digest[:20]}-{i}" for i, c in enumerate(_CREDENTIALS)}
            self._accounts[ref] = _Account(ref, username, user_id, creds, prefix, premium)

    def account_entry(self, ref: str, department: str) -> dict:
        self.add_account(ref)
        account = self._accounts[ref]
        return {"department": department, "handle": account.username,
                "credentials": {c: {"env": f"{account.env_prefix}_{c.upper()}"}
                                for c in _CREDENTIALS}}

    def env(self) -> dict[str, str]:
        with self._lock:
            return {f"{a.env_prefix}_{c.upper()}": a.credentials[c]
                    for a in self._accounts.values() for c in _CREDENTIALS}

    def visible(self, account: str | None = None) -> list[SeenPost]:
        """The account's posts (latest versions), oldest first, each with the account's
        replies under it. A reply whose parent is gone stands on its own."""
        with self._lock:
            chains = self._live_chains(account)
            children: dict[int, list[_Chain]] = collections.defaultdict(list)
            tops = []
            for chain in chains:
                parent = self._parent(chain)
                if parent is not None and not parent.deleted and parent.account == chain.account:
                    children[id(parent)].append(chain)
                else:
                    tops.append(chain)

            def seen(chain: _Chain) -> SeenPost:
                latest = chain.latest
                media = tuple(SeenMedia(self._media[m].alt, self._media[m].source)
                              for m in latest.media_ids if m in self._media)
                username = self._accounts[chain.account].username
                return SeenPost(latest.post_id, latest.text, media, edited=len(chain.versions) > 1,
                                replies=tuple(seen(c) for c in sorted(
                                    children[id(chain)], key=lambda c: c.created_at)),
                                url=f"https://x.com/{username}/status/{latest.post_id}")

            return [seen(c) for c in sorted(tops, key=lambda c: c.created_at)]

    # --- introspection ------------------------------------------------------------------------

    def history(self, post_id: str) -> list[str]:
        """The texts of ``post_id``'s edit chain, oldest first ([] if unknown)."""
        with self._lock:
            chain = self._chains.get(str(post_id))
            return [v.text for v in chain.versions] if chain else []

    def edit_controls(self, post_id: str) -> dict:
        with self._lock:
            return self._edit_controls(self._chains[str(post_id)])

    def revoke(self, ref: str) -> None:
        """The account's access token stops working (revoked app access): 401 from now on."""
        with self._lock:
            self._accounts[ref].revoked = True

    def set_premium(self, ref: str, premium: bool) -> None:
        """Only posts created while the account has X Premium are edit-eligible."""
        with self._lock:
            self._accounts[ref].premium = premium

    def user_id(self, ref: str) -> str:
        return self._accounts[ref].user_id

    def billed(self) -> dict[str, int]:
        """Billable units so far, by kind (pay-per-use): post creates with and without a URL
        (edits and replies included), deletions, media metadata, and read resources
        (deduplicated per UTC day, as X bills them)."""
        with self._lock:
            return dict(self._billed)

    def cost(self) -> float:
        """What ``billed()`` costs in dollars at the documented unit prices."""
        return round(sum(PRICES[k] * n for k, n in self.billed().items()), 6)

    # --- plumbing -------------------------------------------------------------------------------

    def _guard(self, kind: str, handler, v1: bool = False):
        """Authenticate (OAuth 1.0a, signature checked), then run ``handler`` under the lock."""

        def serve(request: TwinRequest) -> TwinResponse:
            with self._lock:
                account = self._authenticate(request)
                if account is None:
                    reply = answer(401, V1_UNAUTHORIZED if v1 else UNAUTHORIZED)
                elif v1 and not self.v1_media:
                    reply = answer(403, V1_RETIRED)
                else:
                    reply = handler(request, account)
                self.requests.append((kind, reply.status))
                return reply

        return serve

    def _authenticate(self, request: TwinRequest) -> _Account | None:
        from oauthlib.common import Request
        from oauthlib.oauth1.rfc5849 import signature

        header = request.header("authorization") or ""
        if isinstance(header, bytes):
            header = header.decode()
        if not header.startswith("OAuth "):
            return None
        try:
            params = dict(signature.collect_parameters(headers={"Authorization": header},
                                                       exclude_oauth_signature=False))
        except (ValueError, IndexError):
            return None
        account = next((a for a in self._accounts.values()
                        if a.credentials["consumer_key"] == params.get("oauth_consumer_key")
                        and a.credentials["access_token"] == params.get("oauth_token")), None)
        if account is None or account.revoked:
            return None
        kind = request.header("content-type") or ""
        kind = (kind.decode() if isinstance(kind, bytes) else kind).lower()
        body = request.body.decode() if kind.startswith(
            "application/x-www-form-urlencoded") else None
        signed = Request(request.url, http_method=request.method, body=body,
                         headers={"Authorization": header})
        signed.params = signature.collect_parameters(
            uri_query=urlsplit(request.url).query, body=body,
            headers={"Authorization": header}, exclude_oauth_signature=True)
        signed.signature = params.get("oauth_signature", "")
        if not signature.verify_hmac_sha1(signed, account.credentials["consumer_secret"],
                                          account.credentials["access_token_secret"]):
            return None
        return account

    def _new_id(self) -> str:
        now_ms = int(self.clock.now().timestamp() * 1000)
        candidate = ((now_ms - _EPOCH_MS) << 22) | (self._seq % 4096)
        self._seq += 1
        candidate = max(candidate, self._last_id + 1)
        self._last_id = candidate
        return str(candidate)

    def _bill(self, kind: str, n: int = 1) -> None:
        self._billed[kind] += n

    def _bill_resource(self, kind: str, account: _Account, resource: str) -> None:
        day = self.clock.now().date().isoformat()
        key = (kind, account.ref, resource, day)
        if key not in self._billed_resources:
            self._billed_resources.add(key)
            self._billed[kind] += 1

    def _limited(self, account: _Account, name: str, limits) -> TwinResponse | None:
        """None when the request may go on (and is counted); else the 429."""
        now = self.clock.now().timestamp()
        hits = self._hits[(account.ref, name)]
        for count, window in limits:
            recent = [t for t in hits if t > now - window]
            if len(recent) >= count:
                reset = int(min(recent) + window) + 1
                return answer(429, TOO_MANY, **{"x-rate-limit-limit": str(count),
                                                "x-rate-limit-remaining": "0",
                                                "x-rate-limit-reset": str(reset)})
        hits.append(now)
        return None

    def _rate_headers(self, account: _Account, name: str, limits) -> dict[str, str]:
        now = self.clock.now().timestamp()
        count, window = limits[0]
        recent = [t for t in self._hits[(account.ref, name)] if t > now - window]
        reset = int((min(recent) if recent else now) + window)
        return {"x-rate-limit-limit": str(count),
                "x-rate-limit-remaining": str(max(0, count - len(recent))),
                "x-rate-limit-reset": str(reset)}

    def _live_chains(self, account: str | None) -> list[_Chain]:
        seen, chains = set(), []
        for chain in self._chains.values():
            if id(chain) in seen or chain.deleted:
                continue
            seen.add(id(chain))
            if account is None or chain.account == account:
                chains.append(chain)
        return chains

    def _parent(self, chain: _Chain) -> _Chain | None:
        return self._chains.get(chain.reply_to) if chain.reply_to else None

    def _edit_controls(self, chain: _Chain) -> dict:
        until = chain.created_at + dt.timedelta(seconds=self.edit_window_s)
        remaining = max(0, self.max_edits - (len(chain.versions) - 1))
        return {"is_edit_eligible": chain.edit_eligible, "editable_until": iso(until),
                "edits_remaining": remaining if chain.edit_eligible else 0}

    # --- how X writes text back --------------------------------------------------------------

    @staticmethod
    def _tco(seed: str) -> str:
        token = base64.b32encode(hashlib.sha256(seed.encode()).digest()).decode()
        return "https://t.co/" + token[:10].replace("=", "A")

    def _api_text(self, version: _Version) -> str:
        text = html.escape(version.text, quote=False)
        text = _URL.sub(lambda m: self._tco(m.group(0)), text)
        if version.media_ids:  # attached media appear as one trailing t.co link
            text = f"{text} {self._tco('media:' + version.post_id)}"
        return text

    def _tweet_json(self, version: _Version, chain: _Chain, fields: set[str]) -> dict:
        data = {"id": version.post_id, "text": self._api_text(version),
                "edit_history_tweet_ids": chain.ids}
        account = self._accounts[chain.account]
        if "created_at" in fields:
            data["created_at"] = iso(version.created_at)
        if "author_id" in fields:
            data["author_id"] = account.user_id
        if "edit_controls" in fields:
            data["edit_controls"] = self._edit_controls(chain)
        if "lang" in fields:
            data["lang"] = "und"
        if "attachments" in fields and version.media_ids:
            data["attachments"] = {"media_keys": [f"3_{m}" for m in version.media_ids]}
        if chain.reply_to:
            parent = self._chains.get(chain.reply_to)
            if "referenced_tweets" in fields:
                data["referenced_tweets"] = [{"type": "replied_to", "id": chain.reply_to}]
            if "in_reply_to_user_id" in fields and parent is not None:
                data["in_reply_to_user_id"] = self._accounts[parent.account].user_id
        if "conversation_id" in fields:
            root = chain
            while self._parent(root) is not None:
                root = self._parent(root)
            data["conversation_id"] = root.ids[0]
        return data

    def _includes(self, versions: list[_Version], request: TwinRequest) -> dict:
        expansions = _csv(request.arg("expansions"))
        if "attachments.media_keys" not in expansions:
            return {}
        media_fields = _csv(request.arg("media.fields"))
        media = []
        for version in versions:
            for media_id in version.media_ids:
                item = self._media.get(media_id)
                if item is None:
                    continue
                entry = {"media_key": f"3_{media_id}", "type": "photo"}
                if "alt_text" in media_fields and item.alt:
                    entry["alt_text"] = item.alt
                if "width" in media_fields:
                    entry["width"] = item.width
                if "height" in media_fields:
                    entry["height"] = item.height
                media.append(entry)
        return {"media": media} if media else {}

    # --- POST /2/tweets: create, reply, edit ---------------------------------------------------

    def _create(self, request: TwinRequest, account: _Account) -> TwinResponse:
        try:
            body = request.json()
        except ValueError:
            return answer(400, invalid("Request body is not valid JSON."))
        if not isinstance(body, dict):
            return answer(400, invalid("Request body must be an object."))
        unknown = sorted(set(body) - _CREATE_KEYS)
        if unknown:
            return answer(400, invalid(f"$.{unknown[0]}: is not defined in the schema and the "
                                       "schema does not allow additional properties"))
        text = body.get("text", "")
        media_ids = tuple(str(m) for m in (body.get("media") or {}).get("media_ids", ()))
        if not isinstance(text, str) or (not text.strip() and not media_ids):
            return answer(400, invalid("Post text or media is required.", text=[text]))
        if len(media_ids) > 4:
            return answer(400, invalid("Your media IDs are invalid.",
                                       **{"media.media_ids": list(media_ids)}))
        now = self.clock.now()
        for media_id in media_ids:
            media = self._media.get(media_id)
            if (media is None or media.account != account.ref
                    or (now - media.uploaded_at).total_seconds() > 86400):
                return answer(400, invalid("Your media IDs are invalid.",
                                           **{"media.media_ids": list(media_ids)}))
        edit = body.get("edit_options")
        previous = str(edit.get("previous_post_id", "")) if isinstance(edit, dict) else None
        chain = self._chains.get(previous) if previous else None
        if previous is not None:
            refusal = self._edit_refusal(account, previous, chain, now)
            if refusal is not None:
                return refusal
            if not media_ids and self.edit_keeps_media:
                media_ids = chain.latest.media_ids
        reply_to = None
        if previous is None and isinstance(body.get("reply"), dict):
            reply_to = str(body["reply"].get("in_reply_to_tweet_id", ""))
            parent = self._chains.get(reply_to)
            if parent is None or parent.deleted:
                return answer(403, REPLY_GONE)
            if parent.account != account.ref and \
                    f"@{account.username}".lower() not in parent.latest.text.lower():
                return answer(403, REPLY_NOT_SUMMONED)
        if self._duplicate(account, text, chain, now):
            return answer(403, DUPLICATE)
        limited = self._limited(account, "create", self.post_limits)
        if limited is not None:
            return limited
        version = _Version(self._new_id(), text, media_ids, now)
        if chain is not None:
            chain.versions.append(version)
        else:
            parent = self._chains.get(reply_to) if reply_to else None
            eligible = account.premium and (parent is None or parent.account == account.ref)
            chain = _Chain(account.ref, [version], reply_to, eligible)
        self._chains[version.post_id] = chain
        self._bill("post_create_url" if _URL.search(text) else "post_create")
        return answer(201, {"data": {"id": version.post_id, "text": self._api_text(version),
                                     "edit_history_tweet_ids": chain.ids}},
                      **self._rate_headers(account, "create", self.post_limits))

    def _edit_refusal(self, account: _Account, previous: str, chain: _Chain | None,
                      now: dt.datetime) -> TwinResponse | None:
        """None when X accepts editing ``previous``; else X's refusal."""
        ok = (chain is not None and not chain.deleted and chain.account == account.ref
              and chain.latest.post_id == previous and chain.edit_eligible
              and now < chain.created_at + dt.timedelta(seconds=self.edit_window_s)
              and len(chain.versions) - 1 < self.max_edits)
        if ok:
            return None
        status, detail = self.edit_refusal
        return answer(status, problem(status, "Forbidden" if status == 403 else "Invalid Request",
                                      detail))

    def _duplicate(self, account: _Account, text: str, editing: _Chain | None,
                   now: dt.datetime) -> bool:
        wanted = " ".join(text.split())
        if not wanted:
            return False
        for chain in self._live_chains(account.ref):
            if chain is editing:
                continue
            age = (now - chain.latest.created_at).total_seconds()
            if self.duplicate_window_s is not None and age > self.duplicate_window_s:
                continue
            if " ".join(chain.latest.text.split()) == wanted:
                return True
        return False

    # --- DELETE /2/tweets/:id -----------------------------------------------------------------

    def _delete(self, request: TwinRequest, account: _Account) -> TwinResponse:
        post_id = request.match["id"]
        chain = self._chains.get(post_id)
        if chain is not None and not chain.deleted and chain.account != account.ref:
            return answer(403, problem(403, "Forbidden",
                                       "You are not allowed to delete this Tweet."))
        if chain is None or chain.deleted:
            if self.delete_gone == "deleted_false":
                return answer(200, {"data": {"deleted": False}})
            return answer(404, problem(404, "Not Found Error",
                                       f"Could not find tweet with id: [{post_id}].",
                                       f"{PROBLEMS}/resource-not-found"))
        limited = self._limited(account, "delete", self.delete_limits)
        if limited is not None:
            return limited
        chain.deleted = True  # any version deletes the whole chain
        self._bill("content_manage")
        return answer(200, {"data": {"deleted": True}},
                      **self._rate_headers(account, "delete", self.delete_limits))

    # --- reads ----------------------------------------------------------------------------------

    def _get_tweet(self, request: TwinRequest, account: _Account) -> TwinResponse:
        post_id = request.match["id"]
        chain = self._chains.get(post_id)
        if chain is None or chain.deleted:
            return answer(200, {"errors": [{
                "value": post_id, "detail": f"Could not find tweet with id: [{post_id}].",
                "title": "Not Found Error", "resource_type": "tweet", "parameter": "id",
                "resource_id": post_id, "type": f"{PROBLEMS}/resource-not-found"}]})
        # a past version asked for by its id answers as that version (Edit Posts page)
        version = next(v for v in chain.versions if v.post_id == post_id)
        fields = _csv(request.arg("tweet.fields")) | _csv(request.arg("post.fields"))
        self._bill_resource("posts_read", account, post_id)
        payload = {"data": self._tweet_json(version, chain, fields)}
        includes = self._includes([version], request)
        if includes:
            payload["includes"] = includes
        return answer(200, payload)

    def _get_me(self, request: TwinRequest, account: _Account) -> TwinResponse:
        self._bill_resource("user_read", account, account.user_id)
        data = {"id": account.user_id, "name": account.username, "username": account.username}
        return answer(200, {"data": data})

    def _user_tweets(self, request: TwinRequest, account: _Account) -> TwinResponse:
        user_id = request.match["id"]
        owner = next((a for a in self._accounts.values() if a.user_id == user_id), None)
        if owner is None:
            return answer(200, {"errors": [{
                "value": user_id, "detail": f"Could not find user with id: [{user_id}].",
                "title": "Not Found Error", "resource_type": "user", "parameter": "id",
                "resource_id": user_id, "type": f"{PROBLEMS}/resource-not-found"}]})
        raw = request.arg("max_results", "10")
        try:
            max_results = int(raw)
        except ValueError:
            max_results = -1
        if not 5 <= max_results <= 100:
            return answer(400, invalid(f"The `max_results` query parameter value [{raw}] is not "
                                       "between 5 and 100", max_results=[raw]))
        start, end = _instant(request.arg("start_time")), _instant(request.arg("end_time"))
        since, until = request.arg("since_id"), request.arg("until_id")
        exclude = _csv(request.arg("exclude"))
        chains = [c for c in self._live_chains(owner.ref)
                  if not ("replies" in exclude and c.reply_to)]
        versions = []
        for chain in chains:  # a timeline lists each post once, at its latest version
            v = chain.latest
            if start and v.created_at < start or end and v.created_at > end:
                continue
            if since and int(v.post_id) <= int(since) or until and int(v.post_id) >= int(until):
                continue
            versions.append((v, chain))
        versions.sort(key=lambda pair: int(pair[0].post_id), reverse=True)  # newest first
        offset = int(request.arg("pagination_token") or 0)
        page = versions[offset:offset + max_results]
        fields = _csv(request.arg("tweet.fields")) | _csv(request.arg("post.fields"))
        kind = "owned_reads" if owner is account else "posts_read"
        for version, _ in page:
            self._bill_resource(kind, account, version.post_id)
        meta = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0][0].post_id, oldest_id=page[-1][0].post_id)
        if offset + max_results < len(versions):
            meta["next_token"] = str(offset + max_results)
        payload: dict = {"meta": meta}
        if page:
            payload["data"] = [self._tweet_json(v, c, fields) for v, c in page]
            includes = self._includes([v for v, _ in page], request)
            if includes:
                payload["includes"] = includes
        return answer(200, payload)

    # --- media ----------------------------------------------------------------------------------

    def _store_media(self, account: _Account, name: str, data: bytes) -> _Media | TwinResponse:
        if not data:
            return answer(400, invalid("media is required"))
        if len(data) > 5 * 1024 * 1024:  # images: 5 MB (media introduction)
            return answer(400, invalid("File size exceeds 5242880 bytes."))
        width, height, kind = _image_size(data)
        if kind is None:
            return answer(400, invalid("media type unrecognized."))
        media = _Media(self._new_id(), account.ref, name, len(data), self.clock.now(),
                       width, height, kind)
        self._media[media.media_id] = media
        self._bill("media_upload")
        return media

    def _v1_upload(self, request: TwinRequest, account: _Account) -> TwinResponse:
        files = request.files()
        if "media" in files:
            name, data = files["media"]
        elif request.arg("media_data"):
            name, data = "media_data", base64.b64decode(request.arg("media_data"))
        else:
            return answer(400, {"errors": [{"code": 38, "message": "media parameter is missing."}]})
        media = self._store_media(account, name, data)
        if isinstance(media, TwinResponse):
            return answer(400, {"errors": [{"code": 324, "message": "Invalid media."}]})
        return answer(200, {"media_id": int(media.media_id), "media_id_string": media.media_id,
                            "size": media.size, "expires_after_secs": 86400,
                            "image": {"image_type": media.image_type, "w": media.width,
                                      "h": media.height}})

    def _set_alt(self, account: _Account, media_id: str, alt) -> str | None:
        """Record alt text; returns the error message when X would refuse it."""
        media = self._media.get(str(media_id))
        if media is None or media.account != account.ref:
            return "media_id not found"
        if not isinstance(alt, str) or len(alt) > 1000:
            return "alt_text.text must be a string of at most 1000 characters"
        media.alt = alt
        self._bill("media_metadata")
        return None

    def _v1_metadata(self, request: TwinRequest, account: _Account) -> TwinResponse:
        try:
            body = request.json() or {}
        except ValueError:
            body = {}
        error = self._set_alt(account, body.get("media_id", ""),
                              (body.get("alt_text") or {}).get("text"))
        if error:
            return answer(400, {"errors": [{"code": 44, "message": error}]})
        return TwinResponse(200, body=b"")

    def _v2_upload(self, request: TwinRequest, account: _Account) -> TwinResponse:
        files = request.files()
        if "media" in files:
            name, data = files["media"]
            category = request.arg("media_category")
        else:
            try:
                body = request.json() or {}
            except ValueError:
                body = {}
            name, category = "media", body.get("media_category")
            try:
                data = base64.b64decode(body.get("media") or "")
            except ValueError:
                data = b""
        if category not in ("tweet_image", "tweet_gif", "tweet_video", "dm_image", "dm_gif",
                            "dm_video", "subtitles"):
            return answer(400, invalid("media_category is required", media_category=[category]))
        media = self._store_media(account, name, data)
        if isinstance(media, TwinResponse):
            return media
        return answer(200, {"data": {"id": media.media_id, "media_key": f"3_{media.media_id}",
                                     "size": media.size, "expires_after_secs": 86400,
                                     "image": {"image_type": media.image_type,
                                               "w": media.width, "h": media.height}}})

    def _v2_metadata(self, request: TwinRequest, account: _Account) -> TwinResponse:
        try:
            body = request.json() or {}
        except ValueError:
            body = {}
        alt = ((body.get("metadata") or {}).get("alt_text") or {}).get("text")
        error = self._set_alt(account, body.get("id", ""), alt)
        if error:
            return answer(400, invalid(error, id=[body.get("id")]))
        return answer(200, {"data": {"id": str(body["id"]),
                                     "associated_metadata": {"alt_text": {"text": alt}}}})


# --- helpers ---------------------------------------------------------------------------------


def _csv(value: str | None) -> set[str]:
    return {v.strip() for v in (value or "").split(",") if v.strip()}


def _instant(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _image_size(data: bytes) -> tuple[int, int, str | None]:
    """Width, height and type of a PNG, GIF or JPEG (type None: not an image X takes)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height, "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        width, height = struct.unpack("<HH", data[6:10])
        return width, height, "image/gif"
    if data.startswith(b"\xff\xd8"):
        return 0, 0, "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return 0, 0, "image/webp"
    return 0, 0, None


def tiny_png(width: int = 1, height: int = 1) -> bytes:
    """A real, valid PNG (for tests)."""
    return png_bytes(width, height, (255, 0, 0))


__all__ = ["XTwin", "PRICES", "tiny_png", "problem"]

