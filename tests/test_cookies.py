"""Cookie header parsing and the cookie pseudonym."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passivelog.cookies import (
    DEFAULT_ID_COOKIES,
    MAX_COOKIE_HEADER,
    CookieIdentifier,
    cookie_headers,
    parse_cookie_header,
)
from passivelog.pseudonym import Pseudonymiser

PSEUDONYMISER = Pseudonymiser("an example secret for the tests only")
OTHER_PSEUDONYMISER = Pseudonymiser("another example secret, also made up")

# --- parse_cookie_header ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(b"sessionid=abc123", {"sessionid": "abc123"}, id="one"),
        pytest.param(b"a=1; b=2", {"a": "1", "b": "2"}, id="two"),
        pytest.param(b"a=1;b=2", {"a": "1", "b": "2"}, id="no-space"),
        pytest.param(b" a = 1 ;\tb=2\t", {"a": "1", "b": "2"}, id="spaces-and-tabs"),
        pytest.param(b'a="quoted value"', {"a": "quoted value"}, id="quoted"),
        pytest.param(b'a=""', {"a": ""}, id="quoted-empty"),
        pytest.param(b'a="', {"a": '"'}, id="lone-quote"),
        pytest.param(b'a="half', {"a": '"half'}, id="unbalanced-quote"),
        pytest.param(b"a=1; a=2", {"a": "1"}, id="duplicate-first-wins"),
        pytest.param(b"a=1; A=2", {"a": "1", "A": "2"}, id="names-case-sensitive"),
        pytest.param(b"a=", {"a": ""}, id="empty-value"),
        pytest.param(b"a=b=c", {"a": "b=c"}, id="equals-in-value"),
        pytest.param(b"junk; a=1", {"a": "1"}, id="no-equals-skipped"),
        pytest.param(b"=v; a=1", {"a": "1"}, id="no-name-skipped"),
        pytest.param(b"a=1;;; b=2;", {"a": "1", "b": "2"}, id="empty-pairs"),
        pytest.param(b"", {}, id="empty"),
        pytest.param(None, {}, id="none"),
        pytest.param(b"a=\xff\xfe; b=2", {"a": "\xff\xfe", "b": "2"}, id="invalid-utf8"),
        pytest.param(b"a=\x00; b=2", {"a": "\x00", "b": "2"}, id="nul"),
        pytest.param("a=1; b=é", {"a": "1", "b": "é"}, id="str"),
        pytest.param(bytearray(b"a=1"), {"a": "1"}, id="bytearray"),
        pytest.param(42, {}, id="not-a-header"),
    ],
)
def test_parse_cookie_header(raw: bytes | str | None, expected: dict[str, str]) -> None:
    assert parse_cookie_header(raw) == expected


def test_parse_cookie_header_reads_a_64_kb_header_up_to_the_limit() -> None:
    raw = b"sessionid=abc; " + b"x" * 65_536 + b"=1; later=2"
    assert parse_cookie_header(raw) == {"sessionid": "abc"}


def test_parse_cookie_header_drops_the_pair_cut_by_the_limit() -> None:
    head = b"sessionid=abc; big="
    raw = head + b"v" * (MAX_COOKIE_HEADER - len(head) + 10)
    assert parse_cookie_header(raw) == {"sessionid": "abc"}
    assert parse_cookie_header(raw.decode("latin-1")) == {"sessionid": "abc"}


def test_parse_cookie_header_keeps_a_pair_ending_at_the_limit() -> None:
    head = b"sessionid=abc; big="
    raw = head + b"v" * (MAX_COOKIE_HEADER - len(head)) + b"; after=1"
    assert len(raw.partition(b"; after")[0]) == MAX_COOKIE_HEADER
    assert set(parse_cookie_header(raw)) == {"sessionid", "big"}


def test_parse_cookie_header_reads_at_most_256_cookies() -> None:
    raw = "; ".join(f"c{i}=v" for i in range(1000))
    cookies = parse_cookie_header(raw)
    assert len(cookies) == 256
    assert "c0" in cookies
    assert "c255" in cookies


@given(st.binary(max_size=2000))
def test_parse_cookie_header_never_raises_on_bytes(raw: bytes) -> None:
    for name, value in parse_cookie_header(raw).items():
        assert name
        assert name == name.strip(" \t")
        assert ";" not in name
        assert "=" not in name
        assert ";" not in value


@given(st.text(alphabet=st.sampled_from(list('ab=; \t"\x00é\udcff')), max_size=200))
def test_parse_cookie_header_never_raises_on_text(raw: str) -> None:
    parse_cookie_header(raw)


@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z0-9_.]{1,10}", fullmatch=True),
        st.from_regex(r"[A-Za-z0-9_.%-]{0,20}", fullmatch=True),
        max_size=20,
    )
)
def test_parse_cookie_header_round_trips(cookies: dict[str, str]) -> None:
    raw = "; ".join(f"{name}={value}" for name, value in cookies.items())
    assert parse_cookie_header(raw.encode()) == cookies


# --- cookie_headers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param([], b"", id="none"),
        pytest.param([(b"host", b"shop.example")], b"", id="no-cookie-header"),
        pytest.param([(b"cookie", b"a=1; b=2")], b"a=1; b=2", id="one"),
        pytest.param(
            [(b"cookie", b"a=1"), (b"host", b"shop.example"), (b"cookie", b"b=2")],
            b"a=1; b=2",
            id="split-like-http2",
        ),
        pytest.param([(b"Cookie", b"a=1")], b"", id="asgi-names-are-lowercase"),
    ],
)
def test_cookie_headers(headers: list[tuple[bytes, bytes]], expected: bytes) -> None:
    assert cookie_headers(headers) == expected


def test_cookie_headers_stop_after_the_limit() -> None:
    headers = [(b"cookie", b"sessionid=abc")] + [(b"cookie", b"x" * 1000)] * 1000
    joined = cookie_headers(headers)
    assert joined.startswith(b"sessionid=abc; ")
    assert len(joined) < 2 * MAX_COOKIE_HEADER


def test_split_cookie_headers_parse_like_one() -> None:
    headers = [(b"cookie", b"sessionid=abc"), (b"cookie", b"theme=dark")]
    assert parse_cookie_header(cookie_headers(headers)) == {"sessionid": "abc", "theme": "dark"}


# --- CookieIdentifier ---------------------------------------------------------------------------

RAW_SESSION = "a3f9c2e7d1b8450f9e6c3a2b7d8e1f04"


@pytest.mark.parametrize(
    ("cookies", "expected_value"),
    [
        pytest.param({"sessionid": RAW_SESSION}, RAW_SESSION, id="django"),
        pytest.param({"theme": "dark", "PHPSESSID": "php-value"}, "php-value", id="php"),
        pytest.param({"sessionid": "second", "session": "first"}, "first", id="priority-order"),
        pytest.param({"session": "", "sessionid": "next"}, "next", id="empty-value-skipped"),
        pytest.param({"JSESSIONID": "java", "sid": "generic"}, "generic", id="sid-before-java"),
        pytest.param({"theme": "dark"}, None, id="no-id-cookie"),
        pytest.param({}, None, id="no-cookies"),
        pytest.param({"SESSIONID": "upper"}, None, id="names-case-sensitive"),
    ],
)
def test_cookie_id_default_names(cookies: dict[str, str], expected_value: str | None) -> None:
    identifier = CookieIdentifier(pseudonymiser=PSEUDONYMISER)
    expected = None if expected_value is None else PSEUDONYMISER.pseudonym(expected_value, "cookie")
    assert identifier.cookie_id(cookies) == expected


def test_cookie_id_custom_names_in_given_order() -> None:
    identifier = CookieIdentifier(["shop_visitor", "sessionid"], pseudonymiser=PSEUDONYMISER)
    cookies = {"sessionid": "s", "shop_visitor": "v", "session": "x"}
    assert identifier.cookie_id(cookies) == PSEUDONYMISER.pseudonym("v", "cookie")
    assert identifier.cookie_id({"session": "x"}) is None


def test_cookie_id_never_contains_the_raw_value() -> None:
    identifier = CookieIdentifier(pseudonymiser=PSEUDONYMISER)
    pseudonym = identifier.cookie_id({"sessionid": RAW_SESSION})
    assert pseudonym is not None
    assert RAW_SESSION not in pseudonym
    assert RAW_SESSION[:8] not in pseudonym
    assert RAW_SESSION not in repr(identifier)


def test_cookie_id_is_stable_for_one_key_and_differs_across_keys() -> None:
    one = CookieIdentifier(pseudonymiser=PSEUDONYMISER)
    same_key = CookieIdentifier(pseudonymiser=Pseudonymiser("an example secret for the tests only"))
    other_key = CookieIdentifier(pseudonymiser=OTHER_PSEUDONYMISER)
    cookies = {"sessionid": RAW_SESSION}
    assert one.cookie_id(cookies) == one.cookie_id(cookies) == same_key.cookie_id(cookies)
    assert one.cookie_id(cookies) != other_key.cookie_id(cookies)
    assert one.cookie_id(cookies) != one.cookie_id({"sessionid": RAW_SESSION + "0"})


def test_cookie_id_differs_from_an_ip_pseudonym_of_the_same_text() -> None:
    identifier = CookieIdentifier(pseudonymiser=PSEUDONYMISER)
    assert identifier.cookie_id({"sid": "203.0.113.7"}) != PSEUDONYMISER.pseudonym(
        "203.0.113.7", "ip"
    )


@given(st.from_regex(r"[A-Za-z0-9+/=_-]{12,64}", fullmatch=True))
def test_cookie_id_hides_any_value(value: str) -> None:
    pseudonym = CookieIdentifier(pseudonymiser=PSEUDONYMISER).cookie_id({"session": value})
    assert pseudonym is not None
    assert value not in pseudonym


@pytest.mark.parametrize(
    ("names", "message"),
    [
        pytest.param([], "no cookie names", id="empty"),
        pytest.param("sessionid", "not the single string", id="bare-string"),
        pytest.param([""], "'' is not a valid cookie name", id="empty-name"),
        pytest.param(["session id"], "'session id'", id="space"),
        pytest.param(["a=b"], "'a=b'", id="equals"),
        pytest.param(["a;b"], "'a;b'", id="semicolon"),
        pytest.param(['"quoted"'], "quoted", id="quotes"),
        pytest.param(["séance"], "'séance'", id="non-ascii"),
        pytest.param([None], "None", id="not-a-string"),
    ],
)
def test_cookie_identifier_rejects(names: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CookieIdentifier(names, pseudonymiser=PSEUDONYMISER)  # type: ignore[arg-type]


def test_default_id_cookies_are_valid_names() -> None:
    CookieIdentifier(DEFAULT_ID_COOKIES, pseudonymiser=PSEUDONYMISER)
    assert len(set(DEFAULT_ID_COOKIES)) == len(DEFAULT_ID_COOKIES)


def test_cookie_identifier_repr_shows_names_only() -> None:
    identifier = CookieIdentifier(["sid"], pseudonymiser=PSEUDONYMISER)
    assert repr(identifier) == "CookieIdentifier(names=['sid'])"
