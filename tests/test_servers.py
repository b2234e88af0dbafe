"""The middleware under real ASGI servers over real sockets: uvicorn, hypercorn and granian."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from passivelog import schema
from passivelog.demo import free_port

pytestmark = pytest.mark.servers
ROOT = Path(__file__).resolve().parents[1]
BACKGROUND_SECONDS = 3.0  # how long the /background route's task runs after its response
STYLESHEET = b"body { font-family: sans-serif; }\n" * 300


def server_command(server: str, port: int) -> list[str]:
    if server == "uvicorn":
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.serverapp:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--no-proxy-headers",
            "--log-level",
            "warning",
        ]
    if server == "hypercorn":
        return [
            sys.executable,
            "-m",
            "hypercorn",
            "tests.serverapp:app",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ]
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "asgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "tests.serverapp:app",
    ]


class Server:
    def __init__(self, server: str, tmp_path: Path, city_db: Path) -> None:
        self.name = server
        self.port = free_port()
        self.records_path = tmp_path / f"{server}.jsonl"
        static = tmp_path / "static"
        static.mkdir()
        (static / "shop.css").write_bytes(STYLESHEET)
        env = dict(
            os.environ,
            PASSIVELOG_TEST_RECORDS=str(self.records_path),
            PASSIVELOG_TEST_STATIC=str(static),
            PASSIVELOG_TEST_BACKGROUND_SECONDS=str(BACKGROUND_SECONDS),
            PASSIVELOG_TEST_GEO_DB=str(city_db),
            PYTHONPATH=str(ROOT),
        )
        self.process = subprocess.Popen(
            server_command(server, self.port),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read().decode() if self.process.stdout else ""
                raise AssertionError(f"{server} exited early:\n{output}")
            try:
                httpx.get(self.base + "/healthz", timeout=0.5)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise AssertionError(f"{server} did not start")

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            output, _ = self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
        return output.decode(errors="replace")

    def records(self) -> list[dict[str, Any]]:
        if not self.records_path.exists():
            return []
        lines = self.records_path.read_bytes().split(b"\n")
        return [orjson.loads(line) for line in lines if line]


SERVERS = [s for s in ("uvicorn", "hypercorn", "granian")]


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest, tmp_path: Path, city_db: Path) -> Iterator[Server]:
    name = request.param
    module = {"uvicorn": "uvicorn", "hypercorn": "hypercorn", "granian": "granian"}[name]
    pytest.importorskip(module)
    running = Server(name, tmp_path, city_db)
    try:
        yield running
    finally:
        running.stop()


def by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for record in records:
        found.setdefault(record.get(schema.REQUEST_ID, ""), record)
    return found


def test_each_kind_of_request_is_logged_once(server: Server) -> None:
    headers = {"x-forwarded-for": "198.51.100.9", "user-agent": "curl/8.5.0"}
    with httpx.Client(base_url=server.base, timeout=5) as client:
        assert (
            client.get(
                "/products/1?utm_source=x", headers={**headers, "x-request-id": "plain-1"}
            ).status_code
            == 200
        )
        head = client.head("/products/1", headers={**headers, "x-request-id": "head-1"})
        assert head.status_code == 200 and int(head.headers["content-length"]) > 0
        assert (
            client.get("/stream", headers={**headers, "x-request-id": "stream-1"}).text.count(
                "chunk"
            )
            == 5
        )
    with httpx.Client(base_url=server.base, timeout=5) as client:
        assert client.get("/fail", headers={**headers, "x-request-id": "fail-1"}).status_code == 500
    with httpx.Client(base_url=server.base, timeout=5) as client:
        # granian hands the file to the server (the Path Send extension); the others stream it.
        css = client.get("/static/shop.css", headers={**headers, "x-request-id": "static-1"})
        assert css.content == STYLESHEET
    with httpx.Client(base_url=server.base, timeout=5) as client:
        client.get("/healthz")
    asyncio.run(_websocket_roundtrip(server.port))
    server.stop()
    records = server.records()
    http = by_id(records)
    assert http["plain-1"][schema.STATUS_CODE] == 200
    assert http["plain-1"][schema.CLIENT_IP] == "198.51.100.9"
    assert http["plain-1"][schema.GEO_REGION] == "US-CA"
    assert http["plain-1"][schema.BODY_BYTES] == int(head.headers["content-length"])
    assert http["head-1"][schema.BODY_BYTES] == 0  # the server sent none (RFC 9110 9.3.2)
    assert http["stream-1"][schema.BODY_BYTES] == 40
    assert http["fail-1"][schema.STATUS_CODE] == 500
    assert http["fail-1"][schema.ERROR_TYPE] == "RuntimeError"
    assert http["static-1"][schema.BODY_BYTES] == len(STYLESHEET)
    assert schema.ABORTED not in http["static-1"]
    ws = [r for r in records if r[schema.KIND] == "websocket"]
    assert len(ws) == 1 and ws[0][schema.URL_PATH] == "/ws"
    assert ws[0][schema.WS_CLOSE_CODE] in (1000, 1006)  # hypercorn reports a normal close as 1006
    assert not [r for r in records if r[schema.URL_PATH] == "/healthz"]
    assert len(records) == 6


@pytest.mark.parametrize("server", ["hypercorn", "granian"], indirect=True)
def test_http2_is_logged_like_http1_cookie_crumbs_included(server: Server) -> None:
    # HTTP/2 clients may send the cookies as several "cookie" fields (RFC 9113 §8.2.3; h2 splits
    # them by default): the visitor is the same as with one Cookie header over HTTP/1.1.
    # hypercorn joins the crumbs before the app sees them; granian hands them on one by one.
    crumbs = [("cookie", "theme=dark"), ("cookie", "sessionid=crumb-session-value")]
    with httpx.Client(base_url=server.base, http1=False, http2=True, timeout=5) as client:
        response = client.get("/products/7", headers=[("x-request-id", "h2-1"), *crumbs])
        assert (response.status_code, response.http_version) == (200, "HTTP/2")
    with httpx.Client(base_url=server.base, timeout=5) as client:
        joined = "theme=dark; sessionid=crumb-session-value"
        response = client.get("/products/7", headers={"x-request-id": "h1-1", "cookie": joined})
        assert (response.status_code, response.http_version) == (200, "HTTP/1.1")
    server.stop()
    records = by_id(server.records())
    h2, h1 = records["h2-1"], records["h1-1"]
    assert (h2[schema.HTTP_VERSION], h1[schema.HTTP_VERSION]) == ("2", "1.1")
    assert h2[schema.URL_PATH] == "/products/7" and h2[schema.STATUS_CODE] == 200
    assert h2[schema.COOKIE_ID] == h1[schema.COOKIE_ID]
    assert "crumb-session-value" not in orjson.dumps(h2).decode()


def _h2_get(port: int, path: str, headers: list[tuple[str, str]]) -> list[Any]:
    # One HTTP/2 request (prior knowledge) with the h2 library, returning every event received
    # until the stream ends: httpx does not hand trailers to its callers.
    import h2.config
    import h2.connection
    import h2.events

    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    request = [(":method", "GET"), (":path", path), (":scheme", "http")]
    request += [(":authority", "shop.test"), *headers]
    conn.send_headers(1, request, end_stream=True)
    events: list[Any] = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(conn.data_to_send())
        while not any(isinstance(e, h2.events.StreamEnded) for e in events):
            data = sock.recv(65536)
            assert data, "the server closed the connection before the stream ended"
            for event in conn.receive_data(data):
                events.append(event)
                if isinstance(event, h2.events.DataReceived):
                    conn.acknowledge_received_data(event.flow_controlled_length, 1)
            sock.sendall(conn.data_to_send())
    return events


@pytest.mark.parametrize("server", ["hypercorn"], indirect=True)
def test_a_response_with_trailers_is_timed_to_its_last_trailer(server: Server) -> None:
    # hypercorn offers the HTTP Trailers extension over HTTP/2 to a client that accepts trailers
    # (TE: trailers); the response then ends with its trailer, sent 0.2 s after the body.
    import h2.events

    events = _h2_get(server.port, "/trailers", [("te", "trailers"), ("x-request-id", "tr-1")])
    body = b"".join(e.data for e in events if isinstance(e, h2.events.DataReceived))
    [trailers] = [e.headers for e in events if isinstance(e, h2.events.TrailersReceived)]
    assert body == b"payload"
    assert (b"x-checksum", b"1") in trailers
    server.stop()
    record = by_id(server.records())["tr-1"]
    assert record[schema.BODY_BYTES] == len(b"payload")
    assert record[schema.EVENT_DURATION] >= 200_000_000
    assert schema.ABORTED not in record


@pytest.mark.parametrize("server", ["uvicorn"], indirect=True)
def test_a_response_is_recorded_before_its_background_task_ends(server: Server) -> None:
    # The route's background task runs for 3 s after the response. The record is written when
    # the response completes, not when the app returns: a worker killed meanwhile has written it.
    sent = time.monotonic()
    response = httpx.get(server.base + "/background", headers={"x-request-id": "bg-1"}, timeout=5)
    assert response.text == "sent"
    record = None
    while record is None and time.monotonic() - sent < BACKGROUND_SECONDS - 1:
        record = by_id(server.records()).get("bg-1")
        time.sleep(0.02)
    assert record is not None, "no record while the background task ran"
    assert record[schema.STATUS_CODE] == 200
    assert record[schema.EVENT_DURATION] < 1_000_000_000
    server.stop()
    assert [r[schema.REQUEST_ID] for r in server.records()].count("bg-1") == 1


def test_a_websocket_never_accepted_is_recorded_with_the_handshakes_answer(
    server: Server,
) -> None:
    import websockets

    async def answer(path: str) -> int:
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(f"ws://127.0.0.1:{server.port}{path}"):
                pass
        return refused.value.response.status_code

    assert asyncio.run(answer("/ws-refused")) == 403
    # uvicorn and hypercorn answer an app that raised before accepting with 500, granian with
    # 403; the record says 500 and names the exception, as for HTTP.
    assert asyncio.run(answer("/ws-broken")) == (403 if server.name == "granian" else 500)
    server.stop()
    records = {r[schema.URL_PATH]: r for r in server.records()}
    assert records["/ws-refused"][schema.STATUS_CODE] == 403
    assert schema.ERROR_TYPE not in records["/ws-refused"]
    assert records["/ws-broken"][schema.STATUS_CODE] == 500
    assert records["/ws-broken"][schema.ERROR_TYPE] == "RuntimeError"
    assert len(records) == 2


async def _websocket_roundtrip(port: int) -> None:
    import websockets

    async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as ws:
        await ws.send("hello")
        assert await ws.recv() == "hello"
        await asyncio.sleep(0.05)


def test_sigterm_under_load_loses_no_record(server: Server) -> None:
    answered: list[str] = []
    stop = threading.Event()

    def load(worker: int) -> None:
        with httpx.Client(base_url=server.base, timeout=5) as client:
            for i in range(100_000):
                if stop.is_set():
                    return
                rid = f"load-{worker}-{i}"
                try:
                    response = client.get("/products/5", headers={"x-request-id": rid})
                except httpx.HTTPError:
                    return
                if response.status_code == 200:
                    answered.append(rid)

    threads = [threading.Thread(target=load, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    server.process.send_signal(signal.SIGTERM)
    for thread in threads:
        thread.join(timeout=20)
    stop.set()
    server.stop()
    logged = [r[schema.REQUEST_ID] for r in server.records()]
    assert len(answered) > 50
    assert len(logged) == len(set(logged))
    assert set(answered) <= set(logged), (
        f"{len(set(answered) - set(logged))} answered requests lost"
    )
