"""The queue between the request path and the sinks: one bounded lane and one worker per sink."""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from passivelog import schema as fields
from passivelog.sinks._base import (
    MIN_RECORD_BYTES,
    RENAME_GROWTH,
    SELF_DATASET,
    SELF_DROPPED,
    SELF_FAILED,
    Sink,
    cap_record,
    check_number,
    render_capped,
    render_line,
    utc_now,
)

OVERFLOW_POLICIES: Final = ("block", "drop")

_logger = logging.getLogger("passivelog")

# Retries back off exponentially from ``retry_backoff`` up to this, with ±20 % jitter so that
# several processes do not hammer a receiver that comes back in step.
_MAX_BACKOFF: Final = 2.0
_JITTER: Final = 0.2
# At most one self-record per interval, so a receiver that stays down does not flood the others.
_REPORT_INTERVAL: Final = 1.0
# How long ``close`` waits for a worker stuck in a write after giving up on it.
_JOIN_GRACE: Final = 1.0


@dataclass(frozen=True, slots=True)
class SinkStats:
    """A snapshot of one sink's counters, in records.

    At rest ``emitted == written + dropped + failed``.

    Args:
        emitted: records handed to the dispatcher for this sink.
        written: records the sink wrote.
        dropped: records refused because the queue was full (``overflow="drop"``) or the
            dispatcher was closed.
        failed: records given up on: retries exhausted, or still queued at the close deadline.
        retried: record writes attempted again (a batch of 10 retried twice adds 20), including
            records a sink resent on its own after a broken connection.
        truncated: records cut to fit the size cap.
        queued: records waiting in the queue now.
    """

    emitted: int = 0
    written: int = 0
    dropped: int = 0
    failed: int = 0
    retried: int = 0
    truncated: int = 0
    queued: int = 0


class _SelfRecord(dict[str, Any]):
    """A record the dispatcher writes about itself: not counted as emitted or written."""


class _SelfLine(bytes):
    """A self-record already rendered for a sink that takes lines."""


def _is_own(item: object) -> bool:
    # A record (or line) the app's requests produced, as opposed to one about the dispatcher.
    kind = type(item)
    return kind is not _SelfRecord and kind is not _SelfLine


class _Lane:
    """One sink's queue, counters and worker thread."""

    def __init__(
        self,
        sink: Sink,
        *,
        queue_size: int,
        overflow: str,
        batch_size: int,
        flush_interval: float,
        max_record_bytes: int,
        max_retries: int,
        retry_backoff: float,
    ) -> None:
        self.sink = sink
        self.name = sink.name
        self.queue_size = queue_size
        self.drop = overflow == "drop"
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        limits = [n for n in (max_record_bytes, getattr(sink, "max_record_bytes", 0)) if n > 0]
        limit = min(limits) if limits else 0
        if limit and getattr(sink, "schema", "ecs") == "otel":
            # The cap is measured on the ECS rendering; leave room for the longer OTel names.
            limit = max(MIN_RECORD_BYTES, limit - RENAME_GROWTH)
        self.limit = limit
        # A sink with write_lines takes JSON lines rendered (and capped) by put().
        self.lines = callable(getattr(sink, "write_lines", None))
        self.schema = getattr(sink, "schema", "ecs")

        self._fresh_state()

    def _fresh_state(self) -> None:
        # Everything that belongs to one process: the lock and conditions, the queue, the
        # counters and the worker. Also run in a child process after fork (after_fork).
        self.lock = threading.Lock()
        self.has_items = threading.Condition(self.lock)
        self.has_space = threading.Condition(self.lock)
        self.progress = threading.Condition(self.lock)
        self.abandon = threading.Event()
        # Records (or lines) gather in ``pending`` on the request path; a full batch moves to
        # ``batches`` as one list, so the worker thread takes a batch with one lock operation
        # and never touches the list while it is being filled. ``queued`` counts both.
        self.pending: list[Any] = []
        self.batches: deque[list[Any]] = deque()
        self.queued = 0
        self.thread: threading.Thread | None = None
        self.closed = False
        self.urgent = 0
        self.appended = 0
        self.settled = 0
        self.healthy = True
        self.last_error = ""
        self.emitted = 0
        self.written = 0
        self.dropped = 0
        self.failed = 0
        self.retried = 0
        self.truncated = 0

    def after_fork(self) -> None:
        """In a child process just forked: start over with this process's own state.

        The parent's worker thread did not come along, and its lock may have been held at the
        fork. What was queued is the parent's, which the parent writes: writing it here too
        would duplicate it. A sink's connections are the parent's as well (``after_fork`` on
        the sink, when it has one, drops them).
        """
        closed = self.closed
        self._fresh_state()
        self.closed = closed
        after_fork = getattr(self.sink, "after_fork", None)
        if callable(after_fork):
            try:
                after_fork()
            except Exception as exc:
                self._note_error(exc)

    # ------------------------------------------------------------------ request path
    def put(self, record: dict[str, Any]) -> None:
        item: dict[str, Any] | bytes = record
        cut = False
        if self.lines:
            # Rendered here, on the request path: the dict is still in this core's cache and is
            # freed here, and the worker thread only moves bytes. Rendering on the worker cost
            # ~1 µs a record more in all (measured): the threads fought over the objects' cache
            # lines and the GIL.
            try:
                item, cut = render_capped(record, self.limit, self.schema)
            except Exception as exc:  # one record that cannot be rendered fails alone
                self._note_error(exc)
                with self.lock:
                    self.emitted += 1
                    self.failed += 1
                return
        self.put_line(item, cut)

    def put_line(self, item: Any, cut: bool = False) -> None:
        """Queue a line already rendered for this lane (or, from put(), a record)."""
        with self.lock:
            self.emitted += 1
            if self.queued >= self.queue_size and not self.closed:
                if self.drop:
                    self.dropped += 1
                    return
                while self.queued >= self.queue_size and not self.closed:
                    self.has_space.wait()
            if self.closed:
                self.dropped += 1
                return
            pending = self.pending
            pending.append(item)
            self.queued += 1
            self.appended += 1
            self.truncated += cut
            if len(pending) >= self.batch_size:
                self.batches.append(pending)
                self.pending = []
                self.has_items.notify()
            elif len(pending) == 1:
                # The worker starts its flush_interval wait for a fuller batch.
                self.has_items.notify()

    def put_self(self, record: _SelfRecord) -> None:
        # Self-records skip the bound: at most one per report interval, and a worker must never
        # block on another sink's full queue.
        item: _SelfRecord | _SelfLine = record
        if self.lines:
            item = _SelfLine(render_line(record, self.schema))
        with self.lock:
            if self.closed:
                return
            self.batches.append([item])
            self.queued += 1
            self.appended += 1
            self.has_items.notify()

    # ------------------------------------------------------------------ worker thread
    def start(self, reporter: _Reporter) -> None:
        self.thread = threading.Thread(
            target=self._run, args=(reporter,), name=f"passivelog-sink {self.name}", daemon=True
        )
        self.thread.start()

    def _take(self) -> list[Any] | None:
        with self.lock:
            while not self.batches and not self.pending:
                if self.closed:
                    return None
                self.has_items.wait()
            if not self.batches and not (self.closed or self.urgent):
                # Gather a batch for up to ``flush_interval``: fewer writes, same latency bound.
                end = time.monotonic() + self.flush_interval
                while not self.batches and not (self.closed or self.urgent):
                    left = end - time.monotonic()
                    if left <= 0:
                        break
                    self.has_items.wait(left)
            if self.batches:
                batch = self.batches.popleft()
            else:
                batch, self.pending = self.pending, []
            self.queued -= len(batch)
            self.has_space.notify_all()
            return batch

    def _run(self, reporter: _Reporter) -> None:
        while (batch := self._take()) is not None:
            self._deliver(batch)
            with self.lock:
                self.settled += len(batch)
                self.progress.notify_all()
            reporter.maybe_report()

    def _prepare(self, batch: list[Any]) -> tuple[list[Any], int, int]:
        if self.lines:  # rendered and capped by put()
            # A self-record travels alone (put_self); every other batch holds only own lines.
            own = len(batch) - (len(batch) == 1 and not _is_own(batch[0]))
            return batch, own, 0
        records: list[Mapping[str, Any]] = []
        own = truncated = 0
        for record in batch:
            mine = _is_own(record)
            try:
                capped = cap_record(record, self.limit) if self.limit else record
            except Exception as exc:  # one record that cannot be measured fails alone
                self._note_error(exc)
                self._settle_failed([record])
                continue
            own += mine
            truncated += mine and capped is not record
            records.append(capped)
        return records, own, truncated

    def _deliver(self, batch: list[Any]) -> None:
        if self.abandon.is_set():
            self._settle_failed(batch)
            return
        records, own, truncated = self._prepare(batch)
        if not records:
            return
        write = self.sink.write_lines if self.lines else self.sink.write_batch  # type: ignore[attr-defined]
        attempt = 0
        while True:
            try:
                write(records)
            except Exception as exc:
                self._note_error(exc)
                if attempt >= self.max_retries or self.abandon.is_set():
                    with self.lock:
                        self.failed += own
                    return
                attempt += 1
                with self.lock:
                    self.retried += own
                delay = min(_MAX_BACKOFF, self.retry_backoff * 2 ** (attempt - 1))
                self.abandon.wait(delay * random.uniform(1 - _JITTER, 1 + _JITTER))
                continue
            with self.lock:
                self.written += own
                self.truncated += truncated
                self.healthy = True
            return

    def _note_error(self, exc: Exception) -> None:
        with self.lock:
            self.healthy = False
            self.last_error = f"{type(exc).__name__}: {exc}"[:200]

    def _settle_failed(self, batch: list[Any]) -> None:
        own = sum(_is_own(item) for item in batch)
        with self.lock:
            self.failed += own

    # ------------------------------------------------------------------ flush and close
    def request_flush(self) -> int:
        with self.lock:
            self.urgent += 1
            self.has_items.notify()
            return self.appended

    def wait_settled(self, target: int, deadline: float) -> bool:
        with self.lock:
            try:
                while self.settled < target:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self.progress.wait(left)
                return True
            finally:
                self.urgent -= 1

    def begin_close(self) -> None:
        with self.lock:
            self.closed = True
            self.has_space.notify_all()
            self.has_items.notify_all()

    def give_up(self) -> None:
        """After the close deadline: stop retrying, count what is still queued as failed."""
        self.abandon.set()
        thread = self.thread
        if thread is not None:
            thread.join(_JOIN_GRACE)
        with self.lock:
            left = [item for batch in self.batches for item in batch] + self.pending
            self.batches.clear()
            self.pending = []
            self.queued = 0
            self.settled += len(left)
            self.progress.notify_all()
            if left and not self.last_error:
                self.last_error = "still queued at the close deadline (receiver too slow or down)"
        self._settle_failed(left)

    def stats(self) -> SinkStats:
        resent = getattr(self.sink, "resent", 0)
        with self.lock:
            return SinkStats(
                emitted=self.emitted,
                written=self.written,
                dropped=self.dropped,
                failed=self.failed,
                retried=self.retried + (resent if isinstance(resent, int) else 0),
                truncated=self.truncated,
                queued=self.queued,
            )


class _Reporter:
    """Turns new drops and failures into a self-record for the sinks that are working."""

    def __init__(self, lanes: Sequence[_Lane]) -> None:
        self.lanes = lanes
        self.reset()

    def reset(self) -> None:
        # Also in a forked child, whose lanes count from zero again.
        self.lock = threading.Lock()
        self.next_at = 0.0
        self.seen = {id(lane): (0, 0) for lane in self.lanes}

    def maybe_report(self, *, force: bool = False) -> bool:
        """Report losses not reported yet (at most once a second unless forced)."""
        now = time.monotonic()
        if not force and now < self.next_at:
            return False
        with self.lock:
            if not force and now < self.next_at:
                return False
            message, dropped, failed = self._losses()
            if not message:
                return False
            self.next_at = now + _REPORT_INTERVAL
            record = _SelfRecord(
                {
                    fields.TIMESTAMP: utc_now(),
                    fields.MESSAGE: message,
                    fields.EVENT_DATASET: SELF_DATASET,
                    SELF_DROPPED: dropped,
                    SELF_FAILED: failed,
                }
            )
            # Queued under the lock, so that a flush which finds nothing new to report knows
            # the report made meanwhile is already queued.
            for lane in self.lanes:
                if lane.healthy:
                    lane.put_self(record)
        _logger.warning("%s", message)
        return True

    def _losses(self) -> tuple[str, int, int]:
        parts: list[str] = []
        dropped = failed = 0
        for lane in self.lanes:
            with lane.lock:
                counts = (lane.dropped, lane.failed)
                error = lane.last_error
            before = self.seen[id(lane)]
            self.seen[id(lane)] = counts
            new_dropped, new_failed = counts[0] - before[0], counts[1] - before[1]
            what = []
            if new_dropped:
                what.append(f"{new_dropped} dropped")
            if new_failed:
                what.append(f"{new_failed} failed ({error or 'unknown error'})")
            if what:
                parts.append(f"{lane.name}: {', '.join(what)}")
                dropped += new_dropped
                failed += new_failed
        if not parts:
            return "", 0, 0
        return f"passivelog lost records since its last report: {'; '.join(parts)}", dropped, failed


class _Shutdown:
    """Flush-then-close, shared by :meth:`Dispatcher.close` and the exit-time finalizer."""

    def __init__(self, lanes: Sequence[_Lane], reporter: _Reporter) -> None:
        self.lanes = lanes
        self.reporter = reporter
        self.lock = threading.Lock()
        self.done = False

    def after_fork(self) -> None:
        self.lock = threading.Lock()  # ``done`` stays: a closed dispatcher stays closed

    def _settle(self, deadline: float) -> list[bool]:
        targets = [(lane, lane.request_flush()) for lane in self.lanes]
        return [lane.wait_settled(target, deadline) for lane, target in targets]

    def flush(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        done = all(self._settle(deadline))
        # Losses found while flushing are reported now, and that report (or one a worker made
        # meanwhile) is flushed too.
        self.reporter.maybe_report(force=True)
        return all(self._settle(deadline)) and done

    def close(self, timeout: float) -> None:
        with self.lock:
            if self.done:
                return
            self.done = True
        deadline = time.monotonic() + timeout
        self.flush(timeout)
        for lane in self.lanes:
            lane.begin_close()
        # Records emitted while flushing (closing under load) are still written.
        for lane, settled in zip(self.lanes, self._settle(deadline), strict=True):
            if not settled:
                lane.give_up()
        # Losses at the very end can only be logged: the sinks take no more records.
        self.reporter.maybe_report(force=True)
        closing: list[tuple[_Lane, threading.Thread]] = []
        for lane in self.lanes:
            if lane.thread is not None:
                lane.thread.join(max(0.0, min(_JOIN_GRACE, deadline - time.monotonic())))
            # A sink's own close may wait on its receiver (the TCP syslog sink waits up to its
            # timeout for the receiver to confirm the end of the stream). It runs aside, so that
            # a stalled receiver holds shutdown to the deadline plus the grace, not beyond.
            closer = threading.Thread(
                target=_close_sink, args=(lane,), name=f"passivelog-close {lane.name}", daemon=True
            )
            try:
                closer.start()
            except RuntimeError:  # no new threads during interpreter finalization (3.12+)
                _close_sink(lane)
                continue
            closing.append((lane, closer))
        for lane, closer in closing:
            closer.join(max(0.0, deadline - time.monotonic()) + _JOIN_GRACE)
            if closer.is_alive():
                _logger.warning(
                    "passivelog: closing sink %s did not finish within the flush timeout; "
                    "shutdown goes on without waiting for it",
                    lane.name,
                )


def _close_sink(lane: _Lane) -> None:
    try:
        lane.sink.close()
    except Exception as exc:
        _logger.warning("passivelog: closing sink %s failed: %r", lane.name, exc)


def _close_at_exit(shutdown: _Shutdown, timeout: float) -> None:
    shutdown.close(timeout)


# Every dispatcher of this process, held weakly, so that a forked child can set up its own
# workers (Dispatcher._after_fork); the same reason the logging module and OpenTelemetry's
# batch processors re-create their locks and threads in os.register_at_fork hooks.
_LIVE: weakref.WeakSet[Dispatcher] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for dispatcher in list(_LIVE):
        dispatcher._after_fork()


if hasattr(os, "register_at_fork"):  # POSIX only; there is no fork elsewhere
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Dispatcher:
    """Hands records from the request path to sinks, in batches, on background threads.

    Each sink gets its own bounded queue and worker thread, so a slow or failing sink holds up
    neither the others nor the app (unless ``overflow="block"`` and its queue is full: that is
    the back-pressure asked for). Records keep their order per sink. A failed write is retried
    with exponential backoff; records given up on, and records dropped on overflow, are counted
    (:meth:`stats`) and reported in a self-record (``event.dataset`` ``"passivelog.self"``) to the
    sinks that work, and to the ``passivelog`` stdlib logger.

    Args:
        sinks: where records go; names must be unique.
        queue_size: records each sink's queue holds.
        overflow: ``"block"`` makes :meth:`emit` wait for space (nothing lost); ``"drop"``
            drops the record for that sink and counts it.
        batch_size: most records per write.
        flush_interval: seconds a worker waits to gather a fuller batch; the latency bound.
        flush_timeout: default deadline of :meth:`flush` and :meth:`close`, in seconds.
        max_record_bytes: cap on a record's JSON size; longer strings are cut and listed in
            ``passivelog.truncated``. 0 disables the cap (a sink's own limit still applies).
        max_retries: retries of a failed write before its records count as failed.
        retry_backoff: first retry delay in seconds; doubles per retry, at most 2 s.
    """

    def __init__(
        self,
        sinks: Sequence[Sink],
        *,
        queue_size: int = 10_000,
        overflow: str = "block",
        batch_size: int = 256,
        flush_interval: float = 0.2,
        flush_timeout: float = 5.0,
        max_record_bytes: int = 16_384,
        max_retries: int = 10,
        retry_backoff: float = 0.05,
    ) -> None:
        sinks = list(sinks)
        if not sinks:
            raise ValueError("Dispatcher needs at least one sink")
        names: set[str] = set()
        for sink in sinks:
            if isinstance(sink, type):
                raise ValueError(
                    f"sinks holds the class {sink.__name__}, not a sink: create one, "
                    f"e.g. {sink.__name__}(...)"
                )
            if not callable(getattr(sink, "write_batch", None)) or not callable(
                getattr(sink, "close", None)
            ):
                raise ValueError(f"{sink!r} is not a sink: it needs write_batch() and close()")
            name = getattr(sink, "name", None)
            if not isinstance(name, str) or not name:
                raise ValueError(f"{sink!r} needs a non-empty str name")
            if name in names:
                raise ValueError(f"two sinks are named {name!r}: pass name= to tell them apart")
            names.add(name)
        if overflow not in OVERFLOW_POLICIES:
            raise ValueError(f"overflow must be one of {OVERFLOW_POLICIES}, not {overflow!r}")
        check_number("queue_size", queue_size, minimum=1, integer=True)
        check_number("batch_size", batch_size, minimum=1, integer=True)
        check_number("max_retries", max_retries, minimum=0, integer=True)
        check_number("max_record_bytes", max_record_bytes, minimum=0, integer=True)
        if 0 < max_record_bytes < MIN_RECORD_BYTES:
            raise ValueError(
                f"max_record_bytes must be 0 (no cap) or at least {MIN_RECORD_BYTES}, "
                f"not {max_record_bytes}"
            )
        check_number("flush_interval", flush_interval, minimum=0.0)
        check_number("flush_timeout", flush_timeout, minimum=0.0)
        check_number("retry_backoff", retry_backoff, minimum=0.0)
        self.flush_timeout = float(flush_timeout)
        self._lanes = [
            _Lane(
                sink,
                queue_size=queue_size,
                overflow=overflow,
                batch_size=batch_size,
                flush_interval=flush_interval,
                max_record_bytes=max_record_bytes,
                max_retries=max_retries,
                retry_backoff=retry_backoff,
            )
            for sink in sinks
        ]
        self._reporter = _Reporter(self._lanes)
        self._shutdown = _Shutdown(self._lanes, self._reporter)
        self._start_lock = threading.Lock()
        self._started = False
        _LIVE.add(self)
        # Weak: holds the lanes, not the dispatcher. Runs at interpreter exit if close() was not
        # called (a fallback only: uvicorn and granian workers never run atexit, so the
        # middleware closes on lifespan shutdown), or when the dispatcher is collected.
        self._finalizer = weakref.finalize(self, _close_at_exit, self._shutdown, self.flush_timeout)

    @property
    def sinks(self) -> list[Sink]:
        return [lane.sink for lane in self._lanes]

    def _after_fork(self) -> None:
        # A child of os.fork() has none of the parent's worker threads: without this, a
        # dispatcher that had started before the fork queued the child's records for workers
        # that do not exist, lost them all, and with overflow="block" stopped the app once the
        # queue was full. Servers that fork after loading the app (gunicorn --preload, a
        # master that forks workers) and multiprocessing's fork start method get here.
        self._start_lock = threading.Lock()
        self._started = False
        for lane in self._lanes:
            lane.after_fork()
        self._reporter.reset()
        self._shutdown.after_fork()

    def start(self) -> None:
        """Start the worker threads (done by the first :meth:`emit` otherwise)."""
        with self._start_lock:
            if self._started:
                return
            self._started = True
            for lane in self._lanes:
                lane.start(self._reporter)

    def emit(self, record: dict[str, Any]) -> None:
        """Queue ``record`` for every sink; never raises, never does I/O.

        The dispatcher keeps the dict: do not change it afterwards. With ``overflow="block"``
        this waits while a sink's queue is full.
        """
        self._to_lanes(_Lane.put, record)

    @property
    def line_limit(self) -> int | None:
        """The longest line :meth:`emit_line` accepts (0: any), or None when some sink does not
        take ECS JSON lines, so that records must go through :meth:`emit`."""
        if not all(lane.lines and lane.schema == "ecs" for lane in self._lanes):
            return None
        limits = [lane.limit for lane in self._lanes if lane.limit]
        return min(limits) if limits else 0

    def emit_line(self, line: bytes) -> None:
        """Queue a record already rendered as an ECS JSON line, within :attr:`line_limit`.

        For callers that render records themselves; the same guarantees as :meth:`emit`.
        """
        # _to_lanes written out: this runs for nearly every request, and a call fewer counts.
        try:
            if not self._started:
                self.start()
            for lane in self._lanes:
                lane.put_line(line)
        except Exception:  # pragma: no cover - defensive: logging never breaks a request
            pass

    def _to_lanes(self, put: Callable[[_Lane, Any], None], item: Any) -> None:
        try:
            if not self._started:
                self.start()
            for lane in self._lanes:
                put(lane, item)
        except Exception:  # pragma: no cover - defensive: logging never breaks a request
            pass

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every record emitted so far is written or given up on.

        Returns False if that did not happen within ``timeout`` seconds (default
        ``flush_timeout``).
        """
        return self._shutdown.flush(self.flush_timeout if timeout is None else timeout)

    def close(self, timeout: float | None = None) -> None:
        """Flush within ``timeout`` (default ``flush_timeout``), then close the sinks.

        Records still queued at the deadline count as failed; later :meth:`emit` calls count as
        dropped. Safe to call more than once.
        """
        self._finalizer.detach()
        self._shutdown.close(self.flush_timeout if timeout is None else timeout)

    def stats(self) -> dict[str, SinkStats]:
        """A snapshot of each sink's counters, by sink name."""
        return {lane.name: lane.stats() for lane in self._lanes}

    def __enter__(self) -> Dispatcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
