"""Inside the blueprint's prefix every answer is the JSON envelope, readable as UTF-8."""

from __future__ import annotations

import flask
import pytest

from accounts_sync.contrib.flask import init_app
from accounts_sync.testing import ScriptedSyncService, in_memory_service, make_instances

from .conftest import HEADERS, Env, authorize

METHOD_NOT_ALLOWED = {
    "success": False,
    "error": True,
    "message_code": "METHOD_NOT_ALLOWED",
    "message": "不支持该请求方法",
}


@pytest.mark.parametrize("segment", ["abc", "-1", "1.5", "１２", "0x10"])
def test_a_malformed_instance_id_is_the_404_envelope(env: Env, segment: str) -> None:
    response = env.post(f"/instances/{segment}/actions/sync-accounts")
    assert response.status_code == 404
    assert response.get_json()["message_code"] == "RESOURCE_NOT_FOUND"
    assert response.get_json()["message"] == "实例不存在"


def test_a_malformed_id_still_asks_the_hook_first(env: Env) -> None:
    response = env.post("/instances/abc/actions/sync-accounts", headers={})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("get", "/instances/actions/sync-accounts", "POST"),
        ("put", "/instances/1/actions/sync-accounts", "POST"),
        ("delete", "/instances/abc/actions/sync-accounts", "POST"),
        ("post", "/sync-sessions/s", "GET, HEAD"),
        ("patch", "/sync-sessions/s/actions/cancel", "POST"),
    ],
)
def test_a_wrong_method_is_the_405_envelope(env: Env, method: str, path: str, allowed: str) -> None:
    response = getattr(env.client, method)(f"/api/v1{path}", headers=HEADERS)
    assert response.status_code == 405
    assert response.get_json() == METHOD_NOT_ALLOWED
    assert response.headers["Allow"] == allowed
    assert env.launcher.jobs == []


def test_head_is_answered_like_get(env: Env) -> None:
    session_id = env.post("/instances/actions/sync-accounts").get_json()["data"]["session_id"]
    head = env.client.head(f"/api/v1/sync-sessions/{session_id}", headers=HEADERS)
    assert head.status_code == 200
    assert head.data == b""


def test_non_ascii_messages_are_readable_without_host_settings() -> None:
    app = flask.Flask(__name__)
    assert app.json.ensure_ascii  # type: ignore[attr-defined]  # Flask's default: escape
    sync = ScriptedSyncService().script(1, result={"success": True, "message": "同步完成"})
    init_app(app, in_memory_service(make_instances(1), sync_service=sync), authorize=authorize)

    @app.get("/host")
    def host() -> flask.Response:
        return flask.jsonify({"text": "主机"})

    client = app.test_client()
    response = client.post("/api/v1/instances/1/actions/sync-accounts", headers=HEADERS)
    assert response.status_code == 200
    assert "同步完成" in response.get_data(as_text=True)
    assert "\\u" not in response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    # The host's own responses keep the host's settings.
    assert client.get("/host").get_data(as_text=True).strip() == '{"text":"\\u4e3b\\u673a"}'
