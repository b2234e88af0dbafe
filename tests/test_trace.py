"""Trace context: the W3C ``traceparent`` header read strictly, OpenTelemetry's current span
preferred, and both carried into records, with OpenTelemetry's own ASGI instrumentation around
the middleware."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from passivelog import schema
from passivelog.testing import capture_records
from passivelog.trace import TraceIds, current_span, parse_traceparent, trace_ids

from .conftest import http_scope

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
VALID = f"00-{TRACE}-{PARENT}-01".encode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(VALID, TRACE, id="version-00"),
        pytest.param(f"00-{TRACE}-{PARENT}-00".encode(), TRACE, id="not-sampled"),
        pytest.param(b" " + VALID + b"\t", TRACE, id="optional-whitespace"),
        pytest.param(f"01-{TRACE}-{PARENT}-01".encode(), TRACE, id="later-version"),
        pytest.param(f"cc-{TRACE}-{PARENT}-01-what-comes-next".encode(), TRACE, id="later-fields"),
        pytest.param(f"00-{TRACE}-{PARENT}-01-extra".encode(), None, id="00-with-more-fields"),
        pytest.param(f"ff-{TRACE}-{PARENT}-01".encode(), None, id="version-ff"),
        pytest.param(f"00-{TRACE.upper()}-{PARENT}-01".encode(), None, id="upper-case"),
        pytest.param(f"00-{'0' * 32}-{PARENT}-01".encode(), None, id="zero-trace"),
        pytest.param(f"00-{TRACE}-{'0' * 16}-01".encode(), None, id="zero-parent"),
        pytest.param(f"00-{TRACE[:-1]}-{PARENT}-01".encode(), None, id="short-trace"),
        pytest.param(f"00-{TRACE}-{PARENT}-1".encode(), None, id="short-flags"),
        pytest.param(f"00_{TRACE}_{PARENT}_01".encode(), None, id="wrong-separators"),
        pytest.param(f"00-{TRACE}-{PARENT}-01\n".encode(), None, id="newline"),
        pytest.param(b"", None, id="empty"),
        pytest.param(None, None, id="absent"),
        pytest.param(VALID + b"-" + b"x" * 5000, None, id="huge"),
    ],
)
def test_traceparent_table(value: bytes | None, expected: str | None) -> None:
    found = parse_traceparent(value)
    assert (found.trace_id if found else None) == expected
    assert found is None or found.span_id is None  # the parent id is the caller's span


@given(
    st.binary(max_size=120) | st.builds(lambda b: VALID[:b] + VALID[b + 1 :], st.integers(0, 54))
)
def test_traceparent_never_raises_and_yields_only_lower_case_hex(value: bytes) -> None:
    found = parse_traceparent(value)
    assert found is None or re.fullmatch(r"[0-9a-f]{32}", found.trace_id)


@pytest.fixture
def tracer() -> Iterator[Any]:
    from opentelemetry.sdk.trace import TracerProvider

    yield TracerProvider().get_tracer("passivelog-tests")


def test_the_current_span_wins_over_the_header(tracer: Any) -> None:
    assert current_span() is None  # no span is current
    with tracer.start_as_current_span("request") as span:
        context = span.get_span_context()
        ids = TraceIds(f"{context.trace_id:032x}", f"{context.span_id:016x}")
        assert current_span() == ids
        assert trace_ids(VALID) == ids
    assert trace_ids(VALID) == TraceIds(TRACE)


def _app() -> Starlette:
    async def page(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/", page)])


def _one_record(app: Any, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    with capture_records() as records:
        asyncio.run(app(http_scope("/", headers), receive, send))
    [record] = records
    return record


@pytest.mark.parametrize(
    ("headers", "options", "expected"),
    [
        pytest.param([(b"traceparent", VALID)], {}, TRACE, id="header"),
        pytest.param([], {}, None, id="no-header"),
        pytest.param([(b"traceparent", b"00-junk")], {}, None, id="invalid"),
        pytest.param([(b"traceparent", VALID)] * 2, {}, None, id="two-headers"),
        pytest.param([(b"traceparent", VALID)], {"trace_context": False}, None, id="turned-off"),
    ],
)
def test_records_carry_the_trace_of_the_header(
    make_app: Callable[..., Any],
    headers: list[tuple[bytes, bytes]],
    options: dict[str, Any],
    expected: str | None,
) -> None:
    record = _one_record(make_app(_app(), **options), headers)
    assert record.get(schema.TRACE_ID) == expected
    assert schema.SPAN_ID not in record


def test_under_opentelemetry_asgi_instrumentation_records_carry_the_server_span(
    make_app: Callable[..., Any],
) -> None:
    # OpenTelemetry's own ASGI middleware, outermost as its instrumentors put it, starts the
    # server span as a child of the incoming traceparent; the record names that span.
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind

    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    app = OpenTelemetryMiddleware(make_app(_app()), tracer_provider=provider)
    record = _one_record(app, [(b"host", b"shop.test"), (b"traceparent", VALID)])
    [server] = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert record[schema.TRACE_ID] == TRACE == f"{server.context.trace_id:032x}"
    assert record[schema.SPAN_ID] == f"{server.context.span_id:016x}"
    assert server.parent is not None and f"{server.parent.span_id:016x}" == PARENT


def test_trace_context_must_be_a_bool(make_app: Callable[..., Any]) -> None:
    with pytest.raises(ValueError, match="trace_context must be True or False"):
        make_app(_app(), trace_context="yes")
