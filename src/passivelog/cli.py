"""``passivelog``: the demo, and the lookups a privacy reviewer wants to try by hand."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
from collections.abc import Iterator, Sequence

from passivelog.pseudonym import SECRET_ENV


def _demo(args: argparse.Namespace) -> int:
    from passivelog.demo import free_port, run_demo

    port = args.port or free_port(args.host)
    if args.requests is None:
        print(
            f"passivelog demo serving on http://{args.host}:{port}/ (Ctrl-C stops)", file=sys.stderr
        )
    secret = args.secret or os.environ.get(SECRET_ENV)
    if secret is None:
        # The demo is not a deployment: a throwaway key, said once, not the library's warning.
        secret = secrets.token_urlsafe(32)
        print(
            "passivelog demo: random pseudonym key for this run (set PASSIVELOG_SECRET to fix one)",
            file=sys.stderr,
        )
    options = {"secret": secret}
    return asyncio.run(run_demo(args.host, port, args.requests, **options))


def _geo(args: argparse.Namespace) -> int:
    from passivelog.client import normalise_ip
    from passivelog.geo import DEFAULT, MaxMindLocator, resolve_geo_db

    path = resolve_geo_db(args.db if args.db is not None else DEFAULT)
    if path is None:
        print("geo lookups are off (no database)", file=sys.stderr)
        return 2
    ip = normalise_ip(args.ip)
    if ip is None:
        print(f"not an IP address: {args.ip!r}", file=sys.stderr)
        return 2
    locator = MaxMindLocator(path, cache_size=0)
    try:
        region = locator.locate(ip)
    finally:
        locator.close()
    answer: dict[str, object] = {
        "ip": ip,
        "database": str(path),
        "recorded": {
            "client.geo.country_iso_code": region.country_iso_code if region else None,
            "client.geo.region_iso_code": region.region_iso_code if region else None,
            "client.geo.region_name": region.region_name if region else None,
        },
        "database_says": _geoip2_answer(path, ip),
    }
    print(json.dumps(answer, ensure_ascii=False))
    return 0 if region is not None else 1


def _geoip2_answer(path: object, ip: str) -> dict[str, object] | None:
    """geoip2's full answer (city included), to compare with the reduced one passivelog records."""
    import geoip2.database
    import geoip2.errors

    with geoip2.database.Reader(str(path)) as reader:
        try:
            if "City" in reader.metadata().database_type:
                city = reader.city(ip)
                return {
                    "country": city.country.iso_code,
                    "subdivisions": [s.iso_code or s.name for s in city.subdivisions],
                    "city": city.city.name,
                }
            return {"country": reader.country(ip).country.iso_code}
        except geoip2.errors.AddressNotFoundError:
            return None


def _scrub(args: argparse.Namespace) -> int:
    from collections import Counter

    from passivelog.scrub import UrlScrubber

    scrubber = UrlScrubber(cache_size=0)
    urls = _stdin_lines() if args.urls == ["-"] else iter(args.urls)
    seen = changed = 0
    fired: Counter[str] = Counter()
    for url in urls:
        result = scrubber.scrub_url(url)
        # Only the scrubbed URL is printed, never the input: piping a log through this command
        # must not copy what it removes.
        print(json.dumps({"url": result.value, "rules": list(result.rules)}, ensure_ascii=False))
        seen += 1
        changed += bool(result.rules)
        fired.update(result.rules)
    if args.summary:
        summary = {"urls": seen, "changed": changed, "rules": dict(fired.most_common())}
        print(json.dumps(summary), file=sys.stderr)
    return 0


def _stdin_lines() -> Iterator[str]:
    # One URL per line, as a log's referrer column gives them; bytes that are not UTF-8 become
    # U+FFFD rather than stopping the run.
    for raw in sys.stdin.buffer:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line:
            yield line


def _fields(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from passivelog.schema import FIELDS, field_table

    if args.json:
        print(json.dumps([asdict(field) for field in FIELDS], ensure_ascii=False, indent=2))
    else:
        print(field_table(), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="passivelog", description="Privacy-first passive-data logging for ASGI apps."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="serve a demo shop with passivelog under uvicorn")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=0, help="0 picks a free port")
    demo.add_argument(
        "--requests",
        type=int,
        default=None,
        metavar="N",
        help="send N realistic requests to the demo, print their records and exit",
    )
    demo.add_argument("--secret", default=None, help="pseudonym key (default: PASSIVELOG_SECRET)")
    demo.set_defaults(run=_demo)

    geo = commands.add_parser("geo", help="what the configured geo database says about an IP")
    geo.add_argument("ip")
    geo.add_argument("--db", default=None, help="a MaxMind-format database (default: shipped)")
    geo.set_defaults(run=_geo)

    scrub = commands.add_parser(
        "scrub",
        help="scrub URLs and list the rules that fired",
        description="Prints one JSON line per URL: the scrubbed URL and the rules that fired. "
        "The input itself is never printed.",
    )
    scrub.add_argument("urls", nargs="+", metavar="url", help="URLs, or - for one per stdin line")
    scrub.add_argument(
        "--summary",
        action="store_true",
        help="then print to stderr how many URLs were changed and how often each rule fired",
    )
    scrub.set_defaults(run=_scrub)

    fields = commands.add_parser(
        "fields", help="every field a record can carry, with its privacy note"
    )
    fields.add_argument("--json", action="store_true", help="JSON instead of a Markdown table")
    fields.set_defaults(run=_fields)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ValueError as exc:
        print(f"passivelog: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
