"""passivelog.geo: choosing the database, looking addresses up, the cache, the shipped data."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geoip2.database
import geoip2.errors
import maxminddb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from passivelog import geo
from passivelog.geo import (
    DEFAULT,
    DEFAULT_GEO_DB_NAME,
    GEO_DB_ENV,
    GeoLocator,
    GeoRegion,
    MaxMindLocator,
    resolve_geo_db,
    shipped_geo_db,
)

from .conftest import SHARED, write_mmdb

FIXTURES = SHARED / "geo_fixtures"
REPO_GEO_DB = Path(__file__).resolve().parents[1] / "geo_db" / DEFAULT_GEO_DB_NAME

needs_fixtures = pytest.mark.skipif(
    not FIXTURES.is_dir(), reason="MaxMind test databases (shared/geo_fixtures) not present"
)
needs_shipped = pytest.mark.skipif(
    shipped_geo_db() is None, reason="the shipped geo database is not built"
)


# --- small databases built for these tests ---------------------------------------------------


def _country(code: str) -> dict[str, Any]:
    return {"iso_code": code, "names": {"en": f"Country {code}"}}


def _subdivision(name: str, code: str | None = None) -> dict[str, Any]:
    sub: dict[str, Any] = {"names": {"en": name}}
    if code is not None:
        sub["iso_code"] = code
    return sub


# Documentation ranges only (RFC 5737, RFC 3849), with made-up places.
CITY_RECORDS: list[tuple[str, dict[str, Any]]] = [
    ("192.0.2.0/25", {"country": _country("GB"), "subdivisions": [_subdivision("England", "ENG")]}),
    (
        "192.0.2.128/25",
        {
            "country": _country("GB"),
            "subdivisions": [
                _subdivision("England", "ENG"),
                _subdivision("West Berkshire", "WBK"),
            ],
        },
    ),
    (
        "198.51.100.0/25",
        {"country": _country("US"), "subdivisions": [_subdivision("California", "CA")]},
    ),
    ("198.51.100.128/25", {"country": _country("NO"), "subdivisions": [_subdivision("Nordland")]}),
    ("203.0.113.0/25", {"country": _country("FR")}),
    ("203.0.113.128/25", {"continent": {"code": "EU"}}),
    ("2001:db8::/33", {"country": _country("JP"), "subdivisions": [_subdivision("Tokyo", "13")]}),
    ("2001:db8:8000::/33", {"country": _country("DE")}),
]


@pytest.fixture(scope="session")
def geo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("geo")


@pytest.fixture(scope="session")
def city_mmdb(geo_dir: Path) -> Path:
    return write_mmdb(geo_dir / "test-city.mmdb", "Test-City", CITY_RECORDS)


@pytest.fixture(scope="session")
def country_mmdb(geo_dir: Path) -> Path:
    # Same data, including subdivisions, under a Country type: only the country is read.
    return write_mmdb(geo_dir / "test-country.mmdb", "Test-Country", CITY_RECORDS)


@pytest.fixture(scope="session")
def city(city_mmdb: Path) -> Iterator[MaxMindLocator]:
    locator = MaxMindLocator(city_mmdb)
    yield locator
    locator.close()


@pytest.fixture(scope="session")
def country(country_mmdb: Path) -> Iterator[MaxMindLocator]:
    locator = MaxMindLocator(country_mmdb)
    yield locator
    locator.close()


# --- known answers ---------------------------------------------------------------------------

ENGLAND = GeoRegion("GB", "GB-ENG", "England")
CALIFORNIA = GeoRegion("US", "US-CA", "California")


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        pytest.param("192.0.2.1", ENGLAND, id="ipv4-region"),
        pytest.param("192.0.2.200", ENGLAND, id="first-of-two-subdivisions"),
        pytest.param("198.51.100.7", CALIFORNIA, id="ipv4-other-region"),
        pytest.param(
            "198.51.100.200", GeoRegion("NO", None, "Nordland"), id="region-name-without-code"
        ),
        pytest.param("203.0.113.9", GeoRegion("FR", None, None), id="country-only"),
        pytest.param("203.0.113.200", None, id="record-without-country"),
        pytest.param("2001:db8::1", GeoRegion("JP", "JP-13", "Tokyo"), id="ipv6-region"),
        pytest.param("2001:DB8:0:0::1", GeoRegion("JP", "JP-13", "Tokyo"), id="ipv6-upper-case"),
        pytest.param("2001:db8:8000::1", GeoRegion("DE", None, None), id="ipv6-country-only"),
    ],
)
def test_city_database_known_answers(
    city: MaxMindLocator, ip: str, expected: GeoRegion | None
) -> None:
    assert city.locate(ip) == expected


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        pytest.param("::ffff:192.0.2.1", ENGLAND, id="mapped-dotted"),
        pytest.param("::FFFF:198.51.100.7", CALIFORNIA, id="mapped-upper-case"),
        pytest.param("::ffff:c000:201", ENGLAND, id="mapped-hex"),
        pytest.param("0:0:0:0:0:ffff:192.0.2.1", ENGLAND, id="mapped-uncompressed"),
        pytest.param("2002:c000:0201::1", ENGLAND, id="6to4"),
        pytest.param("::ffff:10.0.0.1", None, id="mapped-private"),
    ],
)
def test_ipv4_embedded_in_ipv6_is_looked_up_as_ipv4(
    city: MaxMindLocator, ip: str, expected: GeoRegion | None
) -> None:
    # mmdb-writer databases have no ::ffff:0:0/96 or 2002::/16 aliases of the IPv4 tree.
    assert city.locate(ip) == expected


@pytest.mark.parametrize(
    "ip",
    [
        pytest.param("10.0.0.1", id="private-ipv4"),
        pytest.param("127.0.0.1", id="loopback"),
        pytest.param("8.8.8.8", id="public-not-in-data"),
        pytest.param("::1", id="ipv6-loopback"),
        pytest.param("fe80::1", id="link-local"),
        pytest.param("2001:db9::1", id="ipv6-not-in-data"),
    ],
)
def test_address_not_in_database_is_none(city: MaxMindLocator, ip: str) -> None:
    assert city.locate(ip) is None


@pytest.mark.parametrize(
    "ip",
    [
        pytest.param("", id="empty"),
        pytest.param("not an ip", id="words"),
        pytest.param("testclient", id="starlette-testclient"),
        pytest.param("192.0.2", id="three-parts"),
        pytest.param("192.0.513", id="short-form"),
        pytest.param("0xc0.0.2.1", id="hex-part"),
        pytest.param("192.000.002.001", id="leading-zeros"),
        pytest.param("192.0.2.256", id="octet-too-big"),
        pytest.param(" 192.0.2.1", id="leading-space"),
        pytest.param("192.0.2.1\n", id="trailing-newline"),
        pytest.param("192.0.2.1/24", id="cidr"),
        pytest.param("192.0.2.1:8080", id="with-port"),
        pytest.param("[2001:db8::1]", id="bracketed-ipv6"),
        pytest.param("2001:db8::1%eth0", id="zone-id"),
        pytest.param("2001:db8:::1", id="triple-colon"),
        pytest.param("\uff11\uff19\uff12.0.2.1", id="fullwidth-digits"),
        pytest.param("192.0.2.1\x00", id="nul"),
        pytest.param("\ud800", id="lone-surrogate"),
    ],
)
def test_invalid_address_is_none(city: MaxMindLocator, ip: str) -> None:
    assert city.locate(ip) is None


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(None, id="none"),
        pytest.param(b"192.0.2.1", id="bytes"),
        pytest.param(3221225985, id="int"),
        pytest.param(["192.0.2.1"], id="unhashable-list"),
    ],
)
def test_non_string_is_none(city: MaxMindLocator, value: Any) -> None:
    assert city.locate(value) is None


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        pytest.param("192.0.2.1", GeoRegion("GB", None, None), id="subdivisions-ignored"),
        pytest.param("::ffff:198.51.100.7", GeoRegion("US", None, None), id="mapped"),
        pytest.param("2001:db8::1", GeoRegion("JP", None, None), id="ipv6"),
        pytest.param("203.0.113.200", None, id="record-without-country"),
        pytest.param("8.8.8.8", None, id="not-found"),
    ],
)
def test_country_database_gives_country_only(
    country: MaxMindLocator, ip: str, expected: GeoRegion | None
) -> None:
    assert country.locate(ip) == expected


# --- opening -----------------------------------------------------------------------------------


def test_missing_file_is_a_value_error_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.mmdb"
    with pytest.raises(ValueError, match=r"nowhere\.mmdb"):
        MaxMindLocator(missing)


def test_directory_is_a_value_error_naming_the_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=str(tmp_path.name)):
        MaxMindLocator(tmp_path)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty-file"),
        pytest.param(b"this is not a maxmind database\n" * 100, id="text"),
        pytest.param(bytes(range(256)) * 64, id="binary-noise"),
    ],
)
def test_corrupt_file_is_a_value_error_naming_the_path(tmp_path: Path, content: bytes) -> None:
    corrupt = tmp_path / "corrupt.mmdb"
    corrupt.write_bytes(content)
    with pytest.raises(ValueError, match=r"corrupt\.mmdb"):
        MaxMindLocator(corrupt)


def test_truncated_database_is_a_value_error(city_mmdb: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.mmdb"
    truncated.write_bytes(city_mmdb.read_bytes()[:-200])
    with pytest.raises(ValueError, match=r"truncated\.mmdb"):
        MaxMindLocator(truncated)


def test_database_that_is_neither_city_nor_country_is_a_value_error(tmp_path: Path) -> None:
    asn = write_mmdb(
        tmp_path / "asn.mmdb",
        "Test-ASN",
        [("192.0.2.0/24", {"autonomous_system_number": 64496})],
    )
    with pytest.raises(ValueError, match=r"asn\.mmdb.*Test-ASN"):
        MaxMindLocator(asn)


def test_path_may_be_a_string(city_mmdb: Path) -> None:
    locator = MaxMindLocator(str(city_mmdb))
    try:
        assert locator.locate("192.0.2.1") == ENGLAND
    finally:
        locator.close()


def test_repr_shows_path_and_type(city: MaxMindLocator, city_mmdb: Path) -> None:
    text = repr(city)
    assert str(city_mmdb) in text
    assert "Test-City" in text


def test_locator_satisfies_the_protocol(city: MaxMindLocator) -> None:
    assert isinstance(city, GeoLocator)


def test_closed_locator_answers_none(city_mmdb: Path) -> None:
    locator = MaxMindLocator(city_mmdb)
    assert locator.locate("192.0.2.1") == ENGLAND
    locator.close()
    assert locator.locate("192.0.2.1") is None


def test_region_is_frozen() -> None:
    with pytest.raises(AttributeError):
        ENGLAND.region_name = "Wales"  # type: ignore[misc]


# --- the cache ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [pytest.param(1, id="one"), pytest.param(7, id="seven")])
def test_cache_never_holds_more_than_its_size(city_mmdb: Path, size: int) -> None:
    locator = MaxMindLocator(city_mmdb, cache_size=size)
    try:
        cache_info = locator._cached.cache_info  # type: ignore[attr-defined]
        addresses = [str(ipaddress.ip_address("192.0.2.0") + i) for i in range(256)]
        for ip in [*addresses, "garbage", "::ffff:192.0.2.1", *addresses]:
            locator.locate(ip)
            assert cache_info().currsize <= size
        assert cache_info().maxsize == size
    finally:
        locator.close()


def test_repeated_lookup_is_served_from_the_cache(city_mmdb: Path) -> None:
    locator = MaxMindLocator(city_mmdb, cache_size=16)
    try:
        cache_info = locator._cached.cache_info  # type: ignore[attr-defined]
        first = locator.locate("198.51.100.7")
        hits = cache_info().hits
        assert locator.locate("198.51.100.7") is first
        assert cache_info().hits == hits + 1
    finally:
        locator.close()


def test_cache_size_zero_turns_the_cache_off(city_mmdb: Path) -> None:
    locator = MaxMindLocator(city_mmdb, cache_size=0)
    try:
        assert not hasattr(locator._cached, "cache_info")
        assert locator.locate("192.0.2.1") == ENGLAND
        assert locator.locate("::ffff:192.0.2.1") == ENGLAND
    finally:
        locator.close()


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(-1, id="negative"),
        pytest.param(1.5, id="float"),
        pytest.param("10", id="string"),
        pytest.param(True, id="bool"),
    ],
)
def test_bad_cache_size_is_a_value_error(city_mmdb: Path, size: Any) -> None:
    with pytest.raises(ValueError, match="cache_size"):
        MaxMindLocator(city_mmdb, cache_size=size)


# --- choosing the database ---------------------------------------------------------------------


def test_none_turns_geo_off(city_mmdb: Path) -> None:
    assert resolve_geo_db(None, environ={GEO_DB_ENV: str(city_mmdb)}) is None


def test_explicit_path_wins_over_environment(city_mmdb: Path, country_mmdb: Path) -> None:
    assert resolve_geo_db(city_mmdb, environ={GEO_DB_ENV: str(country_mmdb)}) == city_mmdb


def test_explicit_string_path(city_mmdb: Path) -> None:
    assert resolve_geo_db(str(city_mmdb), environ={}) == city_mmdb


def test_environment_used_when_not_given(city_mmdb: Path) -> None:
    assert resolve_geo_db(DEFAULT, environ={GEO_DB_ENV: str(city_mmdb)}) == city_mmdb


def test_default_is_the_default_argument(city_mmdb: Path) -> None:
    assert resolve_geo_db(environ={GEO_DB_ENV: str(city_mmdb)}) == city_mmdb


def test_empty_environment_value_counts_as_unset(
    monkeypatch: pytest.MonkeyPatch, city_mmdb: Path
) -> None:
    monkeypatch.setattr(geo, "shipped_geo_db", lambda: city_mmdb)
    assert resolve_geo_db(DEFAULT, environ={GEO_DB_ENV: ""}) == city_mmdb


def test_shipped_database_used_when_nothing_given(
    monkeypatch: pytest.MonkeyPatch, country_mmdb: Path
) -> None:
    monkeypatch.setattr(geo, "shipped_geo_db", lambda: country_mmdb)
    assert resolve_geo_db(DEFAULT, environ={}) == country_mmdb


def test_missing_shipped_database_is_a_value_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(geo, "shipped_geo_db", lambda: None)
    with pytest.raises(ValueError, match=f"shipped.*{DEFAULT_GEO_DB_NAME}.*missing"):
        resolve_geo_db(DEFAULT, environ={})


def test_missing_explicit_file_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"nowhere\.mmdb.*geo_db"):
        resolve_geo_db(tmp_path / "nowhere.mmdb", environ={})


def test_missing_environment_file_is_a_value_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.mmdb")
    with pytest.raises(ValueError, match=rf"nowhere\.mmdb.*{GEO_DB_ENV}"):
        resolve_geo_db(DEFAULT, environ={GEO_DB_ENV: missing})


def test_empty_explicit_path_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        resolve_geo_db("", environ={})


def test_default_sentinel_repr() -> None:
    assert repr(DEFAULT) == "DEFAULT"


@pytest.mark.skipif(not REPO_GEO_DB.is_file(), reason="geo_db/ of the checkout is not built")
def test_shipped_database_found_in_a_checkout() -> None:
    assert shipped_geo_db() == REPO_GEO_DB.resolve()


# --- MaxMind's public test databases -----------------------------------------------------------

GB_ENG = GeoRegion("GB", "GB-ENG", "England")
US_CA = GeoRegion("US", "US-CA", "California")
NOT_FOUND_ANYWHERE = ["8.8.8.8", "1.1.1.1", "128.101.101.101", "2001:4860:4860::8888"]

# From the known-answers table in shared/geo_fixtures/README.md.
CITY_TEST_ANSWERS: list[tuple[str, GeoRegion | None, GeoRegion | None]] = [
    # ip, GeoIP2-City-Test, GeoLite2-City-Test
    ("81.2.69.142", GB_ENG, GB_ENG),
    ("81.2.69.160", GB_ENG, GB_ENG),
    ("2.125.160.216", GB_ENG, GB_ENG),
    ("89.160.20.112", *[GeoRegion("SE", "SE-E", "Östergötland County")] * 2),
    ("216.160.83.56", *[GeoRegion("US", "US-WA", "Washington")] * 2),
    ("175.16.199.1", *[GeoRegion("CN", "CN-22", "Jilin Sheng")] * 2),
    ("2001:480:10::1", US_CA, US_CA),
    ("2001:218::1", *[GeoRegion("JP", None, None)] * 2),
    ("67.43.156.1", *[GeoRegion("BT", None, None)] * 2),
    ("202.196.224.1", *[GeoRegion("PH", None, None)] * 2),
    ("214.78.120.5", US_CA, None),
    ("214.0.1.5", GeoRegion("AU", "AU-VIC", "Victoria"), None),
    ("::ffff:81.2.69.142", GB_ENG, GB_ENG),
    ("2002:5102:458e::1", GB_ENG, GB_ENG),
    *[(ip, None, None) for ip in [*NOT_FOUND_ANYWHERE, "203.0.113.9"]],
]

COUNTRY_TEST_ANSWERS: list[tuple[str, str | None]] = [
    ("81.2.69.142", "GB"),
    ("2.125.160.216", "GB"),
    ("89.160.20.112", "SE"),
    ("2001:480:10::1", "US"),
    ("67.43.156.1", "BT"),
    ("214.78.120.5", "US"),
    ("214.0.1.5", None),
    ("::ffff:81.2.69.142", "GB"),
    *[(ip, None) for ip in NOT_FOUND_ANYWHERE],
]


@pytest.fixture(scope="module")
def maxmind_test_locators() -> Iterator[dict[str, MaxMindLocator]]:
    names = ["GeoIP2-City-Test", "GeoLite2-City-Test", "GeoIP2-Country-Test"]
    locators = {name: MaxMindLocator(FIXTURES / f"{name}.mmdb") for name in names}
    yield locators
    for locator in locators.values():
        locator.close()


@needs_fixtures
@pytest.mark.parametrize(
    ("database", "ip", "expected"),
    [
        pytest.param(database, ip, answers[column], id=f"{database}-{ip}")
        for ip, *answers in CITY_TEST_ANSWERS
        for column, database in enumerate(["GeoIP2-City-Test", "GeoLite2-City-Test"])
    ],
)
def test_maxmind_city_test_databases(
    maxmind_test_locators: dict[str, MaxMindLocator],
    database: str,
    ip: str,
    expected: GeoRegion | None,
) -> None:
    assert maxmind_test_locators[database].locate(ip) == expected


@needs_fixtures
@pytest.mark.parametrize(("ip", "expected"), COUNTRY_TEST_ANSWERS, ids=lambda v: str(v))
def test_maxmind_country_test_database(
    maxmind_test_locators: dict[str, MaxMindLocator], ip: str, expected: str | None
) -> None:
    region = maxmind_test_locators["GeoIP2-Country-Test"].locate(ip)
    assert region == (GeoRegion(expected, None, None) if expected else None)


def _via_geoip2_models(path: Path, ip: str) -> GeoRegion | None:
    with geoip2.database.Reader(str(path)) as reader:
        kind = reader.metadata().database_type
        try:
            model = reader.city(ip) if "City" in kind else reader.country(ip)
        except geoip2.errors.AddressNotFoundError:
            return None
    code = model.country.iso_code
    subs = getattr(model, "subdivisions", ())
    largest = subs[0] if subs else None
    return GeoRegion(
        code,
        f"{code}-{largest.iso_code}" if largest and code and largest.iso_code else None,
        largest.names.get("en") if largest else None,
    )


@needs_fixtures
@pytest.mark.parametrize(
    "database", ["GeoIP2-City-Test", "GeoLite2-City-Test", "GeoIP2-Country-Test"]
)
@pytest.mark.parametrize(
    "ip", [ip for ip, *_ in CITY_TEST_ANSWERS if ip not in ("::ffff:81.2.69.142",)]
)
def test_same_answer_as_geoip2_models(
    maxmind_test_locators: dict[str, MaxMindLocator], database: str, ip: str
) -> None:
    # The locator skips geoip2's model objects; it must still read what they would.
    expected = _via_geoip2_models(FIXTURES / f"{database}.mmdb", ip)
    assert maxmind_test_locators[database].locate(ip) == expected


# --- the shipped database (DB-IP IP to City Lite, reduced) -------------------------------------


@pytest.fixture(scope="module")
def shipped() -> Iterator[MaxMindLocator]:
    path = shipped_geo_db()
    assert path is not None
    locator = MaxMindLocator(path)
    yield locator
    locator.close()


@needs_shipped
@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        pytest.param("8.8.8.8", GeoRegion("US", "US-CA", "California"), id="google-dns"),
        pytest.param("1.1.1.1", GeoRegion("AU", "AU-NSW", "New South Wales"), id="cloudflare"),
        pytest.param("128.101.101.101", GeoRegion("US", "US-MN", "Minnesota"), id="umn"),
        pytest.param("81.2.69.142", GeoRegion("GB", "GB-ENG", "England"), id="uk"),
        pytest.param("193.0.6.139", GeoRegion("NL", "NL-NH", "North Holland"), id="ripe-ncc"),
        pytest.param("131.188.0.10", GeoRegion("DE", "DE-BY", "Bavaria"), id="fau-erlangen"),
        pytest.param("130.149.7.201", GeoRegion("DE", "DE-BE", "Berlin"), id="tu-berlin"),
        pytest.param("134.58.0.1", GeoRegion("BE", "BE-VLG", "Flanders"), id="ku-leuven"),
        pytest.param("129.132.19.216", GeoRegion("CH", "CH-ZH", "Zurich"), id="eth-zurich"),
        pytest.param("::ffff:8.8.8.8", GeoRegion("US", "US-CA", "California"), id="mapped"),
    ],
)
def test_shipped_database_real_answers(
    shipped: MaxMindLocator, ip: str, expected: GeoRegion
) -> None:
    assert shipped.locate(ip) == expected


@needs_shipped
@pytest.mark.parametrize("ip", ["10.1.2.3", "192.168.0.1", "127.0.0.1", "::1", "192.0.2.1"])
def test_shipped_database_has_no_private_or_documentation_ranges(
    shipped: MaxMindLocator, ip: str
) -> None:
    assert shipped.locate(ip) is None


@needs_shipped
def test_shipped_database_ipv6_has_country_only(shipped: MaxMindLocator) -> None:
    region = shipped.locate("2001:4860:4860::8888")
    assert region is not None
    assert region.country_iso_code is not None
    assert len(region.country_iso_code) == 2
    assert region.region_iso_code is None
    assert region.region_name is None


@needs_shipped
def test_shipped_database_metadata_carries_attribution() -> None:
    path = shipped_geo_db()
    assert path is not None
    with maxminddb.open_database(str(path)) as reader:
        meta = reader.metadata()
    assert "City" in meta.database_type
    assert "IP Geolocation by DB-IP" in meta.description["en"]
    assert "https://db-ip.com" in meta.description["en"]
    assert path.stat().st_size < 30_000_000


# --- hostile input -----------------------------------------------------------------------------


# hypothesis accepts session-scoped fixtures such as ``city`` (not function-scoped ones).


@given(text=st.text())
def test_locate_never_raises_on_arbitrary_text(city: MaxMindLocator, text: str) -> None:
    result = city.locate(text)
    assert result is None or isinstance(result, GeoRegion)


@given(address=st.ip_addresses())
def test_locate_never_raises_on_any_address(city: MaxMindLocator, address: Any) -> None:
    result = city.locate(str(address))
    assert result is None or isinstance(result, GeoRegion)


@given(address=st.ip_addresses(v=4))
def test_mapped_form_answers_like_ipv4(
    city: MaxMindLocator, address: ipaddress.IPv4Address
) -> None:
    assert city.locate(f"::ffff:{address}") == city.locate(str(address))
