"""JSON lines on a stream or in a file (the shape Vector, Fluent Bit and Promtail tail)."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Mapping, Sequence
from typing import IO, Any

from passivelog.sinks._base import check_number, check_schema, join_chunks, render_line

# Debian's convention for access logs (nginx, apache2): not world-readable.
_FILE_MODE = 0o640


def _is_binary(stream: Any) -> bool:
    if isinstance(stream, io.TextIOBase):
        return False
    if isinstance(stream, io.RawIOBase | io.BufferedIOBase):
        return True
    return "b" in str(getattr(stream, "mode", ""))


def _is_utf8(stream: Any) -> bool:
    encoding = getattr(stream, "encoding", None)
    return isinstance(encoding, str) and encoding.lower().replace("-", "").replace("_", "") in (
        "utf8",
        "utf8mb4",
    )


class StreamSink:
    """Writes JSON lines to a stream and flushes it after each batch.

    Args:
        stream: a text or binary stream; None means whatever ``sys.stdout`` is at write time
            (so redirections made after start-up are followed). The stream is not closed.
        schema: ``"ecs"`` or ``"otel"`` field names.
        name: the name in :meth:`Dispatcher.stats`; ``"stdout"``, ``"stderr"`` or
            ``"stream:<name>"`` by default.
    """

    def __init__(
        self,
        stream: IO[str] | IO[bytes] | None = None,
        *,
        schema: str = "ecs",
        name: str | None = None,
    ) -> None:
        if stream is not None and not callable(getattr(stream, "write", None)):
            raise ValueError("stream must have a write() method (a text or binary stream)")
        self.schema = check_schema(schema)
        self._stream = stream
        if name is None:
            if stream is None or stream is sys.stdout:
                name = "stdout"
            elif stream is sys.stderr:
                name = "stderr"
            else:
                name = f"stream:{getattr(stream, 'name', type(stream).__name__)}"
        self.name = name

    def write_batch(self, records: Sequence[Mapping[str, Any]]) -> None:
        self.write_lines([render_line(record, self.schema) for record in records])

    def write_lines(self, lines: Sequence[bytes]) -> None:
        stream: Any = sys.stdout if self._stream is None else self._stream
        binary = _is_binary(stream)
        if not binary:
            raw = getattr(stream, "buffer", None)
            if _is_utf8(stream) and raw is not None and _is_binary(raw):
                # A UTF-8 text stream (sys.stdout) takes our bytes through its binary buffer:
                # decoding them only for the text layer to encode them again cost ~0.3 µs a
                # record. What the text layer still holds goes first, to keep the order.
                stream.flush()
                stream, binary = raw, True
        for chunk in join_chunks(lines):
            stream.write(chunk if binary else chunk.decode("utf-8"))
        stream.flush()

    def close(self) -> None:
        stream: Any = sys.stdout if self._stream is None else self._stream
        with contextlib.suppress(OSError, ValueError):  # closed by its owner already
            stream.flush()


class FileSink:
    """Appends JSON lines to a file, with optional size-based rotation.

    Each chunk of whole lines (up to 24 KB) is one ``write`` to a file opened with
    ``O_APPEND``. Before each batch the path is checked (one ``stat``): when logrotate (or
    anyone) moved or removed the file, the sink opens the path afresh, so move-and-create
    rotation needs no signal and no ``copytruncate``.

    Args:
        path: the log file; its directory must exist.
        schema: ``"ecs"`` or ``"otel"`` field names.
        max_bytes: rotate before the file would grow past this size; 0 (default) never rotates
            (leave rotation to logrotate). Records are never split across files.
        backups: rotated files kept, as ``path.1`` (newest) to ``path.N``.
        name: the name in :meth:`Dispatcher.stats`; ``"file:<path>"`` by default.

    Rotation by this sink assumes one writing process; with several, give each its own file or
    rotate with logrotate.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        schema: str = "ecs",
        max_bytes: int = 0,
        backups: int = 5,
        name: str | None = None,
    ) -> None:
        self.path = os.fspath(path)
        if not self.path:
            raise ValueError("FileSink needs a file path")
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            raise ValueError(f"FileSink: directory {directory!r} does not exist")
        if os.path.isdir(self.path):
            raise ValueError(
                f"FileSink: {self.path!r} is a directory; name the log file in it, e.g. "
                f"{os.path.join(self.path, 'access.jsonl')!r}"
            )
        check_number("max_bytes", max_bytes, minimum=0, integer=True)
        check_number("backups", backups, minimum=0, integer=True)
        if max_bytes and backups < 1:
            raise ValueError("rotating (max_bytes > 0) needs backups >= 1, or records are deleted")
        self.schema = check_schema(schema)
        self.max_bytes = max_bytes
        self.backups = backups
        self.name = name if name is not None else f"file:{self.path}"
        self._fd: int | None = None
        self._identity = (0, 0)
        self._size = 0

    def write_batch(self, records: Sequence[Mapping[str, Any]]) -> None:
        self.write_lines([render_line(record, self.schema) for record in records])

    def write_lines(self, lines: Sequence[bytes]) -> None:
        self._follow_path()
        if not self.max_bytes:
            for data in join_chunks(lines):
                self._write(data)
            return
        chunk: list[bytes] = []
        pending = 0
        for line in lines:
            if self._size + pending + len(line) > self.max_bytes and self._size + pending > 0:
                if chunk:
                    self._write(b"".join(chunk))
                    chunk, pending = [], 0
                if self._size > 0:
                    self._rotate()
            chunk.append(line)
            pending += len(line)
        if chunk:
            self._write(b"".join(chunk))

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def _open(self) -> int:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        fd = self._fd = os.open(self.path, flags, _FILE_MODE)
        st = os.fstat(fd)
        self._identity = (st.st_dev, st.st_ino)
        self._size = st.st_size
        return fd

    def _follow_path(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            st = None
        if self._fd is not None:
            if st is not None and (st.st_dev, st.st_ino) == self._identity:
                self._size = st.st_size  # another writer may have appended
                return
            self.close()
        self._open()

    def _write(self, data: bytes) -> None:
        fd = self._open() if self._fd is None else self._fd
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            self._size += written
            view = view[written:]

    def _rotate(self) -> None:
        self.close()
        for i in range(self.backups - 1, 0, -1):
            source = f"{self.path}.{i}"
            if os.path.exists(source):
                os.replace(source, f"{self.path}.{i + 1}")
        if os.path.exists(self.path):
            os.replace(self.path, f"{self.path}.1")
        self._open()
