"""The app the server tests run: the demo shop, writing records to a file the environment names."""

from __future__ import annotations

import os

from passivelog.demo import build_demo_app

app = build_demo_app(
    secret="server-test-secret-0123456789",
    output=os.environ["PASSIVELOG_TEST_RECORDS"],
    geo_db=os.environ.get("PASSIVELOG_TEST_GEO_DB") or None,
)
