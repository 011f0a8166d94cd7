"""What every twin shares: the citizen's view of a post, the twins' clock, and the plumbing
that routes intercepted HTTP (``responses`` for requests-based clients, ``respx`` for
httpx-based ones) to one framework-free handler per endpoint.

A twin is written once against ``TwinRequest -> TwinResponse``; ``Http.route`` installs the
handler on both interceptors, so the twin does not care which library its client uses.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.parser
import email.policy
import json
import re
import threading
from typing import Callable, Mapping, Protocol
from urllib.parse import parse_qs, urlsplit

import httpx
import responses
import respx

from adapters.imagetypes import sniff_image_type  # noqa: F401  (the twins import it from here)

UTC = dt.timezone.utc


# --- what a citizen sees ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SeenMedia:
    """An attachment as a citizen's app shows it: its alternative text and where it came from."""

    alt: str
    #: the file name, URL or blob reference the platform received
    source: str = ""
    kind: str = "image"


@dataclasses.dataclass(frozen=True)
class SeenPost:
    """One post as a citizen sees it on the account's page, with the replies directly under it
    (oldest first) that the account itself wrote."""

    post_id: str
    text: str
    media: tuple[SeenMedia, ...] = ()
    #: Mastodon's spoiler text ("content warning"); empty where the platform has none
    content_warning: str = ""
    sensitive: bool = False
    language: str | None = None
    #: the platform shows an "edited" mark
    edited: bool = False
    replies: tuple["SeenPost", ...] = ()
    url: str | None = None

    def thread(self) -> list[str]:
        """The post's text followed by every reply's text, depth first: what a reader who opens
        the post reads, top to bottom."""
        texts = [self.text]
        for reply in self.replies:
            texts.extend(reply.thread())
        return texts


class Twin(Protocol):
    """One platform, one or more accounts on it."""

    platform: str

    def install(self, http: "Http") -> None:
        """Register this twin's endpoints on ``http``."""

    def visible(self) -> list[SeenPost]:
        """What a citizen sees now: the account's top-level posts, oldest first, each with the
        account's replies under it. Deleted posts are gone; edits show their current state."""


# --- time ---------------------------------------------------------------------------------------


class TwinClock:
    """The platforms' "now": real time plus an offset a scenario can advance, so that X's
    30-minute edit window or Telegram's 48-hour deletion window can pass in a test."""

    def __init__(self) -> None:
        self._offset = dt.timedelta()
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return dt.datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += dt.timedelta(seconds=seconds)


# --- requests and answers, independent of the interceptor ---------------------------------------


@dataclasses.dataclass(frozen=True)
class TwinRequest:
    """An intercepted request, parsed once: method, URL parts, headers, and the body as form
    fields, JSON, or multipart parts."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    #: the regex groups of the route that matched
    match: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.url).query, keep_blank_values=True)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """A single parameter from the query string, the form body or the multipart body."""
        for source in (self.query, self.form()):
            if name in source:
                return source[name][0]
        return default

    def args(self, name: str) -> list[str]:
        """Every value of a repeated parameter (``media_ids[]`` and the like)."""
        return [*self.query.get(name, []), *self.form().get(name, [])]

    def header(self, name: str, default: str | None = None) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return default

    def json(self):
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, list[str]]:
        """URL-encoded or multipart fields (file parts excluded)."""
        kind = (self.header("content-type") or "").lower()
        if kind.startswith("application/x-www-form-urlencoded"):
            return parse_qs(self.body.decode(), keep_blank_values=True)
        if kind.startswith("multipart/form-data"):
            fields: dict[str, list[str]] = {}
            for name, part in self.parts():
                if part.get_filename() is None:  # text fields are UTF-8 unless they say so
                    raw = part.get_payload(decode=True) or b""
                    fields.setdefault(name, []).append(
                        raw.decode(part.get_content_charset() or "utf-8"))
            return fields
        return {}

    def files(self) -> dict[str, tuple[str, bytes]]:
        """Multipart file parts: field name -> (file name, bytes)."""
        return {name: (part.get_filename(), part.get_payload(decode=True) or b"")
                for name, part in self.parts() if part.get_filename() is not None}

    def parts(self):
        kind = self.header("content-type") or ""
        if not kind.lower().startswith("multipart/form-data"):
            return []
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + kind.encode() + b"\r\n\r\n" + self.body)
        return [(part.get_param("name", header="content-disposition"), part)
                for part in message.iter_parts()]


@dataclasses.dataclass(frozen=True)
class TwinResponse:
    status: int = 200
    json: object = None
    body: bytes | None = None
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def content(self) -> bytes:
        if self.body is not None:
            return self.body
        return b"" if self.json is None else json.dumps(self.json).encode()

    def all_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.json is not None and self.body is None:
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        return headers


def answer(status: int = 200, payload: object = None, **headers: str) -> TwinResponse:
    """A JSON answer (the common case)."""
    return TwinResponse(status, payload, None, headers)


Handler = Callable[[TwinRequest], TwinResponse]


@dataclasses.dataclass
class Fault:
    """A failure a scenario plants on the next ``count`` requests matching ``method`` and the
    regex ``pattern``: ``"refuse"`` answers ``status`` without the twin acting (a 503, a 429);
    ``"lose_answer"`` lets the twin act, then the client times out reading the answer (the
    outcome a worker cannot know)."""

    method: str
    pattern: str
    mode: str = "refuse"
    status: int = 503
    count: int = 1
    payload: object = None


@dataclasses.dataclass
class Call:
    """One intercepted request and what the twin answered ("timeout" when the answer was lost)."""

    method: str
    url: str
    status: int | str


class _LostAnswer(Exception):
    pass


@dataclasses.dataclass
class Http:
    """Both interceptors of a test: every request of either library is answered by a twin, or
    refused (nothing escapes to the network). ``faults`` are consumed in order; ``calls``
    records every request a twin answered."""

    requests: responses.RequestsMock
    httpx: respx.Router
    faults: list[Fault] = dataclasses.field(default_factory=list)
    calls: list[Call] = dataclasses.field(default_factory=list)
    #: called with (request, answer) after a twin answered (stories persist the twins there)
    after_each: Callable[[TwinRequest, TwinResponse], None] | None = None
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    def plant(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def _serve(self, handler: "Handler", request: TwinRequest) -> TwinResponse:
        with self._lock:
            fault = next((f for f in self.faults if f.count > 0 and f.method == request.method
                          and re.search(f.pattern, request.url)), None)
            if fault is not None:
                fault.count -= 1
        if fault is not None and fault.mode == "refuse":
            self._record(request, fault.status)
            return answer(fault.status, fault.payload if fault.payload is not None
                          else {"error": "planted fault"})
        reply = handler(request)
        if fault is not None:  # lose_answer: the twin acted, the client never hears of it
            self._record(request, "timeout")
            if self.after_each is not None:
                self.after_each(request, reply)
            raise _LostAnswer()
        self._record(request, reply.status)
        if self.after_each is not None:
            self.after_each(request, reply)
        return reply

    def _record(self, request: TwinRequest, status) -> None:
        with self._lock:
            self.calls.append(Call(request.method, request.url, status))

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Send ``method`` requests whose URL (without query) matches the regex ``pattern``
        (anchored, named groups become ``request.match``) to ``handler``, from both libraries.
        """
        compiled = re.compile(pattern + r"(?:\?.*)?$")

        def from_requests(prepared):
            body = prepared.body or b""
            request = TwinRequest(prepared.method, prepared.url, dict(prepared.headers),
                                  body.encode() if isinstance(body, str) else bytes(body),
                                  compiled.match(prepared.url).groupdict())
            try:
                reply = self._serve(handler, request)
            except _LostAnswer:
                import requests

                raise requests.exceptions.ReadTimeout("planted: answer lost") from None
            return reply.status, reply.all_headers(), reply.content()

        def from_httpx(sent: httpx.Request, **_groups):  # respx passes the regex groups too
            request = TwinRequest(sent.method, str(sent.url), dict(sent.headers), sent.read(),
                                  compiled.match(str(sent.url)).groupdict())
            try:
                reply = self._serve(handler, request)
            except _LostAnswer:
                raise httpx.ReadTimeout("planted: answer lost", request=sent) from None
            return httpx.Response(reply.status, headers=reply.all_headers(),
                                  content=reply.content())

        self.requests.add_callback(method, compiled, callback=from_requests)
        self.httpx.route(method=method, url__regex=compiled).mock(side_effect=from_httpx)


def intercept():
    """A context manager giving an ``Http`` whose routes need not all be called, and which
    refuses any request no twin answers."""
    import contextlib

    @contextlib.contextmanager
    def manager():
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps, \
                respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
            yield Http(rsps, router)

    return manager()


def iso(moment: dt.datetime) -> str:
    """An instant as the platforms write it: UTC, milliseconds, ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- images -------------------------------------------------------------------------------------


# sniff_image_type: the twins' servers look at the bytes exactly as pregonero's own linter and
# engine do (adapters.imagetypes, imported above for the twins)


def png_bytes(width: int = 1, height: int = 1, rgb: tuple[int, int, int] = (200, 30, 30),
              pad: int = 0) -> bytes:
    """A real PNG of ``width`` x ``height`` pixels (8-bit RGB); ``pad`` bytes of a private
    ancillary chunk make it as large as a test needs (decoders skip such chunks)."""
    import struct
    import zlib

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + (chunk(b"prVt", b"\x00" * pad) if pad else b"")
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
