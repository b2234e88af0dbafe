"""The OTLP sink: log records with OpenTelemetry names and real timestamps, checked against a
real collector (rotel, started by the test on a free loopback port)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from passivelog import schema
from passivelog.sinks import SELF_DATASET, Dispatcher, OtlpSink

from .test_fork import NO_FORK, through_a_fork
from .test_sinks import accepting, free_port, make_record, wait_until

pytest.importorskip("opentelemetry.exporter.otlp.proto.http", reason="needs passivelog[otlp]")

NO_ROTEL = "rotel-agent is not installed (pip install --pre rotel==0.0.1a15)"


def rotel_agent() -> str | None:
    """The collector binary: on PATH, or inside the ``rotel`` Python package."""
    found = shutil.which("rotel-agent")
    if found:
        return found
    spec = importlib.util.find_spec("rotel")
    if spec is not None and spec.origin is not None:
        candidate = Path(spec.origin).parent / "rotel-agent"
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _cannot_run(binary: str) -> str | None:
    """Why ``binary`` does not run here, or None. The wheel's binary links against the Python
    shared library, which some builds of Python (pyenv's default, for one) do not have."""
    try:
        done = subprocess.run([binary, "--version"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.returncode != 0:
        return done.stderr.decode(errors="replace").strip() or f"exit status {done.returncode}"
    return None


ROTEL = rotel_agent()
if ROTEL is not None and (why := _cannot_run(ROTEL)):
    NO_ROTEL = f"rotel-agent does not run here: {why}"
    ROTEL = None


def expected_ns(timestamp: str) -> int:
    moment = datetime.fromisoformat(timestamp)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


# ---------------------------------------------------------------------- without a collector


def test_log_record_carries_otel_names_time_body_and_severity() -> None:
    sink = OtlpSink("http://127.0.0.1:9/v1/logs", service_name="shop")
    try:
        readable = sink.to_log_record(make_record(7))
    finally:
        sink.close()
    log = readable.log_record
    assert log.timestamp == expected_ns("2026-11-29T22:18:55.007Z")
    assert log.body == "GET /shop/7 200"
    assert log.severity_text == "INFO"
    assert log.severity_number.value == 9
    assert dict(log.attributes) == {
        "passivelog.dataset": schema.DATASET,
        "client.address": "203.0.113.0",
        "geo.country.iso_code": "GB",
        "geo.region.iso_code": "GB-ENG",
        "http.request.method": "GET",
        "url.path": "/shop/7",
        "url.query": "utm_source=news",
        "http.response.status_code": 200,
        "passivelog.request_id": "req-00000007",
        "passivelog.redactions": ["query:key:email"],
    }
    assert readable.resource.attributes["service.name"] == "shop"


@pytest.mark.parametrize(
    ("trace_id", "span_id", "expected"),
    [
        pytest.param(
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "00f067aa0ba902b7",
            (0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7),
            id="both",
        ),
        pytest.param(
            "4bf92f3577b34da6a3ce929d0e0e4736",
            None,
            (0x4BF92F3577B34DA6A3CE929D0E0E4736, 0),
            id="trace-only",
        ),
        pytest.param("4BF92F3577B34DA6A3CE929D0E0E4736", None, (0, 0), id="upper-case"),
        pytest.param("0" * 32, "0" * 16, (0, 0), id="all-zeros"),
        pytest.param("abc", "xyz", (0, 0), id="wrong-length"),
        pytest.param(7, None, (0, 0), id="not-text"),
    ],
)
def test_trace_and_span_ids_are_the_log_records_own(
    trace_id: Any, span_id: Any, expected: tuple[int, int]
) -> None:
    record = make_record(1)
    record[schema.TRACE_ID] = trace_id
    if span_id is not None:
        record[schema.SPAN_ID] = span_id
    sink = OtlpSink()
    try:
        log = sink.to_log_record(record).log_record
    finally:
        sink.close()
    assert (log.trace_id or 0, log.span_id or 0) == expected
    assert not {"passivelog.trace_id", "passivelog.span_id"} & set(log.attributes)


def test_self_records_are_warnings_and_a_missing_time_is_now() -> None:
    sink = OtlpSink()
    try:
        before = time.time_ns()
        log = sink.to_log_record({schema.MESSAGE: "lost", schema.EVENT_DATASET: SELF_DATASET})
    finally:
        sink.close()
    assert log.log_record.severity_text == "WARN"
    assert before <= log.log_record.timestamp <= time.time_ns()


def test_values_protobuf_cannot_carry_are_sent_as_text() -> None:
    sink = OtlpSink()
    try:
        log = sink.to_log_record(
            {
                schema.MESSAGE: "bad \udcff byte",
                "passivelog.big": 2**70,
                7: {"nested": 1},
            }
        ).log_record
    finally:
        sink.close()
    assert log.body == "bad ? byte"
    assert log.attributes["passivelog.big"] == str(2**70)
    assert log.attributes["7"] == "{'nested': 1}"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"endpoint": "127.0.0.1:4318"}, "endpoint must be"),
        ({"endpoint": "grpc://127.0.0.1:4317"}, "endpoint must be"),
        ({"service_name": ""}, "service_name must be"),
        ({"timeout": 0}, "timeout must be"),
    ],
    ids=lambda value: str(value),
)
def test_bad_configuration_is_rejected(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OtlpSink(**options)


# ---------------------------------------------------------------------- rotel


@dataclass
class Received:
    timestamp: int = 0
    severity: str = ""
    body: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    resource: dict[str, Any] = field(default_factory=dict)
    trace_id: str = ""
    span_id: str = ""


_ATTRIBUTE = re.compile(r"^\s+-> (?P<key>\S+): (?P<kind>\w+)\((?P<value>.*)\)$")
_ID = re.compile(r"^\s*(?P<which>Trace|Span) ID\s*: (?P<value>\S*)$")


def parse_debug_log(text: str) -> list[Received]:
    """Read rotel's ``--debug-log logs --debug-log-verbosity detailed`` output."""
    records: list[Received] = []
    resource: dict[str, Any] = {}
    target = resource
    for line in text.splitlines():
        if line.startswith("ResourceLog #"):
            resource = {}
            target = resource
        elif line.startswith("LogRecord #"):
            records.append(Received(resource=resource))
            target = records[-1].attributes
        elif records and line.startswith("Timestamp: "):
            records[-1].timestamp = int(line.split(": ", 1)[1])
        elif records and line.startswith("SeverityText: "):
            records[-1].severity = line.split(": ", 1)[1]
        elif records and line.startswith("Body: Str("):
            records[-1].body = line[len("Body: Str(") : -1]
        elif match := _ATTRIBUTE.match(line):
            kind, value = match["kind"], match["value"]
            target[match["key"]] = int(value) if kind == "Int" else value
        elif records and (match := _ID.match(line)):
            if match["which"] == "Trace":
                records[-1].trace_id = match["value"]
            else:
                records[-1].span_id = match["value"]
    return records


class Rotel:
    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self.output = directory / "rotel.out"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert ROTEL is not None
        with self.output.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    ROTEL,
                    "start",
                    "--exporter",
                    "blackhole",
                    "--debug-log",
                    "logs",
                    "--debug-log-verbosity",
                    "detailed",
                    "--otlp-http-endpoint",
                    f"127.0.0.1:{self.port}",
                    "--otlp-grpc-endpoint",
                    f"127.0.0.1:{free_port()}",
                    "--pid-file",
                    str(self.directory / "rotel.pid"),
                    "--log-file",
                    str(self.directory / "rotel.log"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        assert wait_until(lambda: accepting(self.port), 10), self.output.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def received(self) -> list[Received]:
        return parse_debug_log(self.output.read_text(errors="replace"))


@pytest.fixture
def rotel(tmp_path: Path) -> Iterator[Rotel]:
    if ROTEL is None:
        pytest.skip(NO_ROTEL)
    collector = Rotel(tmp_path, free_port())
    yield collector
    collector.stop()


@pytest.mark.receivers
def test_collector_receives_otel_names_and_the_records_own_timestamps(rotel: Rotel) -> None:
    rotel.start()
    sink = OtlpSink(f"http://127.0.0.1:{rotel.port}/v1/logs", service_name="shop")
    sent = [make_record(i) for i in range(25)]
    for i, record in enumerate(sent[:10]):  # the trace of a request, and of its server span
        record[schema.TRACE_ID] = f"{i + 1:032x}"
        if i % 2:
            record[schema.SPAN_ID] = f"{i + 1:016x}"
    with Dispatcher([sink]) as dispatcher:
        for record in sent:
            dispatcher.emit(record)
        assert dispatcher.flush(10)
    assert wait_until(lambda: len(rotel.received()) == len(sent))
    received = {r.attributes["passivelog.request_id"]: r for r in rotel.received()}
    assert set(received) == {r[schema.REQUEST_ID] for r in sent}
    for record in sent:
        got = received[record[schema.REQUEST_ID]]
        assert got.timestamp == expected_ns(record[schema.TIMESTAMP])
        assert got.body == record[schema.MESSAGE]
        assert got.severity == "INFO"
        assert got.resource["service.name"] == "shop"
        assert got.attributes["client.address"] == "203.0.113.0"
        assert got.attributes["url.path"] == record[schema.URL_PATH]
        assert got.attributes["url.query"] == "utm_source=news"
        assert got.attributes["http.request.method"] == "GET"
        assert got.attributes["http.response.status_code"] == 200
        assert got.attributes["geo.country.iso_code"] == "GB"
        assert got.attributes["geo.region.iso_code"] == "GB-ENG"
        ecs_only = {schema.CLIENT_IP, schema.GEO_COUNTRY, schema.GEO_REGION, schema.TIMESTAMP}
        assert not ecs_only & set(got.attributes)
        # Trace and span ids are the log record's own, not attributes.
        assert got.trace_id == record.get(schema.TRACE_ID, "")
        assert got.span_id == record.get(schema.SPAN_ID, "")
        assert not {"passivelog.trace_id", "passivelog.span_id"} & set(got.attributes)
    assert dispatcher.stats()[sink.name].written == len(sent)


@pytest.mark.receivers
def test_records_sent_while_the_collector_is_down_are_delivered_once_it_is_up(
    rotel: Rotel,
) -> None:
    sink = OtlpSink(f"http://127.0.0.1:{rotel.port}/v1/logs", timeout=0.5)
    sent = [make_record(i) for i in range(20)]
    with Dispatcher([sink], retry_backoff=0.1, max_retries=30) as dispatcher:
        for record in sent:
            dispatcher.emit(record)
        assert not dispatcher.flush(1.0), "nothing can be written while the collector is down"
        rotel.start()
        assert dispatcher.flush(20)
    stats = dispatcher.stats()[sink.name]
    assert (stats.written, stats.failed, stats.dropped) == (20, 0, 0)
    assert stats.retried > 0
    assert wait_until(lambda: len(rotel.received()) >= len(sent))
    ids = [r.attributes["passivelog.request_id"] for r in rotel.received()]
    assert sorted(ids) == sorted(r[schema.REQUEST_ID] for r in sent), "each one exactly once"


@pytest.mark.receivers
@NO_FORK
def test_a_forked_child_exports_through_its_own_otlp_connection(rotel: Rotel) -> None:
    # The child gets an exporter of its own (OtlpSink.after_fork). Taking turns, parent and
    # child could share one keep-alive connection and still pass; at the same time, they would
    # read each other's responses. What this checks is that each record arrives once.
    rotel.start()
    sink = OtlpSink(f"http://127.0.0.1:{rotel.port}/v1/logs", timeout=2)
    sent = through_a_fork(sink)
    assert wait_until(lambda: len(rotel.received()) >= len(sent), 10)
    ids = Counter(r.attributes["passivelog.request_id"] for r in rotel.received())
    assert sorted(ids) == sorted(record[schema.REQUEST_ID] for record in sent)
    assert set(ids.values()) == {1}
