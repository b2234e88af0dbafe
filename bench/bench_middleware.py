"""What passivelog costs per request, against a bare app measured in the same run.

    python bench/bench_middleware.py                 # in-process loop + uvicorn under wrk
    python bench/bench_middleware.py --skip-wrk      # in-process only
    python bench/bench_middleware.py --memory 1000000
    python bench/bench_middleware.py --skip-in-process --skip-wrk --instructions

Every variant serves the same realistic request: desktop Chrome, four cookies (a session id and
`_ga` among them), a Referer with a query string, and X-Forwarded-For from a trusted proxy.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import structlog
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from passivelog import PassiveLogMiddleware  # noqa: E402
from passivelog.demo import free_port  # noqa: E402

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
HEADERS = [
    (b"host", b"shop.example"),
    (b"user-agent", CHROME.encode()),
    (b"accept", b"text/html,application/xhtml+xml"),
    (b"accept-language", b"en-GB,en;q=0.9"),
    (b"cookie", b"sessionid=7f3a9c2e1b; _ga=GA1.1.123456789.1700000000; theme=dark; cart=3"),
    (
        b"referer",
        b"https://www.example.org/search?q=winter+boots&page=2&utm_source=news&sort=price&lang=en",
    ),
    (b"x-forwarded-for", b"8.8.8.8"),
]
SECRET = "bench-secret-0123456789abcdef"


async def hello(request: Any) -> PlainTextResponse:
    return PlainTextResponse("hello, world")


def bare_app() -> Starlette:
    return Starlette(routes=[Route("/", hello), Route("/products/{pid}", hello)])


async def ad_page(request: Any) -> PlainTextResponse:
    # A page that would leave out its ad tags for visitors who opted out: it reads the decision,
    # so passivelog adds Vary to its responses.
    opted_out = request.state.passivelog_opt_out.opted_out
    return PlainTextResponse("hello, world" if opted_out else "hello, ad")


def ad_page_app() -> Starlette:
    return Starlette(routes=[Route("/", ad_page), Route("/products/{pid}", ad_page)])


class StructlogAccessLog:
    """A plain pure-ASGI access log: one structlog JSON line (orjson) per request."""

    def __init__(self, app: Any, stream: Any) -> None:
        self.app = app
        self.log = structlog.wrap_logger(
            structlog.BytesLogger(stream),
            processors=[
                structlog.processors.TimeStamper(fmt="iso"),
                structlog.processors.JSONRenderer(serializer=_orjson_dumps),
            ],
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter_ns()
        status = 0

        async def wrapped(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, wrapped)
        finally:
            client = scope.get("client")
            self.log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                query=scope["query_string"].decode("latin-1"),
                status=status,
                client=client[0] if client else None,
                duration=time.perf_counter_ns() - start,
            )


def _orjson_dumps(obj: Any, **_: Any) -> bytes:
    import orjson

    return orjson.dumps(obj)


def devnull(mode: str = "w") -> Any:
    return open(os.devnull, mode)


def _passivelog(app: Any = None, **changes: Any) -> PassiveLogMiddleware:
    options: dict[str, Any] = {
        "secret": SECRET,
        "trusted_proxies": ["127.0.0.1"],
        "output": devnull(),
    }
    geo_db = os.environ.get("PASSIVELOG_BENCH_GEO_DB")
    if geo_db:
        options["geo_db"] = geo_db
    return PassiveLogMiddleware(app or bare_app(), **{**options, **changes})


VARIANTS: dict[str, Callable[[], Any]] = {
    "bare": bare_app,
    "structlog-json": lambda: StructlogAccessLog(bare_app(), devnull("wb")),
    "passivelog": _passivelog,
    # The same without opt-out handling: the difference is what the opt-out logic costs.
    "passivelog-no-opt-out": lambda: _passivelog(opt_out=False),
    # A page that reads the opt-out decision, whose responses therefore carry Vary.
    "passivelog-ad-page": lambda: _passivelog(ad_page_app()),
}
# Measured in process only when asked for (they split passivelog's cost).
_SPLIT_VARIANTS = ("passivelog-no-opt-out", "passivelog-ad-page")


def variants(with_opt_out_variant: bool = False) -> dict[str, Any]:
    return {
        name: make()
        for name, make in VARIANTS.items()
        if with_opt_out_variant or name not in _SPLIT_VARIANTS
    }


# Referrers a site's pages see: same-site pages in full, other sites as their origin only
# (browsers' default strict-origin-when-cross-origin policy sends nothing more across sites).
REFERRERS = [
    b"https://www.google.com/",
    b"https://www.bing.com/",
    b"https://duckduckgo.com/",
    b"https://t.co/",
    b"https://www.facebook.com/",
    b"https://shop.example/",
    b"https://shop.example/search?q=winter+boots&page=2",
    b"https://shop.example/products/41",
    b"https://shop.example/cart",
    b"https://shop.example/category/shoes?sort=price&lang=en",
]

# What changes from one request to the next:
#   "warm"     the same visitor and page every time: every cache hits;
#   "visitors" a never-seen UA, client IP and session cookie on every request (a new visitor),
#              coming from one of the referrers above: the visitor's facts are worked out anew;
#   "all"      as "visitors", and a never-seen referrer with a query string too: every cache
#              misses, the scrubber included.
MODES = ("warm", "visitors", "all")


def scope_for(i: int, mode: str) -> dict[str, Any]:
    headers = HEADERS
    if mode != "warm":
        ip = f"{(i >> 16) % 200 + 11}.{(i >> 8) & 255}.{i & 255}.{(i * 7) % 250 + 1}"
        if mode == "all":
            referrer = f"https://www.example.org/search?q=boots{i}&page=2&utm_source=news".encode()
        else:
            referrer = REFERRERS[i % len(REFERRERS)]
        headers = [
            (b"host", b"shop.example"),
            (b"user-agent", CHROME.replace("126.0.0.0", f"126.0.{i // 1000}.{i % 1000}").encode()),
            (b"accept", b"text/html"),
            (
                b"cookie",
                f"sessionid=s{i:08d}; _ga=GA1.1.{i}.1700000000; theme=dark; cart=3".encode(),
            ),
            (b"referer", referrer),
            (b"x-forwarded-for", ip.encode()),
        ]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/products/42",
        "raw_path": b"/products/42",
        "query_string": b"utm_source=news&page=2",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Any) -> None:
    return None


async def run_loop(app: Any, n: int, mode: str, offset: int = 0) -> float:
    scopes = [scope_for(offset + i, mode) for i in range(n)] if mode != "warm" else None
    fixed = scope_for(0, "warm")
    # CPU time of the whole process (the sink writer thread included), so that other load on the
    # machine does not count and work moved to a background thread still does.
    start = time.process_time_ns()
    for i in range(n):
        scope = scopes[i] if scopes is not None else dict(fixed)
        await app(scope, _receive, _send)
    if isinstance(app, PassiveLogMiddleware):
        app.flush()
    return (time.process_time_ns() - start) / n / 1000


LABELS = {
    "warm": "warm caches",
    "visitors": "a never-seen UA, IP and cookie",
    "all": "never-seen UA, IP, cookie and referrer",
}


def in_process(n: int, rounds: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for mode in MODES:
        apps = variants(with_opt_out_variant=True)
        samples: dict[str, list[float]] = {name: [] for name in apps}
        for app in apps.values():
            asyncio.run(run_loop(app, 2000, mode, offset=10_000_000))  # warm up
        for r in range(rounds):
            for name, app in apps.items():
                gc.collect()
                samples[name].append(asyncio.run(run_loop(app, n, mode, offset=r * n)))
        for app in apps.values():
            if isinstance(app, PassiveLogMiddleware):
                app.close()
        bare = statistics.median(samples["bare"])
        results[LABELS[mode]] = {
            name: {
                "us_per_request": round(statistics.median(s), 2),
                "added_us": round(statistics.median(s) - bare, 2),
                "ratio": round(statistics.median(s) / bare, 2),
            }
            for name, s in samples.items()
        }
    return results


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory(total: int) -> dict[str, float]:
    app = VARIANTS["passivelog"]()

    async def go() -> dict[str, float]:
        chunk = 10_000
        await run_loop(app, chunk, "all", offset=0)
        gc.collect()
        warm = rss_mb()
        done = chunk
        while done < total:
            await run_loop(app, chunk, "all", offset=done)
            done += chunk
        gc.collect()
        return {
            "requests": done,
            "warm_rss_mb": round(warm, 1),
            "final_rss_mb": round(rss_mb(), 1),
            "growth_mb": round(rss_mb() - warm, 1),
        }

    result = asyncio.run(go())
    app.close()
    return result


SERVER_APP = """
import os, sys
sys.path.insert(0, {src!r}); sys.path.insert(0, {bench!r})
from bench_middleware import VARIANTS
# Only the variant served is built, as a real server holds one app: with the others built
# beside it, passivelog's counted instructions per request came out 5 % higher.
app = VARIANTS[os.environ["BENCH_VARIANT"]]()
"""


WRK_RUNS = [
    # (label, variant served, uvicorn's own access log on)
    ("bare", "bare", False),
    ("passivelog", "passivelog", False),
    ("structlog-json", "structlog-json", False),
    ("uvicorn-access-log", "bare", True),
]
# Counted by callgrind too: what a page that reads the decision costs, Vary included (mostly in
# the server's writing one more header).
INSTRUCTION_RUNS = [*WRK_RUNS, ("passivelog-ad-page", "passivelog-ad-page", False)]


def _write_server_app(tmp: str) -> None:
    Path(tmp, "benchapp.py").write_text(
        SERVER_APP.format(src=str(ROOT / "src"), bench=str(ROOT / "bench"))
    )


def _server_command(port: int, access_log: bool) -> list[str]:
    cmd = [sys.executable, "-m", "uvicorn", "benchapp:app", "--port", str(port)]
    cmd += ["--no-proxy-headers"]
    if not access_log:
        # Quiet start-up messages; with the access log the default level ("info") stays, as
        # "warning" would filter out the access lines themselves.
        cmd += ["--no-access-log", "--log-level", "warning"]
    return cmd


def _serve(
    tmp: str, port: int, variant: str, access_log: bool, wrapper: Sequence[str] = ()
) -> subprocess.Popen[bytes]:
    # ``wrapper``: a command the server runs under (valgrind).
    env = dict(os.environ, BENCH_VARIANT=variant, PYTHONPATH=tmp)
    return subprocess.Popen(
        [*wrapper, *_server_command(port, access_log)],
        env=env,
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _cpu_seconds(pid: int) -> float:
    # utime + stime of the server process, all threads (proc(5), /proc/pid/stat fields 14, 15).
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _requests(lua: Path, port: int, seconds: int, connections: int) -> tuple[int, float]:
    done = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "-s",
            str(lua),
            f"http://127.0.0.1:{port}/products/42?utm_source=news&page=2",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    count = next(int(line.split()[0]) for line in lines if " requests in " in line)
    rate = next(float(line.split()[1]) for line in lines if line.startswith("Requests/sec"))
    return count, rate


def wrk(duration: int, connections: int, rounds: int = 5) -> dict[str, Any]:
    """Throughput under uvicorn, one worker, driven by wrk on the same machine.

    All servers run at once; each round drives each of them for ``duration`` seconds in turn,
    and a variant's ratio to bare is taken within the round, then the median over rounds: the
    machine's speed drifts by more than the differences measured here between runs minutes
    apart. Besides requests per second, the server's own CPU time per request is reported
    (all its threads), which the load generator sharing the machine disturbs less.
    """
    if shutil.which("wrk") is None:
        return {"skipped": "wrk is not installed (Debian package wrk)"}
    rps: dict[str, list[float]] = {label: [] for label, _, _ in WRK_RUNS}
    cpu_us: dict[str, list[float]] = {label: [] for label, _, _ in WRK_RUNS}
    with tempfile.TemporaryDirectory() as tmp:
        _write_server_app(tmp)
        lua = Path(tmp, "headers.lua")
        lua.write_text(
            "".join(
                f'wrk.headers["{k.decode()}"] = "{v.decode()}"\n'
                for k, v in HEADERS
                if k != b"host"
            )
        )
        ports: list[int] = []
        while len(ports) < len(WRK_RUNS):
            port = free_port()
            if port not in ports:
                ports.append(port)
        servers = {
            label: (_serve(tmp, port, variant, access_log), port)
            for port, (label, variant, access_log) in zip(ports, WRK_RUNS, strict=True)
        }
        try:
            time.sleep(2.0)
            for _, port in servers.values():
                _requests(lua, port, 2, connections)  # warm up
            for _ in range(rounds):
                for label, (proc, port) in servers.items():
                    before = _cpu_seconds(proc.pid)
                    count, rate = _requests(lua, port, duration, connections)
                    cpu_us[label].append((_cpu_seconds(proc.pid) - before) / count * 1e6)
                    rps[label].append(rate)
        finally:
            for proc, _ in servers.values():
                proc.send_signal(signal.SIGINT)
            for proc, _ in servers.values():
                proc.wait(timeout=15)
    results: dict[str, Any] = {}
    for label, values in rps.items():
        ratios = [value / bare for value, bare in zip(values, rps["bare"], strict=True)]
        results[label] = {
            "requests_per_s": round(statistics.median(values)),
            "ratio_to_bare": round(statistics.median(ratios), 3),
            "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)],
            "server_cpu_us_per_request": round(statistics.median(cpu_us[label]), 1),
        }
    vs_access_log = [
        p / a for p, a in zip(rps["passivelog"], rps["uvicorn-access-log"], strict=True)
    ]
    results["passivelog_vs_uvicorn_access_log"] = round(statistics.median(vs_access_log), 2)
    return results


def _send_requests(port: int, count: int, connections: int) -> int:
    # A fixed number of requests (wrk runs for a time, not a count), over keep-alive connections,
    # each waiting for its response before sending the next. Returns how many were sent.
    request = (
        b"GET /products/42?utm_source=news&page=2 HTTP/1.1\r\n"
        + b"".join(name + b": " + value + b"\r\n" for name, value in HEADERS)
        + b"\r\n"
    )

    def client(n: int) -> None:
        with socket.create_connection(("127.0.0.1", port)) as sock, sock.makefile("rb") as rfile:
            for _ in range(n):
                sock.sendall(request)
                length = 0
                while (line := rfile.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                rfile.read(length)

    threads = [
        threading.Thread(target=client, args=(count // connections,)) for _ in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return count // connections * connections


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the server did not listen on port {port} within {seconds:.0f} s")


def instructions(count: int, connections: int = 1) -> dict[str, Any]:
    """Instructions the uvicorn server executes per request, counted by valgrind's callgrind.

    Throughput on a shared virtual machine moves by several percent from one run to the next; the
    number of instructions a request takes hardly moves (repeated runs of 2,000 requests agree to
    within 0.3 %). It leaves out what the instructions cost (cache misses, mispredicted branches),
    so it complements the wrk figures rather than replacing them. Each variant's server runs under
    callgrind; after 400 warm-up requests its counters are zeroed, ``count`` requests are sent
    and the counters are dumped. One connection by default: with several, how many requests one
    turn of the event loop serves depends on timing, and the count varies by ~1 %.
    """
    valgrind, control = shutil.which("valgrind"), shutil.which("callgrind_control")
    if valgrind is None or control is None:
        return {"skipped": "valgrind is not installed (Debian package valgrind)"}
    per_request: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        _write_server_app(tmp)
        for label, variant, access_log in INSTRUCTION_RUNS:
            port = free_port()
            out = Path(tmp, f"callgrind.{label}")
            wrapper = [valgrind, "--tool=callgrind", f"--callgrind-out-file={out}"]
            proc = _serve(tmp, port, variant, access_log, wrapper)
            try:
                _wait_for_port(port, proc, 180)
                _send_requests(port, 400, connections)
                subprocess.run([control, "-z", str(proc.pid)], check=True, capture_output=True)
                sent = _send_requests(port, count, connections)
                subprocess.run([control, "-d", str(proc.pid)], check=True, capture_output=True)
            finally:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=120)
            # The dump requested above is the file with the lowest part number (out.1).
            dump = min(Path(tmp).glob(f"{out.name}.*"), key=lambda p: int(p.suffix[1:]))
            totals = next(
                line.split()[1]
                for line in dump.read_text().splitlines()
                if line.startswith(("summary:", "totals:"))
            )
            per_request[label] = int(totals) / sent
    bare = per_request["bare"]
    return {
        label: {
            "instructions_per_request": round(value),
            "added": round(value - bare),
            "bare_over_variant": round(bare / value, 3),
        }
        for label, value in per_request.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--skip-wrk", action="store_true")
    parser.add_argument("--wrk-seconds", type=int, default=3)
    parser.add_argument("--wrk-rounds", type=int, default=7)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--memory", type=int, default=0, metavar="N")
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument(
        "--instructions",
        type=int,
        nargs="?",
        const=2000,
        default=0,
        metavar="N",
        help="count the uvicorn server's instructions per request over N requests (valgrind)",
    )
    args = parser.parse_args()
    report: dict[str, Any] = {}
    if not args.skip_in_process:
        report["in_process"] = in_process(args.requests, args.rounds)
    if not args.skip_wrk:
        report["uvicorn_wrk"] = wrk(args.wrk_seconds, args.connections, args.wrk_rounds)
    if args.instructions:
        report["uvicorn_instructions"] = instructions(args.instructions)
    if args.memory:
        report["memory"] = memory(args.memory)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
