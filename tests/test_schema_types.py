"""Records fit the types the schemas give their fields, so pipelines index them without rejects.

With an ECS index template installed (the ones ECS generates, Filebeat's, Elastic Agent's),
Elasticsearch maps each ECS field by its ECS type. A value that does not parse as its field's type
gets the whole document rejected (`mapper_parsing_exception`, unless `ignore_malformed` is set),
and a name that is a field in one record and a parent object in another is a mapping conflict.
Loki and Vector are looser, but a type that changes from record to record breaks their queries
and their Elasticsearch sinks alike.

The types come from the ECS and OpenTelemetry registries in ``../shared/schemas``; the tests that
read them skip when that directory is absent. The structural checks need no registry.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import ipaddress
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from passivelog import schema
from passivelog.client import IP_MODES
from passivelog.render import to_json_line
from passivelog.testing import capture_records
from tests.test_hostile import call, header_bytes, header_names, ok_app, paths

from .conftest import SHARED, http_scope

MakeApp = Callable[..., Any]

INT64 = range(-(2**63), 2**63)
# What passivelog writes for @timestamp: RFC 3339, UTC, milliseconds. Elasticsearch's default
# date format (strict_date_optional_time||epoch_millis) reads it.
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")

# JSON type in schema.FIELDS -> the registry types a value of it indexes under.
ECS_TYPES_OF = {
    "string": {"keyword", "wildcard", "match_only_text", "text", "ip", "date", "constant_keyword"},
    "integer": {"long", "integer", "short", "byte", "unsigned_long"},
    "boolean": {"boolean"},
}
OTEL_TYPES_OF = {"string": {"string", "enum"}, "integer": {"int"}, "boolean": {"boolean"}}
TYPES_OF = {"ecs": ECS_TYPES_OF, "otel": OTEL_TYPES_OF}


def _registry(name: str, key: str, kind: str) -> dict[str, str]:
    path = SHARED / "schemas" / name
    if not path.exists():
        pytest.skip(f"the shared registry {name} is not beside the repo")
    with path.open(newline="") as fh:
        return {row[key]: row[kind] for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def ecs_types() -> dict[str, str]:
    return _registry("ecs-fields.csv", "Field", "Type")


@pytest.fixture(scope="module")
def otel_types() -> dict[str, str]:
    return _registry("otel-attributes.csv", "attribute", "type")


# -- the declared types ------------------------------------------------------------------------


@pytest.mark.parametrize("names", ["ecs", "otel"])
@pytest.mark.parametrize("field", [f for f in schema.FIELDS if f.type != "array"], ids=str)
def test_declared_type_fits_the_registry_type(
    field: schema.FieldSpec, names: str, request: pytest.FixtureRequest
) -> None:
    registry: dict[str, str] = request.getfixturevalue(f"{names}_types")
    name = getattr(field, names)
    if not name.startswith("passivelog."):
        assert registry[name] in TYPES_OF[names][field.type]


@pytest.mark.parametrize("names", ["ecs", "otel"])
def test_no_name_is_both_a_field_and_a_parent(names: str) -> None:
    # "a.b" as a value in one record and "a.b.c" in another cannot both be mapped.
    fields = [getattr(f, names) for f in schema.FIELDS]
    assert len(set(fields)) == len(fields)
    for name in fields:
        children = [other for other in fields if other.startswith(name + ".")]
        assert not children, (name, children)


def test_ip_typed_fields_are_named_by_the_registry(ecs_types: dict[str, str]) -> None:
    # The only `ip`-typed field passivelog writes is client.ip; the checks below rely on that.
    assert [f.ecs for f in schema.FIELDS if ecs_types.get(f.ecs) == "ip"] == [schema.CLIENT_IP]


# -- the values written ------------------------------------------------------------------------


def value_errors(record: dict[str, Any], ecs_types: dict[str, str]) -> Iterable[str]:
    """What in ``record`` would not index under its fields' types."""
    declared = {f.ecs: f.type for f in schema.FIELDS}
    for name, value in record.items():
        kind = declared.get(name)
        if kind is None:
            yield f"{name}: not a declared field"
            continue
        ecs = ecs_types.get(name)
        if kind == "array":
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        elif kind == "integer":
            ok = type(value) is int and value in INT64
        elif kind == "boolean":
            ok = type(value) is bool
        else:
            ok = isinstance(value, str)
        if ok and ecs == "ip":
            ok = _is_canonical_ip(value)
        if ok and ecs == "date":
            ok = TIMESTAMP.fullmatch(value) is not None and _parses_as_date(value)
        if not ok:
            yield f"{name}: {value!r} does not fit {kind} / ECS {ecs}"


def _is_canonical_ip(value: str) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return str(address) == value  # no zone id, no leading zeros, lower case, compressed


def _parses_as_date(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def as_written(record: dict[str, Any]) -> dict[str, Any]:
    """The record as a pipeline reads it: the JSON line parsed back."""
    parsed = orjson.loads(to_json_line(record))
    assert isinstance(parsed, dict)
    return parsed


REALISTIC_HEADERS = st.sampled_from(
    [
        (b"x-forwarded-for", b"192.0.2.44"),
        (b"x-forwarded-for", b"2001:db8:5::9, 198.51.100.3"),
        (b"x-forwarded-for", b"::ffff:203.0.113.7"),
        (b"forwarded", b'for="[2001:db8::1%25eth0]:443"'),
        (
            b"user-agent",
            b"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            b"(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        ),
        (b"user-agent", b"Googlebot/2.1 (+http://www.google.com/bot.html)"),
        (b"cookie", b"sessionid=abc123; _ga=GA1.1.5.6"),
        (b"referer", b"https://mail.example/?to=a%40b.example&utm_source=x"),
        (b"sec-gpc", b"1"),
        (b"traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    ]
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ip_mode=st.sampled_from(IP_MODES),
    log_user_agent=st.booleans(),
    peer=st.sampled_from(["198.51.100.1", "10.0.0.2", "2001:db8::7", "testclient"]),
    path=paths,
    query=st.binary(max_size=200),
    headers=st.lists(
        st.tuples(header_names, header_bytes) | REALISTIC_HEADERS, min_size=1, max_size=10
    ),
)
def test_every_value_fits_its_type(
    make_app: MakeApp,
    ecs_types: dict[str, str],
    ip_mode: str,
    log_user_agent: bool,
    peer: str,
    path: str,
    query: bytes,
    headers: list[tuple[bytes, bytes]],
) -> None:
    app = make_app(
        ok_app,
        trusted_proxies=["10.0.0.0/8", "198.51.100.0/24"],
        ip_mode=ip_mode,
        log_user_agent=log_user_agent,
        log_ad_id=True,
    )
    [record] = call(app, path, query, headers, client=(peer, 1))
    assert not list(value_errors(as_written(record), ecs_types))


async def _raises(scope: Any, receive: Any, send: Any) -> None:
    raise RuntimeError("boom")


async def _half_sent(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"part", "more_body": True})
    await receive()  # the client is gone
    raise OSError("client went away")


def _run(app: Any, scope_type: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    inbox = list(messages)

    async def receive() -> dict[str, Any]:
        return inbox.pop(0) if inbox else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        return None

    scope = http_scope(
        "/x",
        [(b"x-forwarded-for", b"192.0.2.9")],
        client=("10.0.0.1", 1),
        scheme="http" if scope_type == "http" else "ws",
        scope_type=scope_type,
    )
    # The app's exception propagates (test_middleware checks that); here only the record counts.
    with capture_records() as records, contextlib.suppress(RuntimeError, OSError):
        asyncio.run(app(scope, receive, send))
    return records


async def _str_status(scope: Any, receive: Any, send: Any) -> None:
    # An app's mistake that some servers pass on: the record is still one that an index takes.
    await send({"type": "http.response.start", "status": "200", "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _websocket(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": 4001})


EMPTY_BODY = {"type": "http.request", "body": b"", "more_body": False}


@pytest.mark.parametrize(
    ("app", "scope_type", "messages", "present"),
    [
        pytest.param(_raises, "http", [], schema.ERROR_TYPE, id="app-raises"),
        pytest.param(
            _half_sent,
            "http",
            [EMPTY_BODY],
            schema.ABORTED,
            id="client-disconnects",
        ),
        pytest.param(
            _str_status,
            "http",
            [EMPTY_BODY],
            schema.INTERNAL_ERROR,
            id="status-not-an-int",
        ),
        pytest.param(
            _websocket,
            "websocket",
            [{"type": "websocket.connect"}],
            schema.WS_CLOSE_CODE,
            id="websocket",
        ),
    ],
)
@pytest.mark.parametrize("ip_mode", IP_MODES)
def test_special_records_fit_their_types(
    make_app: MakeApp,
    ecs_types: dict[str, str],
    app: Any,
    scope_type: str,
    messages: list[dict[str, Any]],
    present: str,
    ip_mode: str,
) -> None:
    wrapped = make_app(app, trusted_proxies=["10.0.0.0/8"], ip_mode=ip_mode)
    [record] = _run(wrapped, scope_type, messages)
    assert present in record
    assert not list(value_errors(as_written(record), ecs_types))


@pytest.mark.parametrize(
    ("ip_mode", "address_field"),
    [
        ("full", schema.CLIENT_IP),
        ("truncate", schema.CLIENT_IP),
        ("hash", schema.IP_ID),
        ("drop", None),
    ],
)
def test_where_each_ip_mode_writes(
    make_app: MakeApp, ip_mode: str, address_field: str | None
) -> None:
    app = make_app(ok_app, trusted_proxies=["10.0.0.0/8"], ip_mode=ip_mode)
    [record] = call(app, "/", b"", [(b"x-forwarded-for", b"192.0.2.9")], client=("10.0.0.1", 1))
    written = {schema.CLIENT_IP, schema.IP_ID} & set(record)
    assert written == ({address_field} if address_field else set())
    assert record[schema.GEO_COUNTRY] == "GB"  # geo from the full address in every mode
