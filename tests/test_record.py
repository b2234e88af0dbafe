"""RecordBuilder: the ready-made JSON line equals the record rendered, byte for byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from passivelog.agent import AgentParser
from passivelog.client import IP_MODES, IpReducer, TrustedProxies
from passivelog.cookies import CookieIdentifier
from passivelog.geo import MaxMindLocator
from passivelog.optout import OptOutPolicy
from passivelog.pseudonym import Pseudonymiser
from passivelog.record import Outcome, RecordBuilder
from passivelog.render import to_json_line
from passivelog.scrub import ReferrerScrubber, UrlScrubber
from passivelog.trace import TraceIds

from .conftest import SECRET

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


def builder(city_db: Path, **options: Any) -> RecordBuilder:
    pseudonymiser = Pseudonymiser(SECRET)
    urls = UrlScrubber()
    return RecordBuilder(
        trusted=TrustedProxies(["10.0.0.0/8"]),
        reducer=IpReducer(options.pop("ip_mode", "full"), pseudonymiser),
        geo=MaxMindLocator(city_db),
        agent=AgentParser(),
        cookie_ids=CookieIdentifier(pseudonymiser=pseudonymiser),
        urls=urls,
        referrers=ReferrerScrubber(scrubber=urls),
        optout=OptOutPolicy(),
        pseudonymiser=pseudonymiser,
        **options,
    )


def values_for(b: RecordBuilder, headers: list[tuple[bytes, bytes]], **request: Any) -> Any:
    """The arguments of line() and build() for one HTTP request."""
    visitor = b.visitors.facts(request.pop("peer", "192.0.2.7"), headers)
    named = dict(headers)
    values: dict[str, Any] = {
        "method": "GET",
        "scheme": "https",
        "path": "/",
        "query": b"",
        "http_version": "1.1",
        "request_id": "0123456789abcdef",
        "outcome": Outcome(200, 12, 345_678),
        "end_time_ns": 1_764_000_000_123_456_789,
        "visitor": visitor,
        "referrer": named.get(b"referer"),
        "host": named.get(b"host"),
    }
    values.update(request)
    return values


def line_of(b: RecordBuilder, values: dict[str, Any]) -> bytes | None:
    outcome = values["outcome"]
    return b.line(
        values["scheme"],
        values["method"],
        values["path"],
        values["query"],
        values["http_version"],
        values["visitor"],
        values["referrer"],
        values["host"],
        values["request_id"],
        values.get("trace"),
        outcome.status,
        outcome.body_bytes,
        outcome.duration_ns,
        values["end_time_ns"],
    )


header_text = st.binary(max_size=200) | st.sampled_from(
    [CHROME.encode(), b"curl/8.5.0", b"Googlebot/2.1", "é\u2028".encode(), b"\xff\xfe"]
)
texts = st.text(max_size=120) | st.sampled_from(["/", "/shop/42", "/a b", "/\u2028\x00\udcff"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ua=header_text,
    cookie=st.sampled_from([b"", b"sessionid=abc; _ga=GA1.2.3", b"ad_opt_out=1; sid=x"])
    | st.binary(max_size=80),
    referrer=st.none() | st.binary(max_size=150) | st.just(b"https://m.example/?email=a@b.test"),
    host=st.none() | st.sampled_from([b"shop.example", b"m.example:8443"]),
    gpc=st.sampled_from([None, b"1", b"0"]),
    peer=st.sampled_from(["192.0.2.7", "10.1.2.3", "2001:db8::5", "testclient"]),
    forwarded_for=st.none() | st.sampled_from([b"198.51.100.4", b"junk, 203.0.113.9"]),
    method=st.sampled_from(["GET", "HEAD", "POST", "PROPFIND"]) | st.text(max_size=10),
    path=texts,
    query=st.binary(max_size=100) | st.just(b"email=a%40b.test&page=2"),
    status=st.integers(min_value=100, max_value=599),
    body=st.integers(min_value=0, max_value=2**40),
    version=st.sampled_from(["1.0", "1.1", "2", "3"]) | st.text(max_size=5),
    ip_mode=st.sampled_from(IP_MODES),
    trace=st.none()
    | st.builds(
        TraceIds,
        st.text("0123456789abcdef", min_size=32, max_size=32),
        st.none() | st.text("0123456789abcdef", min_size=16, max_size=16),
    ),
)
def test_the_line_is_the_rendered_record(
    city_db: Path,
    ua: bytes,
    cookie: bytes,
    referrer: bytes | None,
    host: bytes | None,
    gpc: bytes | None,
    peer: str,
    forwarded_for: bytes | None,
    method: str,
    path: str,
    query: bytes,
    status: int,
    body: int,
    version: str,
    ip_mode: str,
    trace: TraceIds | None,
) -> None:
    headers = [(b"user-agent", ua), (b"cookie", cookie)]
    for name, value in (
        (b"referer", referrer),
        (b"host", host),
        (b"sec-gpc", gpc),
        (b"x-forwarded-for", forwarded_for),
    ):
        if value is not None:
            headers.append((name, value))
    b = builder(city_db, log_ad_id=True, ip_mode=ip_mode)
    values = values_for(
        b,
        headers,
        peer=peer,
        method=method,
        path=path,
        query=query,
        http_version=version,
        outcome=Outcome(status, body, 1000),
        trace=trace,
    )
    line = line_of(b, values)
    assert line == to_json_line(b.build(kind="http", **values))
    assert isinstance(orjson.loads(line), dict)


@pytest.mark.parametrize(
    "outcome",
    [
        pytest.param(Outcome("200", 5, 10), id="status-not-an-int"),  # type: ignore[arg-type]
        pytest.param(Outcome(True, 5, 10), id="status-a-bool"),  # type: ignore[arg-type]
        pytest.param(Outcome(200, 5.0, 10), id="size-a-float"),  # type: ignore[arg-type]
        pytest.param(Outcome(200, 5, None), id="no-duration"),  # type: ignore[arg-type]
    ],
)
def test_no_line_when_a_number_is_not_an_int(city_db: Path, outcome: Outcome) -> None:
    b = builder(city_db)
    values = values_for(b, [(b"user-agent", CHROME.encode())], outcome=outcome)
    assert line_of(b, values) is None


def test_a_method_that_is_not_a_str_raises_so_the_record_is_built_instead(city_db: Path) -> None:
    b = builder(city_db)
    with pytest.raises(TypeError):
        line_of(b, values_for(b, [], method=b"GET"))
