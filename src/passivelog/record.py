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
from collections.abc import Mapping, Sequence
from typing import Any, Final, NamedTuple

from passivelog import schema as f
from passivelog.agent import AgentParser
from passivelog.client import IpReducer, TrustedProxies, resolve_client_ip
from passivelog.cookies import CookieIdentifier
from passivelog.geo import GeoLocator
from passivelog.optout import OptOutDecision, OptOutPolicy
from passivelog.pseudonym import Pseudonymiser
from passivelog.scrub import ReferrerScrubber, UrlScrubber

# An incoming request id is kept only when it looks like an id: a bounded run of URL-safe
# characters.
# Anything else (e-mail addresses, free text, oversized values) is replaced, so this header cannot
# smuggle personal data or log-injection payloads into the record.
_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


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


class _Timestamps:
    """RFC 3339 UTC timestamps with milliseconds; the seconds part is formatted once per second."""

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def format(self, time_ns: int) -> str:
        second, rest = divmod(time_ns, 1_000_000_000)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._prefix}.{rest // 1_000_000:03d}Z"


# Request ids need to be unique, not secret: a PRNG seeded once from the OS costs ~0.2 µs where
# os.urandom costs 1.5-8 µs per call (a getrandom() system call) on the machines we measured.
_ids = random.Random(os.urandom(16))
# Worker processes forked from one parent (gunicorn, granian) must not replay the same sequence.
os.register_at_fork(after_in_child=lambda: _ids.seed(os.urandom(16)))


def new_request_id() -> str:
    return f"{_ids.getrandbits(64):016x}"


def request_id_from(value: str | None) -> str:
    """The incoming id when it is well formed, else a fresh one."""
    if value is not None and _REQUEST_ID.fullmatch(value):
        return value
    return new_request_id()


class RecordBuilder:
    """Turns the facts of one request into one record.

    All parts are configured and validated by the caller (the middleware); this class only
    combines them in the order the privacy guarantee needs: geo from the full IP, then the IP
    reduced; pseudonyms instead of cookie values; scrubbed URLs.
    """

    __slots__ = (
        "_agent",
        "_cookie_ids",
        "_geo",
        "_log_ad_id",
        "_log_user_agent",
        "_optout",
        "_pseudonymiser",
        "_reducer",
        "_referrers",
        "_timestamps",
        "_trusted",
        "_urls",
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
    ) -> None:
        self._trusted = trusted
        self._reducer = reducer
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

    def build(
        self,
        *,
        kind: str,
        method: str,
        scheme: str,
        path: str,
        query: bytes,
        http_version: str,
        headers: Sequence[tuple[bytes, bytes]],
        peer: str | None,
        cookies: Mapping[str, str],
        decision: OptOutDecision,
        request_id: str,
        outcome: Outcome,
        end_time_ns: int,
    ) -> dict[str, Any]:
        user_agent = referrer = host = None
        for name, value in headers:
            if name == b"user-agent":
                user_agent = value.decode("latin-1")
            elif name == b"referer":
                referrer = value.decode("latin-1")
            elif name == b"host":
                host = value.decode("latin-1")

        redactions: list[str] = []
        scrubbed_path = self._urls.scrub_path(path)
        if scrubbed_path.rules:
            redactions.extend(f"path:{rule}" for rule in scrubbed_path.rules)

        status = outcome.status
        record: dict[str, Any] = {
            f.TIMESTAMP: self._timestamps.format(end_time_ns),
            f.MESSAGE: f"{method} {scrubbed_path.value} {status}",
            f.EVENT_DATASET: f.DATASET,
            f.KIND: kind,
            f.EVENT_DURATION: outcome.duration_ns,
            f.EVENT_OUTCOME: "unknown"
            if outcome.aborted
            else ("failure" if status >= 400 else "success"),
            f.HTTP_METHOD: method,
            f.URL_SCHEME: scheme,
            f.URL_PATH: scrubbed_path.value,
            f.STATUS_CODE: status,
            f.BODY_BYTES: outcome.body_bytes,
            f.HTTP_VERSION: http_version,
            f.REQUEST_ID: request_id,
        }

        if query:
            scrubbed_query = self._urls.scrub_query(query.decode("latin-1"))
            if scrubbed_query.value:
                record[f.URL_QUERY] = scrubbed_query.value
            if scrubbed_query.rules:
                redactions.extend(f"query:{rule}" for rule in scrubbed_query.rules)

        if referrer:
            scrubbed_referrer = self._referrers.scrub(referrer, host)
            if scrubbed_referrer is not None:
                record[f.REFERRER] = scrubbed_referrer.value
                if scrubbed_referrer.rules:
                    redactions.extend(f"referrer:{rule}" for rule in scrubbed_referrer.rules)

        # Geo first, from the full address; only then is the address reduced (or dropped).
        ip = resolve_client_ip(peer, headers, self._trusted)
        if ip is not None:
            if self._geo is not None:
                region = self._geo.locate(ip)
                if region is not None:
                    _copy_present(record, region, _GEO_FIELDS)
            reduced = self._reducer.reduce(ip)
            if reduced is not None:
                record[f.CLIENT_IP] = reduced

        info = self._agent.parse(user_agent)
        if info is not None:
            _copy_present(record, info, _AGENT_FIELDS)
            if self._log_user_agent and user_agent is not None:
                record[f.UA_ORIGINAL] = user_agent

        cookie_id = self._cookie_ids.cookie_id(cookies)
        if cookie_id is not None:
            record[f.COOKIE_ID] = cookie_id

        optout = self._optout
        if optout is not None:
            record[f.OPT_OUT] = decision.opted_out
            if decision.signals:
                record[f.OPT_OUT_SIGNALS] = list(decision.signals)
            # An opted-out visitor's ad cookie is neither logged nor pseudonymised.
            if self._log_ad_id and not decision.opted_out:
                ad_value = optout.ad_cookie_value(cookies)
                if ad_value:
                    record[f.AD_ID] = self._pseudonymiser.pseudonym(ad_value, "ad")

        if outcome.error_type is not None:
            record[f.ERROR_TYPE] = outcome.error_type
        if outcome.aborted:
            record[f.ABORTED] = True
        if outcome.ws_close_code is not None:
            record[f.WS_CLOSE_CODE] = outcome.ws_close_code
        if redactions:
            record[f.REDACTIONS] = redactions
        return record

    def fallback(
        self, *, kind: str, method: str, outcome: Outcome, end_time_ns: int, error: BaseException
    ) -> dict[str, Any]:
        """A minimal record for when :meth:`build` failed: no request data, the failure named."""
        return {
            f.TIMESTAMP: self._timestamps.format(end_time_ns),
            f.MESSAGE: f"{method} [unavailable] {outcome.status}",
            f.EVENT_DATASET: f.DATASET,
            f.KIND: kind,
            f.EVENT_DURATION: outcome.duration_ns,
            f.HTTP_METHOD: method,
            f.STATUS_CODE: outcome.status,
            f.BODY_BYTES: outcome.body_bytes,
            f.INTERNAL_ERROR: type(error).__name__,
        }


__all__ = ["Outcome", "RecordBuilder", "new_request_id", "request_id_from"]
