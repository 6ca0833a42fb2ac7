"""The session centre of ``examples/flask_app`` in headless Chromium (English catalogue)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from selenium.webdriver.common.by import By

from ..flask.test_example_app import TOKEN, example_app
from . import _scenario as scenario
from .conftest import serving

pytestmark = pytest.mark.timeout(120)


class FlaskSite:
    heading = "Recent sync sessions"
    centre = "/api/v1/centre/"
    # Every tenth of the 50 seeded instances is broken.
    failures: ClassVar[dict[str, str]] = {
        f"{engine}-broken-{index:03d}": f"cannot connect to 10.0.0.{index}"
        for engine, index in (
            ("sqlserver", 10),
            ("mysql", 20),
            ("sqlserver", 30),
            ("mysql", 40),
            ("sqlserver", 50),
        )
    }

    def __init__(self, app: Any, base: str) -> None:
        self.app, self.base = app, base
        self.client = app.test_client()

    def log_in(self, driver: Any, user: str) -> None:
        driver.delete_all_cookies()
        driver.get(self.base + "/login")
        driver.find_element(By.NAME, "user").send_keys(user)
        driver.find_element(By.NAME, "password").send_keys(user)
        driver.find_element(By.CSS_SELECTOR, "form button").click()
        scenario.wait(driver).until(lambda d: scenario.present(d, "#accounts-sync-centre"))

    def slow_down(self) -> None:
        # See the Django twin: long enough to outlast a loaded machine's steps.
        self.app.config["SYNC_LATENCY"] = 3.0

    def start_as_operator(self) -> str:
        answer = self.client.post("/api/v1/instances/actions/sync-accounts", headers=TOKEN)
        assert answer.status_code == 200, answer.get_json()
        return str(answer.get_json()["data"]["session_id"])

    def session(self, session_id: str) -> dict[str, Any]:
        answer = self.client.get(f"/api/v1/sync-sessions/{session_id}", headers=TOKEN)
        return dict(answer.get_json()["data"]["session"])

    def finish(self, session_id: str) -> None:
        self.client.post(f"/api/v1/sync-sessions/{session_id}/actions/cancel", headers=TOKEN)
        deadline = time.monotonic() + 30
        while self.session(session_id)["status"] not in scenario.ENDED:
            assert time.monotonic() < deadline
            time.sleep(0.05)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[FlaskSite]:
    example, app = example_app(
        tmp_path, DEMO_INSTANCES=50, SYNC_LATENCY=0.02, SYNC_SLOW_LATENCY=0.02, LANGUAGE="en"
    )
    with serving(app) as base:
        yield FlaskSite(app, base)
    with app.app_context():
        example.db.engine.dispose()


class TestTheFlaskExample(scenario.SessionCentreTests):
    """Watch, open the failures, cancel; a viewer cannot cancel."""


def test_a_post_without_the_flask_wtf_token_is_refused(browser: Any, site: Any) -> None:
    site.log_in(browser, "operator")
    start = site.base + "/api/v1/instances/actions/sync-accounts"
    assert browser.execute_async_script(scenario.POST_FROM_PAGE, start, {}) == 400
    assert not site.client.get("/api/v1/sync-sessions", headers=TOKEN).get_json()["data"][
        "sessions"
    ]
