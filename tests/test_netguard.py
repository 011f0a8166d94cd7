"""What the service may fetch, judged without the network: every internal address refused in
every spelling, public addresses accepted, hostile URLs refused with the right code, and the
operator's allow-list read and validated like the rest of config/."""

from __future__ import annotations

import ipaddress
import shutil
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from worker.config import ConfigError, load_config
from worker.net.guard import (NetPolicy, allow_host_problem, host_allowed, refusal_for_address,
                              refusal_for_url)

FIXTURES = Path(__file__).parent / "fixtures"

#: IPv4 ranges the service must never reach (loopback, RFC 1918, link-local with the cloud
#: metadata service, CGNAT, "this network", documentation, benchmarking, multicast, reserved)
INTERNAL_V4 = ("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
               "172.16.0.0/12", "192.0.0.0/29", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
               "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4")
INTERNAL_V6 = ("::1/128", "::/128", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
               "2001:db8::/32", "100::/64")
#: the IANA special-purpose registry and multicast: an address outside all of these is public
SPECIAL_V4 = INTERNAL_V4 + ("192.0.0.0/24", "192.31.196.0/24", "192.52.193.0/24",
                            "192.88.99.0/24", "192.175.48.0/24", "255.255.255.255/32")
HOSTILE_SCHEMES = ("file", "gopher", "ftp", "javascript", "data", "dict", "ldap", "jar", "ws",
                   "wss", "smb", "netdoc", "mailto")


def inside(networks):
    """A strategy of addresses inside one of ``networks``."""
    nets = [ipaddress.ip_network(n) for n in networks]
    return st.sampled_from(nets).flatmap(lambda net: st.integers(
        int(net.network_address), int(net.broadcast_address)).map(
        lambda n: ipaddress.ip_address(n) if net.version == 4 else ipaddress.IPv6Address(n)))


def outside(networks, version=4):
    nets = [ipaddress.ip_network(n) for n in networks]
    return st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address).filter(
        lambda ip: not any(ip in net for net in nets))


internal_v4 = inside(INTERNAL_V4)
public_v4 = outside(SPECIAL_V4)
#: real RIR allocations (2400::/8 ... 2a00::/8), far from every special IPv6 range
public_v6 = st.integers(0x24 << 120, (0x2b << 120) - 1).map(ipaddress.IPv6Address)


@given(internal_v4)
def test_every_internal_ipv4_address_is_refused(ip):
    assert refusal_for_address(ip) is not None
    assert refusal_for_address(str(ip)).endswith(f"({ip})")


@given(inside(INTERNAL_V6))
def test_every_internal_ipv6_address_is_refused(ip):
    assert refusal_for_address(ip) is not None


@given(internal_v4, st.sampled_from(["::ffff:{}", "2002:{:x}:{:x}::", "64:ff9b::{}"]))
def test_an_ipv6_address_carrying_an_internal_ipv4_one_is_refused_as_that_address(ip, form):
    high, low = int(ip) >> 16, int(ip) & 0xFFFF
    wrapped = form.format(ip) if "{}" in form else form.format(high, low)
    why = refusal_for_address(wrapped)
    assert why is not None and f"({ip}, inside" in why, wrapped


@given(public_v4)
def test_public_ipv4_addresses_are_accepted_bare_and_wrapped_in_ipv6(ip):
    assert refusal_for_address(ip) is None
    assert refusal_for_address(f"::ffff:{ip}") is None
    assert refusal_for_address(f"64:ff9b::{ip}") is None


@given(public_v6)
def test_public_ipv6_addresses_are_accepted(ip):
    assert refusal_for_address(ip) is None


@pytest.mark.parametrize("address, words", [
    ("169.254.169.254", "a link-local address"), ("127.0.0.1", "a loopback address"),
    ("10.0.0.5", "a private address"), ("100.64.0.1", "carrier-grade NAT"),
    ("0.0.0.0", "an unspecified address"), ("::", "an unspecified address"),
    ("224.0.1.1", "a multicast address"), ("ff0e::1", "a multicast address"),
    ("240.0.0.1", "a reserved address"), ("192.0.2.7", "a special-purpose address"),
    ("fec0::1", "a site-local address"), ("::ffff:127.0.0.1", "a loopback address (127.0.0.1")])
def test_a_refusal_says_what_kind_of_address_it_is(address, words):
    assert words in refusal_for_address(address)


def numeric_spellings(ip: ipaddress.IPv4Address) -> list[str]:
    """The ways the C resolver (inet_aton) reads a number as an IPv4 address."""
    n, parts = int(ip), ip.packed
    return [str(n), hex(n), "0" + oct(n)[2:], ".".join(hex(p) for p in parts),
            f"{parts[0]}.{n & 0xFFFFFF}", f"{parts[0]}.{parts[1]}.{n & 0xFFFF}",
            ".".join("0" + oct(p)[2:] for p in parts)]


@given(internal_v4, st.sampled_from(["http", "https"]), st.sampled_from(["", ":8080"]))
def test_an_internal_address_is_refused_in_every_numeric_spelling(ip, scheme, port):
    for host in numeric_spellings(ip):
        refusal = refusal_for_url(f"{scheme}://{host}{port}/latest/meta-data/")
        assert refusal is not None and refusal.code == "url-internal", host
        assert refusal.host == str(ip), host


@given(inside(INTERNAL_V6))
def test_an_internal_ipv6_literal_in_brackets_is_refused(ip):
    refusal = refusal_for_url(f"http://[{ip}]:6379/")
    assert refusal is not None and refusal.code == "url-internal"


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST.", "redis.localhost", "printer.local",
                                  "metadata.google.internal", "nas.home.arpa"])
def test_local_only_names_are_refused_without_resolving_them(host):
    refusal = refusal_for_url(f"http://{host}:6379/")
    assert refusal is not None and refusal.code == "url-internal"


@given(st.sampled_from(HOSTILE_SCHEMES), st.text(min_size=0, max_size=40))
def test_every_scheme_but_http_and_https_is_refused(scheme, rest):
    refusal = refusal_for_url(f"{scheme}:{rest}")
    assert refusal is not None and refusal.code in ("url-scheme", "url-malformed")


_user = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.:%-_", min_size=0, max_size=20)


@given(_user, st.sampled_from(["sede.example.org", "10.0.0.5", "[::1]", "allowed.example"]))
def test_a_user_name_or_password_before_the_host_is_refused_even_on_an_allowed_host(user, host):
    refusal = refusal_for_url(f"https://{user}@{host}/tramite", ["allowed.example", "10.0.0.5"])
    assert refusal is not None and refusal.code == "url-userinfo"


@pytest.mark.parametrize("url", ["http:///tramite", "https://:443/", "http://?q", "http://#x"])
def test_a_url_without_a_host_is_refused(url):
    refusal = refusal_for_url(url)
    assert refusal is not None and refusal.code == "url-no-host"


@pytest.mark.parametrize("url", ["http://sede.example.org:99999/", "http://[::1/",
                                 "http://sede example.org/"])
def test_a_url_that_is_not_one_is_refused(url):
    refusal = refusal_for_url(url)
    assert refusal is not None and refusal.code == "url-malformed"


@pytest.mark.parametrize("url", ["https://sede.example.org/ayudas", "http://8.8.8.8/",
                                 "https://[2606:4700::1111]/", "https://ayuntamiento-ñ.es/"])
def test_a_public_url_is_not_refused(url):
    assert refusal_for_url(url) is None


def test_an_allow_listed_host_skips_the_address_rule_only():
    allow = ["10.0.0.5", "*.intranet.example", "Sede.Interna.Example"]
    assert refusal_for_url("http://10.0.0.5/x", allow) is None
    assert refusal_for_url("http://0x0a.0.0.5/x", allow) is None  # the same address
    assert refusal_for_url("https://a.intranet.example/", allow) is None
    assert refusal_for_url("https://SEDE.interna.example./", allow) is None
    assert not host_allowed("intranet.example", allow)  # not the apex
    assert refusal_for_url("http://10.0.0.6/x", allow).code == "url-internal"
    assert refusal_for_url("ftp://10.0.0.5/x", allow).code == "url-scheme"


@given(st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){1,3}", fullmatch=True))
def test_a_wildcard_allows_every_name_under_its_domain_and_not_the_domain(domain):
    assert host_allowed(f"www.{domain}", [f"*.{domain}"])
    assert host_allowed(f"A.B.{domain.upper()}", [f"*.{domain}"])
    assert not host_allowed(domain, [f"*.{domain}"])
    assert not host_allowed(f"evil{domain}", [f"*.{domain}"])


@pytest.mark.parametrize("entry", ["*", "*.es", "*foo", "http://intranet.example/",
                                   "intranet.example/path", "bad host", "intra_net.example"])
def test_an_allow_list_entry_that_is_not_a_host_is_a_problem(entry):
    assert allow_host_problem(entry) is not None


@pytest.mark.parametrize("entry", ["intranet.sede.example", "*.intranet.ayto.es", "10.0.0.5",
                                   "::1", "ñandú.es"])
def test_an_allow_list_entry_that_is_a_host_is_fine(entry):
    assert allow_host_problem(entry) is None


def config_with_policies(tmp_path, policies: str) -> Path:
    config = tmp_path / "config"
    shutil.copytree(FIXTURES / "config", config)
    (config / "policies.yaml").write_text(policies, encoding="utf-8")
    return config


def test_the_network_section_reaches_the_config_and_defaults_are_strict(tmp_path):
    assert load_config(FIXTURES / "config").network == NetPolicy()
    config = load_config(config_with_policies(tmp_path, (
        "network:\n  allow_hosts: [intranet.sede.example, '*.intranet.ayto.es', 10.0.0.5]\n"
        "  max_redirects: 2\n  max_body_bytes: 65536\n")))
    assert config.network == NetPolicy(("intranet.sede.example", "*.intranet.ayto.es",
                                        "10.0.0.5"), max_redirects=2, max_body_bytes=65536)


def test_a_bad_allow_list_entry_is_reported_where_it_is_with_a_hint(tmp_path):
    config = config_with_policies(tmp_path, "network:\n  allow_hosts:\n    - intranet.example\n"
                                            "    - http://10.0.0.5/tramite\n    - '*'\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    found = sorted((f.line, f.col, f.code) for f in caught.value.findings)
    assert found == [(4, 7, "bad-allow-host"), (5, 7, "bad-allow-host")]
    url, star = sorted(caught.value.findings)
    assert "write the host only: 10.0.0.5" in url.hint
    assert "far too many hosts" in star.message


def test_unknown_network_keys_and_out_of_range_caps_are_refused(tmp_path):
    config = config_with_policies(tmp_path, "network:\n  allow_host: [x.example]\n"
                                            "  max_redirects: 500\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert {f.code for f in caught.value.findings} == {"unknown-key", "wrong-type"}
