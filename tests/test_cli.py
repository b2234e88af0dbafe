"""The command line: the demo a newcomer runs first, and the lookups a reviewer tries by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from passivelog.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_scrub_prints_the_scrubbed_url_and_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scrub", "https://shop.example/reset?email=jane%40example.com&utm_source=x"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "jane" not in out["url"]
    assert "utm_source=x" in out["url"]
    assert "key:email" in out["rules"]


def test_scrub_reads_urls_from_stdin_and_never_prints_them() -> None:
    # A reviewer pipes a referrer column through it; what it removes must not reach the output.
    lines = [
        b"https://a.example/unsubscribe?email=jane.doe%40example.com&utm_source=news",
        b"",
        b"https://b.example/products/42?page=2",
        b"\xff\xfehttps://c.example/c/am9obkBleGFtcGxlLmNvbQ\r",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "passivelog", "scrub", "-", "--summary"],
        input=b"\n".join(lines) + b"\n",
        capture_output=True,
        check=True,
        timeout=60,
    )
    out = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert [o["url"] for o in out] == [
        "https://a.example/unsubscribe?email=[email]&utm_source=news",
        "https://b.example/products/42?page=2",
        "\ufffd\ufffdhttps://c.example/c/[email]",
    ]
    for stream in (done.stdout, done.stderr):
        assert b"jane" not in stream and b"am9obkBleGFtcGxlLmNvbQ" not in stream
    summary = json.loads(done.stderr)
    assert summary == {
        "urls": 3,
        "changed": 2,
        "rules": {"key:email": 1, "base64": 1, "value:email": 1},
    }


def test_scrub_takes_several_urls(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scrub", "https://a.example/?e=a%40b.co", "https://b.example/"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["rules"] for o in out] == [["value:email"], []]


def test_fields_prints_the_record_table(capsys: pytest.CaptureFixture[str]) -> None:
    from passivelog import schema

    assert main(["fields"]) == 0
    table = capsys.readouterr().out
    assert table == schema.field_table()
    assert table.count("\n") == len(schema.FIELDS) + 2
    assert main(["fields", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(f["ecs"], f["otel"], f["privacy"]) for f in listed] == [
        (f.ecs, f.otel, f.privacy) for f in schema.FIELDS
    ]


def test_geo_answers_from_the_given_database(
    capsys: pytest.CaptureFixture[str], city_db: Path
) -> None:
    assert main(["geo", "198.51.100.20", "--db", str(city_db)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["recorded"]["client.geo.region_iso_code"] == "US-CA"


def test_geo_on_the_shipped_database_knows_public_addresses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["geo", "1.1.1.1"]) == 0
    assert json.loads(capsys.readouterr().out)["recorded"]["client.geo.region_iso_code"] == "AU-NSW"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["geo", "not-an-ip"], "not an IP"),
        (["geo", "192.0.2.1", "--db", "/nonexistent.mmdb"], "/nonexistent.mmdb"),
    ],
    ids=["bad-ip", "missing-db"],
)
def test_bad_input_is_a_clear_message(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.servers
def test_demo_serves_and_prints_one_record_per_logged_request() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "passivelog", "demo", "--requests", "10"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    records = [json.loads(line) for line in done.stdout.split("\n") if line]
    assert len(records) == 9  # ten requests, one of them to the excluded health check
    assert {
        r["client.geo.region_iso_code"] for r in records if "client.geo.region_iso_code" in r
    } >= {"US-CA", "AU-NSW", "US-MN"}
    assert "jane.doe" not in done.stdout and "john.smith" not in done.stdout
    assert "s3cr3t-session-value" not in done.stdout
    assert [r.get("trace.id") for r in records if "trace.id" in r] == [
        "4bf92f3577b34da6a3ce929d0e0e4736"
    ]
