"""The middleware in process: exactly one record per request, in every way a request can end."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from passivelog import PassiveLogMiddleware, schema
from passivelog.middleware import sent_file_size
from passivelog.record import body_bytes_sent
from passivelog.testing import capture_records

from .conftest import SECRET, SHARED, http_scope


class Boom(Exception):
    pass


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello")


async def stream(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            await asyncio.sleep(0.02)
            yield b"x" * 100

    return StreamingResponse(chunks())


async def fail(request: Request) -> Response:
    raise Boom("the app broke")


async def state(request: Request) -> Response:
    return JSONResponse(
        {
            "request_id": request.state.passivelog_request_id,
            "opted_out": request.state.passivelog_opt_out.opted_out,
            "cookies": dict(request.cookies),
        }
    )


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())
    await websocket.close(code=4001)


def starlette_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/", hello),
            Route("/stream", stream),
            Route("/fail", fail),
            Route("/state", state),
            Route("/health", hello),
            WebSocketRoute("/ws", echo),
        ]
    )


def request(
    app: Any, path: str = "/", *, client: tuple[str, int] = ("192.0.2.10", 5000), **kwargs: Any
) -> tuple[httpx.Response, list[dict[str, Any]]]:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as c:
            return await c.get(path, **kwargs)

    with capture_records() as records:
        response = asyncio.run(go())
    return response, records


def test_plain_request_gives_one_record_with_core_fields(make_app: Callable[..., Any]) -> None:
    response, records = request(
        make_app(starlette_app()), "/?page=2", headers={"user-agent": "curl/8.5.0"}
    )
    assert response.status_code == 200
    [record] = records
    assert record[schema.HTTP_METHOD] == "GET"
    assert record[schema.URL_PATH] == "/"
    assert record[schema.URL_QUERY] == "page=2"
    assert record[schema.STATUS_CODE] == 200
    assert record[schema.BODY_BYTES] == 5
    assert record[schema.CLIENT_IP] == "192.0.2.10"
    assert record[schema.GEO_COUNTRY] == "GB"
    assert record[schema.GEO_REGION] == "GB-ENG"
    assert record[schema.GEO_REGION_NAME] == "England"
    assert record[schema.EVENT_DATASET] == "passivelog.access"
    assert record[schema.TIMESTAMP].endswith("Z")
    assert record[schema.EVENT_DURATION] > 0
    assert record[schema.DEVICE_CLASS] == "other"


def test_fastapi_app_is_logged(make_app: Callable[..., Any]) -> None:
    api = FastAPI()

    @api.get("/items/{item}")
    async def item(item: int) -> dict[str, int]:
        return {"item": item}

    api.add_middleware(PassiveLogMiddleware, secret=SECRET, geo_db=None)
    response, [record] = request(api, "/items/7")
    assert response.json() == {"item": 7}
    assert record[schema.URL_PATH] == "/items/7"
    assert schema.GEO_COUNTRY not in record


def test_streamed_response_duration_covers_the_body(make_app: Callable[..., Any]) -> None:
    response, [record] = request(make_app(starlette_app()), "/stream")
    assert len(response.content) == 300
    assert record[schema.BODY_BYTES] == 300
    assert record[schema.EVENT_DURATION] >= 60_000_000
    assert schema.ABORTED not in record


def test_app_exception_gives_500_record_and_propagates(make_app: Callable[..., Any]) -> None:
    with pytest.raises(Boom), capture_records() as records:
        asyncio.run(_get(make_app(starlette_app()), "/fail"))
    [record] = records
    assert record[schema.STATUS_CODE] == 500
    assert record[schema.ERROR_TYPE] == "Boom"
    assert "the app broke" not in repr(record)


def _with_background(task: Callable[[], Any]) -> Starlette:
    async def page(request: Request) -> Response:
        return PlainTextResponse("done", background=BackgroundTask(task))

    return Starlette(routes=[Route("/", page)])


def test_the_record_goes_out_when_the_response_completes_not_after_background_tasks(
    make_app: Callable[..., Any],
) -> None:
    seen_by_task: list[int] = []

    async def task() -> None:
        seen_by_task.append(len(records))

    with capture_records() as records:
        _asgi_call(make_app(_with_background(task)), http_scope(), [{"type": "http.request"}])
    assert seen_by_task == [1]
    [record] = records
    assert record[schema.STATUS_CODE] == 200


def test_a_background_task_that_raises_leaves_the_one_record_of_its_response(
    make_app: Callable[..., Any],
) -> None:
    async def task() -> None:
        raise Boom("after the response")

    with capture_records() as records, pytest.raises(Boom):
        _asgi_call(make_app(_with_background(task)), http_scope(), [{"type": "http.request"}])
    [record] = records
    assert record[schema.STATUS_CODE] == 200
    assert schema.ERROR_TYPE not in record  # the client got its response; the server logs the error


async def _get(app: Any, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=("192.0.2.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as c:
        return await c.get(path)


def _asgi_call(
    app: Any,
    scope: dict[str, Any],
    incoming: list[dict[str, Any]],
    fail_send_after: int | None = None,
) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop(0)
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        if fail_send_after is not None and len(sent) >= fail_send_after:
            raise OSError("client went away")
        sent.append(message)

    async def go() -> None:
        await app(scope, receive, send)

    asyncio.run(go())
    return sent


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([(b"host", b"shop.test")], id="no-visitor-headers"),
        pytest.param(
            [
                (b"user-agent", b"curl/8.5.0"),
                (b"cookie", b"sessionid=abc"),
                (b"referer", b"https://shop.test/"),
                (b"sec-gpc", b"1"),
            ],
            id="browser",
        ),
        pytest.param(
            [(b"cookie", b"a=1"), (b"x-request-id", b"r1"), (b"cookie", b"sessionid=abc")],
            id="repeated-cookie-lines",
        ),
    ],
)
def test_the_request_path_keys_visitors_as_the_visitor_cache_does(
    make_app: Callable[..., Any], headers: list[tuple[bytes, bytes]]
) -> None:
    # The middleware builds the cache key in its own pass over the headers (see
    # VisitorCache.key): a visitor looked up first through the cache is found, not added again.
    app = make_app(starlette_app(), output=io.StringIO())
    visitors = app._visitors
    visitors.facts("192.0.2.7", headers)
    _asgi_call(app, http_scope("/", headers), [{"type": "http.request"}])
    assert len(visitors) == 1
    app.close()


def test_client_disconnect_mid_stream_is_recorded_as_aborted(make_app: Callable[..., Any]) -> None:
    async def endless(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(100):
            await send({"type": "http.response.body", "body": b"data", "more_body": True})

    app = make_app(endless)
    with capture_records() as records, pytest.raises(OSError):
        _asgi_call(app, http_scope(), [], fail_send_after=3)
    [record] = records
    assert record[schema.ABORTED] is True
    assert record[schema.STATUS_CODE] == 200
    assert record[schema.EVENT_OUTCOME] == "unknown"


def test_a_client_gone_during_the_last_body_message_is_an_aborted_response(
    make_app: Callable[..., Any],
) -> None:
    async def one_shot(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"all of it"})

    with capture_records() as records, pytest.raises(OSError):
        _asgi_call(make_app(one_shot), http_scope(), [], fail_send_after=1)
    [record] = records
    assert record[schema.ABORTED] is True


def test_disconnect_before_response_is_recorded_as_client_closed(
    make_app: Callable[..., Any],
) -> None:
    async def waits_for_body(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        assert message["type"] == "http.disconnect"

    with capture_records() as records:
        _asgi_call(make_app(waits_for_body), http_scope(), [{"type": "http.disconnect"}])
    [record] = records
    assert record[schema.ABORTED] is True
    assert record[schema.STATUS_CODE] == 499


@pytest.mark.parametrize(
    ("method", "status", "passed", "sent"),
    [
        ("GET", 200, 11, 11),
        ("POST", 201, 5, 5),
        ("GET", 404, 9, 9),
        ("HEAD", 200, 11, 0),
        ("HEAD", 404, 9, 0),
        ("GET", 204, 3, 0),
        ("GET", 304, 3, 0),
        ("GET", 101, 3, 0),
        ("GET", 205, 3, 3),  # 205 forbids content too, but by the server's choice, not framing
        ("GET", "200", 3, 3),  # not an int: no rule applies
    ],
)
def test_body_bytes_sent_follows_rfc_9110_content_rules(
    method: str, status: Any, passed: int, sent: int
) -> None:
    assert body_bytes_sent(method, status, passed) == sent


def test_a_head_response_sends_no_body_whatever_the_app_passes(
    make_app: Callable[..., Any],
) -> None:
    # Starlette passes the body of a HEAD response on, as for GET; the server drops it.
    app = make_app(starlette_app())
    with capture_records() as records, TestClient(app) as client:
        assert client.head("/").headers["content-length"] == "5"
        client.get("/")
    head, get = records
    assert head[schema.HTTP_METHOD] == "HEAD" and head[schema.BODY_BYTES] == 0
    assert get[schema.BODY_BYTES] == 5


def test_a_body_before_any_start_is_not_a_complete_response(
    make_app: Callable[..., Any],
) -> None:
    # An app bug a lenient server lets through: the record must not claim status 0.
    async def body_first(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.body", "body": b"x"})

    with capture_records() as records:
        _asgi_call(make_app(body_first), http_scope(), [])
    [record] = records
    assert record[schema.STATUS_CODE] == 500


@pytest.mark.parametrize("body", [None, 7, "text"])
def test_a_body_that_is_not_bytes_reaches_the_server_unjudged(
    make_app: Callable[..., Any], body: Any
) -> None:
    # The server is the one to refuse it, in its own words: the middleware must not raise first.
    async def odd_body(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    with capture_records() as records:
        sent = _asgi_call(make_app(odd_body), http_scope(), [])
    assert sent[-1]["body"] is body
    [record] = records
    assert isinstance(record[schema.BODY_BYTES], int)
    assert schema.ERROR_TYPE not in record


def test_a_file_the_server_sends_counts_its_bytes(
    make_app: Callable[..., Any], tmp_path: Path
) -> None:
    # A server offering the Path Send extension (granian) sends the file itself: Starlette's
    # FileResponse passes only its path, and the record still gives the body's size.
    asset = tmp_path / "logo.svg"
    asset.write_bytes(b"<svg/>" * 700)
    app = make_app(Starlette(routes=[Route("/logo.svg", lambda r: FileResponse(asset))]))
    scope = http_scope("/logo.svg")
    scope["extensions"] = {"http.response.pathsend": {}}
    with capture_records() as records:
        sent = _asgi_call(app, scope, [{"type": "http.request"}])
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.pathsend"]
    [record] = records
    assert record[schema.BODY_BYTES] == 4200
    assert schema.ABORTED not in record


@pytest.mark.parametrize(
    ("headers", "file_bytes", "expected"),
    [
        pytest.param([(b"content-length", b"4200")], 10, 4200, id="declared"),
        pytest.param([(b"Content-Length", b" 17 ")], 10, 17, id="declared-any-case"),
        pytest.param([("content-length", "99")], 10, 99, id="declared-as-str"),
        pytest.param([], 10, 10, id="undeclared-file-size"),
        pytest.param([(b"content-length", b"-1")], 10, 10, id="negative-file-size"),
        pytest.param([(b"content-length", b"1e3")], 10, 10, id="not-digits-file-size"),
        pytest.param([(b"content-length", b"9" * 5000)], 10, 10, id="too-long-file-size"),
        pytest.param([(b"content-length", 7)], 10, 10, id="int-value-file-size"),
        pytest.param([(b"a", b"b", b"c")], 10, 10, id="not-pairs-file-size"),
        pytest.param(None, None, 0, id="no-file"),
    ],
)
def test_sent_file_size(
    tmp_path: Path, headers: Any, file_bytes: int | None, expected: int
) -> None:
    path = tmp_path / "f"
    if file_bytes is not None:
        path.write_bytes(b"x" * file_bytes)
    assert sent_file_size(headers, str(path)) == expected


@pytest.mark.parametrize("path", [3, None, "bad\0path", b"/nonexistent/x", ["/"]])
def test_sent_file_size_of_what_is_not_a_readable_path_is_zero(path: Any) -> None:
    assert sent_file_size([], path) == 0


async def _with_trailers(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [], "trailers": True})
    await send({"type": "http.response.body", "body": b"payload", "more_body": False})
    await asyncio.sleep(0.05)  # e.g. a checksum of the body, computed after it
    await send({"type": "http.response.trailers", "headers": [(b"x-sum", b"1")]})


def test_a_response_with_trailers_ends_with_its_last_trailers(
    make_app: Callable[..., Any],
) -> None:
    scope = http_scope()
    scope["extensions"] = {"http.response.trailers": {}}
    with capture_records() as records:
        _asgi_call(make_app(_with_trailers), scope, [{"type": "http.request"}])
    [record] = records
    assert record[schema.BODY_BYTES] == 7
    assert record[schema.EVENT_DURATION] >= 50_000_000
    assert schema.ABORTED not in record


def test_a_client_gone_before_the_trailers_is_an_aborted_response(
    make_app: Callable[..., Any],
) -> None:
    scope = http_scope()
    scope["extensions"] = {"http.response.trailers": {}}
    with capture_records() as records, pytest.raises(OSError):
        _asgi_call(make_app(_with_trailers), scope, [], fail_send_after=2)
    [record] = records
    assert record[schema.ABORTED] is True
    assert record[schema.BODY_BYTES] == 7


def test_websocket_gives_one_record_with_close_code(make_app: Callable[..., Any]) -> None:
    client = TestClient(make_app(starlette_app()))
    with capture_records() as records, client.websocket_connect("/ws") as ws:
        ws.send_text("hi")
        assert ws.receive_text() == "hi"
    [record] = records
    assert record[schema.KIND] == "websocket"
    assert record[schema.URL_PATH] == "/ws"
    assert record[schema.WS_CLOSE_CODE] == 4001
    assert record[schema.STATUS_CODE] == 101


def test_a_websocket_denied_with_an_http_response_records_its_status_and_bytes(
    make_app: Callable[..., Any],
) -> None:
    async def members_only(websocket: WebSocket) -> None:
        await websocket.send_denial_response(PlainTextResponse("members only", status_code=403))

    app = make_app(Starlette(routes=[WebSocketRoute("/ws", members_only)]))
    scope = http_scope("/ws", scheme="ws", scope_type="websocket")
    scope["extensions"] = {"websocket.http.response": {}}
    with capture_records() as records:
        sent = _asgi_call(app, scope, [{"type": "websocket.connect"}])
    assert sent[0]["type"] == "websocket.http.response.start"
    [record] = records
    assert (record[schema.STATUS_CODE], record[schema.BODY_BYTES]) == (403, len("members only"))


async def _ws_raises(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    raise Boom("before accepting")


async def _ws_returns(scope: Any, receive: Any, send: Any) -> None:
    await receive()


async def _ws_closes(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "websocket.close", "code": 4003})


async def _ws_waits(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await receive()  # the client's disconnect


@pytest.mark.parametrize(
    ("endpoint", "status", "error"),
    [
        (_ws_closes, 403, None),  # the server refuses the handshake with 403
        (_ws_raises, 500, "Boom"),  # uvicorn and hypercorn answer 500
        (_ws_returns, 500, None),  # likewise for an app that never answers
        (_ws_waits, 499, None),  # the client left before any answer
    ],
)
def test_a_websocket_never_accepted_records_the_handshakes_answer(
    make_app: Callable[..., Any], endpoint: Any, status: int, error: str | None
) -> None:
    scope = http_scope("/ws", scheme="ws", scope_type="websocket")
    incoming = [{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1006}]
    with capture_records() as records, contextlib.suppress(Boom):
        _asgi_call(make_app(endpoint), scope, incoming)
    [record] = records
    assert record[schema.STATUS_CODE] == status
    assert record.get(schema.ERROR_TYPE) == error


def test_lifespan_messages_pass_untouched(make_app: Callable[..., Any]) -> None:
    seen: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "lifespan"
        while True:
            message = await receive()
            seen.append(message)
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete", "extra": 1})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    with capture_records() as records:
        sent = _asgi_call(
            make_app(app), scope, [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
        )
    assert sent == [
        {"type": "lifespan.startup.complete", "extra": 1},
        {"type": "lifespan.shutdown.complete"},
    ]
    assert [m["type"] for m in seen] == ["lifespan.startup", "lifespan.shutdown"]
    assert records == []


@pytest.mark.parametrize("path", ["/health", "/internal/metrics"], ids=["exact", "prefix"])
def test_excluded_paths_are_silent(make_app: Callable[..., Any], path: str) -> None:
    app = make_app(starlette_app(), exclude_paths=["/health", "/internal/*"])
    _, records = request(app, path)
    assert records == []


def test_request_id_is_kept_when_well_formed_and_replaced_otherwise(
    make_app: Callable[..., Any],
) -> None:
    app = make_app(starlette_app())
    response, [record] = request(app, "/state", headers={"x-request-id": "abc-123"})
    assert record[schema.REQUEST_ID] == "abc-123" == response.json()["request_id"]
    _, [record] = request(app, "/state", headers={"x-request-id": "jane@example.com"})
    assert record[schema.REQUEST_ID] != "jane@example.com"
    assert len(record[schema.REQUEST_ID]) == 16


def test_cookie_id_is_a_stable_pseudonym(make_app: Callable[..., Any]) -> None:
    app = make_app(starlette_app())
    _, [first] = request(app, headers={"cookie": "sessionid=visitor-one-session"})
    _, [again] = request(app, headers={"cookie": "sessionid=visitor-one-session"})
    _, [other] = request(app, headers={"cookie": "sessionid=visitor-two-session"})
    assert first[schema.COOKIE_ID] == again[schema.COOKIE_ID] != other[schema.COOKIE_ID]
    assert "visitor-one-session" not in repr(first)


SENTINELS = {
    "cookie": "sentinel-cookie-value-8c1f",
    "ad": "GA1.1.sentinel-ad-4d2e",
    "auth": "Bearer sentinel-auth-token-9a7b",
    "proxy": "Basic c2VudGluZWwtcHJveHk=",
    "ua": "SentinelAgent/9.9 (sentinel-ua-77)",
}


def test_sentinels_never_reach_the_rendered_record(make_app: Callable[..., Any]) -> None:
    from passivelog.render import to_json_line

    app = make_app(starlette_app(), ip_mode="drop", opt_out=True)
    headers = {
        "cookie": f"sessionid={SENTINELS['cookie']}; _ga={SENTINELS['ad']}",
        "authorization": SENTINELS["auth"],
        "proxy-authorization": SENTINELS["proxy"],
        "user-agent": SENTINELS["ua"],
        "sec-gpc": "1",
    }
    _, [record] = request(app, "/", headers=headers, client=("198.51.100.77", 1234))
    line = to_json_line(record).decode()
    for value in [
        *SENTINELS.values(),
        "sentinel-auth-token",
        SECRET,
        "198.51.100.77",
        "198.51.100",
    ]:
        assert value not in line
    assert record[schema.GEO_REGION] == "US-CA"  # geo from the full IP, IP itself dropped


def test_every_field_name_is_ecs_or_passivelog() -> None:
    path = SHARED / "schemas" / "ecs-fields.csv"
    if not path.exists():
        pytest.skip("the shared ECS field registry is not beside the repo")
    with path.open(newline="") as fh:
        ecs = {row["Field"] for row in csv.DictReader(fh)}
    for field in schema.FIELDS:
        assert field.ecs in ecs or field.ecs.startswith("passivelog."), field.ecs


def test_recorded_keys_are_all_declared(make_app: Callable[..., Any]) -> None:
    declared = {f.ecs for f in schema.FIELDS}
    app = make_app(starlette_app(), log_user_agent=True, log_ad_id=True)
    _, [record] = request(
        app,
        "/?email=a%40b.example",
        headers={
            "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)",
            "referer": "https://other.example/?q=1",
            "cookie": "sid=abc; _ga=GA1.1.1.1",
        },
    )
    assert set(record) <= declared


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ip_mode": "anonymise"}, "ip_mode"),
        ({"trusted_proxies": ["10.0.0.0/33"]}, "10.0.0.0/33"),
        ({"geo_db": "/nonexistent/geo.mmdb"}, "/nonexistent/geo.mmdb"),
        ({"secret": ""}, "secret"),
        ({"exclude_paths": "/health"}, "exclude_paths"),
        ({"referrer_mode": "keep"}, "keep"),
        ({"overflow": "maybe"}, "overflow"),
        ({"output": 42}, "output"),
        ({"visitor_cache_size": -1}, "visitor_cache_size"),
        ({"visitor_cache_size": True}, "visitor_cache_size"),
        ({"page_cache_size": 2.5}, "page_cache_size"),
        ({"ua_cache_size": -1}, "ua_cache_size"),
        ({"geo_cache_size": -1, "geo_db": None}, "geo_cache_size"),
        ({"log_user_agent": "no"}, "log_user_agent"),
        ({"log_ad_id": 1}, "log_ad_id"),
        ({"proxy_header": "x-real-ip"}, "proxy_header"),
        ({"cross_site_referrer": "keep"}, "cross_site_referrer"),
        ({"secret": 123}, "secret must be text or bytes"),
        ({"geo": "geoip"}, "geo must be a GeoLocator"),
        ({"sinks": []}, "sinks is empty"),
        ({"processors": [1]}, "processors"),
        ({"processors": len}, "processors must be a list of structlog processors"),
        ({"id_cookies": []}, "id_cookies="),
        ({"output": "/"}, "is a directory"),
        ({"trusted_proxies": 5}, "trusted_proxies must be a list of IPs or CIDRs; got 5"),
        ({"exclude_paths": True}, "exclude_paths must be a list of paths; got True"),
        ({"id_cookies": None}, "id_cookies must be a list of cookie names"),
        ({"sinks": 3}, "sinks must be a list of sinks"),
    ],
    ids=[
        "ip-mode",
        "cidr",
        "geo-db",
        "empty-secret",
        "exclude-str",
        "referrer-mode",
        "overflow",
        "output",
        "visitor-cache-negative",
        "visitor-cache-bool",
        "page-cache-float",
        "ua-cache-negative",
        "geo-cache-negative-geo-off",
        "flag-a-string",
        "flag-an-int",
        "proxy-header",
        "cross-site-referrer",
        "secret-an-int",
        "geo-not-a-locator",
        "no-sinks",
        "processor-not-callable",
        "one-processor-not-a-list",
        "no-id-cookies",
        "output-a-directory",
        "proxies-not-a-collection",
        "exclude-not-a-collection",
        "id-cookies-none",
        "sinks-not-a-collection",
    ],
)
def test_bad_configuration_raises_value_error(options: dict[str, Any], message: str) -> None:
    options.setdefault("secret", SECRET)
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("/", "/")):
        PassiveLogMiddleware(starlette_app(), **options)


def test_none_means_no_proxies_no_exclusions_no_processors(make_app: Callable[..., Any]) -> None:
    app = make_app(starlette_app(), trusted_proxies=None, exclude_paths=None, processors=None)
    _, [record] = request(app, headers={"x-forwarded-for": "198.51.100.4"})
    assert record[schema.CLIENT_IP] != "198.51.100.4"  # the peer is trusted by no one


def test_missing_secret_warns_once_and_still_works(city_db: Any) -> None:
    from passivelog.pseudonym import EphemeralSecretWarning

    with pytest.warns(EphemeralSecretWarning):
        app = PassiveLogMiddleware(starlette_app(), geo_db=city_db)
    _, [record] = request(app, headers={"cookie": "sid=abc"})
    assert schema.COOKIE_ID in record


def test_secret_is_not_in_repr(make_app: Callable[..., Any]) -> None:
    app = make_app(starlette_app())
    assert SECRET not in repr(app)
    assert SECRET not in repr(vars(app))
