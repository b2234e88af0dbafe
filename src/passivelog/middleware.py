"""ASGI plumbing: pass through what is not ours, watch ``send``, emit one record in ``finally``.

All decisions about what a record holds are made elsewhere (``record``, ``client``, ``geo``,
``cookies``, ``agent``, ``scrub``, ``optout``); this module only wires them into the ASGI flow.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from typing import IO, Any, Final

from structlog.typing import Processor

from passivelog import schema as fields
from passivelog.agent import AgentParser
from passivelog.client import IP_MODES, PROXY_HEADERS, IpReducer, TrustedProxies
from passivelog.cookies import DEFAULT_ID_COOKIES, CookieIdentifier
from passivelog.emit import Emitter
from passivelog.geo import DEFAULT, GeoLocator, MaxMindLocator, resolve_geo_db
from passivelog.headers import header_bytes
from passivelog.optout import DecisionView, OptOutDecision, OptOutPolicy
from passivelog.pseudonym import pseudonymiser_from
from passivelog.record import Outcome, RecordBuilder, new_request_id, request_id_from
from passivelog.scrub import CROSS_SITE_MODES, REFERRER_MODES, ReferrerScrubber, UrlScrubber
from passivelog.sinks import Dispatcher, FileSink, Sink, StreamSink, sinks_from_env
from passivelog.sinks._base import check_collection, check_number
from passivelog.testing import _captures as _active_captures
from passivelog.trace import OTEL_TRACE_MODULE, TraceIds, trace_ids
from passivelog.visitor import VisitorFacts

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# What a request's record needs besides its outcome: scope, method, visitor, referrer, host,
# request id, trace, and the start time (perf_counter_ns).
_Request = tuple[Scope, str, VisitorFacts, bytes | None, bytes | None, str, TraceIds | None, int]


def _announces_trailers(start: Message | None) -> bool:
    # ASGI HTTP Trailers extension: the response start says whether trailers follow the body.
    return start is not None and start.get("trailers", False) is True


# nginx's convention for "the client closed the request before a response was started".
CLIENT_CLOSED_REQUEST: Final = 499


class PassiveLogMiddleware:
    """Writes one privacy-reduced record per HTTP request and per WebSocket connection.

    Mount it as ``app.add_middleware(PassiveLogMiddleware, ...)`` or ``PassiveLogMiddleware(app,
    ...)``. Every option is keyword-only and validated here: a bad value raises ``ValueError``
    saying what to change. See the README's options table for each option's meaning.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        secret: str | bytes | None = None,
        ip_mode: str = "full",
        trusted_proxies: Iterable[str] | None = (),
        proxy_header: str = "auto",
        geo_db: Any = DEFAULT,
        geo: GeoLocator | None = None,
        geo_cache_size: int = 4096,
        id_cookies: Iterable[str] = DEFAULT_ID_COOKIES,
        exclude_paths: Iterable[str] | None = (),
        log_user_agent: bool = False,
        ua_cache_size: int = 4096,
        visitor_cache_size: int = 4096,
        page_cache_size: int = 4096,
        referrer_mode: str = "scrub",
        cross_site_referrer: str = "scrub",
        scrubber: UrlScrubber | None = None,
        opt_out: OptOutPolicy | bool = True,
        log_ad_id: bool = False,
        trace_context: bool = True,
        output: IO[str] | IO[bytes] | str | os.PathLike[str] | None = None,
        sinks: Sequence[Sink] | None = None,
        schema: str = "ecs",
        logger: Any = None,
        processors: Iterable[Processor] | None = (),
        queue_size: int = 10_000,
        overflow: str = "block",
        flush_timeout: float = 5.0,
    ) -> None:
        self.app = app
        # Options are checked here, by the names they are passed as, before the parts they
        # configure see them (those name their own parameters).
        for name, flag in (
            ("log_user_agent", log_user_agent),
            ("log_ad_id", log_ad_id),
            ("trace_context", trace_context),
        ):
            if not isinstance(flag, bool):
                raise ValueError(f"{name} must be True or False; got {flag!r}")
        for name, choice, choices in (
            ("ip_mode", ip_mode, IP_MODES),
            ("proxy_header", proxy_header, PROXY_HEADERS),
            ("referrer_mode", referrer_mode, REFERRER_MODES),
            ("cross_site_referrer", cross_site_referrer, CROSS_SITE_MODES),
        ):
            if choice not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}; got {choice!r}")
        for name, size in (("geo_cache_size", geo_cache_size), ("ua_cache_size", ua_cache_size)):
            check_number(name, size, minimum=0, integer=True)  # 0: no cache
        if geo is not None and not callable(getattr(geo, "locate", None)):
            raise ValueError(
                f"geo must be a GeoLocator (an object with a locate(ip) method); got {geo!r}"
            )
        if sinks is not None:
            sinks = check_collection("sinks", sinks, "sinks")
            if not sinks:
                raise ValueError(
                    "sinks is empty: pass at least one sink, or leave sinks out for stdout"
                )
        if callable(processors):
            raise ValueError(
                "processors must be a list of structlog processors, not one processor: "
                f"write processors=[{getattr(processors, '__name__', 'processor')}]"
            )
        processors = (
            () if processors is None else check_collection("processors", processors, "processors")
        )
        for processor in processors:
            if not callable(processor):
                raise ValueError(
                    f"processors must be structlog processors (callables); got {processor!r}"
                )
        self._trace_context = trace_context
        if exclude_paths is None:
            exclude_paths = ()
        exclude_paths = check_collection("exclude_paths", exclude_paths, "paths")
        if trusted_proxies is None:
            trusted_proxies = ()
        if isinstance(trusted_proxies, str):  # "10.0.0.1, 10.0.0.2", as uvicorn takes them
            trusted_proxies = [p.strip() for p in trusted_proxies.split(",") if p.strip()]
        trusted_proxies = check_collection("trusted_proxies", trusted_proxies, "IPs or CIDRs")
        if not isinstance(id_cookies, str | bytes):  # CookieIdentifier explains that one
            id_cookies = check_collection("id_cookies", id_cookies, "cookie names")
        pseudonymiser = pseudonymiser_from(secret)
        if geo is None:
            path = resolve_geo_db(geo_db)
            geo = None if path is None else MaxMindLocator(path, cache_size=geo_cache_size)
        if isinstance(opt_out, bool):
            opt_out_policy = OptOutPolicy() if opt_out else None
        elif isinstance(opt_out, OptOutPolicy):
            opt_out_policy = opt_out
        else:
            raise ValueError("opt_out must be True, False or an OptOutPolicy")
        urls = scrubber if scrubber is not None else UrlScrubber()
        self._builder = RecordBuilder(
            trusted=TrustedProxies(trusted_proxies, header=proxy_header),
            reducer=IpReducer(ip_mode, pseudonymiser),
            geo=geo,
            agent=AgentParser(cache_size=ua_cache_size),
            cookie_ids=CookieIdentifier(id_cookies, pseudonymiser=pseudonymiser),
            urls=urls,
            referrers=ReferrerScrubber(
                mode=referrer_mode, cross_site=cross_site_referrer, scrubber=urls
            ),
            optout=opt_out_policy,
            pseudonymiser=pseudonymiser,
            log_user_agent=log_user_agent,
            log_ad_id=log_ad_id,
            visitor_cache_size=visitor_cache_size,
            page_cache_size=page_cache_size,
        )
        self._optout = opt_out_policy
        self._visitors = self._builder.visitors
        self._visitor_names = self._visitors.names
        self._visitor_entries = self._visitors.entries
        self._optout_routes = opt_out_policy.routes if opt_out_policy is not None else frozenset()
        self._notes_reads = opt_out_policy is not None and opt_out_policy.notes_reads
        exact: set[str] = set()
        prefixes: list[str] = []
        for entry in exclude_paths:
            if not isinstance(entry, str) or not entry.startswith("/"):
                raise ValueError(
                    f"exclude_paths entries must be paths starting with '/'; got {entry!r}"
                )
            if entry.endswith("*"):
                prefixes.append(entry[:-1])
            else:
                exact.add(entry)
        self._exclude_exact = frozenset(exact)
        self._exclude_prefixes = tuple(prefixes)
        if logger is not None and (output is not None or sinks is not None):
            raise ValueError(
                "pass either logger= (the app's structlog logger) or output=/sinks=, not both"
            )
        self._dispatcher: Dispatcher | None = None
        deliver: Callable[[dict[str, Any]], None] = _never
        if logger is None:
            if sinks is None:
                sinks = _sinks_for(output, schema)
            self._dispatcher = Dispatcher(
                sinks, queue_size=queue_size, overflow=overflow, flush_timeout=flush_timeout
            )
            deliver = self._dispatcher.emit
        chain = list(processors)
        self._emitter = Emitter(deliver, processors=chain, logger=logger)
        # Records may go out as ready-made JSON lines when nothing needs them as dicts: no
        # processor, no app logger, every sink taking ECS lines (see Dispatcher.line_limit).
        self._line_limit: int | None = None
        self._emit_line: Callable[[bytes], None] = _never_line
        if self._dispatcher is not None and not chain:
            self._line_limit = self._dispatcher.line_limit
            self._emit_line = self._dispatcher.emit_line
        self._internal_errors = 0

    def __repr__(self) -> str:
        return f"PassiveLogMiddleware(app={self.app!r})"

    # ---------------------------------------------------------------- public controls
    def flush(self, timeout: float | None = None) -> bool:
        """Write out every record emitted so far; True when all were written within ``timeout``."""
        return True if self._dispatcher is None else self._dispatcher.flush(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Flush and close the sinks. Called on lifespan shutdown; safe to call again."""
        if self._dispatcher is not None:
            self._dispatcher.close(timeout)

    def stats(self) -> dict[str, Any]:
        """Counters: records that could not be built normally, and per-sink delivery counts."""
        sinks = {} if self._dispatcher is None else self._dispatcher.stats()
        return {"internal_errors": self._internal_errors, "sinks": sinks}

    # ---------------------------------------------------------------- ASGI
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            if scope_type == "lifespan":
                await self._lifespan(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path in self._exclude_exact or (
            self._exclude_prefixes and path.startswith(self._exclude_prefixes)
        ):
            await self.app(scope, receive, send)
            return
        # The request's handling is written out here rather than in a helper coroutine: one
        # coroutine fewer per request is ~0.4 µs of the few microseconds this middleware may take.
        websocket = scope_type == "websocket"
        start_ns = time.perf_counter_ns()
        headers: Sequence[tuple[bytes, bytes]] = scope.get("headers") or ()
        client = scope.get("client")
        peer = str(client[0]) if client else None
        # One pass over the headers: the lines that make up the visitor's cache key (see
        # VisitorCache.key), and the four read here.
        visitor_names = self._visitor_names
        picked: list[Any] = [peer]
        referrer = host = incoming_id = traceparent = None
        for pair in headers:
            name = pair[0]
            if name in visitor_names:
                picked += pair
            elif name == b"referer":
                referrer = pair[1]
            elif name == b"host":
                host = pair[1]
            elif name == b"x-request-id":
                incoming_id = pair[1]
            elif name == b"traceparent":
                # W3C Trace Context 3.2: a request with more than one is read as having none.
                traceparent = b"" if traceparent is not None else pair[1]
        try:
            try:
                key: int | None = hash(tuple(picked))
            except TypeError:  # a hand-built scope with unhashable values: not cached
                key = None
            # A returning visitor is a dict lookup here; the cache's own get() on a miss.
            found = self._visitor_entries.get(key)  # type: ignore[arg-type]
            visitor = found if found is not None else self._visitors.get(key, peer, headers)
        except Exception as exc:  # pragma: no cover - defensive: each part is total on its own
            self._internal_errors += 1
            visitor = _unknown_visitor(exc)
        decision = visitor.decision
        request_id = new_request_id() if incoming_id is None else request_id_from(incoming_id)
        # Looked for only where there is something to find: a traceparent header, or
        # OpenTelemetry's trace API loaded by the app (passivelog never imports it).
        trace = None
        if self._trace_context and (traceparent is not None or OTEL_TRACE_MODULE in sys.modules):
            trace = trace_ids(traceparent)
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        state["passivelog_request_id"] = request_id
        policy = self._optout
        # policy.state_for_app, written out: a call fewer on every request.
        view = DecisionView(decision) if self._notes_reads else decision
        state["passivelog_opt_out"] = view
        method = "WS" if websocket else scope.get("method", "GET")

        app_scope = scope
        if policy is not None and decision.opted_out:
            given = headers if isinstance(headers, list) else list(headers)
            app_headers = policy.request_headers_for_app(given, decision)
            if app_headers is not given:
                app_scope = dict(scope)
                app_scope["headers"] = app_headers

        # What the record needs besides the response's outcome, in one tuple: the closures below
        # then hold one cell for it instead of one per value (cells cost per request).
        request: _Request = (scope, method, visitor, referrer, host, request_id, trace, start_ns)
        status: Any = 0  # the start message's status: an int, unless the app is wrong
        body_bytes = 0
        started = complete = disconnected = send_failed = accepted = logged = False
        start: Message | None = None  # the http.response.start message, once sent
        close_code: int | None = None
        end_ns = 0

        async def watch_send(message: Message) -> None:
            nonlocal status, body_bytes, started, complete, end_ns, accepted, close_code
            nonlocal send_failed, start, logged
            message_type = message["type"]
            if message_type == "http.response.body":
                # Not bytes: the server refuses it in its own words, not this middleware. (A try
                # costs nothing until it catches; contextlib.suppress costs a call per message.)
                try:  # noqa: SIM105
                    body_bytes += len(message.get("body", b""))
                except TypeError:
                    pass
                # With trailers announced, the response ends with the last trailers message
                # (ASGI HTTP Trailers extension), not with the body. (_announces_trailers,
                # written out: this runs for nearly every response.)
                if not message.get("more_body", False) and (
                    start is None or start.get("trailers", False) is not True
                ):
                    complete = True
                    end_ns = time.perf_counter_ns()
            elif message_type == "http.response.start":
                started = True
                try:  # a try costs nothing until it catches; .get would cost a call
                    status = message["status"]
                except KeyError:  # the server refuses such a start; the record has no status
                    status = None
                start = message
                if policy is not None:
                    headers_out = message.get("headers") or []
                    message = _with_opt_out(policy, message, headers_out, decision, view, visitor)
            elif message_type == "http.response.pathsend":
                # The server sends the file itself (ASGI Path Send extension; granian does, and
                # Starlette's FileResponse and StaticFiles use it there): no body bytes pass here.
                headers_sent = start.get("headers") if start is not None else None
                body_bytes += sent_file_size(headers_sent, message.get("path"))
                if not _announces_trailers(start):
                    complete = True
                    end_ns = time.perf_counter_ns()
            elif message_type == "http.response.trailers":
                if not message.get("more_trailers", False):
                    complete = True
                    end_ns = time.perf_counter_ns()
            elif message_type == "websocket.accept":
                accepted = True
                if policy is not None and message.get("headers"):
                    headers_out = message["headers"]
                    message = _with_opt_out(policy, message, headers_out, decision, view, visitor)
            elif message_type == "websocket.close":
                if not accepted and not started:
                    # A close before accepting: the server refuses the handshake with 403 (ASGI
                    # spec, "Close - send event").
                    status = 403
                if close_code is None:
                    close_code = _close_code(message, 1000)
                end_ns = time.perf_counter_ns()
            elif message_type == "websocket.http.response.start":
                # The WebSocket Denial Response extension: an HTTP response instead of a handshake.
                started = True
                status = message.get("status")
            elif message_type == "websocket.http.response.body":
                with contextlib.suppress(TypeError):  # as for http.response.body
                    body_bytes += len(message.get("body", b""))
            try:
                await send(message)
            except BaseException:
                send_failed = True
                raise
            if complete and started and not logged and type(status) is int and status < 500:
                # The response is complete: its record goes out now rather than when the app
                # returns, which may be much later (Starlette runs background tasks after the
                # response) or never (a worker killed meanwhile). A server error waits for the
                # app to return: Starlette sends its 500 and then raises, and the record names
                # the exception. So do a status that is not an int, for _finish to deal with, and
                # a body sent before any start message (which a server refuses).
                logged = True
                self._log_complete(request, status, body_bytes, end_ns)

        async def watch_receive() -> Message:
            nonlocal disconnected, close_code
            message = await receive()
            message_type = message.get("type")
            if message_type == "http.disconnect":
                if not complete:
                    disconnected = True
            elif message_type == "websocket.disconnect" and close_code is None:
                close_code = _close_code(message, 1005)
            return message

        error_type: str | None = None
        cancelled = False
        try:
            if policy is not None and not websocket and scope.get("path") in self._optout_routes:
                await policy.respond(scope, watch_receive, watch_send, decision)
            else:
                await self.app(app_scope, watch_receive, watch_send)
        except Exception as exc:
            error_type = type(exc).__name__
            raise
        except BaseException:
            # Cancellation (a server cancelling the task of a client that went away) is not an app
            # error; the response simply never completed.
            cancelled = True
            raise
        finally:
            if not logged:
                # The response did not complete (the app raised, the client went away, the task
                # was cancelled), was a server error, or this is a WebSocket connection ending.
                end_ns = end_ns or time.perf_counter_ns()
                if websocket:
                    aborted = False
                    if accepted:
                        status = 101
                    elif not status:
                        # No answer to the handshake: neither accepted, closed (403) nor answered
                        # with an HTTP response. A client gone first is 499, as for HTTP; else
                        # the app raised or returned, and uvicorn and hypercorn answer 500
                        # (granian answers 403; the record keeps the app's failure in view).
                        status = CLIENT_CLOSED_REQUEST if close_code is not None else 500
                else:
                    # A send that raised did not deliver its message, the last one included.
                    aborted = send_failed or (
                        not complete and (started or disconnected or cancelled)
                    )
                    if not started:
                        gone = aborted and error_type is None
                        status = CLIENT_CLOSED_REQUEST if gone else 500
                if websocket or aborted or error_type is not None:
                    outcome = Outcome(
                        status,
                        body_bytes,
                        end_ns - start_ns,
                        error_type,
                        aborted,
                        close_code if websocket else None,
                    )
                    self._finish(request, outcome, websocket)
                else:  # a complete response that waited for the app (a server error)
                    self._log_complete(request, status, body_bytes, end_ns)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Messages pass untouched; we only watch for the end of shutdown to flush first, because
        # uvicorn re-raises SIGTERM and granian's workers skip atexit: lifespan shutdown is the
        # one moment every server gives us before the process ends.
        async def watch_send(message: Message) -> None:
            if message.get("type") in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                self.close()
            await send(message)

        try:
            await self.app(scope, receive, watch_send)
        finally:
            self.flush()

    def _log_complete(self, request: _Request, status: int, body_bytes: int, end_ns: int) -> None:
        # The record of a response that completed without error. It goes out as a JSON line put
        # together from parts rendered once per visitor and page (RecordBuilder.line): the same
        # bytes as _finish's record, rendered, for less work. Where that cannot be done (records
        # go out as dicts, or a line cannot be made), _finish builds the record.
        scope, method, visitor, referrer, host, request_id, trace, start_ns = request
        duration_ns = end_ns - start_ns
        limit = self._line_limit
        # Not capturing (testing.capturing(), written out: the active captures' list is empty).
        if limit is not None and not _active_captures:
            try:
                line = self._builder.line(
                    str(scope.get("scheme", "http")),
                    method,
                    str(scope.get("path", "")),
                    scope.get("query_string") or b"",
                    str(scope.get("http_version", "1.1")),
                    visitor,
                    referrer,
                    host,
                    request_id,
                    trace,
                    status,
                    body_bytes,
                    duration_ns,
                    time.time_ns(),
                )
            except Exception:
                line = None  # the record _finish builds says what went wrong
            if line is not None and not (limit and len(line) > limit):
                self._emit_line(line)
                return
        self._finish(request, Outcome(status, body_bytes, duration_ns), False)

    def _finish(self, request: _Request, outcome: Outcome, websocket: bool) -> None:
        # Logging must never break the app: any failure here becomes a minimal record (counted),
        # and if even that fails, only the counter moves.
        end_time_ns = time.time_ns()
        scope, method, visitor, referrer, host, request_id, trace, _ = request
        kind = "websocket" if websocket else "http"
        scheme = str(scope.get("scheme", "ws" if websocket else "http"))
        path = str(scope.get("path", ""))
        query = scope.get("query_string") or b""
        http_version = str(scope.get("http_version", "1.1"))
        try:
            record = self._builder.build(
                kind=kind,
                method=method,
                scheme=scheme,
                path=path,
                query=query,
                http_version=http_version,
                visitor=visitor,
                referrer=referrer,
                host=host,
                request_id=request_id,
                outcome=outcome,
                end_time_ns=end_time_ns,
                trace=trace,
            )
        except Exception as exc:
            self._internal_errors += 1
            record = self._builder.fallback(
                kind=kind, method=method, outcome=outcome, end_time_ns=end_time_ns, error=exc
            )
        try:
            self._emitter.emit(record)
        except Exception:
            self._internal_errors += 1


def sent_file_size(headers: Any, path: Any) -> int:
    """The body size of a response whose file the server sends (``http.response.pathsend``).

    The ``Content-Length`` the response declared, which is what the client is told to read;
    without a valid one, the size of the file at ``path``; 0 when neither can be had. Never
    raises: the headers and the path come from the app.
    """
    declared = _declared_length(headers)
    if declared is not None:
        return declared
    # Only a path: os.stat would take an int as an open file descriptor.
    if isinstance(path, str | bytes | os.PathLike):
        try:
            return os.stat(path).st_size
        except (OSError, ValueError):  # gone, unreadable, or a NUL in the path
            pass
    return 0


def _declared_length(headers: Any) -> int | None:
    try:
        for name, value in headers or ():
            if header_bytes(name).lower() == b"content-length":
                length = header_bytes(value).strip()
                # RFC 9110 section 8.6: 1*DIGIT; anything else is not a length to believe.
                return int(length) if length.isdigit() else None
    except (TypeError, ValueError):  # not pairs of text, or a length too long for int()
        pass
    return None


def _close_code(message: Message, default: int) -> int | None:
    # RFC 6455 section 7.4: a close code is an integer; the ASGI default is the one for "none
    # given". Anything else is left out of the record (the server refuses it from an app).
    code = message.get("code", default)
    return code if type(code) is int else None


def _with_opt_out(
    policy: OptOutPolicy,
    message: Message,
    headers: Any,
    decision: OptOutDecision,
    view: OptOutDecision | DecisionView,
    visitor: VisitorFacts,
) -> Message:
    # ``message`` (a response start or a WebSocket accept) with the opt-out applied to its
    # ``headers``: the same message when they stay as they are, else a copy with the new ones.
    original = headers if type(headers) is list else _header_list(headers)
    if original is None:
        return message
    filtered = policy.response_headers(
        original,
        decision,
        decision_read=view.read if type(view) is DecisionView else True,
        ad_cookies_sent=visitor.ad_cookies,
    )
    if filtered is original:
        return message
    changed = dict(message)
    changed["headers"] = filtered
    return changed


def _header_list(headers: Any) -> list[Any] | None:
    # The headers of a response message as a list of what should be pairs; None when they are
    # not a collection of pairs at all (a bool, a number, text), which the server will refuse
    # as they are. A tuple or another iterable of pairs becomes a list.
    if isinstance(headers, list):
        return headers
    if isinstance(headers, str | bytes | bytearray):
        return None
    try:
        return list(headers)
    except TypeError:
        return None


def _unknown_visitor(exc: Exception) -> VisitorFacts:
    # When in doubt, opt out: an app told nothing about the visitor sets no ad cookie.
    return VisitorFacts({fields.INTERNAL_ERROR: type(exc).__name__}, OptOutDecision(True, ()))


def _never_line(_line: bytes) -> None:  # pragma: no cover - unreachable: _line_limit is None
    raise RuntimeError("records go out as dicts")


def _never(_record: dict[str, Any]) -> None:  # pragma: no cover - unreachable: logger= takes over
    raise RuntimeError("records go to the app's logger")


def _sinks_for(
    output: IO[str] | IO[bytes] | str | os.PathLike[str] | None, schema: str
) -> list[Sink]:
    if output is None:
        from_env = sinks_from_env()
        return from_env if from_env else [StreamSink(sys.stdout, schema=schema)]
    if isinstance(output, str | os.PathLike):
        return [FileSink(output, schema=schema)]
    if callable(getattr(output, "write", None)):
        return [StreamSink(output, schema=schema)]
    raise ValueError("output must be a text or binary stream, a file path, or None for stdout")
