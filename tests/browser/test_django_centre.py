"""The session centre of ``examples/django_project`` in headless Chromium (Chinese, the default
catalogue), served by Django's WSGI handler on a real port."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from selenium.webdriver.common.by import By

from ..django.conftest import _user  # configures Django with the example's settings
from . import _scenario as scenario
from .conftest import serving

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("demo_project.urls"),
]

VIEWER_PERMISSIONS = ["accounts_sync.view_syncsession"]


class DjangoSite:
    heading = "最近的同步会话"
    centre = "/api/centre/"
    failures: ClassVar[dict[str, str]] = {"mysql-broken": "cannot connect to 10.0.9.1"} | {
        f"mysql-broken-{i:02d}": f"cannot connect to 10.0.10.{i}" for i in range(2, 6)
    }

    def __init__(self, base: str, operator: Any, settings: Any) -> None:
        from django.test import Client

        self.base, self.settings = base, settings
        self.client = Client()
        self.client.force_login(operator)

    def log_in(self, driver: Any, user: str) -> None:
        driver.delete_all_cookies()
        driver.get(f"{self.base}/admin/login/?next=/")
        driver.find_element(By.ID, "id_username").send_keys(user)
        driver.find_element(By.ID, "id_password").send_keys(user)
        driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
        scenario.wait(driver).until(lambda d: scenario.present(d, "#accounts-sync-centre"))

    def slow_down(self) -> None:
        # Fifty instances, a few seconds each: the sync outlasts any step a loaded machine
        # takes before it cancels, and an instance in flight still ends soon after a cancel.
        self.settings.DEMO_SYNC_LATENCY = (2.5, 3.5)

    def start_as_operator(self) -> str:
        answer = self.client.post("/api/instances/actions/sync-accounts")
        assert answer.status_code == 200, answer.content
        return str(json.loads(answer.content)["data"]["session_id"])

    def session(self, session_id: str) -> dict[str, Any]:
        answer = self.client.get(f"/api/sync-sessions/{session_id}")
        return dict(json.loads(answer.content)["data"]["session"])

    def finish(self, session_id: str) -> None:
        self.client.post(f"/api/sync-sessions/{session_id}/actions/cancel")
        deadline = time.monotonic() + 30
        while self.session(session_id)["status"] not in scenario.ENDED:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        for thread in threading.enumerate():
            if thread.name == "sync_accounts_manual_batch":
                thread.join(10)


@pytest.fixture
def site(transactional_db: None, settings: Any) -> Iterator[DjangoSite]:
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.management import call_command
    from inventory.management.commands.demo import DEMO_PERMISSIONS

    call_command("seed_instances", count=45, broken=5, stdout=io.StringIO())
    operator = _user("operator", [".".join(pair) for pair in DEMO_PERMISSIONS])
    viewer = _user("viewer", VIEWER_PERMISSIONS)
    for user in (operator, viewer):
        user.is_staff = True  # the admin's login page is the example's login
        user.set_password(user.username)
        user.save()
    with serving(WSGIHandler()) as base:
        yield DjangoSite(base, operator, settings)


class TestTheDjangoExample(scenario.SessionCentreTests):
    """Watch, open the failures, cancel; a viewer cannot cancel."""


def test_django_refuses_a_post_without_the_csrf_token(browser: Any, site: Any) -> None:
    site.slow_down()
    session_id = site.start_as_operator()
    try:
        site.log_in(browser, "operator")
        cancel = f"{site.base}/api/sync-sessions/{session_id}/actions/cancel"
        post = scenario.POST_FROM_PAGE
        assert browser.execute_async_script(post, cancel, {}) == 403
        assert not site.session(session_id)["cancel_requested"]
        root = browser.find_element(By.ID, "accounts-sync-centre")
        token = {root.get_attribute("data-csrf-header"): root.get_attribute("data-csrf-token")}
        # The button with a forged token: Django's own 403 page, reported by the script.
        browser.get(f"{site.base}/api/centre/sessions/{session_id}")
        browser.execute_script(
            "document.getElementById('accounts-sync-centre').dataset.csrfToken = 'forged'"
        )
        scenario.click(browser, 'form[data-action="cancel"] button')
        flash = scenario.wait(browser).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, "#as-flash.as-warn")
        )[0]
        assert flash.text.startswith("403")
        assert not site.session(session_id)["cancel_requested"]
        assert browser.execute_async_script(post, cancel, token) == 200
        assert site.session(session_id)["cancel_requested"]
    finally:
        site.finish(session_id)
