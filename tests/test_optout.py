"""Advertising opt-out: reading the signals, the effects on headers, the toggle and gpc.json."""

from __future__ import annotations

import asyncio
import json
import operator
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import cookie_parser

from passivelog.optout import (
    DEFAULT_AD_COOKIES,
    GPC_JSON_PATH,
    NO_OPT_OUT,
    SIGNALS,
    STATE_KEY,
    DecisionView,
    OptOutDecision,
    OptOutPolicy,
    _parse_cookie_date,
)

Headers = list[tuple[bytes, bytes]]

POLICY = OptOutPolicy()
NO_VARY = OptOutPolicy(vary=False)
GPC = OptOutDecision(True, ("gpc",))
COOKIE = OptOutDecision(True, ("cookie",))
GPC_AND_COOKIE = OptOutDecision(True, ("gpc", "cookie"))
ALL_VARY = b"Sec-GPC, DNT, X-Ad-Opt-Out, Cookie"


def decide(
    headers: Sequence[tuple[bytes, bytes]],
    cookies: Mapping[str, str] | None = None,
    policy: OptOutPolicy = POLICY,
) -> OptOutDecision:
    return policy.decide(headers, cookies or {})


# -- signals -------------------------------------------------------------------------------------

SIGNAL_CASES = [
    pytest.param([], {}, (), id="nothing"),
    pytest.param([(b"sec-gpc", b"1")], {}, ("gpc",), id="gpc-1"),
    pytest.param([(b"sec-gpc", b"1 ")], {}, ("gpc",), id="gpc-trailing-space-trimmed"),
    pytest.param([(b"sec-gpc", b"\t1")], {}, ("gpc",), id="gpc-leading-tab-trimmed"),
    pytest.param([(b"sec-gpc", b"\x0b1")], {}, (), id="gpc-vertical-tab-not-ows"),
    pytest.param([(b"sec-gpc", b"true")], {}, (), id="gpc-true-is-not-1"),
    pytest.param([(b"sec-gpc", b"0")], {}, (), id="gpc-0"),
    pytest.param([(b"sec-gpc", b"")], {}, (), id="gpc-empty"),
    pytest.param([(b"sec-gpc", b"1, 1")], {}, (), id="gpc-comma-joined-is-malformed"),
    pytest.param([(b"sec-gpc", b"11")], {}, (), id="gpc-11"),
    pytest.param([(b"sec-gpc", b"\xff")], {}, (), id="gpc-invalid-utf8"),
    pytest.param([(b"sec-gpc", b"1"), (b"sec-gpc", b"1")], {}, ("gpc",), id="gpc-duplicated"),
    pytest.param([(b"sec-gpc", b"0"), (b"sec-gpc", b"1")], {}, ("gpc",), id="gpc-0-then-1"),
    pytest.param([(b"sec-gpc", b"1"), (b"sec-gpc", b"x")], {}, ("gpc",), id="gpc-1-then-junk"),
    pytest.param([(b"sec-gpc", b"0"), (b"sec-gpc", b"")], {}, (), id="gpc-duplicated-no-1"),
    pytest.param([(b"dnt", b"1")], {}, ("dnt",), id="dnt-1"),
    pytest.param([(b"dnt", b"0")], {}, (), id="dnt-0"),
    pytest.param([(b"dnt", b"")], {}, (), id="dnt-empty"),
    pytest.param([(b"dnt", b" 1 ")], {}, ("dnt",), id="dnt-ows-trimmed"),
    pytest.param([(b"dnt", b"1xyz")], {}, ("dnt",), id="dnt-1-with-extension"),
    pytest.param([(b"dnt", b"10")], {}, ("dnt",), id="dnt-1-with-extension-0"),
    pytest.param([(b"dnt", b"01")], {}, (), id="dnt-0-with-extension"),
    pytest.param([(b"dnt", b"1, 1")], {}, (), id="dnt-comma-joined-is-malformed"),
    pytest.param([(b"dnt", b"1 x")], {}, (), id="dnt-space-inside"),
    pytest.param([(b"dnt", b"true")], {}, (), id="dnt-true"),
    pytest.param([(b"dnt", b"0"), (b"dnt", b"1")], {}, ("dnt",), id="dnt-duplicated-0-then-1"),
    pytest.param([(b"x-ad-opt-out", b"1")], {}, ("header",), id="header-1"),
    pytest.param([(b"x-ad-opt-out", b" 1\t")], {}, ("header",), id="header-ows-trimmed"),
    pytest.param([(b"x-ad-opt-out", b"0")], {}, (), id="header-0"),
    pytest.param([(b"x-ad-opt-out", b"yes")], {}, (), id="header-yes"),
    pytest.param([(b"x-ad-opt-out", b"")], {}, (), id="header-empty"),
    pytest.param([(b"x-ad-opt-out", b"1, 1")], {}, (), id="header-comma-joined"),
    pytest.param(
        [(b"x-ad-opt-out", b"0"), (b"x-ad-opt-out", b"1")], {}, ("header",), id="header-duplicated"
    ),
    pytest.param([], {"ad_opt_out": "1"}, ("cookie",), id="cookie-1"),
    pytest.param([], {"ad_opt_out": '"1"'}, ("cookie",), id="cookie-quoted-1"),
    pytest.param([], {"ad_opt_out": "0"}, (), id="cookie-wrong-value"),
    pytest.param([], {"ad_opt_out": ""}, (), id="cookie-empty-value"),
    pytest.param([], {"ad_opt_out": "1 "}, (), id="cookie-value-with-space"),
    pytest.param([], {"Ad_Opt_Out": "1"}, (), id="cookie-name-other-case"),
    pytest.param([], {"ad_optout": "1"}, (), id="cookie-other-name"),
    pytest.param([(b"cookie", b"a=b; ad_opt_out=1")], {}, ("cookie",), id="cookie-raw-header"),
    pytest.param(
        [(b"cookie", b"ad_opt_out=1; ad_opt_out=0")],
        {"ad_opt_out": "0"},
        ("cookie",),
        id="cookie-duplicated-any-1-counts",
    ),
    pytest.param([(b"cookie", b"x_ad_opt_out=1")], {}, (), id="cookie-raw-longer-name"),
    pytest.param([(b"cookie", b"ad_opt_out=0")], {}, (), id="cookie-raw-wrong-value"),
    pytest.param(
        [(b"x-ad-opt-out", b"1"), (b"dnt", b"1"), (b"sec-gpc", b"1")],
        {"ad_opt_out": "1"},
        SIGNALS,
        id="all-four-in-signals-order",
    ),
    pytest.param(
        [(b"host", b"example.org"), (b"accept", b"*/*"), (b"user-agent", b"Mozilla/5.0")],
        {"session": "abc"},
        (),
        id="ordinary-request",
    ),
]


@pytest.mark.parametrize(("headers", "cookies", "signals"), SIGNAL_CASES)
def test_decide_reads_each_signal_as_its_specification_says(
    headers: Headers, cookies: dict[str, str], signals: tuple[str, ...]
) -> None:
    decision = decide(headers, cookies)
    assert decision.signals == signals
    assert decision.opted_out is bool(signals)


def test_no_signal_gives_the_shared_constant() -> None:
    assert decide([(b"host", b"example.org")]) is NO_OPT_OUT


def test_decisions_are_shared_objects() -> None:
    assert decide([(b"sec-gpc", b"1")]) is decide([(b"sec-gpc", b" 1")])


@pytest.mark.parametrize(
    ("options", "headers", "cookies"),
    [
        pytest.param({"gpc": False, "serve_gpc_json": False}, [(b"sec-gpc", b"1")], {}, id="gpc"),
        pytest.param({"dnt": False}, [(b"dnt", b"1")], {}, id="dnt"),
        pytest.param({"cookie": None, "toggle_path": None}, [], {"ad_opt_out": "1"}, id="cookie"),
        pytest.param({"header": None}, [(b"x-ad-opt-out", b"1")], {}, id="header"),
    ],
)
def test_a_signal_switched_off_is_ignored(
    options: dict[str, Any], headers: Headers, cookies: dict[str, str]
) -> None:
    assert decide(headers, cookies, OptOutPolicy(**options)) is NO_OPT_OUT


def test_configured_cookie_and_header_names_are_read() -> None:
    policy = OptOutPolicy(cookie=("no_ads", "yes"), header="Prefer-No-Ads")
    assert decide([(b"prefer-no-ads", b"1")], policy=policy).signals == ("header",)
    assert decide([], {"no_ads": "yes"}, policy).signals == ("cookie",)
    assert decide([(b"x-ad-opt-out", b"1")], {"ad_opt_out": "1"}, policy) is NO_OPT_OUT


def test_policy_lists_its_enabled_signals() -> None:
    assert POLICY.signals == SIGNALS
    assert OptOutPolicy(dnt=False, header=None).signals == ("gpc", "cookie")


def test_repr_names_the_signals_and_the_toggle() -> None:
    assert repr(OptOutPolicy(dnt=False)) == (
        "OptOutPolicy(signals=('gpc', 'cookie', 'header'), toggle_path='/privacy/ad-opt-out')"
    )


def test_the_app_gets_a_view_that_notes_it_was_read() -> None:
    assert STATE_KEY == "passivelog_opt_out"
    for read in (
        lambda view: view.opted_out,
        lambda view: view.signals,
        lambda view: view.decision,
        lambda view: view == GPC,
        repr,
    ):
        view = POLICY.state_for_app(GPC)
        assert isinstance(view, DecisionView)
        assert not view.read
        read(view)
        assert view.read
    view = POLICY.state_for_app(GPC)
    assert (view.opted_out, view.signals, view.decision) == (True, ("gpc",), GPC)
    assert view == GPC and operator.eq(GPC, view) and view != NO_OPT_OUT  # both directions
    assert hash(view) == hash(GPC)
    assert POLICY.state_for_app(GPC) is not POLICY.state_for_app(GPC), "one view per request"


def test_without_vary_the_app_gets_the_decision_itself() -> None:
    assert NO_VARY.state_for_app(GPC) is GPC


@pytest.mark.parametrize(
    ("cookies", "expected"),
    [
        pytest.param({}, False, id="none"),
        pytest.param({"sessionid": "abc", "theme": "dark"}, False, id="no-ad-cookie"),
        pytest.param({"sessionid": "abc", "_ga": "GA1.1.2.3"}, True, id="ga"),
        pytest.param({"_ga_XYZ123": "GS1.1"}, True, id="prefix"),
        pytest.param({"_fbp": ""}, True, id="empty-value-counts"),
        pytest.param({"_GA": "x"}, False, id="names-are-case-sensitive"),
        pytest.param({"ad_opt_out": "1"}, False, id="the-opt-out-cookie-is-no-ad-cookie"),
    ],
)
def test_carries_ad_cookies(cookies: dict[str, str], expected: bool) -> None:
    assert POLICY.carries_ad_cookies(cookies) is expected


# -- ad cookies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("_ga", True, id="exact-_ga"),
        pytest.param("_ga_K3Y9Q2", True, id="prefix-_ga_"),
        pytest.param("_gid", True, id="exact-_gid"),
        pytest.param("_gcl_au", True, id="prefix-_gcl_"),
        pytest.param("_gcl", False, id="shorter-than-prefix"),
        pytest.param("_gax", False, id="exact-name-is-not-a-prefix"),
        pytest.param("_GA", False, id="names-are-case-sensitive"),
        pytest.param("IDE", True, id="IDE"),
        pytest.param("test_cookie", True, id="test_cookie"),
        pytest.param("__gads", True, id="__gads"),
        pytest.param("_fbp", True, id="_fbp"),
        pytest.param("_uetvid", True, id="_uetvid"),
        pytest.param("_ttp", True, id="_ttp"),
        pytest.param("session", False, id="session"),
        pytest.param("ad_opt_out", False, id="the-opt-out-cookie"),
        pytest.param("", False, id="empty"),
    ],
)
def test_default_ad_cookies(name: str, expected: bool) -> None:
    assert POLICY.is_ad_cookie(name) is expected


def test_custom_ad_cookies_replace_the_defaults() -> None:
    policy = OptOutPolicy(ad_cookies=["mine", "pre_*"])
    assert policy.is_ad_cookie("mine")
    assert policy.is_ad_cookie("pre_1")
    assert not policy.is_ad_cookie("_ga")
    assert not policy.is_ad_cookie("mine2")


def test_repeated_ad_cookie_entries_are_harmless() -> None:
    policy = OptOutPolicy(ad_cookies=["_ga", "_ga", "p_*", "p_*"])
    assert policy.ad_cookie_value({"p_1": "P", "_ga": "GA"}) == "GA"


def test_many_invented_cookie_names_are_still_classified() -> None:
    policy = OptOutPolicy()
    for number in range(3000):
        header = [(b"cookie", f"n{number}=1; _ga=2".encode())]
        assert policy.request_headers_for_app(header, GPC) == [(b"cookie", f"n{number}=1".encode())]


def test_defaults_can_be_extended() -> None:
    policy = OptOutPolicy(ad_cookies=(*DEFAULT_AD_COOKIES, "_my_ad"))
    assert policy.is_ad_cookie("_my_ad")
    assert policy.is_ad_cookie("_ga")


@pytest.mark.parametrize(
    ("cookies", "expected"),
    [
        pytest.param({"theme": "dark", "_gid": "GID", "_ga": "GA"}, "GA", id="config-order-wins"),
        pytest.param({"_gid": "GID", "_ga_ZZZ": "P2", "_ga_AAA": "P1"}, "P1", id="prefix-smallest"),
        pytest.param({"_ga": "", "_gid": "GID"}, "GID", id="empty-value-skipped"),
        pytest.param({"session": "abc"}, None, id="no-ad-cookie"),
        pytest.param({}, None, id="no-cookies"),
    ],
)
def test_ad_cookie_value(cookies: dict[str, str], expected: str | None) -> None:
    assert POLICY.ad_cookie_value(cookies) == expected


# -- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"ad_cookies": "_ga"}, "single string", id="ad-cookies-str"),
        pytest.param({"ad_cookies": None}, "ad_cookies must be a list", id="ad-cookies-none"),
        pytest.param({"ad_cookies": ["*"]}, "not a cookie name", id="ad-cookies-bare-star"),
        pytest.param({"ad_cookies": ["a*b"]}, "not a cookie name", id="ad-cookies-inner-star"),
        pytest.param({"ad_cookies": ["bad name"]}, "not a cookie name", id="ad-cookies-space"),
        pytest.param({"ad_cookies": [""]}, "not a cookie name", id="ad-cookies-empty"),
        pytest.param({"ad_cookies": [b"_ga"]}, "not a string", id="ad-cookies-bytes-entry"),
        pytest.param({"cookie": ("ad opt", "1")}, "not a cookie name", id="cookie-name-space"),
        pytest.param({"cookie": ("x", "")}, "not a plain cookie value", id="cookie-value-empty"),
        pytest.param({"cookie": ("x", "a;b")}, "not a plain cookie value", id="cookie-value-semi"),
        pytest.param({"cookie": ("x",)}, "pair of strings", id="cookie-not-a-pair"),
        pytest.param({"cookie": ("_ga", "1")}, "matches ad_cookies", id="cookie-is-an-ad-cookie"),
        pytest.param({"header": "Bad Header"}, "not an HTTP field name", id="header-space"),
        pytest.param({"header": "DNT"}, "its own signal", id="header-is-dnt"),
        pytest.param({"header": "cookie"}, "its own signal", id="header-is-cookie"),
        pytest.param({"toggle_path": "privacy"}, "plain URL path", id="toggle-relative"),
        pytest.param({"toggle_path": "/a b"}, "plain URL path", id="toggle-space"),
        pytest.param({"toggle_path": "/x?y=1"}, "plain URL path", id="toggle-query"),
        pytest.param({"toggle_path": GPC_JSON_PATH}, "cannot be", id="toggle-is-gpc-json"),
        pytest.param({"cookie": None}, "cookie=None", id="toggle-without-cookie"),
        pytest.param({"gpc": False}, "serve_gpc_json", id="gpc-json-without-gpc"),
        pytest.param({"gpc_last_update": "yesterday"}, "RFC 3339", id="last-update-words"),
        pytest.param({"gpc_last_update": "2026-02-30"}, "RFC 3339", id="last-update-no-such-day"),
        pytest.param(
            {"gpc_last_update": "2026-11-29T10:00:00"}, "RFC 3339", id="last-update-no-tz"
        ),
        pytest.param({"gpc_last_update": 20261129}, "RFC 3339", id="last-update-not-a-string"),
        pytest.param({"cookie_max_age": 0}, "positive", id="max-age-zero"),
        pytest.param({"cookie_max_age": True}, "positive", id="max-age-bool"),
        pytest.param({"gpc": "no"}, "gpc='no' must be True or False", id="gpc-a-string"),
        pytest.param({"dnt": 0}, "dnt=0 must be", id="dnt-an-int"),
        pytest.param({"vary": None}, "vary=None must be", id="vary-none"),
        pytest.param({"strip_set_cookie": "yes"}, "strip_set_cookie", id="strip-set-cookie"),
        pytest.param({"strip_request_cookies": 1}, "strip_request_cookies", id="strip-request"),
        pytest.param({"serve_gpc_json": "off"}, "serve_gpc_json", id="serve-gpc-json"),
    ],
)
def test_bad_configuration_says_what_to_change(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OptOutPolicy(**options)


def test_last_update_may_be_an_rfc3339_date_time() -> None:
    OptOutPolicy(gpc_last_update="2026-11-29T10:00:00Z")
    OptOutPolicy(gpc_last_update="2026-11-29T10:00:00.5+01:00")


# -- effect 3: ad cookies hidden from the app ----------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            [(b"cookie", b"session=abc; _ga=GA1.2.3.4; theme=dark")],
            [(b"cookie", b"session=abc; theme=dark")],
            id="one-ad-cookie-among-others",
        ),
        pytest.param(
            [(b"cookie", b"_ga=GA1.2.3.4; session=abc")],
            [(b"cookie", b"session=abc")],
            id="first-cookie-removed",
        ),
        pytest.param(
            [(b"host", b"example.org"), (b"cookie", b"_ga=1; _gid=2"), (b"accept", b"*/*")],
            [(b"host", b"example.org"), (b"accept", b"*/*")],
            id="header-left-empty-is-dropped",
        ),
        pytest.param(
            [(b"cookie", b"_ga=1"), (b"cookie", b"session=abc"), (b"cookie", b"_fbp=x; lang=en")],
            [(b"cookie", b"session=abc"), (b"cookie", b"lang=en")],
            id="several-cookie-headers",
        ),
        pytest.param(
            [(b"cookie", b"_gcl_au=1.1.99; a=b; _ga_XYZ=GS1")],
            [(b"cookie", b"a=b")],
            id="prefixes",
        ),
        pytest.param(
            [(b"cookie", b"a=b;  _ga =x;c=d")],
            [(b"cookie", b"a=b;c=d")],
            id="whitespace-around-name",
        ),
        pytest.param(
            [(b"cookie", b"a=b; \xa0_ga=x")],
            [(b"cookie", b"a=b")],
            id="latin1-nbsp-before-name-as-starlette-strips-it",
        ),
        pytest.param(
            [(b"cookie", b"_ga; a=b")],
            [(b"cookie", b"_ga; a=b")],
            id="nameless-piece-kept",
        ),
        pytest.param(
            [(b"Cookie", b"a=b; _ga=x")],
            [(b"Cookie", b"a=b")],
            id="header-name-not-lowercase",
        ),
    ],
)
def test_ad_cookies_are_removed_from_the_apps_cookie_header(
    before: Headers, after: Headers
) -> None:
    assert POLICY.request_headers_for_app(before, GPC) == after


def test_request_headers_unchanged_when_not_opted_out() -> None:
    headers = [(b"cookie", b"_ga=GA1.2.3.4; session=abc")]
    assert POLICY.request_headers_for_app(headers, NO_OPT_OUT) is headers


def test_request_headers_unchanged_without_ad_cookies() -> None:
    headers = [(b"cookie", b"session=abc; theme=dark"), (b"host", b"example.org")]
    assert POLICY.request_headers_for_app(headers, GPC) is headers


def test_request_cookie_stripping_can_be_switched_off() -> None:
    headers = [(b"cookie", b"_ga=GA1.2.3.4")]
    policy = OptOutPolicy(strip_request_cookies=False)
    assert policy.request_headers_for_app(headers, GPC) is headers


def test_request_headers_input_is_not_mutated() -> None:
    headers = [(b"cookie", b"_ga=1; a=b")]
    POLICY.request_headers_for_app(headers, GPC)
    assert headers == [(b"cookie", b"_ga=1; a=b")]


# -- effect 2: ad Set-Cookie removed, deletions pass ---------------------------------------------

SET_COOKIE_CASES = [
    pytest.param(b"_ga=GA1.2.3.4; Path=/; Max-Age=63072000", False, id="long-lived"),
    pytest.param(b"_ga=GA1.2.3.4; Path=/", False, id="session-cookie"),
    pytest.param(b"_gcl_au=1.1.2; Path=/", False, id="prefix"),
    pytest.param(b"_fbp=fb.1.2; Domain=example.org; Secure", False, id="domain"),
    pytest.param(b" _ga =x", False, id="name-with-spaces"),
    pytest.param(b"_ga=; Max-Age=0", True, id="max-age-0"),
    pytest.param(b"_ga=; max-age=0", True, id="max-age-lowercase"),
    pytest.param(b"_ga=; Max-Age=-1", True, id="max-age-negative"),
    pytest.param(b"_ga=; Max-Age = 0 ", True, id="max-age-wsp-trimmed"),
    pytest.param(b"_ga=x; Max-Age=\x0b0", False, id="max-age-vertical-tab-is-invalid"),
    pytest.param(b"_ga=x; Max-Age=0x10", False, id="max-age-not-digits"),
    pytest.param(b"_ga=x; Max-Age=", False, id="max-age-empty"),
    pytest.param(b"_ga=x; Max-Age=" + b"0" * 5000, True, id="max-age-very-long-zero"),
    pytest.param(b"_ga=x; Max-Age=" + b"9" * 5000, False, id="max-age-very-long"),
    pytest.param(b"_ga=x; Max-Age=3600; Max-Age=0", True, id="last-max-age-wins-deletion"),
    pytest.param(b"_ga=x; Max-Age=0; Max-Age=3600", False, id="last-max-age-wins-kept-cookie"),
    pytest.param(b"_ga=; Expires=Thu, 01 Jan 1970 00:00:00 GMT", True, id="expires-rfc1123"),
    pytest.param(b"_ga=; Expires=Thursday, 01-Jan-70 00:00:01 GMT", True, id="expires-rfc850"),
    pytest.param(b"_ga=; Expires=Thu Jan  1 00:00:00 1970", True, id="expires-asctime"),
    pytest.param(b"_ga=; expires=thu, 01-jan-1970 00:00:00 gmt", True, id="expires-lowercase"),
    pytest.param(b"_ga=x; Expires=Fri, 01 Jan 2100 00:00:00 GMT", False, id="expires-future"),
    pytest.param(b"_ga=x; Expires=Tue, 01 Jan 69 00:00:00 GMT", False, id="expires-69-is-2069"),
    pytest.param(b"_ga=x; Expires=Thu, 01 Jan 70 00:00:00 GMT", True, id="expires-70-is-1970"),
    pytest.param(b"_ga=x; Expires=not a date", False, id="expires-unparseable"),
    pytest.param(b"_ga=x; Expires=Sat, 31 Feb 1970 00:00:00 GMT", False, id="expires-no-such-day"),
    pytest.param(b"_ga=x; Expires=Thu, 01 Jan 1600 00:00:00 GMT", False, id="expires-before-1601"),
    pytest.param(
        b"_ga=x; Max-Age=3600; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        False,
        id="max-age-beats-past-expires",
    ),
    pytest.param(
        b"_ga=; Max-Age=0; Expires=Fri, 01 Jan 2100 00:00:00 GMT",
        True,
        id="max-age-0-beats-future-expires",
    ),
    pytest.param(b"session=abc; Path=/; HttpOnly", True, id="not-an-ad-cookie"),
    pytest.param(b"ad_opt_out=1; Path=/", True, id="the-opt-out-cookie"),
    pytest.param(b"_ga", True, id="no-equals-is-a-nameless-cookie"),
    pytest.param(b"", True, id="empty"),
]


@pytest.mark.parametrize(("set_cookie", "passes"), SET_COOKIE_CASES)
def test_ad_set_cookie_is_removed_unless_it_deletes(set_cookie: bytes, passes: bool) -> None:
    headers = [(b"content-type", b"text/html"), (b"set-cookie", set_cookie)]
    result = NO_VARY.response_headers(headers, GPC)
    assert result == (headers if passes else [(b"content-type", b"text/html")])


def test_set_cookie_with_other_header_case_is_removed() -> None:
    headers = [(b"Set-Cookie", b"_ga=GA1.2.3.4; Path=/")]
    assert NO_VARY.response_headers(headers, GPC) == []


def test_only_the_ad_set_cookies_are_removed() -> None:
    headers = [
        (b"set-cookie", b"session=abc; Path=/"),
        (b"set-cookie", b"_ga=GA1.2.3.4; Path=/"),
        (b"content-length", b"5"),
        (b"set-cookie", b"_fbp=fb.1.2; Path=/"),
        (b"set-cookie", b"_gid=; Max-Age=0"),
    ]
    assert NO_VARY.response_headers(headers, GPC) == [
        (b"set-cookie", b"session=abc; Path=/"),
        (b"content-length", b"5"),
        (b"set-cookie", b"_gid=; Max-Age=0"),
    ]


def test_ad_set_cookie_passes_when_not_opted_out() -> None:
    headers = [(b"set-cookie", b"_ga=GA1.2.3.4; Path=/")]
    assert NO_VARY.response_headers(headers, NO_OPT_OUT) is headers


def test_set_cookie_stripping_can_be_switched_off() -> None:
    headers = [(b"set-cookie", b"_ga=GA1.2.3.4; Path=/")]
    policy = OptOutPolicy(strip_set_cookie=False, vary=False)
    assert policy.response_headers(headers, GPC) is headers


def test_response_headers_input_is_not_mutated() -> None:
    headers = [(b"set-cookie", b"_ga=GA1.2.3.4; Path=/")]
    POLICY.response_headers(headers, GPC)
    assert headers == [(b"set-cookie", b"_ga=GA1.2.3.4; Path=/")]


# -- effect 5: Vary ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param([], [(b"vary", ALL_VARY)], id="added"),
        pytest.param(
            [(b"vary", b"Accept-Encoding")],
            [(b"vary", b"Accept-Encoding, " + ALL_VARY)],
            id="merged-with-accept-encoding",
        ),
        pytest.param(
            [(b"vary", b"accept-encoding, cookie")],
            [(b"vary", b"accept-encoding, cookie, Sec-GPC, DNT, X-Ad-Opt-Out")],
            id="no-duplicate-any-case",
        ),
        pytest.param(
            [(b"vary", b"Accept-Encoding"), (b"vary", b"dnt")],
            [(b"vary", b"Accept-Encoding, Sec-GPC, X-Ad-Opt-Out, Cookie"), (b"vary", b"dnt")],
            id="several-vary-lines",
        ),
        pytest.param([(b"vary", b"")], [(b"vary", ALL_VARY)], id="empty-vary"),
        pytest.param(
            [(b"Vary", b"Origin")], [(b"Vary", b"Origin, " + ALL_VARY)], id="header-name-case"
        ),
    ],
)
def test_vary_names_the_signal_headers(before: Headers, after: Headers) -> None:
    assert POLICY.response_headers(before, NO_OPT_OUT) == after


@pytest.mark.parametrize(
    "vary",
    [
        pytest.param(b"*", id="star"),
        pytest.param(b"Accept, *", id="star-in-list"),
        pytest.param(b"cookie, x-ad-opt-out, dnt, sec-gpc", id="all-present"),
    ],
)
def test_vary_left_alone_when_nothing_to_add(vary: bytes) -> None:
    headers = [(b"vary", vary)]
    assert POLICY.response_headers(headers, NO_OPT_OUT) is headers


SETS_GA = (b"set-cookie", b"_ga=GA1.2.3.4; Path=/; Max-Age=63072000")
DELETES_GA = (b"set-cookie", b"_ga=; Path=/; Max-Age=0")
SESSION = (b"set-cookie", b"sessionid=abc; HttpOnly")
VARY_COOKIE = (b"vary", b"Cookie")


@pytest.mark.parametrize(
    ("policy", "headers", "decision", "read", "ad_cookies", "after"),
    [
        pytest.param(POLICY, [], NO_OPT_OUT, False, False, [], id="untouched-stays-cacheable"),
        pytest.param(POLICY, [SESSION], GPC, False, False, [SESSION], id="opted-out-untouched"),
        pytest.param(POLICY, [], NO_OPT_OUT, True, False, [(b"vary", ALL_VARY)], id="app-read"),
        pytest.param(
            POLICY, [], NO_OPT_OUT, False, True, [], id="ad-cookies-sent-app-ignores-cookies"
        ),
        pytest.param(
            POLICY,
            [VARY_COOKIE],
            NO_OPT_OUT,
            False,
            True,
            [(b"vary", b"Cookie, Sec-GPC, DNT, X-Ad-Opt-Out")],
            id="ad-cookies-sent-app-varies-by-cookie",
        ),
        pytest.param(
            POLICY,
            [VARY_COOKIE],
            NO_OPT_OUT,
            False,
            False,
            [VARY_COOKIE],
            id="app-varies-by-cookie-no-ad-cookies-sent",
        ),
        pytest.param(
            OptOutPolicy(strip_request_cookies=False),
            [VARY_COOKIE],
            GPC,
            False,
            True,
            [VARY_COOKIE],
            id="ad-cookies-sent-but-never-hidden",
        ),
        pytest.param(
            POLICY, [(b"vary", b"*")], NO_OPT_OUT, True, True, [(b"vary", b"*")], id="vary-star"
        ),
        pytest.param(
            POLICY,
            [SETS_GA],
            NO_OPT_OUT,
            False,
            False,
            [SETS_GA, (b"vary", ALL_VARY)],
            id="sets-an-ad-cookie",
        ),
        pytest.param(
            POLICY, [SETS_GA], GPC, False, False, [(b"vary", ALL_VARY)], id="ad-cookie-removed"
        ),
        pytest.param(
            POLICY, [DELETES_GA], GPC, False, False, [DELETES_GA], id="deleting-is-the-same-for-all"
        ),
        pytest.param(
            OptOutPolicy(strip_set_cookie=False),
            [SETS_GA],
            GPC,
            False,
            False,
            [SETS_GA],
            id="set-cookie-never-stripped",
        ),
        pytest.param(NO_VARY, [SETS_GA], NO_OPT_OUT, True, True, [SETS_GA], id="vary-off"),
    ],
)
def test_vary_only_where_the_response_may_differ(
    policy: OptOutPolicy,
    headers: Headers,
    decision: OptOutDecision,
    read: bool,
    ad_cookies: bool,
    after: Headers,
) -> None:
    result = policy.response_headers(
        headers, decision, decision_read=read, ad_cookies_sent=ad_cookies
    )
    assert result == after
    if after == headers:
        assert result is headers


def test_vary_is_added_to_opted_out_responses_too() -> None:
    headers = [(b"set-cookie", b"_ga=GA1.2.3.4; Path=/"), (b"vary", b"Accept-Encoding")]
    assert POLICY.response_headers(headers, GPC) == [(b"vary", b"Accept-Encoding, " + ALL_VARY)]


def test_vary_names_only_the_enabled_signals() -> None:
    policy = OptOutPolicy(dnt=False, header=None, cookie=None, toggle_path=None)
    assert policy.response_headers([], NO_OPT_OUT) == [(b"vary", b"Sec-GPC")]


def test_vary_can_be_switched_off() -> None:
    headers: Headers = []
    assert NO_VARY.response_headers(headers, NO_OPT_OUT) is headers


def test_no_vary_without_any_signal() -> None:
    policy = OptOutPolicy(
        gpc=False, dnt=False, cookie=None, header=None, toggle_path=None, serve_gpc_json=False
    )
    headers: Headers = []
    assert policy.response_headers(headers, NO_OPT_OUT) is headers
    assert policy.decide([(b"sec-gpc", b"1")], {"ad_opt_out": "1"}) is NO_OPT_OUT


# -- the toggle and gpc.json ---------------------------------------------------------------------


async def _never_receive() -> dict[str, Any]:
    raise AssertionError("the responder must not read the request body")


def respond(
    method: str,
    path: str,
    decision: OptOutDecision = NO_OPT_OUT,
    *,
    scheme: str = "http",
    policy: OptOutPolicy = POLICY,
) -> tuple[int, int, dict[bytes, bytes], bytes]:
    """Drive ``respond`` as a server would; return (returned status, sent status, headers, body)."""
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(dict(message))

    scope = {"type": "http", "method": method, "path": path, "scheme": scheme, "headers": []}
    returned = asyncio.run(policy.respond(scope, _never_receive, send, decision))
    start, body = sent
    assert start["type"] == "http.response.start"
    assert body["type"] == "http.response.body"
    assert not body.get("more_body", False)
    headers = dict(start["headers"])
    assert len(headers) == len(start["headers"]), "a header was sent twice"
    return returned, start["status"], headers, body["body"]


def test_gpc_json() -> None:
    returned, status, headers, body = respond("GET", GPC_JSON_PATH)
    assert returned == status == 200
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"content-length"] == str(len(body)).encode()
    assert json.loads(body) == {"gpc": True, "lastUpdate": "2026-11-29"}


def test_gpc_json_last_update_is_configurable() -> None:
    policy = OptOutPolicy(gpc_last_update="2027-01-15")
    assert json.loads(respond("GET", GPC_JSON_PATH, policy=policy)[3])["lastUpdate"] == "2027-01-15"


def test_gpc_json_head_has_length_but_no_body() -> None:
    get_body = respond("GET", GPC_JSON_PATH)[3]
    _, status, headers, body = respond("HEAD", GPC_JSON_PATH)
    assert status == 200
    assert body == b""
    assert headers[b"content-length"] == str(len(get_body)).encode()


def test_gpc_json_other_method_is_405() -> None:
    _, status, headers, _ = respond("POST", GPC_JSON_PATH)
    assert status == 405
    assert headers[b"allow"] == b"GET, HEAD"


def test_toggle_post_sets_the_opt_out_cookie() -> None:
    _, status, headers, body = respond("POST", "/privacy/ad-opt-out")
    assert status == 200
    assert headers[b"set-cookie"] == b"ad_opt_out=1; Max-Age=63072000; Path=/; SameSite=Lax"
    assert headers[b"cache-control"] == b"no-store"
    assert json.loads(body) == {"opted_out": True, "signals": ["cookie"]}


def test_toggle_post_keeps_the_other_signals() -> None:
    body = respond("POST", "/privacy/ad-opt-out", GPC)[3]
    assert json.loads(body) == {"opted_out": True, "signals": ["gpc", "cookie"]}


def test_cookie_set_by_the_toggle_opts_out_the_next_request() -> None:
    set_cookie = respond("POST", "/privacy/ad-opt-out")[2][b"set-cookie"]
    cookie_header = set_cookie.split(b";")[0].decode()
    assert decide([(b"cookie", cookie_header.encode())], cookie_parser(cookie_header)) == COOKIE


def test_toggle_delete_clears_the_opt_out_cookie() -> None:
    _, status, headers, body = respond("DELETE", "/privacy/ad-opt-out", COOKIE)
    assert status == 200
    assert headers[b"set-cookie"] == (
        b"ad_opt_out=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; SameSite=Lax"
    )
    assert json.loads(body) == {"opted_out": False, "signals": []}


def test_toggle_delete_leaves_gpc_in_force() -> None:
    body = respond("DELETE", "/privacy/ad-opt-out", GPC_AND_COOKIE)[3]
    assert json.loads(body) == {"opted_out": True, "signals": ["gpc"]}


@pytest.mark.parametrize("decision", [NO_OPT_OUT, GPC_AND_COOKIE], ids=["none", "gpc-and-cookie"])
def test_toggle_get_reports_the_state(decision: OptOutDecision) -> None:
    _, status, headers, body = respond("GET", "/privacy/ad-opt-out", decision)
    assert status == 200
    assert b"set-cookie" not in headers
    assert headers[b"cache-control"] == b"no-store"
    assert json.loads(body) == {"opted_out": decision.opted_out, "signals": list(decision.signals)}


@pytest.mark.parametrize("method", ["PUT", "PATCH", "OPTIONS"])
def test_toggle_other_method_is_405(method: str) -> None:
    returned, status, headers, _ = respond(method, "/privacy/ad-opt-out")
    assert returned == status == 405
    assert headers[b"allow"] == b"GET, HEAD, POST, DELETE"
    assert b"set-cookie" not in headers


@pytest.mark.parametrize("scheme", ["https", "wss"])
@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_toggle_cookie_is_secure_on_https(method: str, scheme: str) -> None:
    headers = respond(method, "/privacy/ad-opt-out", scheme=scheme)[2]
    assert headers[b"set-cookie"].endswith(b"; Secure")


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_toggle_cookie_is_not_secure_on_http(method: str) -> None:
    assert b"Secure" not in respond(method, "/privacy/ad-opt-out")[2][b"set-cookie"]


def test_toggle_uses_the_configured_cookie_and_lifetime() -> None:
    policy = OptOutPolicy(cookie=("no_ads", "yes"), cookie_max_age=3600, toggle_path="/no-ads")
    headers = respond("POST", "/no-ads", policy=policy)[2]
    assert headers[b"set-cookie"] == b"no_ads=yes; Max-Age=3600; Path=/; SameSite=Lax"


def test_respond_on_a_route_it_does_not_handle_is_404() -> None:
    assert respond("GET", "/elsewhere")[1] == 404


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        pytest.param("GET", GPC_JSON_PATH, True, id="gpc-json-get"),
        pytest.param("HEAD", GPC_JSON_PATH, True, id="gpc-json-head"),
        pytest.param("POST", GPC_JSON_PATH, True, id="gpc-json-post-gets-405"),
        pytest.param("GET", "/privacy/ad-opt-out", True, id="toggle-get"),
        pytest.param("POST", "/privacy/ad-opt-out", True, id="toggle-post"),
        pytest.param("DELETE", "/privacy/ad-opt-out", True, id="toggle-delete"),
        pytest.param("PUT", "/privacy/ad-opt-out", True, id="toggle-put-gets-405"),
        pytest.param("GET", "/privacy/ad-opt-out/", False, id="trailing-slash"),
        pytest.param("GET", "/", False, id="root"),
        pytest.param("GET", "/.well-known/gpc", False, id="other-well-known"),
    ],
)
def test_handles(method: str, path: str, expected: bool) -> None:
    assert POLICY.handles(method, path) is expected


def test_handles_nothing_when_both_routes_are_off() -> None:
    policy = OptOutPolicy(toggle_path=None, serve_gpc_json=False)
    assert not policy.handles("GET", GPC_JSON_PATH)
    assert not policy.handles("POST", "/privacy/ad-opt-out")


# -- cookie dates --------------------------------------------------------------------------------


@given(st.datetimes(min_value=datetime(1601, 1, 1), max_value=datetime(9999, 12, 31)))
def test_cookie_dates_round_trip(moment: datetime) -> None:
    moment = moment.replace(microsecond=0, tzinfo=UTC)
    text = format_datetime(moment, usegmt=True).encode()
    assert _parse_cookie_date(text) == moment.timestamp()


@given(st.binary(max_size=300))
def test_cookie_date_parser_is_total(value: bytes) -> None:
    assert isinstance(_parse_cookie_date(value), float | None)


# -- properties ----------------------------------------------------------------------------------

SIGNAL_NAMES = [b"sec-gpc", b"dnt", b"x-ad-opt-out", b"cookie", b"set-cookie", b"vary"]
header_names = st.one_of(st.sampled_from(SIGNAL_NAMES), st.binary(max_size=20))
raw_headers = st.lists(st.tuples(header_names, st.binary(max_size=200)), max_size=12)
any_cookies = st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=6)
any_decision = st.sampled_from(
    [NO_OPT_OUT, GPC, COOKIE, GPC_AND_COOKIE, OptOutDecision(True, SIGNALS)]
)


def _is_header_list(headers: object) -> bool:
    return isinstance(headers, list) and all(
        isinstance(name, bytes) and isinstance(value, bytes) for name, value in headers
    )


@given(raw_headers, any_cookies, any_decision)
def test_nothing_raises_on_arbitrary_headers(
    headers: Headers, cookies: dict[str, str], decision: OptOutDecision
) -> None:
    assert isinstance(POLICY.decide(headers, cookies), OptOutDecision)
    assert _is_header_list(POLICY.request_headers_for_app(headers, decision))
    assert _is_header_list(POLICY.response_headers(headers, decision))
    POLICY.ad_cookie_value(cookies)


AD_NAMES = [
    "_ga",
    "_gid",
    "_ga_K3Y9Q2",
    "_gcl_au",
    "_gcl_aw",
    "_fbp",
    "_fbc",
    "IDE",
    "__gads",
    "_uetsid",
    "_uetvid",
    "_ttp",
    "test_cookie",
]
OTHER_NAMES = ["session", "theme", "lang", "csrftoken", "_gax", "_GA", "ga", "ad_opt_out"]
cookie_values = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='";,\\'),
    max_size=30,
)
padding = st.sampled_from(["", " ", "  ", "\t"])


@st.composite
def cookie_header(draw: st.DrawFn) -> tuple[bytes, bytes]:
    pieces = draw(
        st.lists(
            st.tuples(
                padding,
                st.one_of(
                    st.sampled_from(AD_NAMES + OTHER_NAMES),
                    st.from_regex(r"[A-Za-z_]{1,8}", fullmatch=True),
                ),
                padding,
                cookie_values,
            ),
            min_size=1,
            max_size=8,
        )
    )
    return b"cookie", ";".join(f"{a}{n}{b}={v}" for a, n, b, v in pieces).encode()


@st.composite
def opted_out_request(draw: st.DrawFn) -> tuple[Headers, dict[str, str]]:
    """Headers and parsed cookies of a request that carries at least one opt-out signal."""
    noise_name = st.binary(max_size=12).filter(lambda name: name != b"cookie")
    headers: Headers = draw(st.lists(st.tuples(noise_name, st.binary(max_size=40)), max_size=4))
    headers += draw(st.lists(cookie_header(), min_size=1, max_size=3))
    signal = draw(st.sampled_from(SIGNALS))
    pad = draw(padding).encode()
    if signal == "gpc":
        headers.append((b"sec-gpc", pad + b"1" + pad))
    elif signal == "dnt":
        extension = draw(st.from_regex(r"[a-z0-9!#-]{0,5}", fullmatch=True)).encode()
        headers.append((b"dnt", pad + b"1" + extension))
    elif signal == "header":
        headers.append((b"x-ad-opt-out", b"1" + pad))
    else:
        headers.append((b"cookie", b"ad_opt_out=1"))
    headers = draw(st.permutations(headers))
    cookies: dict[str, str] = {}
    for name, value in headers:
        if name == b"cookie":
            cookies.update(cookie_parser(value.decode("latin-1")))
    return list(headers), cookies


ATTRIBUTES_KEEPING = [
    "Path=/",
    "Domain=example.org",
    "Secure",
    "HttpOnly",
    "SameSite=Lax",
    "Max-Age=63072000",
    "Max-Age=1",
    "Expires=Fri, 01 Jan 2100 00:00:00 GMT",
    "Expires=soon",
    "Max-Age=-x",
    "Max-Age=",
]
ATTRIBUTES_DELETING = [
    "Max-Age=0",
    "Max-Age=-1",
    "max-age=00",
    "Expires=Thu, 01 Jan 1970 00:00:00 GMT",
]


@st.composite
def set_cookie(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A Set-Cookie value and whether it must survive an opt-out."""
    name = draw(st.sampled_from(AD_NAMES + OTHER_NAMES))
    attributes = draw(st.lists(st.sampled_from(ATTRIBUTES_KEEPING), max_size=4))
    deletes = draw(st.booleans())
    if deletes:
        # Last, so that no later Max-Age overrides it (RFC 6265 §5.3 step 3).
        attributes.append(draw(st.sampled_from(ATTRIBUTES_DELETING)))
        attributes = [
            a for a in attributes if not a.lower().startswith("max-age") or a in ATTRIBUTES_DELETING
        ]
    value = "; ".join([f"{name}={draw(cookie_values)}", *attributes]).encode()
    return value, deletes or not POLICY.is_ad_cookie(name)


@settings(max_examples=300)
@given(
    opted_out_request(),
    st.lists(set_cookie(), max_size=6),
    st.lists(
        st.tuples(
            st.sampled_from([b"content-type", b"vary", b"cache-control"]), st.binary(max_size=30)
        ),
        max_size=3,
    ),
)
def test_an_opted_out_visitor_gets_no_ad_cookie_either_way(
    request: tuple[Headers, dict[str, str]],
    set_cookies: list[tuple[bytes, bool]],
    other_response_headers: Headers,
) -> None:
    headers, cookies = request
    decision = POLICY.decide(headers, cookies)
    assert decision.opted_out

    # The app sees no ad cookie, and every other cookie as it was.
    app_headers = POLICY.request_headers_for_app(headers, decision)
    for (_, before), (_, after) in zip(
        [h for h in headers if h[0] == b"cookie" and _has_non_ad(h[1])],
        [h for h in app_headers if h[0] == b"cookie"],
        strict=True,
    ):
        seen = cookie_parser(after.decode("latin-1"))
        assert not [name for name in seen if POLICY.is_ad_cookie(name)]
        expected = {
            k: v
            for k, v in cookie_parser(before.decode("latin-1")).items()
            if not POLICY.is_ad_cookie(k)
        }
        assert seen == expected
    assert [h for h in app_headers if h[0] != b"cookie"] == [
        h for h in headers if h[0] != b"cookie"
    ]

    # No ad cookie is set by the response; deletions and other cookies pass.
    response: Headers = [(b"set-cookie", value) for value, _ in set_cookies]
    response += other_response_headers
    result = POLICY.response_headers(response, decision)
    assert [v for n, v in result if n == b"set-cookie"] == [v for v, keep in set_cookies if keep]
    assert POLICY.response_headers(result, decision) == result


def _has_non_ad(cookie_header: bytes) -> bool:
    for piece in cookie_header.split(b";"):
        name, eq, _ = piece.partition(b"=")
        is_ad = bool(eq) and POLICY.is_ad_cookie(name.decode("latin-1").strip())
        if not is_ad and piece.strip(b" \t"):
            return True
    return False
