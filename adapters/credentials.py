"""Secrets: resolved from the environment or from files, never printed.

Configuration names *where* a secret is (``{"env": "X_CALP_TOKEN"}`` or
``{"file": "/run/secrets/x_calp"}``), never the secret itself. A resolved value is wrapped in
``Secret`` so that an accidental ``print``, f-string, log call or traceback shows ``***``.
Error messages name the variable or file so that on-call staff know what to fix.
"""

from __future__ import annotations

import logging

import os
import pathlib
from typing import Iterable, Mapping

__all__ = ["Secret", "SecretError", "resolve_secret", "mask_secrets", "resolved_secrets"]

_MASK = "***"
#: every value resolve_secret has handed out in this process, for the log masking processor
_RESOLVED: set[str] = set()


def resolved_secrets() -> frozenset[str]:
    """The values of every credential resolved so far (for masking, never for display)."""
    return frozenset(_RESOLVED)


class SecretError(ValueError):
    """Raised when a secret spec is malformed or its source is missing or empty."""


class Secret:
    """A secret string whose ``str``/``repr``/format is ``***``; ``reveal()`` gives the value."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str = "") -> None:
        self._value = value
        #: where it came from ("env:X_CALP_TOKEN"), safe to show
        self.source = source

    def reveal(self) -> str:
        """The value itself: call only at the point of handing it to a client library."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({_MASK}{', ' + self.source if self.source else ''})"

    def __str__(self) -> str:
        return _MASK

    def __format__(self, spec: str) -> str:
        return _MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self):
        # pickling would copy the value into job queues or caches: refuse
        raise TypeError("Secret cannot be pickled; pass the credential spec instead")


def resolve_secret(spec: Mapping[str, object]) -> Secret:
    """Read the secret ``spec`` points at: ``{"env": NAME}`` or ``{"file": PATH}``.

    A file's trailing newline is removed (``echo token > file`` adds one). Errors name the
    variable or file, never a value.
    """
    if not isinstance(spec, Mapping):
        raise SecretError(f"a secret spec must be a mapping with 'env' or 'file', "
                          f"got {type(spec).__name__}")
    keys = set(spec) & {"env", "file"}
    unknown = set(spec) - {"env", "file"}
    if len(keys) != 1 or unknown:
        # do not echo the spec: someone may have pasted the token as a value
        raise SecretError("a secret spec must have exactly one of 'env' or 'file' "
                          f"(keys given: {', '.join(sorted(map(str, spec))) or 'none'})")
    if "env" in spec:
        name = str(spec["env"])
        value = os.environ.get(name)
        if value is None:
            raise SecretError(f"environment variable {name} is not set")
        if not value.strip():
            raise SecretError(f"environment variable {name} is empty")
        _RESOLVED.add(value)
        return Secret(value, f"env:{name}")
    path = pathlib.Path(str(spec["file"]))
    try:
        value = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SecretError(f"secret file {path} does not exist") from exc
    except PermissionError as exc:
        raise SecretError(f"secret file {path} is not readable by this user") from exc
    except (OSError, UnicodeDecodeError) as exc:
        # the exception text could quote bytes of the file: keep only its type
        raise SecretError(f"secret file {path} cannot be read ({type(exc).__name__})") from None
    value = value.rstrip("\r\n")
    if not value.strip():
        raise SecretError(f"secret file {path} is empty")
    _RESOLVED.add(value)
    return Secret(value, f"file:{path}")


def mask_secrets(text: str, secrets: Iterable[Secret | str]) -> str:
    """Replace every occurrence of each secret in ``text`` with ``***`` (for log processors)."""
    values = [s.reveal() if isinstance(s, Secret) else s for s in secrets]
    # longest first, so that a secret containing another one is masked whole
    for value in sorted((v for v in values if v), key=len, reverse=True):
        text = text.replace(value, _MASK)
    return text


class MaskingLogFilter(logging.Filter):
    """Replaces every registered secret in a log record's message with ``***``. Client
    libraries log what they send: requests-oauthlib its signing keys, python-telegram-bot and
    httpx the bot token inside every URL."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            masked = mask_secrets(message, self.secrets)
            if masked != message:
                record.msg, record.args = masked, ()
        return True


def masking_filter(logger_names) -> MaskingLogFilter:
    """One filter attached to the named loggers; register secrets in ``.secrets``."""
    log_filter = MaskingLogFilter()
    for name in logger_names:
        logging.getLogger(name).addFilter(log_filter)
    return log_filter
