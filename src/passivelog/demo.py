"""The demo: a small Starlette shop behind passivelog, and realistic traffic to send it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from passivelog.middleware import PassiveLogMiddleware

# Loopback is the demo's "proxy": its client sends X-Forwarded-For as a load balancer would.
DEMO_TRUSTED_PROXIES = ("127.0.0.1", "::1")


async def _home(request: Request) -> Response:
    response = PlainTextResponse("welcome to the demo shop\n")
    # An analytics tag would set this; passivelog removes it for visitors who opted out.
    if not request.state.passivelog_opt_out.opted_out:
        response.set_cookie("_ga", "GA1.1.123456789.1700000000", max_age=3600)
    return response


async def _product(request: Request) -> Response:
    return JSONResponse({"id": request.path_params["pid"], "price": 19.9})


async def _search(request: Request) -> Response:
    return JSONResponse({"q": request.query_params.get("q", ""), "hits": 3})


async def _stream(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for i in range(5):
            yield f"chunk {i}\n".encode()

    return StreamingResponse(chunks(), media_type="text/plain")


async def _fail(request: Request) -> Response:
    raise RuntimeError("demo failure")


async def _echo(websocket: WebSocket) -> None:
    await websocket.accept()
    text = await websocket.receive_text()
    await websocket.send_text(text)
    await websocket.close(code=1000)


def build_demo_app(**options: Any) -> Starlette:
    """The demo shop with passivelog mounted; ``options`` go to :class:`PassiveLogMiddleware`."""
    app = Starlette(
        routes=[
            Route("/", _home),
            Route("/products/{pid}", _product),
            Route("/search", _search),
            Route("/unsubscribe", _search),
            Route("/stream", _stream),
            Route("/fail", _fail),
            Route("/healthz", lambda request: PlainTextResponse("ok")),
            WebSocketRoute("/ws", _echo),
        ]
    )
    options.setdefault("trusted_proxies", DEMO_TRUSTED_PROXIES)
    options.setdefault("exclude_paths", ["/healthz"])
    app.add_middleware(PassiveLogMiddleware, **options)
    return app


CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@dataclass(frozen=True)
class DemoRequest:
    method: str
    path: str
    client_ip: str
    user_agent: str
    headers: dict[str, str] = field(default_factory=dict)


# Public addresses of well-known services in several countries (the visitors are made up).
DEMO_TRAFFIC: tuple[DemoRequest, ...] = (
    DemoRequest(
        "GET",
        "/",
        "8.8.8.8",
        CHROME,
        {
            "referer": "https://mail.example.net/inbox?email=jane.doe%40example.com&utm_source=news",
            "cookie": "sessionid=s3cr3t-session-value; _ga=GA1.1.42.1700000000; theme=dark",
        },
    ),
    DemoRequest(
        "GET",
        "/products/1234?utm_campaign=autumn&page=2",
        "1.1.1.1",
        IPHONE,
        {"referer": "https://www.example.org/search?q=shoes"},
    ),
    DemoRequest(
        "GET",
        "/search?q=red+shoes&sort=price",
        "128.101.101.101",
        FIREFOX,
        {"sec-gpc": "1", "cookie": "_ga=GA1.1.99.1700000001"},
    ),
    DemoRequest(
        "GET",
        "/unsubscribe?email=john.smith%40example.com&token=eyJhbGciOiJIUzI1NiJ9."
        "eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "212.58.244.20",
        ANDROID,
        {},
    ),
    DemoRequest("GET", "/", "193.99.144.80", IPAD, {"dnt": "1"}),
    DemoRequest(
        "GET", "/stream", "2001:4860:4860::8888", CHROME, {"cookie": "JSESSIONID=ABCDEF0123456789"}
    ),
    DemoRequest("GET", "/products/77", "66.249.66.1", GOOGLEBOT, {}),
    DemoRequest("POST", "/privacy/ad-opt-out", "200.160.2.3", CHROME, {}),
    # A script behind a gateway that traces requests (W3C Trace Context): the record gets trace.id.
    DemoRequest(
        "GET",
        "/missing?ref=mail",
        "203.0.113.50",
        "curl/8.5.0",
        {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
    ),
    DemoRequest("GET", "/healthz", "127.0.0.1", "kube-probe/1.30", {}),
)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def demo_requests(count: int) -> Iterator[DemoRequest]:
    for i in range(count):
        yield DEMO_TRAFFIC[i % len(DEMO_TRAFFIC)]


async def send_demo_traffic(base_url: str, count: int) -> int:
    """Send ``count`` requests, cycling through :data:`DEMO_TRAFFIC`; return how many answered."""
    import httpx

    answered = 0
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as client:
        for item in demo_requests(count):
            headers = {"user-agent": item.user_agent, "x-forwarded-for": item.client_ip}
            headers.update(item.headers)
            with contextlib.suppress(httpx.HTTPError):
                await client.request(item.method, item.path, headers=headers)
                answered += 1
            client.cookies.clear()  # each demo request is a different visitor
    return answered


async def run_demo(host: str, port: int, requests: int | None, **options: Any) -> int:
    """Serve the demo under uvicorn; with ``requests``, send that many to it and stop."""
    import uvicorn

    app = build_demo_app(**options)
    # proxy_headers=False: uvicorn would otherwise resolve X-Forwarded-For itself for a loopback
    # peer, hiding what passivelog's own trusted-proxy walk does.
    config = uvicorn.Config(
        app, host=host, port=port, access_log=False, proxy_headers=False, log_level="warning"
    )
    server = uvicorn.Server(config)
    if requests is None:
        await server.serve()
        return 0
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            return 1
        await asyncio.sleep(0.02)
    try:
        await send_demo_traffic(f"http://{host}:{port}", requests)
    finally:
        server.should_exit = True
        await task
    return 0
