"""What a failed HTTP request (requests/urllib3) says about whether it reached the platform."""

from __future__ import annotations

import requests
import urllib3


def may_have_arrived(exc: Exception) -> bool:
    """Whether a failed request may have reached the platform, so a write may have taken
    effect: a read timeout, a connection dropped mid-answer or a truncated answer yes; a
    connect timeout or a refused or unresolvable connection never sent anything."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, (requests.ReadTimeout, requests.exceptions.ChunkedEncodingError)):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        return isinstance(reason, urllib3.exceptions.ProtocolError)
    return False
