"""A stateful twin of LinkedIn organization pages: the versioned REST gateway
(``https://api.linkedin.com/rest``) as ``adapters/linkedin.py`` uses it.

Modelled (sources in tests/twins/notes/linkedin.md):

* the gateway: every ``/rest`` call needs ``LinkedIn-Version: YYYYMM`` (missing -> 400
  ``VERSION_MISSING``; not yet released or retired -> 426 ``NONEXISTENT_VERSION``, decided from
  the twin's clock: a version is released on ``release_day`` of its month and retired
  ``support_months`` later on ``sunset_day``, or on the sunset date LinkedIn published) and
  ``X-Restli-Protocol-Version: 2.0.0``; then the bearer token (401 invalid / expired / revoked,
  403 without ``w_organization_social`` / ``r_organization_social`` or for another page);
  member-level daily limits that reset at midnight UTC (429, no ``Retry-After``);
* Posts API: create (201, URN in ``x-restli-id``, empty body), read, the ``q=author`` finder,
  partial update (``X-RestLi-Method: PARTIAL_UPDATE``, 204; only commentary,
  contentCallToActionLabel, contentLandingPage, lifecycleState (DRAFT -> PUBLISHED),
  reshareContext and adContext are updatable), idempotent delete (204, again 204); an exact
  duplicate of a post of the last 10 minutes -> 422 ``DUPLICATE_POST``;
* commentary in "little text": what a reader sees is the parsed text; an unescaped reserved
  character ends the text there (the rest is silently dropped); ``#word`` is stored as a
  hashtag template;
* Images API: ``initializeUpload`` (owner = the page), ``PUT`` of the bytes with the token; an
  upload that is not JPG/GIF/PNG fails processing and a post using it is never shown;
* Comments API (``socialActions/{urn}/comments``): create as the page (201, comment in body
  and id in ``x-restli-id``), list, delete with ``?actor=``; the page's comments appear under
  the post in ``visible()``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import re
import threading
from urllib.parse import quote, unquote

from tests.twins.base import Http, SeenMedia, SeenPost, TwinClock, TwinRequest, TwinResponse, answer

UTC = dt.timezone.utc

API = "https://api.linkedin.com/rest"
_API_RE = r"https://api\.linkedin\.com/rest"
UPLOADS = "https://www.linkedin.com/dms-uploads/sp"
_UPLOADS_RE = r"https://www\.linkedin\.com/dms-uploads/sp"

WRITE_SCOPE = "w_organization_social"
READ_SCOPE = "r_organization_social"

#: Sunset dates LinkedIn published on the "Migrations" page (learn.microsoft.com/en-us/linkedin/
#: marketing/integrations/migrations, read 2026); from that date on the version answers 426.
DOCUMENTED_SUNSETS: dict[str, dt.date] = {
    "202407": dt.date(2025, 7, 22),
    "202408": dt.date(2025, 8, 18),
    "202409": dt.date(2025, 9, 15),
    "202410": dt.date(2025, 10, 15),
    "202411": dt.date(2025, 11, 17),
    "202510": dt.date(2026, 10, 15),
    "202511": dt.date(2026, 11, 16),
    "202601": dt.date(2027, 1, 15),
    "202602": dt.date(2027, 2, 15),
    "202603": dt.date(2027, 3, 16),
}

#: little text: characters that must be escaped with a backslash to be plain text
RESERVED = frozenset("\\|{}@[]()<>#*_~")
#: HashtagElement: '#' and a single word ('_' is reserved, so it ends the word)
_WORD = re.compile(r"[^\W_]+")
_TEMPLATE_HEAD = re.compile(r"\{hashtag\|(\\#|#|＃)\|")
_MENTION = re.compile(r"@\[((?:\\.|[^\\\[\](){}|@<>#*_~])*)\]\((urn:li:(?:person|organization):"
                      r"[A-Za-z0-9_-]+)\)")
#: fields a partial update may $set (Posts API, "Update Posts")
UPDATABLE = frozenset({"commentary", "contentCallToActionLabel", "contentLandingPage",
                       "lifecycleState", "reshareContext", "adContext"})
COMMENTARY_LIMIT = 3000
ALT_TEXT_LIMIT = 4086
MULTI_IMAGE = (2, 20)
IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


def parse_little(raw: str) -> tuple[str, str]:
    """``(what a reader sees, what LinkedIn keeps)`` of a little text commentary. Parsing
    stops at the first reserved character that is not escaped and starts no element: what
    follows is dropped."""
    seen: list[str] = []
    kept: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch not in RESERVED:
            seen.append(ch)
            kept.append(ch)
            i += 1
        elif ch == "\\" and i + 1 < len(raw) and raw[i + 1] in RESERVED:
            seen.append(raw[i + 1])
            kept.append(raw[i:i + 2])
            i += 2
        elif ch == "#" and (word := _WORD.match(raw, i + 1)):
            seen.append("#" + word.group())
            kept.append("{hashtag|\\#|" + word.group() + "}")
            i = word.end()
        elif ch == "{" and (head := _TEMPLATE_HEAD.match(raw, i)):
            text, end = _text_until_brace(raw, head.end())
            if end is None:
                break
            seen.append(head.group(1).lstrip("\\") + text)
            kept.append(raw[i:end + 1])
            i = end + 1
        elif ch == "@" and (mention := _MENTION.match(raw, i)):
            seen.append(re.sub(r"\\(.)", r"\1", mention.group(1)))
            kept.append(mention.group())
            i = mention.end()
        else:
            break
    return "".join(seen), "".join(kept)


def _text_until_brace(raw: str, j: int) -> tuple[str, int | None]:
    out: list[str] = []
    while j < len(raw):
        ch = raw[j]
        if ch == "}":
            return "".join(out), j
        if ch == "\\" and j + 1 < len(raw) and raw[j + 1] in RESERVED:
            out.append(raw[j + 1])
            j += 2
        elif ch in RESERVED:
            return "", None
        else:
            out.append(ch)
            j += 1
    return "", None


def _content_images(content: dict | None) -> list[str]:
    if not content:
        return []
    if "media" in content:
        return [content["media"]["id"]]
    return [image["id"] for image in (content.get("multiImage") or {}).get("images") or []]


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def _error(status: int, code: str | None, message: str, service: int | None = None) -> dict:
    body: dict = {"status": status}
    if service is not None:
        body["serviceErrorCode"] = service
    if code is not None:
        body["code"] = code
    body["message"] = message
    return body


def _unprocessable(path: str, why: str) -> TwinResponse:
    """The Rest.li validator's 422: one "ERROR :: /path :: reason" line per problem."""
    return answer(422, {"message": f"ERROR :: {path} :: {why}\n", "status": 422})


def _not_found() -> TwinResponse:
    return answer(404, _error(404, "NOT_FOUND", "Not Found"))


@dataclasses.dataclass
class _Account:
    ref: str
    handle: str
    org_id: str
    token: str
    env_var: str
    token_state: str = "active"  # active | expired | revoked
    scopes: set[str] = dataclasses.field(
        default_factory=lambda: {WRITE_SCOPE, READ_SCOPE})

    @property
    def urn(self) -> str:
        return f"urn:li:organization:{self.org_id}"


@dataclasses.dataclass
class _Image:
    urn: str
    owner: str
    upload_id: str
    created_ms: int
    data: bytes | None = None
    ready_ms: int | None = None
    failed: bool = False

    def status(self, now_ms: int) -> str:
        if self.data is None:
            return "WAITING_UPLOAD"
        if self.failed:
            return "PROCESSING_FAILED"
        return "AVAILABLE" if now_ms >= (self.ready_ms or 0) else "PROCESSING"


@dataclasses.dataclass
class _Comment:
    id: str
    post: str
    activity: str
    actor: str
    text: str
    created_ms: int
    deleted: bool = False

    @property
    def urn(self) -> str:
        return f"urn:li:comment:({self.activity},{self.id})"

    def json(self) -> dict:
        stamp = {"actor": self.actor, "time": self.created_ms}
        return {"actor": self.actor, "created": stamp, "lastModified": stamp, "id": self.id,
                "$URN": self.urn, "commentUrn": self.urn, "object": self.activity,
                "message": {"attributes": [], "text": self.text}, "content": [],
                "commentsSummary": {"selectedComments": [], "totalFirstLevelComments": 0,
                                    "aggregatedTotalComments": 0}}


@dataclasses.dataclass
class _Post:
    urn: str
    activity: str
    author: str
    commentary: str  # as LinkedIn keeps it (little text, cut where parsing stopped)
    seen: str  # what a reader sees
    sent: str  # what the client sent
    visibility: str
    distribution: dict
    lifecycle: str
    content: dict | None
    created_ms: int
    modified_ms: int
    published_ms: int | None
    reshare_disabled: bool = False
    edited: bool = False
    deleted: bool = False
    extra: dict = dataclasses.field(default_factory=dict)
    history: list[str] = dataclasses.field(default_factory=list)

    def image_urns(self) -> list[str]:
        return _content_images(self.content)

    def images(self) -> list[dict]:
        if not self.content:
            return []
        if "media" in self.content:
            return [self.content["media"]]
        return list(self.content.get("multiImage", {}).get("images", []))

    def json(self) -> dict:
        body = {"id": self.urn, "author": self.author, "commentary": self.commentary,
                "visibility": self.visibility,
                "distribution": {"feedDistribution": self.distribution.get(
                    "feedDistribution", "MAIN_FEED"),
                    "thirdPartyDistributionChannels": list(self.distribution.get(
                        "thirdPartyDistributionChannels") or [])},
                "lifecycleState": self.lifecycle,
                "lifecycleStateInfo": {"isEditedByAuthor": self.edited},
                "isReshareDisabledByAuthor": self.reshare_disabled,
                "createdAt": self.created_ms, "lastModifiedAt": self.modified_ms}
        if self.published_ms is not None:
            body["publishedAt"] = self.published_ms
        if self.content:
            body["content"] = json.loads(json.dumps(self.content))
        body.update(self.extra)
        return body


class LinkedInTwin:
    """LinkedIn organization pages, one per account ref ("linkedin:ayto-calp")."""

    platform = "linkedin"

    def __init__(self, clock: TwinClock | None = None, *, support_months: int = 12,
                 sunset_day: int = 15, release_day: int = 1, use_documented_sunsets: bool = True,
                 duplicate_window_s: int = 600, daily_post_limit: int | None = None,
                 image_processing_s: float = 0) -> None:
        self.clock = clock or TwinClock()
        self.support_months = support_months
        self.sunset_day = sunset_day
        self.release_day = release_day
        self.use_documented_sunsets = use_documented_sunsets
        self.duplicate_window_s = duplicate_window_s
        self.daily_post_limit = daily_post_limit
        self.image_processing_s = image_processing_s
        self._lock = threading.RLock()
        self._accounts: dict[str, _Account] = {}
        self._posts: dict[str, _Post] = {}
        self._comments: dict[str, _Comment] = {}
        self._images: dict[str, _Image] = {}
        self._uploads: dict[str, str] = {}
        self._usage: dict[tuple[str, str, dt.date], int] = {}
        self._ids = itertools.count(7_400_000_000_000_000_001)
        self._org_ids = itertools.count(90_100_001)

    # --- the interface --------------------------------------------------------------------

    def install(self, http: Http) -> None:
        posts = f"{_API_RE}/posts"
        http.route("POST", posts, self._guard(self._create_post, write=True))
        http.route("GET", posts, self._guard(self._find_posts))
        http.route("POST", rf"{posts}/(?P<urn>[^/?]+)", self._guard(self._update_post, write=True))
        http.route("GET", rf"{posts}/(?P<urn>[^/?]+)", self._guard(self._get_post))
        http.route("DELETE", rf"{posts}/(?P<urn>[^/?]+)", self._guard(self._delete_post, write=True))
        http.route("POST", f"{_API_RE}/images", self._guard(self._initialize_upload, write=True))
        http.route("GET", rf"{_API_RE}/images/(?P<urn>[^/?]+)", self._guard(self._get_image))
        http.route("PUT", rf"{_UPLOADS_RE}/(?P<upload>[^/?]+)/uploaded-image/0", self._upload)
        comments = rf"{_API_RE}/socialActions/(?P<target>[^/?]+)/comments"
        http.route("POST", comments, self._guard(self._create_comment, write=True))
        http.route("GET", comments, self._guard(self._list_comments))
        http.route("DELETE", rf"{comments}/(?P<comment>[^/?]+)",
                   self._guard(self._delete_comment, write=True))

    def add_account(self, ref: str) -> None:
        platform, _, handle = ref.partition(":")
        if platform != self.platform or not handle:
            raise ValueError(f"{ref!r} is not a linkedin account ref")
        with self._lock:
            if ref in self._accounts:
                return
            slug = re.sub(r"[^A-Z0-9]", "_", handle.upper())
            self._accounts[ref] = _Account(ref, handle, str(next(self._org_ids)),
                                           f"AQV-twin-{handle}-token", f"LINKEDIN_TWIN_{slug}_TOKEN")

    def account_entry(self, ref: str, department: str) -> dict:
        self.add_account(ref)
        account = self._accounts[ref]
        return {"handle": account.handle, "department": department,
                "credentials": {"access_token": {"env": account.env_var}},
                "options": {"organization_id": account.org_id,
                            "linkedin_version": self.active_version()}}

    def env(self) -> dict[str, str]:
        with self._lock:
            return {a.env_var: a.token for a in self._accounts.values()}

    def visible(self, account: str | None = None) -> list[SeenPost]:
        """The page's published posts a member can see, oldest first, each with the page's
        comments under it. Deleted posts, drafts and posts whose image failed processing are
        not shown."""
        with self._lock:
            now = _ms(self.clock.now())
            authors = {a.urn for a in self._accounts.values()
                       if account is None or account in (a.ref, a.handle)}
            posts = sorted((p for p in self._posts.values() if p.author in authors
                            and self._shown(p, now)), key=lambda p: (p.created_ms, p.urn))
            return [self._seen(p) for p in posts]

    # --- introspection for tests ----------------------------------------------------------

    def history(self, post_id: str) -> list[str]:
        """What readers saw, version by version (first the original)."""
        with self._lock:
            return list(self._posts[post_id].history)

    def post_json(self, post_id: str) -> dict:
        """The post as ``GET /rest/posts/{urn}`` would answer (deleted ones too)."""
        with self._lock:
            return self._posts[post_id].json()

    def sent_commentary(self, post_id: str) -> str:
        with self._lock:
            return self._posts[post_id].sent

    def image_bytes(self, image_urn: str) -> bytes | None:
        with self._lock:
            return self._images[image_urn].data

    def organization_urn(self, ref: str) -> str:
        self.add_account(ref)
        return self._accounts[ref].urn

    def token(self, ref: str) -> str:
        self.add_account(ref)
        return self._accounts[ref].token

    def revoke(self, ref: str) -> None:
        with self._lock:
            self._accounts[ref].token_state = "revoked"

    def expire(self, ref: str) -> None:
        with self._lock:
            self._accounts[ref].token_state = "expired"

    def drop_scope(self, ref: str, scope: str) -> None:
        with self._lock:
            self._accounts[ref].scopes.discard(scope)

    # --- versions ---------------------------------------------------------------------------

    def release_date(self, version: str) -> dt.date:
        year, month = int(version[:4]), int(version[4:6])
        return dt.date(year, month, self.release_day)

    def sunset_date(self, version: str) -> dt.date:
        key = version[:6]
        if self.use_documented_sunsets and key in DOCUMENTED_SUNSETS:
            return DOCUMENTED_SUNSETS[key]
        total = int(key[:4]) * 12 + int(key[4:6]) - 1 + self.support_months
        return dt.date(total // 12, total % 12 + 1, self.sunset_day)

    def version_active(self, version: str, at: dt.datetime | None = None) -> bool:
        if not re.fullmatch(r"20\d{2}(0[1-9]|1[0-2])(\.\d{2})?", version or ""):
            return False
        day = (at or self.clock.now()).astimezone(UTC).date()
        return self.release_date(version) <= day < self.sunset_date(version)

    def active_version(self, at: dt.datetime | None = None) -> str:
        """A version the gateway accepts at ``at`` (default: the twin's now): last month's, or
        the newest older one still supported (this month's may not be released yet)."""
        moment = (at or self.clock.now()).astimezone(UTC)
        total = moment.year * 12 + moment.month - 1
        for back in range(1, 36):
            year, month0 = divmod(total - back, 12)
            version = f"{year:04d}{month0 + 1:02d}"
            if self.version_active(version, moment):
                return version
        raise RuntimeError("no LinkedIn-Version is active with these knobs")

    # --- the gateway --------------------------------------------------------------------------

    def _guard(self, handler, *, write: bool = False):
        def serve(request: TwinRequest) -> TwinResponse:
            version = request.header("LinkedIn-Version")
            if not version:
                return answer(400, _error(400, "VERSION_MISSING",
                                          "A version must be present. Please specify a version "
                                          "by adding the LinkedIn-Version header."),
                              **{"X-Restli-Gateway-Error": "true"})
            if not self.version_active(version.strip()):
                shown = version.strip()
                shown = shown + "01" if re.fullmatch(r"\d{6}", shown) else shown
                return answer(426, _error(426, "NONEXISTENT_VERSION",
                                          f"Requested version {shown} is not active"),
                              **{"X-Restli-Gateway-Error": "true"})
            if (request.header("X-Restli-Protocol-Version") or "").strip() != "2.0.0":
                return answer(400, _error(400, None, "This resource requires Rest.li protocol "
                                                     "version 2.0.0 (X-Restli-Protocol-Version)"))
            account, refused = self._authenticate(request)
            if refused is not None:
                return refused
            scope = WRITE_SCOPE if write else READ_SCOPE
            if scope not in account.scopes:
                return self._forbidden(request, handler)
            with self._lock:
                return handler(request, account)

        return serve

    def _authenticate(self, request: TwinRequest) -> tuple[_Account | None, TwinResponse | None]:
        header = request.header("Authorization") or ""
        if not header.strip():
            return None, answer(401, {"message": "Empty oauth2_access_token",
                                      "serviceErrorCode": 401, "status": 401})
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None, answer(401, _error(401, None, "Unknown authentication scheme", 401))
        with self._lock:
            account = next((a for a in self._accounts.values() if a.token == token.strip()),
                           None)
        if account is None:
            return None, answer(401, _error(401, "INVALID_ACCESS_TOKEN", "Invalid access token",
                                            65600))
        if account.token_state == "expired":
            return None, answer(401, _error(401, "EXPIRED_ACCESS_TOKEN",
                                            "The token used in the request has expired", 65601))
        if account.token_state == "revoked":
            return None, answer(401, _error(401, "REVOKED_ACCESS_TOKEN",
                                            "The token used in the request has been revoked by "
                                            "the user", 65602))
        return account, None

    def _forbidden(self, request: TwinRequest, handler=None) -> TwinResponse:
        version = (request.header("LinkedIn-Version") or "").strip()[:6]
        resource = "partnerApiPostsExternal" if "/posts" in request.path else \
            "partnerApiImages" if "/images" in request.path else "partnerApiSocialActions"
        method = {"GET": "GET", "DELETE": "DELETE", "PUT": "UPDATE"}.get(request.method,
                                                                         "CREATE")
        return answer(403, _error(403, "ACCESS_DENIED", f"Not enough permissions to access: "
                                  f"{resource}.{method}.{version}01", 100))

    def _throttled(self, account: _Account, resource: str) -> TwinResponse | None:
        """Member-level daily limit of one endpoint, reset at midnight UTC."""
        if self.daily_post_limit is None:
            return None
        key = (account.token, resource, self.clock.now().astimezone(UTC).date())
        used = self._usage.get(key, 0)
        if used >= self.daily_post_limit:
            return answer(429, _error(429, "TOO_MANY_REQUESTS", "Resource level throttle MEMBER "
                                      "DAY limit for calls to this resource is reached.", 101))
        self._usage[key] = used + 1
        return None

    # --- Posts API ----------------------------------------------------------------------------

    def _create_post(self, request: TwinRequest, account: _Account) -> TwinResponse:
        method = (request.header("X-RestLi-Method") or "CREATE").upper()
        if method != "CREATE":
            return answer(400, _error(400, None, f"Unsupported X-RestLi-Method {method} on posts"))
        try:
            body = request.json()
        except ValueError:
            return answer(400, _error(400, None, "Request body is not valid JSON"))
        if not isinstance(body, dict):
            return answer(400, _error(400, None, "Request body must be a JSON object"))
        problems = []
        for field in ("author", "commentary", "visibility", "distribution", "lifecycleState"):
            if field not in body:
                problems.append(f"/{field}")
        if problems:
            return answer(422, {"message": "".join(
                f"ERROR :: {p} :: field is required but not found and has no default value\n"
                for p in problems), "status": 422})
        if body["author"] != account.urn:
            return self._forbidden(request)
        if body["visibility"] not in ("PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"):
            return _unprocessable("/visibility", f"\"{body['visibility']}\" is not an enum symbol")
        feed = (body.get("distribution") or {}).get("feedDistribution")
        if feed not in ("MAIN_FEED", "NONE"):
            return _unprocessable("/distribution/feedDistribution",
                                  f"\"{feed}\" is not an enum symbol")
        if body["lifecycleState"] not in ("PUBLISHED", "DRAFT"):
            return answer(400, _error(400, "INVALID_VALUE_FOR_FIELD",
                                      "Invalid value for field; lifecycleState"))
        commentary = body["commentary"]
        if not isinstance(commentary, str):
            return _unprocessable("/commentary", "not a string")
        if len(commentary) > COMMENTARY_LIMIT:
            return _unprocessable("/commentary",
                                  f"length of commentary exceeds {COMMENTARY_LIMIT}")
        content = body.get("content")
        refused = self._check_content(content, account)
        if refused is not None:
            return refused
        seen, kept = parse_little(commentary)
        now = _ms(self.clock.now())
        duplicate = self._duplicate_of(account.urn, kept, content, now)
        if duplicate is not None:
            return answer(422, {
                "errorDetailType": "com.linkedin.common.error.BadRequest",
                "message": "com.linkedin.content.common.exception.BadRequestResponseException: "
                           f"Content is a duplicate of {duplicate}",
                "errorDetails": {"inputErrors": [{"description": "Duplicate post is detected",
                                                  "input": {}, "code": "DUPLICATE_POST"}]},
                "status": 422})
        throttled = self._throttled(account, "posts.CREATE")
        if throttled is not None:
            return throttled
        number = next(self._ids)
        urn = f"urn:li:share:{number}"
        published = body["lifecycleState"] == "PUBLISHED"
        self._posts[urn] = _Post(
            urn=urn, activity=f"urn:li:activity:{number + 1}", author=account.urn,
            commentary=kept, seen=seen, sent=commentary, visibility=body["visibility"],
            distribution=dict(body["distribution"]), lifecycle=body["lifecycleState"],
            content=json.loads(json.dumps(content)) if content else None, created_ms=now,
            modified_ms=now, published_ms=now if published else None,
            reshare_disabled=bool(body.get("isReshareDisabledByAuthor", False)), history=[seen])
        next(self._ids)  # the activity took the next number
        return TwinResponse(201, headers={"x-restli-id": urn})

    def _check_content(self, content, account: _Account) -> TwinResponse | None:
        if content is None:
            return None
        if not isinstance(content, dict) or not content:
            return _unprocessable("/content", "content must be a non-empty record")
        if "media" in content:
            entries, base = [content["media"]], "/content/media"
        elif "multiImage" in content:
            entries = list((content["multiImage"] or {}).get("images") or [])
            base = "/content/multiImage/images"
            low, high = MULTI_IMAGE
            if not low <= len(entries) <= high:
                return _unprocessable(base, f"multiImage needs between {low} and {high} images, "
                                            f"got {len(entries)}")
        else:
            return _unprocessable("/content", f"unsupported content {sorted(content)}")
        for index, entry in enumerate(entries):
            path = base if base.endswith("media") else f"{base}/{index}"
            urn = (entry or {}).get("id")
            if not isinstance(urn, str):
                return _unprocessable(f"{path}/id", "field is required but not found")
            if len(str(entry.get("altText") or "")) > ALT_TEXT_LIMIT:
                return _unprocessable(f"{path}/altText",
                                      f"length of altText exceeds {ALT_TEXT_LIMIT}")
            if not urn.startswith("urn:li:image:"):
                continue  # videos and documents are not modelled
            image = self._images.get(urn)
            if image is None or image.owner != account.urn:
                return _unprocessable(f"{path}/id", f"{urn} does not exist or is not owned by "
                                                    f"{account.urn}")
            if image.data is None:
                return _unprocessable(f"{path}/id", f"Media asset {urn} is waiting upload")
        return None

    def _duplicate_of(self, author: str, kept: str, content, now_ms: int) -> str | None:
        window = self.duplicate_window_s * 1000
        images = sorted(_content_images(content))
        for post in self._posts.values():
            if post.author == author and now_ms - post.created_ms < window and \
                    post.commentary == kept and sorted(post.image_urns()) == images:
                return post.urn
        return None

    def _post_for(self, request: TwinRequest, account: _Account) -> tuple[_Post | None,
                                                                          TwinResponse | None]:
        urn = unquote(request.match["urn"])
        post = self._posts.get(urn)
        if post is None:
            return None, _not_found()
        if post.author != account.urn:
            return None, self._forbidden(request)
        return post, None

    def _get_post(self, request: TwinRequest, account: _Account) -> TwinResponse:
        post, refused = self._post_for(request, account)
        if refused is not None:
            return refused
        if post.deleted:
            return _not_found()
        return answer(200, post.json())

    def _find_posts(self, request: TwinRequest, account: _Account) -> TwinResponse:
        if request.arg("q") != "author":
            return answer(400, _error(400, None, f"Unsupported finder q={request.arg('q')}"))
        author = request.arg("author")
        if author != account.urn:
            return self._forbidden(request)
        sort = request.arg("sortBy", "LAST_MODIFIED")
        if sort not in ("LAST_MODIFIED", "CREATED"):
            return answer(400, _error(400, None, f"Invalid value {sort} for sortBy"))
        try:
            start = int(request.arg("start", "0"))
            count = int(request.arg("count", "10"))
        except ValueError:
            return answer(400, _error(400, None, "start and count must be integers"))
        count = max(0, min(count, 100))
        key = (lambda p: p.modified_ms) if sort == "LAST_MODIFIED" else (lambda p: p.created_ms)
        posts = sorted((p for p in self._posts.values() if p.author == author
                        and not p.deleted and p.lifecycle == "PUBLISHED"),
                       key=lambda p: (key(p), p.urn), reverse=True)
        page = posts[start:start + count]
        return answer(200, {"paging": {"start": start, "count": count, "links": [],
                                       "total": len(posts)},
                            "elements": [p.json() for p in page]})

    def _update_post(self, request: TwinRequest, account: _Account) -> TwinResponse:
        method = (request.header("X-RestLi-Method") or "").upper()
        if method != "PARTIAL_UPDATE":
            return answer(400, _error(400, None, "POST on a post entity needs X-RestLi-Method: "
                                                 "PARTIAL_UPDATE"))
        post, refused = self._post_for(request, account)
        if refused is not None:
            return refused
        if post.deleted:
            return _not_found()
        try:
            body = request.json()
        except ValueError:
            return answer(400, _error(400, None, "Request body is not valid JSON"))
        changes = ((body or {}).get("patch") or {}).get("$set")
        if not isinstance(changes, dict) or not changes:
            return answer(400, _error(400, None, "The patch must $set at least one field"))
        not_updatable = sorted(set(changes) - UPDATABLE)
        if not_updatable:
            return answer(422, {"message": "".join(
                f"ERROR :: /{field} :: field is not updatable\n" for field in not_updatable),
                "status": 422})
        if "lifecycleState" in changes:
            wanted = changes["lifecycleState"]
            if not (post.lifecycle == "DRAFT" and wanted == "PUBLISHED") and \
                    wanted != post.lifecycle:
                return answer(400, _error(400, "INVALID_VALUE_FOR_FIELD",
                                          "Invalid value for field; lifecycleState"))
        if "commentary" in changes:
            commentary = changes["commentary"]
            if not isinstance(commentary, str):
                return _unprocessable("/commentary", "not a string")
            if len(commentary) > COMMENTARY_LIMIT:
                return _unprocessable("/commentary",
                                      f"length of commentary exceeds {COMMENTARY_LIMIT}")
        now = _ms(self.clock.now())
        if "commentary" in changes:
            post.seen, post.commentary = parse_little(changes["commentary"])
            post.sent = changes["commentary"]
            post.history.append(post.seen)
            if post.lifecycle == "PUBLISHED":
                post.edited = True
        if changes.get("lifecycleState") == "PUBLISHED" and post.lifecycle == "DRAFT":
            post.lifecycle = "PUBLISHED"
            post.published_ms = now
        for field in ("contentCallToActionLabel", "contentLandingPage", "reshareContext",
                      "adContext"):
            if field in changes:
                post.extra[field] = changes[field]
        post.modified_ms = now
        return TwinResponse(204)

    def _delete_post(self, request: TwinRequest, account: _Account) -> TwinResponse:
        post, refused = self._post_for(request, account)
        if refused is not None:
            return refused
        post.deleted = True  # deleting again answers 204 too: deletions are idempotent
        return TwinResponse(204)

    # --- Images API ---------------------------------------------------------------------------

    def _initialize_upload(self, request: TwinRequest, account: _Account) -> TwinResponse:
        if request.arg("action") != "initializeUpload":
            return answer(400, _error(400, None, f"Unsupported action {request.arg('action')}"))
        try:
            owner = ((request.json() or {}).get("initializeUploadRequest") or {}).get("owner")
        except ValueError:
            owner = None
        if not owner:
            return _unprocessable("/initializeUploadRequest/owner",
                                  "field is required but not found and has no default value")
        if owner != account.urn:
            return self._forbidden(request)
        number = next(self._ids)
        urn = f"urn:li:image:D4E10AQ{number:x}"
        upload = f"D4E10AQ{number:x}"
        now = self.clock.now()
        self._images[urn] = _Image(urn, owner, upload, _ms(now))
        self._uploads[upload] = urn
        return answer(200, {"value": {
            "uploadUrlExpiresAt": _ms(now + dt.timedelta(days=1)),
            "uploadUrl": f"{UPLOADS}/{upload}/uploaded-image/0?ca=vector_ads&cn=uploads&"
                         f"m=AQ{number % 99991}&app=201094746&sync=0&v=beta&ut=twin",
            "image": urn}})

    def _upload(self, request: TwinRequest) -> TwinResponse:
        account, refused = self._authenticate(request)
        if refused is not None:
            return refused
        with self._lock:
            urn = self._uploads.get(request.match["upload"])
            image = self._images.get(urn or "")
            if image is None:
                return answer(404, _error(404, None, "Upload URL not found"))
            if image.owner != account.urn:
                return self._forbidden(request)
            image.data = bytes(request.body)
            image.failed = not image.data.startswith(IMAGE_SIGNATURES)
            image.ready_ms = _ms(self.clock.now()) + int(self.image_processing_s * 1000)
        return TwinResponse(201)

    def _get_image(self, request: TwinRequest, account: _Account) -> TwinResponse:
        image = self._images.get(unquote(request.match["urn"]))
        if image is None:
            return _not_found()
        if image.owner != account.urn:
            return answer(403, _error(403, None, "Accessing this image resource is forbidden. "
                                                 "Please check your permissions for this "
                                                 "resource", 100))
        now = _ms(self.clock.now())
        body = {"owner": image.owner, "id": image.urn, "status": image.status(now)}
        if body["status"] == "AVAILABLE":
            body |= {"downloadUrl": f"https://media.licdn.com/dms/image/{image.upload_id}/"
                                    "feedshare-shrink_800/0/",
                     "downloadUrlExpiresAt": now + 86_400_000}
        return answer(200, body)

    # --- Comments API (socialActions) ---------------------------------------------------------

    def _comment_target(self, request: TwinRequest) -> _Post | None:
        target = unquote(request.match["target"])
        post = self._posts.get(target) or next(
            (p for p in self._posts.values() if p.activity == target), None)
        if post is None or post.deleted:
            return None
        return post

    def _create_comment(self, request: TwinRequest, account: _Account) -> TwinResponse:
        post = self._comment_target(request)
        if post is None:
            return _not_found()
        try:
            body = request.json() or {}
        except ValueError:
            return answer(400, _error(400, None, "Request body is not valid JSON"))
        actor = body.get("actor")
        if actor != account.urn:
            return self._forbidden(request)
        if body.get("object") not in (unquote(request.match["target"]), post.urn, post.activity):
            return answer(400, _error(400, None, "object must be the entity commented on"))
        text = (body.get("message") or {}).get("text")
        if not isinstance(text, str) or not text.strip():
            return _unprocessable("/message/text", "field is required but not found")
        number = str(next(self._ids))
        comment = _Comment(number, post.urn, post.activity, actor, text,
                           _ms(self.clock.now()))
        self._comments[number] = comment
        return answer(201, comment.json(), **{"x-restli-id": number})

    def _list_comments(self, request: TwinRequest, account: _Account) -> TwinResponse:
        post = self._comment_target(request)
        if post is None:
            return _not_found()
        comments = sorted((c for c in self._comments.values()
                           if c.post == post.urn and not c.deleted), key=lambda c: c.created_ms)
        start = int(request.arg("start", "0") or 0)
        count = int(request.arg("count", "10") or 10)
        return answer(200, {"paging": {"start": start, "count": count, "links": [],
                                       "total": len(comments)},
                            "elements": [c.json() for c in comments[start:start + count]]})

    def _delete_comment(self, request: TwinRequest, account: _Account) -> TwinResponse:
        post = self._comment_target(request)
        comment = self._comments.get(unquote(request.match["comment"]))
        if post is None or comment is None or comment.post != post.urn or comment.deleted:
            return _not_found()
        if request.arg("actor") != comment.actor or comment.actor != account.urn:
            return self._forbidden(request)
        comment.deleted = True
        return TwinResponse(204)

    # --- what members see ---------------------------------------------------------------------

    def _shown(self, post: _Post, now_ms: int) -> bool:
        if post.deleted or post.lifecycle != "PUBLISHED" or \
                post.distribution.get("feedDistribution") == "NONE":
            return False
        return all(self._images[urn].status(now_ms) == "AVAILABLE"
                   for urn in post.image_urns() if urn in self._images)

    def _seen(self, post: _Post) -> SeenPost:
        media = tuple(SeenMedia(str(entry.get("altText") or ""), entry["id"])
                      for entry in post.images())
        replies = tuple(
            SeenPost(c.id, c.text, url=f"https://www.linkedin.com/feed/update/{post.urn}/"
                                       f"?commentUrn={quote(c.urn, safe='')}")
            for c in sorted(self._comments.values(), key=lambda c: (c.created_ms, c.id))
            if c.post == post.urn and not c.deleted and c.actor == post.author)
        return SeenPost(post.urn, post.seen, media=media, edited=post.edited, replies=replies,
                        url=f"https://www.linkedin.com/feed/update/{post.urn}/")
