"""Hostile requests: the app keeps serving, every record is one valid JSON line, nothing raises."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from passivelog.render import to_json_line
from passivelog.testing import capture_records

from .conftest import http_scope

header_bytes = st.binary(max_size=300)
header_names = st.sampled_from(
    [
        b"x-forwarded-for",
        b"forwarded",
        b"cookie",
        b"referer",
        b"user-agent",
        b"sec-gpc",
        b"dnt",
        b"x-request-id",
        b"host",
        b"authorization",
        b"x-ad-opt-out",
        b"traceparent",
    ]
)
paths = st.text(max_size=200).map(lambda s: "/" + s)


async def ok_app(scope: Any, receive: Any, send: Any) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"set-cookie", b"_ga=GA1.1.1.1; Max-Age=3600")],
        }
    )
    await send({"type": "http.response.body", "body": b"ok"})


def exchange(app: Any, scope: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run one request; return what was sent to the client and the records, checking that the
    app answered with one response start and one body."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with capture_records() as records:
        asyncio.run(app(scope, receive, send))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    return sent, records


def call(
    app: Any,
    path: str,
    query: bytes,
    headers: list[tuple[bytes, bytes]],
    client: Any = ("198.51.100.1", 1),
) -> list[dict[str, Any]]:
    return exchange(app, http_scope(path, headers, query=query, client=client))[1]


def assert_one_json_line(records: list[dict[str, Any]]) -> None:
    assert len(records) == 1
    line = to_json_line(records[0])
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert isinstance(orjson.loads(line), dict)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=paths,
    query=st.binary(max_size=300),
    headers=st.lists(st.tuples(header_names, header_bytes), max_size=12),
)
def test_random_headers_paths_and_queries(
    make_app: Callable[..., Any], path: str, query: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    app = make_app(ok_app, trusted_proxies=["198.51.100.0/24"], log_user_agent=True)
    assert_one_json_line(call(app, path, query, headers))


def test_huge_cookie_and_long_forwarded_chain(make_app: Callable[..., Any]) -> None:
    app = make_app(ok_app, trusted_proxies=["198.51.100.0/24"])
    chain = ", ".join(f"198.51.100.{i % 250}" for i in range(1000)).encode()
    headers = [
        (b"cookie", b"sessionid=" + b"A" * 65536),
        (b"x-forwarded-for", chain),
        (b"forwarded", b'for="[junk;;,,,=""'),
        (b"referer", b"http://\xff\xfe/\x00?a=\x01"),
    ]
    records = call(app, "/\x00\x1b[31m\u2028", b"q=\xff\xfe%zz&&==&a=%E0%A4%A", headers)
    assert_one_json_line(records)


def test_non_ip_peer_is_handled(make_app: Callable[..., Any]) -> None:
    for client in [None, ("testclient", 50000), ("unix-socket", None), ("198.51.100.1", "8080")]:
        assert_one_json_line(call(make_app(ok_app), "/", b"", [], client=client))


# What apps put in their response headers: ASGI asks for bytes, but str works under some
# servers, and anything else is a mistake the server will refuse.
header_parts = st.one_of(
    st.binary(max_size=40),
    st.text(max_size=40),
    st.binary(max_size=40).map(bytearray),
    st.sampled_from(
        [
            *(b"set-cookie", "set-cookie", "Set-Cookie", b"vary", "Vary", b"Cookie", "cookie, *"),
            *(b"_ga=GA1.2.3.4; Path=/", "_ga=1; Max-Age=60", "_fbp=fb.1; Path=/", "_ga=\u20ac"),
        ]
    ),
    st.integers(),
)


def _as_bytes(part: Any) -> bytes | None:
    if isinstance(part, bytes | bytearray):
        return bytes(part)
    if isinstance(part, str):
        return part.encode("utf-8", "surrogatepass")
    return None


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    app_headers=st.lists(st.tuples(header_parts, header_parts), max_size=6),
    opted_out=st.booleans(),
)
@example(app_headers=[("set-cookie", "_ga=1; Max-Age=60"), (b"x-count", 5)], opted_out=True)
@example(app_headers=[(b"Set-Cookie", "_ga=\u20ac"), (b"vary", "Cookie")], opted_out=True)
def test_response_headers_of_any_type_never_raise_nor_set_an_ad_cookie_after_opt_out(
    make_app: Callable[..., Any], app_headers: list[tuple[Any, Any]], opted_out: bool
) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": list(app_headers)})
        await send({"type": "http.response.body", "body": b"ok"})

    visitor = [(b"cookie", b"_ga=GA1.1.1.1")] + ([(b"sec-gpc", b"1")] if opted_out else [])
    sent, records = exchange(make_app(app), http_scope("/", visitor))
    assert_one_json_line(records)
    if opted_out:
        for name, value in sent[0]["headers"]:
            name_bytes, value_bytes = _as_bytes(name), _as_bytes(value)
            if name_bytes is not None and name_bytes.lower() == b"set-cookie" and value_bytes:
                assert not value_bytes.startswith((b"_ga=", b"_fbp=")), (name, value)


# What a buggy app may hand to send(): the message types of its scope, with fields of any type or
# missing. A lenient server takes each; the middleware must pass each on without raising and
# still write one record that renders as one JSON line.
_junk = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=8)
_MESSAGE_TYPES = {
    "http": [
        "http.response.start",
        "http.response.body",
        "http.response.trailers",
        "http.response.pathsend",
        "http.response.zerocopysend",
    ],
    "websocket": [
        "websocket.accept",
        "websocket.send",
        "websocket.close",
        "websocket.http.response.start",
        "websocket.http.response.body",
    ],
}


def _app_messages(scope_type: str) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(
        st.fixed_dictionaries(
            {"type": st.sampled_from(_MESSAGE_TYPES[scope_type]) | st.text(max_size=12)},
            optional={
                "status": st.integers(-5, 1200) | _junk,
                "headers": st.lists(st.tuples(_junk | st.binary(max_size=8), _junk)) | _junk,
                "body": st.binary(max_size=16) | _junk,
                "more_body": _junk,
                "trailers": _junk,
                "more_trailers": _junk,
                "path": _junk,
                "code": st.integers(-5, 5000) | _junk,
                "reason": _junk,
                "text": _junk,
            },
        ),
        max_size=5,
    )


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), scope_type=st.sampled_from(["http", "websocket"]), raises=st.booleans())
def test_whatever_an_app_sends_passes_through_and_leaves_one_record(
    make_app: Callable[..., Any], data: st.DataObject, scope_type: str, raises: bool
) -> None:
    messages = data.draw(_app_messages(scope_type), label="messages")

    class AppBug(Exception):
        pass

    async def buggy_app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        for message in messages:
            await send(message)
        if raises:
            raise AppBug

    received: list[dict[str, Any]] = []

    async def lenient_send(message: dict[str, Any]) -> None:
        received.append(message)

    async def receive() -> dict[str, Any]:
        if scope_type == "websocket":
            return {"type": "websocket.connect"}
        return {"type": "http.request", "body": b"", "more_body": False}

    app = make_app(buggy_app)
    scope = http_scope(scope_type=scope_type, scheme="ws" if scope_type == "websocket" else "http")
    with capture_records() as records:
        try:
            asyncio.run(app(scope, receive, lenient_send))
        except AppBug:
            assert raises
        else:
            assert not raises
    assert [m.get("type") for m in received] == [m["type"] for m in messages]
    assert_one_json_line(records)
