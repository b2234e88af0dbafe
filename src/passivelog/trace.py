"""Trace context: which distributed trace a request belongs to, for joining records to traces.

Two sources, in this order:

1. The span that is current while the request is handled, when the app runs OpenTelemetry and its
   ASGI instrumentation wraps passivelog (``opentelemetry-instrumentation-asgi``, or FastAPI's and
   Starlette's instrumentors, which put it outermost): the server span's trace and span ids.
2. Otherwise the request's W3C ``traceparent`` header, as a proxy or an instrumented client wrote
   it: its trace id only. Its parent id names the caller's span, not one of this service.

Both are random identifiers of one request's trace, not of a visitor. The header is checked
strictly against W3C Trace Context (version 00 and later), so what reaches a record is always 32
(and 16) lower-case hex digits, whatever a client sent.
"""

from __future__ import annotations

import re
import sys
from typing import Final, NamedTuple


class TraceIds(NamedTuple):
    """The ids a record carries: ``trace.id``, and ``span.id`` when a span of ours is known."""

    trace_id: str
    span_id: str | None = None


# W3C Trace Context, section 3.2.2: version "-" trace-id "-" parent-id "-" trace-flags, each
# lower-case hex (HEXDIGLC) of 2, 32, 16 and 2 digits. Version ff is invalid (3.2.2.1); a later
# version may append fields after a "-" and is read as version 00 (3.2.4, "Versioning of
# traceparent"). Version 00 itself has nothing after the flags.
_TRACEPARENT: Final = re.compile(
    rb"(?P<version>[0-9a-f]{2})-(?P<trace>[0-9a-f]{32})-(?P<parent>[0-9a-f]{16})-[0-9a-f]{2}"
    rb"(?P<rest>-.*)?"
)
_ZERO_TRACE: Final = b"0" * 32
_ZERO_PARENT: Final = b"0" * 16
# Longer values are not parsed: version 00 is 55 bytes, and nothing later is expected to need 4 KB.
_MAX_TRACEPARENT: Final = 4096


def parse_traceparent(value: bytes | None) -> TraceIds | None:
    """The trace id of a ``traceparent`` header value, or None when it is absent or invalid.

    Invalid (W3C Trace Context 3.2.2): anything but the exact shape above, upper-case hex,
    version ``ff``, an all-zero trace id or parent id, and version 00 followed by more fields.
    Never raises.
    """
    if not isinstance(value, bytes | bytearray) or len(value) > _MAX_TRACEPARENT:
        return None
    match = _TRACEPARENT.fullmatch(value.strip(b" \t"))
    if match is None:
        return None
    version, trace, parent, rest = match.group("version", "trace", "parent", "rest")
    if version == b"ff" or (version == b"00" and rest is not None):
        return None
    if trace == _ZERO_TRACE or parent == _ZERO_PARENT:
        return None
    return TraceIds(trace.decode("ascii"))


# The module of OpenTelemetry's trace API, whose current span is read once the app has loaded it.
OTEL_TRACE_MODULE: Final = "opentelemetry.trace"


def current_span() -> TraceIds | None:
    """The trace and span ids of OpenTelemetry's current span, or None.

    Only looked for when the app has imported OpenTelemetry's trace API: passivelog neither
    imports nor requires it.
    """
    trace_api = sys.modules.get(OTEL_TRACE_MODULE)
    if trace_api is None:
        return None
    try:
        context = trace_api.get_current_span().get_span_context()
        if not context.is_valid:
            return None
        return TraceIds(format(context.trace_id, "032x"), format(context.span_id, "016x"))
    except Exception:  # an API this version does not know: no trace rather than no record
        return None


def trace_ids(traceparent: bytes | None) -> TraceIds | None:
    """The request's trace: OpenTelemetry's current span, else the ``traceparent`` header."""
    return current_span() or parse_traceparent(traceparent)


__all__ = ["OTEL_TRACE_MODULE", "TraceIds", "current_span", "parse_traceparent", "trace_ids"]
