"""RFC 5424 syslog over UDP, TCP and a Unix datagram socket, with the record as JSON in MSG."""

from __future__ import annotations

import logging
import os
import re
import socket
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from passivelog import schema as fields
from passivelog.render import to_json_line
from passivelog.sinks._base import (
    MIN_RECORD_BYTES,
    RENAME_GROWTH,
    SELF_DATASET,
    cap_record,
    check_number,
    check_schema,
    shape,
    utc_now,
)

_logger = logging.getLogger("passivelog")

FACILITIES: Final[Mapping[str, int]] = {
    "kern": 0,
    "user": 1,
    "mail": 2,
    "daemon": 3,
    "auth": 4,
    "syslog": 5,
    "lpr": 6,
    "news": 7,
    "uucp": 8,
    "cron": 9,
    "authpriv": 10,
    "ftp": 11,
    "ntp": 12,
    "security": 13,
    "console": 14,
    "solaris-cron": 15,
    "local0": 16,
    "local1": 17,
    "local2": 18,
    "local3": 19,
    "local4": 20,
    "local5": 21,
    "local6": 22,
    "local7": 23,
}
_INFO: Final = 6
_WARNING: Final = 4
DEFAULT_PORT: Final = 514
# The largest UDP payload over IPv4: 65,535 - 8 (UDP header) - 20 (IP header).
MAX_UDP: Final = 65_507

# RFC 5424 §6.2.3: FULL-DATE "T" FULL-TIME, at most 6 fractional digits.
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})")
_TIMESTAMP_MAX: Final = len("0000-00-00T00:00:00.000000+00:00")
# RFC 5424 §6.2.4-6.2.7: header fields are PRINTUSASCII (33-126), with these length limits.
_HOSTNAME_MAX: Final = 255
_APP_NAME_MAX: Final = 48
_PROCID_MAX: Final = 10
_MSGID_MAX: Final = 32
_NON_PRINTUSASCII = re.compile(r"[^\x21-\x7e]")

# A broken TCP connection loses what the receiver had not read yet: plain syslog has no
# acknowledgements (RFC 6587 §3.4; RELP would add them). Records sent on the connection within
# ``resend_window`` seconds are sent again on the next one, so a restart of the receiver costs
# duplicates, which ``http.request.id`` tells apart, rather than silent losses. Bounded in bytes.
_RESEND_BYTES: Final = 8 * 1024 * 1024


def _token(value: str, limit: int) -> str:
    token = _NON_PRINTUSASCII.sub("", value)[:limit]
    return token or "-"


def _check_token(what: str, value: str, limit: int) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= limit or _NON_PRINTUSASCII.search(value):
        raise ValueError(
            f"{what} must be 1 to {limit} printable ASCII characters without spaces, not {value!r}"
        )
    return value


def parse_address(address: str) -> tuple[str, tuple[str, int] | str]:
    """Split ``udp://host:port``, ``tcp://host:port`` or ``unix:///path`` (ValueError if not)."""
    if not isinstance(address, str):
        raise ValueError(f"syslog address must be a string, not {address!r}")
    parts = urlsplit(address)
    expected = "udp://host:port, tcp://host:port or unix:///path/to/socket"
    if parts.query or parts.fragment:
        raise ValueError(f"syslog address {address!r} has a query or fragment; expected {expected}")
    if parts.scheme in ("udp", "tcp"):
        try:
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"syslog address {address!r}: {exc}") from None
        if not parts.hostname or parts.path not in ("", "/") or parts.username:
            raise ValueError(f"syslog address {address!r} is not valid; expected {expected}")
        return parts.scheme, (parts.hostname, DEFAULT_PORT if port is None else port)
    if parts.scheme == "unix":
        path = unquote(parts.path)
        if parts.netloc or not path:
            raise ValueError(f"syslog address {address!r} is not valid; expected {expected}")
        return "unix", path
    raise ValueError(f"syslog address {address!r} is not valid; expected {expected}")


class SyslogSink:
    """Sends each record as an RFC 5424 message whose MSG is the record's JSON.

    The header carries the record's own timestamp, ``MSGID`` is its ``event.dataset``
    (``passivelog.access``; route on it), severity is informational (warning for passivelog's
    self-records). MSG has no byte-order mark: it is JSON, which RFC 8259 §8.1 says is UTF-8
    without one, and receivers parse it as JSON (RFC 5424 §6.4 makes the BOM optional).

    Over TCP each message is framed by octet counting (RFC 6587 §3.4.1), so a record may hold any
    byte and be of any size (rsyslog's default limit is 8 KB: raise ``maxMessageSize``). The
    connection is checked before each batch and re-opened when broken; the batch in flight, and
    what was sent on the lost connection within ``resend_window``, are sent again: at least
    once, so a receiver restart can cost duplicates.

    Over UDP and Unix datagram sockets each record is one datagram: a record that would not fit
    in ``max_udp`` bytes is cut to fit and lists the fields cut in ``passivelog.truncated``.
    UDP has no delivery guarantee; a receiver that is down is noticed (ICMP) and counted.

    Args:
        address: ``udp://host[:port]``, ``tcp://host[:port]`` (port 514 by default) or
            ``unix:///path/to/socket`` (a datagram socket such as ``/dev/log``).
        app_name: APP-NAME of the header.
        facility: a name from :data:`FACILITIES` or its number.
        hostname: HOSTNAME of the header; this machine's name by default.
        schema: ``"ecs"`` or ``"otel"`` field names in the JSON.
        max_udp: largest datagram, in bytes.
        timeout: seconds for connecting and for one send.
        resend_window: TCP only: after a broken connection, records sent on it within this many
            seconds are sent again (the receiver may not have read them); 0 resends only the
            batch in flight, trading possible losses for no duplicates.
        name: the name in :meth:`Dispatcher.stats`; ``"syslog+<address>"`` by default.
    """

    def __init__(
        self,
        address: str,
        *,
        app_name: str = "passivelog",
        facility: str | int = "user",
        hostname: str | None = None,
        schema: str = "ecs",
        max_udp: int = MAX_UDP,
        timeout: float = 5.0,
        resend_window: float = 1.0,
        name: str | None = None,
    ) -> None:
        self.transport, target = parse_address(address)
        self._path = target if isinstance(target, str) else ""
        self._host_port = target if isinstance(target, tuple) else ("", 0)
        self.schema = check_schema(schema)
        self._app_name = _check_token("app_name", app_name, _APP_NAME_MAX)
        if hostname is None:
            self._hostname = _token(socket.gethostname(), _HOSTNAME_MAX)
        else:
            self._hostname = _check_token("hostname", hostname, _HOSTNAME_MAX)
        if isinstance(facility, str) and facility in FACILITIES:
            self._facility = FACILITIES[facility]
        elif isinstance(facility, int) and not isinstance(facility, bool) and 0 <= facility <= 23:
            self._facility = facility
        else:
            raise ValueError(
                f"facility must be 0-23 or one of {', '.join(FACILITIES)}, not {facility!r}"
            )
        check_number("timeout", timeout, minimum=0, exclusive=True)
        check_number("resend_window", resend_window, minimum=0)
        self._timeout = float(timeout)
        self._resend_window = float(resend_window)
        # The longest header this sink can write: the record's budget is what is left.
        header_max = (
            len("<191>1 ")
            + _TIMESTAMP_MAX
            + len(self._hostname)
            + len(self._app_name)
            + _PROCID_MAX
            + _MSGID_MAX
            + len("     ")
            + len("- ")  # 5 separators, no SD
        )
        if (
            isinstance(max_udp, bool)
            or not isinstance(max_udp, int)
            or not (MIN_RECORD_BYTES + header_max <= max_udp <= MAX_UDP)
        ):
            raise ValueError(
                f"max_udp must be an integer from {MIN_RECORD_BYTES + header_max} to {MAX_UDP}, "
                f"not {max_udp!r}"
            )
        self.max_udp = max_udp
        # Read by the dispatcher, which cuts records to this size before they get here.
        self.max_record_bytes = 0 if self.transport == "tcp" else max_udp - header_max
        self.name = name if name is not None else f"syslog+{address}"
        self.resent = 0
        self._sock: socket.socket | None = None
        self._sent: deque[tuple[float, bytes, int]] = deque()
        self._sent_bytes = 0
        self._replay: list[tuple[bytes, int]] = []

    # ------------------------------------------------------------------ messages
    def format(self, record: Mapping[str, Any]) -> bytes:
        """Return the RFC 5424 message for ``record`` (without transport framing)."""
        dataset = record.get(fields.EVENT_DATASET)
        severity = _WARNING if dataset == SELF_DATASET else _INFO
        timestamp = record.get(fields.TIMESTAMP)
        if not isinstance(timestamp, str) or not _TIMESTAMP.fullmatch(timestamp):
            timestamp = utc_now()
        msgid = _token(dataset, _MSGID_MAX) if isinstance(dataset, str) else "-"
        header = (
            f"<{self._facility * 8 + severity}>1 {timestamp} {self._hostname} {self._app_name} "
            f"{os.getpid()} {msgid} - "
        )
        return header.encode("ascii") + to_json_line(shape(record, self.schema))[:-1]

    def write_batch(self, records: Sequence[Mapping[str, Any]]) -> None:
        messages = [self.format(record) for record in records]
        if self.transport == "tcp":
            self._send_stream(b"".join(b"%d %s" % (len(m), m) for m in messages), len(messages))
            return
        for i, message in enumerate(messages):
            if len(message) > self.max_udp:
                # The dispatcher cuts records to ``max_record_bytes`` already; this is for a
                # sink used on its own.
                budget = self.max_record_bytes - (RENAME_GROWTH if self.schema == "otel" else 0)
                messages[i] = self.format(cap_record(records[i], budget))
        self._send_datagrams(messages)

    def close(self) -> None:
        if self.transport == "tcp":
            self._finish_stream()
        self._drop_socket()

    def after_fork(self) -> None:
        """In a forked child: forget the parent's connection and the parent's records.

        Two processes writing into one TCP connection would interleave their frames, and the
        records kept for a resend are the parent's to resend. Closing the inherited descriptor
        leaves the parent's connection open (no shutdown, which would end it for both).
        """
        self._drop_socket()
        self._sent.clear()
        self._sent_bytes = 0
        self._replay = []
        self.resent = 0

    # ------------------------------------------------------------------ datagrams
    def _send_datagrams(self, messages: list[bytes]) -> None:
        sock = self._sock
        if sock is None:
            sock = self._sock = self._open_datagram()
        try:
            for message in messages:
                sock.send(message)
        except OSError:
            # Refused (the receiver is down) or gone: the whole batch is sent again, since what
            # went before the error was probably lost as well.
            self._drop_socket()
            raise

    def _open_datagram(self) -> socket.socket:
        if self.transport == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            address: Any = self._path
        else:
            family, kind, proto, _, address = socket.getaddrinfo(
                *self._host_port, type=socket.SOCK_DGRAM
            )[0]
            sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(self._timeout)
            # Connected, so that ICMP "port unreachable" comes back as an error to count.
            sock.connect(address)
        except OSError:
            sock.close()
            raise
        return sock

    # ------------------------------------------------------------------ TCP
    def _send_stream(self, payload: bytes, count: int) -> None:
        sock = self._connected()
        try:
            sock.sendall(payload)
        except OSError:
            self._lost_connection()
            raise
        self._remember(payload, count)

    def _remember(self, chunk: bytes, count: int) -> None:
        if not self._resend_window:
            return
        now = time.monotonic()
        self._sent.append((now, chunk, count))
        self._sent_bytes += len(chunk)
        sent = self._sent
        while sent and (sent[0][0] < now - self._resend_window or self._sent_bytes > _RESEND_BYTES):
            self._sent_bytes -= len(sent.popleft()[1])

    def _connected(self, timeout: float | None = None) -> socket.socket:
        if self._sock is not None and not self._alive(self._sock):
            self._lost_connection()
        if self._sock is not None:
            return self._sock
        sock = self._sock = socket.create_connection(
            self._host_port, timeout=self._timeout if timeout is None else timeout
        )
        sock.settimeout(self._timeout)
        replay, self._replay = self._replay, []
        if replay:
            try:
                sock.sendall(b"".join(chunk for chunk, _ in replay))
            except OSError:
                self._replay = replay
                self._drop_socket()
                raise
            for chunk, count in replay:
                self._remember(chunk, count)
                self.resent += count
        return sock

    def _alive(self, sock: socket.socket) -> bool:
        # A syslog receiver never sends: readable means it closed (EOF) or reset the connection.
        # Checking before each batch catches a receiver that went away between batches, before
        # a whole batch is written into a dead connection.
        try:
            sock.settimeout(0.0)
            while True:
                if not sock.recv(4096):
                    return False
        except BlockingIOError:
            return True
        except OSError:
            return False
        finally:
            sock.settimeout(self._timeout)

    def _lost_connection(self) -> None:
        self._drop_socket()
        self._replay = self._replay + [(chunk, count) for _, chunk, count in self._sent]
        self._sent.clear()
        self._sent_bytes = 0

    def _finish_stream(self) -> None:
        # Half-close and wait for the receiver to close in turn: it does so after reading
        # everything, so a clean end proves delivery. A reset gets one reconnect and replay.
        deadline = time.monotonic() + self._timeout
        for _ in range(2):
            if (self._sock is None and not self._replay) or time.monotonic() >= deadline:
                break
            try:
                sock = self._connected(deadline - time.monotonic())
                sock.shutdown(socket.SHUT_WR)
                while (left := deadline - time.monotonic()) > 0:
                    sock.settimeout(left)
                    if not sock.recv(4096):
                        self._sent.clear()
                        self._sent_bytes = 0
                        return
                return  # alive but silent: nothing better to do than to let go
            except TimeoutError:
                return
            except OSError:
                self._lost_connection()
        unsent = sum(count for _, count in self._replay)
        if unsent:
            _logger.warning(
                "passivelog: %s closed with up to %d records possibly not received",
                self.name,
                unsent,
            )

    def _drop_socket(self) -> None:
        if self._sock is not None:
            sock, self._sock = self._sock, None
            sock.close()
