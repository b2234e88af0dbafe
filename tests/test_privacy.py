"""Privacy invariants as hypothesis properties, end to end through the middleware and real sinks.

Generated visitors (cookies, credentials, opt-out signals, and URLs and referrers seeded with
personal data) make whole requests through ``PassiveLogMiddleware``. Each property then looks for
the visitor's data in everything that left the middleware: the records ``capture_records`` saw,
the bytes a ``FileSink`` wrote to a real file, what ``StreamSink`` wrote to a binary stream, a
text stream and an OTel-named stream, the response headers the client got and the request the app
saw. Every search is repeated on fully percent-decoded text.

A value counts as leaked only when it can be read in the output of its request and not in the
output of a baseline: the same request with every cookie value and credential (or the secret)
replaced by an unrelated one. So a generated value that happens to be a field name, a rule name
or a piece of JSON syntax is no finding, and every finding came from the request.

The seeded personal data comes from the scrubber's own property tests, so a detector added there
is exercised here end to end as well.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import ipaddress
import json
import string
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import orjson
import pytest
import structlog
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from passivelog import schema
from passivelog.cookies import DEFAULT_ID_COOKIES
from passivelog.optout import DEFAULT_AD_COOKIES, SIGNALS
from passivelog.pseudonym import Pseudonymiser
from passivelog.sinks import FileSink, StreamSink
from passivelog.testing import capture_records
from tests.test_scrub import decoded_views, leaks
from tests.test_scrub_properties import ENCODINGS, SEEDS

from .conftest import SECRET

Message = dict[str, Any]
Headers = list[tuple[bytes, bytes]]
MakeApp = Callable[..., Any]


def examples(count: int) -> settings:
    # make_app is a stateless factory, so sharing it between examples is safe.
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# -- what counts as a match --------------------------------------------------------------------


def distinctive(value: str) -> bool:
    """At least 8 characters, 4 different ones, from at least two classes."""
    classes = (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
    mixed = sum(any(test(c) for c in value) for test in classes) >= 2
    return len(value) >= 8 and len(set(value)) >= 4 and mixed


def needles(value: str) -> set[str]:
    """``value`` and, when that is distinctive too, its fully percent-decoded form."""
    found = {value}
    decoded = value
    for _ in range(12):
        again = unquote(decoded)
        if again == decoded:
            break
        decoded = again
    if decoded != value and distinctive(decoded):
        found.add(decoded)
    return found


def unrelated(value: str) -> str:
    """A stand-in for ``value`` in the baseline request: same place, nothing in common."""
    return "o" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:23]


def is_ad_cookie(name: str) -> bool:
    """The test's own reading of ``DEFAULT_AD_COOKIES``: exact names, ``*`` marks a prefix."""
    return any(
        name.startswith(entry[:-1]) if entry.endswith("*") else name == entry
        for entry in DEFAULT_AD_COOKIES
    )


# -- visitors ----------------------------------------------------------------------------------

USER_AGENT = b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@dataclass(frozen=True)
class Cookie:
    name: str
    value: str
    pad: str = ""  # whitespace before the name, which servers strip
    quoted: bool = False

    @property
    def pair(self) -> str:
        value = f'"{self.value}"' if self.quoted else self.value
        return f"{self.pad}{self.name}={value}"


@dataclass(frozen=True)
class Credential:
    """An ``Authorization`` or ``Proxy-Authorization`` field."""

    field: bytes
    scheme: str
    secret: str

    @property
    def value(self) -> str:
        return f"{self.scheme} {self.secret}" if self.scheme else self.secret


@dataclass(frozen=True)
class Seed:
    kind: str
    value: str
    where: str


@dataclass(frozen=True)
class Visitor:
    """One request as a browser (or a hostile client) sends it."""

    path: str = "/shop"
    query: bytes = b""
    referrer: str | None = None
    cookies: tuple[Cookie, ...] = ()
    opt_out_cookie: tuple[int, str] | None = None  # where among the pairs, and the value sent
    cookie_cuts: tuple[int, ...] = ()  # pair indexes where a new Cookie field starts
    cookie_separator: str = "; "
    credentials: tuple[Credential, ...] = ()
    signal_headers: tuple[tuple[bytes, bytes], ...] = ()
    order: tuple[int, ...] | None = None  # a permutation of the header list
    forwarding: tuple[tuple[bytes, bytes], ...] = ()
    client: tuple[str, int] = ("192.0.2.10", 50123)
    seeds: tuple[Seed, ...] = ()

    @property
    def headers(self) -> Headers:
        pairs = [cookie.pair for cookie in self.cookies]
        if self.opt_out_cookie is not None:
            at, value = self.opt_out_cookie
            pairs.insert(at, f"ad_opt_out={value}")
        starts = [0, *self.cookie_cuts]
        ends = [*self.cookie_cuts, len(pairs)]
        headers: Headers = [(b"host", b"shop.test"), (b"user-agent", USER_AGENT)]
        if self.referrer is not None:
            headers.append((b"referer", self.referrer.encode("latin-1")))
        headers += [
            (b"cookie", self.cookie_separator.join(pairs[start:end]).encode("latin-1"))
            for start, end in zip(starts, ends, strict=True)
            if pairs
        ]
        headers += [(c.field, c.value.encode("latin-1")) for c in self.credentials]
        headers += self.signal_headers
        if self.order is not None:
            headers = [headers[i] for i in self.order]
        return [*headers, *self.forwarding]

    @property
    def ad_values(self) -> list[str]:
        return [cookie.value for cookie in self.cookies if is_ad_cookie(cookie.name)]

    def with_unrelated_values(self) -> Visitor:
        """The baseline: the same request, every cookie value and credential replaced."""
        return replace(
            self,
            cookies=tuple(replace(c, value=unrelated(c.value)) for c in self.cookies),
            credentials=tuple(replace(c, secret=unrelated(c.secret)) for c in self.credentials),
        )


TOKEN_CHARS = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"
# RFC 6265 section 4.1.1 cookie-octets, plus two Latin-1 letters a lenient browser passes on.
COOKIE_OCTETS = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '",;\\') + "éÿ"
VISIBLE_ASCII = "".join(chr(c) for c in range(0x21, 0x7F))

cookie_values = st.text(COOKIE_OCTETS, min_size=8, max_size=40).filter(distinctive)


@st.composite
def ad_cookie_names(draw: st.DrawFn) -> str:
    entry = draw(st.sampled_from(DEFAULT_AD_COOKIES))
    if entry.endswith("*"):
        return entry[:-1] + draw(st.text(string.ascii_letters + string.digits + "_", max_size=10))
    return entry


other_cookie_names = st.one_of(
    st.sampled_from(DEFAULT_ID_COOKIES),
    st.sampled_from(["theme", "csrftoken", "cart", "lang", "_ga_opt", "__Host-id"]),
    st.text(TOKEN_CHARS, min_size=1, max_size=12),
).filter(lambda name: not is_ad_cookie(name) and name != "ad_opt_out")


def _apart(values: Sequence[str], names: Sequence[str]) -> bool:
    # No value inside another value or a name: the app-side checks search raw header bytes.
    inside = [*values, *names]
    return all(i == j or a not in b for i, a in enumerate(values) for j, b in enumerate(inside))


@st.composite
def credentials(draw: st.DrawFn) -> Credential:
    kind = draw(st.sampled_from(["token", "basic", "random"]))
    if kind == "token":
        secret = draw(SEEDS["token"])
    elif kind == "basic":
        user = draw(st.text(string.ascii_letters + string.digits, min_size=1, max_size=12))
        password = draw(st.text(VISIBLE_ASCII, min_size=1, max_size=20))
        secret = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    else:
        secret = draw(st.text(VISIBLE_ASCII, min_size=8, max_size=60).filter(distinctive))
    return Credential(
        field=draw(st.sampled_from([b"authorization", b"proxy-authorization"])),
        scheme=draw(st.sampled_from(["Bearer", "bearer", "Basic", "Digest", "Token", "AWS4", ""])),
        secret=secret,
    )


@st.composite
def opt_out_headers(draw: st.DrawFn, signals: frozenset[str]) -> Headers:
    # Values each signal's specification reads as "opted out" (see passivelog.optout).
    headers: Headers = []
    if "gpc" in signals:
        if draw(st.booleans()):
            headers.append((b"sec-gpc", b"0"))  # a repeated field never hides the opt-out
        headers.append((b"sec-gpc", draw(st.sampled_from([b"1", b" 1", b"1\t"]))))
    if "dnt" in signals:
        headers.append((b"dnt", draw(st.sampled_from([b"1", b"1 ", b"1xyz"]))))
    if "header" in signals:
        headers.append((b"x-ad-opt-out", draw(st.sampled_from([b"1", b" 1 "]))))
    return headers


def _light(value: str) -> str:
    return quote(value, safe="@:+")


# Where seeded personal data is put. Each place takes the seed and one of the scrubber tests'
# encodings (once, twice, form, light), and for the referrer the host.
_WORDS = ("shop", "blog", "news", "search", "products", "2024", "account", "en", "v2", "a-b")
PATH_PLACES: dict[str, Callable[[str, Callable[[str], str]], str]] = {
    "segment": lambda s, enc: f"/{s}",
    "encoded segment": lambda s, enc: f"/{enc(s)}",  # the client encoded twice: still encoded
    "matrix": lambda s, enc: f";info={enc(s)}",
    "pair": lambda s, enc: f"/note={s}",
}
QUERY_PLACES: dict[str, Callable[[str, Callable[[str], str]], str]] = {
    "value": lambda s, enc: f"q={enc(s)}",
    "in text": lambda s, enc: f"note={enc('hi ' + s + ' thanks')}&page=2",
    "bare": lambda s, enc: enc(s),
    "key": lambda s, enc: f"{enc(s)}=1",
    "nested query": lambda s, enc: (
        "next=" + quote(f"https://other.example/p?v={enc(s)}&lang=en", safe="")
    ),
    "nested fragment": lambda s, enc: "next=" + quote(f"https://other.example/p#{enc(s)}", safe=""),
    "nested userinfo": lambda s, enc: (
        "next=" + quote(f"https://ann:{quote(s, safe='')}@other.example/", safe="")
    ),
    "nested json": lambda s, enc: "state=" + enc(json.dumps({"a": 1, "v": s})),
    "nested path": lambda s, enc: "u=" + quote("/redirect?to=" + quote(s, safe=""), safe=""),
    # Allowlisted: only the random-token heuristic is off there, every validated detector runs.
    "allowlisted": lambda s, enc: f"utm_term={enc(s)}",
}
REFERRER_PLACES: dict[str, Callable[[str, Callable[[str], str], str], str]] = {
    "query": lambda s, enc, host: f"https://{host}/search?q={enc(s)}",
    "path": lambda s, enc, host: f"https://{host}/u/{_light(s)}/x",
    "fragment": lambda s, enc, host: f"https://{host}/p#{enc(s)}",
    "hash route": lambda s, enc, host: f"https://{host}/#/reset?v={enc(s)}",
    "userinfo": lambda s, enc, host: f"https://{quote(s, safe='')}@{host}/",
    "password": lambda s, enc, host: f"https://ann:{quote(s, safe='')}@{host}/",
    "nested": lambda s, enc, host: (
        f"https://{host}/r?u=" + quote("/redirect?to=" + quote(s, safe=""), safe="")
    ),
}


@st.composite
def seeds(draw: st.DrawFn) -> tuple[str, str]:
    """``(kind, value)``: personal data of one kind the scrubber knows."""
    kind = draw(st.sampled_from(sorted(SEEDS)))
    return kind, draw(SEEDS[kind])


@st.composite
def seeded_urls(draw: st.DrawFn) -> Visitor:
    """A visitor whose path, query and referrer each carry a seed, in a place drawn at random."""
    encode = draw(st.sampled_from(ENCODINGS))
    (path_kind, path_seed), (query_kind, query_seed) = draw(seeds()), draw(seeds())
    referrer_kind, referrer_seed = draw(seeds())

    path_place = draw(st.sampled_from(sorted(PATH_PLACES)))
    path = "/".join(
        ["", draw(st.sampled_from(_WORDS)) + PATH_PLACES[path_place](path_seed, encode),
         draw(st.sampled_from(_WORDS))]
    )  # fmt: skip

    query_places = sorted(QUERY_PLACES)
    if query_kind == "token":
        query_places.remove("allowlisted")  # the token heuristic is off there by design
    query_place = draw(st.sampled_from(query_places))
    query = QUERY_PLACES[query_place](query_seed, encode)
    query += draw(st.sampled_from(["", "&utm_source=news", "&sort=asc&page=3"]))

    referrer_places = sorted(REFERRER_PLACES) + (["host"] if referrer_kind == "ip" else [])
    referrer_place = draw(st.sampled_from(referrer_places))
    if referrer_place == "host":
        host = f"[{referrer_seed}]" if ":" in referrer_seed else referrer_seed
        referrer = f"http://{host}/x"
    else:
        host = draw(st.sampled_from(["shop.test", "www.example.com"]))
        referrer = REFERRER_PLACES[referrer_place](referrer_seed, encode, host)

    return Visitor(
        path=path,
        query=query.encode("ascii"),
        referrer=referrer,
        seeds=(
            Seed(path_kind, path_seed, f"path {path_place}"),
            Seed(query_kind, query_seed, f"query {query_place}"),
            Seed(referrer_kind, referrer_seed, f"referrer {referrer_place}"),
        ),
    )


@st.composite
def visitors(
    draw: st.DrawFn, *, opted_out: bool | None = None, ad_cookies: int = 0, auth: int = 0
) -> Visitor:
    """A visitor with ID, ad and other cookies, credentials, opt-out signals and a seeded URL.

    Cookies come with the spacing varied, some values quoted, in one ``Cookie`` field or split
    over several (HTTP/2 may send each cookie alone, RFC 9113 section 8.2.3); the header order is
    shuffled.

    Args:
        opted_out: True for at least one opt-out signal, False for none, None for either.
        ad_cookies: the fewest ad cookies to send.
        auth: the fewest ``Authorization``/``Proxy-Authorization`` fields to send.
    """
    names = draw(st.lists(ad_cookie_names(), min_size=ad_cookies, max_size=max(ad_cookies, 3)))
    names = draw(st.permutations(names + draw(st.lists(other_cookie_names, max_size=4))))
    values = draw(
        st.lists(cookie_values, min_size=len(names), max_size=len(names)).filter(
            lambda values: _apart(values, names)
        )
    )
    pads = st.sampled_from(["", "", " ", "\t", "\xa0"])
    cookies = tuple(
        Cookie(name, value, draw(pads), draw(st.booleans()))
        for name, value in zip(names, values, strict=True)
    )
    if opted_out is False:
        signals: frozenset[str] = frozenset()
    else:
        signals = frozenset(draw(st.sets(st.sampled_from(SIGNALS), min_size=int(bool(opted_out)))))
    opt_out_cookie = None
    if "cookie" in signals:
        opt_out_cookie = (draw(st.integers(0, len(cookies))), draw(st.sampled_from(["1", '"1"'])))
    pairs = len(cookies) + (opt_out_cookie is not None)
    cuts = draw(st.sets(st.integers(1, pairs - 1), max_size=3)) if pairs > 1 else set()
    visitor = replace(
        draw(seeded_urls()),
        cookies=cookies,
        opt_out_cookie=opt_out_cookie,
        cookie_cuts=tuple(sorted(cuts)),
        cookie_separator=draw(st.sampled_from(["; ", ";", " ; "])),
        credentials=tuple(draw(st.lists(credentials(), min_size=auth, max_size=max(auth, 2)))),
        signal_headers=tuple(draw(opt_out_headers(signals))),
    )
    return replace(visitor, order=tuple(draw(st.permutations(range(len(visitor.headers))))))


# -- the app, the requests and what came out ---------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """What the app got: Starlette's ``request.cookies`` and the raw ``Cookie`` fields."""

    cookies: dict[str, str]
    cookie_fields: list[bytes]


@dataclass
class RecordingApp:
    """Answers 200 with the given ``Set-Cookie`` fields and remembers each request it saw."""

    set_cookies: Sequence[tuple[bytes, bytes]] = ()
    seen: list[Seen] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope)
        fields = [value for name, value in scope["headers"] if name.lower() == b"cookie"]
        self.seen.append(Seen(dict(request.cookies), fields))
        headers = [(b"content-type", b"text/plain"), *self.set_cookies]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})


def call(app: Any, visitor: Visitor) -> list[Message]:
    """One raw ASGI request, as a server passes it; returns the messages the client got."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "https", "path": visitor.path,
        "raw_path": quote(visitor.path, safe="/;=").encode("ascii"),
        "query_string": visitor.query, "root_path": "", "headers": visitor.headers,
        "client": visitor.client, "server": ("192.0.2.1", 443),
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))
    return sent


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list | tuple):
        for item in node:
            yield from _strings(item)
    else:
        yield str(node)


@dataclass
class Outputs:
    """Everything one visitor's request left behind, captured and written."""

    records: list[dict[str, Any]]
    written: dict[str, bytes]
    responses: list[list[Message]]

    def texts(self) -> Iterator[tuple[str, str]]:
        """``(where, text)`` for every string that left the middleware, raw and parsed."""
        for record in self.records:
            yield from (("record", text) for text in _strings(record))
        for where, blob in self.written.items():
            yield where, blob.decode("utf-8", "replace")
            for line in blob.splitlines():
                yield from ((where, text) for text in _strings(orjson.loads(line)))

    def exposing(self, value: str) -> list[tuple[str, str]]:
        """Where ``value`` can be read, as it is or percent-decoded, on either side."""
        found = []
        for where, text in self.texts():
            views = (text, *decoded_views(text))
            if any(needle in view for needle in needles(value) for view in views):
                found.append((where, text))
        return found

    def revealing(self, value: str, baseline: Outputs) -> list[tuple[str, str]]:
        """Where this request exposes ``value`` while its baseline does not: a leak."""
        found = self.exposing(value)
        return found if found and not baseline.exposing(value) else []


def run(make_app: MakeApp, visitor: Visitor, app: Any = None, **options: Any) -> Outputs:
    """The visitor's request once under ``capture_records`` and once into real sinks."""
    app = app if app is not None else RecordingApp()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "access.log"
        binary, text, otel = io.BytesIO(), io.StringIO(), io.BytesIO()
        # ECS JSON-line sinks alone take the ready-made line; with an OTel sink beside them the
        # record goes out as a dict: both paths are checked.
        lines = [FileSink(path), StreamSink(binary, name="binary"), StreamSink(text, name="text")]
        middleware = make_app(app, sinks=lines, **options)
        with capture_records() as records:
            captured = call(middleware, visitor)
        written = call(middleware, visitor)
        middleware.close()
        dicts = make_app(app, sinks=[StreamSink(otel, schema="otel", name="otel")], **options)
        call(dicts, visitor)
        dicts.close()
        outputs = Outputs(
            records=list(records),
            written={
                "file": path.read_bytes(),
                "binary stream": binary.getvalue(),
                "text stream": text.getvalue().encode("utf-8"),
                "otel stream": otel.getvalue(),
            },
            responses=[captured, written],
        )
    # Not vacuous: one record captured, one line in every sink.
    assert len(outputs.records) == 1
    assert all(blob.count(b"\n") == 1 for blob in outputs.written.values()), outputs.written
    return outputs


record_options = st.fixed_dictionaries(
    {
        "ip_mode": st.sampled_from(["full", "truncate", "hash", "drop"]),
        "log_user_agent": st.booleans(),
        "log_ad_id": st.booleans(),
        "referrer_mode": st.sampled_from(["scrub", "origin", "drop"]),
        "cross_site_referrer": st.sampled_from(["scrub", "origin"]),
    }
)


# -- 1. cookie values --------------------------------------------------------------------------


@examples(60)
@given(visitor=visitors(ad_cookies=1), options=record_options)
def test_raw_cookie_values_never_reach_a_sink(
    make_app: MakeApp, visitor: Visitor, options: dict[str, Any]
) -> None:
    outputs = run(make_app, visitor, **options)
    baseline = run(make_app, visitor.with_unrelated_values(), **options)
    for cookie in visitor.cookies:
        found = outputs.revealing(cookie.value, baseline)
        assert not found, (cookie, found)


# -- 2. credentials ----------------------------------------------------------------------------


@examples(50)
@given(visitor=visitors(auth=1), options=record_options)
def test_authorization_values_never_reach_a_sink(
    make_app: MakeApp, visitor: Visitor, options: dict[str, Any]
) -> None:
    outputs = run(make_app, visitor, **options)
    baseline = run(make_app, visitor.with_unrelated_values(), **options)
    for credential in visitor.credentials:
        for value in (credential.value, credential.secret):
            if distinctive(value):
                found = outputs.revealing(value, baseline)
                assert not found, (value, found)


# -- 3. opt-out --------------------------------------------------------------------------------

PSEUDONYMS = Pseudonymiser(SECRET)


@examples(50)
@given(visitor=visitors(opted_out=True, ad_cookies=1))
def test_opted_out_ad_cookie_is_neither_logged_nor_pseudonymised(
    make_app: MakeApp, visitor: Visitor
) -> None:
    outputs = run(make_app, visitor, log_ad_id=True)
    baseline = run(make_app, visitor.with_unrelated_values(), log_ad_id=True)
    [record] = outputs.records
    assert record[schema.OPT_OUT] is True
    assert schema.AD_ID not in record
    for value in visitor.ad_values:
        for needle in (value, PSEUDONYMS.pseudonym(value, "ad")):
            found = outputs.revealing(needle, baseline)
            assert not found, (value, needle, found)


def test_ad_id_pseudonym_is_logged_without_opt_out(make_app: MakeApp) -> None:
    # The oracle of the test above: the pseudonym it looks for is the one that would be logged.
    visitor = Visitor(cookies=(Cookie("_ga", "GA1.2.1234567.890123"),))
    [record] = run(make_app, visitor, log_ad_id=True).records
    assert record[schema.AD_ID] == PSEUDONYMS.pseudonym("GA1.2.1234567.890123", "ad")


# Set-Cookie attributes that leave the cookie stored (RFC 6265 section 5.2.2: a Max-Age that is
# not "-"? DIGIT+ is ignored; section 5.3 step 3: the last Max-Age wins, and wins over Expires)
# and attributes that delete it (delta-seconds <= 0, or an Expires in the past).
SETTING = [
    "", "; Path=/", "; Max-Age=63072000; Path=/; SameSite=Lax",
    "; Expires=Wed, 01 Jan 2099 00:00:00 GMT", "; Max-Age=0x", "; Max-Age=", "; Max-Age=+0",
    "; Expires=yesterday", "; Max-Age=0; Max-Age=7200",
    "; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60",
]  # fmt: skip
DELETING = [
    "; Max-Age=0", "; Max-Age=-1", "; Expires=Thu, 01 Jan 1970 00:00:00 GMT", "; Path=/; Max-Age=0",
    "; Max-Age=7200; Max-Age=0", "; Expires=Wed, 01 Jan 2099 00:00:00 GMT; Max-Age=0",
    "; max-age=00", "; Max-Age = 0", "; Max-Age=-0",
]  # fmt: skip
SET_COOKIE_NAMES = [b"set-cookie", b"Set-Cookie", b"SET-COOKIE"]


@dataclass(frozen=True)
class SetCookies:
    """The app's ``Set-Cookie`` fields, in the order it sends them, and those setting ad cookies."""

    fields: tuple[tuple[bytes, bytes], ...]
    ad_setting: frozenset[bytes]

    @property
    def passing(self) -> Counter[bytes]:
        """Ad-cookie deletions and every other cookie: these must all reach the client."""
        return Counter(value for _, value in self.fields if value not in self.ad_setting)


@st.composite
def set_cookies(draw: st.DrawFn) -> SetCookies:
    field_names = st.sampled_from(SET_COOKIE_NAMES)
    setting = [
        f"{draw(st.sampled_from(['', ' ']))}{name}={value}{draw(st.sampled_from(SETTING))}"
        for name, value in draw(
            st.lists(st.tuples(ad_cookie_names(), cookie_values), min_size=1, max_size=4)
        )
    ]
    deleting = [
        f"{name}={draw(st.sampled_from(['', 'deleted']))}{draw(st.sampled_from(DELETING))}"
        for name in draw(st.lists(ad_cookie_names(), min_size=1, max_size=3))
    ]
    others = [
        f"{name}={value}{draw(st.sampled_from(SETTING + DELETING))}"
        for name, value in draw(st.lists(st.tuples(other_cookie_names, cookie_values), max_size=3))
    ]
    fields = [(draw(field_names), value.encode("latin-1")) for value in setting + deleting + others]
    return SetCookies(
        fields=tuple(draw(st.permutations(fields))),
        ad_setting=frozenset(value.encode("latin-1") for value in setting),
    )


def _set_cookie_values(messages: list[Message]) -> Counter[bytes]:
    [start] = [m for m in messages if m["type"] == "http.response.start"]
    return Counter(value for name, value in start["headers"] if name.lower() == b"set-cookie")


@examples(50)
@given(visitor=visitors(opted_out=True), cookies=set_cookies())
def test_opted_out_visitor_gets_no_ad_cookie_set_but_every_deletion(
    make_app: MakeApp, visitor: Visitor, cookies: SetCookies
) -> None:
    outputs = run(make_app, visitor, app=RecordingApp(set_cookies=cookies.fields))
    for messages in outputs.responses:
        got = _set_cookie_values(messages)
        for value in cookies.ad_setting:
            assert got[value] == 0, value
        for value, count in cookies.passing.items():
            assert got[value] == count, value


@examples(50)
@given(visitor=visitors(opted_out=True, ad_cookies=1))
def test_app_never_sees_an_opted_out_visitors_ad_cookie(
    make_app: MakeApp, visitor: Visitor
) -> None:
    app = RecordingApp()
    run(make_app, visitor, app=app)
    assert len(app.seen) == 3  # captured, into ECS line sinks, into an OTel sink
    for seen in app.seen:
        assert not [name for name in seen.cookies if is_ad_cookie(name)], seen.cookies
        for raw in seen.cookie_fields:
            # Names as Starlette reads them: Latin-1, str.strip().
            for piece in raw.decode("latin-1").split(";"):
                assert not is_ad_cookie(piece.partition("=")[0].strip()), raw
            for value in visitor.ad_values:
                assert value.encode("latin-1") not in raw, (value, raw)
        # The other cookies still reach the app, value for value.
        for cookie in visitor.cookies:
            if not is_ad_cookie(cookie.name):
                wanted = cookie.value.encode("latin-1")
                assert any(wanted in raw for raw in seen.cookie_fields), cookie


# -- 4. seeded personal data in URLs and referrers ---------------------------------------------

URL_FIELDS = (schema.URL_PATH, schema.URL_QUERY, schema.REFERRER, schema.MESSAGE)


@examples(150)
@given(
    visitor=visitors(),
    referrer_mode=st.sampled_from(["scrub", "scrub", "origin"]),
    cross_site=st.sampled_from(["scrub", "origin"]),
)
def test_seeded_personal_data_never_reaches_url_fields(
    make_app: MakeApp, visitor: Visitor, referrer_mode: str, cross_site: str
) -> None:
    app = make_app(RecordingApp(), referrer_mode=referrer_mode, cross_site_referrer=cross_site)
    with capture_records() as records:
        call(app, visitor)
    [record] = records
    assert record[schema.URL_PATH]
    for seed in visitor.seeds:
        event(f"{seed.where}: {seed.kind}")
        for name in URL_FIELDS:
            text = record.get(name, "")
            assert not leaks(text, seed.value), (seed, name, text)
        for rule in record.get(schema.REDACTIONS, []):
            assert not leaks(rule, seed.value), (seed, rule)


# -- 5. client IP ------------------------------------------------------------------------------

DOC_V4 = ("192.0.2.", "198.51.100.", "203.0.113.")
DOC_V6 = int(ipaddress.IPv6Address("2001:db8::"))
PROXY = "203.0.113.254"

ipv4s = st.builds(lambda net, host: f"{net}{host}", st.sampled_from(DOC_V4), st.integers(1, 253))
# Host bits below the /48 that truncation keeps, so the truncated form never equals the full one.
ipv6s = st.builds(
    lambda high, low: str(ipaddress.IPv6Address(DOC_V6 | high << 80 | low)),
    st.integers(0, 2**16 - 1),
    st.integers(1, 2**80 - 1),
)
client_ips = st.one_of(ipv4s, ipv6s)


def spellings(ip: str) -> set[str]:
    """How an address can be written, lower-cased: the record must show none of them."""
    address = ipaddress.ip_address(ip)
    forms = {ip.lower(), address.compressed, address.exploded}
    if address.version == 4:
        forms.add(f"::ffff:{ip}")
    return forms


@st.composite
def routes(draw: st.DrawFn, ip: str) -> Visitor:
    """A request from ``ip``: directly, under another spelling of the address (IPv4-mapped IPv6,
    or IPv6 written out in capitals), or through our trusted proxy."""
    route = draw(st.sampled_from(["direct", "respelled", "x-forwarded-for", "forwarded"]))
    port = draw(st.integers(1, 65535))
    if route == "direct":
        return Visitor(client=(ip, port))
    if route == "respelled":
        spelled = ipaddress.ip_address(ip).exploded.upper() if ":" in ip else f"::ffff:{ip}"
        return Visitor(client=(spelled, port))
    hop = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
    if route == "x-forwarded-for":
        forwarding = (b"x-forwarded-for", f"198.51.100.77, {hop}".encode())
    else:
        forwarding = (b"forwarded", f'for=198.51.100.77, for="{hop}";proto=https'.encode())
    return Visitor(client=(PROXY, 1), forwarding=(forwarding,))


def _exposed_ip(outputs: Outputs, ip: str) -> list[tuple[str, str]]:
    forms = spellings(ip)
    texts = outputs.texts()
    return [(where, text) for where, text in texts if any(f in text.lower() for f in forms)]


@examples(40)
@given(data=st.data(), ip=client_ips)
def test_dropped_ip_never_appears(make_app: MakeApp, data: st.DataObject, ip: str) -> None:
    outputs = run(make_app, data.draw(routes(ip)), trusted_proxies=[PROXY], ip_mode="drop")
    assert schema.CLIENT_IP not in outputs.records[0]
    assert not _exposed_ip(outputs, ip), _exposed_ip(outputs, ip)
    assert not _exposed_ip(outputs, PROXY), _exposed_ip(outputs, PROXY)


@examples(40)
@given(data=st.data(), ip=client_ips)
def test_truncated_ip_never_appears_whole(make_app: MakeApp, data: st.DataObject, ip: str) -> None:
    outputs = run(make_app, data.draw(routes(ip)), trusted_proxies=[PROXY], ip_mode="truncate")
    network = ipaddress.ip_network(f"{ip}/{24 if '.' in ip else 48}", strict=False)
    assert outputs.records[0][schema.CLIENT_IP] == str(network.network_address)
    assert not _exposed_ip(outputs, ip), _exposed_ip(outputs, ip)


@examples(40)
@given(data=st.data(), ip=client_ips, other=client_ips)
def test_hashed_ip_is_hidden_and_stable(
    make_app: MakeApp, data: st.DataObject, ip: str, other: str
) -> None:
    options = {"trusted_proxies": [PROXY], "ip_mode": "hash"}
    first = run(make_app, data.draw(routes(ip)), **options)
    # Another spelling or route, through another middleware with the same secret (a restart).
    second = run(make_app, data.draw(routes(ip)), **options)
    value = first.records[0][schema.IP_ID]
    assert second.records[0][schema.IP_ID] == value
    # The pseudonym is not an address, so it stays out of client.ip (typed `ip` by ECS).
    assert schema.CLIENT_IP not in first.records[0]
    assert not _exposed_ip(first, ip) and not _exposed_ip(second, ip)
    if ipaddress.ip_address(other) != ipaddress.ip_address(ip):
        third = run(make_app, Visitor(client=(other, 1)), **options)
        assert third.records[0][schema.IP_ID] != value


# -- 6. the secret -----------------------------------------------------------------------------

secret_texts = st.text(VISIBLE_ASCII + "éß€", min_size=16, max_size=48).filter(distinctive)

BAD_OPTIONS: dict[str, dict[str, Any]] = {
    "ip_mode": {"ip_mode": "anonymise"},
    "trusted_proxies": {"trusted_proxies": ["10.0.0.0/33"]},
    "exclude_paths": {"exclude_paths": "/health"},
    "referrer_mode": {"referrer_mode": "hide"},
    "cross_site_referrer": {"cross_site_referrer": "drop"},
    "opt_out": {"opt_out": "yes"},
    "id_cookies": {"id_cookies": ["bad name"]},
    "schema": {"schema": "xml"},
    "overflow": {"overflow": "spill"},
    "queue_size": {"queue_size": 0},
    "logger and output": {"logger": object(), "output": io.StringIO()},
    "geo_db": {"geo_db": "no-such-directory/city.mmdb"},
}


@examples(30)
@given(secret=secret_texts, as_bytes=st.booleans(), visitor=visitors())
def test_secret_never_appears_in_records_or_repr(
    make_app: MakeApp, secret: str, as_bytes: bool, visitor: Visitor
) -> None:
    key = secret.encode() if as_bytes else secret
    options = {"ip_mode": "hash", "log_ad_id": True}
    outputs = run(make_app, visitor, secret=key, **options)
    baseline = run(make_app, visitor, secret=unrelated(secret), **options)
    found = outputs.revealing(secret, baseline)
    assert not found, found
    shown, shown_baseline = _shown(make_app, key), _shown(make_app, unrelated(secret))
    for needle in (secret, repr(key)):
        assert needle not in shown or needle in shown_baseline, shown


def _shown(make_app: MakeApp, secret: str | bytes) -> str:
    """What a middleware with ``secret`` shows of itself: repr, str and stats."""
    middleware = make_app(RecordingApp(), secret=secret, output=io.StringIO())
    middleware.close()
    return "\n".join((repr(middleware), str(middleware), repr(middleware.stats())))


@examples(40)
@given(secret=secret_texts, bad=st.sampled_from(sorted(BAD_OPTIONS)))
def test_secret_never_appears_in_configuration_errors(
    make_app: MakeApp, secret: str, bad: str
) -> None:
    with pytest.raises(ValueError) as error:
        make_app(RecordingApp(), secret=secret, **BAD_OPTIONS[bad])
    for text in (str(error.value), repr(error.value), *map(str, error.value.args)):
        assert secret not in text, (bad, text)


@examples(30)
@given(secret=st.text(VISIBLE_ASCII, min_size=8, max_size=15).filter(distinctive))
def test_short_secret_is_refused_without_echoing_it(make_app: MakeApp, secret: str) -> None:
    with pytest.raises(ValueError, match="too short") as error:
        make_app(RecordingApp(), secret=secret)
    assert secret not in str(error.value) and secret not in repr(error.value)


# ---------------------------------------------------------------------- the app's own log context

APP_CONTEXT = {"user_email": "jane.doe@example.com", "user_id": "u-829311"}


def _binds_context(scoped: bool) -> Callable[..., Any]:
    # An app that binds request context for its own structlog logs, scoped to the request
    # (bound_contextvars) or left bound (bind_contextvars, the pattern of structlog's docs).
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scoped:
            with structlog.contextvars.bound_contextvars(**APP_CONTEXT):
                await _respond(send)
        else:
            structlog.contextvars.bind_contextvars(**APP_CONTEXT)
            await _respond(send)

    return app


async def _respond(send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.parametrize("scoped", [True, False], ids=["scoped", "left-bound"])
@pytest.mark.parametrize("route", ["app-logger", "processors"])
def test_the_apps_log_context_never_reaches_a_record(
    make_app: MakeApp, scoped: bool, route: str
) -> None:
    # structlog's merge_contextvars in the chain a record goes through would copy in whatever the
    # app has bound; records are processed in an empty context instead.
    out = io.StringIO()
    merge = structlog.contextvars.merge_contextvars
    if route == "app-logger":
        logger = structlog.wrap_logger(
            structlog.PrintLogger(out), processors=[merge, structlog.processors.JSONRenderer()]
        )
        options: dict[str, Any] = {"logger": logger}
    else:
        options = {"processors": [merge], "sinks": [StreamSink(out)]}
    app = make_app(_binds_context(scoped), **options)

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        return None

    async def request() -> None:
        await app(
            {"type": "http", "method": "GET", "path": "/", "headers": [], "client": ("1.2.3.4", 1)},
            receive,
            send,
        )

    try:
        asyncio.run(request())
        app.flush()
    finally:
        structlog.contextvars.clear_contextvars()
        app.close()
    written = out.getvalue()
    assert written.count("\n") == 1, written
    for value in APP_CONTEXT.values():
        assert value not in written
    assert not set(APP_CONTEXT) & set(json.loads(written))
