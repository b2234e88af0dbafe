"""What every sink shares: the protocol, the schema naming and the record size cap."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Protocol

import orjson

from passivelog import schema as fields
from passivelog.render import to_json_line

SCHEMAS: Final = ("ecs", "otel")

SELF_DATASET: Final = "passivelog.self"
"""``event.dataset`` of the records the dispatcher writes about itself (drops, failures)."""

SELF_DROPPED: Final = fields.SELF_DROPPED
SELF_FAILED: Final = fields.SELF_FAILED

# How many bytes longer a record's JSON line can become when it is written with the OTel names
# instead of the ECS names it is built and measured with.
RENAME_GROWTH: Final = sum(max(0, len(spec.otel) - len(spec.ecs)) for spec in fields.FIELDS)

# Fields that are never cut: short by construction, and a record without them is unusable.
_KEEP: Final = frozenset({fields.TIMESTAMP, fields.EVENT_DATASET})

# A record may never be capped below this: the fallback record must still fit.
MIN_RECORD_BYTES: Final = 1024


class Sink(Protocol):
    """Where records go. The dispatcher calls a sink from one worker thread of its own.

    ``write_batch`` writes the records in order and raises on failure; the dispatcher then counts,
    backs off and calls it again with the same records, so a sink may keep state between the two
    calls (a TCP sink reconnects). ``close`` releases what the sink holds and never raises for a
    receiver that went away.

    A sink may also define ``schema`` (``"ecs"`` or ``"otel"``, the names it writes), and
    ``max_record_bytes`` (a hard limit of its transport, such as a UDP datagram; 0 when none) and
    ``resent`` (records it sent again on its own, counted as retried), which the dispatcher reads.

    A sink that holds a connection should define ``after_fork()``: the dispatcher calls it in a
    child process right after ``os.fork()``, before the child writes, to let go of what belongs
    to the parent (without shutting it down) so the child opens its own.

    A sink that writes JSON lines may define ``write_lines(lines)`` too: the dispatcher then
    renders each record once, on the request path, in the sink's ``schema`` and within the size
    cap, and hands it the lines (each ending in ``\n``) instead of calling ``write_batch``.
    """

    name: str

    def write_batch(self, records: Sequence[Mapping[str, Any]]) -> None: ...

    def close(self) -> None: ...


def check_number(
    name: str, value: Any, *, minimum: float, integer: bool = False, exclusive: bool = False
) -> None:
    """Raise ValueError unless ``value`` is a finite number (an int if ``integer``) >=
    ``minimum`` (> if ``exclusive``)."""
    wrong_kind = isinstance(value, bool) or not isinstance(value, int | float)
    if (
        wrong_kind
        or (integer and not isinstance(value, int))
        or not math.isfinite(value)
        or value < minimum
        or (exclusive and value == minimum)
    ):
        kind = "an integer" if integer else "a finite number"
        bound = ">" if exclusive else ">="
        raise ValueError(f"{name} must be {kind} {bound} {minimum}, not {value!r}")


def check_collection(name: str, value: Any, what: str) -> tuple[Any, ...]:
    """``value`` as a tuple; ValueError naming the option when it is not a collection at all.

    Text and bytes are collections of characters, which is never what is meant: callers that
    accept one string (a comma-separated list, say) deal with it before, and for the others it
    is an error here too.
    """
    if isinstance(value, str | bytes):
        raise ValueError(f"{name} must be a list of {what}, not one string: write [{value!r}]")
    try:
        return tuple(value)
    except TypeError:
        raise ValueError(f"{name} must be a list of {what}; got {value!r}") from None


def check_schema(schema: str) -> str:
    if schema not in SCHEMAS:
        raise ValueError(f"schema must be one of {SCHEMAS}, not {schema!r}")
    return schema


def shape(record: Mapping[str, Any], schema: str) -> Mapping[str, Any]:
    """Return ``record`` with the field names of ``schema``."""
    if schema == "ecs":
        return record
    renamed = fields.rename_record(record)
    cut = renamed.get(fields.TRUNCATED)
    if isinstance(cut, list):
        renamed[fields.TRUNCATED] = [fields.ECS_TO_OTEL.get(str(name), name) for name in cut]
    return renamed


def render_line(record: Mapping[str, Any], schema: str) -> bytes:
    """Return ``record`` as one JSON line with the field names of ``schema``."""
    return to_json_line(shape(record, schema))


def render_capped(record: Mapping[str, Any], max_bytes: int, schema: str) -> tuple[bytes, bool]:
    """Return ``record``'s JSON line in ``schema``, cut to fit ``max_bytes`` (see
    :func:`cap_record`), and whether it was cut. The common case renders once."""
    line = to_json_line(record)
    if max_bytes <= 0 or len(line) <= max_bytes:
        return (line if schema == "ecs" else render_line(record, schema)), False
    capped = cap_record(record, max_bytes)
    return render_line(capped, schema), capped is not record


# Writes are made of whole lines and kept below this size: buffers of a few hundred KB are
# allocated by glibc with mmap and returned to the kernel on every batch, which cost ~3 µs per
# record in page faults (measured with 256-record batches); below ~32 KB they stay in the heap.
CHUNK_BYTES: Final = 24 * 1024


def join_chunks(lines: Iterable[bytes]) -> Iterator[bytes]:
    """Yield ``lines`` joined into chunks of at most :data:`CHUNK_BYTES`.

    A single line longer than that is a chunk of its own.
    """
    chunk: list[bytes] = []
    size = 0
    for line in lines:
        if chunk and size + len(line) > CHUNK_BYTES:
            yield b"".join(chunk)
            chunk, size = [], 0
        chunk.append(line)
        size += len(line)
    if chunk:
        yield b"".join(chunk)


def utc_now() -> str:
    """The current time as the records write it: RFC 3339, UTC, milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _valid(value: str) -> str:
    # What render.to_json_line writes for a string with lone surrogates (which orjson refuses).
    return value.encode("utf-8", "replace").decode("utf-8")


def _json_size(value: str) -> int:
    return len(orjson.dumps(value))


def _shorten(value: str, level: int) -> str:
    # The longest prefix whose JSON encoding takes at most ``level`` bytes, found by bisection:
    # escapes make bytes and characters differ, and only oversized records get here.
    low, high = 0, len(value)
    while low < high:
        middle = (low + high + 1) // 2
        if _json_size(value[:middle]) <= level:
            low = middle
        else:
            high = middle - 1
    return value[:low]


def _water_level(sizes: list[int], excess: int) -> int:
    # The largest level h such that cutting every string longer than h down to h removes at least
    # ``excess`` bytes: the longest fields give way first, and by the same amount.
    ordered = sorted(sizes, reverse=True)
    removed = 0
    for i, size in enumerate(ordered):
        following = ordered[i + 1] if i + 1 < len(ordered) else 0
        step = (size - following) * (i + 1)
        if removed + step >= excess:
            return size - -(-(excess - removed) // (i + 1))
        removed += step
    return 0


def cap_record(record: Mapping[str, Any], max_bytes: int) -> Mapping[str, Any]:
    """Return ``record`` if its JSON line fits in ``max_bytes``, else a copy cut to fit.

    The longest string fields are shortened first (all of them to the same length, as few as
    needed), and :data:`passivelog.schema.TRUNCATED` lists the fields cut. ``max_bytes`` of 0
    means no cap. A record whose other fields alone exceed the cap is reduced to its timestamp,
    dataset and message.
    """
    # Rendering with orjson (~0.3 µs for a typical record) is cheaper than estimating in Python.
    if max_bytes <= 0 or len(to_json_line(record)) <= max_bytes:
        return record
    out = dict(record)
    already = out.get(fields.TRUNCATED)
    cut: list[str] = [str(name) for name in already] if isinstance(already, list) else []
    for _ in range(8):
        names = [
            key
            for key, value in out.items()
            if isinstance(value, str) and key not in _KEEP and value
        ]
        trial = dict(out)
        trial[fields.TRUNCATED] = sorted({*cut, *map(str, names)})
        # Measure with every candidate already listed, so listing them cannot overflow the cap.
        excess = len(to_json_line(trial)) - max_bytes
        if excess <= 0:
            if cut:
                out[fields.TRUNCATED] = sorted(set(cut))
            return out
        for key in names:
            out[key] = _valid(out[key])
        sizes = {key: _json_size(out[key]) for key in names}
        if not sizes:
            break
        level = _water_level(list(sizes.values()), excess)
        for key, size in sizes.items():
            if size > level:
                out[key] = _shorten(out[key], level)
                if str(key) not in cut:
                    cut.append(str(key))
    return _minimal(record, max_bytes)


def _minimal(record: Mapping[str, Any], max_bytes: int) -> dict[str, Any]:
    # The fallback: when and what, the start of the message, and as many of the removed
    # fields' names as fit.
    minimal: dict[str, Any] = {}
    for key in (fields.TIMESTAMP, fields.EVENT_DATASET):
        value = record.get(key)
        if isinstance(value, str) and _json_size(_valid(value)) <= 64:
            minimal[key] = value
    message = record.get(fields.MESSAGE)
    if isinstance(message, str):
        minimal[fields.MESSAGE] = _shorten(_valid(message), max_bytes // 16)
    names: list[str] = []
    minimal[fields.TRUNCATED] = names
    room = max_bytes - len(to_json_line(minimal))
    for key in sorted(str(key) for key in record if key not in minimal):
        room -= _json_size(_valid(key)) + 1
        if room < 0:
            break
        names.append(key)
    return minimal
