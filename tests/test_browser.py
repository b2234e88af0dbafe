"""A real headless Chromium against the middleware, served by uvicorn on loopback.

These tests check what only a browser shows: the ``Referer`` Chromium really sends (the full URL,
query included, on same-origin navigations and on its own ``/favicon.ico`` request), and whether an
ad cookie really ends up in the browser's cookie jar when the visitor opted out.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from passivelog import PassiveLogMiddleware, schema
from passivelog.testing import capture_records

from .browser import (
    MISSING_CHROMIUM,
    chromium,
    chromium_binaries,
    cookie_jar,
    fully_unquote,
    send_sec_gpc,
    serve,
    wait_until,
)
from .conftest import SECRET

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

BINARIES = chromium_binaries()

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(BINARIES is None, reason=MISSING_CHROMIUM),
]

# A made-up person on a documentation domain (RFC 2606).
EMAIL = "jane.doe@example.com"
LEAKS = (EMAIL, "jane.doe", "example.com")
WELCOME = "/welcome?email=jane.doe%40example.com&utm_source=news"
TOGGLE = "/privacy/ad-opt-out"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title></head><body>{body}</body></html>
"""

SHOP_BODY = """
<p id="state" data-opted-out="{opted_out}" data-signals="{signals}">visit {visit}</p>
<p id="app-cookies">{app_cookies}</p>
<button id="opt-out" onclick="toggle('POST')">Do not use ad cookies</button>
<button id="opt-in" onclick="toggle('DELETE')">Allow ad cookies</button>
<script>
async function toggle(method) {{
  await fetch("/privacy/ad-opt-out", {{method: method}});
  location.reload();
}}
</script>
"""


def page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(PAGE.format(title=escape(title), body=body))


def build_site() -> Any:
    """A small site: a welcome page linking to a second page, and a shop that sets ``_ga``."""
    visits = itertools.count(1)

    async def welcome(request: Request) -> HTMLResponse:
        return page("Welcome", '<a id="next" href="/next">Continue</a>')

    async def next_page(request: Request) -> HTMLResponse:
        return page("Next", '<h1 id="arrived">Thanks</h1>')

    async def shop(request: Request) -> HTMLResponse:
        decision = request.state.passivelog_opt_out
        visit = next(visits)
        response = page(
            "Shop",
            SHOP_BODY.format(
                opted_out="true" if decision.opted_out else "false",
                signals=escape(" ".join(decision.signals)),
                visit=visit,
                app_cookies=escape(" ".join(sorted(request.cookies))),
            ),
        )
        # Like an analytics tag served by the app itself. The value names the visit, so the jar
        # shows which response last set it.
        response.set_cookie("_ga", f"GA1.1.{visit}.456")
        return response

    app = Starlette(
        routes=[Route("/welcome", welcome), Route("/next", next_page), Route("/shop", shop)]
    )
    app.add_middleware(PassiveLogMiddleware, secret=SECRET, geo_db=None, referrer_mode="scrub")
    return app


@dataclass
class Site:
    base: str
    records: list[dict[str, Any]]

    def url(self, path: str) -> str:
        return self.base + path

    def records_for(self, path: str, method: str = "GET") -> list[dict[str, Any]]:
        return [
            r
            for r in list(self.records)
            if r.get(schema.URL_PATH) == path and r.get(schema.HTTP_METHOD) == method
        ]

    def wait_for_records(self, path: str, count: int, method: str = "GET") -> list[dict[str, Any]]:
        return wait_until(
            lambda: (found := self.records_for(path, method)) and len(found) >= count and found,
            f"{count} record(s) of {method} {path}",
        )


@pytest.fixture
def site() -> Iterator[Site]:
    with capture_records() as records, serve(build_site()) as base:
        yield Site(base, records)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    pytest.importorskip("selenium", reason="needs selenium (pip install selenium)")
    assert BINARIES is not None
    with chromium(BINARIES, tmp_path / "profile") as driver:
        yield driver


def leaks_in(text: str) -> list[str]:
    decoded = fully_unquote(text).lower()
    return [leak for leak in LEAKS if leak in decoded]


def open_shop(browser: WebDriver, site: Site, visits: int) -> dict[str, str | None]:
    """Load the shop as its ``visits``-th visit; return what the app rendered about the opt-out."""
    browser.get(site.url("/shop"))
    return wait_for_visit(browser, site, visits)


def toggle_and_reload(
    browser: WebDriver, site: Site, button: str, visits: int
) -> dict[str, str | None]:
    """Click a toggle button (the page fetches the toggle, then reloads) and wait for the reload."""
    from selenium.webdriver.common.by import By

    browser.find_element(By.ID, button).click()
    return wait_for_visit(browser, site, visits)


def wait_for_visit(browser: WebDriver, site: Site, visits: int) -> dict[str, str | None]:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    def rendered(driver: WebDriver) -> dict[str, str | None] | None:
        # While the page reloads its elements vanish under the driver: keep polling.
        element = driver.find_element(By.ID, "state")
        if element.text != f"visit {visits}":
            return None
        return {
            "opted_out": element.get_dom_attribute("data-opted-out"),
            "signals": element.get_dom_attribute("data-signals"),
        }

    state = WebDriverWait(browser, 5, ignored_exceptions=(WebDriverException,)).until(
        rendered, f"shop page of visit {visits}"
    )
    site.wait_for_records("/shop", visits)
    return state


# -- referrer scrubbing -------------------------------------------------------------------------


def test_same_origin_referrer_is_logged_without_the_email_it_carried(
    browser: WebDriver, site: Site
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    browser.get(site.url(WELCOME))
    browser.find_element(By.ID, "next").click()
    WebDriverWait(browser, 5).until(
        expected_conditions.presence_of_element_located((By.ID, "arrived"))
    )
    # The browser really leaked the address: this is what the middleware had to clean up.
    assert EMAIL in fully_unquote(browser.execute_script("return document.referrer"))

    (record,) = site.wait_for_records("/next", 1)
    referrer = record[schema.REFERRER]
    assert leaks_in(referrer) == []
    # The page, its query key and its campaign tag stay: only the address is gone.
    assert "/welcome?email=" in fully_unquote(referrer)
    assert "utm_source=news" in fully_unquote(referrer)
    assert any(r.startswith("referrer:") for r in record[schema.REDACTIONS])


def test_url_with_an_email_is_logged_without_it(browser: WebDriver, site: Site) -> None:
    browser.get(site.url(WELCOME))

    (record,) = site.wait_for_records("/welcome", 1)
    assert leaks_in(record[schema.URL_QUERY]) == []
    assert "utm_source=news" in fully_unquote(record[schema.URL_QUERY])


def test_no_record_of_a_visit_holds_the_email_favicon_included(
    browser: WebDriver, site: Site
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    browser.get(site.url(WELCOME))
    browser.find_element(By.ID, "next").click()
    WebDriverWait(browser, 5).until(
        expected_conditions.presence_of_element_located((By.ID, "arrived"))
    )
    site.wait_for_records("/next", 1)
    # Chromium asks for /favicon.ico on its own, with the page's full URL as Referer.
    (favicon, *_) = site.wait_for_records("/favicon.ico", 1)
    assert favicon[schema.STATUS_CODE] == 404
    assert schema.REFERRER in favicon

    records = list(site.records)
    assert {r[schema.URL_PATH] for r in records} >= {"/welcome", "/next", "/favicon.ico"}
    for record in records:
        text = json.dumps(record, ensure_ascii=False)
        assert leaks_in(text) == [], record


# -- advertising opt-out --------------------------------------------------------------------------


def test_ad_cookie_reaches_the_browser_without_an_opt_out_signal(
    browser: WebDriver, site: Site
) -> None:
    state = open_shop(browser, site, visits=1)

    assert state == {"opted_out": "false", "signals": ""}
    assert cookie_jar(browser)["_ga"] == "GA1.1.1.456"
    (record,) = site.records_for("/shop")
    assert record[schema.OPT_OUT] is False
    assert schema.OPT_OUT_SIGNALS not in record


def test_gpc_keeps_the_ad_cookie_out_of_the_browser(browser: WebDriver, site: Site) -> None:
    send_sec_gpc(browser)

    state = open_shop(browser, site, visits=1)

    assert state == {"opted_out": "true", "signals": "gpc"}
    assert "_ga" not in cookie_jar(browser)
    (record,) = site.records_for("/shop")
    assert record[schema.OPT_OUT] is True
    assert "gpc" in record[schema.OPT_OUT_SIGNALS]


def test_toggle_in_the_page_stops_and_restores_the_ad_cookie(
    browser: WebDriver, site: Site
) -> None:
    open_shop(browser, site, visits=1)
    assert cookie_jar(browser)["_ga"] == "GA1.1.1.456"

    state = toggle_and_reload(browser, site, "opt-out", visits=2)

    jar = cookie_jar(browser)
    assert jar["ad_opt_out"] == "1"
    # The browser still holds and sends the first _ga, but no response replaced it and the app
    # never saw it.
    assert jar["_ga"] == "GA1.1.1.456"
    assert state == {"opted_out": "true", "signals": "cookie"}
    assert "_ga" not in _app_cookies(browser)
    (post,) = site.records_for(TOGGLE, "POST")
    assert post[schema.STATUS_CODE] == 200
    opted_out = site.records_for("/shop")[1]
    assert opted_out[schema.OPT_OUT] is True
    assert opted_out[schema.OPT_OUT_SIGNALS] == ["cookie"]

    state = toggle_and_reload(browser, site, "opt-in", visits=3)

    jar = cookie_jar(browser)
    assert "ad_opt_out" not in jar
    assert jar["_ga"] == "GA1.1.3.456"
    assert state == {"opted_out": "false", "signals": ""}
    assert "_ga" in _app_cookies(browser)
    (delete,) = site.records_for(TOGGLE, "DELETE")
    assert delete[schema.STATUS_CODE] == 200
    opted_in = site.records_for("/shop")[2]
    assert opted_in[schema.OPT_OUT] is False


def _app_cookies(browser: WebDriver) -> set[str]:
    from selenium.webdriver.common.by import By

    return set(browser.find_element(By.ID, "app-cookies").text.split())
