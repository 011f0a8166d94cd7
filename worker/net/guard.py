"""May the service fetch this URL? The rules, without any I/O.

A calendar is written by many departments and is untrusted input: its ``check_url`` (and a
redirect the page answers with) must not make the service request its own network: the cloud
metadata service at 169.254.169.254, an admin page on 127.0.0.1, a Redis on localhost:6379,
the town hall's intranet on 10.x. What may be fetched:

* an ``http`` or ``https`` URL, with a host, without a user name or password in it;
* whose host, once resolved, has only public addresses (``refusal_for_address``),
* unless the operator allow-listed the host in ``config/policies.yaml`` ``network.allow_hosts``
  (an internal page on purpose): then the address is not judged, every other rule still holds.

The address judged is the one connected to: ``worker.net.fetch`` resolves the name, judges every
address it resolves to, and connects to one of those, never to a second answer of the DNS.
Names are not resolved here: the linter uses these rules offline.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import socket
from typing import Collection
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: schemes the service fetches; ``file:``, ``gopher:``, ``ftp:``, ``data:`` reach other things
SCHEMES = ("http", "https")
#: default cap of redirects followed by one fetch (browsers allow ~20; an official page needs 1-2)
MAX_REDIRECTS = 5
#: default cap of the body read: enough for any page's text, not enough to exhaust memory
MAX_BODY_BYTES = 1 << 20

#: RFC 1918 and unique local IPv6 (fc00::/7): what "private" means in a refusal. ``ipaddress``
#: calls documentation and benchmark ranges private too; those get their own words.
_PRIVATE = tuple(ipaddress.ip_network(n) for n in
                 ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))
#: shared address space of carrier-grade NAT (RFC 6598): an ISP's inside, never a web page
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
#: NAT64 well-known prefix (RFC 6052): the last 32 bits are the IPv4 address reached
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: NAT64 local-use prefix (RFC 8215): a site's own translator, its IPv4 side is not ours to judge
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
#: names that never leave the machine or the site: localhost (RFC 6761), mDNS .local (RFC
#: 6762), home.arpa (RFC 8375), .internal (reserved by ICANN for private use, 2024)
_LOCAL_SUFFIXES = ("localhost", "local", "home.arpa", "internal")
#: one label of a host name
_LABEL = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"
#: what an allow-list entry may look like: a host name, or ``*.`` and a domain
_HOST_PATTERN = re.compile(rf"^(\*\.)?({_LABEL}\.)*{_LABEL}$")


@dataclasses.dataclass(frozen=True)
class NetPolicy:
    """What the operator allows (``config/policies.yaml`` ``network``)."""

    #: hosts reached even on internal addresses: exact names (case-insensitive), IP addresses,
    #: or ``*.domain`` for every name under ``domain`` (not ``domain`` itself)
    allow_hosts: tuple[str, ...] = ()
    max_redirects: int = MAX_REDIRECTS
    max_body_bytes: int = MAX_BODY_BYTES

    def allows(self, host: str) -> bool:
        return host_allowed(host, self.allow_hosts)


@dataclasses.dataclass(frozen=True)
class Refusal:
    """Why a URL is not fetched. ``why`` completes a sentence that starts with the URL:
    "http://10.0.0.5/ points to a private address (10.0.0.5)"."""

    #: ``url-scheme``, ``url-no-host``, ``url-userinfo``, ``url-malformed``, ``url-internal``
    #: (the lint codes), or ``url-redirects`` (only a fetch meets that one)
    code: str
    why: str
    #: for ``url-internal``: the host an operator would allow-list if the page is internal
    host: str | None = None


def refusal_for_address(address: str | Address) -> str | None:
    """Why the service must not connect to ``address``, or None for a public address.

    ``ipaddress.is_global`` decides, with three extra rules: multicast is refused even where
    ``ipaddress`` calls it global (a group, never a web server); an IPv6 address that carries
    an IPv4 one (IPv4-mapped ``::ffff:a.b.c.d``, 6to4 ``2002::/16``, NAT64 ``64:ff9b::/96``) is
    judged by that IPv4 address, which is where the packets go (``::ffff:127.0.0.1`` is
    loopback; Python 3.11 calls 6to4 and NAT64 of 127.0.0.1 global); deprecated site-local
    ``fec0::/10`` and local-use NAT64 are refused though 3.11 calls them global.
    """
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            inner = refusal_for_address(embedded)
            return None if inner is None else inner[:-1] + f", inside {ip})"
    what = _kind_of_internal(ip)
    return None if what is None else f"{what} ({ip})"


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _kind_of_internal(ip: Address) -> str | None:
    """The words for a non-public address (None when it is public)."""
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if any(ip in net for net in _PRIVATE):
        return "a private address"
    if ip.version == 4 and ip in _CGNAT:
        return "a shared (carrier-grade NAT) address"
    if ip.is_reserved:
        return "a reserved address"
    if isinstance(ip, ipaddress.IPv6Address) and (ip.is_site_local or ip in _NAT64_LOCAL):
        return "a site-local address"
    if not ip.is_global:
        return "a special-purpose address, not a public one"  # documentation, benchmarks...
    return None


def literal_address(host: str) -> Address | None:
    """The address a host written as a number stands for, or None for a name.

    ``socket.inet_aton`` reads every form the C resolver accepts without asking DNS:
    ``2130706433``, ``0x7f.1``, ``017700000001``, ``127.1`` are all 127.0.0.1, and
    ``getaddrinfo`` would connect there. It is pure parsing: no lookup happens.
    """
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if not host or not all(c in "0123456789abcdefxABCDEFX." for c in host):
        return None  # a name (inet_aton also accepts "1.2.3 trailing junk": do not ask it)
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def canonical_host(host: str) -> str:
    """A host as allow-lists compare it: lower case, no trailing dot, no brackets, a name in
    its ASCII form (requests sends ``ñ`` as ``xn--``), and an address in its one canonical
    spelling (``0x7f.1`` and ``127.0.0.1`` are the same host)."""
    host = host.strip().lower().strip("[]").rstrip(".")
    address = literal_address(host)
    if address is not None:
        return str(address)
    if not host.isascii():
        try:
            return host.encode("idna").decode("ascii")
        except UnicodeError:
            return host
    return host


def host_allowed(host: str, allow_hosts: Collection[str]) -> bool:
    """Whether ``host`` is allow-listed: equal to an entry, or under a ``*.domain`` entry."""
    host = canonical_host(host)
    for entry in allow_hosts:
        entry = entry.strip().lower()
        if entry.startswith("*."):
            if host.endswith(entry[1:]) and host != entry[2:]:
                return True
        elif host == canonical_host(entry):
            return True
    return False


def _is_local_name(host: str) -> bool:
    return any(host == s or host.endswith("." + s) for s in _LOCAL_SUFFIXES)


def refusal_for_url(url: str, allow_hosts: Collection[str] = ()) -> Refusal | None:
    """Why the service must not fetch ``url`` (None: it may, as far as the URL alone says).

    Judged without resolving names: a literal address and the local-only names are refused
    here; what a name resolves to is judged when it is fetched (``worker.net.fetch``).
    """
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018  (raises ValueError for a port that is not one)
    except ValueError as exc:
        return Refusal("url-malformed", f"cannot be read as a URL ({exc})")
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        shown = f"'{scheme}:'" if scheme else "no scheme"
        return Refusal("url-scheme", f"is not an http(s) URL ({shown})")
    if "@" in parts.netloc:
        # user:password@ would be sent to the host, and a writer of "https://sede.es@10.0.0.5/"
        # hopes a reader stops at the first name
        return Refusal("url-userinfo", "carries a user name or password before its host")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return Refusal("url-no-host", "has no host")
    if any(c in host for c in "\\ \t\r\n") or any(ord(c) < 32 for c in host):
        return Refusal("url-malformed", f"has a host that is not one ('{host}')")
    if host_allowed(host, allow_hosts):
        return None
    address = literal_address(host)
    if address is not None:
        why = refusal_for_address(address)
        return None if why is None else Refusal("url-internal", f"points to {why}",
                                                   str(address))
    if _is_local_name(host):
        return Refusal("url-internal", f"points to a name reserved for local networks ({host})",
                       canonical_host(host))
    return None


def allow_host_problem(entry: str) -> tuple[str, str] | None:
    """What is wrong with an ``allow_hosts`` entry, as (message, hint); None if it is fine."""
    text = str(entry).strip()
    if "://" in text or "/" in text:
        host = urlsplit(text if "://" in text else "//" + text).hostname or "intranet.sede.example"
        return (f"'{text}' is a URL, not a host", f"write the host only: {host}")
    if text.startswith("*") and (not text.startswith("*.") or text.count(".") < 2):
        # "*" or "*.es" would switch the check off for (nearly) the whole internet's names
        return (f"'{text}' would let the check reach far too many hosts",
                "name the hosts, or one domain of yours: *.intranet.ayto.example")
    if literal_address(text) is not None or _HOST_PATTERN.match(canonical_host(text)):
        return None
    return (f"'{text}' is not a host name or an IP address",
            "e.g. intranet.sede.example, *.intranet.ayto.example or 10.0.0.5")
