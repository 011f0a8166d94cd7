"""The configuration as a long-running process sees it: read again when ``config/`` changes.

The dispatcher's quiet-period gate and the worker's adapters run for months while people edit
``config/`` (an election campaign declared, an account added). Each asks ``current()`` when it
needs the configuration; at most once per ``every_s`` that stats the three files and reloads
them if one changed. A configuration that no longer loads leaves the last good one in use,
with an alert: a typo must neither let a quiet period lapse nor stop what is scheduled.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable

import structlog

from worker.config import load_config
from worker.config_model import Config

log = structlog.get_logger("pregonero.config")

CONFIG_FILES = ("accounts.yaml", "departments.yaml", "policies.yaml")


def file_stamp(path: Path) -> tuple | None:
    """What changes when a file is rewritten in place or replaced by another (a new inode,
    as Docker and Kubernetes swap secrets); None when it is missing."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class ConfigWatch:
    """``current()``: the last good configuration of ``config_dir`` (None before any)."""

    def __init__(self, config_dir: Path, *, every_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, initial: Config | None = None):
        self.config_dir = Path(config_dir)
        self.every_s = every_s
        self._clock = clock
        self._config = initial
        # with an initial config its files are taken as read; without, the first call reads
        self._stamp = self._files_stamp() if initial is not None else None
        self._checked = clock() if initial is not None else None
        self._lock = threading.Lock()

    def current(self) -> Config | None:
        with self._lock:
            now = self._clock()
            if self._checked is not None and now - self._checked < self.every_s:
                return self._config
            self._checked = now
            stamp = self._files_stamp()
            if stamp != self._stamp:
                self._reload(stamp)
            return self._config

    def _files_stamp(self) -> tuple:
        return tuple(file_stamp(self.config_dir / name) for name in CONFIG_FILES)

    def _reload(self, stamp: tuple) -> None:
        try:
            config = load_config(self.config_dir)
        except OSError as exc:  # a file replaced while being read: read it at the next check
            log.warning("config_reload_failed", reason=str(exc)[:300])
            return
        except Exception as exc:  # ConfigError and anything else: keep the last good one
            self._stamp = stamp
            log.error("config_unreadable_keeping_last_good", reason=str(exc)[:300], alert=True)
            return
        first = self._stamp is None
        self._stamp, self._config = stamp, config
        if not first:
            log.info("config_reloaded", accounts=len(config.accounts),
                     quiet_periods=len(config.quiet_periods))
