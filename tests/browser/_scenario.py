"""What a person does in the session centre, the same against the Flask and Django examples."""

from __future__ import annotations

from typing import Any, Protocol

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from .conftest import screenshot

ENDED = ("completed", "completed_with_errors", "failed", "cancelled")
# Fetch from the page, as a script or a forged form would: the answer's status.
POST_FROM_PAGE = """
const done = arguments[arguments.length - 1];
fetch(arguments[0], {method: "POST", credentials: "same-origin", headers: arguments[1]})
  .then((response) => done(response.status), (error) => done(String(error)));
"""


class Site(Protocol):
    """One example app served for the browser."""

    base: str
    centre: str
    heading: str
    """The list's heading in the example's language."""
    failures: dict[str, str]
    """The instances a full sync fails, with their messages."""

    def log_in(self, driver: Any, user: str) -> None: ...

    def slow_down(self) -> None:
        """Make the next full sync take a few seconds (time to cancel it)."""

    def start_as_operator(self) -> str:
        """Start a full sync outside the browser, as a user who may do everything."""

    def session(self, session_id: str) -> dict[str, Any]:
        """The session as the JSON endpoint answers it (read outside the browser)."""

    def finish(self, session_id: str) -> None:
        """Cancel the session if it still runs, and wait until its thread is done."""


def wait(driver: Any, seconds: float = 20) -> WebDriverWait[Any]:
    # The script re-renders the tables while a session runs: an element found a moment ago
    # may be gone (stale); the next poll finds its successor.
    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, seconds, poll_frequency=0.05, ignored_exceptions=ignored)


def one(driver: Any, css: str) -> Any:
    return driver.find_element(By.CSS_SELECTOR, css)


def click(driver: Any, css: str) -> None:
    """Click what ``css`` names, finding it again if a live update replaced it meanwhile."""

    def clicked(d: Any) -> bool:
        d.find_element(By.CSS_SELECTOR, css).click()
        return True

    wait(driver).until(clicked)


def present(driver: Any, css: str) -> bool:
    return bool(driver.find_elements(By.CSS_SELECTOR, css))


def start_full_sync(driver: Any, site: Site) -> str:
    """Press "Start full sync" on the list; the new session's id from the confirmation."""
    driver.get(site.base + site.centre)
    click(driver, 'form[data-action="start"] button')
    link = wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, 'a[data-link="started"]'))
    return str(link[0].text)


def watch_a_full_sync_and_its_failures(driver: Any, site: Site) -> None:
    session_id = start_full_sync(driver, site)
    row = f'#as-sessions tr[data-session-id="{session_id}"]'
    # The list polls until the session ends; its bar then reads 100 %.
    wait(driver).until(
        lambda d: present(d, row) and one(d, row).get_attribute("data-status") in ENDED
    )
    assert one(driver, row).get_attribute("data-status") == "completed_with_errors"
    assert one(driver, f"{row} progress").get_attribute("value") == "100"
    assert one(driver, f"{row} .as-pct").text == "100%"
    assert not one(driver, ".as-hint").text  # "updates live" is gone: polling stopped
    screenshot(driver, "session-centre-list")

    click(driver, f"{row} a")
    wait(driver).until(lambda d: present(d, "#as-session"))
    assert one(driver, "#as-session").get_attribute("data-status") == "completed_with_errors"
    assert one(driver, '[data-field="failed"]').text == str(len(site.failures))
    click(driver, 'a[href$="status=failed"]')
    wait(driver).until(lambda d: "status=failed" in d.current_url)
    shown = {
        tr.find_element(By.CSS_SELECTOR, "td:nth-child(1)").text: tr.find_element(
            By.CSS_SELECTOR, ".as-message"
        ).text
        for tr in driver.find_elements(By.CSS_SELECTOR, "#as-records tbody tr")
    }
    assert shown == site.failures
    screenshot(driver, "session-centre-detail")


def cancel_a_running_full_sync(driver: Any, site: Site) -> None:
    site.slow_down()
    session_id = start_full_sync(driver, site)
    try:
        # A second start while it runs: the 409 answer links to the running session.
        click(driver, 'form[data-action="start"] button')
        running = 'a[data-link="running"]'
        wait(driver).until(lambda d: present(d, running))
        assert one(driver, running).get_attribute("href").endswith(session_id)
        click(driver, running)
        wait(driver).until(lambda d: present(d, '#as-session[data-status="running"]'))
        click(driver, 'form[data-action="cancel"] button')
        status = '#as-session[data-status="cancelled"]'
        wait(driver).until(lambda d: present(d, status))
        assert int(one(driver, '[data-field="cancelled"]').text) > 0
        assert not one(driver, 'form[data-action="cancel"]').is_displayed()
        screenshot(driver, "session-centre-cancelled")
        assert site.session(session_id)["status"] == "cancelled"
    finally:
        site.finish(session_id)


def a_viewer_cannot_cancel(driver: Any, site: Site) -> None:
    """Someone else started a slow sync; the viewer watches it."""
    site.slow_down()
    session_id = site.start_as_operator()
    try:
        site.log_in(driver, "viewer")
        driver.get(site.base + site.centre)
        assert present(driver, f'#as-sessions tr[data-session-id="{session_id}"]')
        assert not present(driver, 'form[data-action="start"]')
        click(driver, f'#as-sessions tr[data-session-id="{session_id}"] a')
        wait(driver).until(lambda d: present(d, "#as-session"))
        assert one(driver, "#as-session").get_attribute("data-status") in ("pending", "running")
        assert not present(driver, 'form[data-action="cancel"]')
        # The button is hidden, and the server refuses the request anyway (CSRF token and all).
        root = one(driver, "#accounts-sync-centre")
        headers = {root.get_attribute("data-csrf-header"): root.get_attribute("data-csrf-token")}
        api = site.base + site.centre.removesuffix("centre/")
        cancel = f"{api}sync-sessions/{session_id}/actions/cancel"
        assert driver.execute_async_script(POST_FROM_PAGE, cancel, headers) == 403
        assert not site.session(session_id)["cancel_requested"]
    finally:
        site.finish(session_id)


def fits_a_phone(driver: Any) -> None:
    """At a phone's width the page needs no sideways scrolling."""
    driver.set_window_size(390, 844)
    try:
        driver.refresh()
        wait(driver).until(lambda d: present(d, "#accounts-sync-centre"))
        width = driver.execute_script("return document.documentElement.scrollWidth")
        viewport = driver.execute_script("return window.innerWidth")
        assert width <= viewport, (width, viewport)
    finally:
        driver.set_window_size(1280, 900)


class SessionCentreTests:
    """The browser tests every example passes: a subclass in a module with a ``site`` fixture."""

    def test_watch_a_full_sync_open_its_failures_and_cancel_another(
        self, browser: Any, site: Site
    ) -> None:
        site.log_in(browser, "operator")
        assert browser.current_url == site.base + site.centre  # the example opens on the centre
        assert one(browser, "h1").text == site.heading
        watch_a_full_sync_and_its_failures(browser, site)
        cancel_a_running_full_sync(browser, site)
        fits_a_phone(browser)

    def test_a_viewer_sees_no_cancel_button_and_a_forged_post_is_refused(
        self, browser: Any, site: Site
    ) -> None:
        a_viewer_cannot_cancel(browser, site)
