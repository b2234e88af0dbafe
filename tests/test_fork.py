"""A process forked after passivelog started writing: each process writes its own records, once.

Servers that load the app before forking workers (gunicorn ``--preload``, any master that forks)
and ``multiprocessing``'s fork start method give a child a copy of the parent's dispatcher: its
queues, its counters and its sinks' connections, but none of its worker threads. Each test forks
for real, after the parent has written through real sinks, and counts what arrives: every record
exactly once, the parent's queued ones by the parent only, the child's by the child, through its
own connections.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import traceback
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from passivelog import PassiveLogMiddleware
from passivelog.sinks import Dispatcher, FileSink, Sink

from .conftest import SECRET, http_scope
from .test_sinks import make_record

NO_FORK = pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this platform")

CHILD_TIMEOUT = 30  # seconds; a child that hangs (a full queue nobody drains) fails the test


def in_child(work: Callable[[], None]) -> None:
    """Run ``work`` in a forked child process; fail if it fails, raises or hangs."""
    sys.stdout.flush()
    sys.stderr.flush()
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a process with threads may deadlock the child. Doing
        # that safely, as gunicorn --preload does to an app, is what these tests are about.
        warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            signal.alarm(CHILD_TIMEOUT)
            work()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    assert code != -signal.SIGALRM, f"the child hung for {CHILD_TIMEOUT} s"
    assert code == 0, "the child failed; its traceback is above"


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def get(app: Any, path: str) -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    scope = http_scope(path, [], client=("192.0.2.1", 1))
    asyncio.run(app(scope, receive, send))


@NO_FORK
def test_a_forked_child_writes_its_own_records_and_none_of_the_parents(
    tmp_path: Path, city_db: Path
) -> None:
    path = tmp_path / "access.jsonl"
    # A queue smaller than what the child sends: without workers of its own the child would
    # block on it for good (overflow="block", the default).
    app = PassiveLogMiddleware(
        _ok, secret=SECRET, geo_db=city_db, sinks=[FileSink(path)], queue_size=8
    )
    get(app, "/parent/0")
    assert app.flush(5)
    for i in range(1, 6):  # possibly still queued at the fork: the parent's to write
        get(app, f"/parent/{i}")

    def child() -> None:
        for i in range(40):
            get(app, f"/child/{i}")
        assert app.flush(10)
        [stats] = app.stats()["sinks"].values()
        assert (stats.emitted, stats.written, stats.queued) == (40, 40, 0), stats

    in_child(child)
    for i in range(6, 10):
        get(app, f"/parent/{i}")
    app.close()
    written = Counter(json.loads(line)["url.path"] for line in path.read_text().splitlines())
    expected = {f"/parent/{i}" for i in range(10)} | {f"/child/{i}" for i in range(40)}
    assert set(written) == expected
    assert set(written.values()) == {1}, [p for p, n in written.items() if n > 1]
    [stats] = app.stats()["sinks"].values()
    assert (stats.emitted, stats.written) == (10, 10), "the parent counts only its own"


def through_a_fork(sink: Sink, rounds: int = 10) -> list[dict[str, Any]]:
    """Parent writes, forks; the child writes and closes; the parent writes again and closes."""
    sent = [make_record(i) for i in range(3 * rounds)]
    dispatcher = Dispatcher([sink], retry_backoff=0.05)
    for record in sent[:rounds]:
        dispatcher.emit(record)
    assert dispatcher.flush(10)  # the connection is open when the child is forked

    def child() -> None:
        for record in sent[rounds : 2 * rounds]:
            dispatcher.emit(record)
        dispatcher.close(10)
        stats = dispatcher.stats()[sink.name]
        assert (stats.emitted, stats.written, stats.failed) == (rounds, rounds, 0), stats

    in_child(child)
    for record in sent[2 * rounds :]:
        dispatcher.emit(record)
    dispatcher.close(10)
    stats = dispatcher.stats()[sink.name]
    assert (stats.emitted, stats.written, stats.failed) == (2 * rounds, 2 * rounds, 0), stats
    return sent
