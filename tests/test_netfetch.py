"""The guarded fetch against real servers on 127.0.0.1: redirects into the town hall's network
refused and never connected to, the connection pinned to the address that was judged (with the
real name in Host, SNI and the certificate check), and the caps on redirects, bytes and time."""

from __future__ import annotations

import socket
import time

import pytest
import requests
import responses

from tests.netkit import Dialled, LocalServer, page, redirect, tls_context_for, trickle
from worker.engine.golive import check_live
from worker.net.fetch import Unvetted, fetch, guarded_session
from worker.net.guard import NetPolicy

LOCAL = NetPolicy(allow_hosts=("127.0.0.1",))
#: an address of the public internet the resolver may give; the spy sends it to a local server
PUBLIC = "93.184.216.34"


@pytest.fixture
def dialled(monkeypatch):
    return Dialled().install(monkeypatch)


def no_dns(host, port):
    raise AssertionError(f"{host} must not be resolved")


@pytest.mark.parametrize("target, words", [
    ("http://169.254.169.254/latest/meta-data/", "a link-local address (169.254.169.254)"),
    ("http://10.0.0.5/", "a private address (10.0.0.5)"),
    ("http://[::ffff:169.254.169.254]/latest/", "a link-local address (169.254.169.254"),
    # 127.0.0.2 (the allow-list names 127.0.0.1, and covers its every port)
    ("http://2130706434:6379/", "a loopback address (127.0.0.2)")])
def test_an_allow_listed_page_that_redirects_into_the_network_is_refused_at_that_hop(
        dialled, target, words):
    with LocalServer({"/tramite": redirect(target)}) as server:
        result = fetch(server.url("/tramite"), policy=LOCAL, timeout_s=3, resolve=no_dns)
    assert result.refusal is not None and result.refusal.code == "url-internal"
    assert result.refused == f"{server.url('/tramite')} redirects to {target}, which points to " \
                             + result.refusal.why[len("points to "):]
    assert words in result.refused
    assert result.status is None and result.hops == (server.url("/tramite"),)
    assert dialled.calls == [("127.0.0.1", server.port)], "only the allow-listed page was dialled"


def test_a_redirect_to_a_name_that_resolves_inside_is_refused_and_never_dialled(dialled):
    asked = []

    def resolve(host, port):
        asked.append((host, port))
        return ["10.0.0.5"]

    with LocalServer({"/": redirect("http://intranet.ayto.example:8080/admin")}) as server:
        result = fetch(server.url("/"), policy=LOCAL, timeout_s=3, resolve=resolve)
    assert asked == [("intranet.ayto.example", 8080)]
    assert "redirects to http://intranet.ayto.example:8080/admin, which resolves to a private " \
           "address (10.0.0.5)" in result.refused
    assert result.refusal.host == "intranet.ayto.example"
    assert dialled.hosts() == {"127.0.0.1"}


def test_an_internal_service_behind_a_redirect_never_sees_a_request():
    # a second server on another loopback address stands for Redis, an admin page, metadata
    with LocalServer({"/": page("secret")}, bind="127.0.0.2") as internal, \
            LocalServer({"/": redirect(internal.url("/"))}) as official:
        refused = fetch(official.url("/"), policy=LOCAL, timeout_s=3)
        assert refused.refusal is not None and internal.hits == 0
        # the same redirect with the internal host allow-listed too: the spy would have seen it
        both = NetPolicy(allow_hosts=("127.0.0.1", "127.0.0.2"))
        reached = fetch(official.url("/"), policy=both, timeout_s=3)
        assert (reached.status, reached.text, internal.hits) == (200, "secret", 1)


def test_a_name_is_connected_to_the_address_it_was_judged_at_with_its_name_in_host(dialled):
    answers = iter([[PUBLIC], ["127.0.0.1"]])  # a rebinding DNS: public first, then loopback
    calls = []

    def resolve(host, port):
        calls.append(host)
        return next(answers)

    with LocalServer({"/tramite": page("Presentar solicitud")}) as server:
        dialled.remap[PUBLIC] = ("127.0.0.1", server.port)
        result = fetch(f"http://sede.example:{server.port}/tramite", policy=NetPolicy(),
                       timeout_s=3, resolve=resolve)
    assert (result.status, result.text) == (200, "Presentar solicitud")
    assert calls == ["sede.example"], "resolved once: the connection uses that answer"
    assert dialled.calls == [(PUBLIC, server.port)]
    assert server.seen == [("/tramite", f"sede.example:{server.port}")]


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback here")
def test_a_name_that_resolves_to_an_ipv6_address_is_connected_there(dialled):
    with LocalServer({"/": page("IPv6")}, bind="::1") as server:
        dialled.remap["2606:4700::1"] = ("::1", server.port)
        result = fetch(f"http://sede.example:{server.port}/", policy=NetPolicy(), timeout_s=3,
                       resolve=lambda host, port: ["2606:4700::1"])
    assert (result.status, result.text) == (200, "IPv6")
    assert dialled.calls == [("2606:4700::1", server.port)]
    assert server.seen == [("/", f"sede.example:{server.port}")]


def test_a_name_with_any_internal_address_among_its_answers_is_refused(dialled):
    result = fetch("https://sede.example/", policy=NetPolicy(), timeout_s=3,
                   resolve=lambda host, port: [PUBLIC, "127.0.0.1"])
    assert result.refusal.code == "url-internal" and "(127.0.0.1)" in result.refused
    assert dialled.calls == []


def test_https_to_a_pinned_address_checks_the_certificate_and_sni_against_the_name(
        dialled, tmp_path):
    pytest.importorskip("cryptography")
    context, ca, asked = tls_context_for("sede.example", tmp_path)
    with LocalServer({"/": page("Sede electrónica")}, tls=context) as server:
        dialled.remap[PUBLIC] = ("127.0.0.1", server.port)
        session = guarded_session()
        session.verify = str(ca)
        resolve = lambda host, port: [PUBLIC]  # noqa: E731
        good = fetch(f"https://sede.example:{server.port}/", policy=NetPolicy(), timeout_s=3,
                     session=session, resolve=resolve)
        assert (good.status, good.text) == (200, "Sede electrónica")
        assert asked == ["sede.example"]
        # the same server reached under another name: its certificate does not match
        wrong = fetch(f"https://otra.example:{server.port}/", policy=NetPolicy(), timeout_s=3,
                      session=session, resolve=resolve)
        assert wrong.status is None and "SSLError" in wrong.error
        assert "otra.example" in wrong.error


def test_redirects_are_followed_up_to_the_cap_and_refused_beyond_it():
    routes = {f"/{i}": redirect(f"/{i + 1}") for i in range(6)}
    routes["/6"] = page("final")
    with LocalServer(routes) as server:
        three = NetPolicy(allow_hosts=("127.0.0.1",), max_redirects=3)
        followed = fetch(server.url("/3"), policy=three, timeout_s=3)
        refused = fetch(server.url("/2"), policy=three, timeout_s=3)
    assert (followed.status, followed.text, len(followed.hops)) == (200, "final", 4)
    assert followed.final_url == server.url("/6")
    assert refused.refusal.code == "url-redirects" and refused.status is None
    assert refused.refused == f"{server.url('/2')} redirects more than 3 times (the last time " \
                              f"to {server.url('/6')})"


@pytest.mark.parametrize("location", ["file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO",
                                      "http://admin:secret@127.0.0.1/"])
def test_a_redirect_to_another_scheme_or_with_credentials_is_refused(location):
    with LocalServer({"/": redirect(location)}) as server:
        result = fetch(server.url("/"), policy=LOCAL, timeout_s=3)
    assert result.refusal.code in ("url-scheme", "url-userinfo")
    assert f"redirects to {location}" in result.refused


def test_a_huge_page_is_read_only_up_to_the_cap():
    big = b"<p>" + b"x" * (4 << 20) + b"Presentar solicitud</p>"
    with LocalServer({"/": lambda h: (200, {"Content-Type": "text/html"}, big)}) as server:
        policy = NetPolicy(allow_hosts=("127.0.0.1",), max_body_bytes=64 << 10)
        result = fetch(server.url("/"), policy=policy, timeout_s=5)
        check = check_live(server.url("/"), "Presentar solicitud", 5, policy=policy)
    assert (result.status, result.truncated, len(result.text)) == (200, True, 64 << 10)
    assert not check.live and not check.refused
    assert check.detail == "HTTP 200 but expected text not found in its first 65536 bytes"


def test_a_page_that_does_not_answer_in_time_is_an_error_not_a_refusal():
    def slow(handler):
        time.sleep(3)
        return 200, {}, b"late"

    with LocalServer({"/": slow}) as server:
        started = time.monotonic()
        result = fetch(server.url("/"), policy=LOCAL, timeout_s=0.5)
        elapsed = time.monotonic() - started
    assert result.refusal is None and result.status is None and result.error
    assert elapsed < 2


def test_a_page_that_trickles_its_body_is_cut_off_at_the_deadline():
    # every byte comes well within a read timeout; the whole would take 20 s
    with LocalServer({"/": trickle(0.1, 200)}) as server:
        started = time.monotonic()
        result = fetch(server.url("/"), policy=LOCAL, timeout_s=0.8)
        elapsed = time.monotonic() - started
    assert result.status is None and result.error == "no complete answer within 0.8 s"
    assert elapsed < 2


def test_a_page_that_trickles_its_headers_is_cut_off_at_the_deadline():
    def headers_forever(handler):
        def write(h):
            for i in range(200):
                h.wfile.write(f"X-Slow-{i}: a\r\n".encode())
                h.wfile.flush()
                time.sleep(0.1)
        return 200, {}, write

    with LocalServer({"/": headers_forever}) as server:
        started = time.monotonic()
        result = fetch(server.url("/"), policy=LOCAL, timeout_s=0.8)
        elapsed = time.monotonic() - started
    assert result.status is None and result.error and elapsed < 2


def test_a_name_that_does_not_resolve_is_an_error_to_retry_not_a_refusal():
    def nxdomain(host, port):
        raise OSError(-2, "Name or service not known")

    result = fetch("https://sede.example/", policy=NetPolicy(), timeout_s=1, resolve=nxdomain)
    assert result.refusal is None and result.error.startswith("cannot resolve sede.example")


def test_an_environment_proxy_is_not_used(monkeypatch):
    # a proxy resolves and connects itself, past every address check
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    with LocalServer({"/": page("directo")}) as server:
        result = fetch(server.url("/"), policy=LOCAL, timeout_s=3)
    assert (result.status, result.text) == (200, "directo")


def test_a_guarded_session_refuses_a_host_fetch_did_not_vet():
    with LocalServer({"/": page("x")}) as server, guarded_session() as session:
        with pytest.raises(Unvetted):
            session.get(server.url("/"), timeout=2)
        assert server.hits == 0


def test_fetch_refuses_a_session_that_is_not_guarded():
    with pytest.raises(TypeError):
        fetch("https://sede.example/", policy=NetPolicy(), timeout_s=1, session=requests.Session())


@responses.activate
def test_intercepted_http_answers_an_allow_listed_host_without_dns_and_a_refused_one_never():
    responses.get("https://sede.villa.example/tramite", body="Presentar solicitud")
    responses.get("https://intranet.villa.example/", body="secret")
    allow = NetPolicy(allow_hosts=("sede.villa.example",))
    ok = fetch("https://sede.villa.example/tramite", policy=allow, timeout_s=2, resolve=no_dns)
    refused = fetch("https://intranet.villa.example/", policy=allow, timeout_s=2,
                    resolve=lambda host, port: ["192.168.10.4"])
    assert (ok.status, ok.text) == (200, "Presentar solicitud")
    assert refused.refusal.code == "url-internal"
    assert [c.request.url for c in responses.calls] == ["https://sede.villa.example/tramite"]


def test_the_go_live_check_says_which_host_to_allow_list_when_it_is_refused():
    with LocalServer({"/": page("Presentar solicitud")}) as server:
        check = check_live(server.url("/"), "Presentar solicitud", 2, policy=NetPolicy())
        assert server.hits == 0
    assert check.refused and not check.live
    assert check.detail == (f"check_url {server.url('/')} points to a loopback address "
                            "(127.0.0.1); allow-list 127.0.0.1 in config/policies.yaml "
                            "network.allow_hosts if it is an internal page on purpose; "
                            "otherwise fix check_url in the calendar")
