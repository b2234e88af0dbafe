"""The sinks under a real server: a slow receiver must not slow requests, and a soak loses nothing.

    python bench/bench_sinks.py                        # both benchmarks, 60 s soak
    python bench/bench_sinks.py --rounds 2             # slow receiver twice (a, b, a, b)
    python bench/bench_sinks.py --skip-soak            # slow receiver only
    python bench/bench_sinks.py --skip-slow --soak-seconds 20

Both start uvicorn (one worker, ``--no-access-log --no-proxy-headers``) on a generated module
that serves the app of ``bench_middleware`` wrapped in passivelog with the sink under test, and
drive it with ``wrk`` (Debian package ``wrk``) sending the same realistic headers.

Slow receiver: the same load, ``wrk --latency`` with a fixed number of connections, against
(a) a FileSink on a temporary directory and (b) a SyslogSink over TCP to a receiver in this
process that reads 4 KB and then sleeps 50 ms, so it takes far fewer records than the server
makes. Both run with ``overflow="drop"``: the queue stays bounded and the losses are counted.
Target: p99(b) <= 1.10 x p99(a), with the server's memory bounded.

Soak: full rate for ``--soak-seconds`` with a FileSink (``overflow="block"``, nothing dropped).
After wrk has exited the server gets SIGTERM; the records in the file are then counted and
compared with the responses wrk reports. Target: records == responses and no errors. wrk counts
only the responses it read before it stopped, while the server logs every request it received,
so up to one request per connection in flight at the stop may show as extra records.

The server's counters come from a route of the generated app, ``/__stats`` (not logged), which
returns ``json.dumps`` of the middleware's ``stats()``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench_middleware import HEADERS, ROOT, SECRET, hello
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from passivelog import PassiveLogMiddleware
from passivelog.demo import free_port
from passivelog.sinks import FileSink, Sink, SyslogSink

STATS_PATH = "/__stats"
TARGET_PATH = "/products/42?utm_source=news&page=2"
P99_TARGET = 1.10

SERVER_APP = """
import sys
sys.path.insert(0, {src!r}); sys.path.insert(0, {bench!r})
from bench_sinks import build_app
app = build_app()
"""


# ---------------------------------------------------------------------------- the served app
def stats_of(middleware: PassiveLogMiddleware) -> dict[str, Any]:
    stats = middleware.stats()
    return {
        "internal_errors": stats["internal_errors"],
        "sinks": {name: dataclasses.asdict(s) for name, s in stats["sinks"].items()},
    }


def build_app() -> PassiveLogMiddleware:
    """The app the server runs; the sink and queue options come from ``BENCH_*`` variables."""
    kind, _, where = os.environ["BENCH_SINK"].partition(":")
    sink: Sink
    if kind == "file":
        sink = FileSink(where, name="file")
    elif kind == "syslog":
        sink = SyslogSink(f"tcp://127.0.0.1:{where}", name="syslog")
    else:
        raise ValueError(f"unknown BENCH_SINK {kind!r}")

    async def stats(request: Request) -> Response:
        return Response(json.dumps(stats_of(middleware)), media_type="application/json")

    app = Starlette(
        routes=[Route("/", hello), Route("/products/{pid}", hello), Route(STATS_PATH, stats)]
    )
    middleware = PassiveLogMiddleware(
        app,
        secret=SECRET,
        trusted_proxies=["127.0.0.1"],
        sinks=[sink],
        overflow=os.environ.get("BENCH_OVERFLOW", "block"),
        queue_size=int(os.environ.get("BENCH_QUEUE_SIZE", "10000")),
        exclude_paths=[STATS_PATH],
    )
    return middleware


# ---------------------------------------------------------------------------- slow receiver
class SlowReceiver:
    """A TCP server on 127.0.0.1 that reads ``chunk`` bytes, then sleeps ``pause`` seconds.

    Its receive buffer is kept small so that the slowness reaches the sender within a second
    instead of after megabytes of kernel buffering. Counts bytes and octet-counted frames.
    """

    def __init__(self, chunk: int = 4096, pause: float = 0.05, rcvbuf: int = 16_384) -> None:
        self.chunk = chunk
        self.pause = pause
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Set before listen() so that accepted sockets inherit it (and skip autotuning).
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.connections = 0
        self.bytes = 0
        self.frames = 0
        self.stopping = threading.Event()
        threading.Thread(target=self._accept, name="slow-receiver", daemon=True).start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        pending = b""
        with conn:
            while not self.stopping.is_set():
                try:
                    data = conn.recv(self.chunk)
                except OSError:
                    return
                if not data:
                    return  # the sender half-closed: closing in turn confirms delivery
                pending += data
                frames = 0
                while (space := pending.find(b" ", 0, 12)) > 0:
                    end = space + 1 + int(pending[:space])
                    if len(pending) < end:
                        break
                    pending = pending[end:]
                    frames += 1
                with self.lock:
                    self.bytes += len(data)
                    self.frames += frames
                time.sleep(self.pause)

    def report(self) -> dict[str, Any]:
        with self.lock:
            return {
                "connections": self.connections,
                "bytes_read": self.bytes,
                "records_read": self.frames,
                "read_rate_kb_s": round(self.chunk / self.pause / 1024, 1),
            }

    def stop(self) -> None:
        self.stopping.set()
        self.listener.close()


# ---------------------------------------------------------------------------- server and wrk
def rss_mb(pid: int) -> dict[str, float]:
    """Resident memory now and at its peak (VmHWM) of process ``pid``, in MB."""
    values: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values["rss_mb" if key == "VmRSS" else "peak_rss_mb"] = round(
                    int(rest.split()[0]) / 1024, 1
                )
    return values


class Server:
    """uvicorn with one worker serving :func:`build_app` on a free port."""

    def __init__(self, workdir: Path, sink: str, overflow: str, queue_size: int) -> None:
        self.port = free_port()
        self.log_path = workdir / f"uvicorn-{self.port}.log"
        env = dict(
            os.environ,
            BENCH_SINK=sink,
            BENCH_OVERFLOW=overflow,
            BENCH_QUEUE_SIZE=str(queue_size),
            PYTHONPATH=str(workdir),
        )
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "benchsinksapp:app",
            "--port",
            str(self.port),
            "--no-access-log",
            "--no-proxy-headers",
            "--log-level",
            "warning",
        ]
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                cmd, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT
            )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited early:\n{self.log_path.read_text()}")
            try:
                self.stats()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("uvicorn did not answer within 30 s") from None
                time.sleep(0.1)

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + STATS_PATH, timeout=5) as response:
            result: dict[str, Any] = json.loads(response.read())
        return result

    def rss(self) -> dict[str, float]:
        return rss_mb(self.proc.pid)

    def stop(self, timeout: float = 60) -> dict[str, Any]:
        """SIGTERM, then wait; returns the exit code, the time taken and passivelog's warnings."""
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        lines = self.log_path.read_text().splitlines()
        return {
            "exit_code": code,
            "shutdown_s": round(time.monotonic() - start, 2),
            "log": [line for line in lines if "passivelog" in line or "Error" in line][-5:],
        }


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_DURATION = re.compile(r"([\d.]+)(us|ms|s|m|h)$")


def _ms(text: str) -> float:
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"unexpected wrk duration {text!r}")
    return round(float(match.group(1)) * _UNITS[match.group(2)], 3)


def parse_wrk(output: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "responses": None,
        "requests_per_s": None,
        "socket_errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0},
        "non_2xx_3xx": 0,
    }
    latency: dict[str, float] = {}
    for raw in output.splitlines():
        line = raw.strip()
        if match := re.match(r"(\d+) requests in ([\d.]+\w+)", line):
            result["responses"] = int(match.group(1))
            result["elapsed"] = match.group(2)
        elif match := re.match(r"(50|75|90|99)%\s+(\S+)$", line):
            latency[f"p{match.group(1)}_ms"] = _ms(match.group(2))
        elif line.startswith("Socket errors:"):
            for name, count in re.findall(r"(\w+) (\d+)", line):
                result["socket_errors"][name] = int(count)
        elif line.startswith("Non-2xx or 3xx responses:"):
            result["non_2xx_3xx"] = int(line.split(":")[1])
        elif line.startswith("Requests/sec:"):
            result["requests_per_s"] = float(line.split(":")[1])
    if latency:
        result["latency"] = latency
    return result


class RssSampler:
    """Samples a process's resident memory once a second while a run goes on."""

    def __init__(self, pid: int, every: float = 1.0) -> None:
        self.samples: list[float] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(pid, every), daemon=True)
        self.thread.start()

    def _run(self, pid: int, every: float) -> None:
        while not self.done.wait(every):
            try:
                self.samples.append(rss_mb(pid)["rss_mb"])
            except OSError:
                return

    def stop(self) -> list[float]:
        self.done.set()
        self.thread.join()
        return self.samples


def headers_lua(workdir: Path) -> Path:
    lua = workdir / "headers.lua"
    lua.write_text(
        "".join(
            f'wrk.headers["{k.decode()}"] = "{v.decode()}"\n' for k, v in HEADERS if k != b"host"
        )
    )
    return lua


def run_wrk(
    server: Server, lua: Path, connections: int, seconds: int, latency: bool = False
) -> dict[str, Any]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(lua)]
    if latency:
        cmd.append("--latency")
    done = subprocess.run(
        [*cmd, server.url + TARGET_PATH], capture_output=True, text=True, check=True
    )
    return parse_wrk(done.stdout)


def workdir_for(tmp: str) -> Path:
    workdir = Path(tmp)
    (workdir / "benchsinksapp.py").write_text(
        SERVER_APP.format(src=str(ROOT / "src"), bench=str(ROOT / "bench"))
    )
    return workdir


# ---------------------------------------------------------------------------- 1. slow receiver
def slow_variant(workdir: Path, lua: Path, label: str, args: argparse.Namespace) -> dict[str, Any]:
    receiver = SlowReceiver(chunk=args.read_bytes, pause=args.read_pause) if label == "b" else None
    if receiver is not None:
        sink = f"syslog:{receiver.port}"
    else:
        sink = f"file:{workdir / f'slow-{label}-{time.monotonic_ns()}.jsonl'}"
    server = Server(workdir, sink, overflow="drop", queue_size=args.queue_size)
    row: dict[str, Any] = {"sink": "SyslogSink tcp, slow receiver" if receiver else "FileSink"}
    try:
        row["rss_idle"] = server.rss()
        run_wrk(server, lua, args.connections, args.warmup_seconds)
        row["rss_before"] = server.rss()
        row["stats_before"] = server.stats()["sinks"]
        sampler = RssSampler(server.proc.pid)
        row["wrk"] = run_wrk(server, lua, args.connections, args.seconds, latency=True)
        row["rss_mb_each_second"] = sampler.stop()
        row["rss_after"] = server.rss()
        row["stats_after"] = server.stats()
        if receiver is not None:
            row["receiver_before_sigterm"] = receiver.report()
    finally:
        row["shutdown"] = server.stop()
        if receiver is not None:
            row["receiver"] = receiver.report()
            receiver.stop()
    return row


def slow_receiver(args: argparse.Namespace) -> dict[str, Any]:
    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = workdir_for(tmp)
        lua = headers_lua(workdir)
        for _ in range(args.rounds):
            result = {label: slow_variant(workdir, lua, label, args) for label in ("a", "b")}
            a, b = (result[k]["wrk"]["latency"] for k in ("a", "b"))
            result["p50_ratio_b_over_a"] = round(b["p50_ms"] / a["p50_ms"], 3)
            result["p99_ratio_b_over_a"] = round(b["p99_ms"] / a["p99_ms"], 3)
            rounds.append(result)
    ratios = [r["p99_ratio_b_over_a"] for r in rounds]
    return {
        "connections": args.connections,
        "seconds": args.seconds,
        "queue_size": args.queue_size,
        "overflow": "drop",
        "rounds": rounds,
        "p99_ratio_b_over_a_median": round(statistics.median(ratios), 3),
        "target": f"p99(b) <= {P99_TARGET} x p99(a)",
        "target_met": statistics.median(ratios) <= P99_TARGET,
    }


# ---------------------------------------------------------------------------- 2. soak
def count_records(path: Path) -> dict[str, Any]:
    access = self_records = not_success = ok = 0
    with open(path, "rb") as fh:
        for line in fh:
            record = json.loads(line)
            if record.get("event.dataset") == "passivelog.access":
                access += 1
                ok += record.get("http.response.status_code") == 200
                not_success += record.get("event.outcome") != "success"
            else:
                self_records += 1
    return {"access": access, "status_200": ok, "not_success": not_success, "self": self_records}


def soak(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = workdir_for(tmp)
        lua = headers_lua(workdir)
        log = workdir / "soak.jsonl"
        server = Server(workdir, f"file:{log}", overflow="block", queue_size=args.queue_size)
        try:
            rss_before = server.rss()
            sampler = RssSampler(server.proc.pid, every=10.0)
            result = run_wrk(server, lua, args.connections, args.soak_seconds)
            rss_every_10s = sampler.stop()
            rss_after = server.rss()
            stats = server.stats()
        finally:
            # Only after wrk has exited: whatever wrk sent has reached the server by now.
            shutdown = server.stop()
        records = count_records(log) if log.exists() else {"access": 0}
    responses = result["responses"]
    errors = sum(result["socket_errors"].values()) + result["non_2xx_3xx"]
    return {
        "seconds": args.soak_seconds,
        "connections": args.connections,
        "overflow": "block",
        "wrk": result,
        "records_in_file": records,
        "responses": responses,
        "records_minus_responses": records["access"] - responses,
        # Every request the server handled, in-flight ones at wrk's stop included.
        "records_minus_server_emitted": records["access"]
        - sum(s["emitted"] for s in stats["sinks"].values()),
        "stats_before_sigterm": stats,
        "rss_before": rss_before,
        "rss_after": rss_after,
        "rss_mb_every_10s": rss_every_10s,
        "shutdown": shutdown,
        "target": "records == responses, zero errors",
        "target_met": records["access"] == responses and errors == 0,
        "within_in_flight": 0 <= records["access"] - responses <= args.connections and errors == 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10, help="slow receiver: wrk duration")
    parser.add_argument("--warmup-seconds", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="slow receiver: a/b pairs")
    parser.add_argument("--queue-size", type=int, default=10_000)
    parser.add_argument("--read-bytes", type=int, default=4096)
    parser.add_argument("--read-pause", type=float, default=0.05)
    parser.add_argument("--soak-seconds", type=int, default=60)
    parser.add_argument("--skip-slow", action="store_true")
    parser.add_argument("--skip-soak", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian package wrk)")
    report: dict[str, Any] = {"cpus": os.cpu_count(), "load_average": os.getloadavg()}
    if not args.skip_slow:
        report["slow_receiver"] = slow_receiver(args)
    if not args.skip_soak:
        report["soak"] = soak(args)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
