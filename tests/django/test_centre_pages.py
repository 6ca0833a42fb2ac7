"""The session centre's pages through both frameworks' real test clients, without a browser:
what a refresh shows with JavaScript off, authorization, buttons, language, hostile input."""

from __future__ import annotations

import json
import re
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import flask
import pytest
from django.test import Client
from django.urls import include, path

from accounts_sync import Messages, RecordStatus, SessionStatus, SyncSessionInfo
from accounts_sync.contrib.django import AccountsSyncViews
from accounts_sync.contrib.flask import init_app
from accounts_sync.contrib.http import Action, PermissionDenied
from accounts_sync.ports import RecordOutcome
from accounts_sync.testing import in_memory_service, make_instances

from .fronts import URLCONF, Front, owner_only, user_of
from .test_http_pages import seeded

pytestmark = pytest.mark.django_db(transaction=True)

ZH, EN = Messages(), Messages.english()
HOSTILE = '<script>alert("x")</script> password=hunter2'


def finish(front: Front, session_id: str, outcomes: dict[int, str | None]) -> None:
    """End records: a message fails the record, ``None`` completes it."""
    sessions = front.service.sessions
    assert sessions.start_records(session_id, list(outcomes))
    sessions.finish_records(
        session_id,
        [
            RecordOutcome(
                instance_id=i,
                status=RecordStatus.COMPLETED if message is None else RecordStatus.FAILED,
                items_synced=0 if message else 7,
                error_message=message,
            )
            for i, message in outcomes.items()
        ],
    )


def rows(html: str, table: str) -> list[str]:
    body = html.split(f'id="{table}"', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<tr data-(?:session|record)-id="([^"]+)"', body)


def test_the_list_shows_each_session_as_it_is_now(front: Front) -> None:
    front.mount(owner_only)
    running = seeded(front, 4)
    finish(front, running, {1: "boom", 2: None})
    status, html = front.page("/centre/", "alice")
    assert status == 200
    assert rows(html, "as-sessions") == [running]
    assert ZH.centre_status_running in html and 'data-live="1"' in html
    assert '<progress max="100" value="50"' in html and "50%" in html
    assert 'data-label="失败">1<' in html and 'data-label="发起人">1<' in html
    # The script polls the same endpoint the page was rendered from.
    assert 'data-poll-url="/api/v1/sync-sessions"' in html
    assert 'data-action="start"' in html
    assert f'href="/api/v1/centre/sessions/{running}"' in html


def test_the_list_filters_and_pages_like_the_endpoint(front: Front) -> None:
    front.mount(owner_only)
    ids = [seeded(front, 1) for _ in range(3)]
    status, html = front.page("/centre/?limit=2", "alice")
    assert (status, rows(html, "as-sessions")) == (200, ids[::-1][:2])
    next_url = re.search(r'<a rel="next" href="([^"]+)"', html)
    assert next_url is not None
    status, html = front.page(
        next_url.group(1).replace("&amp;", "&").removeprefix("/api/v1"), "alice"
    )
    assert rows(html, "as-sessions") == [ids[0]]
    assert 'rel="next"' not in html
    _, html = front.page("/centre/?status=completed", "alice")
    assert rows(html, "as-sessions") == [] and ZH.centre_no_sessions in html


def test_the_detail_shows_records_as_stored_and_filters_the_failed(front: Front) -> None:
    front.mount(owner_only)
    session_id = seeded(front, 105)
    finish(front, session_id, {1: HOSTILE, 2: None, 104: "timed out"})
    status, html = front.page(f"/centre/sessions/{session_id}", "alice")
    assert status == 200
    assert len(rows(html, "as-records")) == 100  # the first page; a link to the next
    assert "<script>alert" not in html  # the stored message, escaped by both engines
    assert "&lt;script&gt;alert(" in html
    assert 'data-action="cancel"' in html  # alice started it, and it runs
    status, html = front.page(f"/centre/sessions/{session_id}?status=failed", "alice")
    assert status == 200
    assert len(rows(html, "as-records")) == 2
    assert "timed out" in html and 'aria-current="page">仅失败记录' in html
    assert f'data-records-url="/api/v1/sync-sessions/{session_id}/records?status=failed"' in html
    next_url = re.search(
        r'<a rel="next" href="([^"]+)"', front.page(f"/centre/sessions/{session_id}", "alice")[1]
    )
    assert next_url is not None
    _, html = front.page(next_url.group(1).replace("&amp;", "&").removeprefix("/api/v1"), "alice")
    assert len(rows(html, "as-records")) == 5


def test_every_page_asks_the_hook_and_answers_its_refusal(front: Front) -> None:
    front.mount(owner_only)
    session_id = seeded(front, 2, created_by=1)
    status, html = front.page("/centre/")
    assert status == 401 and ZH.authentication_required in html
    status, html = front.page(f"/centre/sessions/{session_id}", "bob")
    assert status == 403 and ZH.permission_required in html and session_id not in html
    status, html = front.page("/centre/sessions/no-such-session", "alice")
    assert status == 404 and ZH.session_not_found in html


@pytest.mark.parametrize(
    "query",
    ["?status=bogus", "?limit=0", "?limit=99999", "?cursor=%00", "?category=x" * 50, "?cursor=abc"],
)
def test_hostile_query_parameters_are_a_400_page(front: Front, query: str) -> None:
    front.mount(owner_only)
    session_id = seeded(front, 1)
    status, html = front.page("/centre/" + query, "alice")
    assert status == 400 and "查询参数" in html
    if "status" in query or "cursor" in query:
        status, html = front.page(f"/centre/sessions/{session_id}{query}", "alice")
        assert status == 400 and "查询参数" in html


def test_buttons_the_actor_may_not_use_are_not_shown(front: Front) -> None:
    def viewer(request: Any, action: str, target: SyncSessionInfo | int | None) -> int:
        if action in (Action.SYNC_ALL, Action.CANCEL_SESSION):
            raise PermissionDenied("")
        return user_of(request)

    front.mount(viewer)
    session_id = seeded(front, 2)
    status, html = front.page("/centre/", "alice")
    assert status == 200 and 'data-action="start"' not in html
    status, html = front.page(f"/centre/sessions/{session_id}", "alice")
    assert status == 200 and 'data-action="cancel"' not in html
    # ... and the server refuses them anyway.
    assert front.call("post", f"/sync-sessions/{session_id}/actions/cancel", "alice")[0] == 403


def test_a_finished_session_has_no_cancel_button_and_does_not_poll(front: Front) -> None:
    front.mount(owner_only)
    session_id = seeded(front, 1)
    finish(front, session_id, {1: None})
    assert front.service.sessions.finish_session(session_id, status=SessionStatus.COMPLETED)
    _, html = front.page(f"/centre/sessions/{session_id}", "alice")
    assert 'data-status="completed"' in html and ZH.centre_status_completed in html
    assert 'data-action="cancel"' not in html and 'data-live=""' in html


def test_the_pages_speak_the_services_language(front: Front) -> None:
    front.service = in_memory_service(make_instances(2), messages=EN)
    front.mount(owner_only)
    session_id = seeded(front, 2)
    _, html = front.page("/centre/", "alice")
    assert '<html lang="en">' in html and EN.centre_sessions in html and EN.centre_start in html
    _, html = front.page(f"/centre/sessions/{session_id}", "alice")
    assert EN.centre_failed_records in html and EN.centre_status_running in html
    assert not re.search(r"[\u4e00-\u9fff]", html)


def test_the_static_files_are_served(front: Front) -> None:
    front.mount(owner_only)
    for name, word in (("centre.js", "setInterval"), ("centre.css", "@media")):
        status, text = front.page(f"/centre/static/accounts_sync/centre/{name}")
        assert status == 200 and word in text


# -- per framework: turning it off, overriding templates, CSRF tokens ---------------------


def _flask_app(tmp_path: Path | None = None, **options: Any) -> flask.Flask:
    app = flask.Flask(__name__, template_folder=str(tmp_path) if tmp_path else "templates")
    init_app(app, in_memory_service(make_instances(1)), authorize=owner_only, **options)
    return app


def test_flask_session_centre_false_mounts_no_page() -> None:
    client = _flask_app(session_centre=False).test_client()
    assert client.get("/api/v1/centre/", headers={"X-User": "alice"}).status_code == 404
    assert client.get("/api/v1/sync-sessions", headers={"X-User": "alice"}).status_code == 200


@pytest.fixture
def django_urls(settings: Any) -> Iterator[Callable[..., Client]]:
    """Mount the Django views (with ``urls(**options)``) at ``/api/v1/``: a client for them."""

    def mount(**options: Any) -> Client:
        views = AccountsSyncViews(in_memory_service(make_instances(1)), authorize=owner_only)
        module = types.ModuleType(URLCONF)
        module.urlpatterns = [path("api/v1/", include(views.urls(**options)))]  # type: ignore[attr-defined]
        sys.modules[URLCONF] = module
        settings.ROOT_URLCONF = URLCONF
        return Client(enforce_csrf_checks=True, headers={"X-User": "alice"})

    yield mount
    sys.modules.pop(URLCONF, None)


def test_django_session_centre_false_mounts_no_page(django_urls: Callable[..., Client]) -> None:
    client = django_urls(session_centre=False)
    assert client.get("/api/v1/centre/").status_code == 404
    assert client.get("/api/v1/sync-sessions").status_code == 200


def _override(folder: Path) -> None:
    page = folder / "accounts_sync" / "centre" / "sessions.html"
    page.parent.mkdir(parents=True)
    page.write_text(
        '{% extends "accounts_sync/centre/base.html" %}'
        "{% block content %}<h1>Our own list</h1>{% endblock %}"
    )


def test_flask_apps_override_a_template_in_their_own_folder(tmp_path: Path) -> None:
    _override(tmp_path)
    client = _flask_app(tmp_path).test_client()
    html = client.get("/api/v1/centre/", headers={"X-User": "alice"}).get_data(as_text=True)
    assert "<h1>Our own list</h1>" in html and ZH.centre_title in html  # the base is ours


def test_django_projects_override_a_template_in_their_dirs(
    settings: Any, django_urls: Callable[..., Client], tmp_path: Path
) -> None:
    _override(tmp_path)
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path)]}]
    html = django_urls().get("/api/v1/centre/").content.decode()
    assert "<h1>Our own list</h1>" in html and ZH.centre_title in html


def test_flask_wtf_token_goes_to_the_page_when_the_app_uses_it() -> None:
    from flask_wtf.csrf import CSRFProtect

    plain = _flask_app().test_client().get("/api/v1/centre/", headers={"X-User": "alice"})
    assert 'data-csrf-token=""' in plain.get_data(as_text=True)
    app = _flask_app()
    app.config["SECRET_KEY"] = "test"
    CSRFProtect(app)
    page = app.test_client().get("/api/v1/centre/", headers={"X-User": "alice"})
    html = page.get_data(as_text=True)
    assert re.search(r'data-csrf-token="[^"]{20,}"', html)
    assert 'data-csrf-header="X-CSRFToken"' in html


def test_django_token_goes_to_the_page(django_urls: Callable[..., Client]) -> None:
    html = django_urls().get("/api/v1/centre/").content.decode()
    assert 'data-csrf-header="X-CSRFTOKEN"' in html
    assert re.search(r'data-csrf-token="[A-Za-z0-9]{32,}"', html)


def test_a_hook_failing_on_a_button_is_the_logged_generic_500(
    front: Front, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(request: Any, action: str, target: SyncSessionInfo | int | None) -> Any:
        if action == Action.SYNC_ALL:
            raise RuntimeError("the permission service is down: password=hunter2")
        return "yes" if action == Action.CANCEL_SESSION else user_of(request)

    front.mount(broken)
    session_id = seeded(front, 1)
    status, html = front.page("/centre/", "alice")
    assert status == 500 and ZH.internal_error in html and "hunter2" not in html
    status, html = front.page(f"/centre/sessions/{session_id}", "alice")
    assert status == 500 and ZH.internal_error in html
    logged = [r for r in caplog.records if r.name == "accounts_sync.contrib.http"]
    assert [r.action for r in logged] == [Action.LIST_SESSIONS, Action.VIEW_SESSION]  # type: ignore[attr-defined]
    assert "hunter2" not in caplog.text


def test_flask_pages_render_under_a_strict_jinja_undefined() -> None:
    import jinja2

    app = _flask_app()
    app.jinja_env.undefined = jinja2.StrictUndefined
    client = app.test_client()
    alice = {"X-User": "alice"}
    started = client.post("/api/v1/instances/actions/sync-accounts", headers=alice)
    session_id = started.get_json()["data"]["session_id"]
    for url, status in (
        ("/api/v1/centre/", 200),
        (f"/api/v1/centre/sessions/{session_id}?status=failed", 200),
        ("/api/v1/centre/sessions/unknown", 404),
    ):
        assert client.get(url, headers=alice).status_code == status, url


def test_django_buttons_post_their_form_with_the_token_without_javascript(
    django_urls: Callable[..., Client],
) -> None:
    client = django_urls()
    html = client.get("/api/v1/centre/").content.decode()
    form = re.search(r'<form method="post" action="([^"]+)" data-action="start">', html)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert form is not None and token is not None
    assert client.post(form.group(1)).status_code == 403  # Django's CSRF check, as ever
    answer = client.post(form.group(1), {"csrfmiddlewaretoken": token.group(1)})
    assert answer.status_code == 200 and json.loads(answer.content)["success"] is True
