"""Headless Chromium driving an app served by uvicorn on loopback, for the browser tests.

Everything stays on 127.0.0.1. Chromium is started with the flags that stop it from reaching
outside hosts on its own (background networking, component updates, sync, QUIC probes) and with a
fresh profile directory, so no cookie or cache survives from one test to the next.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote_plus

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

T = TypeVar("T")

LOOPBACK = "127.0.0.1"

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

MISSING_CHROMIUM = (
    "needs chromium and chromedriver on PATH (Debian: apt-get install chromium chromium-driver)"
)


def chromium_binaries() -> tuple[str, str] | None:
    """Paths of Chromium and its chromedriver, or ``None`` when either is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        return None
    return browser, driver


@contextmanager
def serve(app: Any, timeout: float = 10.0) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread of this process; yield its base URL.

    The server binds port 0, so the kernel picks a free port and no other process can take it
    between choosing and binding. Running in-process lets ``capture_records`` see the records.
    """
    import uvicorn

    config = uvicorn.Config(
        app,
        host=LOOPBACK,
        port=0,
        access_log=False,
        # The browser connects directly: no proxy header may change the client address.
        proxy_headers=False,
        log_level="warning",
        # Leave the test process's logging configuration alone.
        log_config=None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-browser-tests", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive():
                raise AssertionError("uvicorn stopped before it started listening")
            if time.monotonic() > deadline:
                raise AssertionError(f"uvicorn did not start within {timeout} s")
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)


@contextmanager
def chromium(binaries: tuple[str, str], profile_dir: Path) -> Iterator[WebDriver]:
    """Start headless Chromium with an empty profile in ``profile_dir``; quit it afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, chromedriver = binaries
    options = webdriver.ChromeOptions()
    # Both paths given: selenium then never runs its driver manager, which would go online.
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    try:
        driver.set_page_load_timeout(15)
        yield driver
    finally:
        driver.quit()


def send_sec_gpc(driver: WebDriver) -> None:
    """Make every later request of ``driver`` carry ``Sec-GPC: 1``.

    Chromium has no Global Privacy Control setting of its own; the DevTools protocol adds the
    header the way a browser with GPC switched on sends it.
    """
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Sec-GPC": "1"}})


def cookie_jar(driver: WebDriver) -> dict[str, str]:
    """The cookies the browser holds for the current page's site, as name -> value."""
    return {cookie["name"]: cookie["value"] for cookie in driver.get_cookies()}


def wait_until(condition: Callable[[], T | None], what: str, timeout: float = 5.0) -> T:
    """Poll ``condition`` until it returns something truthy; fail saying ``what`` was awaited.

    Records are emitted after the response has been sent, so a browser can show a page before
    the server thread has produced its record.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def fully_unquote(text: str, rounds: int = 10) -> str:
    """Percent-decode (and ``+``-decode) ``text`` until it no longer changes.

    A leak can hide behind any number of encodings (``%2540`` is ``%40`` is ``@``), so the tests
    look for personal data only in the fully decoded form.
    """
    for _ in range(rounds):
        decoded = unquote_plus(text)
        if decoded == text:
            break
        text = decoded
    return text
