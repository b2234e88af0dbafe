"""Country and first-level region of an IP address, from a MaxMind DB (``.mmdb``) file.

The geo lookup is the one place where the full client address is used: it goes in, and only the
region (``GB`` / ``GB-ENG`` / ``England``) comes out. Nothing finer than a first-level subdivision
is read, even when the database holds cities or coordinates.

passivelog ships a database built from DB-IP's "IP to City Lite" data (CC BY 4.0, attribution
"IP Geolocation by DB-IP", https://db-ip.com); see ``geo_db/README.md`` in the source tree.
Any GeoIP2/GeoLite2 or DB-IP City or Country database can be used instead.
"""

from __future__ import annotations

import enum
import functools
import os
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final, NamedTuple, Protocol, runtime_checkable

import maxminddb

from passivelog.sinks._base import check_number

__all__ = [
    "DEFAULT",
    "DEFAULT_GEO_DB_NAME",
    "GEO_DB_ENV",
    "GeoLocator",
    "GeoRegion",
    "MaxMindLocator",
    "resolve_geo_db",
    "shipped_geo_db",
]

DEFAULT_GEO_DB_NAME: Final = "passivelog-geo.mmdb"
GEO_DB_ENV: Final = "PASSIVELOG_GEO_DB"


class _Default(enum.Enum):
    DEFAULT = "DEFAULT"

    def __repr__(self) -> str:
        return "DEFAULT"


#: "Not given": use ``$PASSIVELOG_GEO_DB``, else the database shipped with passivelog.
DEFAULT: Final = _Default.DEFAULT


class GeoRegion(NamedTuple):
    """Where an address is, no finer than a country's first-level subdivision.

    A named tuple (immutable; a frozen dataclass's ``__init__`` cost ~1 µs of a ~3 µs lookup).

    Args:
        country_iso_code: ISO 3166-1 alpha-2 code, e.g. ``"GB"``; ``None`` when unknown.
        region_iso_code: full ISO 3166-2 code, e.g. ``"GB-ENG"`` or ``"US-CA"``; ``None`` when
            the database has no code for the region (or no region).
        region_name: English name of the region, e.g. ``"England"``; ``None`` when unknown.
    """

    country_iso_code: str | None
    region_iso_code: str | None
    region_name: str | None


@runtime_checkable
class GeoLocator(Protocol):
    """Anything that turns an IP address into a :class:`GeoRegion`.

    ``locate`` must never raise: an address it cannot place (private, unknown, malformed) gives
    ``None``. It is called once per request, before the address is reduced.
    """

    def locate(self, ip: str) -> GeoRegion | None: ...


def shipped_geo_db() -> Path | None:
    """The geo database shipped with passivelog, or ``None`` if it is not installed.

    A wheel carries it as ``passivelog/geo_db/passivelog-geo.mmdb``; a source checkout or an
    editable install has it at ``geo_db/passivelog-geo.mmdb`` beside ``src/``.
    """
    package_dir = Path(__file__).resolve().parent
    for candidate in (
        package_dir / "geo_db" / DEFAULT_GEO_DB_NAME,
        package_dir.parent.parent / "geo_db" / DEFAULT_GEO_DB_NAME,
    ):
        if candidate.is_file():
            return candidate
    return None


def resolve_geo_db(
    geo_db: str | os.PathLike[str] | _Default | None = DEFAULT,
    environ: Mapping[str, str] = os.environ,
) -> Path | None:
    """Decide which geo database to use; ``None`` means geo lookups are off.

    An explicit path wins, then ``$PASSIVELOG_GEO_DB`` (an empty value counts as unset), then
    the database shipped with passivelog.

    Args:
        geo_db: a path, ``None`` to turn geo lookups off, or :data:`DEFAULT`.
        environ: where to read ``PASSIVELOG_GEO_DB`` (``os.environ`` unless a test says otherwise).

    Raises:
        ValueError: the chosen file does not exist, or none was given and the shipped database
            is missing.
    """
    if geo_db is None:
        return None
    if geo_db is DEFAULT:
        from_env = environ.get(GEO_DB_ENV, "")
        if from_env:
            return _existing(Path(from_env), f"${GEO_DB_ENV}")
        shipped = shipped_geo_db()
        if shipped is None:
            raise ValueError(
                f"the geo database shipped with passivelog ({DEFAULT_GEO_DB_NAME}) is missing "
                f"from this installation; pass geo_db=<path to a .mmdb file>, set {GEO_DB_ENV}, "
                "or pass geo_db=None to turn geo lookups off"
            )
        return shipped
    path = os.fspath(geo_db)
    if not path:
        raise ValueError("geo_db is an empty path; pass a .mmdb path, DEFAULT or None")
    return _existing(Path(path), "geo_db")


def _existing(path: Path, source: str) -> Path:
    if not path.is_file():
        raise ValueError(f"geo database {str(path)!r} (from {source}) is not an existing file")
    return path


# Prefixes of IPv6 addresses that carry an IPv4 address: IPv4-mapped (::ffff:a.b.c.d,
# RFC 4291 section 2.5.5.2) and 6to4 (2002:aabb:ccdd::/48, RFC 3056). MaxMind's own databases
# alias these ranges to their IPv4 data; databases written with mmdb-writer (such as the
# shipped one) do not, so the locator looks up the embedded IPv4 address itself.
_V4_MAPPED_PREFIX: Final = bytes(10) + b"\xff\xff"
_SIX_TO_FOUR_PREFIX: Final = b"\x20\x02"


def _lookup_key(ip: str) -> str:
    """The address to look up for ``ip``; ``ValueError``/``OSError`` if it is not an address.

    ``socket.inet_pton`` is strict (four decimal parts, no zone, no spaces) and fast; the reader's
    own parser also accepts forms like ``81.2.17806`` or ``0x51.2.69.142``, which a log should
    not treat as addresses.
    """
    if ":" not in ip:
        socket.inet_pton(socket.AF_INET, ip)
        return ip
    packed = socket.inet_pton(socket.AF_INET6, ip)
    if packed[:12] == _V4_MAPPED_PREFIX:
        return socket.inet_ntop(socket.AF_INET, packed[12:])
    if packed[:2] == _SIX_TO_FOUR_PREFIX:
        return socket.inet_ntop(socket.AF_INET, packed[2:6])
    return ip


def _region_of(record: object, with_region: bool) -> GeoRegion | None:
    # The layout of GeoIP2 City/Country records: country.iso_code, subdivisions[0] being the
    # largest subdivision (geoip2 calls the last one "most specific").
    if not isinstance(record, dict):
        return None
    country = record.get("country")
    country_code = country.get("iso_code") if isinstance(country, dict) else None
    if not isinstance(country_code, str) or not country_code:
        country_code = None
    region_code: str | None = None
    region_name: str | None = None
    subdivisions = record.get("subdivisions") if with_region else None
    if isinstance(subdivisions, list) and subdivisions and isinstance(subdivisions[0], dict):
        largest = subdivisions[0]
        names = largest.get("names")
        name = names.get("en") if isinstance(names, dict) else None
        region_name = name if isinstance(name, str) and name else None
        code = largest.get("iso_code")
        if country_code is not None and isinstance(code, str) and code:
            region_code = f"{country_code}-{code}"
    if country_code is None and region_name is None:
        return None
    return GeoRegion(country_code, region_code, region_name)


class MaxMindLocator:
    """A :class:`GeoLocator` backed by a MaxMind DB file (GeoIP2, GeoLite2, DB-IP or passivelog's).

    The file is opened once, memory-mapped, by ``maxminddb`` — the reader inside
    ``geoip2.database.Reader``. geoip2 would wrap each record in model objects (6-13 µs per
    lookup); the locator reads the three fields it needs from the same record (1-5 µs), the way
    geoip2's ``City`` or ``Country`` model would, chosen by the database type as geoip2 does.

    Answers are kept in a least-recently-used cache of at most ``cache_size`` entries, keyed by
    the address string as given, so a hit needs no parsing: ~0.1 µs, against ~2-3 µs for
    checking, normalising and looking up an address. Each entry holds one small
    :class:`GeoRegion` (or ``None``), so the cache's memory is bounded by ``cache_size`` whatever
    the traffic; a flood of distinct addresses only evicts older entries. The cache is safe to
    use from several threads.

    Args:
        path: the ``.mmdb`` file.
        cache_size: entries in the cache; ``0`` turns the cache off.

    Raises:
        ValueError: the file is missing, unreadable or not a MaxMind DB, its type is neither a
            City nor a Country database, or ``cache_size`` is negative.
    """

    def __init__(self, path: str | os.PathLike[str], *, cache_size: int = 4096) -> None:
        check_number("cache_size", cache_size, minimum=0, integer=True)  # 0: no cache
        self._path = Path(os.fspath(path))
        try:
            reader = maxminddb.open_database(os.fspath(self._path))
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as err:
            raise ValueError(
                f"cannot open geo database {str(self._path)!r}: {err}; pass the path of a "
                "MaxMind DB (.mmdb) City or Country file"
            ) from err
        database_type = reader.metadata().database_type
        # geoip2 picks its model by a case-sensitive substring of the type; do the same, so any
        # file that geoip2's city() or country() accepts works here, and nothing else.
        if "City" in database_type:
            with_region = True
        elif "Country" in database_type:
            with_region = False
        else:
            reader.close()
            raise ValueError(
                f"geo database {str(self._path)!r} is of type {database_type!r}, which is "
                "neither a City nor a Country database"
            )
        self._reader = reader
        self._database_type = database_type
        lookup = functools.partial(_locate_uncached, reader, with_region)
        self._cached: Callable[[str], GeoRegion | None] = (
            functools.lru_cache(maxsize=cache_size)(lookup) if cache_size else lookup
        )

    def locate(self, ip: str) -> GeoRegion | None:
        """The region of ``ip``; ``None`` if it is not found, private or not an IP address."""
        try:
            return self._cached(ip)
        except Exception:
            # Request time must be total (an unhashable argument fails inside the cache, before
            # the lookup can catch anything); a missing region is logged as unknown instead.
            return None

    def close(self) -> None:
        """Release the file; later lookups answer ``None``."""
        cache_clear = getattr(self._cached, "cache_clear", None)
        if cache_clear is not None:
            cache_clear()
        self._reader.close()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(path={str(self._path)!r}, "
            f"database_type={self._database_type!r})"
        )


def _locate_uncached(reader: maxminddb.Reader, with_region: bool, ip: str) -> GeoRegion | None:
    try:
        record = reader.get(_lookup_key(ip))
    except (OSError, ValueError, TypeError, UnicodeError, maxminddb.InvalidDatabaseError):
        return None
    return _region_of(record, with_region)
