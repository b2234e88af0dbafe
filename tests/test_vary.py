"""``Vary`` through the middleware: enough for any shared cache, and only where it is needed.

A shared cache that honours ``Vary`` (RFC 9111 §4.1) reuses a stored response for a later request
when every header the response's ``Vary`` names has the same value in both requests. The property
below plays that cache: for any app behaviour and any two visitors, whenever the cache would
hand visitor A's response to visitor B, the response B would have got from the app through the
middleware is the same: status, body and every header but ``Vary`` itself. So no opted-out
visitor is ever served an ad tag or an ad cookie made for someone else, nor the reverse. The
table after it checks the other side: a response that nothing about the opt-out touched carries
no ``Vary`` of passivelog's, so it stays cacheable for everyone.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from passivelog import PassiveLogMiddleware
from passivelog.testing import capture_records

from .conftest import SECRET, http_scope

Headers = list[tuple[bytes, bytes]]
MakeApp = Callable[..., Any]


@dataclass(frozen=True)
class AppKind:
    """What the app's answer depends on. A well-behaved app names ``Cookie`` in its own ``Vary``
    when its answer depends on the cookies it reads."""

    reads_decision: bool  # skips ad tags for opted-out visitors
    reads_cookies: bool  # shows whether it saw the _ga cookie
    sets_ad_cookie: bool
    deletes_ad_cookie: bool


def app_of(kind: AppKind) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = b"page"
        headers: Headers = [(b"content-type", b"text/html")]
        if kind.reads_decision:
            opted_out = scope["state"]["passivelog_opt_out"].opted_out
            body += b" no-ads" if opted_out else b" <script src=ads.js></script>"
        if kind.reads_cookies:
            cookie = b"; ".join(v for n, v in scope["headers"] if n == b"cookie")
            body += b" ga-seen" if b"_ga=" in cookie else b" no-ga"
            headers.append((b"vary", b"Cookie"))
        if kind.sets_ad_cookie:
            headers.append((b"set-cookie", b"_ga=GA1.1.42.1700000000; Path=/; Max-Age=63072000"))
        if kind.deletes_ad_cookie:
            headers.append((b"set-cookie", b"_fbp=; Path=/; Max-Age=0"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


# One loop for the thousands of requests here: asyncio.run would build and tear down one each.
_LOOP = asyncio.new_event_loop()


def respond(app: Any, headers: Headers) -> tuple[int, Headers, bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = http_scope("/shop", headers, client=("192.0.2.8", 1), scheme="https")
    with capture_records():
        _LOOP.run_until_complete(app(scope, receive, send))
    start, body = sent
    return start["status"], list(start["headers"]), body["body"]


def vary_names(headers: Headers) -> set[bytes]:
    return {
        token.strip().lower()
        for name, value in headers
        if name.lower() == b"vary"
        for token in value.split(b",")
        if token.strip()
    }


def cache_reuses(response_headers: Headers, first: Headers, second: Headers) -> bool:
    """Whether a shared cache hands the response to ``first`` to ``second`` (RFC 9111 §4.1)."""
    names = vary_names(response_headers)
    if b"*" in names:
        return False
    return all(
        [v for n, v in first if n == name] == [v for n, v in second if n == name] for name in names
    )


COOKIES = [b"sessionid=s1", b"_ga=GA1.1.7.1700000000", b"ad_opt_out=1", b"_fbp=fb.1.2.3"]


def signal_headers() -> st.SearchStrategy[Headers]:
    lines = [
        st.none() | st.sampled_from([(b"sec-gpc", b"1"), (b"sec-gpc", b"0")]),
        st.none() | st.sampled_from([(b"dnt", b"1"), (b"dnt", b"0")]),
        st.none() | st.just((b"x-ad-opt-out", b"1")),
    ]
    return st.tuples(*lines).map(lambda found: [line for line in found if line is not None])


cookie_headers = st.lists(st.sampled_from(COOKIES), unique=True, max_size=3).map(
    lambda cookies: [(b"cookie", b"; ".join(cookies))] if cookies else []
)


def visitor(signals: Headers, cookie: Headers) -> Headers:
    return [(b"host", b"shop.example"), *signals, *cookie]


@st.composite
def two_visitors(draw: st.DrawFn) -> tuple[Headers, Headers]:
    """Two visitors; often the same cookies with other signals, the case a cache must tell apart."""
    cookie = draw(cookie_headers)
    first = visitor(draw(signal_headers()), cookie)
    if draw(st.integers(0, 3)) == 0:
        cookie = draw(cookie_headers)
    return first, visitor(draw(signal_headers()), cookie)


@functools.cache
def wrapped(kind: AppKind) -> PassiveLogMiddleware:
    """One middleware per kind of app, kept across examples (building one is the slow part)."""
    return PassiveLogMiddleware(app_of(kind), secret=SECRET, geo_db=None)


APP_KINDS = [AppKind(*flags) for flags in itertools.product((False, True), repeat=4)]


@pytest.mark.parametrize("kind", APP_KINDS, ids=repr)
@settings(max_examples=100, deadline=None)
@given(pair=two_visitors())
# The same ad cookie, once without and once with an opt-out signal: the app sees it only once.
@example(
    pair=(
        visitor([], [(b"cookie", b"_ga=GA1.1.7.1700000000")]),
        visitor([(b"sec-gpc", b"1")], [(b"cookie", b"_ga=GA1.1.7.1700000000")]),
    )
)
def test_a_cache_honouring_vary_never_serves_a_response_made_for_other_signals(
    kind: AppKind, pair: tuple[Headers, Headers]
) -> None:
    first, second = pair
    app = wrapped(kind)
    stored = respond(app, first)
    if cache_reuses(stored[1], first, second):
        # What the second visitor gets is the stored response; what the app would have made for
        # them must say the same. Only Vary may differ, which is about caching, not content.
        assert without_vary(respond(app, second)) == without_vary(stored)


def without_vary(response: tuple[int, Headers, bytes]) -> tuple[int, Headers, bytes]:
    status, headers, body = response
    return status, [(n, v) for n, v in headers if n.lower() != b"vary"], body


@pytest.mark.parametrize(
    ("kind", "visitor", "varies"),
    [
        pytest.param(AppKind(False, False, False, False), [], False, id="plain-page"),
        pytest.param(
            AppKind(False, False, False, False),
            [(b"sec-gpc", b"1"), (b"cookie", b"sessionid=s1")],
            False,
            id="plain-page-opted-out-visitor",
        ),
        pytest.param(
            AppKind(False, False, False, True), [(b"sec-gpc", b"1")], False, id="only-deletes"
        ),
        pytest.param(AppKind(True, False, False, False), [], True, id="app-reads-the-decision"),
        pytest.param(AppKind(False, False, True, False), [], True, id="app-sets-an-ad-cookie"),
        pytest.param(
            AppKind(False, False, False, False),
            [(b"cookie", b"_ga=GA1.1.7.1700000000")],
            False,
            id="ad-cookie-sent-to-an-app-that-ignores-cookies",
        ),
        pytest.param(
            AppKind(False, True, False, False),
            [(b"cookie", b"_ga=GA1.1.7.1700000000")],
            True,
            id="ad-cookie-sent-to-an-app-that-varies-by-cookie",
        ),
        pytest.param(
            AppKind(False, True, False, False),
            [(b"cookie", b"sessionid=s1")],
            False,
            id="app-varies-by-cookie-no-ad-cookie-sent",
        ),
    ],
)
def test_vary_only_where_the_signals_can_change_the_response(
    make_app: MakeApp, kind: AppKind, visitor: Headers, varies: bool
) -> None:
    _, headers, _ = respond(make_app(app_of(kind), geo_db=None), visitor)
    assert (b"sec-gpc" in vary_names(headers)) is varies
