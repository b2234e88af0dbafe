"""Client address: normalisation, proxy-header resolution, reduction."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passivelog.client import (
    IP_MODES,
    IpReducer,
    TrustedProxies,
    normalise_ip,
    resolve_client_ip,
)
from passivelog.pseudonym import Pseudonymiser

SECRET = "an example secret for the tests only"

Headers = list[tuple[bytes, bytes]]


def xff(*values: str | bytes) -> Headers:
    return [
        (b"x-forwarded-for", v if isinstance(v, bytes) else v.encode("latin-1")) for v in values
    ]


def fwd(*values: str | bytes) -> Headers:
    return [(b"forwarded", v if isinstance(v, bytes) else v.encode("latin-1")) for v in values]


# --- normalise_ip -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("203.0.113.7", "203.0.113.7", id="ipv4"),
        pytest.param("203.0.113.7:4711", "203.0.113.7", id="ipv4-port"),
        pytest.param(" 203.0.113.7\t", "203.0.113.7", id="ipv4-whitespace"),
        pytest.param("0.0.0.0", "0.0.0.0", id="ipv4-zero"),
        pytest.param("255.255.255.255", "255.255.255.255", id="ipv4-broadcast"),
        pytest.param("2001:db8::1", "2001:db8::1", id="ipv6"),
        pytest.param("2001:DB8:0000:0000:0:0:0:1", "2001:db8::1", id="ipv6-uncompressed"),
        pytest.param("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", id="ipv6-first-longest-run"),
        pytest.param("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1", id="ipv6-single-zero-kept"),
        pytest.param("::", "::", id="ipv6-unspecified"),
        pytest.param("::1", "::1", id="ipv6-loopback"),
        pytest.param("[2001:db8::1]", "2001:db8::1", id="ipv6-brackets"),
        pytest.param("[2001:db8::1]:4711", "2001:db8::1", id="ipv6-brackets-port"),
        pytest.param("fe80::1%eth0", "fe80::1", id="ipv6-zone"),
        pytest.param("[fe80::1%25eth0]:80", "fe80::1", id="ipv6-uri-zone-port"),
        pytest.param("::ffff:192.0.2.1", "192.0.2.1", id="ipv4-mapped"),
        pytest.param("::FFFF:c000:0201", "192.0.2.1", id="ipv4-mapped-hex"),
        pytest.param("[::ffff:192.0.2.1]:443", "192.0.2.1", id="ipv4-mapped-brackets-port"),
        pytest.param("::192.0.2.1", "::c000:201", id="ipv4-compatible"),
        pytest.param("64:ff9b::192.0.2.1", "64:ff9b::c000:201", id="nat64"),
        pytest.param("010.0.0.1", None, id="ipv4-leading-zero"),
        pytest.param("256.0.0.1", None, id="ipv4-octet-too-big"),
        pytest.param("203.0.113", None, id="ipv4-three-octets"),
        pytest.param("203.0.113.7:", None, id="ipv4-empty-port"),
        pytest.param("203.0.113.7:http", None, id="ipv4-named-port"),
        pytest.param("203.0.113.7:123456", None, id="ipv4-port-too-long"),
        pytest.param("[203.0.113.7]", None, id="ipv4-in-brackets"),
        pytest.param("[2001:db8::1", None, id="ipv6-unclosed-bracket"),
        pytest.param("[2001:db8::1]x", None, id="ipv6-junk-after-bracket"),
        pytest.param("2001:db8::1:4711:1:2:3:4", None, id="ipv6-too-many-groups"),
        pytest.param("2001:db8::1::2", None, id="ipv6-two-double-colons"),
        pytest.param("2001:db8::g", None, id="ipv6-not-hex"),
        pytest.param("testclient", None, id="hostname"),
        pytest.param("proxy.example", None, id="dotted-hostname"),
        pytest.param("unknown", None, id="unknown"),
        pytest.param("_hidden", None, id="obfuscated"),
        pytest.param("", None, id="empty"),
        pytest.param("1" * 10_000, None, id="huge"),
        pytest.param("\uff12\uff10\uff13.0.113.7", None, id="fullwidth-digits"),
        pytest.param("203.0.113.7\x00", None, id="nul"),
        pytest.param("\udcff", None, id="lone-surrogate"),
    ],
)
def test_normalise_ip(text: str, expected: str | None) -> None:
    assert normalise_ip(text) == expected


def _reference(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


@given(st.ip_addresses())
def test_normalise_ip_agrees_with_ipaddress(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    assert normalise_ip(str(address)) == _reference(address)
    assert normalise_ip(address.exploded) == _reference(address)


@given(st.ip_addresses(v=6), st.integers(0, 65535))
def test_normalise_ip_drops_the_port_of_bracketed_ipv6(
    address: ipaddress.IPv6Address, port: int
) -> None:
    assert normalise_ip(f"[{address.exploded.upper()}]:{port}") == _reference(address)


@given(st.text(alphabet="0123456789abcdefABCDEF:.[]% x", max_size=50))
def test_normalise_ip_is_ipaddress_or_none(text: str) -> None:
    result = normalise_ip(text)
    if result is not None:
        # Whatever is accepted is an address that ipaddress reads the same way.
        assert normalise_ip(result) == result
        assert result == _reference(ipaddress.ip_address(result))
    try:
        expected = _reference(ipaddress.ip_address(text))
    except ValueError:
        return
    if "%" not in text:
        assert result == expected


# --- TrustedProxies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "ip", "expected"),
    [
        pytest.param(["192.0.2.1"], "192.0.2.1", True, id="exact"),
        pytest.param(["192.0.2.1"], "192.0.2.2", False, id="exact-other"),
        pytest.param(["192.0.2.0/24"], "192.0.2.200", True, id="cidr-v4"),
        pytest.param(["192.0.2.0/24"], "192.0.3.1", False, id="cidr-v4-outside"),
        pytest.param(["192.0.2.1/32"], "192.0.2.1", True, id="cidr-v4-single"),
        pytest.param(["2001:db8:ff::/48"], "2001:db8:ff:1::7", True, id="cidr-v6"),
        pytest.param(["2001:db8:ff::/48"], "2001:db8:fe::7", False, id="cidr-v6-outside"),
        pytest.param(["2001:DB8::0001"], "2001:db8::1", True, id="exact-v6-any-spelling"),
        pytest.param(["::ffff:192.0.2.1"], "192.0.2.1", True, id="mapped-entry"),
        pytest.param(["::ffff:192.0.2.0/120"], "192.0.2.9", True, id="mapped-network"),
        pytest.param(["192.0.2.0/24"], "2001:db8::1", False, id="v6-against-v4-network"),
        pytest.param(["2001:db8::/32"], "192.0.2.1", False, id="v4-against-v6-network"),
        pytest.param(["192.0.2.0/24"], "192.0.2.1:80", False, id="not-normalised"),
        pytest.param(["192.0.2.0/24"], None, False, id="none"),
        pytest.param(["192.0.2.0/24"], "testclient", False, id="hostname"),
        pytest.param(["*"], "203.0.113.7", True, id="star"),
        pytest.param(["*"], None, True, id="star-none"),
        pytest.param([], "192.0.2.1", False, id="empty"),
    ],
)
def test_trusted_proxies_contains(entries: list[str], ip: str | None, expected: bool) -> None:
    assert (ip in TrustedProxies(entries)) is expected


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        pytest.param("192.0.2.1", "not the single string", id="bare-string"),
        pytest.param(b"192.0.2.1", "not the single string", id="bare-bytes"),
        pytest.param(["192.0.2.1/24"], "did you mean '192.0.2.0/24'", id="host-bits"),
        pytest.param(["proxy.example"], "'proxy.example'", id="hostname"),
        pytest.param(["192.0.2.1:8080"], "no port", id="port"),
        pytest.param(["fe80::1%eth0"], "zone id", id="zone"),
        pytest.param(["192.0.2.0/33"], "'192.0.2.0/33'", id="bad-prefix"),
        pytest.param([""], "''", id="empty-entry"),
        pytest.param([42], "42", id="not-a-string"),
    ],
)
def test_trusted_proxies_rejects(entries: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrustedProxies(entries)  # type: ignore[arg-type]


def test_trusted_proxies_bool_and_repr() -> None:
    assert not TrustedProxies()
    proxies = TrustedProxies([" 192.0.2.1 ", "2001:DB8::/32", "*"])
    assert proxies
    assert repr(proxies) == "TrustedProxies(['192.0.2.1', '2001:db8::/32', '*'], header='auto')"


# --- resolve_client_ip --------------------------------------------------------------------------

PROXY = "192.0.2.1"


@pytest.mark.parametrize(
    ("peer", "headers", "trusted", "expected"),
    [
        # Untrusted peers: headers are never read.
        pytest.param(
            "203.0.113.50",
            xff("198.51.100.66"),
            [PROXY],
            "203.0.113.50",
            id="untrusted-peer-spoofed-xff",
        ),
        pytest.param(
            "203.0.113.50",
            xff(PROXY),
            [PROXY],
            "203.0.113.50",
            id="untrusted-peer-claims-to-be-proxy",
        ),
        pytest.param(
            "203.0.113.50",
            fwd("for=198.51.100.66"),
            [PROXY],
            "203.0.113.50",
            id="untrusted-peer-spoofed-forwarded",
        ),
        pytest.param("192.0.2.1", xff("198.51.100.66"), [], "192.0.2.1", id="nothing-trusted"),
        pytest.param("203.0.113.50:4711", [], [], "203.0.113.50", id="peer-with-port"),
        pytest.param(None, xff("198.51.100.66"), [PROXY], None, id="peer-none"),
        pytest.param("testclient", xff("198.51.100.66"), [PROXY], None, id="peer-testclient"),
        # A trusted peer: walk X-Forwarded-For from the right.
        pytest.param(PROXY, [], [PROXY], PROXY, id="trusted-peer-no-header"),
        pytest.param(PROXY, xff("203.0.113.7"), [PROXY], "203.0.113.7", id="one-hop"),
        pytest.param(
            PROXY,
            xff("198.51.100.66, 203.0.113.7"),
            [PROXY],
            "203.0.113.7",
            id="rightmost-untrusted-hop",
        ),
        pytest.param(
            PROXY,
            xff("198.51.100.66, 203.0.113.7, 192.0.2.2, 192.0.2.3"),
            [PROXY, "192.0.2.2", "192.0.2.3"],
            "203.0.113.7",
            id="chain-of-proxies",
        ),
        pytest.param(
            PROXY,
            xff("198.51.100.66, 203.0.113.7, 192.0.2.200"),
            ["192.0.2.0/24"],
            "203.0.113.7",
            id="cidr-trust",
        ),
        pytest.param(
            PROXY,
            xff("192.0.2.5, 192.0.2.6"),
            ["192.0.2.0/24"],
            "192.0.2.5",
            id="all-hops-trusted-leftmost",
        ),
        pytest.param(
            PROXY,
            xff("198.51.100.66", "203.0.113.7"),
            [PROXY],
            "203.0.113.7",
            id="repeated-headers-combined",
        ),
        pytest.param(
            PROXY,
            xff("198.51.100.66", "203.0.113.7, 192.0.2.2"),
            [PROXY, "192.0.2.2"],
            "203.0.113.7",
            id="repeated-headers-in-order",
        ),
        pytest.param(
            PROXY,
            xff("203.0.113.7", "192.0.2.2"),
            [PROXY, "192.0.2.2"],
            "203.0.113.7",
            id="walk-crosses-headers",
        ),
        pytest.param(PROXY, xff("203.0.113.7:4711"), [PROXY], "203.0.113.7", id="hop-with-port"),
        pytest.param(
            PROXY,
            xff(" \t203.0.113.7 ,\t"),
            [PROXY],
            "203.0.113.7",
            id="whitespace-and-empty-members",
        ),
        pytest.param(PROXY, xff(""), [PROXY], PROXY, id="empty-header"),
        pytest.param(PROXY, xff(", ,"), [PROXY], PROXY, id="only-commas"),
        # IPv6 and IPv4-mapped.
        pytest.param(
            "2001:db8:ff::1", xff("2001:db8:1::7"), ["2001:db8:ff::/48"], "2001:db8:1::7", id="ipv6"
        ),
        pytest.param(
            "2001:db8:ff::1",
            xff("2001:DB8:0001:0000::7"),
            ["2001:db8:ff::/48"],
            "2001:db8:1::7",
            id="ipv6-hop-normalised",
        ),
        pytest.param(
            PROXY, xff("[2001:db8::7]:4711"), [PROXY], "2001:db8::7", id="ipv6-hop-brackets-port"
        ),
        pytest.param(
            "::ffff:192.0.2.1",
            xff("203.0.113.7"),
            [PROXY],
            "203.0.113.7",
            id="ipv4-mapped-peer-trusted",
        ),
        pytest.param(
            PROXY, xff("::ffff:203.0.113.7"), [PROXY], "203.0.113.7", id="ipv4-mapped-hop"
        ),
        pytest.param(
            "fe80::1%eth0", xff("203.0.113.7"), ["fe80::1"], "203.0.113.7", id="peer-with-zone"
        ),
        # Junk hops: stop at the proxy that forwarded them.
        pytest.param(PROXY, xff("203.0.113.7, unknown"), [PROXY], PROXY, id="xff-unknown"),
        pytest.param(
            PROXY,
            xff("203.0.113.7, garbage, 192.0.2.2"),
            [PROXY, "192.0.2.2"],
            "192.0.2.2",
            id="xff-junk-behind-trusted-hop",
        ),
        pytest.param(PROXY, xff("203.0.113.7, proxy.example"), [PROXY], PROXY, id="xff-hostname"),
        pytest.param(PROXY, xff("203.0.113.7, 010.0.0.1"), [PROXY], PROXY, id="xff-leading-zero"),
        pytest.param(
            PROXY,
            xff(b"\xff\xfe, 203.0.113.7"),
            [PROXY],
            "203.0.113.7",
            id="invalid-bytes-left-of-client",
        ),
        pytest.param(PROXY, xff(b"203.0.113.7\xff"), [PROXY], PROXY, id="invalid-bytes-in-hop"),
        # RFC 7239 Forwarded.
        pytest.param(PROXY, fwd("for=203.0.113.7"), [PROXY], "203.0.113.7", id="fwd"),
        pytest.param(
            PROXY,
            fwd('for="[2001:db8:cafe::17]:4711"'),
            [PROXY],
            "2001:db8:cafe::17",
            id="fwd-quoted-ipv6-port",
        ),
        pytest.param(
            PROXY,
            fwd('for="[2001:db8:cafe::17]"'),
            [PROXY],
            "2001:db8:cafe::17",
            id="fwd-quoted-ipv6",
        ),
        pytest.param(
            PROXY,
            fwd('for="203.0.113.7:_gazonk"'),
            [PROXY],
            "203.0.113.7",
            id="fwd-obfuscated-port",
        ),
        pytest.param(
            PROXY,
            fwd("For=198.51.100.66, FOR=203.0.113.7"),
            [PROXY],
            "203.0.113.7",
            id="fwd-mixed-case",
        ),
        pytest.param(
            PROXY,
            fwd("for=203.0.113.7;proto=https;by=192.0.2.1"),
            [PROXY],
            "203.0.113.7",
            id="fwd-several-params",
        ),
        pytest.param(
            PROXY,
            fwd("proto=https;by=192.0.2.1;for=203.0.113.7"),
            [PROXY],
            "203.0.113.7",
            id="fwd-for-last",
        ),
        pytest.param(
            PROXY,
            fwd("for=198.51.100.66", "for=203.0.113.7, for=192.0.2.2"),
            [PROXY, "192.0.2.2"],
            "203.0.113.7",
            id="fwd-repeated-headers",
        ),
        pytest.param(PROXY, fwd("for=203.0.113.7, for=unknown"), [PROXY], PROXY, id="fwd-unknown"),
        pytest.param(
            PROXY,
            fwd("for=203.0.113.7, for=_hidden, for=192.0.2.2"),
            [PROXY, "192.0.2.2"],
            "192.0.2.2",
            id="fwd-obfuscated-behind-trusted",
        ),
        pytest.param(PROXY, fwd('for="_hidden"'), [PROXY], PROXY, id="fwd-quoted-obfuscated"),
        pytest.param(
            PROXY, fwd("for=203.0.113.7, proto=https"), [PROXY], PROXY, id="fwd-element-without-for"
        ),
        pytest.param(
            PROXY, fwd("for=198.51.100.66;for=203.0.113.7"), [PROXY], PROXY, id="fwd-duplicate-for"
        ),
        pytest.param(
            PROXY, fwd("for=203.0.113.7;;proto=https"), [PROXY], "203.0.113.7", id="fwd-empty-param"
        ),
        pytest.param(
            PROXY, fwd("for=203.0.113.7;junk"), [PROXY], PROXY, id="fwd-param-without-value"
        ),
        pytest.param(
            PROXY, fwd("for=203.0.113.7;a b=1"), [PROXY], PROXY, id="fwd-param-name-not-a-token"
        ),
        pytest.param(
            PROXY,
            fwd('for=203.0.113.7;ext="a, for=198.51.100.66"'),
            [PROXY],
            "203.0.113.7",
            id="fwd-comma-inside-quotes",
        ),
        pytest.param(
            PROXY, fwd('for="203.0.113.\\7"'), [PROXY], "203.0.113.7", id="fwd-quoted-pair"
        ),
        pytest.param(
            PROXY,
            fwd('for=198.51.100.66;ext="', "for=203.0.113.7"),
            [PROXY],
            "203.0.113.7",
            id="fwd-unterminated-quote-stays-in-its-header",
        ),
        pytest.param(
            PROXY,
            fwd('for=198.51.100.66;ext=", for=203.0.113.7'),
            [PROXY],
            PROXY,
            id="fwd-unterminated-quote-swallows-proxy-element",
        ),
        pytest.param(
            PROXY,
            fwd('for=198.51.100.66;ext=", for="[2001:db8::7]"'),
            [PROXY],
            PROXY,
            id="fwd-unterminated-quote-closed-by-proxy-quote",
        ),
        pytest.param(
            PROXY, fwd('for=203.0.113.7;ext=a"b'), [PROXY], PROXY, id="fwd-quote-inside-token"
        ),
        pytest.param(
            PROXY,
            fwd("for=203.0.113.7") + xff("198.51.100.66"),
            [PROXY],
            "203.0.113.7",
            id="fwd-preferred-over-xff",
        ),
        pytest.param(
            PROXY,
            xff("198.51.100.66") + fwd("for=203.0.113.7"),
            [PROXY],
            "203.0.113.7",
            id="fwd-preferred-whatever-the-order",
        ),
        # "*": every hop is trusted, so the leftmost, client-written hop wins (the danger).
        pytest.param(
            "203.0.113.50",
            xff("198.51.100.66, 203.0.113.7"),
            ["*"],
            "198.51.100.66",
            id="star-believes-leftmost",
        ),
        pytest.param(None, xff("203.0.113.7"), ["*"], "203.0.113.7", id="star-peer-none"),
        pytest.param(
            "testclient", xff("203.0.113.7"), ["*"], "203.0.113.7", id="star-peer-testclient"
        ),
        pytest.param("testclient", [], ["*"], None, id="star-testclient-no-header"),
        pytest.param("testclient", xff("unknown"), ["*"], None, id="star-testclient-junk-hop"),
        # Other headers are ignored.
        pytest.param(
            PROXY,
            [(b"x-real-ip", b"198.51.100.66"), (b"X-Forwarded-For", b"198.51.100.6")],
            [PROXY],
            PROXY,
            id="other-headers-ignored",
        ),
    ],
)
def test_resolve_client_ip(
    peer: str | None, headers: Headers, trusted: list[str], expected: str | None
) -> None:
    assert resolve_client_ip(peer, headers, TrustedProxies(trusted)) == expected


TRUSTED_NET = TrustedProxies(["192.0.2.0/24"])


def test_a_thousand_hops_are_cut_to_the_rightmost_64() -> None:
    hops = ["198.51.100.66"] + [f"192.0.2.{i % 250 + 1}" for i in range(999)]
    result = resolve_client_ip(PROXY, xff(", ".join(hops)), TRUSTED_NET)
    # All 64 hops read are trusted; the far-left client-written hop is never reached.
    assert result == hops[-64]


def test_a_thousand_headers_are_cut_to_the_rightmost_64_hops() -> None:
    headers = xff("198.51.100.66") + xff(*["192.0.2.9"] * 999)
    assert resolve_client_ip(PROXY, headers, TRUSTED_NET) == "192.0.2.9"


def test_a_thousand_untrusted_hops_give_the_rightmost() -> None:
    hops = [f"203.0.113.{i % 250 + 1}" for i in range(1000)]
    assert resolve_client_ip(PROXY, xff(", ".join(hops)), TRUSTED_NET) == hops[-1]
    assert (
        resolve_client_ip(PROXY, fwd(", ".join(f"for={h}" for h in hops)), TRUSTED_NET) == hops[-1]
    )


def test_a_long_header_keeps_its_right_end() -> None:
    value = "x" * 100_000 + ", 203.0.113.7, 192.0.2.2"
    assert resolve_client_ip(PROXY, xff(value), TRUSTED_NET) == "203.0.113.7"
    assert (
        resolve_client_ip(PROXY, fwd(value.replace(", ", ", for=")), TRUSTED_NET) == "203.0.113.7"
    )


def _fill_window(left: str, right: str, cut_at: int) -> str:
    # Pads the trusted hops on the right so that the 8 KB window starts at left[cut_at:].
    value = left + right
    padding = 8192 + cut_at - len(value)
    assert padding >= 0
    return value + " " * padding


@pytest.mark.parametrize(
    ("make", "left", "cut_at", "prefix"),
    [
        # The window starts inside "203.0.113.66", leaving "3.0.113.66", an address nobody wrote.
        pytest.param(xff, "203.0.113.66, ", 2, "", id="xff"),
        # The window starts inside "xfor=...", leaving a "for=198.51.100.66" nobody wrote.
        pytest.param(fwd, "xfor=198.51.100.66, ", 1, "for=", id="fwd"),
    ],
)
def test_a_hop_cut_in_half_is_not_read(
    make: Callable[..., Headers], left: str, cut_at: int, prefix: str
) -> None:
    # The trusted hops to the right are padded with whitespace to fill the window.
    trusted_hops = ", ".join(prefix + "192.0.2.9" + " " * 150 for _ in range(48))
    headers = make(_fill_window(left, trusted_hops, cut_at))
    assert resolve_client_ip(PROXY, headers, TRUSTED_NET) == "192.0.2.9"


def test_a_cut_inside_a_quoted_string_cannot_smuggle_a_hop() -> None:
    # Cut inside the quoted string, the client's "for=198.51.100.66" looks like an element of its
    # own and the closing quote opens a quoted string that swallows the trusted elements. The
    # swallowed element is malformed, so the walk stops at once: the peer, never the client's pick.
    left = 'for=203.0.113.7;ext="abc, for=198.51.100.66, y"'
    trusted_hops = ", " + ", ".join("for=192.0.2.9" + " " * 150 for _ in range(48))
    value = _fill_window(left, trusted_hops, cut_at=left.index("c,"))
    assert resolve_client_ip(PROXY, fwd(value), TRUSTED_NET) == PROXY


# Hypothesis: hostile headers.

_HOP = st.one_of(
    st.ip_addresses().map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]:4711"),
    st.sampled_from(["192.0.2.1", "192.0.2.77", "unknown", "_hidden", "", " ", "\t", "junk"]),
)
_PIECE = st.one_of(
    _HOP,
    st.sampled_from(
        [
            '"',
            "\\",
            ";",
            ",",
            "=",
            "for=",
            "For=",
            "FOR=",
            "proto=https",
            "[",
            "]",
            ":4711",
            ":_port",
            "%eth0",
            "\x00",
            "\xff",
        ]
    ),
)
_VALUE = st.one_of(
    st.binary(max_size=200),
    st.lists(_PIECE, max_size=30).map(lambda p: "".join(p).encode("utf-8", "surrogatepass")),
    st.lists(_HOP, max_size=30).map(lambda p: ", ".join(p).encode("utf-8")),
    st.lists(_HOP, max_size=30).map(lambda p: ", ".join(f'for="{h}"' for h in p).encode()),
)
_NAME = st.one_of(
    st.sampled_from([b"forwarded", b"x-forwarded-for", b"host"]), st.binary(max_size=16)
)
_HEADERS = st.lists(st.tuples(_NAME, _VALUE), max_size=8)
_PEER = st.one_of(
    st.none(),
    st.sampled_from([PROXY, "testclient", "192.0.2.77"]),
    st.ip_addresses().map(str),
    st.text(max_size=20),
)
_TRUSTED = st.sampled_from(
    [
        TrustedProxies([PROXY]),
        TrustedProxies(["192.0.2.0/24", "2001:db8::/32"]),
        TrustedProxies(["*"]),
        TrustedProxies(),
    ]
)


@given(_PEER, _HEADERS, _TRUSTED)
def test_resolve_client_ip_is_none_or_a_normalised_ip(
    peer: str | None, headers: Headers, trusted: TrustedProxies
) -> None:
    result = resolve_client_ip(peer, headers, trusted)
    if result is not None:
        assert normalise_ip(result) == result
        ipaddress.ip_address(result)


@given(st.ip_addresses(), _HEADERS)
def test_resolve_client_ip_with_untrusted_peer_is_the_peer(
    peer: ipaddress.IPv4Address | ipaddress.IPv6Address, headers: Headers
) -> None:
    trusted = TrustedProxies(["192.0.2.0/24", "2001:db8::/32"])
    normalised = normalise_ip(str(peer))
    if normalised in trusted:
        return
    assert resolve_client_ip(str(peer), headers, trusted) == normalised


@given(
    _HEADERS, st.ip_addresses(v=4).filter(lambda a: a not in ipaddress.ip_network("192.0.2.0/24"))
)
def test_resolve_client_ip_believes_the_hop_our_proxy_appended(
    headers: Headers, client: ipaddress.IPv4Address
) -> None:
    # Whatever a client sent, the address our proxy appends in its own header is the answer.
    trusted = TrustedProxies(["192.0.2.0/24"])
    x_forwarded_for = [(n, v) for n, v in headers if n == b"x-forwarded-for"]
    assert resolve_client_ip(PROXY, [*x_forwarded_for, *xff(str(client))], trusted) == str(client)
    forwarded = [(n, v) for n, v in headers if n == b"forwarded"]
    assert resolve_client_ip(PROXY, [*forwarded, *fwd(f"for={client}")], trusted) == str(client)


# --- IpReducer ----------------------------------------------------------------------------------

PSEUDONYMISER = Pseudonymiser(SECRET)


@pytest.mark.parametrize(
    ("mode", "ip", "expected"),
    [
        pytest.param("full", "203.0.113.195", "203.0.113.195", id="full-v4"),
        pytest.param("full", "2001:db8:1:2::5", "2001:db8:1:2::5", id="full-v6"),
        pytest.param("truncate", "203.0.113.195", "203.0.113.0", id="truncate-v4"),
        pytest.param("truncate", "192.0.2.0", "192.0.2.0", id="truncate-v4-already"),
        pytest.param("truncate", "2001:db8:1:2::5", "2001:db8:1::", id="truncate-v6"),
        pytest.param(
            "truncate",
            "2001:db8:abcd:12:34:56:78:9a",
            "2001:db8:abcd::",
            id="truncate-v6-full-length",
        ),
        pytest.param("truncate", "2001:db8::5", "2001:db8::", id="truncate-v6-zero-third-group"),
        pytest.param("truncate", "2001:0:1::5", "2001:0:1::", id="truncate-v6-zero-second-group"),
        pytest.param("truncate", "::1", "::", id="truncate-v6-loopback"),
        pytest.param("truncate", "::48d3:0:cb0a:0:0:1", "0:0:48d3::", id="truncate-v6-leading-run"),
        pytest.param("truncate", "::3:4:5:6:7:8", "0:0:3::", id="truncate-v6-leading-pair"),
        pytest.param("truncate", "0:2:3:4:5:6:7:8", "0:2:3::", id="truncate-v6-leading-zero"),
        pytest.param("truncate", "1:2::", "1:2::", id="truncate-v6-trailing-run"),
        pytest.param("truncate", "64:ff9b::192.0.2.1", "64:ff9b::", id="truncate-v6-embedded-v4"),
        pytest.param("truncate", "1:2:3:4:5:6:7:8:9", None, id="truncate-v6-too-long"),
        pytest.param("truncate", "::", "::", id="truncate-v6-unspecified"),
        pytest.param("truncate", "testclient", None, id="truncate-not-an-ip"),
        pytest.param("truncate", "www.shop.example.com", None, id="truncate-dotted-name"),
        pytest.param("drop", "203.0.113.195", None, id="drop-v4"),
        pytest.param("drop", "2001:db8:1:2::5", None, id="drop-v6"),
        pytest.param(
            "hash", "203.0.113.195", PSEUDONYMISER.pseudonym("203.0.113.195", "ip"), id="hash-v4"
        ),
        pytest.param(
            "hash",
            "2001:db8:1:2::5",
            PSEUDONYMISER.pseudonym("2001:db8:1:2::5", "ip"),
            id="hash-v6",
        ),
    ],
)
def test_ip_reducer(mode: str, ip: str, expected: str | None) -> None:
    assert IpReducer(mode, PSEUDONYMISER).reduce(ip) == expected


@pytest.mark.parametrize("mode", IP_MODES)
def test_ip_reducer_passes_none_through(mode: str) -> None:
    assert IpReducer(mode, PSEUDONYMISER).reduce(None) is None


def test_ip_reducer_hash_hides_the_address() -> None:
    pseudonym = IpReducer("hash", PSEUDONYMISER).reduce("203.0.113.195")
    assert pseudonym is not None
    assert "203" not in pseudonym
    assert pseudonym != PSEUDONYMISER.pseudonym("203.0.113.195", "cookie")


def test_ip_reducer_rejects_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="'full', 'truncate', 'hash', 'drop'"):
        IpReducer("anonymise")


def test_ip_reducer_hash_needs_a_pseudonymiser() -> None:
    with pytest.raises(ValueError, match="needs a pseudonymiser"):
        IpReducer("hash")


@given(st.ip_addresses())
def test_truncate_agrees_with_ipaddress(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    ip = normalise_ip(str(address))
    assert ip is not None
    prefix = 24 if ":" not in ip else 48
    expected = ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address
    assert IpReducer("truncate").reduce(ip) == str(expected)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("auto", "192.0.2.66"),
        ("x-forwarded-for", "198.51.100.7"),
        ("forwarded", "192.0.2.66"),
    ],
    ids=["auto-prefers-forwarded", "xff-only-ignores-client-forwarded", "forwarded-only"],
)
def test_proxy_header_chooses_which_header_is_read(header: str, expected: str) -> None:
    # The proxy (203.0.113.1) appended the real client to X-Forwarded-For and passed on a
    # Forwarded header the client wrote itself.
    headers = [(b"forwarded", b"for=192.0.2.66"), (b"x-forwarded-for", b"198.51.100.7")]
    trusted = TrustedProxies(["203.0.113.1"], header=header)
    assert resolve_client_ip("203.0.113.1", headers, trusted) == expected


def test_unknown_proxy_header_is_refused() -> None:
    with pytest.raises(ValueError, match="x-real-ip"):
        TrustedProxies(["203.0.113.1"], header="x-real-ip")
