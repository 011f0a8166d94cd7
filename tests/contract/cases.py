"""The adapter contract table: every platform adapter runs through these same cases, through
its real client library, with HTTP intercepted underneath (``responses`` for requests-based
clients, ``respx`` for httpx-based ones).

A platform's test module provides, for each case name, the HTTP answers to install (shaped like
the platform's documented responses) and runs ``CASES`` with ``run_case``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import urllib.parse
from typing import Callable

import requests
import urllib3

from adapters.base import (AdapterError, AuthError, Duplicate, NotSupported, OutcomeUnknown,
                           PostRef, PostRequest, RateLimited, Rejected, Unavailable)

TOKEN = "tok-SECRET-never-in-logs-123456"
DUE = dt.datetime(2027, 4, 9, 8, 0, tzinfo=dt.timezone.utc)


@dataclasses.dataclass(frozen=True)
class Case:
    """One row: the operation, and what the adapter must do with the platform's answer."""

    name: str
    operation: str  # publish | correct | reply | retract | lookup | verify
    expect: type | None  # the AdapterError subclass expected, None for success
    why: str


CASES: tuple[Case, ...] = (
    Case("publish_ok", "publish", None, "a post is created and its id and URL returned"),
    Case("rate_limited", "publish", RateLimited, "429 with a reset becomes RateLimited(retry_after_s)"),
    Case("server_error", "publish", Unavailable, "5xx is retryable"),
    Case("connection_refused", "publish", Unavailable, "nothing was sent: retryable"),
    Case("timeout_after_send", "publish", OutcomeUnknown, "a read timeout: outcome unknown"),
    Case("bad_credentials", "publish", AuthError, "401 becomes AuthError"),
    Case("rejected_content", "publish", Rejected, "the platform refuses the content"),
    Case("duplicate", "publish", Duplicate, "the platform says it already has this post"),
    Case("edit_ok", "correct", None, "edit in place where the platform can"),
    Case("reply_ok", "reply", None, "a reply under the original"),
    Case("delete_ok", "retract", None, "the post is deleted"),
    Case("lookup_found", "lookup", None, "after an unknown outcome the post is found"),
    Case("lookup_missing", "lookup", None, "after an unknown outcome: no post, lookup says None"),
    Case("verify_ok", "verify", None, "credentials are checked with the platform"),
)

EXPECTED_ERRORS = (AdapterError, AuthError, Duplicate, NotSupported, OutcomeUnknown, RateLimited,
                   Rejected, Unavailable)


def request(action: str = "publish", *, target: PostRef | None = None, text: str | None = None,
            account: str = "x:ayto-test", language: str = "es") -> PostRequest:
    return PostRequest(job_id="cal/entry/" + account + "/" + language, account=account,
                       action=action,  # type: ignore[arg-type]
                       text=text or "El plazo termina el viernes, 9 de abril de 2027.",
                       language=language, idempotency_key="cal/entry/acc/es#abc123", due=DUE,
                       target=target)


def run_case(case: Case, operation: Callable[[], object]):
    """Run ``operation`` and check it against ``case``; returns the operation's result."""
    import pytest

    if case.expect is None:
        return operation()
    with pytest.raises(case.expect) as info:
        operation()
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)
    assert info.value.__cause__ is not None or case.expect in (NotSupported,), \
        "library errors are wrapped with raise ... from"
    return info.value


def secret_guard(*secrets: str):
    """An autouse fixture for a platform's test module (``no_token_anywhere =
    secret_guard(TOKEN)``): every test runs with DEBUG logging captured, and no secret may
    appear in any log record or on stdout/stderr."""
    import logging

    import pytest

    @pytest.fixture(autouse=True)
    def no_secret_anywhere(caplog, capsys):
        caplog.set_level(logging.DEBUG)
        yield
        assert_no_secret_anywhere(caplog, capsys, secrets)

    return no_secret_anywhere


def assert_no_secret_anywhere(caplog, capsys, secrets=(TOKEN,)) -> None:
    """No secret in any log record of any test phase, nor on stdout/stderr. (``caplog.text``
    in a fixture's teardown holds teardown records only: read every phase's records.)"""
    import logging

    formatter = logging.Formatter("%(name)s %(message)s")
    for when in ("setup", "call", "teardown"):
        for record in caplog.get_records(when):
            message = formatter.format(record)
            assert not any(secret in message for secret in secrets), record.name
    out, err = capsys.readouterr()
    assert not any(secret in out + err for secret in secrets)


# --- what the requests-based clients meet, for tests intercepting them with ``responses`` -------

def refused(path: str = "/") -> requests.ConnectionError:
    """What requests raises when nothing listens: MaxRetryError(reason=NewConnectionError)."""
    reason = urllib3.exceptions.NewConnectionError(
        None, "Failed to establish a new connection: [Errno 111] Connection refused")
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, path, reason))


def form(call) -> dict:
    """The form-encoded body of a request ``responses`` recorded, as a flat dict."""
    return dict(urllib.parse.parse_qsl(call.request.body))
