"""Helpers for users' own tests: see the records a request produced, as dicts.

Example::

    from passivelog.testing import capture_records

    with capture_records() as records:
        client.get("/shop?utm_source=news")
    assert records[0]["url.path"] == "/shop"
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_lock = threading.Lock()
_captures: list[list[dict[str, Any]]] = []


def capturing() -> bool:
    """Whether a :func:`capture_records` block is active (records then go to it, as dicts)."""
    return bool(_captures)


def deliver_to_captures(record: dict[str, Any]) -> bool:
    """Append ``record`` to every active capture; True when one took it (then nothing is output)."""
    if not _captures:
        return False
    with _lock:
        for capture in _captures:
            capture.append(dict(record))
        return bool(_captures)


@contextmanager
def capture_records() -> Iterator[list[dict[str, Any]]]:
    """Collect every record that any passivelog middleware emits inside the ``with`` block.

    While a capture is active the records are not written to the configured output or sinks
    (like ``structlog.testing.capture_logs``). The records are exactly what a sink would receive:
    already reduced, scrubbed and named by the schema.
    """
    records: list[dict[str, Any]] = []
    with _lock:
        _captures.append(records)
    try:
        yield records
    finally:
        with _lock:
            _captures.remove(records)
