"""Facts of one request ─▶ one record, with the schema's field names, already reduced.

Plain values in, a plain dict out: no ASGI here. The raw request (headers, cookies, full IP) is
read only inside :meth:`RecordBuilder.build` and never stored; what leaves is reduced, pseudonymised
or scrubbed.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections import OrderedDict
from typing import Any, Final, NamedTuple

from passivelog import schema as f
from passivelog.agent import AgentParser
from passivelog.client import IpReducer, TrustedProxies, resolve_client_ip
from passivelog.cookies import CookieIdentifier, cookie_headers, parse_cookie_header
from passivelog.geo import GeoLocator
from passivelog.optout import NO_OPT_OUT, OptOutPolicy
from passivelog.pseudonym import Pseudonymiser
from passivelog.render import json_members, json_string
from passivelog.scrub import ReferrerScrubber, UrlScrubber
from passivelog.sinks._base import check_number
from passivelog.trace import TraceIds
from passivelog.visitor import VISITOR_HEADERS, Headers, VisitorCache, VisitorFacts, remember

# An incoming request id is kept only when it looks like an id: a bounded run of URL-safe
# characters.
# Anything else (e-mail addresses, free text, oversized values) is replaced, so this header cannot
# smuggle personal data or log-injection payloads into the record.
_REQUEST_ID: Final = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")

_NO_COOKIES: Final[dict[str, str]] = {}


# Attribute of a fact ─▶ field of the record; a fact's empty attributes are left out.
_GEO_FIELDS: Final = (
    ("country_iso_code", f.GEO_COUNTRY),
    ("region_iso_code", f.GEO_REGION),
    ("region_name", f.GEO_REGION_NAME),
)
_AGENT_FIELDS: Final = (
    ("name", f.UA_NAME),
    ("version", f.UA_VERSION),
    ("os_name", f.UA_OS_NAME),
    ("os_version", f.UA_OS_VERSION),
    ("device_name", f.UA_DEVICE_NAME),
    ("device_class", f.DEVICE_CLASS),
)


def body_bytes_sent(method: str, status: object, body_bytes: int) -> int:
    """The body bytes a response delivered, given those the app passed to ``send``.

    RFC 9110 gives a response to HEAD (section 9.3.2) and a 1xx, 204 or 304 response (sections
    15.2, 15.3.5 and 15.4.5) no content, whatever body the app passes with it. Starlette passes
    a HEAD response's body on as it would for GET, and the server drops it: uvicorn, hypercorn
    and granian all do. Counting it would make a HEAD look like a download in bandwidth reports,
    and disagree with what a proxy in front logs (nginx's ``$body_bytes_sent`` is 0 there).
    """
    if body_bytes and (
        method == "HEAD"
        or (type(status) is int and (status < 200 or status == 204 or status == 304))
    ):
        return 0
    return body_bytes


def _copy_present(
    record: dict[str, Any], fact: object, fields: tuple[tuple[str, str], ...]
) -> None:
    for attribute, field in fields:
        value = getattr(fact, attribute)
        if value:
            record[field] = value


class Outcome(NamedTuple):
    """What the response did, as seen by the middleware's wrapped ``send``.

    A named tuple rather than a frozen dataclass: it is made once per request, and a frozen
    dataclass's ``__init__`` (``object.__setattr__`` per field) costs several times more.
    """

    status: int
    body_bytes: int
    duration_ns: int
    error_type: str | None = None
    aborted: bool = False
    ws_close_code: int | None = None


class _Page(NamedTuple):
    # The scrubbed parts of a request's URL and referrer; ``fields`` is shared, never changed.
    # The *_json members are the same, rendered for RecordBuilder.line.
    path: str
    fields: dict[str, str]
    redactions: tuple[str, ...]
    path_json: bytes
    fields_json: bytes
    redactions_json: bytes


def _line_template() -> bytes:
    # The JSON line of a plain HTTP record (no error, not aborted), with %-placeholders where
    # each request's values go; names and constants are rendered exactly as orjson writes them,
    # and in the order build() puts them, so line() and to_json_line(build()) are the same bytes.
    def name(field: str) -> bytes:
        return json_string(field) + b":"

    parts = [
        b"{" + name(f.TIMESTAMP) + b'"%s",',
        name(f.MESSAGE) + b'"%s %s %d",',
        name(f.EVENT_DATASET) + json_string(f.DATASET) + b",",
        name(f.KIND) + json_string("http") + b",",
        name(f.EVENT_DURATION) + b"%d,",
        name(f.EVENT_OUTCOME) + b'"%s",',
        name(f.HTTP_METHOD) + b'"%s",',
        name(f.URL_SCHEME) + b'"%s",',
        name(f.URL_PATH) + b'"%s",',
        name(f.STATUS_CODE) + b"%d,",
        name(f.BODY_BYTES) + b"%d,",
        name(f.HTTP_VERSION) + b'"%s",',
        name(f.REQUEST_ID) + b'"%s"',
        b"%s%s%s%s}\n",  # trace ids, page fields, visitor fields, redactions
    ]
    return b"".join(parts)


_LINE: Final = _line_template()
_TRACE_JSON: Final = b"," + json_string(f.TRACE_ID) + b':"%s"'
_SPAN_JSON: Final = b"," + json_string(f.SPAN_ID) + b':"%s"'


def _trace_json(trace: TraceIds) -> bytes:
    # passivelog.trace makes the ids of lower-case hex digits only: nothing to escape.
    text = _TRACE_JSON % trace.trace_id.encode("ascii")
    if trace.span_id is not None:
        text += _SPAN_JSON % trace.span_id.encode("ascii")
    return text


# Scope values written as they are (method, scheme, HTTP version): few distinct ones, so their
# JSON forms are kept; bounded against a client or app inventing many.
_ESCAPED_MAX: Final = 64


class _Timestamps:
    """RFC 3339 UTC timestamps with milliseconds; the seconds part is formatted once per second."""

    __slots__ = ("_bytes", "_ms", "_prefix", "_second", "_text")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""
        self._ms = -1
        self._text = ""
        self._bytes = b""

    def format(self, time_ns: int) -> str:
        # Under load many records end within the same millisecond: they share one string.
        ms = time_ns // 1_000_000
        if ms != self._ms:
            self._advance(ms)
        return self._text

    def format_bytes(self, time_ns: int) -> bytes:
        """:meth:`format` as ASCII bytes."""
        ms = time_ns // 1_000_000
        if ms != self._ms:
            self._advance(ms)
        return self._bytes

    def _advance(self, ms: int) -> None:
        second, rest = divmod(ms, 1000)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        text = f"{self._prefix}.{rest:03d}Z"
        # A thread reading between these assignments gets a neighbouring millisecond: harmless.
        self._text, self._bytes, self._ms = text, text.encode("ascii"), ms


class _RequestIds:
    """Fresh request ids: 64 random bits as 16 hex digits.

    They need to be unique, not secret. A PRNG seeded once from the OS costs far less than
    ``os.urandom`` (1.5-8 µs a call here, a getrandom() system call), and ids are made 1024 at a
    time: one ``randbytes().hex()`` per block, then one ``list.pop`` per request. ``list.pop`` is
    atomic, so threads never share an id.
    """

    __slots__ = ("_pool", "_random")

    _BLOCK: Final = 1024

    def __init__(self) -> None:
        self._random = random.Random(os.urandom(16))
        self._pool: list[str] = []

    def reseed(self) -> None:
        # Worker processes forked from one parent (gunicorn, granian) must not replay the
        # parent's sequence, nor hand out the ids it had already made.
        self._pool = []
        self._random.seed(os.urandom(16))

    def next(self) -> str:
        try:
            return self._pool.pop()
        except IndexError:
            text = self._random.randbytes(8 * self._BLOCK).hex()
            pool = [text[i : i + 16] for i in range(0, len(text), 16)]
            self._pool = pool
            return pool.pop()


_ids = _RequestIds()
os.register_at_fork(after_in_child=_ids.reseed)

#: A fresh request id: 16 hex digits.
new_request_id: Final = _ids.next


def request_id_from(value: bytes | None) -> str:
    """The incoming ``X-Request-ID`` header value when it is a well-formed id, else a fresh id."""
    if value is not None and _REQUEST_ID.fullmatch(value):
        return value.decode("ascii")
    return new_request_id()


class RecordBuilder:
    """Turns the facts of one request into one record.

    All parts are configured and validated by the caller (the middleware); this class only
    combines them in the order the privacy guarantee needs: geo from the full IP, then the IP
    reduced; pseudonyms instead of cookie values; scrubbed URLs.

    The facts about the visitor (:attr:`visitors`) are looked up when the request starts, since the
    opt-out decision shapes the request the app sees; the record is built when it ends.

    Args:
        visitor_cache_size: how many visitors' facts to keep (see :class:`VisitorCache`).
        page_cache_size: how many scrubbed (path, query, referrer) combinations to keep; keyed
            by hash like the visitor cache, so only scrubbed text is kept.
    """

    __slots__ = (
        "_agent",
        "_cookie_ids",
        "_escaped",
        "_geo",
        "_ip_field",
        "_log_ad_id",
        "_log_user_agent",
        "_optout",
        "_pages",
        "_pages_size",
        "_pseudonymiser",
        "_reducer",
        "_referrers",
        "_timestamps",
        "_trusted",
        "_urls",
        "_visitors",
    )

    def __init__(
        self,
        *,
        trusted: TrustedProxies,
        reducer: IpReducer,
        geo: GeoLocator | None,
        agent: AgentParser,
        cookie_ids: CookieIdentifier,
        urls: UrlScrubber,
        referrers: ReferrerScrubber,
        optout: OptOutPolicy | None,
        pseudonymiser: Pseudonymiser,
        log_user_agent: bool = False,
        log_ad_id: bool = False,
        visitor_cache_size: int = 4096,
        page_cache_size: int = 4096,
    ) -> None:
        self._trusted = trusted
        self._reducer = reducer
        # A keyed hash is not an address: ECS types client.ip as `ip`, and Elasticsearch, with an
        # ECS template, rejects a whole document whose client.ip does not parse as one. So the
        # pseudonym has a field of its own.
        self._ip_field = f.IP_ID if reducer.mode == "hash" else f.CLIENT_IP
        self._geo = geo
        self._agent = agent
        self._cookie_ids = cookie_ids
        self._urls = urls
        self._referrers = referrers
        self._optout = optout
        self._pseudonymiser = pseudonymiser
        self._log_user_agent = log_user_agent
        self._log_ad_id = log_ad_id
        self._timestamps = _Timestamps()
        self._escaped: dict[str, bytes] = {}
        watched = optout.watched_headers if optout is not None else frozenset()
        self._pages: OrderedDict[int, _Page] = OrderedDict()
        check_number("page_cache_size", page_cache_size, minimum=0, integer=True)  # 0: no cache
        self._pages_size = page_cache_size
        self._visitors = VisitorCache(
            self.describe_visitor, headers=VISITOR_HEADERS | watched, size=visitor_cache_size
        )

    @property
    def visitors(self) -> VisitorCache:
        """The cache of facts about visitors; ``visitors.facts(peer, headers)`` looks one up."""
        return self._visitors

    def describe_visitor(self, peer: str | None, headers: Headers) -> VisitorFacts:
        """Work out the facts about the client of a request, uncached.

        Args:
            peer: the connection's remote host, ``scope["client"][0]``, or None.
            headers: the ASGI request headers.
        """
        user_agent = None
        for name, value in headers:
            if name == b"user-agent":
                user_agent = value.decode("latin-1")
                break
        raw_cookies = cookie_headers(headers)
        cookies = parse_cookie_header(raw_cookies) if raw_cookies else _NO_COOKIES
        optout = self._optout
        decision = optout.decide(headers, cookies) if optout is not None else NO_OPT_OUT
        fields: dict[str, Any] = {}

        # Geo first, from the full address; only then is the address reduced (or dropped).
        ip = resolve_client_ip(peer, headers, self._trusted)
        if ip is not None:
            if self._geo is not None:
                region = self._geo.locate(ip)
                if region is not None:
                    _copy_present(fields, region, _GEO_FIELDS)
            reduced = self._reducer.reduce(ip)
            if reduced is not None:
                fields[self._ip_field] = reduced

        info = self._agent.parse(user_agent)
        if info is not None:
            _copy_present(fields, info, _AGENT_FIELDS)
            if self._log_user_agent and user_agent is not None:
                fields[f.UA_ORIGINAL] = user_agent

        cookie_id = self._cookie_ids.cookie_id(cookies)
        if cookie_id is not None:
            fields[f.COOKIE_ID] = cookie_id

        if optout is not None:
            fields[f.OPT_OUT] = decision.opted_out
            if decision.signals:
                fields[f.OPT_OUT_SIGNALS] = list(decision.signals)
            # An opted-out visitor's ad cookie is neither logged nor pseudonymised.
            if self._log_ad_id and not decision.opted_out:
                ad_value = optout.ad_cookie_value(cookies)
                if ad_value:
                    fields[f.AD_ID] = self._pseudonymiser.pseudonym(ad_value, "ad")
        ad_cookies = optout is not None and optout.carries_ad_cookies(cookies)
        return VisitorFacts(fields, decision, ad_cookies)

    def build(
        self,
        *,
        kind: str,
        method: str,
        scheme: str,
        path: str,
        query: bytes,
        http_version: str,
        visitor: VisitorFacts,
        referrer: bytes | None,
        host: bytes | None,
        request_id: str,
        outcome: Outcome,
        end_time_ns: int,
        trace: TraceIds | None = None,
    ) -> dict[str, Any]:
        page = self._page(path, query, referrer, host)
        path_value = page.path
        status = outcome.status
        aborted = outcome.aborted
        record: dict[str, Any] = {
            f.TIMESTAMP: self._timestamps.format(end_time_ns),
            f.MESSAGE: f"{method} {path_value} {status}",
            f.EVENT_DATASET: f.DATASET,
            f.KIND: kind,
            f.EVENT_DURATION: outcome.duration_ns,
            f.EVENT_OUTCOME: "unknown" if aborted else ("failure" if status >= 400 else "success"),
            f.HTTP_METHOD: method,
            f.URL_SCHEME: scheme,
            f.URL_PATH: path_value,
            f.STATUS_CODE: status,
            f.BODY_BYTES: body_bytes_sent(method, status, outcome.body_bytes),
            f.HTTP_VERSION: http_version,
            f.REQUEST_ID: request_id,
        }
        if trace is not None:
            record[f.TRACE_ID] = trace.trace_id
            if trace.span_id is not None:
                record[f.SPAN_ID] = trace.span_id
        if page.fields:
            record.update(page.fields)
        record.update(visitor.fields)
        if outcome.error_type is not None:
            record[f.ERROR_TYPE] = outcome.error_type
        if aborted:
            record[f.ABORTED] = True
        if outcome.ws_close_code is not None:
            record[f.WS_CLOSE_CODE] = outcome.ws_close_code
        if page.redactions:
            record[f.REDACTIONS] = list(page.redactions)
        return record

    def line(
        self,
        scheme: str,
        method: str,
        path: str,
        query: bytes,
        http_version: str,
        visitor: VisitorFacts,
        referrer: bytes | None,
        host: bytes | None,
        request_id: str,
        trace: TraceIds | None,
        status: int,
        body_bytes: int,
        duration_ns: int,
        end_time_ns: int,
    ) -> bytes | None:
        """The JSON line of :meth:`build`'s record for a plain HTTP request, or None.

        Plain: a response that completed, with no error (``Outcome(status, body_bytes,
        duration_ns)``). The result is the same bytes as ``to_json_line(build(kind="http",
        ...))``, put together from parts rendered once per visitor and per page instead of a new
        dict rendered each time (about 2 µs less per request). None when a value is not an int.
        Arguments are positional: this is called for nearly every request.
        """
        if type(status) is not int or type(duration_ns) is not int or type(body_bytes) is not int:
            return None
        # _page's lookup written out: a page seen before is one dict lookup, no call.
        page = self._pages.get(hash((path, query, referrer, host)))
        if page is None:
            page = self._page(path, query, referrer, host)
        escaped = self._escaped
        method_json = escaped.get(method) or self._escape(method)
        scheme_json = escaped.get(scheme) or self._escape(scheme)
        version_json = escaped.get(http_version) or self._escape(http_version)
        path_json = page.path_json
        if body_bytes and (
            method == "HEAD" or status < 200 or status == 204 or status == 304
        ):  # body_bytes_sent, written out: this runs for nearly every request
            body_bytes = 0
        return _LINE % (
            self._timestamps.format_bytes(end_time_ns),
            method_json,
            path_json,
            status,
            duration_ns,
            b"failure" if status >= 400 else b"success",
            method_json,
            scheme_json,
            path_json,
            status,
            body_bytes,
            version_json,
            request_id.encode("ascii", "replace"),
            b"" if trace is None else _trace_json(trace),
            page.fields_json,
            visitor.json,
            page.redactions_json,
        )

    def _escape(self, value: str) -> bytes:
        if type(value) is not str:
            raise TypeError(f"expected a str, got {type(value).__name__}")
        escaped = self._escaped
        if len(escaped) >= _ESCAPED_MAX:
            escaped.clear()
        found = escaped[value] = json_string(value)[1:-1]
        return found

    def _page(self, path: str, query: bytes, referrer: bytes | None, host: bytes | None) -> _Page:
        # Keyed by a hash like the visitor cache (see VisitorCache): only scrubbed text is kept.
        key = hash((path, query, referrer, host))
        pages = self._pages
        page = pages.get(key)
        if page is None:
            page = self.describe_page(path, query, referrer, host)
            if self._pages_size:
                remember(pages, self._pages_size, key, page)
        return page

    def describe_page(
        self, path: str, query: bytes, referrer: bytes | None, host: bytes | None
    ) -> _Page:
        """Scrub what a request says about the page: its path and query, and the referrer.

        Args:
            path: the decoded path, ``scope["path"]``.
            query: the raw query string, ``scope["query_string"]``.
            referrer: the raw ``Referer`` header value, or None.
            host: the raw ``Host`` header value, or None (to tell cross-site referrers).
        """
        fields: dict[str, str] = {}
        scrubbed_path = self._urls.scrub_path(path)
        redactions = [f"path:{rule}" for rule in scrubbed_path.rules]
        if query:
            scrubbed_query = self._urls.scrub_query(query.decode("latin-1"))
            if scrubbed_query.value:
                fields[f.URL_QUERY] = scrubbed_query.value
            redactions.extend(f"query:{rule}" for rule in scrubbed_query.rules)
        if referrer:
            scrubbed_referrer = self._referrers.scrub(
                referrer.decode("latin-1"), None if host is None else host.decode("latin-1")
            )
            if scrubbed_referrer is not None:
                fields[f.REFERRER] = scrubbed_referrer.value
                redactions.extend(f"referrer:{rule}" for rule in scrubbed_referrer.rules)
        return _Page(
            scrubbed_path.value,
            fields,
            tuple(redactions),
            json_string(scrubbed_path.value)[1:-1],
            json_members(fields),
            json_members({f.REDACTIONS: redactions}) if redactions else b"",
        )

    def fallback(
        self, *, kind: str, method: str, outcome: Outcome, end_time_ns: int, error: BaseException
    ) -> dict[str, Any]:
        """A minimal record for when :meth:`build` failed: no request data, the failure named.

        The status is kept only when it is an int: an app that sent another type (the usual
        reason build failed) would otherwise give a record that an ECS index refuses.
        """
        status = outcome.status if type(outcome.status) is int else None
        record = {
            f.TIMESTAMP: self._timestamps.format(end_time_ns),
            f.MESSAGE: f"{method} [unavailable]" + ("" if status is None else f" {status}"),
            f.EVENT_DATASET: f.DATASET,
            f.KIND: kind,
            f.EVENT_DURATION: outcome.duration_ns,
            f.HTTP_METHOD: method,
            f.BODY_BYTES: body_bytes_sent(method, status, outcome.body_bytes),
            f.INTERNAL_ERROR: type(error).__name__,
        }
        if status is not None:
            record[f.STATUS_CODE] = status
        return record


__all__ = ["Outcome", "RecordBuilder", "body_bytes_sent", "new_request_id", "request_id_from"]
