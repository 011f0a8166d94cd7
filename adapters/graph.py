"""The Graph API client shared by Facebook Pages and Instagram: facebook-sdk's ``GraphAPI`` on
a current Graph version, the token in a header, and Graph errors mapped onto adapter errors.

facebook-sdk 3.1 only accepts Graph versions up to 3.1 in its constructor, so every call goes
through ``GraphAPI.request`` with a full path (``"v26.0/{id}/feed"``); the SDK prefixes
``https://graph.facebook.com/`` (Instagram with Facebook Login lives on the same host).

The access token travels in an ``Authorization: Bearer`` header set on the session, not in the
SDK's ``access_token`` query parameter: a token in the URL ends up in urllib3's debug log
("GET /v26.0/me?access_token=..."), in requests' connection error messages and in proxy logs.

The version is the account's ``options.graph_version`` (default: a current one from
``adapters.api_versions``, which also says when each version is retired: Meta then answers a
retired version's calls with the oldest version still available, so only ``accounts check``
can tell in time).

Mapping of Graph errors onto the adapter errors (``adapters.base``):

* codes 4, 9, 17, 32, 613, 80001, 80002 (rate limits) -> ``RateLimited``; ``retry_after_s`` from the
  ``estimated_time_to_regain_access`` (minutes) of X-Business-Use-Case-Usage / X-App-Usage.
* 190 (expired/invalid token), 102, 10 and 200-299 (permissions) -> ``AuthError``.
* 2635 ("you are calling a deprecated version") -> ``VersionRetired``, an account alert.
* 506 (duplicate post) -> ``Duplicate``; 100 (invalid parameter) and other 4xx -> ``Rejected``.
* 1, 2, ``is_transient`` errors and HTTP 5xx -> ``Unavailable``.
* requests' read timeout (or a connection dropped after sending) on a write ->
  ``OutcomeUnknown``; connection refused / connect timeout -> ``Unavailable``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading

import facebook
import requests

from .api_versions import GRAPH
from .base import (AdapterError, AuthError, Duplicate, OutcomeUnknown, RateLimited, Rejected,
                   Unavailable, VersionRetired)
from .credentials import Secret, mask_secrets
from .requests_errors import may_have_arrived

__all__ = ["GraphClient", "DEFAULT_GRAPH_VERSION", "check_graph_version"]

DEFAULT_GRAPH_VERSION = GRAPH.default
#: Graph's "You are calling a deprecated version of the ... API"
_VERSION_RETIRED_CODES = {2635}
#: 9 is Instagram's "reached the publishing limit" (subcode 2207042), 80002 the Business Use
#: Case limit of Instagram Platform calls, the others Graph's
_RATE_LIMIT_CODES = {4, 9, 17, 32, 613, 80001, 80002}
_AUTH_CODES = {190, 102, 10}
_TRANSIENT_CODES = {1, 2}
_USAGE_HEADERS = ("x-business-use-case-usage", "x-app-usage", "x-page-usage")


def check_graph_version(account_ref: str, version: object) -> str:
    """The account's Graph version as a string; ValueError when it is not like ``v21.0``."""
    value = str(version or DEFAULT_GRAPH_VERSION)
    if not re.fullmatch(r"v\d+\.\d+", value):
        raise ValueError(f"account {account_ref}: graph_version must look like "
                         f"'{DEFAULT_GRAPH_VERSION}'")
    return value


class GraphClient:
    """One token on the Graph API. ``name`` ("Facebook", "Instagram") prefixes error messages."""

    def __init__(self, name: str, token: Secret, *, timeout_s: float, graph_version: str,
                 extra_secrets: tuple[Secret, ...] = (), host: str | None = None) -> None:
        self.name = name
        self.graph_version = graph_version
        #: another Graph host (Threads: https://graph.threads.net); None: facebook-sdk's
        self.host = host.rstrip("/") if host else None
        self.timeout_s = timeout_s
        self.secrets = (token, *extra_secrets)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token.reveal()}"
        # keep each thread's last response: GraphAPIError carries the body, not the headers
        self._last = threading.local()
        session.hooks["response"].append(self._remember)
        self.graph = facebook.GraphAPI(access_token=None, timeout=timeout_s, session=session)

    def __repr__(self) -> str:
        return f"GraphClient({self.name!r}, {self.graph_version})"

    def call(self, operation: str, path: str, *, args: dict | None = None,
             post_args: dict | None = None, method: str | None = None, files=None,
             write: bool = False) -> dict:
        """One Graph request on ``{version}/{path}``, its failures turned into adapter errors.

        ``write`` says whether the request can change something on the platform: only then is
        a read timeout an unknown outcome (a timed-out read is simply retryable)."""
        self._last.response = None
        try:
            if self.host is not None:
                result = self._request_on_host(path, args, post_args, method, files)
            else:
                result = self.graph.request(f"{self.graph_version}/{path}", args=args,
                                            post_args=post_args, method=method, files=files)
        except (facebook.GraphAPIError, requests.RequestException, KeyError, ValueError) as exc:
            raise self.error(operation, exc, write=write) from exc
        return result if isinstance(result, dict) else {}

    def delete(self, operation: str, object_id: str) -> None:
        """``DELETE /{object_id}``; an object already gone (Graph 100/33: an earlier attempt
        whose answer was lost, or a person in the app) counts as done: what the deletion
        wanted is so."""
        try:
            self.call(operation, object_id, method="DELETE", write=True)
        except Rejected as exc:
            if error_codes(exc) != GONE:
                raise

    def _request_on_host(self, path: str, args, post_args, method, files):
        """What facebook-sdk's ``GraphAPI.request`` does, on ``self.host`` (facebook-sdk can
        only reach graph.facebook.com): the same answers, the same ``GraphAPIError``."""
        method = method or ("POST" if post_args is not None or files else "GET")
        response = self.graph.session.request(
            method, f"{self.host}/{self.graph_version}/{path}", params=args,
            data=post_args, files=files, timeout=self.timeout_s)
        try:
            result = response.json()
        except ValueError:
            raise facebook.GraphAPIError("Maintype was not text, image, or querystring") \
                from None
        if isinstance(result, dict) and result.get("error"):
            raise facebook.GraphAPIError(result)
        if response.status_code >= 400:
            raise facebook.GraphAPIError(result if isinstance(result, dict) else
                                         {"error": {"message": response.text[:200]}})
        return result

    def _remember(self, response: requests.Response, *args, **kwargs) -> None:
        self._last.response = response

    def error(self, operation: str, exc: Exception, *, write: bool) -> AdapterError:
        """The adapter error for a failed Graph request (see the module docstring)."""
        message = mask_secrets(f"{self.name} {operation} failed ({type(exc).__name__}): {exc}",
                               self.secrets)
        response = getattr(self._last, "response", None)
        status = response.status_code if response is not None else None
        if isinstance(exc, requests.RequestException):
            if write and may_have_arrived(exc):
                return OutcomeUnknown(message)
            return Unavailable(message)
        code = getattr(exc, "code", None)
        error = exc.result.get("error") if isinstance(getattr(exc, "result", None), dict) \
            else None
        if not isinstance(error, dict):  # a proxy's or gateway's JSON, not a Graph error
            error = {}
        if code in _RATE_LIMIT_CODES:
            return RateLimited(message, retry_after_s=regain_access_s(response))
        if code in _AUTH_CODES or (isinstance(code, int) and 200 <= code <= 299):
            return AuthError(message)
        if code in _VERSION_RETIRED_CODES:
            return VersionRetired(f"{message}; set options.graph_version to {GRAPH.default} "
                                  "(pregonero accounts check)")
        if code == 506:
            return Duplicate(message)
        if code in _TRANSIENT_CODES or error.get("is_transient"):
            return Unavailable(message)
        if status is not None and status >= 500:
            return Unavailable(message)
        if code is None and status is not None and 200 <= status < 300 and write:
            # accepted but the answer was not readable: the post may well exist
            return OutcomeUnknown(message)
        if code is None and status is None:
            return Unavailable(message)
        return Rejected(message)


#: Graph's "Unsupported ... request. Object with ID ... does not exist" (code 100, subcode 33):
#: answered to a DELETE of an object already deleted
GONE = (100, 33)


def graph_time(value: object) -> dt.datetime | None:
    """A Graph timestamp (``2027-04-09T08:00:02+0000``), None when absent or unreadable."""
    if not value:
        return None
    try:
        return dt.datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None


def error_codes(exc: BaseException) -> tuple[object, object]:
    """(code, subcode) of the Graph error behind an adapter error, (None, None) if none."""
    cause = exc.__cause__ if isinstance(exc, AdapterError) else exc
    result = getattr(cause, "result", None)
    error = result.get("error") if isinstance(result, dict) else None
    if not isinstance(error, dict):
        return getattr(cause, "code", None), None
    return error.get("code"), error.get("error_subcode")


def regain_access_s(response: requests.Response | None) -> float | None:
    """Seconds until access returns, from the usage headers' ``estimated_time_to_regain_access``
    (minutes). X-Business-Use-Case-Usage maps ids to lists of usages; X-App-Usage is flat."""
    if response is None:
        return None
    minutes: list[float] = []
    for name in _USAGE_HEADERS:
        raw = response.headers.get(name)
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        entries = [data] if isinstance(data, dict) and "call_count" in data else [
            item for value in (data.values() if isinstance(data, dict) else ())
            for item in (value if isinstance(value, list) else [value])]
        for entry in entries:
            if isinstance(entry, dict) and entry.get("estimated_time_to_regain_access"):
                minutes.append(float(entry["estimated_time_to_regain_access"]))
    return max(minutes) * 60 if minutes else None
