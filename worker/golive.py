"""Go-live announcements: never announce what the official source does not show yet.

A ``golive`` job (e.g. "the application form is open") is only published once its
``official_url`` answers 2xx (and contains the expected text, when configured). Until then the
job is ``held`` with reason ``golive_waiting`` and re-checked every ``interval``; after
``window`` without success it fails with an alert, so a human looks at it.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import requests

USER_AGENT = "pregonero-golive-check/1"


@dataclasses.dataclass(frozen=True)
class LiveCheck:
    live: bool
    detail: str


def check_live(url: str | None, expect_text: str | None = None, timeout_s: float = 5.0,
               session: requests.Session | None = None) -> LiveCheck:
    """GET the official page; live = 2xx and (if given) ``expect_text`` in the body."""
    if not url:
        return LiveCheck(False, "no official_url")
    getter = session or requests
    try:
        response = getter.get(url, timeout=timeout_s, headers={"User-Agent": USER_AGENT},
                              allow_redirects=True)
    except requests.RequestException as exc:
        return LiveCheck(False, f"{type(exc).__name__}: {exc}"[:200])
    if not 200 <= response.status_code < 300:
        return LiveCheck(False, f"HTTP {response.status_code}")
    if expect_text and expect_text not in response.text:
        return LiveCheck(False, f"HTTP {response.status_code} but expected text not found")
    return LiveCheck(True, f"HTTP {response.status_code}")


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
