"""The record's field names: the one definition used by code, docs and tests.

Every key a record can carry is declared here once, with its Elastic Common Schema (ECS) name, its
OpenTelemetry semantic-convention name, its JSON type, an example and a privacy note. Records are
built with the ECS names (flat, dotted keys, which Elasticsearch, Vector and Loki accept as they
are); :func:`rename_record` maps a record to the OpenTelemetry names for ``schema="otel"`` sinks.

A name that is in neither registry lives under ``passivelog.``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of the record.

    Args:
        ecs: the field's name in the default (ECS) schema.
        otel: its name under ``schema="otel"``.
        type: the JSON type written.
        example: a value as it would appear.
        privacy: what the field may reveal and how passivelog reduces it.
    """

    ecs: str
    otel: str
    type: str
    example: str
    privacy: str


TIMESTAMP: Final = "@timestamp"
MESSAGE: Final = "message"
EVENT_DATASET: Final = "event.dataset"
EVENT_DURATION: Final = "event.duration"
EVENT_OUTCOME: Final = "event.outcome"
CLIENT_IP: Final = "client.ip"
IP_ID: Final = "passivelog.ip_id"
GEO_COUNTRY: Final = "client.geo.country_iso_code"
GEO_REGION: Final = "client.geo.region_iso_code"
GEO_REGION_NAME: Final = "client.geo.region_name"
HTTP_METHOD: Final = "http.request.method"
URL_SCHEME: Final = "url.scheme"
URL_PATH: Final = "url.path"
URL_QUERY: Final = "url.query"
REFERRER: Final = "http.request.referrer"
STATUS_CODE: Final = "http.response.status_code"
BODY_BYTES: Final = "http.response.body.bytes"
HTTP_VERSION: Final = "http.version"
REQUEST_ID: Final = "http.request.id"
TRACE_ID: Final = "trace.id"
SPAN_ID: Final = "span.id"
UA_ORIGINAL: Final = "user_agent.original"
UA_NAME: Final = "user_agent.name"
UA_VERSION: Final = "user_agent.version"
UA_OS_NAME: Final = "user_agent.os.name"
UA_OS_VERSION: Final = "user_agent.os.version"
UA_DEVICE_NAME: Final = "user_agent.device.name"
ERROR_TYPE: Final = "error.type"
DEVICE_CLASS: Final = "passivelog.device_class"
COOKIE_ID: Final = "passivelog.cookie_id"
AD_ID: Final = "passivelog.ad_id"
ABORTED: Final = "passivelog.aborted"
KIND: Final = "passivelog.kind"
WS_CLOSE_CODE: Final = "passivelog.websocket.close_code"
REDACTIONS: Final = "passivelog.redactions"
OPT_OUT: Final = "passivelog.opt_out"
OPT_OUT_SIGNALS: Final = "passivelog.opt_out_signals"
TRUNCATED: Final = "passivelog.truncated"
INTERNAL_ERROR: Final = "passivelog.internal_error"
SELF_DROPPED: Final = "passivelog.self.dropped"
SELF_FAILED: Final = "passivelog.self.failed"

DATASET: Final = "passivelog.access"

FIELDS: Final[tuple[FieldSpec, ...]] = (
    FieldSpec(
        TIMESTAMP,
        "passivelog.timestamp",
        "string",
        "2026-11-29T22:18:55.123Z",
        "When the response completed, RFC 3339 UTC with milliseconds. OTLP sinks carry it as "
        "the log record's own timestamp.",
    ),
    FieldSpec(
        MESSAGE,
        "passivelog.message",
        "string",
        "GET /shop 200",
        "Method, scrubbed path and status only.",
    ),
    FieldSpec(
        EVENT_DATASET,
        "passivelog.dataset",
        "string",
        DATASET,
        "Constant: lets a pipeline route access records.",
    ),
    FieldSpec(
        EVENT_DURATION,
        "passivelog.duration_ns",
        "integer",
        "1843000",
        "Nanoseconds from the request's start to its last body byte (or abort).",
    ),
    FieldSpec(
        EVENT_OUTCOME,
        "passivelog.outcome",
        "string",
        "success",
        "`success` below 400, `failure` from 400, `unknown` when aborted.",
    ),
    FieldSpec(KIND, "passivelog.kind", "string", "http", "`http` or `websocket`."),
    FieldSpec(
        CLIENT_IP,
        "client.address",
        "string",
        "203.0.113.0",
        "Per `ip_mode`: full or truncated (/24, /48); absent with `hash` and `drop`. Always an "
        "address, as ECS's `ip` type asks.",
    ),
    FieldSpec(
        IP_ID,
        IP_ID,
        "string",
        "b7TqV0xk3LwPz9R1mYcN2A",
        'Only with `ip_mode="hash"`: keyed HMAC-SHA256 pseudonym of the full address. Kept out of '
        "`client.ip`, which Elasticsearch maps as type `ip` and would reject it in.",
    ),
    FieldSpec(
        GEO_COUNTRY,
        "geo.country.iso_code",
        "string",
        "GB",
        "Looked up from the full IP before it is reduced; absent when unknown.",
    ),
    FieldSpec(
        GEO_REGION,
        "geo.region.iso_code",
        "string",
        "GB-ENG",
        "ISO 3166-2 subdivision; absent when unknown or ambiguous.",
    ),
    FieldSpec(
        GEO_REGION_NAME,
        "passivelog.geo.region_name",
        "string",
        "England",
        "The subdivision's English name.",
    ),
    FieldSpec(HTTP_METHOD, "http.request.method", "string", "GET", "-"),
    FieldSpec(URL_SCHEME, "url.scheme", "string", "https", "-"),
    FieldSpec(
        URL_PATH,
        "url.path",
        "string",
        "/unsubscribe",
        "Scrubbed: personal data in segments is replaced by typed placeholders.",
    ),
    FieldSpec(
        URL_QUERY,
        "url.query",
        "string",
        "email=[email]&utm_source=news",
        "Scrubbed by key and by value; absent when empty.",
    ),
    FieldSpec(
        REFERRER,
        "passivelog.referrer",
        "string",
        "https://example.com/search?q=shoes",
        "Scrubbed, reduced to its origin, or dropped (`referrer_mode`).",
    ),
    FieldSpec(
        STATUS_CODE,
        "http.response.status_code",
        "integer",
        "200",
        "500 when the app raised before sending a response; 499 when the client left before "
        "one. A WebSocket's handshake answer: 101 accepted, 403 closed before accepting, 500 "
        "when the app failed before answering (granian then answers 403 on the wire).",
    ),
    FieldSpec(
        BODY_BYTES,
        "http.response.body.size",
        "integer",
        "5120",
        "Body bytes sent to the client: 0 for a `HEAD` response and a 1xx, 204 or 304 one, which "
        "carry none (the server drops what the app passes).",
    ),
    FieldSpec(HTTP_VERSION, "network.protocol.version", "string", "1.1", "-"),
    FieldSpec(
        REQUEST_ID,
        "passivelog.request_id",
        "string",
        "4f1c2b9a8e7d6c5b",
        "An incoming `X-Request-ID` when well formed (<= 128 safe characters), else new.",
    ),
    FieldSpec(
        TRACE_ID,
        "passivelog.trace_id",
        "string",
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "The request's distributed trace: OpenTelemetry's current span, else a valid W3C "
        "`traceparent` header (32 lower-case hex digits). A random id per trace, not per "
        "visitor; `trace_context=False` leaves it out. OTLP sinks carry it as the log record's "
        "own trace id.",
    ),
    FieldSpec(
        SPAN_ID,
        "passivelog.span_id",
        "string",
        "00f067aa0ba902b7",
        "The server span's id, when OpenTelemetry's instrumentation wraps passivelog. OTLP sinks "
        "carry it as the log record's own span id.",
    ),
    FieldSpec(
        UA_ORIGINAL,
        "user_agent.original",
        "string",
        "Mozilla/5.0 ...",
        "Only when `log_user_agent=True`; off by default (fingerprinting).",
    ),
    FieldSpec(UA_NAME, "user_agent.name", "string", "Chrome", "Parsed browser family."),
    FieldSpec(UA_VERSION, "user_agent.version", "string", "126.0.0", "-"),
    FieldSpec(UA_OS_NAME, "user_agent.os.name", "string", "Windows", "-"),
    FieldSpec(UA_OS_VERSION, "user_agent.os.version", "string", "10", "-"),
    FieldSpec(UA_DEVICE_NAME, "passivelog.device.name", "string", "iPhone", "-"),
    FieldSpec(
        DEVICE_CLASS, DEVICE_CLASS, "string", "pc", "`mobile`, `tablet`, `pc`, `bot` or `other`."
    ),
    FieldSpec(
        COOKIE_ID,
        COOKIE_ID,
        "string",
        "q3Jx0mYb5dQe7zR2LwNf8A",
        "Keyed HMAC-SHA256 pseudonym of the first ID cookie present; never the raw value.",
    ),
    FieldSpec(
        AD_ID,
        AD_ID,
        "string",
        "Zt0sPq1vX2cK9mLbN4yR6w",
        "Only with `log_ad_id=True` and no opt-out: pseudonym of the ad cookie.",
    ),
    FieldSpec(
        ERROR_TYPE,
        "error.type",
        "string",
        "RuntimeError",
        "The exception's class name when the app raised before its response completed, or "
        "after a 5xx one; never its message. An exception in a background task after a "
        "complete response is the server's to log.",
    ),
    FieldSpec(
        ABORTED,
        ABORTED,
        "boolean",
        "true",
        "Present (true) when the client disconnected before the response completed.",
    ),
    FieldSpec(WS_CLOSE_CODE, WS_CLOSE_CODE, "integer", "1000", "WebSocket records only."),
    FieldSpec(
        REDACTIONS,
        REDACTIONS,
        "array",
        '["query:key:email", "referrer:value:email"]',
        "Which scrubbing rules fired, and where; never the removed values.",
    ),
    FieldSpec(OPT_OUT, OPT_OUT, "boolean", "false", "Whether the visitor opted out of ad cookies."),
    FieldSpec(
        OPT_OUT_SIGNALS, OPT_OUT_SIGNALS, "array", '["gpc"]', "Which opt-out signals were present."
    ),
    FieldSpec(
        TRUNCATED, TRUNCATED, "array", '["url.query"]', "Fields cut to fit the record size cap."
    ),
    FieldSpec(
        INTERNAL_ERROR,
        INTERNAL_ERROR,
        "string",
        "KeyError",
        "Only when building the record failed: a minimal record without request data.",
    ),
    FieldSpec(
        SELF_DROPPED,
        SELF_DROPPED,
        "integer",
        "12",
        "Self-records (`event.dataset` = `passivelog.self`) only: records dropped since the last.",
    ),
    FieldSpec(
        SELF_FAILED,
        SELF_FAILED,
        "integer",
        "3",
        "Self-records only: records a sink failed to write since the last.",
    ),
)

ECS_TO_OTEL: Final[Mapping[str, str]] = {f.ecs: f.otel for f in FIELDS}


def field_table() -> str:
    """Every field as a Markdown table: the README's, and what ``passivelog fields`` prints."""
    lines = [
        "| field (ECS) | OTel name | type | example | privacy note |",
        "| --- | --- | --- | --- | --- |",
        *(f"| `{f.ecs}` | `{f.otel}` | {f.type} | `{f.example}` | {f.privacy} |" for f in FIELDS),
    ]
    return "\n".join(lines) + "\n"


def rename_record(
    record: Mapping[str, Any], names: Mapping[str, str] = ECS_TO_OTEL
) -> dict[str, Any]:
    """Return ``record`` with its keys renamed through ``names`` (unknown keys kept as they are)."""
    return {names.get(key, key): value for key, value in record.items()}
