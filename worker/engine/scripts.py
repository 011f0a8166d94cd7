"""The Lua scripts behind ``worker.engine.store``, one ``.lua`` file each in ``lua/``.

Each script checks the expected current state (and, where it matters, the attempt id or
dispatch token) and writes the audit entry in the same atomic step, so a transition and its
audit line can never be separated and two processes can never both win the same transition.
Each file starts with its contract (KEYS, ARGV, what it returns). Job keys are built inside
the scripts from the prefix passed in ARGV: this is fine on a single Redis (our deployment),
not on Redis Cluster.

The files are read once per process; ``Store`` registers them once per client (redis-py then
calls them by SHA and loads them again only if the server has forgotten them).
"""

from __future__ import annotations

import functools
from importlib import resources

#: every script, by the name the store calls it by
NAMES = ("transition", "claim_due", "reap", "heartbeat", "correction_start", "correction_finish")


@functools.cache
def source(name: str) -> str:
    """The text of ``lua/<name>.lua``."""
    if name not in NAMES:
        raise KeyError(f"no Lua script named {name!r} (known: {', '.join(NAMES)})")
    return resources.files(__package__).joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")
