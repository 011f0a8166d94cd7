"""The URLs a calendar gives, checked as the service will use them (``worker.net.guard``).

Two kinds: the pages the go-live check fetches (``calendar.sources``, the default official
page, and ``check_url``), which the operator may allow-list when they are internal on purpose;
and what citizens and platforms open (``link``, image ``url``, an event's ``stream``), where an
internal address is always a mistake: nobody outside the town hall's network can open it.

Names are not resolved here: the linter runs offline (editors' pre-commit hooks, CI), and a
name's address may change between the lint and the go-live instant anyway. A literal address
(``http://10.0.0.5/``, ``http://0x7f.1/``) and the local-only names (``localhost``, ``.local``,
``.internal``) are refused here; what a name resolves to is judged at the check itself.
"""

from __future__ import annotations

from typing import Collection, Iterator

from worker.net.guard import Refusal, refusal_for_url

from worker.calendar.findings import Finding
from worker.calendar.source import Document

#: where the allow-list is, as hints name it
ALLOW_LIST = "config/policies.yaml network.allow_hosts"

_HINTS = {
    "url-scheme": "use the page's https:// address",
    "url-no-host": "write the whole address, https://host/path",
    "url-userinfo": "remove the 'name@' part: a calendar never carries credentials, and "
                    "a reader (or a filter) may take the name for the host",
    "url-malformed": "write the address as a browser shows it",
}


def calendar_urls(data: dict) -> Iterator[tuple[tuple, str, bool]]:
    """(path, URL, fetched by the go-live check?) for every URL of a validated calendar."""
    for i, source in enumerate((data.get("calendar") or {}).get("sources") or ()):
        yield ("calendar", "sources", i), str(source), True
    for i, entry in enumerate(data.get("entries") or ()):
        if not isinstance(entry, dict):
            continue
        here = ("entries", i)
        if entry.get("check_url") is not None:
            yield here + ("check_url",), str(entry["check_url"]), True
        yield from _public_urls(entry, here)
        stream = (entry.get("event") or {}).get("stream")
        if stream is not None:
            yield here + ("event", "stream"), str(stream), False
        for key, override in (entry.get("overrides") or {}).items():
            if isinstance(override, dict):
                yield from _public_urls(override, here + ("overrides", key))


def _public_urls(block: dict, path: tuple) -> Iterator[tuple[tuple, str, bool]]:
    if block.get("link") is not None:
        yield path + ("link",), str(block["link"]), False
    for j, image in enumerate(block.get("images") or ()):
        if isinstance(image, dict) and image.get("url") is not None:
            yield path + ("images", j, "url"), str(image["url"]), False


def _label(path: tuple) -> str:
    return {"sources": "source", "check_url": "check_url", "link": "link", "url": "image url",
            "stream": "stream"}[path[-1] if isinstance(path[-1], str) else path[-2]]


def check_urls(doc: Document, allow_hosts: Collection[str] = ()) -> list[Finding]:
    """A located error for every URL the service must not fetch, or citizens cannot open."""
    findings = []
    for path, url, fetched in calendar_urls(doc.data if isinstance(doc.data, dict) else {}):
        # the allow-list lets the go-live check reach a page; it does not make an intranet
        # address a link citizens can open
        refusal = refusal_for_url(url, allow_hosts if fetched else ())
        if refusal is not None:
            message, hint = _explain(_label(path), url, refusal, fetched)
            findings.append(doc.finding(path, "error", message, refusal.code, hint))
    return findings


def _explain(label: str, url: str, refusal: Refusal, fetched: bool) -> tuple[str, str]:
    message = f"{label} '{url}' {refusal.why}"
    if refusal.code != "url-internal":
        return message, _HINTS.get(refusal.code, "")
    if fetched:
        return (f"{message}: the go-live check would request it from inside the service's "
                "own network", "use the page's public address; if it is an internal page on "
                f"purpose, ask the operator to allow-list {refusal.host} in {ALLOW_LIST}")
    return (f"{message}: citizens cannot open it", "use the public address of the page or image")
