"""Sinks and dispatcher options from environment variables (format: see ``passivelog.sinks``)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from passivelog.sinks._base import Sink, check_schema
from passivelog.sinks._dispatch import OVERFLOW_POLICIES
from passivelog.sinks._files import FileSink, StreamSink
from passivelog.sinks._otlp import OtlpSink
from passivelog.sinks._syslog import SyslogSink

ENV_SINKS: Final = "PASSIVELOG_SINKS"
ENV_SCHEMA: Final = "PASSIVELOG_SCHEMA"
OTLP_DEFAULT_PORT: Final = 4318
OTLP_DEFAULT_PATH: Final = "/v1/logs"

_JSON_OPTIONS: Final = frozenset({"schema", "name"})


def _integer(key: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{key} must be an integer, not {value!r}") from None


def _number(key: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{key} must be a number, not {value!r}") from None


def _options(entry: str, query: str, allowed: frozenset[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True) if query else []
    except ValueError:
        raise ValueError(f"{ENV_SINKS} entry {entry!r}: options must be key=value&...") from None
    for key, value in pairs:
        if key not in allowed:
            raise ValueError(
                f"{ENV_SINKS} entry {entry!r}: unknown option {key!r}; "
                f"accepted: {', '.join(sorted(allowed))}"
            )
        if key in options:
            raise ValueError(f"{ENV_SINKS} entry {entry!r}: option {key!r} given twice")
        options[key] = value
    return options


def _file_path(entry: str, rest: str) -> str:
    if rest.startswith("//"):
        host, slash, path = rest[2:].partition("/")
        if host not in ("", "localhost") or not slash:
            raise ValueError(
                f"{ENV_SINKS} entry {entry!r}: use file:///absolute/path or file:relative/path"
            )
        rest = "/" + path
    if not rest:
        raise ValueError(f"{ENV_SINKS} entry {entry!r} names no file")
    return unquote(rest)


def _otlp_endpoint(entry: str, url: str) -> str:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{ENV_SINKS} entry {entry!r}: {exc}") from None
    if not parts.hostname:
        raise ValueError(f"{ENV_SINKS} entry {entry!r} names no host")
    netloc = parts.netloc if port is not None else f"{parts.netloc}:{OTLP_DEFAULT_PORT}"
    path = parts.path if parts.path not in ("", "/") else OTLP_DEFAULT_PATH
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def _build(entry: str, schema: str) -> Sink:
    base, _, query = entry.partition("?")
    scheme, colon, rest = base.partition(":")
    scheme = scheme.lower()

    def opts(*extra: str) -> dict[str, str]:
        return _options(entry, query, frozenset(extra) | _JSON_OPTIONS)

    if scheme in ("stdout", "stderr") and not colon:
        o = opts()
        return StreamSink(
            None if scheme == "stdout" else sys.stderr,
            schema=o.get("schema", schema),
            name=o.get("name", scheme),
        )
    if scheme == "file" and colon:
        o = opts("max_bytes", "backups")
        return FileSink(
            _file_path(entry, rest),
            schema=o.get("schema", schema),
            max_bytes=_integer("max_bytes", o.get("max_bytes", "0")),
            backups=_integer("backups", o.get("backups", "5")),
            name=o.get("name"),
        )
    if scheme in ("syslog+udp", "syslog+tcp", "syslog+unix") and colon:
        o = opts("app_name", "facility", "hostname", "max_udp", "timeout", "resend_window")
        facility_name = o.get("facility", "user")
        numeric = facility_name.isascii() and facility_name.isdigit()
        facility: str | int = int(facility_name) if numeric else facility_name
        kwargs: dict[str, Any] = {}
        if "max_udp" in o:
            kwargs["max_udp"] = _integer("max_udp", o["max_udp"])
        for key in ("timeout", "resend_window"):
            if key in o:
                kwargs[key] = _number(key, o[key])
        return SyslogSink(
            base[len("syslog+") :],
            app_name=o.get("app_name", "passivelog"),
            facility=facility,
            hostname=o.get("hostname"),
            schema=o.get("schema", schema),
            name=o.get("name"),
            **kwargs,
        )
    if scheme in ("otlp+http", "otlp+https") and colon:
        o = _options(entry, query, frozenset({"service_name", "timeout", "name"}))
        return OtlpSink(
            _otlp_endpoint(entry, base[len("otlp+") :]),
            service_name=o.get("service_name", "passivelog"),
            timeout=_number("timeout", o.get("timeout", "5")),
            name=o.get("name"),
        )
    raise ValueError(
        f"{ENV_SINKS} entry {entry!r} is not a sink; expected stdout, stderr, file:///path, "
        "syslog+udp://host:port, syslog+tcp://host:port, syslog+unix:///path or "
        "otlp+http://host:port"
    )


def sinks_from_env(environ: Mapping[str, str] = os.environ, *, schema: str = "ecs") -> list[Sink]:
    """Build the sinks named by ``PASSIVELOG_SINKS``; an empty list when it is unset or blank.

    ``schema`` is the field naming of JSON sinks unless ``PASSIVELOG_SCHEMA`` or an entry's
    ``?schema=`` says otherwise. Raises ValueError, naming the entry, for anything malformed.
    """
    spec = environ.get(ENV_SINKS, "").strip()
    if not spec:
        return []
    default_schema = environ.get(ENV_SCHEMA, "").strip() or schema
    try:
        check_schema(default_schema)
    except ValueError as exc:
        raise ValueError(f"{ENV_SCHEMA}: {exc}") from None
    sinks: list[Sink] = []
    for position, raw in enumerate(spec.split(","), start=1):
        entry = raw.strip()
        if not entry:
            raise ValueError(f"{ENV_SINKS}: entry {position} is empty (stray comma?)")
        try:
            sinks.append(_build(entry, default_schema))
        except ValueError as exc:
            message = str(exc)
            if ENV_SINKS not in message:
                message = f"{ENV_SINKS} entry {entry!r}: {message}"
            raise ValueError(message) from None
    return sinks


_DISPATCHER_ENV: Final[Mapping[str, tuple[str, Callable[[str, str], Any]]]] = {
    "PASSIVELOG_OVERFLOW": ("overflow", lambda key, value: value),
    "PASSIVELOG_QUEUE_SIZE": ("queue_size", _integer),
    "PASSIVELOG_MAX_RECORD_BYTES": ("max_record_bytes", _integer),
    "PASSIVELOG_FLUSH_TIMEOUT": ("flush_timeout", _number),
}


def dispatcher_options_from_env(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """Keyword arguments for :class:`Dispatcher` from the variables that are set.

    ``PASSIVELOG_OVERFLOW`` (block or drop), ``PASSIVELOG_QUEUE_SIZE``,
    ``PASSIVELOG_MAX_RECORD_BYTES`` and ``PASSIVELOG_FLUSH_TIMEOUT`` (seconds).
    """
    options: dict[str, Any] = {}
    for variable, (keyword, convert) in _DISPATCHER_ENV.items():
        raw = environ.get(variable, "").strip()
        if raw:
            options[keyword] = convert(variable, raw)
    overflow = options.get("overflow")
    if overflow is not None and overflow not in OVERFLOW_POLICIES:
        raise ValueError(
            f"PASSIVELOG_OVERFLOW must be one of {OVERFLOW_POLICIES}, not {overflow!r}"
        )
    return options
