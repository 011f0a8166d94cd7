"""One configured account: which platform, which department owns it, where its secrets are.

The lead's config loader reads ``config/accounts.yaml`` (with line:col errors) and calls
``AccountConfig.from_mapping`` for each entry. Credentials are kept as *specs* (env/file) and
only resolved when an adapter asks, so that loading or printing a config never reads a secret.
"""

from __future__ import annotations

import dataclasses
import re
from types import MappingProxyType
from typing import Mapping

from .credentials import Secret, resolve_secret

__all__ = ["AccountConfig", "split_ref"]

_HANDLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
#: account options that override a platform's limit (a Mastodon instance's own), and the
#: least value each takes
#: (``max_images: 0`` is an account that posts no images)
LIMIT_OPTIONS = {"text_limit": 1, "max_images": 0, "alt_text_limit": 1}
_KNOWN_KEYS = {"department", "also_departments", "languages", "credentials", "options",
               "platform", "handle", "transport"}


def split_ref(ref: str) -> tuple[str, str]:
    """``"x:ayto-calp"`` -> ``("x", "ayto-calp")``; ValueError if not ``platform:handle``."""
    if not isinstance(ref, str) or ref.count(":") != 1:
        raise ValueError(f"account reference {ref!r} must look like 'platform:handle' "
                         "(e.g. 'x:ayto-calp')")
    platform, handle = ref.split(":")
    if not platform or not handle:
        raise ValueError(f"account reference {ref!r} must look like 'platform:handle' "
                         "(e.g. 'x:ayto-calp')")
    return platform, handle


@dataclasses.dataclass(frozen=True)
class AccountConfig:
    """An account of the configuration. Holds secret *specs*, never secret values."""

    ref: str
    platform: str
    handle: str
    department: str
    #: other departments allowed to publish on this account
    also_departments: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    #: credential name -> {"env": NAME} or {"file": PATH}
    credentials: Mapping[str, Mapping] = dataclasses.field(default_factory=dict)
    #: platform options: mastodon instance/text_limit, facebook page_id/graph_version, ...
    options: Mapping[str, object] = dataclasses.field(default_factory=dict)
    #: "live" or "outbox" for this account alone; None follows the deployment's default
    transport: str | None = None

    def credential(self, name: str) -> Secret:
        """Resolve the credential ``name`` now (env or file); errors name the account."""
        try:
            spec = self.credentials[name]
        except KeyError:
            known = ", ".join(sorted(self.credentials)) or "none"
            raise KeyError(f"account {self.ref} has no credential {name!r} "
                           f"(configured: {known})") from None
        try:
            return resolve_secret(spec)
        except ValueError as exc:
            raise ValueError(f"account {self.ref}, credential {name!r}: {exc}") from exc

    def may_publish(self, department: str) -> bool:
        """Whether ``department`` may publish on this account."""
        return department == self.department or department in self.also_departments

    @classmethod
    def from_mapping(cls, ref: str, data: Mapping) -> "AccountConfig":
        """Build from one entry of ``accounts.yaml``; ValueError says what is wrong."""
        # imported here: the registry imports this module
        from . import parse_account_ref
        platform, name = parse_account_ref(ref)
        if not isinstance(data, Mapping):
            raise ValueError(f"account {ref}: expected a mapping, got {type(data).__name__}")
        unknown = set(data) - _KNOWN_KEYS
        if unknown:
            raise ValueError(f"account {ref}: unknown key(s) {', '.join(sorted(unknown))} "
                             f"(allowed: {', '.join(sorted(_KNOWN_KEYS))})")
        if "platform" in data and data["platform"] != platform:
            raise ValueError(f"account {ref}: platform {data['platform']!r} contradicts the "
                             f"reference prefix {platform!r}")
        if not _HANDLE.match(name):
            raise ValueError(f"account {ref}: the name after ':' must be letters, "
                             "digits, '_', '.' or '-'")
        # The reference names the account inside pregonero (x:ayto-calp); the handle is what
        # the platform shows (@AjuntamentCalp). They often differ.
        handle = str(data.get("handle") or name)
        department = data.get("department")
        if not isinstance(department, str) or not department.strip():
            raise ValueError(f"account {ref}: 'department' is required (the department that "
                             "owns the account)")
        also = _str_tuple(ref, "also_departments", data.get("also_departments", ()))
        languages = _str_tuple(ref, "languages", data.get("languages", ()))
        for tag in languages:
            if not _LANGUAGE.match(tag):
                raise ValueError(f"account {ref}: language {tag!r} is not a language tag "
                                 "(e.g. 'es', 'ca', 'eu', 'gl', 'es-MX')")
        credentials = _credentials(ref, data.get("credentials") or {})
        options = data.get("options") or {}
        if not isinstance(options, Mapping):
            raise ValueError(f"account {ref}: 'options' must be a mapping")
        for name, least in LIMIT_OPTIONS.items():
            limit = options.get(name)
            if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                      or limit < least):
                what = "a positive integer" if least else "a whole number, 0 or more"
                raise ValueError(f"account {ref}: options.{name} must be {what}")
        transport = data.get("transport")
        if transport is not None and transport not in ("live", "outbox"):
            raise ValueError(f"account {ref}: transport must be 'live' or 'outbox', "
                             f"not {transport!r}")
        return cls(ref=ref, platform=platform, handle=handle, department=department,
                   also_departments=also, languages=languages,
                   credentials=MappingProxyType(credentials),
                   options=MappingProxyType(dict(options)), transport=transport)


def _str_tuple(ref: str, key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"account {ref}: '{key}' must be a list of strings")
    return tuple(value)


def _credentials(ref: str, value: object) -> dict[str, Mapping]:
    if not isinstance(value, Mapping):
        raise ValueError(f"account {ref}: 'credentials' must map names to "
                         "{env: VARIABLE} or {file: PATH}")
    result: dict[str, Mapping] = {}
    for name, spec in value.items():
        # a plain string here is most likely a pasted token: say so without echoing it
        if not isinstance(spec, Mapping):
            raise ValueError(f"account {ref}: credential {name!r} must be {{env: VARIABLE}} or "
                             "{file: PATH}, not a value (never put secrets in the config)")
        keys = set(spec)
        if keys not in ({"env"}, {"file"}):
            raise ValueError(f"account {ref}: credential {name!r} must have exactly one of "
                             f"'env' or 'file' (has: {', '.join(sorted(map(str, keys))) or 'none'})")
        if not all(isinstance(v, str) and v for v in spec.values()):
            raise ValueError(f"account {ref}: credential {name!r} must name a variable or file")
        result[str(name)] = MappingProxyType(dict(spec))
    return result
