"""The adapters a worker publishes through: one per account, rebuilt when what it was built
from changes.

A service runs for months. Meanwhile a token expires and someone renews it (a new secret file
from the vault, a Docker or Kubernetes secret rotated in place), or an account is added to
``config/accounts.yaml`` together with the calendar that uses it (the sync reads the new
config at once). An adapter built once would keep the old token, or not know the new account,
and every post would fail until someone restarts the worker; ``pregonero retry`` after a
renewal would fail again. So the pool reads ``config/`` through a ``ConfigWatch`` (reloaded
when it changes; a broken one leaves the last good one in use) and rebuilds an account's
adapter when its entry or one of its secret files changes (a stat per post: cheap).

Secrets given as environment variables cannot change under a running process; a restart
picks them up, as for any process.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Callable

import structlog

from adapters.factory import make_adapter
from adapters.accounts import AccountConfig
from worker.config import load_config
from worker.config_watch import ConfigWatch, file_stamp
from worker.jobs import Job

log = structlog.get_logger("pregonero.adapters")


def _secret_files(account: AccountConfig) -> tuple:
    return tuple((name, file_stamp(Path(str(spec["file"]))))
                 for name, spec in sorted(account.credentials.items()) if "file" in spec)


class AdapterPool:
    """``pool(job)`` is the adapter of the job's account (see module doc)."""

    def __init__(self, home: Path, config_dir: Path, transport: str | None = None, *,
                 default_transport: str | None = None, recheck_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, make: Callable = make_adapter):
        """``transport``: forced on every account (the demo's outbox); ``default_transport``:
        the deployment's default ($PREGONERO_TRANSPORT, ``worker.settings``) for accounts
        that set none, else config/'s."""
        self.home, self.transport, self._make = home, transport, make
        self.default_transport = default_transport
        self._lock = threading.Lock()
        # a worker does not start on a broken config: there is no last good one yet
        self._watch = ConfigWatch(config_dir, every_s=recheck_s, clock=clock,
                                  initial=load_config(config_dir))
        #: account ref -> (what the adapter was built from, the adapter)
        self._adapters: dict[str, tuple[tuple, object]] = {}

    def __call__(self, job: Job):
        config = self._watch.current()
        with self._lock:
            account = config.accounts.get(job.account)
            if account is None:
                raise KeyError(f"account {job.account} is not in accounts.yaml")
            if self.transport:
                account = dataclasses.replace(account, transport=self.transport)
            default = self.default_transport or config.transport_default
            built_from = (account, default, _secret_files(account))
            cached = self._adapters.get(job.account)
            if cached is not None and cached[0] == built_from:
                return cached[1]
            if cached is not None:
                log.info("adapter_rebuilt", account=job.account,
                         why="its configuration or a secret file changed")
            adapter = self._make(account, default, home=self.home)
            self._adapters[job.account] = (built_from, adapter)
            return adapter
