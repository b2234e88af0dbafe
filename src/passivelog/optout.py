"""Advertising opt-out: read the visitor's signals and make the opt-out true on the wire.

Four signals are honoured, each switchable: ``Sec-GPC: 1`` (Global Privacy Control), ``DNT: 1``
(W3C Tracking Preference Expression), an opt-out cookie (default ``ad_opt_out=1``) and an opt-out
request header (default ``X-Ad-Opt-Out: 1``). :meth:`OptOutPolicy.decide` turns them into an
:class:`OptOutDecision`; the other methods apply its effects to the raw ASGI headers:

* ad cookies are removed from the ``Cookie`` header the app receives
  (:meth:`~OptOutPolicy.request_headers_for_app`);
* ``Set-Cookie`` headers that would set an ad cookie are removed from the response, while those
  that delete one pass (:meth:`~OptOutPolicy.response_headers`);
* ``Vary`` names the signal headers on responses that may differ by them
  (:meth:`~OptOutPolicy.response_headers`);
* a tiny ASGI responder serves ``/.well-known/gpc.json`` and the toggle that sets and clears the
  opt-out cookie (:meth:`~OptOutPolicy.respond`).

Everything here is total at request time: any bytes in any header give an answer, never an
exception. Where a header is malformed the rule is "when in doubt, opt out, and when in doubt,
remove the ad cookie", except where a specification says exactly how to read a value.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from time import time
from typing import Any, Final

import orjson

from passivelog.headers import header_bytes
from passivelog.sinks._base import check_collection

__all__ = [
    "DEFAULT_AD_COOKIES",
    "GPC_JSON_PATH",
    "NO_OPT_OUT",
    "SIGNALS",
    "STATE_KEY",
    "DecisionView",
    "OptOutDecision",
    "OptOutPolicy",
]

Headers = list[tuple[bytes, bytes]]
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

SIGNALS: Final = ("gpc", "dnt", "cookie", "header")

#: Key under which the middleware puts the decision into ``scope["state"]``, so Starlette apps read
#: it as ``request.state.passivelog_opt_out``.
STATE_KEY: Final = "passivelog_opt_out"

#: The GPC support resource (GPC specification, "GPC Support Resource"; RFC 8615 well-known URI).
GPC_JSON_PATH: Final = "/.well-known/gpc.json"

#: Advertising cookies that a site can see as first-party cookies. A trailing ``*`` marks a prefix.
DEFAULT_AD_COOKIES: Final[tuple[str, ...]] = (
    # Google Analytics / Google Ads / Campaign Manager (gtag.js, ad manager, DoubleClick)
    "_ga",
    "_ga_*",
    "_gid",
    "_gat",
    "_gat_*",
    "_gac_*",
    "_gcl_*",
    "__gads",
    "__gpi",
    "__gsas",
    "IDE",
    "DSID",
    "test_cookie",
    # Meta pixel
    "_fbp",
    "_fbc",
    # Microsoft Advertising (UET)
    "_uetsid",
    "_uetvid",
    "_uetmsclkid",
    # TikTok pixel
    "_ttp",
    "_tt_enable_cookie",
    # Pinterest tag
    "_pin_unauth",
    "_epik",
    # Snap pixel
    "_scid",
    "_scid_r",
    "_sctr",
    # Reddit pixel, LinkedIn Insight, Criteo, Quantcast
    "_rdt_uuid",
    "li_fat_id",
    "cto_bundle",
    "__qca",
)


@dataclass(frozen=True, slots=True)
class OptOutDecision:
    """Whether this request's visitor opted out of advertising cookies, and by which signals.

    Args:
        opted_out: true when at least one enabled signal was present.
        signals: the signals present, in :data:`SIGNALS` order.
    """

    opted_out: bool
    signals: tuple[str, ...]


#: The decision for a request that carries no signal (shared: the common case allocates nothing).
NO_OPT_OUT: Final = OptOutDecision(False, ())


class DecisionView:
    """The decision as the app reads it from ``scope["state"]``, noting that it was read.

    An app that reads ``opted_out`` or ``signals`` before it starts its response may answer
    differently by the opt-out signals (it skips ad tags), so the response gets ``Vary``. A
    response whose app never looked is the same for every visitor, and is left cacheable.

    Args:
        decision: the request's decision.
    """

    __slots__ = ("_decision", "read")

    def __init__(self, decision: OptOutDecision) -> None:
        self._decision = decision
        #: Whether the app read the decision.
        self.read = False

    @property
    def decision(self) -> OptOutDecision:
        """The decision itself (reading it counts as reading the view)."""
        self.read = True
        return self._decision

    @property
    def opted_out(self) -> bool:
        """See :attr:`OptOutDecision.opted_out`."""
        self.read = True
        return self._decision.opted_out

    @property
    def signals(self) -> tuple[str, ...]:
        """See :attr:`OptOutDecision.signals`."""
        self.read = True
        return self._decision.signals

    def __eq__(self, other: object) -> bool:
        self.read = True
        if isinstance(other, DecisionView):
            other = other.decision
        return self._decision == other

    def __hash__(self) -> int:
        return hash(self._decision)

    def __repr__(self) -> str:
        self.read = True
        return f"DecisionView({self._decision!r})"


_GPC: Final = 1
_DNT: Final = 2
_COOKIE: Final = 4
_HEADER: Final = 8
_BITS: Final = (_GPC, _DNT, _COOKIE, _HEADER)
# One decision object per combination of signals, built once: decide() never allocates one.
_DECISIONS: Final[tuple[OptOutDecision, ...]] = tuple(
    OptOutDecision(True, tuple(s for s, bit in zip(SIGNALS, _BITS, strict=True) if mask & bit))
    if mask
    else NO_OPT_OUT
    for mask in range(16)
)

# RFC 9110 §5.6.2: token = 1*tchar. Cookie names are tokens too (RFC 6265 §4.1.1).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 6265 §4.1.1 cookie-octet: visible ASCII except DQUOTE, comma, semicolon and backslash.
_COOKIE_OCTETS = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+")
_PATH = re.compile(r"/[\x21-\x7e]*")
_FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")

# Tracking Preference Expression §5.2 (https://www.w3.org/TR/tracking-dnt/#dnt-header-field):
#   DNT-field-value = ( "0" / "1" ) *DNT-extension
#   DNT-extension   = %x21 / %x23-2B / %x2D-5B / %x5D-7E  ; no CTL, SP, DQUOTE, comma, backslash
# Only a value that starts with "1" and is otherwise well formed expresses "do not track": "1xyz"
# does, "0", "", "true" and a comma-joined "1, 1" do not.
_DNT_ONE = re.compile(rb"1[\x21\x23-\x2b\x2d-\x5b\x5d-\x7e]*")

# RFC 9110 §5.5: a field value has no leading or trailing whitespace (OWS = SP / HTAB); a
# recipient trims it, so "1 " is "1". Nothing else is trimmed: "\x0b1" is not "1".
_OWS: Final = b" \t"

# RFC 6265 §5.2: attributes are split on ";", names and values trimmed of WSP (SP / HTAB), names
# compared case-insensitively. Only Max-Age and Expires can make a Set-Cookie a deletion.
_EXPIRY_ATTRIBUTE = re.compile(rb";[ \t]*(max-age|expires)[ \t]*=([^;]*)", re.I)

# RFC 6265 §5.1.1, the cookie-date algorithm browsers use for Expires: split on delimiters, then
# pick the first token that looks like a time, a day of month, a month and a year. Linear in the
# length of the value whatever it holds.
_DATE_DELIMITERS = re.compile(rb"[\x09\x20-\x2f\x3b-\x40\x5b-\x60\x7b-\x7e]+")
_DATE_TIME_TOKEN = re.compile(rb"([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[^0-9].*)?", re.S)
_DATE_DAY_TOKEN = re.compile(rb"([0-9]{1,2})(?:[^0-9].*)?", re.S)
_DATE_YEAR_TOKEN = re.compile(rb"([0-9]{2,4})(?:[^0-9].*)?", re.S)
_MONTHS: Final = {
    name: number
    for number, name in enumerate(
        (
            b"jan",
            b"feb",
            b"mar",
            b"apr",
            b"may",
            b"jun",
            b"jul",
            b"aug",
            b"sep",
            b"oct",
            b"nov",
            b"dec",
        ),
        start=1,
    )
}

_AD_CACHE_SIZE: Final = 1024
_DEFAULT_MAX_AGE: Final = 60 * 60 * 24 * 365 * 2
_DEFAULT_LAST_UPDATE: Final = "2026-11-29"
_EPOCH_EXPIRES: Final = "Thu, 01 Jan 1970 00:00:00 GMT"
_TOGGLE_ALLOW: Final = b"GET, HEAD, POST, DELETE"
_GPC_JSON_ALLOW: Final = b"GET, HEAD"


def _parse_cookie_date(value: bytes) -> float | None:
    """Return the POSIX time of an ``Expires`` value per RFC 6265 §5.1.1, or ``None``."""
    hms: tuple[int, int, int] | None = None
    day = month = year = -1
    for token in _DATE_DELIMITERS.split(value):
        if not token:
            continue
        if hms is None and (m := _DATE_TIME_TOKEN.fullmatch(token)):
            hms = (int(m[1]), int(m[2]), int(m[3]))
        elif day < 0 and (m := _DATE_DAY_TOKEN.fullmatch(token)):
            day = int(m[1])
        elif month < 0 and token[:3].lower() in _MONTHS:
            month = _MONTHS[token[:3].lower()]
        elif year < 0 and (m := _DATE_YEAR_TOKEN.fullmatch(token)):
            year = int(m[1])
    if hms is None or day < 0 or month < 0 or year < 0:
        return None
    if 70 <= year <= 99:
        year += 1900
    elif 0 <= year <= 69:
        year += 2000
    hour, minute, second = hms
    if not 1 <= day <= 31 or year < 1601 or hour > 23 or minute > 59 or second > 59:
        return None
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()
    except ValueError:  # a day that does not exist in that month, e.g. 31 Feb
        return None


def _as_bytes(headers: Headers) -> tuple[Headers, list[Any]]:
    """``headers`` split into pairs read as bytes and pairs that cannot be.

    The first is ``headers`` itself when every name and value already is bytes.
    """
    readable: Headers = []
    unreadable: list[Any] = []
    changed = False
    for pair in headers:
        try:
            name, value = pair
            as_bytes = (header_bytes(name), header_bytes(value))
        except (TypeError, ValueError):
            unreadable.append(pair)
            continue
        changed = changed or as_bytes[0] is not name or as_bytes[1] is not value
        readable.append(as_bytes)
    if not changed and not unreadable:
        return headers, []
    return readable, unreadable


def _is_set_cookie(name: bytes) -> bool:
    # A missed Set-Cookie would set the ad cookie, so compare case-insensitively (length first,
    # it is cheap): ASGI asks for lowercase names, but an app may send others.
    return len(name) == 10 and (name == b"set-cookie" or name.lower() == b"set-cookie")


def _is_deletion(attributes: bytes) -> bool:
    """Whether Set-Cookie attributes make the browser delete the cookie (RFC 6265 §5.2, §5.3).

    Strict on purpose: an attribute is read only as RFC 6265 says a browser reads it. Reading
    more leniently than the browser would let an ad cookie through as a "deletion" that the browser
    then stores as a session cookie.
    """
    max_age: bytes | None = None
    expires: float | None = None
    for key, val in _EXPIRY_ATTRIBUTE.findall(b";" + attributes):
        val = val.strip(_OWS)
        if key[0] in b"mM":  # Max-Age, else Expires
            # §5.2.2: honoured only if it is "-"? DIGIT+ (bytes.isdigit is ASCII digits only).
            if val.isdigit() or (val[:1] == b"-" and val[1:].isdigit()):
                max_age = val  # §5.3 step 3: the last valid Max-Age counts
        else:
            parsed = _parse_cookie_date(val)
            if parsed is not None:
                expires = parsed
    if max_age is not None:
        # §5.2.2: delta-seconds <= 0 means "expire now". Decided on the digits, never int(), which
        # refuses very long numbers. Max-Age wins over Expires (§5.3 step 3).
        return max_age.startswith(b"-") or not max_age.strip(b"0")
    return expires is not None and expires <= time()


class OptOutPolicy:
    """Reads a visitor's advertising opt-out signals and applies the opt-out's effects.

    Configuration is checked here; a bad value raises :class:`ValueError` saying what to change.
    All request-time methods are total.

    Args:
        gpc: honour ``Sec-GPC: 1``.
        dnt: honour ``DNT: 1``.
        cookie: ``(name, value)`` of the opt-out cookie, or ``None`` to ignore cookies. The toggle
            sets and clears this cookie, so it needs one.
        header: name of an opt-out request header whose value ``1`` opts out, or ``None``.
        ad_cookies: names of advertising cookies; a trailing ``*`` marks a prefix.
        strip_set_cookie: when opted out, remove ``Set-Cookie`` headers that set an ad cookie.
        strip_request_cookies: when opted out, hide ad cookies from the app's ``Cookie`` header.
        vary: add the signal headers to ``Vary`` on responses that may differ by them (see
            :meth:`response_headers`).
        toggle_path: path of the toggle (``POST`` sets, ``DELETE`` clears, ``GET`` reads), or
            ``None`` to serve none.
        serve_gpc_json: serve ``/.well-known/gpc.json``; needs ``gpc=True``.
        gpc_last_update: the ``lastUpdate`` of gpc.json, an RFC 3339 date (``YYYY-MM-DD``) or
            date-time: when this site's statement of GPC support was made.
        cookie_max_age: lifetime of the opt-out cookie in seconds. Browsers cap it at 400 days
            (RFC 6265bis, Max-Age attribute); a longer value is sent as it is.
    """

    __slots__ = (
        "_accepted_cookie_bytes",
        "_accepted_cookie_values",
        "_ad_cache",
        "_ad_names",
        "_ad_order",
        "_ad_prefixes",
        "_cookie_name",
        "_cookie_needle",
        "_cookie_value",
        "_gpc_json_body",
        "_max_age",
        "_routes",
        "_serve_gpc_json",
        "_strip_request_cookies",
        "_strip_set_cookie",
        "_toggle_path",
        "_vary_names",
        "_vary_value",
        "_watched",
    )

    def __init__(
        self,
        *,
        gpc: bool = True,
        dnt: bool = True,
        cookie: tuple[str, str] | None = ("ad_opt_out", "1"),
        header: str | None = "X-Ad-Opt-Out",
        ad_cookies: Iterable[str] = DEFAULT_AD_COOKIES,
        strip_set_cookie: bool = True,
        strip_request_cookies: bool = True,
        vary: bool = True,
        toggle_path: str | None = "/privacy/ad-opt-out",
        serve_gpc_json: bool = True,
        gpc_last_update: str = _DEFAULT_LAST_UPDATE,
        cookie_max_age: int = _DEFAULT_MAX_AGE,
    ) -> None:
        for name, flag in (
            ("gpc", gpc),
            ("dnt", dnt),
            ("strip_set_cookie", strip_set_cookie),
            ("strip_request_cookies", strip_request_cookies),
            ("vary", vary),
            ("serve_gpc_json", serve_gpc_json),
        ):
            if not isinstance(flag, bool):
                # gpc="no" would be truthy: the signal honoured by the one who meant to ignore it.
                raise ValueError(f"{name}={flag!r} must be True or False")
        self._ad_names, self._ad_prefixes, self._ad_order = _check_ad_cookies(ad_cookies)
        # Raw cookie name -> is it an ad cookie. Sites use few names, so this saves decoding and
        # trimming each name on every request.
        self._ad_cache: dict[bytes, bool] = {}

        watched: dict[bytes, int] = {}
        vary_names: list[bytes] = []
        if gpc:
            watched[b"sec-gpc"] = _GPC
            vary_names.append(b"Sec-GPC")
        if dnt:
            watched[b"dnt"] = _DNT
            vary_names.append(b"DNT")
        if header is not None:
            if not isinstance(header, str) or not _TOKEN.fullmatch(header):
                raise ValueError(
                    f"header={header!r} is not an HTTP field name: use letters, digits and "
                    "'-' (e.g. 'X-Ad-Opt-Out'), or header=None to ignore an opt-out header"
                )
            if header.lower() in ("sec-gpc", "dnt", "cookie"):
                raise ValueError(
                    f"header={header!r} is already read as its own signal: choose another name "
                    "(e.g. 'X-Ad-Opt-Out') or header=None"
                )
            watched[header.lower().encode("ascii")] = _HEADER
            vary_names.append(header.encode("ascii"))

        self._cookie_name: str | None = None
        self._cookie_value = ""
        self._accepted_cookie_values: frozenset[str] = frozenset()
        self._accepted_cookie_bytes: frozenset[bytes] = frozenset()
        self._cookie_needle = b""
        if cookie is not None:
            name, value = _check_cookie(cookie)
            if self.is_ad_cookie(name):
                raise ValueError(
                    f"the opt-out cookie {name!r} matches ad_cookies, so it would be hidden and "
                    "never set: rename it or remove the matching entry from ad_cookies"
                )
            self._cookie_name, self._cookie_value = name, value
            # A quoted value is the same preference (RFC 6265 §4.1.1 allows DQUOTEs around it).
            self._accepted_cookie_values = frozenset((value, f'"{value}"'))
            self._accepted_cookie_bytes = frozenset((value.encode(), f'"{value}"'.encode()))
            self._cookie_needle = name.encode()
            watched[b"cookie"] = _COOKIE
            vary_names.append(b"Cookie")

        self._watched = watched
        # RFC 9110 §12.5.5: Vary lists the request fields that may select the response. Whether an
        # ad cookie is set, what cookies the app sees and whether it shows ad tags depend on these
        # signals, so a response that any of that touched names them, and a cache never serves
        # it to a visitor whose signals differ (see response_headers).
        self._vary_names: tuple[tuple[bytes, bytes], ...] = tuple(
            (name, name.lower()) for name in vary_names
        )
        self._vary_value = b", ".join(vary_names) if vary and vary_names else None
        self._strip_set_cookie = bool(strip_set_cookie)
        self._strip_request_cookies = bool(strip_request_cookies)

        if toggle_path is not None:
            if (
                not isinstance(toggle_path, str)
                or not _PATH.fullmatch(toggle_path)
                or any(c in toggle_path for c in "?#")
            ):
                raise ValueError(
                    f"toggle_path={toggle_path!r} is not a plain URL path: start it with '/', "
                    "use no spaces, '?' or '#' (e.g. '/privacy/ad-opt-out'), or pass None"
                )
            if toggle_path == GPC_JSON_PATH:
                raise ValueError(f"toggle_path cannot be {GPC_JSON_PATH}: choose another path")
            if self._cookie_name is None:
                raise ValueError(
                    "the toggle sets and clears the opt-out cookie, but cookie=None: pass "
                    "cookie=(name, value) or toggle_path=None"
                )
        self._toggle_path = toggle_path

        if serve_gpc_json and not gpc:
            raise ValueError(
                "serve_gpc_json=True announces that this site honours GPC, but gpc=False: "
                "set gpc=True or serve_gpc_json=False"
            )
        self._serve_gpc_json = bool(serve_gpc_json)
        routes = {toggle_path} if toggle_path else set()
        if self._serve_gpc_json:
            routes.add(GPC_JSON_PATH)
        self._routes = frozenset(routes)
        self._gpc_json_body = orjson.dumps(
            {"gpc": True, "lastUpdate": _check_last_update(gpc_last_update)}
        )

        if (
            isinstance(cookie_max_age, bool)
            or not isinstance(cookie_max_age, int)
            or (cookie_max_age <= 0)
        ):
            raise ValueError(
                f"cookie_max_age={cookie_max_age!r} must be a positive number of seconds "
                "(default two years)"
            )
        self._max_age = cookie_max_age

    def __repr__(self) -> str:
        return f"OptOutPolicy(signals={self.signals!r}, toggle_path={self._toggle_path!r})"

    @property
    def signals(self) -> tuple[str, ...]:
        """The enabled signals, in :data:`SIGNALS` order."""
        bits = set(self._watched.values())
        return tuple(s for s, bit in zip(SIGNALS, _BITS, strict=True) if bit in bits)

    @property
    def watched_headers(self) -> frozenset[bytes]:
        """Lowercase names of the request headers :meth:`decide` reads."""
        return frozenset(self._watched)

    # -- signals ----------------------------------------------------------------------------

    def decide(
        self, headers: Sequence[tuple[bytes, bytes]], cookies: Mapping[str, str]
    ) -> OptOutDecision:
        """Read the signals of one request.

        One pass over the raw headers comparing names. A signal header may be repeated: the GPC
        specification says that if any ``Sec-GPC`` field line is exactly ``1`` the request has
        the preference; the same rule is applied to ``DNT`` and the opt-out header, so a
        repeated field never hides an opt-out. A comma-joined value (``Sec-GPC: 1, 1``, as a proxy
        may fold repeated lines per RFC 9110 §5.3) is not the grammar's ``"1"`` and is ignored:
        none of these fields is list-valued, so such a value is malformed.

        Likewise any opt-out cookie with the opt-out value counts: a browser sends several cookies
        of one name when they differ by path or domain (RFC 6265 §5.4), and ``cookies`` keeps only
        one of them, so the raw ``Cookie`` headers are read too.

        Args:
            headers: the ASGI request headers (lowercase names, raw values).
            cookies: the request's cookies, already parsed.
        """
        mask = 0
        cookie_headers: list[bytes] | None = None
        watched = self._watched
        if watched:
            for name, value in headers:
                bit = watched.get(name)
                if bit is None or mask & bit:
                    continue
                if bit == _COOKIE:
                    # Read only if the cookie's name occurs in it, and only if `cookies` does not
                    # already hold the opt-out value (see below).
                    if self._cookie_needle in value:
                        if cookie_headers is None:
                            cookie_headers = []
                        cookie_headers.append(value)
                    continue
                if value != b"1":
                    value = value.strip(_OWS)
                if bit == _DNT:
                    # Tracking Preference Expression §5.2: "1" plus optional extension characters.
                    if _DNT_ONE.fullmatch(value):
                        mask |= bit
                # GPC specification, "The Sec-GPC Header Field": the server MUST ignore the field
                # unless its value is exactly "1" ("true", "0", "" and "1, 1" are no preference).
                # The opt-out header follows the same rule.
                elif value == b"1":
                    mask |= bit
        cookie_name = self._cookie_name
        if cookie_name is not None and (
            cookies.get(cookie_name) in self._accepted_cookie_values
            or (cookie_headers is not None and self._has_opt_out_cookie(cookie_headers))
        ):
            mask |= _COOKIE
        return _DECISIONS[mask]

    def _has_opt_out_cookie(self, headers: list[bytes]) -> bool:
        needle = self._cookie_needle
        for header in headers:
            for piece in header.split(b";"):
                if needle not in piece:
                    continue
                name, _, value = piece.partition(b"=")
                if (
                    value.strip(_OWS) in self._accepted_cookie_bytes
                    and name.decode("latin-1").strip() == self._cookie_name
                ):
                    return True
        return False

    def is_ad_cookie(self, name: str) -> bool:
        """Whether ``name`` is an advertising cookie (exact name, or starts with a prefix).

        Browsers compare cookie names case-sensitively, so ``_GA`` is not ``_ga``.
        """
        return name in self._ad_names or name.startswith(self._ad_prefixes)

    def ad_cookie_value(self, cookies: Mapping[str, str]) -> str | None:
        """Return the value of the ad cookie to pseudonymise as ``passivelog.ad_id``, or ``None``.

        Call it only when the visitor has not opted out. The cookie is chosen by the order of
        ``ad_cookies`` (``_ga`` before ``_gid``), not by its place in the ``Cookie`` header, which
        browsers may reorder: the same visitor gets the same pseudonym on every request. Among
        cookies matching one prefix the smallest name wins.
        """
        for entry, is_prefix in self._ad_order:
            if not is_prefix:
                value = cookies.get(entry)
                if value:
                    return value
                continue
            matches = [n for n in cookies if n.startswith(entry) and cookies[n]]
            if matches:
                return cookies[min(matches)]
        return None

    @property
    def notes_reads(self) -> bool:
        """Whether :meth:`state_for_app` gives a :class:`DecisionView` (``vary`` is on)."""
        return self._vary_value is not None

    def state_for_app(self, decision: OptOutDecision) -> OptOutDecision | DecisionView:
        """What the middleware stores in ``scope["state"][STATE_KEY]`` for one request.

        Starlette apps read ``request.state.passivelog_opt_out.opted_out`` to skip ad tags. With
        ``vary`` on it is a fresh :class:`DecisionView`, which notes whether the app read it;
        otherwise the decision itself.
        """
        return DecisionView(decision) if self._vary_value is not None else decision

    def carries_ad_cookies(self, cookies: Mapping[str, str]) -> bool:
        """Whether a request's cookies include an ad cookie (of any value, empty included)."""
        return any(self.is_ad_cookie(name) for name in cookies)

    # -- effects on headers -----------------------------------------------------------------

    def request_headers_for_app(self, headers: Headers, decision: OptOutDecision) -> Headers:
        """Remove ad cookies from every ``Cookie`` header the app will see (when opted out).

        HTTP/2 and HTTP/3 may split the cookie into several ``cookie`` field lines (RFC 9113
        §8.2.3), so each is filtered; one left empty is dropped. The other cookies keep their
        bytes and order. Returns ``headers`` itself when nothing changes.
        """
        if not decision.opted_out or not self._strip_request_cookies:
            return headers
        result: Headers | None = None
        emptied: list[int] = []
        cache = self._ad_cache
        for index, (name, value) in enumerate(headers):
            # ASGI servers send lowercase names; a hand-built scope may not (length check first).
            if len(name) != 6 or (name != b"cookie" and name.lower() != b"cookie"):
                continue
            pieces = value.split(b";")
            kept: list[bytes] = []
            for piece in pieces:
                raw, eq, _ = piece.partition(b"=")
                if eq:  # a piece without "=" is a nameless cookie: never an ad cookie
                    is_ad = cache.get(raw)
                    if is_ad is None:
                        is_ad = self._learn(raw)
                    if is_ad:
                        continue
                kept.append(piece)
            if len(kept) == len(pieces):
                continue
            if result is None:
                result = headers.copy()
            remaining = b";".join(kept).strip(_OWS)
            result[index] = (name, remaining)
            if not remaining.strip(b"; \t"):
                emptied.append(index)
        if result is None:
            return headers
        for index in reversed(emptied):
            del result[index]
        return result

    def response_headers(
        self,
        headers: Headers,
        decision: OptOutDecision,
        *,
        decision_read: bool = True,
        ad_cookies_sent: bool = True,
    ) -> Headers:
        """Apply the opt-out to the response headers; returns ``headers`` itself if unchanged.

        When opted out, each ``Set-Cookie`` that sets an ad cookie is removed; one that deletes
        it (``Max-Age`` <= 0, or ``Expires`` in the past, read as RFC 6265 §5.2 reads them)
        passes, so the app can still clear ad cookies. An unreadable date is not a deletion.

        When ``vary`` is on, the enabled signal headers are added to ``Vary`` (merged into an
        existing ``Vary``, without duplicates) on a response that may differ by them:

        - the app read the decision (``decision_read``): it may have left out ad tags;
        - the response sets an ad cookie, which an opted-out visitor does not get;
        - the request carried ad cookies (``ad_cookies_sent``), which an opted-out visitor's app
          does not see, and the app's own ``Vary`` names ``Cookie``: its answer depends on the
          cookies it saw. An app that does not vary by cookie answers the same either way.

        Any other response is the same whatever the signals, and stays cacheable for everyone.
        ``Vary: *`` is left alone, as it already varies on everything. Both flags default to
        true: a caller that cannot tell gets ``Vary`` wherever it could be needed.

        Header names and values should be bytes, as ASGI asks. ``str`` ones (which some servers
        accept) are read as their Latin-1 bytes (UTF-8 beyond Latin-1) and bytearrays as bytes,
        and they come back as bytes. Pairs that cannot be read as bytes at all (a number, a
        pair that is not a pair) come back as they were, last, for the server to refuse.
        """
        try:
            opted_out = decision.opted_out
            if opted_out and self._strip_set_cookie:
                kept = self._without_ad_set_cookies(headers)
            else:
                kept = headers
            vary_value = self._vary_value
            if vary_value is None:
                return kept
            differs = decision_read or kept is not headers
            # Opted in: would the opt-out have removed a Set-Cookie? Looked for in the same pass.
            look_for_ad_cookie = not differs and not opted_out and self._strip_set_cookie
            has_vary = False
            for name, value in kept:
                # Names compared by length first (cheap), then case-insensitively: ASGI asks for
                # lowercase names, but an app may send others. _is_set_cookie, inlined: this loop
                # runs on every response.
                length = len(name)
                if length == 4:
                    if type(name) is not bytes:  # a str "vary" or "Vary": see the except
                        raise TypeError("header name is not bytes")
                    has_vary = has_vary or name == b"vary" or name.lower() == b"vary"
                elif length == 10:
                    if type(name) is not bytes:  # a str "set-cookie" would slip through
                        raise TypeError("header name is not bytes")
                    if (
                        look_for_ad_cookie
                        and (name == b"set-cookie" or name.lower() == b"set-cookie")
                        and self._sets_ad_cookie(value)
                    ):
                        differs = True
                        look_for_ad_cookie = False
            if not has_vary:
                if not differs:
                    return kept
                # The common case, no Vary of the app's own: one new header, no merging.
                return [*kept, (b"vary", vary_value)]
            first = -1
            present: set[bytes] = set()
            for index, (name, value) in enumerate(kept):
                if len(name) == 4 and name.lower() == b"vary":
                    if first < 0:
                        first = index
                    present.update(token.strip(_OWS).lower() for token in value.split(b","))
            if b"*" in present:
                return kept
            if not differs and not (
                ad_cookies_sent and self._strip_request_cookies and b"cookie" in present
            ):
                return kept
            missing = [name for name, lower in self._vary_names if lower not in present]
            if not missing:
                return kept
            result = kept.copy() if kept is headers else kept
            name, value = result[first]
            value = value.strip(_OWS)
            added = b", ".join(missing)
            result[first] = (name, value + b", " + added if value.strip(b", \t") else added)
            return result
        except Exception:
            # Not all bytes (the fast path above assumes they are): read them as bytes, once.
            readable, unreadable = _as_bytes(headers)
            if readable is headers:
                return headers
            applied = self.response_headers(
                readable, decision, decision_read=decision_read, ad_cookies_sent=ad_cookies_sent
            )
            # What cannot be read as bytes goes on as it was, for the server to refuse.
            return [*applied, *unreadable]

    def _learn(self, raw: bytes) -> bool:
        # The name as a server reads it: Latin-1 and str.strip, as Starlette's cookie parser does.
        # Trimming more than a browser only makes more names match, so more is removed.
        is_ad = self.is_ad_cookie(raw.decode("latin-1").strip())
        cache = self._ad_cache
        if len(cache) >= _AD_CACHE_SIZE:  # bounded against clients inventing names
            cache.clear()
        cache[raw] = is_ad
        return is_ad

    def _without_ad_set_cookies(self, headers: Headers) -> Headers:
        removed = [
            index
            for index, (name, value) in enumerate(headers)
            if _is_set_cookie(name) and self._sets_ad_cookie(value)
        ]
        if not removed:
            return headers
        result = headers.copy()
        for index in reversed(removed):
            del result[index]
        return result

    def _sets_ad_cookie(self, set_cookie: bytes) -> bool:
        """Whether a ``Set-Cookie`` value sets (not deletes) an ad cookie."""
        pair, _, attributes = set_cookie.partition(b";")
        raw, eq, _ = pair.partition(b"=")
        if not eq:
            # RFC 6265bis's Set-Cookie algorithm reads "value" without "=" as a nameless
            # cookie: never an ad cookie.
            return False
        is_ad = self._ad_cache.get(raw)
        if is_ad is None:
            is_ad = self._learn(raw)
        return is_ad and not _is_deletion(attributes)

    # -- the toggle and gpc.json ------------------------------------------------------------

    @property
    def routes(self) -> frozenset[str]:
        """The paths :meth:`handles` answers for (any method), so callers can test membership."""
        return self._routes

    def handles(self, method: str, path: str) -> bool:
        """Whether the middleware should answer this request itself with :meth:`respond`.

        True for every method on the toggle path (unsupported ones get 405) and on
        ``/.well-known/gpc.json`` when it is served.
        """
        return path in self._routes

    async def respond(
        self, scope: Scope, receive: Receive, send: Send, decision: OptOutDecision
    ) -> int:
        """Answer a route for which :meth:`handles` is true; returns the status sent.

        ``GET /.well-known/gpc.json`` answers ``{"gpc": true, "lastUpdate": ...}`` as
        ``application/json`` (GPC specification, "GPC Support Representation"). On the toggle
        path ``POST`` sets the opt-out cookie, ``DELETE`` clears it, ``GET`` reads the state; each
        answers ``{"opted_out": bool, "signals": [...]}`` with the state after the change. Other
        methods get 405 with ``Allow``. The request body is never read. Errors raised by ``send``
        (a client that went away) propagate as they would from any app.
        """
        method = scope.get("method")
        path = scope.get("path")
        secure = scope.get("scheme") in ("https", "wss")
        headers: Headers = [(b"content-type", b"application/json")]
        if self._serve_gpc_json and path == GPC_JSON_PATH:
            if method in ("GET", "HEAD"):
                status, body = 200, self._gpc_json_body
            else:
                status, body = 405, b'{"error":"method not allowed"}'
                headers.append((b"allow", _GPC_JSON_ALLOW))
        elif self._toggle_path is not None and path == self._toggle_path:
            # The state depends on this visitor's cookie and headers: never cache it.
            headers.append((b"cache-control", b"no-store"))
            if method in ("GET", "HEAD"):
                status, body = 200, _state_body(decision)
            elif method == "POST":
                headers.append((b"set-cookie", self._set_cookie(secure)))
                status, body = 200, _state_body(_with_cookie(decision, on=True))
            elif method == "DELETE":
                # DELETE, not POST, clears the opt-out: a cross-site page cannot send DELETE
                # without a CORS preflight (Fetch standard, "CORS protocol"), which this route
                # answers with 405, so a third party cannot undo a visitor's opt-out (unless the
                # app's own CORS middleware, in front, grants such preflights with credentials).
                headers.append((b"set-cookie", self._clear_cookie(secure)))
                status, body = 200, _state_body(_with_cookie(decision, on=False))
            else:
                status, body = 405, b'{"error":"method not allowed"}'
                headers.append((b"allow", _TOGGLE_ALLOW))
        else:
            status, body = 404, b'{"error":"not found"}'
        headers.append((b"content-length", str(len(body)).encode("ascii")))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
        return status

    def _set_cookie(self, secure: bool) -> bytes:
        # Not HttpOnly: the value is no secret, and the page's own scripts may read it to skip
        # ad tags. SameSite=Lax keeps it on top-level navigations from other sites (RFC 6265bis,
        # SameSite attribute), so the opt-out holds when a visitor arrives through a link.
        value = (
            f"{self._cookie_name}={self._cookie_value}; Max-Age={self._max_age}; Path=/; "
            "SameSite=Lax"
        )
        return (value + "; Secure" if secure else value).encode("ascii")

    def _clear_cookie(self, secure: bool) -> bytes:
        # RFC 6265 §3.1: a cookie is removed by setting it again with an expiry in the past; send
        # both Max-Age=0 and a 1970 Expires for clients that know only one of them. Path and
        # SameSite match the cookie set, so the same cookie is replaced.
        value = f"{self._cookie_name}=; Max-Age=0; Expires={_EPOCH_EXPIRES}; Path=/; SameSite=Lax"
        return (value + "; Secure" if secure else value).encode("ascii")


def _with_cookie(decision: OptOutDecision, *, on: bool) -> OptOutDecision:
    mask = 0
    for signal, bit in zip(SIGNALS, _BITS, strict=True):
        if signal in decision.signals:
            mask |= bit
    return _DECISIONS[(mask | _COOKIE) if on else (mask & ~_COOKIE)]


def _state_body(decision: OptOutDecision) -> bytes:
    return orjson.dumps({"opted_out": decision.opted_out, "signals": list(decision.signals)})


def _check_ad_cookies(
    ad_cookies: Iterable[str],
) -> tuple[frozenset[str], tuple[str, ...], tuple[tuple[str, bool], ...]]:
    if isinstance(ad_cookies, str | bytes):
        raise ValueError(
            f"ad_cookies={ad_cookies!r} is a single string: pass a list or tuple of names, "
            "e.g. ad_cookies=(*DEFAULT_AD_COOKIES, '_my_ad_id')"
        )
    names: set[str] = set()
    prefixes: list[str] = []
    order: list[tuple[str, bool]] = []
    for entry in check_collection("ad_cookies", ad_cookies, "cookie names"):
        if not isinstance(entry, str):
            raise ValueError(f"ad_cookies entry {entry!r} is not a string: pass cookie names")
        is_prefix = entry.endswith("*")
        stem = entry[:-1] if is_prefix else entry
        if not stem or "*" in stem or not _TOKEN.fullmatch(stem):
            raise ValueError(
                f"ad_cookies entry {entry!r} is not a cookie name or prefix: use a name such as "
                "'_fbp', or a non-empty prefix followed by one '*' such as '_gcl_*'"
            )
        if (stem, is_prefix) in order:
            continue
        order.append((stem, is_prefix))
        if is_prefix:
            prefixes.append(stem)
        else:
            names.add(stem)
    return frozenset(names), tuple(prefixes), tuple(order)


def _check_cookie(cookie: tuple[str, str]) -> tuple[str, str]:
    if (
        not isinstance(cookie, tuple)
        or len(cookie) != 2
        or not all(isinstance(part, str) for part in cookie)
    ):
        raise ValueError(
            f"cookie={cookie!r} must be a (name, value) pair of strings, e.g. "
            "('ad_opt_out', '1'), or None to ignore an opt-out cookie"
        )
    name, value = cookie
    if not _TOKEN.fullmatch(name):
        raise ValueError(
            f"opt-out cookie name {name!r} is not a cookie name (RFC 6265 §4.1.1): use letters, "
            "digits, '_' or '-', e.g. 'ad_opt_out'"
        )
    if not _COOKIE_OCTETS.fullmatch(value):
        raise ValueError(
            f"opt-out cookie value {value!r} is not a plain cookie value (RFC 6265 §4.1.1): use a "
            "non-empty value without spaces, quotes, commas, semicolons or backslashes, e.g. '1'"
        )
    return name, value


def _check_last_update(value: str) -> str:
    # GPC specification, "GPC Support Representation": lastUpdate is an RFC 3339 full-date or
    # date-time; anything else leaves the date of the statement unknown.
    ok = False
    if isinstance(value, str):
        try:
            if _FULL_DATE.fullmatch(value):
                date.fromisoformat(value)
                ok = True
            elif _DATE_TIME.fullmatch(value):
                datetime.fromisoformat(value)
                ok = True
        except ValueError:
            ok = False
    if not ok:
        raise ValueError(
            f"gpc_last_update={value!r} is not an RFC 3339 date: use 'YYYY-MM-DD' (e.g. "
            "'2026-11-29'), the day this site's GPC statement was made"
        )
    return value
