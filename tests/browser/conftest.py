"""Headless Chromium for the session centre's browser tests, and a real server thread.

Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them): the tests skip with a
clear reason when they are missing, and fail instead with ``ACCOUNTS_SYNC_REQUIRE_SERVICES=1``.
Selenium never downloads a driver or a browser (``SE_OFFLINE``).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ..conftest import REQUIRE_SERVICES

CHROMIUM = os.environ.get("ACCOUNTS_SYNC_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("ACCOUNTS_SYNC_CHROMEDRIVER", "/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)


def _require_chromium() -> None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if shutil.which(path) is None]
    if not missing:
        return
    reason = (
        f"{' and '.join(missing)} not found: install Debian's chromium and chromium-driver "
        "(apt-get install chromium chromium-driver), or point ACCOUNTS_SYNC_CHROMIUM / "
        "ACCOUNTS_SYNC_CHROMEDRIVER at them"
    )
    if REQUIRE_SERVICES:
        pytest.fail(f"ACCOUNTS_SYNC_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh headless Chromium (its own profile), quit afterwards."""
    _require_chromium()
    monkeypatch.setenv("SE_OFFLINE", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


@contextmanager
def serving(app: Callable[..., Any]) -> Iterator[str]:
    """``app`` (any WSGI application) on 127.0.0.1, a free port, in a thread: its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-test-server")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


def screenshot(driver: Any, name: str) -> None:
    """Write ``docs/img/<name>.png`` when ``ACCOUNTS_SYNC_SCREENSHOTS=1`` (the docs' images)."""
    if os.environ.get("ACCOUNTS_SYNC_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
