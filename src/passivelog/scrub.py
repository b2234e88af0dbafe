"""Scrub URLs, paths, query strings and referrers: remove personal data, keep the structure.

Other sites put personal data into the URLs their visitors arrive from, and our own forms and
e-mail links put it into ours (``/unsubscribe?email=…``, ``/reset?token=…``). Browsers send the
full URL as ``Referer`` on every same-origin navigation. OWASP lists this as "information exposure
through query strings in URL" (CWE-598): whatever is in a URL ends up in access logs. This module
removes it before anything reaches structlog or a sink, and says which rules fired.

What is removed
---------------

**By key.** A query parameter, matrix parameter (``;jsessionid=``), ``key=value`` path segment or
JSON member whose key matches the denylist loses its value. Keys are compared after
percent-decoding, case folding and dropping every character that is not a letter or digit, so
``E-Mail``, ``e_mail``, ``%65mail`` and ``user[email]`` all read as ``email``/``useremail``.
Denylist and allowlist entries are written in that normalised form, and a ``*`` at either end is a
wildcard: ``"name"`` matches only ``name``, ``"phone*"`` every key that starts with ``phone``,
``"*phone"`` every key that ends with it, ``"*email*"`` every key that contains it. Flag values
(``""``, ``0``, ``1``, ``true``, ``false``, ``yes``, ``no``, ``on``, ``off``, ``null``) stay.

**By value**, wherever it sits: query keys and values, path segments, matrix parameters, the
fragment, userinfo, the host (an IP literal), and URLs, query strings and JSON nested inside
parameters (up to four levels deep). Values are percent-decoded repeatedly before they are
examined, and a ``+`` is read both as a space (form encoding) and as a plus sign, so neither
``%2B44+20+7946+0958`` in a query nor ``+44+20+7946+0958`` in a path gets through. A value in
base64 or base64url that encodes printable ASCII text is decoded and examined too, as one more
level of nesting (see :func:`base64_text`). The detectors live in :mod:`passivelog._detectors`.

**Always kept**: keys on the allowlist are never removed by key, and their values skip the
random-token heuristic; validated detectors (e-mail, card, IBAN, IP, JWT, key formats ...) still
apply to them, because an address in ``utm_term`` is still an address. ``"utm*"`` in the
allowlist covers every ``utm_`` parameter.

Rules and placeholders
----------------------

Rule names are stable; the middleware prefixes them with where they fired (``query:key:email``).

- ``key:<category>``: a denylisted key; the placeholder depends on the category, see
  :data:`KEY_CATEGORIES` (``key:email`` leaves ``[email]``, ``key:token`` ``[token]``,
  ``key:password`` ``[secret]`` ...).
- ``key:custom`` (``[redacted]``): a key added through ``deny_keys``/``extra_deny_keys``.
- ``value:email`` (``[email]``): an e-mail address (RFC 5322, RFC 6531).
- ``value:phone`` (``[phone]``): an E.164 number (``+``) or a grouped national number.
- ``value:card`` (``[card]``): 13-19 digits, payment MII 2-6, Luhn valid (ISO/IEC 7812).
- ``value:iban`` (``[iban]``): an IBAN whose ISO 7064 mod-97 check holds (ISO 13616).
- ``value:ssn`` (``[ssn]``): a US SSN printed as ``AAA-GG-SSSS``.
- ``value:ip`` (``[ip]``; ``ip.invalid`` as a URL's host): an IPv4 or IPv6 address.
- ``value:jwt`` (``[jwt]``): a JSON Web Token (RFC 7519).
- ``value:bearer``, ``value:basic`` (``[secret]``): the credential after ``Bearer`` (RFC 6750)
  or ``Basic`` (RFC 7617); the scheme word stays.
- ``value:aws_key``, ``value:google_key``, ``value:stripe_key``, ``value:github_token``,
  ``value:slack_token`` (``[secret]``): ``AKIA…``/``ASIA…``, ``AIza…``/``ya29.…``,
  ``sk_live_…``/``rk_…``/``pk_…``/``whsec_…``, ``ghp_…``/``github_pat_…``, ``xoxb-…``.
- ``value:token`` (``[token]``): a long random-looking token (see below).
- ``userinfo`` (``[user]``, or ``[secret]`` with a password): ``user:password@`` in a URL.
- ``base64``: something was removed from text found in base64; the value is replaced by that
  text, scrubbed (``[email]``), beside the rule that removed it (``value:email``).
- ``truncated`` (``[truncated]``): the input was longer than ``max_length``; its tail is gone.
- ``limit`` (``[redacted]``): a component too deep or too busy to examine in bounded time.
- ``error`` (``[redacted]``, the whole input): an internal error; never raised to the caller.
- ``fragment``, ``origin``: :class:`ReferrerScrubber` dropped a referrer's fragment, or reduced
  the referrer to its origin.

Placeholders are letters in square brackets: no detector matches them, percent-decoding leaves
them as they are, and a value that already is a placeholder is kept, so scrubbing is idempotent.
A component where nothing fired is kept byte for byte; one where something fired is rebuilt from
its decoded text and percent-encoded once.

A "long random-looking token" is a run of 20 or more characters of the base64url alphabet that
:func:`passivelog._detectors.token_bits` scores as random: hexadecimal ids of 16+ characters, and
mixed-case and digit soups such as session ids and reset tokens, but not slugs
(``how-to-make-sourdough-bread-2024``), titles (``Apple-iPhone-15-Pro-Max-256GB``) or UUIDs,
which are kept as resource ids. It is a heuristic. Measured on 200,000 random tokens each, it
misses none of 32 hex digits or 48 base64url characters, 1 in 50,000 of
``secrets.token_urlsafe(32)``, 1 in 3,600 of ``token_urlsafe(24)`` and 1 in 360 of
``token_urlsafe(16)``; and words glued together in camel case with digits
(``MacBookPro16inchM3Max2023``) can be taken for a token. Secrets under a denylisted key
(``token=``, ``session=``, ``sig=`` ...) do not depend on it.

Bounded work
------------

Input longer than ``max_length`` is cut at the last ``/ ? # & ; =`` before the limit, the partial
component after it is dropped (it may hold half an address) and ``[truncated]`` takes its place.
Every pattern is linear (see :mod:`passivelog._detectors`). Percent-decoding stops after 8 rounds
and after four times ``max_length`` characters decoded in one call, nesting after 4 levels; a
query string or path is read up to its 256th pair or segment, and one call examines at most 64
candidate matches. Beyond those limits the rest becomes ``[redacted]`` (rule ``limit``). On
~100 KB hostile inputs a call takes about 1 ms (``bench/bench_scrub.py``). No method raises for
any input.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, quote_plus

from passivelog import _detectors
from passivelog._detectors import Budget, OverBudget
from passivelog.schema import REDACTIONS

__all__ = [
    "CROSS_SITE_MODES",
    "DEFAULT_ALLOW_KEYS",
    "DEFAULT_DENY_KEYS",
    "KEY_CATEGORIES",
    "REFERRER_MODES",
    "ReferrerScrubber",
    "ScrubUrlFields",
    "Scrubbed",
    "UrlScrubber",
    "normalise_key",
    "scrub_url",
]


@dataclass(frozen=True, slots=True)
class Scrubbed:
    """The result of scrubbing one URL, path, query string or referrer.

    Args:
        value: the scrubbed text, with typed placeholders where personal data was.
        rules: the sorted, unique names of the rules that fired (never the removed values).
    """

    value: str
    rules: tuple[str, ...] = ()


REFERRER_MODES: Final = ("scrub", "origin", "drop")
CROSS_SITE_MODES: Final = ("scrub", "origin")

TRUNCATED: Final = "[truncated]"
REDACTED: Final = "[redacted]"

# Denylisted keys by category: the category names the rule (``key:<category>``) and the
# placeholder. Patterns are normalised keys with ``*`` wildcards (see the module docstring).
# Sources: the personal-data fields of HTML autofill (WHATWG HTML "autocomplete" tokens), OAuth 2.0
# (RFC 6749 section 4.1.2 "code", RFC 6750 section 2.3 "access_token"), signed-URL parameters of
# AWS SigV4 (X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token), AWS SigV2
# (AWSAccessKeyId, Signature), Google Cloud Storage (X-Goog-Signature, X-Goog-Credential) and
# Azure SAS (sig), server session cookies carried in URLs (JSESSIONID, PHPSESSID), and per-click
# advertising identifiers, which single out a visitor (GDPR recital 30, "online identifiers").
KEY_CATEGORIES: Final[Mapping[str, tuple[str, tuple[str, ...]]]] = {
    "email": ("[email]", ("*email*", "mail", "mailaddress")),
    "name": ("[name]", (
        "name", "*firstname*", "*lastname*", "*fullname*", "*surname*", "*givenname*",
        "*familyname*", "*middlename*", "*displayname*", "*realname*", "fname", "lname",
        "nickname", "*customername*", "*contactname*", "*recipientname*", "*cardholder*",
    )),
    "user": ("[user]", (
        "user", "*username*", "login", "*userid*", "uid", "*customerid*", "*memberid*",
        "*subscriberid*", "*accountid*",
    )),
    "phone": ("[phone]", (
        "phone*", "*phone", "tel", "telephone", "mobile", "*mobilenumber*", "cell", "fax",
        "msisdn",
    )),
    "address": ("[address]", (
        "*address*", "*street*", "addr", "addr1", "addr2", "zip", "zipcode", "*postcode*",
        "*postalcode*", "housenumber",
    )),
    "birthdate": ("[date]", ("dob", "*birthdate*", "*dateofbirth*", "*birthday*", "bday")),
    "national_id": ("[id]", (
        "ssn", "*socialsecurity*", "nationalid", "*passport*", "taxid", "nino",
        "*driverslicense*", "*driverlicense*",
    )),
    "location": ("[location]", (
        "lat", "lng", "lon", "latitude", "longitude", "latlng", "latlon", "*geolocation*",
        "coords", "coordinates",
    )),
    "password": ("[secret]", (
        "*password*", "*passwd*", "pwd", "pass", "passcode", "*passphrase*", "pin",
    )),
    "token": ("[token]", ("*token*",)),
    "session": ("[token]", ("*session*", "sid", "*sessid*")),
    "code": ("[secret]", (
        "code", "*authcode*", "*authorizationcode*", "codeverifier", "otp", "totp",
        "*verificationcode*", "*confirmationcode*", "*resetcode*", "*mfacode*",
    )),
    "api_key": ("[secret]", (
        "key", "*apikey*", "*accesskey*", "*privatekey*", "*subscriptionkey*", "*licensekey*",
    )),
    "secret": ("[secret]", ("*secret*",)),
    "auth": ("[secret]", ("auth", "*auth", "*authorization*")),
    "signature": ("[secret]", ("*signature*", "sig", "*hmac*")),
    "credential": ("[secret]", ("*credential*",)),
    "click_id": ("[id]", (
        "gclid", "dclid", "fbclid", "msclkid", "gbraid", "wbraid", "yclid", "twclid", "ttclid",
        "igshid", "lifatid", "mceid", "hsenc", "hsmi", "mkttok", "olyencid", "veroid", "rdtcid",
        "scclid", "epik", "srsltid",
    )),
}  # fmt: skip

DEFAULT_DENY_KEYS: Final[frozenset[str]] = frozenset(
    pattern for _, patterns in KEY_CATEGORIES.values() for pattern in patterns
)

# Parameters that carry campaign attribution, pagination, sorting and presentation, never a
# person. "mccid" is Mailchimp's campaign id (its per-recipient "mc_eid" is denied above);
# "token_type" is "bearer" or "mac" next to an OAuth token (RFC 6749 section 5.1), not a secret.
DEFAULT_ALLOW_KEYS: Final[frozenset[str]] = frozenset({
    "utm*", "page", "pagesize", "perpage", "limit", "offset", "sort", "sortby", "order",
    "orderby", "dir", "lang", "locale", "hl", "currency", "view", "tab", "format", "mccid",
    "tokentype",
})  # fmt: skip

_FLAG_VALUES: Final = frozenset(
    {"", "0", "1", "true", "false", "yes", "no", "on", "off", "null", "none", "undefined"}
)
_PLACEHOLDERS: Final = frozenset(
    {*_detectors.PLACEHOLDERS.values(), *(p for p, _ in KEY_CATEGORIES.values())}
    | {TRUNCATED, REDACTED, "[user]", "[secret]"}
)

_MAX_DECODE_ROUNDS: Final = 8
# Characters one call may percent-decode, in multiples of max_length (see _Call.unquote).
_DECODE_FACTOR: Final = 4
_MAX_DEPTH: Final = 4
_MAX_JSON_DEPTH: Final = 16
# Pairs of one query string, or segments of one path. Real URLs have a few dozen at most; the cap
# keeps the per-part overhead of a hostile "&a=1&a=1…" within the time budget.
_MAX_PARTS: Final = 256
_MIN_MAX_LENGTH: Final = 64
# Keys are judged on their first 256 characters: no parameter name is longer.
_MAX_KEY: Final = 256
# Verdicts remembered per scrubber for keys that _INERT passes (see UrlScrubber._pair). Real sites
# use a few dozen parameter names; past this many the memo starts over, so a stream of made-up
# names costs memory for at most this many short strings.
_KNOWN_KEYS: Final = 1024
_UNKNOWN: Final = "?"  # not a verdict: verdicts are "", a category name or "custom"
# Results are cached only for inputs up to this size, so the cache holds at most
# cache_size * ~2 * 2,048 characters of (already scrubbed) text.
_CACHE_MAX_INPUT: Final = 2048

# A component shorter than 20 characters (the shortest token or key format) with no digit, "@",
# ":" or space (a "Bearer" credential) cannot hold anything a detector looks for, and without
# "%", "+", "=", "/", "?", "{" or "[" nothing in it needs decoding or parsing either. Seven
# digits alone are not enough for a phone, card or IBAN.
# _INERT is only used with fullmatch: the possessive "{0,19}+" fails a longer text at once instead
# of giving back one character at a time (same language, less work).
_INERT = re.compile(r"[^0-9@:%+=/?{}\[\] ]{0,19}+|[0-9]{1,7}+")
# A path every "/"-separated segment of which _INERT passes, so that each would be kept (see
# UrlScrubber._path). Each segment must end at a "/" or at the end, so the branch that fits is the
# one that counts.
_INERT_SEGMENTS = re.compile(
    r"(?:[0-9]{1,7}+|[^0-9@:%+=/?{}\[\] ]{0,19}+)(?![^/])"
    r"(?:/(?:[0-9]{1,7}+|[^0-9@:%+=/?{}\[\] ]{0,19}+)(?![^/]))*+"
)
# Text in base64 (RFC 4648 section 4) or base64url (section 5), padded or not, that may encode
# ASCII text: e-mail and marketing tools put a recipient's address into links this way
# ("/unsubscribe/am9obkBleGFtcGxlLmNvbQ", "?e=YUBiLmNv"), out of every detector's sight until it
# is decoded. A group of four characters carries three bytes, and in ASCII each byte's top bit
# is 0. That bit is the first character's top bit (so it is "A"-"Z" or "a"-"f", values 0-31),
# the second's bit 3 and the third's bit 1; a final group of two or three characters carries
# one or two bytes and, as encoders write it, zero bits after them (section 3.5). Most words,
# slugs and ids fail these classes at once, without being decoded ("comments": "o" cannot be a
# second character). At least two groups: six bytes, the shortest address ("a@b.co").
# Possessive groups, fullmatch only: linear. tests/test_scrub.py checks that every base64 of
# printable ASCII text matches.
_B64_FIRST: Final = "[A-Za-f]"
_B64_SECOND: Final = "[A-HQ-Xg-nw-z0-3]"
_B64_THIRD: Final = "[ABEFIJMNQRUVYZcdghklopstwx014589]"
_B64_TAIL: Final = f"{_B64_FIRST}(?:{_B64_SECOND}[AEIMQUYcgkosw048]|[AQgw])"
_B64_GROUPS: Final = "|".join(
    f"(?:{_B64_FIRST}{_B64_SECOND}{_B64_THIRD}[A-Za-z0-9{last}]){{2,}}+(?:{_B64_TAIL})?+"
    for last in ("+/", "_\\-")
)
_BASE64 = re.compile(f"(?:{_B64_GROUPS})={{0,2}}")
_B64_LEADS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef")
# Bound once, for the fast paths: a value that fails it needs no Python call to be kept.
_base64_shaped: Final = _BASE64.fullmatch
# A path with such a segment, which the fast path of UrlScrubber._path must not skip.
# Searched in "/" + the path: starting with a literal "/" lets the search skip ahead to each "/".
_BASE64_SEGMENT = re.compile(f"/(?:{_B64_GROUPS})={{0,2}}(?![^/])")
# Longer text is not decoded: what e-mail tools encode is short, and a hostile value would make
# every level of nesting decode it again.
_BASE64_MAX: Final = 1024
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
_QUERYISH = re.compile(r"[^\s=&#/?]{1,64}=")
_PAIR_SPLIT = re.compile(r"([&;])")
_KEY_JUNK = re.compile(r"[\W_]+")
# An IP address in the host position is replaced by a name, not by "[ip]": square brackets there
# mean an IPv6 literal (RFC 3986 section 3.2.2), so "http://[ip]/" would not parse downstream.
# ".invalid" is reserved never to resolve (RFC 6761 section 6.4).
IP_HOST: Final = "ip.invalid"

# Bound once: it is called for most values.
_plain: Final = _detectors.plain

_PLACEHOLDER_WORD = re.compile(r"\[[a-z_]+\]")
_IPV4_HOST = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")

# Characters left unencoded when a changed component is encoded again. Everything that delimits
# the component in its context (and "%") is encoded, so a second pass splits the same way.
_QUERY_SAFE: Final = "!$'()*,/:?@[]~"
_PATH_SAFE: Final = "!$&'()*+,:@[]~"
_FRAGMENT_SAFE: Final = "!$'()*+,/:;?@[]~"

_QUERY, _PATH, _DECODED_PATH, _FRAGMENT = range(4)
_URL_KIND, _PATH_KIND, _QUERY_KIND = b"url", b"path", b"query"


def _maybe_base64(text: str) -> bool:
    """Whether ``text`` may be base64 of ASCII text (see _BASE64)."""
    return 8 <= len(text) <= _BASE64_MAX and _BASE64.fullmatch(text) is not None


def base64_text(text: str) -> str | None:
    """The printable ASCII text that ``text`` encodes in base64 or base64url, or None.

    None for anything else: not base64 (see _BASE64), bytes beyond ASCII once decoded (which
    _BASE64's test of every fourth character mostly rules out already), or text that is not
    printable (binary data, an image, a compressed blob). Padding is optional, as in URLs.
    """
    if not _maybe_base64(text):
        return None
    body = text.rstrip("=")
    if len(body) % 4 == 1:  # no byte string encodes to that length (RFC 4648 section 4)
        return None
    urlsafe = "-" in body or "_" in body
    try:
        raw = base64.b64decode(
            body + "=" * (-len(body) % 4), altchars=b"-_" if urlsafe else None, validate=True
        )
    except binascii.Error:  # a bad length or padding
        return None
    if not raw.isascii():  # tested before decoding: most words decode to such bytes
        return None
    decoded = raw.decode("ascii")
    return decoded if decoded.isprintable() else None


class _NotNested:
    pass


_NOT_NESTED: Final = _NotNested()


# One escape of an ASCII character, in every mix of letter case ("%2f", "%2F").
_ASCII_ESCAPES: Final = {
    f"%{hi}{lo}": chr(byte)
    for byte in range(128)
    for hi in {f"{byte:02x}"[0], f"{byte:02X}"[0]}
    for lo in {f"{byte:02x}"[1], f"{byte:02X}"[1]}
}


def _bytes_of(escapes: re.Match[str]) -> str:
    run = escapes.group()
    return _ASCII_ESCAPES.get(run) or bytes.fromhex(run.replace("%", "")).decode("utf-8", "replace")


def _unquote(text: str) -> str:
    """Percent-decode ``text`` once, as ``urllib.parse.unquote`` does (UTF-8, errors replaced).

    urllib's version loops in Python over every "%", and raises and catches an exception for
    each one that is not followed by two hex digits (~1 us each on "%%%%…"); this one leaves
    stray "%" to the regex engine and decodes each run of escapes in one call.
    """
    return _ESCAPES.sub(_bytes_of, text) if "%" in text else text


def normalise_key(key: str) -> str:
    """Return ``key`` as the denylist and allowlist compare it.

    Percent-decoded (repeatedly), case-folded, and with everything but letters and digits removed:
    ``"X-Amz-Signature"`` becomes ``"xamzsignature"``, ``"user[e-mail]"`` ``"useremail"``.
    """
    for _ in range(_MAX_DECODE_ROUNDS):
        if "%" not in key:
            break
        key = _unquote(key)
    return _KEY_JUNK.sub("", key.casefold())


def _normalise_pattern(pattern: object, what: str) -> str:
    if not isinstance(pattern, str):
        raise ValueError(f"{what} entries must be strings, got {pattern!r}")
    core = normalise_key(pattern.strip().strip("*"))
    if not core:
        raise ValueError(
            f"{what} entry {pattern!r} has no letters or digits: write a key name, optionally "
            'with "*" at either end, e.g. "email", "utm*" or "*token*"'
        )
    stripped = pattern.strip()
    head = "*" if stripped.startswith("*") else ""
    return head + core + ("*" if stripped.endswith("*") else "")


class _KeyMatcher:
    """Matches normalised keys against normalised patterns with ``*`` wildcards."""

    __slots__ = ("_contains", "_exact", "_prefix", "_suffix")

    def __init__(self, patterns: Iterable[str]) -> None:
        exact: set[str] = set()
        prefix: set[str] = set()
        suffix: set[str] = set()
        contains: set[str] = set()
        for pattern in patterns:
            core = pattern.strip("*")
            starts, ends = pattern.startswith("*"), pattern.endswith("*")
            kind = contains if starts and ends else suffix if starts else prefix if ends else exact
            kind.add(core)
        self._exact = frozenset(exact)
        self._prefix = tuple(sorted(prefix, key=len, reverse=True))
        self._suffix = tuple(sorted(suffix, key=len, reverse=True))
        self._contains = (
            re.compile("|".join(re.escape(c) for c in sorted(contains, key=len, reverse=True)))
            if contains
            else None
        )

    def matches(self, key: str) -> bool:
        """Whether ``key`` matches any pattern."""
        return (
            key in self._exact
            or (bool(self._prefix) and key.startswith(self._prefix))
            or (bool(self._suffix) and key.endswith(self._suffix))
            or (self._contains is not None and self._contains.search(key) is not None)
        )

    def match(self, key: str) -> str | None:
        """The pattern core that ``key`` matches, or None."""
        if key in self._exact:
            return key
        if self._prefix and key.startswith(self._prefix):
            return next(p for p in self._prefix if key.startswith(p))
        if self._suffix and key.endswith(self._suffix):
            return next(s for s in self._suffix if key.endswith(s))
        if self._contains is not None:
            m = self._contains.search(key)
            if m is not None:
                return m.group()
        return None


class _Call:
    """What one scrub call collects: the rules that fired, and what it may still spend."""

    __slots__ = ("budget", "decode_left", "rules")

    def __init__(self, decode_left: int) -> None:
        self.budget = Budget()
        self.decode_left = decode_left
        self.rules: set[str] = set()

    def unquote(self, text: str) -> str:
        # Each nesting level and decoding round reads the value again, so a deeply nested,
        # deeply encoded value costs a multiple of its length: that multiple is capped.
        self.decode_left -= len(text)
        if self.decode_left < 0:
            raise OverBudget
        return _unquote(text)


def _encode(text: str, context: int) -> str:
    if context == _QUERY:
        return quote_plus(text, safe=_QUERY_SAFE, errors="replace")
    if context == _PATH:
        return quote(text, safe=_PATH_SAFE, errors="replace")
    if context == _DECODED_PATH:
        # scope["path"] is already decoded: only what would split the segment is escaped.
        return text.replace("%", "%25").replace("/", "%2F").replace(";", "%3B").replace("=", "%3D")
    return quote(text, safe=_FRAGMENT_SAFE, errors="replace")


def _cap(parts: list[str], call: _Call, step: int = 1) -> bool:
    """Keep at most _MAX_PARTS pairs or segments; one placeholder stands for the rest."""
    keep = (_MAX_PARTS - 1) * step + 1
    if len(parts) <= keep:
        return False
    parts[keep - 1 :] = [REDACTED]
    call.rules.add("limit")
    return True


def _cut(text: str, limit: int) -> str:
    """``text`` up to and including its last delimiter before ``limit``."""
    end = max(text.rfind(d, 0, limit) for d in "/?#&;=") if limit > 0 else -1
    return text[: end + 1]


class UrlScrubber:
    """Removes personal data from URLs, ASGI paths and query strings (see the module docstring).

    Construct once and share: instances hold no per-request state and are safe to use from many
    threads. Results are cached in a bounded LRU keyed by a keyed BLAKE2b digest of the input, so
    the cache holds only scrubbed output and never a raw URL; it lives in process memory, holds at
    most ``cache_size`` results for inputs of up to 2,048 characters, and ``cache_size=0`` turns
    it off. Apart from the cache, an instance remembers whether a parameter name is allowed or
    denied, for at most 1,024 names and only for names too short and plain to hold anything a
    detector looks for (such names are logged as they are), so that each is judged once.

    Args:
        deny_keys: normalised key patterns whose values are always removed.
        extra_deny_keys: patterns added to ``deny_keys`` (rule ``key:custom``).
        allow_keys: normalised key patterns that are never removed by key.
        extra_allow_keys: patterns added to ``allow_keys``.
        max_length: inputs longer than this are cut (``truncated``); at least 64.
        cache_size: how many results to cache; 0 disables the cache.
    """

    __slots__ = (
        "_allow",
        "_cache",
        "_cache_size",
        "_categories",
        "_deny",
        "_keys",
        "_max_length",
    )

    def __init__(
        self,
        *,
        deny_keys: Iterable[str] = DEFAULT_DENY_KEYS,
        extra_deny_keys: Iterable[str] = (),
        allow_keys: Iterable[str] = DEFAULT_ALLOW_KEYS,
        extra_allow_keys: Iterable[str] = (),
        max_length: int = 8192,
        cache_size: int = 4096,
    ) -> None:
        for name, value in (("max_length", max_length), ("cache_size", cache_size)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name} must be an int, got {value!r}")
        if max_length < _MIN_MAX_LENGTH:
            raise ValueError(f"max_length must be at least {_MIN_MAX_LENGTH}, got {max_length}")
        if cache_size < 0:
            raise ValueError(f"cache_size must be 0 (no cache) or more, got {cache_size}")
        groups: dict[str, Iterable[str]] = {
            "deny_keys": deny_keys,
            "extra_deny_keys": extra_deny_keys,
            "allow_keys": allow_keys,
            "extra_allow_keys": extra_allow_keys,
        }
        normalised: dict[str, list[str]] = {}
        for name, patterns in groups.items():
            if isinstance(patterns, str | bytes):
                raise ValueError(f"{name} must be a collection of key names, not one string")
            normalised[name] = [_normalise_pattern(p, name) for p in patterns]
        deny = normalised["deny_keys"] + normalised["extra_deny_keys"]
        self._deny = _KeyMatcher(deny)
        self._allow = _KeyMatcher(normalised["allow_keys"] + normalised["extra_allow_keys"])
        known = {
            pattern.strip("*"): category
            for category, (_, patterns) in KEY_CATEGORIES.items()
            for pattern in patterns
        }
        self._categories = {p.strip("*"): known.get(p.strip("*"), "custom") for p in deny}
        self._max_length = max_length
        self._keys: dict[str, str | None] = {}
        self._cache_size = cache_size
        self._cache: OrderedDict[tuple[bytes, int, int], Scrubbed] | None = (
            OrderedDict() if cache_size else None
        )

    def __repr__(self) -> str:
        return f"UrlScrubber(max_length={self._max_length}, cache_size={self._cache_size})"

    # -- public API ----------------------------------------------------------------------------

    def scrub_url(self, url: str) -> Scrubbed:
        """Scrub an absolute or relative URL, such as a ``Referer`` header."""
        return self._cached(_URL_KIND, url)

    def scrub_path(self, path: str) -> Scrubbed:
        """Scrub an ASGI ``scope["path"]``, which the server has already percent-decoded.

        ``?``, ``#`` and ``%`` in it are ordinary characters; the result stays decoded.
        """
        return self._cached(_PATH_KIND, path)

    def scrub_query(self, query: str) -> Scrubbed:
        """Scrub a raw query string, without the leading ``?``."""
        return self._cached(_QUERY_KIND, query)

    # -- cache and guard -----------------------------------------------------------------------

    def _cached(self, kind: bytes, text: str) -> Scrubbed:
        cache = self._cache
        if cache is None or not isinstance(text, str) or len(text) > _CACHE_MAX_INPUT:
            return self._guarded(kind, text)
        # Keyed by the string's own hash, not the string: the cache then holds only scrubbed
        # output, never a raw URL. Python's str hash is SipHash with a per-process random key
        # (PEP 456), so an outsider cannot aim collisions; a chance collision (~2**-50 for a full
        # cache) would log another request's already-scrubbed URL, never an unscrubbed one.
        key = (kind, hash(text), len(text))
        hit = cache.get(key)
        if hit is not None:
            # Evicted by another thread meanwhile? try/except, not contextlib.suppress: this is
            # every cache hit, and suppress() builds a context manager each time.
            try:  # noqa: SIM105
                cache.move_to_end(key)
            except KeyError:
                pass
            return hit
        result = self._guarded(kind, text)
        cache[key] = result
        if len(cache) > self._cache_size:
            with contextlib.suppress(KeyError):  # emptied by another thread meanwhile
                cache.popitem(last=False)
        return result

    def _guarded(self, kind: bytes, text: str) -> Scrubbed:
        try:
            return self._scrub(kind, text)
        except Exception:
            # Logging must never take the request down, and must never log what it could not
            # scrub: the whole value goes.
            return Scrubbed(REDACTED, ("error",))

    def _scrub(self, kind: bytes, text: str) -> Scrubbed:
        call = _Call(_DECODE_FACTOR * self._max_length)
        truncated = len(text) > self._max_length
        if truncated:
            text = _cut(text, self._max_length - len(TRUNCATED))
        if kind == _URL_KIND:
            new = self._url(text, call, 0)
        elif kind == _PATH_KIND:
            new = self._path(text, call, 0, decoded=True)
        else:
            new = self._query(text, call, 0)
        out = text if new is None else new
        if truncated:
            out += TRUNCATED
        if len(out) > self._max_length:  # placeholders and encoding made it longer
            out = _cut(out, self._max_length - len(TRUNCATED)) + TRUNCATED
            truncated = True
        if truncated:
            call.rules.add("truncated")
        return Scrubbed(out, tuple(sorted(call.rules)) if call.rules else ())

    # -- structure -----------------------------------------------------------------------------
    # Each method returns the rebuilt text, or None when nothing in it changed.

    def _url(self, url: str, call: _Call, depth: int) -> str | None:
        m = _SCHEME.match(url)
        start = m.end() if m else 0
        hash_at = url.find("#", start)
        main_end = hash_at if hash_at >= 0 else len(url)
        query_at = url.find("?", start, main_end)
        path_end = query_at if query_at >= 0 else main_end

        authority = new_authority = None
        path_start = start
        if url.startswith("//", start):
            slash = url.find("/", start + 2, path_end)
            path_start = slash if slash >= 0 else path_end
            authority = url[start + 2 : path_start]
            new_authority = self._authority(authority, call)
        path = url[path_start:path_end]
        new_path = self._path(path, call, depth, decoded=False)
        query = url[query_at + 1 : main_end] if query_at >= 0 else None
        new_query = self._query(query, call, depth) if query else None
        fragment = url[hash_at + 1 :] if hash_at >= 0 else None
        new_fragment = self._fragment(fragment, call, depth) if fragment else None

        if (
            new_authority is None
            and new_path is None
            and new_query is None
            and new_fragment is None
        ):
            return None
        parts = [url[:start]]
        if authority is not None:
            parts += ("//", authority if new_authority is None else new_authority)
        parts.append(path if new_path is None else new_path)
        if query is not None:
            parts += ("?", query if new_query is None else new_query)
        if fragment is not None:
            parts += ("#", fragment if new_fragment is None else new_fragment)
        return "".join(parts)

    def _authority(self, authority: str, call: _Call) -> str | None:
        # No userinfo without "@"; and _split_host and host_is_ip find an IP host only in text
        # that starts with "[" or ends in a digit (of the address or of a port; str.isdigit, as
        # _split_host tests ports).
        if "@" not in authority and authority[:1] != "[" and not authority[-1:].isdigit():
            return None
        at = authority.rfind("@")
        userinfo = authority[:at] if at >= 0 else None
        host, port = _split_host(authority[at + 1 :])
        changed = False
        if userinfo and userinfo not in _PLACEHOLDERS:
            # RFC 3986 section 3.2.1 deprecates "user:password" in URLs; browsers strip userinfo
            # from referrers (Fetch, "strip url for use as a referrer"). Either part identifies.
            _, colon, password = userinfo.partition(":")
            userinfo = "[secret]" if colon and password else "[user]"
            call.rules.add("userinfo")
            changed = True
        if host_is_ip(host):
            host = IP_HOST
            call.rules.add("value:ip")
            changed = True
        if not changed:
            return None
        return (f"{userinfo}@" if userinfo is not None else "") + host + port

    def _path(self, path: str, call: _Call, depth: int, *, decoded: bool) -> str | None:
        # Shorter than _MAX_PARTS characters, a path has fewer segments than _cap would cut.
        if not path or (
            len(path) < _MAX_PARTS
            and _INERT_SEGMENTS.fullmatch(path)
            and not _BASE64_SEGMENT.search(path if path[0] == "/" else "/" + path)
        ):
            return None
        segments = path.split("/")
        changed = _cap(segments, call)
        inert = _INERT.fullmatch
        for i, segment in enumerate(segments):
            # An inert segment has no "=" and only inert parts around a ";": _segment would keep
            # it, three calls further down.
            if segment and (
                not inert(segment)
                or (
                    len(segment) >= 8
                    and segment[0] in _B64_LEADS
                    and _base64_shaped(segment) is not None
                    and base64_text(segment) is not None
                )
            ):
                new = self._segment(segment, call, depth, decoded)
                if new is not None:
                    segments[i] = new
                    changed = True
        return "/".join(segments) if changed else None

    def _segment(self, segment: str, call: _Call, depth: int, decoded: bool) -> str | None:
        context = _DECODED_PATH if decoded else _PATH
        if ";" not in segment:
            return self._pair(segment, call, depth, context)
        # Matrix parameters (RFC 3986 section 3.3): "cart;jsessionid=…".
        parts = segment.split(";")
        changed = False
        for i, part in enumerate(parts):
            if part:
                new = self._pair(part, call, depth, context)
                if new is not None:
                    parts[i] = new
                    changed = True
        return ";".join(parts) if changed else None

    def _query(self, query: str, call: _Call, depth: int) -> str | None:
        # "&" separates pairs (WHATWG URL, application/x-www-form-urlencoded); ";" did in HTML 4
        # and still does for some servers, so it separates them here too.
        parts = query.split("&") if ";" not in query else _PAIR_SPLIT.split(query)
        step = 1 if ";" not in query else 2
        changed = _cap(parts, call, step)
        keys = self._keys
        inert = _INERT.fullmatch
        for i in range(0, len(parts), step):
            pair = parts[i]
            if not pair:
                continue
            # The common case, decided here without two more calls: a remembered key (one that
            # scrubbing leaves as it is, see _pair) that is not denied, and a value that _value
            # keeps without a look (the same test). _pair would return None.
            key, eq, value = pair.partition("=")
            if (
                eq
                and not keys.get(key, _UNKNOWN)
                and (inert(value) or (call.budget.left > 0 and _plain(value)))
                # Not base64 of text (see _BASE64), told without a Python call for most values.
                and (
                    len(value) < 8
                    or value[0] not in _B64_LEADS
                    or _base64_shaped(value) is None
                    or base64_text(value) is None
                )
            ):
                continue
            new = self._pair(pair, call, depth, _QUERY)
            if new is not None:
                parts[i] = new
                changed = True
        if not changed:
            return None
        return "&".join(parts) if step == 1 else "".join(parts)

    def _fragment(self, fragment: str, call: _Call, depth: int) -> str | None:
        if depth < _MAX_DEPTH and fragment.startswith(("/", "!/")):
            # A hash route of a single-page app: "#/reset?token=…" or "#!/…".
            lead = "!" if fragment.startswith("!") else ""
            new = self._url(fragment[len(lead) :], call, depth + 1)
            return None if new is None else lead + new
        if "=" in fragment:
            # OAuth 2.0 implicit grant puts the token here (RFC 6749 section 4.2.2).
            return self._query(fragment, call, depth)
        return self._value(fragment, call, depth, _FRAGMENT, heuristics=True)

    def _pair(self, pair: str, call: _Call, depth: int, context: int) -> str | None:
        eq = pair.find("=")
        # Not a pair: a plain value, or base64 whose "=" is its padding.
        if eq < 0 or (eq >= len(pair) - 2 and _maybe_base64(pair)):
            return self._value(pair, call, depth, context, heuristics=True)
        key, value = pair[:eq], pair[eq + 1 :]
        new_key = None
        verdict = self._keys.get(key, _UNKNOWN)
        if verdict == _UNKNOWN:
            if _INERT.fullmatch(key):
                verdict = self._verdict(key) if key else None
                # A key _INERT passes is never examined (it cannot hold anything a detector
                # finds) and is logged as it is, so remembering it keeps nothing the scrubbed
                # output does not show anyway. Its verdict depends only on this scrubber's lists.
                # Threads share the dict: get, set and clear are atomic, and a name lost to a
                # concurrent clear is judged again.
                keys = self._keys
                if len(keys) >= _KNOWN_KEYS:
                    keys.clear()
                keys[key] = verdict
            else:
                new_key = self._value(key, call, depth, context, heuristics=True)
                verdict = self._verdict(key if new_key is None else new_key) if key else None
        if verdict is None:
            new_value = self._value(value, call, depth, context, heuristics=True)
        elif verdict == "":
            new_value = self._value(value, call, depth, context, heuristics=False)
        elif _kept_under_denied_key(value, plus=context == _QUERY):
            new_value = None
        else:
            new_value = self._redact_key(verdict, call)
        if new_key is None and new_value is None:
            return None
        return f"{key if new_key is None else new_key}={value if new_value is None else new_value}"

    def _verdict(self, raw_key: str) -> str | None:
        """ "" for an allowlisted key, the deny category for a denylisted one, else None."""
        raw_key = raw_key[:_MAX_KEY]
        if raw_key.isascii() and raw_key.isalnum() and raw_key.islower():
            key = raw_key
        elif "[" in raw_key or "%" in raw_key:
            # A placeholder left in a scrubbed key ("Bearer [secret]") is not part of its name.
            key = normalise_key(_PLACEHOLDER_WORD.sub("", _unquote(raw_key)))
        else:
            key = normalise_key(raw_key)
        if self._allow.matches(key):
            return ""
        term = self._deny.match(key)
        return None if term is None else self._categories.get(term, "custom")

    def _redact_key(self, category: str, call: _Call) -> str:
        call.rules.add(f"key:{category}")
        return KEY_CATEGORIES[category][0] if category in KEY_CATEGORIES else REDACTED

    # -- values --------------------------------------------------------------------------------

    def _value(
        self, raw: str, call: _Call, depth: int, context: int, *, heuristics: bool
    ) -> str | None:
        if (_INERT.fullmatch(raw) or (call.budget.left > 0 and _plain(raw))) and (
            len(raw) < 8
            or raw[0] not in _B64_LEADS
            or _base64_shaped(raw) is None
            or base64_text(raw) is None
        ):
            # Kept without a look: inert text, and, while the candidate budget lasts, text in which
            # no detector can match in either reading of "+" (_detectors.plain). Neither has
            # anything to decode or anything nested, and the scan would find nothing and spend
            # nothing, so skipping it changes no result. With the budget spent, _decoded would put
            # REDACTED in its place, so that case goes on.
            return None
        # Two readings of "+", index for index: a form-encoded query (WHATWG URL) reads it as a
        # space, a path or fragment as a plus sign. Both are searched (see _detectors.redact),
        # and the text rebuilt is the reading of the component's own context.
        if "+" in raw:
            spaced = raw.replace("+", " ")
            text, alt = (spaced, raw) if context == _QUERY else (raw, spaced)
        else:
            text, alt = raw, None
        if "%" in text:
            try:
                text = call.unquote(text)
                alt = None if alt is None else call.unquote(alt)
            except OverBudget:
                call.rules.add("limit")
                return REDACTED
        new = self._decoded(text, call, depth, heuristics, alt)
        return None if new is None else _encode(new, context)

    def _decoded(
        self, text: str, call: _Call, depth: int, heuristics: bool, alt: str | None = None
    ) -> str | None:
        """Scrub decoded text; returns the new decoded text or None."""
        if text in _PLACEHOLDERS:
            return None
        if call.budget.left <= 0:
            # The candidate budget is spent: whatever is left is not examined, so it goes.
            call.rules.add("limit")
            return REDACTED
        try:
            for _ in range(_MAX_DECODE_ROUNDS):
                if text in _PLACEHOLDERS:
                    return None
                nested = self._nested(text, call, depth)
                if not isinstance(nested, _NotNested):
                    return nested
                if "%" not in text:
                    break
                again = call.unquote(text)
                if again == text:
                    break
                text = again
                alt = None if alt is None else call.unquote(alt)
            else:
                # Still percent-encoded after 8 rounds: nobody encodes that deep but an attacker.
                call.rules.add("limit")
                return REDACTED
            if alt is None and "+" in text:
                alt = text.replace("+", " ")
            found = _detectors.redact(text, call.budget, heuristics=heuristics, alt=alt)
        except OverBudget:
            call.rules.add("limit")
            return REDACTED
        if found is None:
            return None
        new, kinds = found
        call.rules.update(f"value:{kind}" for kind in kinds)
        return new

    def _nested(self, text: str, call: _Call, depth: int) -> str | _NotNested | None:
        if depth >= _MAX_DEPTH or not text:
            return _NOT_NESTED
        first = text[0]
        if first in "{[":
            result = self._json(text, call, depth + 1)
            if not isinstance(result, _NotNested):
                return result
        # Before the query test: base64's "=" padding would read as an empty parameter.
        if first in _B64_LEADS and len(text) >= 8:
            result = self._base64(text, call, depth + 1)
            if not isinstance(result, _NotNested):
                return result
        # The "in" tests spare a regex that would read a whole slug only to fail.
        if first == "/" or first == "?" or (":" in text and _ABSOLUTE.match(text)):
            return self._url(text, call, depth + 1)
        if "=" in text and _QUERYISH.match(text):
            return self._query(text, call, depth + 1)
        return _NOT_NESTED

    def _base64(self, text: str, call: _Call, depth: int) -> str | _NotNested | None:
        """The scrubbed text that ``text`` encodes in base64 (see _nested for the returns).

        When scrubbing the encoded text removes something, the value is replaced by the scrubbed
        text ("[email]" where the address was): the encoding hid nothing from anyone who reads
        the log, so nothing is kept encoded. When it removes nothing, the encoded value is kept
        only if it encodes a JSON document (a pagination cursor, an OAuth ``state``), which the
        JSON walk has read in full, by key and by value, random-token heuristic included.
        Other text goes on to the detectors as if it had not been decoded, so the heuristic may
        still take it: obfuscated text decodes to printable characters too.
        """
        inner = base64_text(text)
        if inner is None:
            return _NOT_NESTED
        if inner[0] in "{[":
            walked = self._json(inner, call, depth + 1)
            if not isinstance(walked, _NotNested):
                if walked is not None:
                    call.rules.add("base64")
                return walked
        new = self._decoded(inner, call, depth, True)
        if new is None:
            return _NOT_NESTED
        call.rules.add("base64")
        return new

    def _json(self, text: str, call: _Call, depth: int) -> str | _NotNested | None:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return _NOT_NESTED
        if not isinstance(data, dict | list):
            return _NOT_NESTED
        new = self._walk(data, call, depth, 0, heuristics=True)
        if new is _NOT_NESTED:
            return None
        return json.dumps(new, ensure_ascii=False, separators=(",", ":"))

    def _walk(self, node: Any, call: _Call, depth: int, level: int, *, heuristics: bool) -> Any:
        """The scrubbed copy of a JSON value, or ``_NOT_NESTED`` when nothing in it changed."""
        if level > _MAX_JSON_DEPTH:
            if node == REDACTED:
                return _NOT_NESTED
            call.rules.add("limit")
            return REDACTED
        if isinstance(node, str):
            if _INERT.fullmatch(node) and base64_text(node) is None:
                return _NOT_NESTED
            new = self._decoded(node, call, depth, heuristics)
            return _NOT_NESTED if new is None else new
        if isinstance(node, bool) or node is None:
            return _NOT_NESTED
        if isinstance(node, int | float):
            if -10_000_000 < node < 10_000_000:  # too few digits for a phone, card or IBAN
                return _NOT_NESTED
            new = self._decoded(str(node), call, depth, heuristics)
            return _NOT_NESTED if new is None else new
        if isinstance(node, list):
            items = [self._walk(i, call, depth, level + 1, heuristics=heuristics) for i in node]
            if all(item is _NOT_NESTED for item in items):
                return _NOT_NESTED
            pairs = zip(node, items, strict=True)
            return [old if new is _NOT_NESTED else new for old, new in pairs]
        changed = False
        out: dict[str, Any] = {}
        for key, value in node.items():
            new_key = self._decoded(key, call, depth, True)
            verdict = self._verdict(key if new_key is None else new_key)
            if verdict:
                new_value = (
                    _NOT_NESTED
                    if _json_kept_under_denied_key(value)
                    else self._redact_key(verdict, call)
                )
            else:
                new_value = self._walk(value, call, depth, level + 1, heuristics=verdict is None)
            if new_key is not None or new_value is not _NOT_NESTED:
                changed = True
            new_value = value if new_value is _NOT_NESTED else new_value
            out[key if new_key is None else new_key] = new_value
        return out if changed else _NOT_NESTED


def _split_host(hostport: str) -> tuple[str, str]:
    """``(host, ":port")`` of an authority without userinfo."""
    if hostport.startswith("["):
        close = hostport.find("]")
        if close >= 0:
            return hostport[: close + 1], hostport[close + 1 :]
    colon = hostport.rfind(":")
    if colon >= 0 and hostport[colon + 1 :].isdigit():
        return hostport[:colon], hostport[colon:]
    return hostport, ""


def host_is_ip(host: str) -> bool:
    """Whether a URL host is an IP literal (``192.0.2.1`` or ``[2001:db8::1]``)."""
    if host.startswith("[") and host.endswith("]"):
        return _detectors.is_ip(host[1:-1])
    return bool(_IPV4_HOST.fullmatch(host)) and _detectors.is_ip(host)


def _kept_under_denied_key(value: str, *, plus: bool) -> bool:
    if not value:
        return True
    if len(value) > 64:  # longer than any flag or placeholder, however encoded
        return False
    text = value.replace("+", " ") if plus else value
    for _ in range(_MAX_DECODE_ROUNDS):
        if "%" not in text:
            break
        text = _unquote(text)
    text = text.strip()
    return text.lower() in _FLAG_VALUES or text in _PLACEHOLDERS


def _json_kept_under_denied_key(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, str):
        return _kept_under_denied_key(value, plus=False)
    if isinstance(value, int | float):
        return str(value) in _FLAG_VALUES
    return False


# -- referrers ---------------------------------------------------------------------------------


class ReferrerScrubber:
    """Reduces a ``Referer`` header according to a mode.

    Args:
        mode: ``"scrub"`` (default) removes personal data and keeps the rest; ``"origin"`` keeps
            only scheme, host and port (``https://example.com/``), as a browser's
            ``strict-origin-when-cross-origin`` policy sends across sites; ``"drop"`` logs no
            referrer at all.
        cross_site: with ``"origin"``, a referrer from another host is reduced to its origin even
            in ``"scrub"`` mode. Hosts are compared without port and case; when the request's own
            host is unknown, every referrer counts as cross-site.
        scrubber: the :class:`UrlScrubber` to use; a default one when None.
    """

    __slots__ = ("_cross_site", "_mode", "_scrubber")

    def __init__(
        self, *, mode: str = "scrub", cross_site: str = "scrub", scrubber: UrlScrubber | None = None
    ) -> None:
        if mode not in REFERRER_MODES:
            raise ValueError(f"referrer mode must be one of {REFERRER_MODES}, got {mode!r}")
        if cross_site not in CROSS_SITE_MODES:
            raise ValueError(f"cross_site must be one of {CROSS_SITE_MODES}, got {cross_site!r}")
        if scrubber is not None and not isinstance(scrubber, UrlScrubber):
            raise ValueError(f"scrubber must be a UrlScrubber or None, got {scrubber!r}")
        self._mode = mode
        self._cross_site = cross_site
        self._scrubber = scrubber if scrubber is not None else _default_scrubber()

    def __repr__(self) -> str:
        return f"ReferrerScrubber(mode={self._mode!r}, cross_site={self._cross_site!r})"

    def scrub(self, referrer: str | None, own_host: str | None) -> Scrubbed | None:
        """The referrer to log, or None when it is absent, empty, dropped or has no origin.

        Args:
            referrer: the raw ``Referer`` header value.
            own_host: the request's ``Host`` (a port is ignored), to tell cross-site referrers.
        """
        try:
            return self._scrub(referrer, own_host)
        except Exception:
            return Scrubbed(REDACTED, ("error",))

    def _scrub(self, referrer: str | None, own_host: str | None) -> Scrubbed | None:
        if not referrer or self._mode == "drop":
            return None
        referrer = referrer.strip()
        if not referrer:
            return None
        if self._mode == "scrub" and self._cross_site == "scrub":
            # The common case needs no origin parsing: same- and cross-site scrub alike.
            parts = None
            cross = False
        else:
            parts = _origin_parts(referrer)
            cross = parts is not None and not _same_host(parts[1], own_host)
        if self._mode == "origin" or (cross and self._cross_site == "origin"):
            return None if parts is None else _origin(referrer, *parts)
        rules: list[str] = []
        hash_at = referrer.find("#")
        if hash_at >= 0:
            # Browsers never send the fragment (Fetch, "strip url for use as a referrer").
            if hash_at < len(referrer) - 1:
                rules.append("fragment")
            referrer = referrer[:hash_at]
        result = self._scrubber.scrub_url(referrer)
        if not rules:
            return result
        return Scrubbed(result.value, tuple(sorted({*result.rules, *rules})))


def _origin_parts(url: str) -> tuple[str, str, str, int] | None:
    """``(scheme, host, ":port", end of authority)`` of an absolute URL with a host, else None."""
    m = _ABSOLUTE.match(url)
    if m is None:
        return None
    start = m.end()
    end = len(url)
    for delimiter in "/?#":
        at = url.find(delimiter, start)
        if 0 <= at < end:
            end = at
    authority = url[start:end]
    host, port = _split_host(authority[authority.rfind("@") + 1 :])
    if not host:
        return None
    return m.group()[:-3].lower(), host.lower(), port, end


def _origin(url: str, scheme: str, host: str, port: str, end: int) -> Scrubbed:
    rules: set[str] = set()
    if host_is_ip(host):
        host = IP_HOST
        rules.add("value:ip")
    if (scheme, port) in (("http", ":80"), ("https", ":443")):
        port = ""
    if url[end:] not in ("", "/") or "@" in url[:end]:
        rules.add("origin")
    return Scrubbed(f"{scheme}://{host}{port}/", tuple(sorted(rules)))


def _same_host(host: str, own_host: str | None) -> bool:
    if not own_host:
        return False
    own, _ = _split_host(own_host.strip().lower())
    return host == own


# -- module-level helpers ----------------------------------------------------------------------

_DEFAULT: UrlScrubber | None = None


def _default_scrubber() -> UrlScrubber:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = UrlScrubber()
    return _DEFAULT


def scrub_url(url: str) -> str:
    """Scrub ``url`` with the default :class:`UrlScrubber` and return the scrubbed text."""
    return _default_scrubber().scrub_url(url).value


class ScrubUrlFields:
    """A structlog processor that scrubs URL-valued fields of the event dict in place.

    Add it to your own loggers to apply passivelog's rules to URLs you log yourself::

        structlog.configure(processors=[ScrubUrlFields(), structlog.processors.JSONRenderer()])

    Fields whose name ends in ``query`` are scrubbed as query strings, those ending in ``path`` as
    paths, all others as URLs; values that are not strings are left alone. The rules that fired
    are appended to ``passivelog.redactions`` as ``"<last part of the field name>:<rule>"``
    (``"referrer:value:email"``), as passivelog's own records do.

    Args:
        fields: the event-dict keys to scrub.
        scrubber: the :class:`UrlScrubber` to use; a default one when None.
    """

    __slots__ = ("_fields", "_scrubber")

    def __init__(
        self,
        fields: Iterable[str] = (
            "url",
            "referrer",
            "http.request.referrer",
            "url.full",
            "url.original",
            "url.path",
            "url.query",
        ),
        *,
        scrubber: UrlScrubber | None = None,
    ) -> None:
        if isinstance(fields, str):
            raise ValueError("fields must be a collection of field names, not one string")
        self._fields = tuple(fields)
        if not all(isinstance(name, str) for name in self._fields):
            raise ValueError(f"fields must be strings, got {self._fields!r}")
        if scrubber is not None and not isinstance(scrubber, UrlScrubber):
            raise ValueError(f"scrubber must be a UrlScrubber or None, got {scrubber!r}")
        self._scrubber = scrubber if scrubber is not None else _default_scrubber()

    def __call__(
        self, logger: object, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        fired: list[str] = []
        for name in self._fields:
            value = event_dict.get(name)
            if not isinstance(value, str):
                continue
            short = name.rsplit(".", 1)[-1]
            if short.endswith("query"):
                result = self._scrubber.scrub_query(value)
            elif short.endswith("path"):
                result = self._scrubber.scrub_path(value)
            else:
                result = self._scrubber.scrub_url(value)
            event_dict[name] = result.value
            fired.extend(f"{short}:{rule}" for rule in result.rules)
        if fired:
            existing = event_dict.get(REDACTIONS)
            before = list(existing) if isinstance(existing, list | tuple) else []
            event_dict[REDACTIONS] = before + [r for r in fired if r not in before]
        return event_dict
