"""Where records go: JSON lines on stdout or in a file, syslog, or an OpenTelemetry collector.

The request path only ever touches a bounded in-memory queue (:meth:`Dispatcher.emit`); one
background worker per sink writes batches, retries failures with backoff, and counts what it
emitted, wrote, dropped, failed and retried (:meth:`Dispatcher.stats`). Losses are never silent:
a self-record (``event.dataset`` ``"passivelog.self"``) goes to the sinks that work.

Sinks:

- :class:`StreamSink` — JSON lines on stdout (the default) or any stream.
- :class:`FileSink` — JSON lines appended to a file; size-based rotation; follows logrotate's
  move-and-create.
- :class:`SyslogSink` — RFC 5424 over UDP, TCP (octet counting) or a Unix datagram socket.
- :class:`OtlpSink` — OTLP/HTTP logs with OpenTelemetry semantic-convention attribute names.

Configuration from the environment
----------------------------------

``PASSIVELOG_SINKS`` is a comma-separated list of sink URLs; options go in the URL's query
string (percent-encode a comma inside a value as ``%2C``)::

    PASSIVELOG_SINKS="stdout,file:///var/log/app/access.jsonl?max_bytes=104857600&backups=10,\\
    syslog+tcp://127.0.0.1:514?app_name=shop&facility=local0,otlp+http://127.0.0.1:4318"

- ``stdout``, ``stderr``: :class:`StreamSink`.
- ``file:///absolute/path``, ``file:relative/path``: :class:`FileSink`; options ``max_bytes``
  (0, the default, never rotates) and ``backups`` (5).
- ``syslog+udp://host[:port]``, ``syslog+tcp://host[:port]`` (port 514),
  ``syslog+unix:///path/to/socket``: :class:`SyslogSink`; options ``app_name``, ``facility``
  (name or number), ``hostname``, ``max_udp``, ``timeout``, ``resend_window``.
- ``otlp+http://host[:port][/path]``, ``otlp+https://...``: :class:`OtlpSink` (port 4318 and
  path ``/v1/logs`` unless given); options ``service_name``, ``timeout``; headers come from
  ``OTEL_EXPORTER_OTLP_LOGS_HEADERS``.

Every entry takes ``name=`` (its key in the stats; needed to tell two alike sinks apart), and
the JSON sinks (stream, file, syslog) take ``schema=ecs|otel``; ``PASSIVELOG_SCHEMA`` sets the
default for all of them. An unknown scheme or option, a bad number or an empty entry raises
``ValueError`` naming the entry. :func:`sinks_from_env` returns an empty list when
``PASSIVELOG_SINKS`` is unset, so the caller's default (stdout) applies.

:func:`dispatcher_options_from_env` reads ``PASSIVELOG_OVERFLOW`` (``block`` or ``drop``),
``PASSIVELOG_QUEUE_SIZE``, ``PASSIVELOG_MAX_RECORD_BYTES`` and ``PASSIVELOG_FLUSH_TIMEOUT``.
"""

from passivelog.sinks._base import SCHEMAS, SELF_DATASET, Sink, cap_record
from passivelog.sinks._dispatch import OVERFLOW_POLICIES, Dispatcher, SinkStats
from passivelog.sinks._env import dispatcher_options_from_env, sinks_from_env
from passivelog.sinks._files import FileSink, StreamSink
from passivelog.sinks._otlp import OtlpSink
from passivelog.sinks._syslog import FACILITIES, SyslogSink

__all__ = [
    "FACILITIES",
    "OVERFLOW_POLICIES",
    "SCHEMAS",
    "SELF_DATASET",
    "Dispatcher",
    "FileSink",
    "OtlpSink",
    "Sink",
    "SinkStats",
    "StreamSink",
    "SyslogSink",
    "cap_record",
    "dispatcher_options_from_env",
    "sinks_from_env",
]
