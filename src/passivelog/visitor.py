"""Who is asking: the facts about a request's client, worked out once per visitor.

The client address (resolved behind trusted proxies, located, reduced), the user agent, the
cookie pseudonym and the opt-out decision depend only on the peer address and a handful of
request headers, which a browser sends unchanged on every request of a visit. They cost tens of
microseconds to work out the first time (a User-Agent parse, a geo lookup, an HMAC) and nothing
new after that, so :class:`VisitorCache` keeps them, already reduced to record fields, for the
visitors seen most recently.

What the cache holds is what the record holds: pseudonyms, reduced addresses, geo and browser
names and the opt-out decision. Its keys are hashes of the inputs, so it never keeps a cookie
value or any other raw header.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, TypeVar

from passivelog.optout import OptOutDecision
from passivelog.render import json_members
from passivelog.sinks._base import check_number

Headers = Sequence[tuple[bytes, bytes]]
_V = TypeVar("_V")

#: Request headers whose values decide the visitor's facts whatever the configuration: the
#: client address behind proxies, the user agent, the cookies (pseudonym, opt-out cookie).
VISITOR_HEADERS: Final = frozenset({b"user-agent", b"cookie", b"x-forwarded-for", b"forwarded"})


class VisitorFacts:
    """The facts about one visitor, as the record writes them.

    Args:
        fields: record fields (schema names) that depend only on the visitor: geo, client IP,
            user agent, cookie pseudonym, opt-out flags, ad pseudonym. Shared between requests:
            copy it into a record, never change it.
        decision: the visitor's opt-out decision, which the middleware applies to the request and
            the response.
        ad_cookies: whether the visitor's cookies include an ad cookie, which decides whether
            some responses need ``Vary`` (see OptOutPolicy.response_headers). True when unknown.
    """

    __slots__ = ("ad_cookies", "decision", "fields", "json")

    def __init__(
        self, fields: dict[str, Any], decision: OptOutDecision, ad_cookies: bool = True
    ) -> None:
        self.fields: Final = fields
        self.decision: Final = decision
        self.ad_cookies: Final = ad_cookies
        #: ``fields`` rendered as JSON object members (see render.json_members).
        self.json: Final = json_members(fields)

    def __repr__(self) -> str:
        # Field names only: the values are reduced, but a repr ends up in tracebacks and logs.
        return f"VisitorFacts(fields={sorted(self.fields)!r}, decision={self.decision!r})"


Describe = Callable[[str | None, Headers], VisitorFacts]


class VisitorCache:
    """Bounded cache of :class:`VisitorFacts`, keyed by a hash of what they are computed from.

    Args:
        describe: works out the facts of a request from the peer address and its headers (on a
            miss).
        headers: lowercase names of the request headers the facts depend on.
        size: how many visitors to remember; 0 disables the cache (every request is described).

    The key is Python's ``hash`` of the peer address and every header line whose name is in
    ``headers``, in order. ``hash`` of bytes and str is SipHash with a random key chosen at
    process start (PEP 456), so nobody outside the process can aim a collision at another
    visitor's entry; a chance collision between two of ``size`` entries (odds around
    ``size / 2**64`` per request) would give one request another visitor's already-reduced
    facts, never a raw value. Eviction is first in, first out: a hit costs one dict lookup.
    """

    __slots__ = ("_cache", "_describe", "_size", "names")

    def __init__(self, describe: Describe, *, headers: Iterable[bytes], size: int) -> None:
        check_number("visitor_cache_size", size, minimum=0, integer=True)  # 0: no cache
        self._describe = describe
        self._size = size
        self._cache: OrderedDict[int, VisitorFacts] = OrderedDict()
        #: The header names whose lines make up the key.
        self.names: Final = frozenset(headers)

    def __len__(self) -> int:
        return len(self._cache)

    @property
    def entries(self) -> Mapping[int, VisitorFacts]:
        """The cached facts by key, for a caller that looks a key up itself before calling
        :meth:`get` on a miss (one call fewer per hit). Read it; never change it."""
        return self._cache

    def key(self, peer: str | None, headers: Headers) -> int | None:
        """The cache key of a request: ``hash`` of the peer and the lines named in :attr:`names`.

        None when a value cannot be hashed (a hand-built scope): such a request is not cached.
        Callers that already walk the headers may build the same key themselves: ``hash`` of a
        tuple of the peer followed by each such line's name and value, in order.
        """
        names = self.names
        parts: list[Any] = [peer]
        for pair in headers:
            if pair[0] in names:
                parts += pair
        try:
            return hash(tuple(parts))
        except TypeError:
            return None

    def facts(self, peer: str | None, headers: Headers) -> VisitorFacts:
        """The facts of the visitor who sent ``headers`` from ``peer``."""
        return self.get(self.key(peer, headers), peer, headers)

    def get(self, key: int | None, peer: str | None, headers: Headers) -> VisitorFacts:
        """The facts for ``key`` (see :meth:`key`), worked out from ``peer`` and ``headers``
        when they are not cached yet."""
        if key is None or not self._size:
            return self._describe(peer, headers)
        cache = self._cache
        found = cache.get(key)
        if found is None:
            found = self._describe(peer, headers)
            remember(cache, self._size, key, found)
        return found


def remember(cache: OrderedDict[int, _V], size: int, key: int, value: _V) -> None:
    """Put ``value`` into a bounded hash-keyed cache, evicting the oldest entry when full.

    An OrderedDict, not a dict: ``next(iter(d))`` on a dict whose oldest entries keep being
    deleted walks over their empty slots, and cost 60 µs a miss once the cache was full.
    """
    if len(cache) >= size:
        with contextlib.suppress(KeyError):  # emptied by another thread meanwhile
            cache.popitem(last=False)
    cache[key] = value


__all__ = ["VISITOR_HEADERS", "VisitorCache", "VisitorFacts", "remember"]
