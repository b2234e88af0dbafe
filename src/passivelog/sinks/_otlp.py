"""OTLP/HTTP logs through the OpenTelemetry SDK's exporter, with semantic-convention names."""

from __future__ import annotations

import calendar
import functools
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

from passivelog import schema as fields
from passivelog.sinks._base import SELF_DATASET, check_number

DEFAULT_ENDPOINT: Final = "http://127.0.0.1:4318/v1/logs"

# Carried by the log record itself (timestamp, body, trace and span ids), so not repeated as
# attributes.
_OWN_FIELDS: Final = (fields.TIMESTAMP, fields.MESSAGE, fields.TRACE_ID, fields.SPAN_ID)
_NOT_ATTRIBUTES: Final = frozenset(
    [*_OWN_FIELDS, *(fields.ECS_TO_OTEL[name] for name in _OWN_FIELDS)]
)


def hex_id(value: Any, digits: int) -> int | None:
    """A trace id (32 digits) or span id (16) as the int the SDK takes; None unless valid.

    Valid as W3C Trace Context writes them: lower-case hex, not all zeros.
    """
    if not isinstance(value, str) or len(value) != digits:
        return None
    if value.strip("0123456789abcdef"):
        return None
    number = int(value, 16)
    return number or None


def timestamp_ns(value: Any) -> int | None:
    """Nanoseconds since the epoch of an RFC 3339 timestamp, or None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # Integer arithmetic: a float of seconds loses the last digits of nanoseconds.
    seconds = calendar.timegm(moment.utctimetuple())
    return (seconds * 1_000_000 + moment.microsecond) * 1000


def _text(value: str) -> str:
    # Protobuf strings must be valid UTF-8: lone surrogates become "?", as in render.
    return value.encode("utf-8", "replace").decode("utf-8")


def _attribute(value: Any) -> Any:
    # OTLP attribute values: scalars (64-bit integers) and arrays of strings; anything else is
    # sent as text rather than failing the whole batch.
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else str(value)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return [_text(v) for v in value]
    return _text(str(value))


class OtlpSink:
    """Exports records as OpenTelemetry log records over OTLP/HTTP (protobuf).

    Uses the SDK's ``OTLPLogExporter`` directly from the dispatcher's worker thread (no
    ``BatchLogRecordProcessor``), so batching, retries and counts are the dispatcher's. Each
    record becomes a log record with the record's own time as its timestamp (the SDK would leave
    it at 0), ``message`` as body, severity INFO (WARN for passivelog's self-records), and every
    other field as an attribute under its OpenTelemetry name (``client.address``, ``url.path``,
    ``http.response.status_code``...; see :mod:`passivelog.schema`).

    Needs ``pip install 'passivelog[otlp]'``.

    Args:
        endpoint: the collector's full logs URL.
        service_name: the resource's ``service.name``.
        headers: extra HTTP headers (e.g. authorization); by default the exporter reads
            ``OTEL_EXPORTER_OTLP_LOGS_HEADERS``.
        timeout: seconds for one export, the exporter's own quick retries included.
        name: the name in :meth:`Dispatcher.stats`; ``"otlp:<endpoint>"`` by default.
    """

    def __init__(
        self,
        endpoint: str = DEFAULT_ENDPOINT,
        *,
        service_name: str = "passivelog",
        headers: Mapping[str, str] | None = None,
        timeout: float = 5.0,
        name: str | None = None,
    ) -> None:
        parts = urlsplit(endpoint) if isinstance(endpoint, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"endpoint must be an http:// or https:// URL such as {DEFAULT_ENDPOINT!r}, "
                f"not {endpoint!r}"
            )
        if not isinstance(service_name, str) or not service_name:
            raise ValueError(f"service_name must be a non-empty string, not {service_name!r}")
        check_number("timeout", timeout, minimum=0, exclusive=True)
        try:
            from opentelemetry._logs import LogRecord, SeverityNumber
            from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
            from opentelemetry.sdk._logs import ReadableLogRecord
            from opentelemetry.sdk._logs.export import LogRecordExportResult
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.util.instrumentation import InstrumentationScope
        except ImportError as exc:
            raise ImportError(
                "OtlpSink needs the OpenTelemetry SDK and OTLP/HTTP exporter: "
                "pip install 'passivelog[otlp]'"
            ) from exc
        self.endpoint = endpoint
        self.name = name if name is not None else f"otlp:{endpoint}"
        self._log_record = LogRecord
        self._readable = ReadableLogRecord
        self._info = SeverityNumber.INFO
        self._warn = SeverityNumber.WARN
        self._success = LogRecordExportResult.SUCCESS
        self._resource = Resource.create({"service.name": service_name})
        self._scope = InstrumentationScope("passivelog", _version())
        self._closed = False
        self._new_exporter = functools.partial(
            OTLPLogExporter,
            endpoint=endpoint,
            headers=dict(headers) if headers else None,
            timeout=float(timeout),
        )
        self._exporter = self._new_exporter()

    def to_log_record(self, record: Mapping[str, Any]) -> Any:
        """Return ``record`` as the SDK's ``ReadableLogRecord``."""
        now = time.time_ns()
        attributes = {
            _text(str(fields.ECS_TO_OTEL.get(key, key))): _attribute(value)
            for key, value in record.items()
            if value is not None and key not in _NOT_ATTRIBUTES
        }
        cut = attributes.get(fields.TRUNCATED)
        if isinstance(cut, list):
            attributes[fields.TRUNCATED] = [fields.ECS_TO_OTEL.get(n, n) for n in cut]
        body = record.get(fields.MESSAGE)
        warn = record.get(fields.EVENT_DATASET) == SELF_DATASET
        log_record = self._log_record(
            timestamp=timestamp_ns(record.get(fields.TIMESTAMP)) or now,
            observed_timestamp=now,
            severity_number=self._warn if warn else self._info,
            severity_text="WARN" if warn else "INFO",
            body=_text(body) if isinstance(body, str) else None,
            attributes=attributes,
            trace_id=hex_id(record.get(fields.TRACE_ID), 32),
            span_id=hex_id(record.get(fields.SPAN_ID), 16),
        )
        return self._readable(
            log_record=log_record, resource=self._resource, instrumentation_scope=self._scope
        )

    def write_batch(self, records: Sequence[Mapping[str, Any]]) -> None:
        batch = [self.to_log_record(record) for record in records]
        result = self._exporter.export(batch)
        if result is not self._success:
            # The exporter logs the cause (refused, HTTP status) to its own logger.
            raise ConnectionError(f"OTLP export to {self.endpoint} failed")

    def after_fork(self) -> None:
        """In a forked child: a new exporter, so that its HTTP connections are its own.

        The parent's exporter pools keep-alive connections that the child must neither use
        (requests of two processes would interleave on them) nor shut down (that would end them
        for the parent), so it is only let go.
        """
        self._exporter = self._new_exporter()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            exporter: Any = self._exporter  # its shutdown() is not annotated
            exporter.shutdown()


def _version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("passivelog")
    except PackageNotFoundError:
        return None
