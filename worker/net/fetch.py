"""Fetching a URL a calendar gave, the way ``worker.net.guard`` allows: the I/O half.

``fetch`` GETs a URL and every redirect it answers with, itself, one hop at a time. Before
each hop it judges the URL (``netguard.refusal_for_url``), resolves the host and judges every
address the name resolves to; the connection then goes to one of those vetted addresses,
never to a second answer of the DNS (a name that resolves to a public address for the check
and to 127.0.0.1 for the connection, "DNS rebinding", reaches nothing). The body is read up
to a size cap, and a deadline bounds the whole fetch, redirects and body included.

How the connection is pinned (requests >= 2.32.2): ``GuardedAdapter`` overrides
``HTTPAdapter.get_connection_with_tls_context`` to take the connection pool of the vetted
*address* from the pool manager, with ``server_hostname`` (TLS SNI) and ``assert_hostname``
(the certificate check) set to the real name and the ``Host`` header set on the request, so
the server sees the name and the certificate is checked against it. Tests intercept HTTP with
``responses``, which patches ``HTTPAdapter.send``: ``GuardedAdapter.send`` ends in
``super().send`` so they still answer.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
import time
from typing import Callable, Mapping, Sequence
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.cookies import extract_cookies_to_jar
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from worker.net.guard import (NetPolicy, Refusal, canonical_host, literal_address,
                              refusal_for_address, refusal_for_url)

#: how much of the body is asked of the socket at a time
CHUNK_BYTES = 16 * 1024

#: ``resolve(host, port)`` -> the addresses the host resolves to, best first
Resolve = Callable[[str, int], Sequence[str]]


def system_resolve(host: str, port: int) -> list[str]:
    """The addresses ``socket.getaddrinfo`` gives for ``host`` (raises OSError if none)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclasses.dataclass(frozen=True)
class FetchResult:
    """What a fetch found: an answer (``status``), a refusal, or a network error."""

    #: the HTTP status of the last answer (None: no answer)
    status: int | None = None
    #: the body, decoded, cut at the size cap
    text: str = ""
    #: the body as it came (an image's bytes), cut at the size cap
    content: bytes = b""
    #: the answer's Content-Type
    content_type: str = ""
    truncated: bool = False
    #: the URL that gave the answer, after redirects
    final_url: str = ""
    #: every URL requested, in order
    hops: tuple[str, ...] = ()
    #: the policy forbids this fetch: waiting will not change that
    refusal: Refusal | None = None
    #: the refusal as a sentence about the URL asked for, naming the hop that was refused
    refused: str | None = None
    #: the network failed (DNS, timeout, connection): another try may succeed
    error: str | None = None


class Unvetted(requests.exceptions.RequestException):
    """Raised when a guarded session is asked to connect to a host ``fetch`` did not vet."""


class GuardedAdapter(HTTPAdapter):
    """Connects each host to the address it was vetted at, and can be cut off at a deadline.

    ``routes`` maps every host of the fetch (``netguard.canonical_host``) to its vetted address,
    or to None for an allow-listed host (then urllib3 resolves and connects as usual). A host
    without a route is refused: a code path that skipped the vetting fails closed.
    """

    def __init__(self, **kwargs):
        self.routes: dict[str, str | None] = {}
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.aborted = False
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _tracking(HTTPConnectionPool, self._track),
            "https": _tracking(HTTPSConnectionPool, self._track)}

    def begin(self) -> None:
        """Forget the routes and the deadline of an earlier fetch: each fetch vets its own
        hosts. (One fetch at a time per adapter: a session is not shared between threads.)"""
        with self._lock:
            self.routes.clear()
            self._sockets.clear()
            self.aborted = False
        self.poolmanager.clear()  # an idle connection kept from before is not the watchdog's

    def route(self, host: str, address: str | None) -> None:
        self.routes[canonical_host(host)] = address

    def _address_of(self, url: str) -> tuple[str, str | None]:
        host = urlsplit(url).hostname or ""
        key = canonical_host(host)
        if key not in self.routes:
            raise Unvetted(f"{host} was not vetted by netfetch.fetch: refusing to connect")
        return host, self.routes[key]

    def send(self, request, **kwargs):
        _host, address = self._address_of(request.url)
        if address is not None:
            # the connection goes to an address: the server must still hear the name
            request.headers["Host"] = urlsplit(request.url).netloc
        return super().send(request, **kwargs)

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        host, address = self._address_of(request.url)
        if address is None:
            return super().get_connection_with_tls_context(request, verify, proxies, cert)
        host_params, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        if host_params["scheme"] == "https":
            pool_kwargs = {**pool_kwargs, "server_hostname": host, "assert_hostname": host}
        return self.poolmanager.connection_from_host(
            address, port=host_params["port"], scheme=host_params["scheme"],
            pool_kwargs=pool_kwargs)

    def get_connection(self, url, proxies=None):
        # requests < 2.32.2 connects through here and would skip the pinning above
        raise Unvetted("netfetch needs requests >= 2.32.2 (get_connection_with_tls_context)")

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            late = self.aborted
        if late:
            _shut(sock)

    def abort(self) -> None:
        """Cut every connection of this adapter: what waits on one of them returns at once.
        (A TLS handshake in progress is bounded by the read timeout only: its socket is known
        once the handshake is done.)"""
        with self._lock:
            self.aborted = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


def _tracking(pool_cls: type, track: Callable[[socket.socket], None]) -> type:
    """``pool_cls`` whose connections report their socket once connected."""
    class Connection(pool_cls.ConnectionCls):
        def connect(self):
            super().connect()
            track(self.sock)

    return type(pool_cls.__name__, (pool_cls,), {"ConnectionCls": Connection})


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


def guarded_session() -> requests.Session:
    """A session for ``fetch``: its own ``GuardedAdapter``, and nothing from the environment."""
    session = requests.Session()
    # An HTTP(S)_PROXY from the environment would make the proxy resolve and connect, past
    # every address check here; .netrc would hand its passwords to any host a calendar names.
    session.trust_env = False
    # trusting a company CA bundle is not routing: keep it
    session.verify = (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
                      or True)
    adapter = GuardedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _Transient(Exception):
    """The network, not the policy, stopped the fetch."""


def fetch(url: str, *, policy: NetPolicy, timeout_s: float, max_bytes: int | None = None,
          session: requests.Session | None = None, resolve: Resolve | None = None,
          headers: Mapping[str, str] | None = None,
          clock: Callable[[], float] = time.monotonic) -> FetchResult:
    """GET ``url`` as ``policy`` allows, following at most ``policy.max_redirects``
    redirects, reading at most ``max_bytes`` (default ``policy.max_body_bytes``) of the body,
    all within ``timeout_s``. Never raises for what the URL or the network do.

    ``session``: one made by ``guarded_session``, used by one fetch at a time (None: a
    fresh one, closed afterwards).
    ``resolve``: how names become addresses (default ``socket.getaddrinfo``); allow-listed
    hosts are not resolved here at all.
    """
    max_bytes = policy.max_body_bytes if max_bytes is None else max_bytes
    own = session is None
    session = session or guarded_session()
    adapter = session.get_adapter("https://x")
    if not isinstance(adapter, GuardedAdapter) or session.get_adapter("http://x") is not adapter:
        raise TypeError("fetch needs a session made by netfetch.guarded_session()")
    adapter.begin()
    deadline = clock() + timeout_s
    # a read timeout bounds each wait for a byte, not a page that sends one byte at a time:
    # at the deadline every connection of the fetch is cut, whatever it is waiting for
    watchdog = threading.Timer(timeout_s, adapter.abort)
    watchdog.daemon = True
    watchdog.start()
    hops: list[str] = []
    current = url
    try:
        for _ in range(policy.max_redirects + 1):
            prepared, refusal = _prepare(session, current, headers)
            if refusal is None:
                refusal = _vet(prepared.url, policy, resolve or system_resolve, adapter)
            if refusal is not None:
                return FetchResult(hops=tuple(hops), refusal=refusal,
                                   refused=_sentence(url, current, len(hops), refusal))
            remaining = _remaining(deadline, clock, timeout_s)
            hops.append(prepared.url)
            # the adapter, not session.send: even with allow_redirects=False the session
            # reads a redirect's whole body into memory (resolve_redirects: resp.content)
            response = adapter.send(prepared, stream=True, timeout=(remaining, remaining),
                                    verify=session.verify, cert=session.cert, proxies={})
            # a sede that sets its session cookie and redirects to itself needs it back
            extract_cookies_to_jar(session.cookies, prepared, response.raw)
            try:
                target = session.get_redirect_target(response)
                if target is not None:
                    current = urljoin(prepared.url, target)
                    continue
                body, truncated = _read(response, max_bytes, deadline, clock, timeout_s)
            finally:
                response.close()
            if adapter.aborted:
                raise _Transient(_too_slow(timeout_s))
            return FetchResult(status=response.status_code, text=_decode(body, response.encoding),
                               content=body, content_type=response.headers.get("Content-Type", ""),
                               truncated=truncated, final_url=prepared.url, hops=tuple(hops))
        refusal = Refusal("url-redirects", f"redirects more than {policy.max_redirects} times")
        return FetchResult(hops=tuple(hops), refusal=refusal,
                           refused=f"{url} {refusal.why} (the last time to {current})")
    except _Transient as exc:
        return FetchResult(hops=tuple(hops), error=str(exc))
    except requests.RequestException as exc:
        why = _too_slow(timeout_s) if adapter.aborted else f"{type(exc).__name__}: {exc}"
        return FetchResult(hops=tuple(hops), error=why[:300])
    finally:
        watchdog.cancel()
        if own:
            session.close()


def _prepare(session: requests.Session, url: str, headers: Mapping[str, str] | None):
    """The request as requests will send it, or the refusal of ``url`` as written."""
    refusal = refusal_for_url(url)
    if refusal is not None and refusal.code != "url-internal":
        return None, refusal  # an internal address is judged once the allow-list is known
    try:
        request = requests.Request("GET", url, headers={"Accept-Encoding": "identity",
                                                        **(headers or {})})
        return session.prepare_request(request), None
    except (requests.RequestException, ValueError) as exc:
        return None, Refusal("url-malformed", f"cannot be read as a URL ({exc})"[:200])


def _vet(url: str, policy: NetPolicy, resolve: Resolve, adapter: GuardedAdapter) -> Refusal | None:
    """Judge ``url`` as requests prepared it (the parser the adapter connects with) and route
    its host: to the vetted address, or as usual when allow-listed."""
    refusal = refusal_for_url(url, policy.allow_hosts)
    if refusal is not None:
        return refusal
    parts = urlsplit(url)
    host = parts.hostname or ""
    if policy.allows(host):
        adapter.route(host, None)
        return None
    literal = literal_address(host)
    if literal is not None:
        addresses: Sequence[str] = [str(literal)]
    else:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise _Transient(f"cannot resolve {host}: {exc}"[:300]) from exc
        if not addresses:
            raise _Transient(f"cannot resolve {host}: no address")
    for address in addresses:
        # any internal answer refuses the name, though only the first address is dialled: a
        # name that mixes public and internal addresses is a trick or a mistake either way
        why = refusal_for_address(address)
        if why is not None:
            return Refusal("url-internal", f"resolves to {why}", canonical_host(host))
    adapter.route(host, addresses[0])
    return None


def _sentence(first: str, refused_url: str, redirects: int, refusal: Refusal) -> str:
    """"http://a/ redirects to http://10.0.0.5/, which points to a private address (...)"."""
    if redirects == 0:
        return f"{first} {refusal.why}"
    after = f" (after {redirects} redirects)" if redirects > 1 else ""
    return f"{first} redirects to {refused_url}{after}, which {refusal.why}"


def _remaining(deadline: float, clock: Callable[[], float], timeout_s: float) -> float:
    remaining = deadline - clock()
    if remaining <= 0:
        raise _Transient(_too_slow(timeout_s))
    return remaining


def _too_slow(timeout_s: float) -> str:
    return f"no complete answer within {timeout_s:g} s"


def _read(response: requests.Response, max_bytes: int, deadline: float,
          clock: Callable[[], float], timeout_s: float) -> tuple[bytes, bool]:
    """At most ``max_bytes`` of the body, and whether there was more."""
    body = bytearray()
    for chunk in response.iter_content(CHUNK_BYTES):
        body += chunk
        if len(body) > max_bytes:
            break
        _remaining(deadline, clock, timeout_s)
    return bytes(body[:max_bytes]), len(body) > max_bytes


def _decode(body: bytes, encoding: str | None) -> str:
    """The body as text, in the encoding the answer declares (UTF-8 when it declares none);
    a character cut at the size cap becomes U+FFFD."""
    try:
        return body.decode(encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")
