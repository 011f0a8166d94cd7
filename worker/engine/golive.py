"""Go-live announcements: never announce what the official source does not show yet.

A ``golive`` job (e.g. "the application form is open") is only published once its
``official_url`` answers 2xx (and contains the expected text, when configured). Until then the
job is ``held`` with reason ``golive_waiting`` and re-checked every ``interval``; after
``window`` without success it fails with an alert, so a human looks at it.

The check goes through ``worker.net.fetch``: a URL the network policy refuses (an internal
address, a scheme other than http(s), too many redirects, a redirect to an internal address)
is not "not live yet", and waiting will not change it. The gate holds such a job with reason
``golive_refused`` and an alert instead (see ``worker.engine.gates.GoLive``).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from worker.net import fetch as netfetch
from worker.net.guard import NetPolicy

USER_AGENT = "pregonero-golive-check/1"
#: where an operator allows internal pages, as the refusal's hint names it
ALLOW_LIST = "config/policies.yaml network.allow_hosts"


@dataclasses.dataclass(frozen=True)
class LiveCheck:
    live: bool
    detail: str
    #: the network policy forbids the check: re-checking will not change that
    refused: bool = False


def check_live(url: str | None, expect_text: str | None = None, timeout_s: float = 5.0,
               session=None, *, policy: NetPolicy = NetPolicy(),
               resolve: netfetch.Resolve | None = None) -> LiveCheck:
    """GET the official page as ``policy`` allows; live = 2xx and (if given) ``expect_text``
    in the body (its first ``policy.max_body_bytes``). ``timeout_s`` bounds the whole check,
    redirects included. ``session``: a ``netfetch.guarded_session()`` for this one check
    (None: a fresh one); ``resolve``: see ``netfetch.fetch``."""
    if not url:
        return LiveCheck(False, "no official_url")
    result = netfetch.fetch(url, policy=policy, timeout_s=timeout_s, session=session,
                            resolve=resolve, headers={"User-Agent": USER_AGENT})
    if result.refusal is not None:
        return LiveCheck(False, refusal_detail(result), refused=True)
    if result.error is not None:
        return LiveCheck(False, result.error[:200])
    if not 200 <= result.status < 300:
        return LiveCheck(False, f"HTTP {result.status}")
    if expect_text and expect_text not in result.text:
        where = f" in its first {len(result.text.encode())} bytes" if result.truncated else ""
        return LiveCheck(False, f"HTTP {result.status} but expected text not found{where}")
    return LiveCheck(True, f"HTTP {result.status}")


def refusal_detail(result: netfetch.FetchResult) -> str:
    """The refusal as on-call staff read it: which URL (which hop), why, and the fix."""
    if result.refusal.code == "url-internal":
        fix = (f"allow-list {result.refusal.host} in {ALLOW_LIST} if it is an internal page on "
               "purpose; otherwise fix check_url in the calendar")
    elif result.refusal.code == "url-redirects":
        fix = "point check_url at the page the redirects end on"
    else:
        fix = "fix check_url in the calendar"
    return f"check_url {result.refused}; {fix}"


@dataclasses.dataclass(frozen=True)
class Decision:
    action: Literal["publish", "wait", "give_up"]
    recheck_ms: int | None = None


def decide(live: bool, now_ms: int, since_ms: int, interval_ms: int, window_ms: int) -> Decision:
    """Pure: what to do after a check that started waiting at ``since_ms``."""
    if live:
        return Decision("publish")
    if now_ms - since_ms >= window_ms:
        return Decision("give_up")
    return Decision("wait", min(now_ms + interval_ms, since_ms + window_ms))
