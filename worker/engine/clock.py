"""The engine's instants: epoch milliseconds, as Redis scores and job fields hold them.

``now_ms`` is the one clock read of the engine's bookkeeping (tests that need another "now"
pass instants in rather than patch it)."""

from __future__ import annotations

import datetime as dt
import time


def now_ms() -> int:
    return int(time.time() * 1000)


def to_ms(moment: dt.datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    return int(round(moment.timestamp() * 1000))


def ms_to_iso(ms: int | str) -> str:
    """Epoch milliseconds as UTC ISO 8601 to the second, as the CLI prints stored instants."""
    return dt.datetime.fromtimestamp(int(ms) / 1000, dt.timezone.utc).isoformat(timespec="seconds")
