"""Shared fixtures: a small City database of documentation ranges, and middleware factories."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

SHARED = Path(__file__).resolve().parents[2] / "shared"
SECRET = "test-secret-for-passivelog-0123456789"

# Documentation ranges (RFC 5737, RFC 3849) with made-up places, so tests never depend on real data.
TEST_NETWORKS: dict[str, dict[str, Any]] = {
    "192.0.2.0/24": {"country": "GB", "sub": ("ENG", "England")},
    "198.51.100.0/24": {"country": "US", "sub": ("CA", "California")},
    "203.0.113.0/24": {"country": "DE", "sub": None},
    "2001:db8::/32": {"country": "FR", "sub": ("IDF", "Île-de-France")},
}


def write_mmdb(path: Path, database_type: str, records: list[tuple[str, Any]]) -> Path:
    """Write a MaxMind-format database of ``(cidr, record)`` pairs with mmdb-writer."""
    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type=database_type,
        languages=["en"],
        description="passivelog test data",
    )
    for cidr, record in records:
        writer.insert_network(IPSet([cidr]), record)
    writer.to_db_file(str(path))
    return path


def write_city_db(path: Path, networks: dict[str, dict[str, Any]] = TEST_NETWORKS) -> Path:
    records: list[tuple[str, Any]] = []
    for cidr, answer in networks.items():
        content: dict[str, Any] = {
            "country": {"iso_code": answer["country"], "names": {"en": answer["country"]}}
        }
        if answer["sub"] is not None:
            code, name = answer["sub"]
            content["subdivisions"] = [{"iso_code": code, "names": {"en": name}}]
        records.append((cidr, content))
    return write_mmdb(path, "Test-City", records)


def http_scope(
    path: str = "/",
    headers: list[tuple[bytes, bytes]] | None = None,
    *,
    query: bytes = b"",
    client: Any = ("192.0.2.7", 4000),
    scheme: str = "http",
    scope_type: str = "http",
) -> dict[str, Any]:
    """A request scope as an ASGI server builds it (``headers`` None: just a Host header)."""
    return {
        "type": scope_type,
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode("utf-8", "surrogatepass"),
        "query_string": query,
        "root_path": "",
        "headers": headers if headers is not None else [(b"host", b"shop.test")],
        "client": client,
        "server": ("127.0.0.1", 8000),
    }


@pytest.fixture(scope="session")
def city_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_city_db(tmp_path_factory.mktemp("geo") / "test-city.mmdb")


@pytest.fixture
def make_app(city_db: Path) -> Callable[..., Any]:
    """Wrap an ASGI app in the middleware with test defaults (secret, test geo database)."""
    from passivelog import PassiveLogMiddleware

    def factory(app: Any, **options: Any) -> Any:
        options.setdefault("secret", SECRET)
        options.setdefault("geo_db", city_db)
        return PassiveLogMiddleware(app, **options)

    return factory
