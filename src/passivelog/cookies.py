"""Cookies: read the request's ``Cookie`` header cheaply and turn one ID cookie into a pseudonym.

The raw cookie values stay inside the request; only :meth:`CookieIdentifier.cookie_id`'s keyed
pseudonym is meant for the record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from passivelog.pseudonym import Pseudonymiser

# Session cookies of common frameworks, checked in this order; the first one present with a
# non-empty value identifies the visitor. Server-side session ids (stable for a visit) come before
# signed client-side sessions, whose value changes whenever the session data does; a site normally
# sets only one of them anyway. Analytics and advertising cookies (_ga, _fbp, ...) are left out:
# they track people across sites, and logging them is a separate opt-in.
DEFAULT_ID_COOKIES: Final[tuple[str, ...]] = (
    "session",  # Starlette's SessionMiddleware, Flask
    "sessionid",  # Django
    "sid",  # a common short name in hand-written apps
    "connect.sid",  # Express (express-session)
    "JSESSIONID",  # Java servlet containers
    "PHPSESSID",  # PHP
    "ASP.NET_SessionId",  # ASP.NET
    "laravel_session",  # Laravel
    "_session_id",  # Rails (ActionDispatch's default key when the app sets none)
)

# Bytes of the Cookie header read; the rest is ignored. Real headers are smaller: servers refuse
# longer header lines (nginx's large_client_header_buffers default is 8 KB, Node.js allows 16 KB
# for all headers together), so a longer one was made to cost us time.
MAX_COOKIE_HEADER: Final = 16384

# Cookies parsed at most. Chromium keeps at most 180 cookies per domain; a header with more was
# not written by a browser, and the names we look for come first in a real one.
_MAX_COOKIES: Final = 256

# RFC 6265 §4.1.1: cookie-name is an RFC 2616 token.
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def parse_cookie_header(raw: bytes | str | None) -> dict[str, str]:
    """Return the ``name -> value`` pairs of a ``Cookie`` header; never raises.

    A lenient split, as most servers do it (Starlette's parser is similar): pairs are separated
    by ``;``, name and value are stripped of spaces and tabs, one pair of surrounding double
    quotes is removed from the value, and pairs without ``=`` or without a name are skipped. When
    a name repeats, the first occurrence wins: browsers send cookies with longer paths first
    (RFC 6265 §5.4), so the first is the most specific. Bytes are decoded as latin-1, which maps
    every byte to one character.

    Only the first :data:`MAX_COOKIE_HEADER` bytes and 256 cookies are read, so a 64 KB header
    costs no more than a 16 KB one; a pair cut by the limit is dropped. (``http.cookies``'
    ``SimpleCookie`` is ~10x slower, and stops at or raises on the first pair it dislikes.)
    """
    if isinstance(raw, bytes | bytearray):
        if len(raw) > MAX_COOKIE_HEADER:
            # Drop the pair that the cut went through: half a value would give a wrong pseudonym.
            raw = raw[: raw.rfind(b";", 0, MAX_COOKIE_HEADER + 1) + 1]
        text = raw.decode("latin-1")
    elif isinstance(raw, str):
        text = raw
        if len(text) > MAX_COOKIE_HEADER:
            text = text[: text.rfind(";", 0, MAX_COOKIE_HEADER + 1) + 1]
    else:
        return {}
    cookies: dict[str, str] = {}
    pairs = text.split(";", _MAX_COOKIES)
    if len(pairs) > _MAX_COOKIES:
        pairs.pop()  # everything after the 256th ";", unsplit
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals:
            continue
        name = name.strip(" \t")
        if not name or name in cookies:
            continue
        value = value.strip(" \t")
        if len(value) > 1 and value[0] == '"' and value[-1] == '"':
            value = value[1:-1]
        cookies[name] = value
    return cookies


def cookie_headers(headers: Sequence[tuple[bytes, bytes]]) -> bytes:
    """Return all ``cookie`` headers of an ASGI header list joined with ``b"; "``.

    HTTP/2 and HTTP/3 clients may send each cookie as its own header field (RFC 9113 §8.2.3,
    RFC 9114 §4.2.1); joined, they read as the one header HTTP/1.1 would carry. Returns ``b""``
    when there is none.
    """
    found: list[bytes] = []
    size = 0
    for name, value in headers:
        if name == b"cookie":
            found.append(value)
            size += len(value) + 2
            if size > MAX_COOKIE_HEADER:
                break  # parse_cookie_header reads no further
    if len(found) == 1:
        return found[0]
    return b"; ".join(found)


class CookieIdentifier:
    """Turns the visitor's session cookie into a keyed pseudonym.

    The pseudonym links a visitor's requests while the cookie lives, without logging the cookie:
    a session id in a log file is a credential (OWASP Session Management Cheat Sheet, "Logging
    Sessions Life Cycle"), its pseudonym is not. Only the pseudonym leaves this class; the raw
    value is neither returned nor kept.

    Args:
        names: cookie names to look for, in priority order; names are case-sensitive.
            Defaults to :data:`DEFAULT_ID_COOKIES`.
        pseudonymiser: the keyed pseudonymiser (purpose ``"cookie"``).

    Raises:
        ValueError: no names, a single string instead of a list of names, or a name that is not
            an RFC 6265 cookie name (a token: no spaces, quotes, ``=``, ``;`` or ``,``).
    """

    __slots__ = ("_names", "_pseudonymiser")

    def __init__(
        self, names: Iterable[str] = DEFAULT_ID_COOKIES, *, pseudonymiser: Pseudonymiser
    ) -> None:
        if isinstance(names, str | bytes):
            raise ValueError(
                f"cookie names must be a list of names, not the single string {names!r}: "
                f"write [{names!r}]"
            )
        checked = tuple(names)
        if not checked:
            raise ValueError(
                "no cookie names given: name your session cookie, e.g. ['sessionid'] "
                "(id_cookies= of the middleware), or leave the option out for the defaults"
            )
        for name in checked:
            if not isinstance(name, str) or not _TOKEN.fullmatch(name):
                raise ValueError(
                    f"{name!r} is not a valid cookie name: a name is a non-empty RFC 6265 token "
                    "(letters, digits and !#$%&'*+-.^_`|~; no spaces, quotes, '=', ';' or ',')"
                )
        self._names: Final = checked
        self._pseudonymiser: Final = pseudonymiser

    def __repr__(self) -> str:
        return f"CookieIdentifier(names={list(self._names)!r})"

    def cookie_id(self, cookies: Mapping[str, str]) -> str | None:
        """Return the pseudonym of the first configured cookie with a non-empty value, else None."""
        for name in self._names:
            value = cookies.get(name)
            if value and isinstance(value, str):
                return self._pseudonymiser.pseudonym(value, "cookie")
        return None
