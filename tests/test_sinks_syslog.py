"""The syslog sink: RFC 5424 messages, octet-counted TCP, datagrams, and a real rsyslog.

The ``receivers`` tests start private rsyslogd instances on loopback high ports (config, output
and pid file under ``tmp_path``), never the system service.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from passivelog import schema
from passivelog.sinks import SELF_DATASET, Dispatcher, SyslogSink

from .test_fork import NO_FORK, through_a_fork
from .test_sinks import accepting, free_port, make_record, wait_until

RSYSLOGD = shutil.which("rsyslogd") or shutil.which(
    "rsyslogd", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
)
NO_RSYSLOG = "rsyslogd is not installed (Debian: apt-get install rsyslog)"

HEADER = re.compile(
    rb"<(?P<pri>\d{1,3})>1 (?P<timestamp>\S+) (?P<hostname>\S+) (?P<app>\S+) (?P<procid>\S+) "
    rb"(?P<msgid>\S+) - "
)


def parse_frames(data: bytes) -> list[bytes]:
    """Split an RFC 6587 octet-counted stream into messages; fail on anything else."""
    messages, position = [], 0
    while position < len(data):
        space = data.index(b" ", position)
        length = int(data[position:space])
        messages.append(data[space + 1 : space + 1 + length])
        position = space + 1 + length
    assert position == len(data), "the stream ends in the middle of a frame"
    return messages


def body(message: bytes) -> dict[str, Any]:
    match = HEADER.match(message)
    assert match, message[:120]
    loaded: dict[str, Any] = json.loads(message[match.end() :])
    return loaded


# ---------------------------------------------------------------------- messages


def test_message_is_rfc5424_with_the_record_as_json_msg() -> None:
    sink = SyslogSink("udp://127.0.0.1:514", app_name="shop", facility="local0", hostname="web-1")
    message = sink.format(make_record(1))
    match = HEADER.match(message)
    assert match is not None
    assert int(match["pri"]) == 16 * 8 + 6  # local0.info
    assert match["timestamp"] == b"2026-11-29T22:18:55.001Z"
    assert (match["hostname"], match["app"]) == (b"web-1", b"shop")
    assert match["procid"] == str(os.getpid()).encode()
    assert match["msgid"] == b"passivelog.access"
    msg = message[match.end() :]
    assert not msg.startswith(b"\xef\xbb\xbf"), "no BOM: MSG is JSON (RFC 8259 8.1)"
    assert json.loads(msg) == make_record(1)
    assert b"\n" not in message


def test_self_records_are_warnings() -> None:
    sink = SyslogSink("udp://127.0.0.1:514")
    record = {schema.MESSAGE: "lost", schema.EVENT_DATASET: SELF_DATASET}
    match = HEADER.match(sink.format(record))
    assert match is not None
    assert int(match["pri"]) == 1 * 8 + 4  # user.warning
    assert match["msgid"] == b"passivelog.self"


def test_a_malformed_timestamp_is_replaced_by_the_current_time() -> None:
    sink = SyslogSink("udp://127.0.0.1:514")
    message = sink.format({schema.TIMESTAMP: "yesterday at noon", schema.MESSAGE: "x"})
    match = HEADER.match(message)
    assert match is not None
    assert re.fullmatch(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", match["timestamp"])
    assert json.loads(message[match.end() :])[schema.TIMESTAMP] == "yesterday at noon"


def test_otel_schema_names_in_the_msg() -> None:
    sink = SyslogSink("udp://127.0.0.1:514", schema="otel")
    written = body(sink.format(make_record(1)))
    assert written["client.address"] == "203.0.113.0"
    assert schema.CLIENT_IP not in written


@pytest.mark.parametrize(
    ("address", "options", "message"),
    [
        ("127.0.0.1:514", {}, "is not valid"),
        ("http://127.0.0.1:514", {}, "is not valid"),
        ("tcp://127.0.0.1:70000", {}, "out of range"),
        ("unix://host/dev/log", {}, "is not valid"),
        ("udp://127.0.0.1", {"app_name": "my app"}, "app_name must be"),
        ("udp://127.0.0.1", {"app_name": "a" * 49}, "app_name must be"),
        ("udp://127.0.0.1", {"hostname": ""}, "hostname must be"),
        ("udp://127.0.0.1", {"facility": "local8"}, "facility must be"),
        ("udp://127.0.0.1", {"facility": 24}, "facility must be"),
        ("udp://127.0.0.1", {"max_udp": 70_000}, "max_udp must be"),
        ("udp://127.0.0.1", {"max_udp": 500}, "max_udp must be"),
        ("udp://127.0.0.1", {"schema": "gelf"}, "schema must be"),
        ("udp://127.0.0.1", {"timeout": 0}, "timeout must be"),
    ],
    ids=lambda value: str(value),
)
def test_bad_configuration_is_rejected(address: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SyslogSink(address, **options)


# ---------------------------------------------------------------------- loopback receivers


class TcpReceiver:
    """Accepts connections and keeps the bytes of each; can cut the current connection."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.connections: list[bytearray] = []
        self.current: socket.socket | None = None
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            received = bytearray()
            with self.lock:
                self.connections.append(received)
                self.current = conn
            with conn:
                conn.settimeout(0.05)
                while not self.stopping.is_set():
                    try:
                        chunk = conn.recv(65536)
                    except TimeoutError:
                        continue
                    except OSError:
                        break
                    if not chunk:
                        break
                    received += chunk

    def cut(self) -> None:
        with self.lock:
            if self.current is not None:
                self.current.shutdown(socket.SHUT_RDWR)
                self.current = None

    @property
    def messages(self) -> list[bytes]:
        with self.lock:
            return [m for data in self.connections for m in parse_frames(bytes(data))]

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.listener.close()


@pytest.fixture
def tcp_receiver() -> Iterator[TcpReceiver]:
    receiver = TcpReceiver()
    yield receiver
    receiver.close()


def test_tcp_frames_by_octet_counting(tcp_receiver: TcpReceiver) -> None:
    sink = SyslogSink(f"tcp://127.0.0.1:{tcp_receiver.port}")
    records = [make_record(i, size=1000 * i) for i in range(1, 6)]
    sink.write_batch(records[:2])
    sink.write_batch(records[2:])
    sink.close()  # waits for the receiver to close its side: everything was read
    assert [body(m) for m in tcp_receiver.messages] == records


def test_tcp_reconnects_and_resends_after_the_receiver_drops_the_connection(
    tcp_receiver: TcpReceiver,
) -> None:
    sink = SyslogSink(f"tcp://127.0.0.1:{tcp_receiver.port}")
    sink.write_batch([make_record(1), make_record(2)])
    assert wait_until(lambda: len(tcp_receiver.messages) == 2)
    tcp_receiver.cut()
    sink.write_batch([make_record(3)])
    sink.close()
    ids = [body(m)[schema.REQUEST_ID] for m in tcp_receiver.messages]
    assert len(tcp_receiver.connections) == 2
    assert set(ids) == {"req-00000001", "req-00000002", "req-00000003"}
    assert ids[-1] == "req-00000003", "order kept"
    assert sink.resent == 2, "what the lost connection carried in the last second is resent"


def test_tcp_receiver_down_raises_so_the_dispatcher_retries() -> None:
    sink = SyslogSink(f"tcp://127.0.0.1:{free_port(socket.SOCK_STREAM)}", timeout=1)
    with pytest.raises(ConnectionRefusedError):
        sink.write_batch([make_record(1)])
    sink.close()


def test_udp_sends_one_datagram_per_record() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        sink = SyslogSink(f"udp://127.0.0.1:{receiver.getsockname()[1]}")
        sink.write_batch([make_record(1), make_record(2, size=30_000)])
        sink.close()
        got = [body(receiver.recv(65536)) for _ in range(2)]
    assert got == [make_record(1), make_record(2, size=30_000)]


def test_udp_refused_is_an_error_to_retry() -> None:
    sink = SyslogSink(f"udp://127.0.0.1:{free_port(socket.SOCK_DGRAM)}")
    with pytest.raises(ConnectionRefusedError):
        # The ICMP "port unreachable" comes back as the error of a later send.
        for _ in range(20):
            sink.write_batch([make_record(1)])
            time.sleep(0.01)
    sink.close()


def test_a_record_too_big_for_a_datagram_is_cut_to_fit_and_flagged() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sink = SyslogSink(f"udp://127.0.0.1:{receiver.getsockname()[1]}", max_udp=8192)
        with Dispatcher([sink], max_record_bytes=0) as dispatcher:
            dispatcher.emit(make_record(1, size=20_000))
            assert dispatcher.flush(5)
            assert dispatcher.stats()[sink.name].truncated == 1
        datagram = receiver.recv(65536)
    assert len(datagram) <= 8192
    record = body(datagram)
    assert record[schema.TRUNCATED] == [schema.URL_QUERY]
    assert record[schema.REQUEST_ID] == "req-00000001"


def test_unix_datagram_socket(tmp_path: Path) -> None:
    directory = tmp_path if len(str(tmp_path)) < 90 else Path(tempfile.mkdtemp())
    path = directory / "log.sock"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
            receiver.bind(str(path))
            receiver.settimeout(5)
            sink = SyslogSink(f"unix://{path}")
            sink.write_batch([make_record(1)])
            sink.close()
            assert body(receiver.recv(65536)) == make_record(1)
    finally:
        path.unlink(missing_ok=True)
        if directory != tmp_path:
            directory.rmdir()


# ---------------------------------------------------------------------- rsyslog


class Rsyslog:
    """A private rsyslogd: UDP, TCP and a Unix socket in, one line per message out.

    The template keeps the raw MSG, so the JSON arrives as sent or the test fails.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.udp_port = free_port(socket.SOCK_DGRAM)
        self.tcp_port = free_port(socket.SOCK_STREAM)
        self.unix_path = directory / "log.sock"
        self.output = directory / "received.log"
        self.pidfile = directory / "rsyslogd.pid"
        self.config = directory / "rsyslog.conf"
        self.process: subprocess.Popen[bytes] | None = None
        # maxMessageSize must come before the inputs; the default 8 KB cuts larger records.
        self.config.write_text(f"""
global(maxMessageSize="256k" workDirectory="{directory}")
module(load="imudp")
module(load="imtcp")
module(load="imuxsock" SysSock.Use="off")
template(name="raw" type="string" string="%pri% %app-name% %msgid% %msg%\\n")
ruleset(name="in") {{
    action(type="omfile" file="{self.output}" template="raw")
}}
input(type="imudp" address="127.0.0.1" port="{self.udp_port}" ruleset="in" rcvbufSize="8m")
input(type="imtcp" address="127.0.0.1" port="{self.tcp_port}" ruleset="in")
input(type="imuxsock" Socket="{self.unix_path}" UseSpecialParser="off" ParseHostname="on"
      Ruleset="in")
""")

    def start(self) -> None:
        assert RSYSLOGD is not None
        self.pidfile.unlink(missing_ok=True)  # a stale one makes rsyslogd refuse to start
        with (self.directory / "rsyslogd.stderr").open("ab") as stderr:
            self.process = subprocess.Popen(
                [RSYSLOGD, "-n", "-f", str(self.config), "-i", str(self.pidfile)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
            )
        stderr_text = (self.directory / "rsyslogd.stderr").read_text
        assert wait_until(lambda: accepting(self.tcp_port)), stderr_text()

    def stop(self) -> None:
        """Stop it as a service manager does (SIGTERM): it writes out what it read."""
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(10)
            self.process = None

    def lines(self) -> list[tuple[int, str, str, bytes]]:
        if not self.output.exists():
            return []
        out = []
        # The last piece is empty, or a line rsyslog is still writing.
        for line in self.output.read_bytes().split(b"\n")[:-1]:
            if line:
                pri, app, msgid, msg = line.split(b" ", 3)
                out.append((int(pri), app.decode(), msgid.decode(), msg))
        return out

    def records(self, dataset: str = schema.DATASET) -> list[dict[str, Any]]:
        return [json.loads(msg) for _, _, msgid, msg in self.lines() if msgid == dataset]


@pytest.fixture
def rsyslog(tmp_path: Path) -> Iterator[Rsyslog]:
    if RSYSLOGD is None:
        pytest.skip(NO_RSYSLOG)
    # A Unix socket path must stay under ~108 bytes.
    directory = tmp_path if len(str(tmp_path)) < 80 else Path(tempfile.mkdtemp(prefix="rs"))
    server = Rsyslog(directory)
    server.start()
    yield server
    server.stop()
    if directory != tmp_path:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.receivers
@pytest.mark.parametrize("transport", ["udp", "tcp", "unix"])
def test_rsyslog_receives_records_intact(rsyslog: Rsyslog, transport: str) -> None:
    address = {
        "udp": f"udp://127.0.0.1:{rsyslog.udp_port}",
        "tcp": f"tcp://127.0.0.1:{rsyslog.tcp_port}",
        "unix": f"unix://{rsyslog.unix_path}",
    }[transport]
    sent = [make_record(i, size=size) for i, size in enumerate([0, 2048, 60_000, 2048, 60_000])]
    sink = SyslogSink(address, app_name="shop", facility="local3")
    with Dispatcher([sink], max_record_bytes=0) as dispatcher:
        for record in sent:
            dispatcher.emit(record)
        assert dispatcher.flush(5)
    assert wait_until(lambda: len(rsyslog.records()) == len(sent), 10), rsyslog.lines()[-3:]
    assert rsyslog.records() == sent
    assert {(pri, app) for pri, app, _, _ in rsyslog.lines()} == {(19 * 8 + 6, "shop")}
    assert dispatcher.stats()[sink.name].truncated == 0


@pytest.mark.receivers
def test_rsyslog_receives_an_oversized_udp_record_cut_and_flagged(rsyslog: Rsyslog) -> None:
    sink = SyslogSink(f"udp://127.0.0.1:{rsyslog.udp_port}")
    with Dispatcher([sink], max_record_bytes=0) as dispatcher:
        dispatcher.emit(make_record(1, size=100_000))
    assert wait_until(lambda: len(rsyslog.records()) == 1)
    (record,) = rsyslog.records()
    assert record[schema.TRUNCATED] == [schema.URL_QUERY]
    assert record[schema.REQUEST_ID] == "req-00000001"
    assert dispatcher.stats()[sink.name].truncated == 1


def _stream_through_a_restart(
    rsyslog: Rsyslog, *, overflow: str, queue_size: int, count: int = 3000
) -> tuple[list[dict[str, Any]], dict[str, Any], Any]:
    sent = [make_record(i, size=400) for i in range(count)]
    sink = SyslogSink(f"tcp://127.0.0.1:{rsyslog.tcp_port}", timeout=2)
    dispatcher = Dispatcher(
        [sink],
        overflow=overflow,
        queue_size=queue_size,
        batch_size=50,
        flush_interval=0.01,
        retry_backoff=0.02,
        max_retries=40,
    )
    restarted = threading.Event()

    def restart() -> None:
        rsyslog.stop()
        time.sleep(0.3)
        rsyslog.start()
        restarted.set()

    restarter = threading.Thread(target=restart)
    try:
        for i, record in enumerate(sent):
            dispatcher.emit(record)
            if i == count // 3:
                restarter.start()
            time.sleep(0.0002)
        restarter.join(20)
        assert restarted.is_set()
        dispatcher.close(timeout=20)
    finally:
        dispatcher.close(timeout=1)
    stats = dispatcher.stats()[sink.name]
    expected = count - stats.dropped - stats.failed
    wait_until(lambda: len({r[schema.REQUEST_ID] for r in rsyslog.records()}) >= expected, 10)
    rsyslog.stop()  # let it write out everything it read
    by_id = {r[schema.REQUEST_ID]: r for r in sent}
    return rsyslog.records(), by_id, stats


@pytest.mark.receivers
def test_rsyslog_restart_mid_stream_in_block_mode_loses_nothing(rsyslog: Rsyslog) -> None:
    received, sent, stats = _stream_through_a_restart(rsyslog, overflow="block", queue_size=100)
    assert (stats.emitted, stats.written, stats.dropped, stats.failed) == (3000, 3000, 0, 0)
    counts = Counter(r[schema.REQUEST_ID] for r in received)
    assert set(counts) == set(sent), f"lost: {sorted(set(sent) - set(counts))[:10]}"
    for record in received:
        assert record == sent[record[schema.REQUEST_ID]]
    # At least once: a restart can cost duplicates (what the lost connection carried), never
    # more than what was sent again.
    duplicates = sum(counts.values()) - len(counts)
    assert stats.retried > 0
    assert duplicates <= stats.retried


@pytest.mark.receivers
def test_rsyslog_restart_mid_stream_in_drop_mode_counts_every_loss(rsyslog: Rsyslog) -> None:
    received, sent, stats = _stream_through_a_restart(rsyslog, overflow="drop", queue_size=50)
    assert stats.emitted == 3000
    assert stats.dropped > 0, "the outage was long enough to overflow the queue"
    assert stats.written + stats.dropped + stats.failed == 3000
    ids = {r[schema.REQUEST_ID] for r in received}
    assert ids <= set(sent)
    assert len(sent) - len(ids) == stats.dropped + stats.failed, "every loss is counted"
    for record in received:
        assert record == sent[record[schema.REQUEST_ID]]
    # Self-records travel like the others, so they may arrive twice too.
    reports = {json.dumps(r, sort_keys=True): r for r in rsyslog.records(dataset=SELF_DATASET)}
    assert sum(r["passivelog.self.dropped"] for r in reports.values()) == stats.dropped


def test_closing_a_never_used_tcp_sink_does_nothing() -> None:
    sink = SyslogSink(f"tcp://127.0.0.1:{free_port(socket.SOCK_STREAM)}")
    with contextlib.suppress(Exception):
        sink.close()
    sink.close()


@pytest.mark.receivers
@NO_FORK
def test_a_forked_child_opens_its_own_syslog_connection(rsyslog: Rsyslog) -> None:
    # Sharing the parent's TCP connection, the child's close would half-close it for both, and
    # the parent would resend what it sent last: duplicates at the receiver.
    sent = through_a_fork(SyslogSink(f"tcp://127.0.0.1:{rsyslog.tcp_port}", timeout=2))
    assert wait_until(lambda: len(rsyslog.records()) >= len(sent), 10)
    ids = Counter(record[schema.REQUEST_ID] for record in rsyslog.records())
    assert sorted(ids) == sorted(record[schema.REQUEST_ID] for record in sent)
    assert set(ids.values()) == {1}


@pytest.mark.receivers
def test_a_stalled_receiver_holds_shutdown_only_to_the_flush_timeout(rsyslog: Rsyslog) -> None:
    # A stopped rsyslogd keeps the connection open and never reads or closes it again: the
    # sink's close, waiting for the receiver to end the stream, would take its whole timeout.
    sink = SyslogSink(f"tcp://127.0.0.1:{rsyslog.tcp_port}", timeout=5)
    dispatcher = Dispatcher([sink])
    for i in range(10):
        dispatcher.emit(make_record(i))
    assert dispatcher.flush(5)
    assert rsyslog.process is not None
    rsyslog.process.send_signal(signal.SIGSTOP)
    try:
        for i in range(10, 20):
            dispatcher.emit(make_record(i))
        started = time.monotonic()
        dispatcher.close(timeout=1.0)
        took = time.monotonic() - started
    finally:
        rsyslog.process.send_signal(signal.SIGCONT)
    assert took < 3.0, f"close took {took:.1f} s with a 1 s flush timeout"
    stats = dispatcher.stats()[sink.name]
    assert stats.emitted == stats.written + stats.failed + stats.dropped == 20
