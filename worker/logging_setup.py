"""Logging for the long-running commands (run, worker, dispatcher, demo).

One canonical structlog line per outcome (``post_published`` with ``lateness_ms``, ...),
rendered for people on a terminal and as JSON lines otherwise (journald, docker, files), so
operators can grep and machines can parse. Standard-library loggers (dramatiq, redis,
urllib3) go through the same renderer and the same masking.

Masking: a credential must never reach a log, whatever an adapter or a library puts in an
exception message. Two nets, applied to the rendered line (so tracebacks are covered too):
every value ``adapters.credentials.resolve_secret`` has handed out in this process, and
anything shaped like a bearer token or a token in a URL.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Any, TextIO

import structlog

from adapters.credentials import Secret, resolved_secrets

MASK = "***"
#: shorter "secrets" would mask ordinary words everywhere; real credentials are longer
MIN_SECRET_LEN = 6
_TOKEN_PATTERNS = [
    # Authorization: Bearer xyz / Bot xyz / token xyz
    re.compile(r"(?i)\b(bearer|bot|token|basic)(\s+)([A-Za-z0-9._~+/=-]{8,})"),
    # ?access_token=xyz, &password=xyz, "api_key": "xyz"
    re.compile(r"(?i)\b((?:access_|refresh_|bot_|api_|app_|auth_)?(?:token|key|secret|password)"
               r"[\"']?\s*[=:]\s*[\"']?)([^\s\"'&,}]{6,})"),
    # Telegram's https://api.telegram.org/bot123456:ABC-DEF/...
    re.compile(r"(/bot)(\d{5,}:[A-Za-z0-9_-]{20,})"),
]
_configured = False


def mask_text(text: str, secrets: frozenset[str] | None = None) -> str:
    """``text`` with every resolved secret and every token-looking value replaced by ***."""
    values = resolved_secrets() if secrets is None else secrets
    for value in sorted((v for v in values if len(v) >= MIN_SECRET_LEN), key=len, reverse=True):
        text = text.replace(value, MASK)
    text = _TOKEN_PATTERNS[0].sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _TOKEN_PATTERNS[1].sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _TOKEN_PATTERNS[2].sub(lambda m: f"{m.group(1)}{MASK}", text)


def _unwrap_secrets(_logger, _name, event_dict: dict) -> dict:
    """A Secret object logged as a value shows *** (its str already does; this makes it
    explicit for renderers that use repr)."""
    for key, value in event_dict.items():
        if isinstance(value, Secret):
            event_dict[key] = MASK
    return event_dict


class MaskingRenderer:
    """Wraps the final renderer and masks its output string."""

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, logger, name, event_dict) -> str:
        rendered = self.inner(logger, name, event_dict)
        return mask_text(rendered if isinstance(rendered, str) else rendered.decode())


def _wants_json(stream: TextIO, fmt: str | None) -> bool:
    fmt = (fmt or os.environ.get("PREGONERO_LOG_FORMAT") or "auto").lower()
    if fmt in ("json", "console"):
        return fmt == "json"
    return not (hasattr(stream, "isatty") and stream.isatty())


#: where the operator chose to send logs (``pregonero --log-file``), for every later
#: ``configure_logging`` of this process
_destination: dict[str, Any] = {"file": None, "level": None}


def choose_destination(file: str | os.PathLike | None, default_level: str | None = None) -> None:
    """Remember the operator's choice for this process: a log file (JSON, one line per event,
    appended) instead of stderr, and the level a command runs at when none is configured."""
    _destination.update(file=file, level=default_level)


def configure_logging(level: str | None = None, fmt: str | None = None,
                      stream: TextIO | None = None) -> None:
    """Configure structlog and the standard library once, at a command's start-up.

    ``fmt``: ``json``, ``console`` or ``auto`` (console on a TTY); default from
    ``$PREGONERO_LOG_FORMAT``. ``level`` from ``$PREGONERO_LOG_LEVEL`` (default INFO).
    Logs go to stderr, or to the file chosen with ``choose_destination`` (always JSON):
    stdout is for what the command prints for people, and never carries a log line.
    """
    global _configured
    if stream is None and _destination["file"]:
        stream = open(_destination["file"], "a", encoding="utf-8", buffering=1)
        fmt = "json"
    stream = stream or sys.stderr
    level = level or os.environ.get("PREGONERO_LOG_LEVEL") or _destination["level"]
    level_no = logging.getLevelName((level or "INFO").upper())
    if not isinstance(level_no, int):
        level_no = logging.INFO
    as_json = _wants_json(stream, fmt)
    inner = (structlog.processors.JSONRenderer(ensure_ascii=False) if as_json
             else structlog.dev.ConsoleRenderer(colors=stream.isatty() if hasattr(stream, "isatty") else False))
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _unwrap_secrets,
    ]
    if as_json:
        # tracebacks as a string field, so that they are masked and stay on one line
        shared.append(structlog.processors.format_exc_info)
    renderer = MaskingRenderer(inner)
    structlog.configure(
        processors=[structlog.stdlib.add_logger_name, *shared,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(level_no),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared]))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_pregonero", False):
            root.removeHandler(old)
    handler._pregonero = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level_no)
    # dramatiq announces every worker thread and broker connection at INFO
    for noisy in ("dramatiq", "urllib3", "httpx", "httpcore", "watchfiles"):
        logging.getLogger(noisy).setLevel(max(level_no, logging.WARNING))
    _configured = True


def is_configured() -> bool:
    return _configured
