"""Real local HTTP(S) servers for the network-guard tests, and a spy on every connection
urllib3 opens (where it dialled, and a way to send a "public" address to a local server)."""

from __future__ import annotations

import datetime as dt
import http.server
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Callable

#: what a route answers: (status, headers, body); body may be a callable that writes itself
Answer = tuple[int, dict, bytes | Callable]


class LocalServer:
    """An HTTP server on 127.0.0.1 (or another loopback address), on a free port, answering
    ``routes[path](handler)``; every request it saw is in ``seen`` as (path, Host header)."""

    def __init__(self, routes: dict[str, Callable[[http.server.BaseHTTPRequestHandler], Answer]],
                 bind: str = "127.0.0.1", tls: ssl.SSLContext | None = None):
        server = self
        self.seen: list[tuple[str, str]] = []
        self._lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                with server._lock:
                    server.seen.append((self.path, self.headers.get("Host", "")))
                route = routes.get(self.path.split("?")[0]) or (lambda h: (404, {}, b"no"))
                status, headers, body = route(self)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if callable(body):
                    self.end_headers()
                    try:
                        body(self)
                    except OSError:
                        pass  # the client hung up: what the deadline tests want
                    return
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        server_class = http.server.ThreadingHTTPServer
        if ":" in bind:
            server_class = type("Server6", (server_class,), {"address_family": socket.AF_INET6})
        self.server = server_class((bind, 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.host, self.port = bind, self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/", host: str | None = None, scheme: str = "http") -> str:
        host = host or (f"[{self.host}]" if ":" in self.host else self.host)
        return f"{scheme}://{host}:{self.port}{path}"

    @property
    def hits(self) -> int:
        with self._lock:
            return len(self.seen)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def page(text: str, status: int = 200) -> Callable:
    return lambda handler: (status, {"Content-Type": "text/html; charset=utf-8"}, text.encode())


def redirect(location: str, status: int = 302) -> Callable:
    return lambda handler: (status, {"Location": location}, b"")


def trickle(every_s: float, total: int) -> Callable:
    """A body that comes one byte at a time: each read is quick, the whole is not."""
    def write(handler):
        for _ in range(total):
            handler.wfile.write(b"a")
            handler.wfile.flush()
            time.sleep(every_s)
    return lambda handler: (200, {"Content-Length": str(total)}, write)


def tls_context_for(name: str, tmp: Path) -> tuple[ssl.SSLContext, Path, list[str]]:
    """A server TLS context whose certificate is for ``name``, signed by a throwaway CA; the
    CA file to trust; and the list of SNI names the server is asked for."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)

    def cert(subject, issuer, key, sign_key, *, ca):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(hours=1))
                   .not_valid_after(now + dt.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]),
                                            critical=False)
        return builder.sign(sign_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pregonero test CA")])
    ca = cert(ca_name, ca_name, ca_key, ca_key, ca=True)
    leaf = cert(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]), ca_name, key, ca_key,
                ca=False)
    pem = serialization.Encoding.PEM
    (tmp / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp / "leaf.pem").write_bytes(leaf.public_bytes(pem) + key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp / "leaf.pem")
    asked: list[str] = []
    context.sni_callback = lambda sock, server_name, ctx: asked.append(server_name)
    return context, tmp / "ca.pem", asked


class Dialled:
    """Every (address, port) urllib3 connected to; ``remap`` sends an address elsewhere (a
    "public" address to a local server), as the network would."""

    def __init__(self):
        self.calls: list[tuple[str, int]] = []
        self.remap: dict[str, tuple[str, int]] = {}

    def install(self, monkeypatch) -> "Dialled":
        import urllib3.util.connection as connection

        real = connection.create_connection

        def spy(address, *args, **kwargs):
            self.calls.append((address[0], address[1]))
            return real(self.remap.get(address[0], address), *args, **kwargs)

        monkeypatch.setattr(connection, "create_connection", spy)
        return self

    def hosts(self) -> set[str]:
        return {host for host, _ in self.calls}
