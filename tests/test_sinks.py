"""Sinks and the dispatcher, without outside receivers: streams, files, the size cap, naming,
environment configuration, overflow, retries, flush and close."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from passivelog import schema
from passivelog.render import to_json_line
from passivelog.sinks import (
    SELF_DATASET,
    Dispatcher,
    FileSink,
    OtlpSink,
    SinkStats,
    StreamSink,
    SyslogSink,
    cap_record,
    dispatcher_options_from_env,
    sinks_from_env,
)

SRC = Path(__file__).resolve().parents[1] / "src"


def make_record(i: int, size: int = 0, **extra: Any) -> dict[str, Any]:
    """An access record numbered ``i``; with ``size``, padded to about that many bytes of JSON."""
    record: dict[str, Any] = {
        schema.TIMESTAMP: f"2026-11-29T22:18:55.{i % 1000:03d}Z",
        schema.MESSAGE: f"GET /shop/{i} 200",
        schema.EVENT_DATASET: schema.DATASET,
        schema.CLIENT_IP: "203.0.113.0",
        schema.GEO_COUNTRY: "GB",
        schema.GEO_REGION: "GB-ENG",
        schema.HTTP_METHOD: "GET",
        schema.URL_PATH: f"/shop/{i}",
        schema.URL_QUERY: "utm_source=news",
        schema.STATUS_CODE: 200,
        schema.REQUEST_ID: f"req-{i:08d}",
        schema.REDACTIONS: ["query:key:email"],
    }
    record.update(extra)
    if size:
        # Padded with what a receiver might mangle: quotes, backslashes, non-ASCII, spaces.
        record[schema.URL_QUERY] = ""
        room = max(0, size - len(to_json_line(record)))
        filler = 'q=é"\\ ü  x'
        text = filler * (room // (len(orjson.dumps(filler)) - 2) + 1)
        while len(orjson.dumps(text)) - 2 > room:
            text = text[:-1]
        record[schema.URL_QUERY] = text
    return record


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def read_lines(*paths: Path) -> list[dict[str, Any]]:
    records = []
    for path in paths:
        # Split on "\n" only: orjson leaves U+2028 and friends unescaped.
        for line in path.read_bytes().split(b"\n"):
            if line:
                records.append(json.loads(line))
    return records


class ListSink:
    """Keeps what it is given; can be told to fail or to wait."""

    def __init__(self, name: str = "list", *, fail_times: int = 0) -> None:
        self.name = name
        self.batches: list[list[dict[str, Any]]] = []
        self.fail_times = fail_times
        self.calls = 0
        self.gate = threading.Event()
        self.gate.set()
        self.closed = False

    @property
    def records(self) -> list[dict[str, Any]]:
        return [r for batch in self.batches for r in batch]

    def write_batch(self, records: Sequence[Mapping[str, Any]]) -> None:
        self.calls += 1
        self.gate.wait(10)
        if self.fail_times:
            self.fail_times -= 1
            raise ConnectionError("receiver down")
        self.batches.append([dict(r) for r in records])

    def close(self) -> None:
        self.closed = True


class BrokenSink(ListSink):
    def write_batch(self, records: Sequence[Mapping[str, Any]]) -> None:
        self.calls += 1
        raise ConnectionRefusedError("nobody listens")


@pytest.fixture
def dispatchers() -> Iterator[Callable[..., Dispatcher]]:
    made: list[Dispatcher] = []

    def factory(sinks: Sequence[Any], **options: Any) -> Dispatcher:
        options.setdefault("flush_interval", 0.01)
        dispatcher = Dispatcher(sinks, **options)
        made.append(dispatcher)
        return dispatcher

    yield factory
    for dispatcher in made:
        dispatcher.close(timeout=2)


def accepting(port: int) -> bool:
    """Whether something accepts TCP connections on the loopback ``port``."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


# ---------------------------------------------------------------------- streams


def test_stream_sink_writes_one_json_line_per_record_to_a_text_stream() -> None:
    stream = io.StringIO()
    StreamSink(stream).write_batch([make_record(1), make_record(2)])
    lines = stream.getvalue().split("\n")
    assert lines[-1] == ""
    assert [json.loads(line) for line in lines[:-1]] == [make_record(1), make_record(2)]


def test_stream_sink_writes_bytes_to_a_binary_stream() -> None:
    stream = io.BytesIO()
    StreamSink(stream).write_batch([make_record(1)])
    assert stream.getvalue() == to_json_line(make_record(1))


def test_stream_sink_follows_sys_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    sink = StreamSink()
    assert sink.name == "stdout"
    sink.write_batch([make_record(7)])
    assert json.loads(capsys.readouterr().out) == make_record(7)


def test_stream_sink_flushes_after_each_batch(tmp_path: Path) -> None:
    with (tmp_path / "out.jsonl").open("w", buffering=1 << 20) as stream:
        StreamSink(stream).write_batch([make_record(1)])
        assert read_lines(tmp_path / "out.jsonl") == [make_record(1)]


def test_otel_schema_renames_fields_and_the_truncated_list() -> None:
    stream = io.StringIO()
    record = make_record(1, **{schema.TRUNCATED: [schema.CLIENT_IP, schema.URL_QUERY]})
    StreamSink(stream, schema="otel").write_batch([record])
    written = json.loads(stream.getvalue())
    assert written["client.address"] == "203.0.113.0"
    assert written["geo.country.iso_code"] == "GB"
    assert written["geo.region.iso_code"] == "GB-ENG"
    assert written["http.request.method"] == "GET"
    assert written["http.response.status_code"] == 200
    assert written["url.path"] == "/shop/1"
    assert written[schema.TRUNCATED] == ["client.address", "url.query"]
    assert schema.CLIENT_IP not in written


def test_every_otel_name_is_in_the_registry_list_or_under_passivelog() -> None:
    # The names passivelog writes under schema="otel" (and sends over OTLP) come from
    # schema.FIELDS only; those outside the "passivelog." namespace must be registry names.
    registry = {
        "client.address",
        "url.scheme",
        "url.path",
        "url.query",
        "http.request.method",
        "http.response.status_code",
        "http.response.body.size",
        "network.protocol.version",
        "user_agent.original",
        "user_agent.name",
        "user_agent.version",
        "user_agent.os.name",
        "user_agent.os.version",
        "error.type",
        "geo.country.iso_code",
        "geo.region.iso_code",
    }
    for spec in schema.FIELDS:
        assert spec.otel.startswith("passivelog.") or spec.otel in registry, spec


# ---------------------------------------------------------------------- files


def test_file_sink_appends_to_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "access.jsonl"
    path.write_bytes(b'{"old":1}\n')
    sink = FileSink(path)
    sink.write_batch([make_record(1)])
    sink.close()
    assert read_lines(path) == [{"old": 1}, make_record(1)]


def test_file_sink_creates_the_file_not_world_readable(tmp_path: Path) -> None:
    path = tmp_path / "access.jsonl"
    sink = FileSink(path)
    sink.write_batch([make_record(1)])
    sink.close()
    assert path.stat().st_mode & 0o007 == 0


def test_file_sink_rotates_by_size_without_splitting_records(tmp_path: Path) -> None:
    path = tmp_path / "access.jsonl"
    line_size = len(to_json_line(make_record(0)))
    sink = FileSink(path, max_bytes=line_size * 3, backups=10)
    for i in range(0, 10, 2):
        sink.write_batch([make_record(i), make_record(i + 1)])
    sink.close()
    files = [path, *(Path(f"{path}.{n}") for n in range(1, 11) if Path(f"{path}.{n}").exists())]
    assert all(f.stat().st_size <= line_size * 3 for f in files)
    oldest_first = list(reversed(files))
    assert [r[schema.REQUEST_ID] for r in read_lines(*oldest_first)] == [
        f"req-{i:08d}" for i in range(10)
    ]


def test_file_sink_keeps_only_the_configured_backups(tmp_path: Path) -> None:
    path = tmp_path / "access.jsonl"
    sink = FileSink(path, max_bytes=1, backups=2)  # every record its own file
    for i in range(6):
        sink.write_batch([make_record(i)])
    sink.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "access.jsonl",
        "access.jsonl.1",
        "access.jsonl.2",
    ]
    assert read_lines(Path(f"{path}.2"), Path(f"{path}.1"), path) == [
        make_record(3),
        make_record(4),
        make_record(5),
    ]


def test_file_sink_follows_logrotate_move_and_create(tmp_path: Path) -> None:
    path = tmp_path / "access.jsonl"
    sink = FileSink(path)
    sink.write_batch([make_record(1)])
    path.rename(tmp_path / "access.jsonl.moved")  # logrotate: move ...
    path.touch()  # ... and create
    sink.write_batch([make_record(2)])
    sink.close()
    assert read_lines(tmp_path / "access.jsonl.moved") == [make_record(1)]
    assert read_lines(path) == [make_record(2)]


def test_file_sink_recreates_a_removed_file(tmp_path: Path) -> None:
    path = tmp_path / "access.jsonl"
    sink = FileSink(path)
    sink.write_batch([make_record(1)])
    path.unlink()
    sink.write_batch([make_record(2)])
    sink.close()
    assert read_lines(path) == [make_record(2)]


def test_file_sink_rejects_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        FileSink(tmp_path / "nowhere" / "access.jsonl")


def test_file_sink_rejects_a_directory_for_its_file(tmp_path: Path) -> None:
    # Accepted, it failed every write at run time instead.
    with pytest.raises(ValueError, match="is a directory; name the log file in it"):
        FileSink(tmp_path)


def test_100k_records_from_threads_with_rotations_and_a_move_land_exactly_once(
    tmp_path: Path, dispatchers: Callable[..., Dispatcher]
) -> None:
    path = tmp_path / "access.jsonl"
    dispatcher = dispatchers(
        [FileSink(path, max_bytes=2_000_000, backups=1000)], queue_size=5000, batch_size=512
    )
    threads, per_thread = 4, 25_000
    moved = tmp_path / "moved.jsonl"
    halfway = threading.Event()

    def produce(t: int) -> None:
        for i in range(per_thread):
            dispatcher.emit(make_record(t * per_thread + i))
            if t == 0 and i == per_thread // 2:
                halfway.set()

    workers = [threading.Thread(target=produce, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    halfway.wait(30)
    path.rename(moved)  # an outside rotation in the middle of the stream
    path.touch()
    for worker in workers:
        worker.join()
    assert dispatcher.flush(30)
    dispatcher.close()

    files = sorted(tmp_path.iterdir())
    assert len(files) > 10, "expected several rotations"
    ids = [r[schema.REQUEST_ID] for r in read_lines(*files)]
    assert len(ids) == threads * per_thread
    assert set(ids) == {f"req-{i:08d}" for i in range(threads * per_thread)}
    assert read_lines(moved), "the moved file kept what was written before the move"
    stats = dispatcher.stats()[f"file:{path}"]
    assert stats == SinkStats(emitted=100_000, written=100_000)


# ---------------------------------------------------------------------- size cap


def test_cap_returns_a_record_that_fits_unchanged() -> None:
    record = make_record(1)
    assert cap_record(record, 16_384) is record


def test_cap_cuts_the_longest_fields_first_and_lists_them() -> None:
    record = make_record(1, **{schema.URL_QUERY: "q=" + "x" * 30_000, schema.URL_PATH: "/a" * 5})
    capped = cap_record(record, 16_384)
    assert len(to_json_line(capped)) <= 16_384
    assert capped[schema.TRUNCATED] == [schema.URL_QUERY]
    assert capped[schema.URL_PATH] == record[schema.URL_PATH]
    assert capped[schema.URL_QUERY].startswith("q=xxx")
    assert schema.TRUNCATED not in record, "the original record is not changed"


def test_cap_shortens_several_long_fields_to_the_same_length() -> None:
    record = make_record(1, **{schema.URL_QUERY: "q" * 20_000, schema.UA_ORIGINAL: "u" * 20_000})
    capped = cap_record(record, 16_384)
    assert capped[schema.TRUNCATED] == [schema.URL_QUERY, schema.UA_ORIGINAL]
    assert abs(len(capped[schema.URL_QUERY]) - len(capped[schema.UA_ORIGINAL])) <= 1
    assert len(to_json_line(capped)) <= 16_384


def test_cap_counts_multibyte_characters_in_bytes() -> None:
    record = make_record(1, **{schema.URL_PATH: "/" + "€" * 10_000})
    capped = cap_record(record, 4096)
    assert len(to_json_line(capped)) <= 4096
    assert set(capped[schema.URL_PATH][1:]) == {"€"}


def test_cap_falls_back_to_a_minimal_record_when_cutting_strings_is_not_enough() -> None:
    record = make_record(1, **{f"passivelog.n{i}": i for i in range(2000)})
    capped = cap_record(record, 2048)
    assert len(to_json_line(capped)) <= 2048
    assert capped[schema.TIMESTAMP] == record[schema.TIMESTAMP]
    assert capped[schema.EVENT_DATASET] == schema.DATASET
    assert capped[schema.MESSAGE] == record[schema.MESSAGE]
    assert schema.CLIENT_IP in capped[schema.TRUNCATED], "names of removed fields, as many as fit"


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=30),
        st.one_of(
            st.text(max_size=3000),
            st.integers(min_value=-(2**63), max_value=2**64 - 1),
            st.booleans(),
            st.none(),
        ),
        max_size=20,
    ),
    st.integers(min_value=1024, max_value=8192),
)
def test_cap_output_always_fits_and_is_one_json_line(record: dict[str, Any], cap: int) -> None:
    line = to_json_line(cap_record(record, cap))
    assert len(line) <= cap
    assert line.count(b"\n") == 1
    json.loads(line)


def test_dispatcher_caps_records_and_counts_them(dispatchers: Callable[..., Dispatcher]) -> None:
    sink = ListSink()
    dispatcher = dispatchers([sink], max_record_bytes=4096)
    dispatcher.emit(make_record(1, **{schema.URL_QUERY: "q=" + "x" * 10_000}))
    dispatcher.emit(make_record(2))
    assert dispatcher.flush(5)
    first, second = sink.records
    assert first[schema.TRUNCATED] == [schema.URL_QUERY]
    assert len(to_json_line(first)) <= 4096
    assert second == make_record(2)
    assert dispatcher.stats()["list"].truncated == 1


# ---------------------------------------------------------------------- environment


@pytest.mark.parametrize(
    ("spec", "kind", "attributes"),
    [
        ("stdout", StreamSink, {"name": "stdout", "schema": "ecs"}),
        ("stderr?schema=otel", StreamSink, {"name": "stderr", "schema": "otel"}),
        (
            "file://{tmp}/access.jsonl",
            FileSink,
            {"path": "{tmp}/access.jsonl", "max_bytes": 0, "backups": 5},
        ),
        (
            "file:logs/access.jsonl?max_bytes=1048576&backups=3",
            FileSink,
            {"path": "logs/access.jsonl", "max_bytes": 1_048_576, "backups": 3},
        ),
        ("file://localhost{tmp}/a%2Cb.jsonl", FileSink, {"path": "{tmp}/a,b.jsonl"}),
        (
            "syslog+tcp://127.0.0.1:6514",
            SyslogSink,
            {
                "transport": "tcp",
                "_host_port": ("127.0.0.1", 6514),
                "name": "syslog+tcp://127.0.0.1:6514",
            },
        ),
        (
            "syslog+udp://[2001:db8::1]",
            SyslogSink,
            {"transport": "udp", "_host_port": ("2001:db8::1", 514)},
        ),
        (
            "syslog+unix:///dev/log?app_name=shop&facility=local0",
            SyslogSink,
            {"transport": "unix", "_path": "/dev/log", "_app_name": "shop", "_facility": 16},
        ),
        (
            "syslog+udp://127.0.0.1:514?facility=3&schema=otel&max_udp=9000",
            SyslogSink,
            {"_facility": 3, "schema": "otel", "max_udp": 9000},
        ),
        (
            "syslog+tcp://127.0.0.1?timeout=0.5&resend_window=0&name=audit",
            SyslogSink,
            {"_timeout": 0.5, "_resend_window": 0.0, "name": "audit"},
        ),
        ("otlp+http://127.0.0.1", OtlpSink, {"endpoint": "http://127.0.0.1:4318/v1/logs"}),
        (
            "otlp+https://collector.example.com:443/custom/logs?service_name=shop",
            OtlpSink,
            {"endpoint": "https://collector.example.com:443/custom/logs"},
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_sinks_from_env(
    spec: str,
    kind: type,
    attributes: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if kind is OtlpSink:
        pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "logs").mkdir()
    (sink,) = sinks_from_env({"PASSIVELOG_SINKS": spec.replace("{tmp}", str(tmp_path))})
    try:
        assert isinstance(sink, kind)
        for name, value in attributes.items():
            if isinstance(value, str):
                value = value.replace("{tmp}", str(tmp_path))
            assert getattr(sink, name) == value, name
    finally:
        sink.close()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("stdout,", "entry 2 is empty"),
        ("stdot", "not a sink"),
        ("file://host/var/log/x", "file:///absolute/path"),
        ("file:", "names no file"),
        ("file:///tmp/x?max_bytes=big", "max_bytes must be an integer"),
        ("file:///tmp/x?max_byte=1", "unknown option 'max_byte'"),
        ("file:///tmp/x?backups=1&backups=2", "given twice"),
        ("syslog+tcp://127.0.0.1:99999", "Port out of range"),
        ("syslog+udp://127.0.0.1?facility=local9", "facility must be"),
        ("syslog+tcp://:514", "is not valid"),
        ("syslog+sctp://127.0.0.1", "not a sink"),
        ("stdout?schema=elastic", "schema must be one of"),
        ("otlp+http://127.0.0.1:4318?timeout=soon", "timeout must be a number"),
    ],
    ids=lambda value: value,
)
def test_sinks_from_env_rejects(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        sinks_from_env({"PASSIVELOG_SINKS": spec})
    assert "PASSIVELOG_SINKS" in str(info.value)


def test_sinks_from_env_is_empty_when_unset() -> None:
    assert sinks_from_env({}) == []
    assert sinks_from_env({"PASSIVELOG_SINKS": "  "}) == []


def test_sinks_from_env_takes_several_sinks_and_a_default_schema(tmp_path: Path) -> None:
    sinks = sinks_from_env(
        {
            "PASSIVELOG_SINKS": f"stdout, file://{tmp_path}/a.jsonl?schema=ecs",
            "PASSIVELOG_SCHEMA": "otel",
        }
    )
    assert [(s.name, getattr(s, "schema", None)) for s in sinks] == [
        ("stdout", "otel"),
        (f"file:{tmp_path}/a.jsonl", "ecs"),
    ]


def test_dispatcher_options_from_env() -> None:
    assert dispatcher_options_from_env(
        {
            "PASSIVELOG_OVERFLOW": "drop",
            "PASSIVELOG_QUEUE_SIZE": "500",
            "PASSIVELOG_MAX_RECORD_BYTES": "8192",
            "PASSIVELOG_FLUSH_TIMEOUT": "2.5",
        }
    ) == {"overflow": "drop", "queue_size": 500, "max_record_bytes": 8192, "flush_timeout": 2.5}
    assert dispatcher_options_from_env({}) == {}
    with pytest.raises(ValueError, match="PASSIVELOG_OVERFLOW"):
        dispatcher_options_from_env({"PASSIVELOG_OVERFLOW": "wait"})
    with pytest.raises(ValueError, match="PASSIVELOG_QUEUE_SIZE"):
        dispatcher_options_from_env({"PASSIVELOG_QUEUE_SIZE": "many"})


# ---------------------------------------------------------------------- dispatcher


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"overflow": "wait"}, "overflow must be one of"),
        ({"queue_size": 0}, "queue_size must be an integer"),
        ({"batch_size": 1.5}, "batch_size must be an integer"),
        ({"flush_interval": -1}, "flush_interval must be a finite number"),
        ({"flush_timeout": float("nan")}, "flush_timeout must be a finite number"),
        ({"max_record_bytes": 100}, "max_record_bytes must be 0"),
        ({"max_retries": -1}, "max_retries must be"),
        ({"queue_size": True}, "queue_size must be"),
    ],
    ids=lambda value: str(value),
)
def test_dispatcher_rejects_bad_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Dispatcher([ListSink()], **options)


def test_dispatcher_rejects_no_sinks_and_duplicate_names() -> None:
    with pytest.raises(ValueError, match="at least one sink"):
        Dispatcher([])
    with pytest.raises(ValueError, match="pass name="):
        Dispatcher([ListSink("a"), ListSink("a")])
    with pytest.raises(ValueError, match="is not a sink"):
        Dispatcher([object()])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"the class FileSink, not a sink: create one"):
        Dispatcher([FileSink])  # type: ignore[list-item]


def test_emit_starts_the_worker_lazily_and_keeps_order(
    dispatchers: Callable[..., Dispatcher],
) -> None:
    sink = ListSink("lazy")
    dispatcher = dispatchers([sink], batch_size=7)
    assert "passivelog-sink lazy" not in {t.name for t in threading.enumerate()}
    for i in range(100):
        dispatcher.emit(make_record(i))
    assert "passivelog-sink lazy" in {t.name for t in threading.enumerate()}
    assert dispatcher.flush(5)
    assert [r[schema.REQUEST_ID] for r in sink.records] == [f"req-{i:08d}" for i in range(100)]
    assert max(len(b) for b in sink.batches) <= 7


def test_drop_overflow_counts_every_dropped_record(
    dispatchers: Callable[..., Dispatcher],
) -> None:
    sink = ListSink()
    sink.gate.clear()  # the receiver stalls
    dispatcher = dispatchers([sink], queue_size=10, batch_size=5, overflow="drop")
    for i in range(100):
        dispatcher.emit(make_record(i))
    stats = dispatcher.stats()["list"]
    assert stats.dropped >= 100 - 10 - 5
    sink.gate.set()
    assert dispatcher.flush(5)
    stats = dispatcher.stats()["list"]
    assert stats.emitted == 100
    assert stats.written + stats.dropped == 100
    kept = [r[schema.REQUEST_ID] for r in sink.records if r[schema.EVENT_DATASET] != SELF_DATASET]
    assert len(kept) == stats.written
    assert kept == sorted(kept), "what was kept is in order"


def test_block_overflow_makes_emit_wait_and_loses_nothing(
    dispatchers: Callable[..., Dispatcher],
) -> None:
    sink = ListSink()
    sink.gate.clear()
    dispatcher = dispatchers([sink], queue_size=5, batch_size=2, overflow="block")
    done = threading.Event()

    def produce() -> None:
        for i in range(20):
            dispatcher.emit(make_record(i))
        done.set()

    producer = threading.Thread(target=produce)
    producer.start()
    assert wait_until(lambda: dispatcher.stats()["list"].queued == 5)
    assert not done.wait(0.2), "emit must wait while the queue is full"
    sink.gate.set()
    producer.join(5)
    assert done.is_set()
    assert dispatcher.flush(5)
    assert dispatcher.stats()["list"] == SinkStats(emitted=20, written=20)
    assert [r[schema.REQUEST_ID] for r in sink.records] == [f"req-{i:08d}" for i in range(20)]


def test_a_stalled_sink_does_not_hold_up_the_others(
    dispatchers: Callable[..., Dispatcher],
) -> None:
    slow, fast = ListSink("slow"), ListSink("fast")
    slow.gate.clear()
    dispatcher = dispatchers([slow, fast], batch_size=10)
    for i in range(200):
        dispatcher.emit(make_record(i))
    assert wait_until(lambda: dispatcher.stats()["fast"].written == 200)
    assert dispatcher.stats()["slow"].written == 0
    slow.gate.set()
    assert dispatcher.flush(5)
    assert dispatcher.stats()["slow"].written == 200


def test_slow_receiver_keeps_queue_and_memory_bounded(
    dispatchers: Callable[..., Dispatcher],
) -> None:
    class SlowSink(ListSink):
        def write_batch(self, records: Sequence[Mapping[str, Any]]) -> None:
            time.sleep(0.01)
            self.calls += 1

    dispatcher = dispatchers([SlowSink("slow")], queue_size=1000, overflow="drop")
    tracemalloc.start()
    try:
        peak_queue = 0
        for i in range(30_000):
            dispatcher.emit(make_record(i))
            if i % 1000 == 0:
                peak_queue = max(peak_queue, dispatcher.stats()["slow"].queued)
        _, peak_memory = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak_queue <= 1000
    # 1,000 queued records of ~1 KB each, plus the batch being written: far below 30,000.
    assert peak_memory < 8 * 1024 * 1024
    dispatcher.close()
    stats = dispatcher.stats()["slow"]
    assert stats.dropped > 0
    assert stats.emitted == stats.written + stats.dropped == 30_000


def test_a_failed_write_is_retried_then_written_once(
    dispatchers: Callable[..., Dispatcher],
) -> None:
    sink = ListSink(fail_times=2)
    dispatcher = dispatchers([sink], retry_backoff=0.001, flush_interval=1)  # one batch
    for i in range(3):
        dispatcher.emit(make_record(i))
    assert dispatcher.flush(5)
    assert [r[schema.REQUEST_ID] for r in sink.records] == [f"req-{i:08d}" for i in range(3)]
    assert dispatcher.stats()["list"] == SinkStats(emitted=3, written=3, retried=6)


def test_a_failing_sink_is_counted_and_reported_to_the_healthy_ones(
    dispatchers: Callable[..., Dispatcher], caplog: pytest.LogCaptureFixture
) -> None:
    broken, healthy = BrokenSink("broken"), ListSink("healthy")
    dispatcher = dispatchers(
        [broken, healthy],
        max_retries=2,
        retry_backoff=0.001,
        flush_interval=1,  # one batch
    )
    for i in range(5):
        dispatcher.emit(make_record(i))
    assert dispatcher.flush(5)
    assert dispatcher.stats()["broken"] == SinkStats(emitted=5, failed=5, retried=10)
    assert dispatcher.stats()["healthy"] == SinkStats(emitted=5, written=5)
    reports = [r for r in healthy.records if r[schema.EVENT_DATASET] == SELF_DATASET]
    assert len(reports) == 1
    assert reports[0]["passivelog.self.failed"] == 5
    assert reports[0]["passivelog.self.dropped"] == 0
    assert "broken: 5 failed (ConnectionRefusedError: nobody listens)" in reports[0]["message"]
    assert wait_until(lambda: "broken: 5 failed" in caplog.text), "and to the stdlib logger"
    assert broken.calls == 3


def test_no_self_record_when_nothing_was_lost(dispatchers: Callable[..., Dispatcher]) -> None:
    sink = ListSink()
    dispatcher = dispatchers([sink])
    dispatcher.emit(make_record(1))
    assert dispatcher.flush(5)
    dispatcher.close()
    assert [r[schema.EVENT_DATASET] for r in sink.records] == [schema.DATASET]


def test_drops_are_reported_in_a_self_record(dispatchers: Callable[..., Dispatcher]) -> None:
    sink = ListSink()
    sink.gate.clear()
    dispatcher = dispatchers([sink], queue_size=2, batch_size=1, overflow="drop")
    for i in range(10):
        dispatcher.emit(make_record(i))
    sink.gate.set()
    assert dispatcher.flush(5)
    dropped = dispatcher.stats()["list"].dropped
    (report,) = [r for r in sink.records if r[schema.EVENT_DATASET] == SELF_DATASET]
    assert report["passivelog.self.dropped"] == dropped > 0
    assert f"list: {dropped} dropped" in report["message"]


def test_flush_reports_false_when_the_deadline_passes(
    dispatchers: Callable[..., Dispatcher],
) -> None:
    sink = ListSink()
    sink.gate.clear()
    dispatcher = dispatchers([sink])
    dispatcher.emit(make_record(1))
    assert dispatcher.flush(0.05) is False
    sink.gate.set()
    assert dispatcher.flush(5) is True


def test_close_writes_everything_then_closes_sinks_and_is_idempotent(tmp_path: Path) -> None:
    sink = ListSink()
    dispatcher = Dispatcher([sink], flush_interval=10)  # only close makes it write
    for i in range(50):
        dispatcher.emit(make_record(i))
    dispatcher.close()
    dispatcher.close()
    assert len(sink.records) == 50
    assert sink.closed
    dispatcher.emit(make_record(99))
    assert dispatcher.stats()["list"] == SinkStats(emitted=51, written=50, dropped=1)


def test_close_gives_up_at_its_deadline_and_counts_what_was_left(tmp_path: Path) -> None:
    sink = ListSink()
    sink.gate.clear()
    dispatcher = Dispatcher([sink], batch_size=1, flush_interval=0.01)
    for i in range(5):
        dispatcher.emit(make_record(i))
    started = time.monotonic()
    dispatcher.close(timeout=0.2)
    assert time.monotonic() - started < 3
    sink.gate.set()
    assert wait_until(lambda: dispatcher.stats()["list"].written == 1)
    stats = dispatcher.stats()["list"]
    assert (stats.written, stats.failed) == (1, 4)


def test_shutdown_under_load_writes_every_accepted_record(tmp_path: Path) -> None:
    path = tmp_path / "access.jsonl"
    dispatcher = Dispatcher([FileSink(path)], queue_size=200, overflow="block")
    stop = threading.Event()

    def produce(t: int) -> None:
        i = 0
        while not stop.is_set():
            dispatcher.emit(make_record(t * 1_000_000 + i))
            i += 1

    producers = [threading.Thread(target=produce, args=(t,)) for t in range(3)]
    for producer in producers:
        producer.start()
    time.sleep(0.3)
    dispatcher.close(timeout=10)  # while the producers are still emitting
    stop.set()
    for producer in producers:
        producer.join()
    stats = dispatcher.stats()[f"file:{path}"]
    lines = read_lines(path)
    assert stats.failed == 0
    assert len(lines) == stats.written == stats.emitted - stats.dropped
    assert len({r[schema.REQUEST_ID] for r in lines}) == len(lines)


def test_records_are_flushed_at_interpreter_exit(tmp_path: Path) -> None:
    path = tmp_path / "access.jsonl"
    program = textwrap.dedent(f"""
        from passivelog.sinks import Dispatcher, FileSink
        dispatcher = Dispatcher([FileSink({str(path)!r})], flush_interval=60)
        for i in range(1000):
            dispatcher.emit({{"message": "GET / 200", "http.request.id": str(i)}})
        # no close(): the exit-time fallback must write them
    """)
    paths = [str(SRC), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    subprocess.run([sys.executable, "-c", program], check=True, env=env, timeout=60)
    assert [r[schema.REQUEST_ID] for r in read_lines(path)] == [str(i) for i in range(1000)]


def test_emit_never_raises_for_odd_records(dispatchers: Callable[..., Dispatcher]) -> None:
    stream = io.StringIO()
    dispatcher = dispatchers([StreamSink(stream)])
    dispatcher.emit({"message": "\udcff lone surrogate", "x": object(), 1: "int key"})  # type: ignore[dict-item]
    assert dispatcher.flush(5)
    assert dispatcher.stats()["stream:StringIO"].written == 1
    assert json.loads(stream.getvalue())["x"].startswith("<object object")


def test_cap_handles_lone_surrogates_and_keys_that_are_not_strings() -> None:
    record = {schema.MESSAGE: "x\udcff" * 5000, 1: "abc" * 3000, schema.URL_PATH: "é" * 9000}
    capped = cap_record(record, 4096)  # type: ignore[arg-type]
    assert len(to_json_line(capped)) <= 4096
    assert capped[schema.TRUNCATED] == ["1", schema.MESSAGE, schema.URL_PATH]
