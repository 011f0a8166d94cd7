"""The linter refuses, at their line and column, the URLs the service must not fetch and the
links citizens cannot open; offline: no name is resolved."""

from __future__ import annotations

import dataclasses
import socket

import pytest

from tests.lintkit import BASE, NOW, config, lint, replace
from worker.analysis import analyze_text
from worker.net.guard import NetPolicy

GOLIVE_TEXT = '    check_contains: "Solicitud de ayudas al comercio"\n'


def with_check_url(url: str, text: str = BASE) -> str:
    return replace(GOLIVE_TEXT, f'{GOLIVE_TEXT}    check_url: "{url}"\n', text)


def url_findings(text: str, allow_hosts: tuple[str, ...] = ()):
    cfg = dataclasses.replace(config(), network=NetPolicy(allow_hosts=allow_hosts))
    return [f for f in analyze_text(text, cfg, NOW, path="cal.yaml").findings
            if f.code.startswith("url-")]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("url, code", [
    ("http://169.254.169.254/latest/meta-data/", "url-internal"),
    ("http://0x7f.1:8080/admin", "url-internal"),
    ("http://[::1]:6379/", "url-internal"),
    ("http://localhost:6379/", "url-internal"),
    ("http://user:clave@sede.example.org/tramite", "url-userinfo"),
    ("http:///tramite", "url-no-host"),
    ("https://sede.example.org:99999/", "url-malformed")])
def test_a_check_url_the_service_must_not_fetch_is_an_error_at_its_value(url, code):
    text = with_check_url(url)
    (finding,) = url_findings(text)
    assert (finding.code, finding.severity) == (code, "error")
    assert (finding.line, finding.col) == (line_of(text, "check_url:"), 16)
    assert url in finding.message and finding.hint


def test_an_internal_check_url_names_the_host_to_allow_list_and_the_allow_list_accepts_it():
    text = with_check_url("http://10.0.0.5/tramite")
    (finding,) = url_findings(text)
    assert finding.message == ("check_url 'http://10.0.0.5/tramite' points to a private address "
                               "(10.0.0.5): the go-live check would request it from inside the "
                               "service's own network")
    assert "allow-list 10.0.0.5 in config/policies.yaml network.allow_hosts" in finding.hint
    assert url_findings(text, ("10.0.0.5",)) == []
    # the allow-list does not make an intranet address something else than http(s)
    assert [f.code for f in url_findings(with_check_url("http://ana@10.0.0.5/"), ("10.0.0.5",))] \
        == ["url-userinfo"]


def test_a_source_is_the_default_check_url_and_is_checked_like_one():
    text = replace("sources: [https://sede.example.org/ayudas]",
                   "sources: [https://sede.example.org/ayudas, http://192.168.1.20/ayudas]")
    (finding,) = url_findings(text)
    assert finding.code == "url-internal" and finding.message.startswith("source ")
    row = line_of(text, "sources:")
    assert (finding.line, finding.col) == (row, text.splitlines()[row - 1].index("http://192") + 1)
    assert url_findings(text, ("192.168.1.20",)) == []


def test_links_images_and_streams_with_internal_addresses_are_errors_even_when_allow_listed():
    text = replace("    link: https://sede.example.org/ayudas\n",
                   "    link: http://10.0.0.5/ayudas\n"
                   "    overrides:\n"
                   "      x:\n"
                   "        link: http://intranet.internal/x\n"
                   "        images:\n"
                   "          - url: http://127.0.0.1/cartel.png\n"
                   "            alt: {es: Cartel, ca: Cartell}\n")
    findings = url_findings(text, ("10.0.0.5", "intranet.internal", "127.0.0.1"))
    assert sorted((f.line, f.code) for f in findings) == [
        (line_of(text, "link: http://10.0.0.5"), "url-internal"),
        (line_of(text, "link: http://intranet.internal"), "url-internal"),
        (line_of(text, "url: http://127.0.0.1"), "url-internal")]
    assert all("citizens cannot open it" in f.message for f in findings)


def test_a_public_name_is_not_resolved_by_the_linter(monkeypatch):
    def no_dns(*args, **kwargs):
        raise AssertionError("the linter must work offline")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setattr(socket, "gethostbyname", no_dns)
    assert url_findings(with_check_url("https://sede.interna-pero-nombrada.example/")) == []


def test_the_base_calendar_has_no_url_findings():
    assert url_findings(BASE) == []
    assert lint(BASE).ok
