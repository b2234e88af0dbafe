"""A real shared cache in front: nginx's proxy_cache, which honours ``Vary``, keeps what it may.

An opted-out visitor must never get the ad page a cache kept for someone who did not opt out,
while a page that never looks at the opt-out stays shared by everyone, whatever their signals
and cookies.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from passivelog.demo import free_port

from .test_sinks import accepting, wait_until

pytestmark = pytest.mark.servers
ROOT = Path(__file__).resolve().parents[1]
NGINX = shutil.which("nginx") or shutil.which(
    "nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
)

NGINX_CONF = """
{user}
worker_processes 1;
error_log {directory}/error.log warn;
pid {directory}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    proxy_cache_path {directory}/cache keys_zone=pages:1m;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_cache pages;
            add_header X-Cache $upstream_cache_status always;
        }}
    }}
}}
"""


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[str]:
    """nginx caching in front of uvicorn serving tests.cacheapp; yields nginx's base URL."""
    if NGINX is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx-light)")
    upstream, port = free_port(), free_port()
    app = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "tests.cacheapp:app", "--port", str(upstream),
            "--no-access-log", "--log-level", "warning",
        ],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )  # fmt: skip
    config = tmp_path / "nginx.conf"
    # As root, the workers would run as nobody and could not write the cache in tmp_path.
    user = "user root;" if os.geteuid() == 0 else ""
    config.write_text(
        NGINX_CONF.format(user=user, directory=tmp_path, port=port, upstream=upstream)
    )
    with (tmp_path / "nginx.stderr").open("wb") as stderr:
        proxy = subprocess.Popen(
            [NGINX, "-p", str(tmp_path), "-c", str(config), "-g", "daemon off;"], stderr=stderr
        )
    try:
        assert wait_until(lambda: accepting(upstream), 20), "uvicorn did not start"
        assert wait_until(lambda: accepting(port), 10), (tmp_path / "nginx.stderr").read_text()
        yield f"http://127.0.0.1:{port}"
    finally:
        for process in (proxy, app):
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def fetch(base: str, path: str, headers: dict[str, str]) -> tuple[str, str]:
    response = httpx.get(base + path, headers=headers, timeout=5)
    assert response.status_code == 200
    return response.text, response.headers.get("x-cache", "")


GPC = {"sec-gpc": "1"}
OPT_OUT_COOKIE = {"cookie": "ad_opt_out=1"}
AD_COOKIE = {"cookie": "_ga=GA1.1.7.1700000000"}


def test_an_opted_out_visitor_never_gets_the_ad_page_kept_for_another(cache: str) -> None:
    first, status = fetch(cache, "/ad-page", {})
    assert "ads.js" in first and status == "MISS"
    again, status = fetch(cache, "/ad-page", {})
    assert again == first and status == "HIT", "the page is cached for visitors like the first"
    for signal_headers in (GPC, {"dnt": "1"}, {"x-ad-opt-out": "1"}, OPT_OUT_COOKIE):
        body, _ = fetch(cache, "/ad-page", signal_headers)
        assert body == "page without ads", signal_headers
    body, _ = fetch(cache, "/ad-page", {})
    assert "ads.js" in body, "and a visitor who did not opt out still gets the ads"


def test_a_page_that_never_reads_the_decision_is_shared_by_everyone(cache: str) -> None:
    first, status = fetch(cache, "/plain", {})
    assert status == "MISS"
    for headers in (GPC, {"dnt": "1"}, OPT_OUT_COOKIE, AD_COOKIE, {**GPC, **AD_COOKIE}):
        body, status = fetch(cache, "/plain", headers)
        assert (body, status) == (first, "HIT"), headers
