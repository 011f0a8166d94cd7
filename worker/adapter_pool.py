"""The adapters a worker publishes through: one per account, rebuilt when what it was built
from changes.

A service runs for months. Meanwhile a token expires and someone renews it (a new secret file
from the vault, a Docker or Kubernetes secret rotated in place), or an account is added to
``config/accounts.yaml`` together with the calendar that uses it (the sync reads the new
config at once). An adapter built once would keep the old token, or not know the new account,
and every post would fail until someone restarts the worker; ``pregonero retry`` after a
renewal would fail again. So the pool re-reads ``config/`` when its files change (a stat of
three files, at most once a second) and rebuilds an account's adapter when its entry or one of
its secret files changes. A config that no longer loads leaves the last good one in use
(logged): a typo must not stop what is already scheduled.

Secrets given as environment variables cannot change under a running process; a restart
picks them up, as for any process.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from pathlib import Path
from typing import Callable

import structlog

from adapters import make_adapter
from adapters.accounts import AccountConfig
from worker.config import Config, ConfigError, load_config
from worker.jobs import Job

log = structlog.get_logger("pregonero.adapters")

CONFIG_FILES = ("accounts.yaml", "departments.yaml", "policies.yaml")


def _file_stamp(path: Path) -> tuple | None:
    """What changes when a file is replaced or rewritten (a rotated secret: a new inode via a
    symlink swap, or new contents in place); None when it is missing."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _secret_files(account: AccountConfig) -> tuple:
    return tuple((name, _file_stamp(Path(str(spec["file"]))))
                 for name, spec in sorted(account.credentials.items()) if "file" in spec)


class AdapterPool:
    """``pool(job)`` is the adapter of the job's account (see module doc)."""

    def __init__(self, home: Path, config_dir: Path, transport: str | None = None, *,
                 recheck_s: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 make: Callable = make_adapter):
        self.home, self.config_dir, self.transport = home, Path(config_dir), transport
        self._recheck_s, self._clock, self._make = recheck_s, clock, make
        self._lock = threading.Lock()
        # a worker does not start on a broken config: there is no last good one yet
        self._config = load_config(self.config_dir)
        self._stamp = self._config_stamp()
        self._checked = clock()
        #: account ref -> (what the adapter was built from, the adapter)
        self._adapters: dict[str, tuple[tuple, object]] = {}

    def __call__(self, job: Job):
        with self._lock:
            self._refresh_config()
            account = self._config.accounts.get(job.account)
            if account is None:
                raise KeyError(f"account {job.account} is not in accounts.yaml")
            if self.transport:
                account = dataclasses.replace(account, transport=self.transport)
            built_from = (account, self._default_transport(), _secret_files(account))
            cached = self._adapters.get(job.account)
            if cached is not None and cached[0] == built_from:
                return cached[1]
            if cached is not None:
                log.info("adapter_rebuilt", account=job.account,
                         why="its configuration or a secret file changed")
            adapter = self._make(account, built_from[1], home=self.home)
            self._adapters[job.account] = (built_from, adapter)
            return adapter

    def _default_transport(self) -> str:
        return os.environ.get("PREGONERO_TRANSPORT") or self._config.transport_default

    def _config_stamp(self) -> tuple:
        return tuple(_file_stamp(self.config_dir / name) for name in CONFIG_FILES)

    def _refresh_config(self) -> None:
        now = self._clock()
        if now - self._checked < self._recheck_s:
            return
        self._checked = now
        stamp = self._config_stamp()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            config: Config = load_config(self.config_dir)
        except ConfigError as exc:
            log.error("config_unreadable_keeping_last_good", findings=len(exc.findings),
                      first=exc.findings[0].format() if exc.findings else "", alert=True)
            return
        except OSError as exc:  # a file replaced while being read: the next check reads it
            self._stamp = None
            log.warning("config_reload_failed", reason=str(exc))
            return
        self._config = config
        log.info("config_reloaded", accounts=len(config.accounts))
