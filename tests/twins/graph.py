"""graph.facebook.com, shared by the Facebook Pages twin and the Instagram twin.

Both platforms live on one host and one URL shape (``/{version}/{node}[/{edge}]``), so a single
``GraphHost`` per ``Http`` owns the routes and hands each request to the twin that knows its
access token. What is common to every Graph request lives here, each rule with its source:

* versions (developers.facebook.com/docs/graph-api/changelog, "Available Graph API versions",
  read 2026-12; /docs/graph-api/guides/versioning): a version is usable from its release until
  its "available until" date; "once a version is no longer usable, any calls made to it will be
  defaulted to the next oldest usable version". A version Graph does not know is not a version:
  its first path segment is read as an object and the request fails with code 2500 "Unknown path
  components" (seen with a mistyped version, arsduo/koala issue #611). Every answer carries the
  ``facebook-api-version`` header with the version that served it (mobolic/facebook-sdk PR #158).
* the error shape {"error": {message, type, code, error_subcode, fbtrace_id, ...}}
  (/docs/graph-api/guides/error-handling); an object that does not exist or was deleted answers
  code 100, subcode 33, GraphMethodException "Unsupported <method> request. Object with ID '..'
  does not exist, cannot be loaded due to missing permissions, or does not support this
  operation." (code and subcode: Marketing API error reference, "100, subcode 33"; the text as
  real answers are quoted in client test suites found through the code index).
* the token: ``Authorization: Bearer``/``OAuth`` header or the ``access_token`` parameter; none
  is code 104, an unknown one 190 "Invalid OAuth access token - Cannot parse access token", an
  expired one 190 subcode 463.
* rate limits (/docs/graph-api/overview/rate-limiting, error-handling): codes 4, 17, 32, 613 and
  the Business Use Case codes (80001 Pages, 80002 Instagram) with the X-Business-Use-Case-Usage
  header whose ``estimated_time_to_regain_access`` is in minutes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import re
import threading
from typing import Iterable, Protocol

from tests.twins.base import Http, TwinClock, TwinRequest, TwinResponse

GRAPH = "https://graph.facebook.com"

#: (version, released, available until) from the Graph API changelog, read December 2026
VERSIONS: tuple[tuple[str, dt.date, dt.date | None], ...] = (
    ("v13.0", dt.date(2022, 2, 8), dt.date(2024, 5, 28)),
    ("v14.0", dt.date(2022, 5, 25), dt.date(2024, 9, 17)),
    ("v15.0", dt.date(2022, 9, 15), dt.date(2024, 11, 20)),
    ("v16.0", dt.date(2023, 2, 2), dt.date(2025, 5, 14)),
    ("v17.0", dt.date(2023, 5, 23), dt.date(2025, 9, 12)),
    ("v18.0", dt.date(2023, 9, 12), dt.date(2026, 1, 26)),
    ("v19.0", dt.date(2024, 1, 23), dt.date(2026, 5, 21)),
    ("v20.0", dt.date(2024, 5, 21), dt.date(2026, 9, 24)),
    ("v21.0", dt.date(2024, 10, 2), dt.date(2027, 1, 21)),
    ("v22.0", dt.date(2025, 1, 21), dt.date(2027, 5, 20)),
    ("v23.0", dt.date(2025, 5, 29), dt.date(2027, 10, 8)),
    ("v24.0", dt.date(2025, 10, 8), dt.date(2028, 2, 18)),
    ("v25.0", dt.date(2026, 2, 18), dt.date(2028, 7, 29)),
    ("v26.0", dt.date(2026, 7, 29), None),
)

_VERSION = re.compile(r"v\d+\.\d+")

#: messages of the throttling codes (error-handling guide; 80001's text from the Photo
#: reference's error table, 80002 by the same pattern for Instagram accounts)
THROTTLE_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80001: "(#80001) There have been too many calls to this Page account. Wait a bit and try "
           "again. For more info, please refer to "
           "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
    80002: "(#80002) There have been too many calls to this Instagram account. Wait a bit and "
           "try again. For more info, please refer to "
           "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
}


def usable(version: str, on: dt.date) -> bool:
    """Whether ``version`` is released and not yet past its "available until" date."""
    for name, released, until in VERSIONS:
        if name == version:
            return released <= on and (until is None or on < until)
    return False


def serving_version(asked: str | None, on: dt.date) -> str | None:
    """The version that answers a request for ``asked`` on day ``on``: itself while usable, the
    oldest usable one once it has expired (or when no version is given); None when Graph has
    never released ``asked``."""
    oldest = next(name for name, _, _ in VERSIONS if usable(name, on))
    if asked is None:
        return oldest
    known = {name: released for name, released, _ in VERSIONS}
    if asked not in known or known[asked] > on:
        return None
    return asked if usable(asked, on) else oldest


def graph_time(moment: dt.datetime) -> str:
    """Graph's timestamps: ``2027-04-09T08:00:02+0000``."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")


class GraphError(Exception):
    """A Graph error answer; ``response()`` is what the client receives."""

    _trace = itertools.count(1)

    def __init__(self, code: int, message: str, *, status: int = 400,
                 kind: str = "OAuthException", subcode: int | None = None,
                 user_title: str | None = None, user_msg: str | None = None,
                 transient: bool | None = None, headers: dict | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.kind = code, message, status, kind
        self.subcode, self.user_title, self.user_msg = subcode, user_title, user_msg
        self.transient, self.headers = transient, dict(headers or {})

    def payload(self) -> dict:
        error: dict = {"message": self.message, "type": self.kind, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.transient is not None:
            error["is_transient"] = self.transient
        if self.user_title:
            error["error_user_title"] = self.user_title
        if self.user_msg:
            error["error_user_msg"] = self.user_msg
        error["fbtrace_id"] = f"AtwinTrace{next(self._trace):06d}"
        return {"error": error}

    def response(self) -> TwinResponse:
        return TwinResponse(self.status, self.payload(), None, self.headers)


def transient_payload(code: int = 2) -> dict:
    """A Graph-shaped body for a planted ``Fault(..., "refuse", status=503)`` on Graph (the
    default planted body, {"error": "planted fault"}, is not what Graph sends)."""
    return GraphError(code, "(#2) Service temporarily unavailable", status=503,
                      transient=True).payload()


def missing(method: str, node: str) -> GraphError:
    """Graph's answer for an object that does not exist (or no longer does) for this token."""
    return GraphError(
        100, f"Unsupported {method.lower()} request. Object with ID '{node}' does not exist, "
        "cannot be loaded due to missing permissions, or does not support this operation. "
        "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        kind="GraphMethodException", subcode=33)


def required(name: str) -> GraphError:
    return GraphError(100, f"(#100) The parameter {name} is required")


def invalid(detail: str, *, subcode: int | None = None) -> GraphError:
    """Code 100 "Invalid parameter" (the generic refusal of every reference's error table)."""
    return GraphError(100, "(#100) Invalid parameter", subcode=subcode, user_msg=detail)


def expired_token(now: dt.datetime) -> GraphError:
    return GraphError(190, "Error validating access token: Session has expired on "
                      f"{now:%A, %d-%b-%y %H:%M:%S} UTC. The current time is "
                      f"{now:%A, %d-%b-%y %H:%M:%S} UTC.", subcode=463)


def throttled(code: int, account_id: str, kind: str, minutes: float) -> GraphError:
    usage = {account_id: [{"type": kind, "call_count": 100, "total_cputime": 12,
                           "total_time": 14, "estimated_time_to_regain_access": minutes}]}
    return GraphError(code, THROTTLE_MESSAGES[code],
                      headers={"X-Business-Use-Case-Usage": json.dumps(usage)})


@dataclasses.dataclass
class Throttle:
    """Knob: the next ``calls`` requests of an account answer throttling ``code``."""

    code: int
    calls: int = 1
    minutes: float = 15


@dataclasses.dataclass(frozen=True)
class GraphCall:
    """One request, parsed: the version that serves it, the node, edge and token."""

    request: TwinRequest
    method: str
    version: str
    node: str
    edge: str | None
    token: str

    def arg(self, name: str, default: str | None = None) -> str | None:
        return self.request.arg(name, default)

    def fields(self, default: Iterable[str]) -> list[str]:
        raw = self.arg("fields")
        return [f.strip() for f in raw.split(",") if f.strip()] if raw else list(default)

    def limit(self, default: int = 25) -> int:
        try:
            return max(1, int(self.arg("limit") or default))
        except ValueError:
            return default

    def timestamp_arg(self, name: str) -> float | None:
        value = self.arg(name)
        try:
            return float(value) if value not in (None, "") else None
        except ValueError:
            return None


class GraphTenant(Protocol):
    """A twin living on graph.facebook.com."""

    def graph_knows(self, token: str) -> bool:
        """Whether ``token`` is one of this twin's accounts' tokens."""

    def graph_serve(self, call: GraphCall) -> TwinResponse | None:
        """The answer, or None when ``call.node`` is none of this token's objects."""


def pick(values: dict, fields: Iterable[str]) -> dict:
    """The requested fields that the object has (Graph omits absent fields), id always."""
    out = {"id": values["id"]} if "id" in values else {}
    for name in fields:
        if name in values and values[name] is not None:
            out[name] = values[name]
    return out


def page_of(items: list[dict], limit: int) -> dict:
    """A list answer with Graph's cursor paging."""
    data = items[:limit]
    answer: dict = {"data": data}
    if data:
        answer["paging"] = {"cursors": {"before": "QVFIUmJlZm9yZQ", "after": "QVFIUmFmdGVy"}}
    return answer


class GraphHost:
    """The one graph.facebook.com of an ``Http``: routes every request to a tenant twin."""

    def __init__(self, clock: TwinClock) -> None:
        self.clock = clock
        self.tenants: list[GraphTenant] = []
        self._lock = threading.Lock()

    @classmethod
    def attach(cls, http: Http, clock: TwinClock) -> "GraphHost":
        """The host of ``http``, created (and its routes installed) on first use."""
        with http._lock:
            host = getattr(http, "_graph_host", None)
            if host is None:
                host = cls(clock)
                http._graph_host = host  # type: ignore[attr-defined]
                for method in ("GET", "POST", "DELETE"):
                    http.route(method, re.escape(GRAPH) + r"/(?P<path>[^?]+)", host.serve)
        return host

    def join(self, tenant: GraphTenant) -> None:
        with self._lock:
            if tenant not in self.tenants:
                self.tenants.append(tenant)

    def serve(self, request: TwinRequest) -> TwinResponse:
        try:
            return self._serve(request)
        except GraphError as error:
            return error.response()

    def _serve(self, request: TwinRequest) -> TwinResponse:
        segments = [s for s in request.match["path"].split("/") if s]
        asked = segments.pop(0) if segments and _VERSION.fullmatch(segments[0]) else None
        version = serving_version(asked, self.clock.now().date())
        if version is None:
            raise GraphError(2500, "Unknown path components: /" + "/".join(segments))
        token = self._token(request)
        if not token:
            raise GraphError(104, "An access token is required to request this resource.")
        with self._lock:
            tenant = next((t for t in self.tenants if t.graph_knows(token)), None)
        if tenant is None:
            raise GraphError(190, "Invalid OAuth access token - Cannot parse access token")
        if not segments or len(segments) > 2:
            raise GraphError(2500, "Unknown path components: /" + "/".join(segments[1:]))
        call = GraphCall(request, request.method, version, segments[0],
                         segments[1] if len(segments) > 1 else None, token)
        reply = tenant.graph_serve(call)
        if reply is None:
            raise missing(request.method, call.node)
        return dataclasses.replace(reply, headers={**reply.headers,
                                                   "facebook-api-version": version})

    @staticmethod
    def _token(request: TwinRequest) -> str | None:
        header = request.header("authorization") or ""
        match = re.match(r"(?i)(?:bearer|oauth)\s+(\S+)", header)
        return match.group(1) if match else request.arg("access_token")
