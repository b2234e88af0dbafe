"""The app the server tests run: the demo shop, writing records to a file the environment names,
with more routes: static files, a response that ends with trailers where the server offers them,
a response followed by a slow background task, and WebSockets that are never accepted."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from passivelog.demo import build_demo_app


class WithTrailers:
    """A plain ASGI endpoint (Starlette routes an instance to it as it is) whose response ends
    with a trailer where the server offers the HTTP Trailers extension: hypercorn does over
    HTTP/2, to a client that sends "TE: trailers"."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        trailers = "http.response.trailers" in scope.get("extensions", {})
        await send({"type": "http.response.start", "status": 200, "trailers": trailers})
        await send({"type": "http.response.body", "body": b"payload"})
        if trailers:
            await asyncio.sleep(0.2)  # the trailer comes well after the body
            await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"1")]})


async def _then_background(request: Request) -> PlainTextResponse:
    # Starlette runs the task after the response is complete, before the app returns.
    seconds = float(os.environ.get("PASSIVELOG_TEST_BACKGROUND_SECONDS", "1"))
    return PlainTextResponse("sent", background=BackgroundTask(asyncio.sleep, seconds))


async def _refused(websocket: WebSocket) -> None:
    await websocket.close(code=4003)


async def _broken(websocket: WebSocket) -> None:
    raise RuntimeError("the handler broke before accepting")


app = build_demo_app(
    secret="server-test-secret-0123456789",
    output=os.environ["PASSIVELOG_TEST_RECORDS"],
    geo_db=os.environ.get("PASSIVELOG_TEST_GEO_DB") or None,
)
app.router.routes += [
    Mount("/static", StaticFiles(directory=os.environ["PASSIVELOG_TEST_STATIC"])),
    Route("/trailers", WithTrailers()),
    Route("/background", _then_background),
    WebSocketRoute("/ws-refused", _refused),
    WebSocketRoute("/ws-broken", _broken),
]
