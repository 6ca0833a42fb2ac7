"""The Flask blueprint over every endpoint of the HTTP contract, on in-memory stores."""

from __future__ import annotations

import threading
import time
from typing import Any

import flask
import pytest

from accounts_sync import ThreadLauncher
from accounts_sync.contrib.flask import create_blueprint, init_app
from accounts_sync.contrib.http import Action
from accounts_sync.testing import FakeInstance, in_memory_service, make_instances

from .conftest import ADMIN_ID, HEADERS, Env, authorize

LAUNCHED = "批量账户同步任务已在后台启动,请稍后在会话中心查看进度."
SECRET = "hunter2"


def _wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


# -- configuration --------------------------------------------------------------------------


def test_blueprint_without_authorize_is_refused_at_configuration() -> None:
    service = in_memory_service(make_instances(1))
    with pytest.raises(TypeError, match="authorize"):
        create_blueprint(service)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="authorize"):
        create_blueprint(service, authorize=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="authorize"):
        init_app(flask.Flask(__name__), service, authorize="yes")  # type: ignore[arg-type]


def test_service_must_be_a_service_or_factory() -> None:
    with pytest.raises(TypeError, match="service"):
        create_blueprint(object(), authorize=authorize)  # type: ignore[arg-type]


def test_routes_and_prefix() -> None:
    app = flask.Flask(__name__)
    service = in_memory_service(make_instances(1))
    app.register_blueprint(create_blueprint(service, authorize=authorize, url_prefix="/ops"))
    rules = {rule.rule: rule.methods for rule in app.url_map.iter_rules()}
    assert "POST" in rules["/ops/instances/actions/sync-accounts"]
    assert "POST" in rules["/ops/instances/<instance_id>/actions/sync-accounts"]
    assert "GET" in rules["/ops/sync-sessions"]
    assert "GET" in rules["/ops/sync-sessions/<session_id>"]
    assert "GET" in rules["/ops/sync-sessions/<session_id>/records"]
    assert "POST" in rules["/ops/sync-sessions/<session_id>/actions/cancel"]
    with app.test_request_context():
        assert flask.url_for("accounts_sync.sync_all_accounts") == (
            "/ops/instances/actions/sync-accounts"
        )


# -- full sync ------------------------------------------------------------------------------


def test_full_sync_200_envelope_and_launch(env: Env) -> None:
    response = env.post("/instances/actions/sync-accounts")
    assert response.status_code == 200
    body = response.get_json()
    session_id = body["data"]["session_id"]
    assert body == {
        "success": True,
        "error": False,
        "message": LAUNCHED,
        "data": {"session_id": session_id},
    }
    assert [job.session_id for job in env.launcher.jobs] == [session_id]
    assert env.launcher.jobs[0].created_by == ADMIN_ID
    info = env.service.sessions.get_session(session_id)
    assert info is not None
    assert info.status == "pending"
    assert info.created_by == ADMIN_ID


def test_full_sync_400_when_nothing_is_active() -> None:
    env = Env([FakeInstance(id=1, name="off", is_active=False)])
    response = env.post("/instances/actions/sync-accounts")
    assert response.status_code == 400
    assert response.get_json() == {
        "success": False,
        "error": True,
        "message_code": "VALIDATION_ERROR",
        "message": "没有找到活跃的数据库实例",
    }
    assert env.launcher.jobs == []


def test_full_sync_409_while_one_is_pending(env: Env) -> None:
    first = env.post("/instances/actions/sync-accounts").get_json()["data"]["session_id"]
    response = env.post("/instances/actions/sync-accounts")
    assert response.status_code == 409
    body = response.get_json()
    assert body["success"] is False
    assert body["error"] is True
    assert body["message_code"] == "CONFLICT"
    assert body["message"] == "已有账户同步任务正在运行"
    assert body["extra"] == {"session_id": first}
    assert len(env.launcher.jobs) == 1


def test_full_sync_500_is_generic(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> int:
        raise RuntimeError(f"connect failed: mysql://sync:{SECRET}@db")

    monkeypatch.setattr(env.service.instances, "count_active", broken)
    response = env.post("/instances/actions/sync-accounts")
    assert response.status_code == 500
    body = response.get_json()
    assert body == {
        "success": False,
        "error": True,
        "message_code": "INTERNAL_ERROR",
        "message": "服务器内部错误,请稍后重试",
    }
    text = response.get_data(as_text=True)
    assert SECRET not in text
    assert "RuntimeError" not in text
    assert "Traceback" not in text


def test_launcher_failure_is_500_and_fails_the_session(env: Env) -> None:
    env.launcher.fail_with = ConnectionError(f"broker down: redis://:{SECRET}@broker")
    response = env.post("/instances/actions/sync-accounts")
    assert response.status_code == 500
    assert SECRET not in response.get_data(as_text=True)
    assert "ConnectionError" not in response.get_data(as_text=True)
    (session,) = env.service.sessions.list_sessions()
    assert session.status == "failed"


def test_launch_runs_after_the_writes_and_the_job_completes(env: Env) -> None:
    session_id = env.post("/instances/actions/sync-accounts").get_json()["data"]["session_id"]
    assert env.launcher.run_all() == 1
    body = env.get(f"/sync-sessions/{session_id}").get_json()
    assert body["success"] is True
    session = body["data"]["session"]
    assert session["status"] == "completed"
    assert session["progress"] == 100.0
    assert session["total_instances"] == session["successful_instances"] == 3
    assert [r["status"] for r in body["data"]["records"]] == ["completed"] * 3


# -- single instance ------------------------------------------------------------------------


def test_single_instance_200(env: Env) -> None:
    env.sync_service.script(2, result={"success": True, "synced_count": 4, "message": "ok 4"})
    response = env.post("/instances/2/actions/sync-accounts")
    assert response.status_code == 200
    body = response.get_json()
    assert body["success"] is True
    assert body["error"] is False
    assert body["message"] == "ok 4"
    assert body["data"]["result"]["synced_count"] == 4
    assert body["data"]["result"]["status"] == "completed"
    assert env.service.instances.get(2).sync_count == 1  # type: ignore[union-attr]


def test_single_instance_failed_sync_is_400_invalid_request(env: Env) -> None:
    env.sync_service.script(2, result={"success": False, "message": "denied", "password": SECRET})
    response = env.post("/instances/2/actions/sync-accounts")
    assert response.status_code == 400
    body = response.get_json()
    assert body["message_code"] == "INVALID_REQUEST"
    assert body["message"] == "denied"
    assert body["extra"]["instance_id"] == 2
    assert body["extra"]["result"]["status"] == "failed"
    assert body["extra"]["result"]["password"] == "***"
    assert SECRET not in response.get_data(as_text=True)


def test_single_instance_404_and_400(env: Env) -> None:
    response = env.post("/instances/99/actions/sync-accounts")
    assert response.status_code == 404
    assert response.get_json() == {
        "success": False,
        "error": True,
        "message_code": "RESOURCE_NOT_FOUND",
        "message": "实例不存在",
    }
    response = env.post("/instances/0/actions/sync-accounts")
    assert response.status_code == 400
    assert response.get_json()["message"] == "实例 ID 无效"


def test_single_instance_500_holds_no_exception_text(env: Env) -> None:
    env.sync_service.script(1, raises=OSError(f"password={SECRET} refused"))
    response = env.post("/instances/1/actions/sync-accounts")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert response.get_json()["message_code"] == "INTERNAL_ERROR"
    assert SECRET not in text
    assert "OSError" not in text


# -- sessions -------------------------------------------------------------------------------


def test_session_detail_shows_progress_and_records_while_running() -> None:
    release = threading.Event()
    instances = make_instances(2)
    env = Env(instances)
    env.sync_service.script(2, call=lambda _: release.wait(10) and {"success": True})
    env.service.launcher = ThreadLauncher()
    session_id = env.post("/instances/actions/sync-accounts").get_json()["data"]["session_id"]
    try:

        def halfway() -> bool:
            session = env.get(f"/sync-sessions/{session_id}").get_json()["data"]["session"]
            return bool(session["successful_instances"] == 1)

        _wait_for(halfway)
        data = env.get(f"/sync-sessions/{session_id}").get_json()["data"]
        assert data["session"]["status"] == "running"
        assert data["session"]["progress"] == 50.0
        assert {r["instance_id"]: r["status"] for r in data["records"]} == {
            1: "completed",
            2: "running",
        }
    finally:
        release.set()

    def finished() -> bool:
        session = env.get(f"/sync-sessions/{session_id}").get_json()["data"]["session"]
        return bool(session["status"] == "completed")

    _wait_for(finished)


def test_session_404(env: Env) -> None:
    response = env.get("/sync-sessions/no-such-session")
    assert response.status_code == 404
    assert response.get_json()["message"] == "指定的 session_id 不存在"
    assert response.get_json()["message_code"] == "RESOURCE_NOT_FOUND"


def test_cancel_pending_then_409_then_404(env: Env) -> None:
    session_id = env.post("/instances/actions/sync-accounts").get_json()["data"]["session_id"]
    response = env.post(f"/sync-sessions/{session_id}/actions/cancel")
    assert response.status_code == 200
    assert response.get_json() == {
        "success": True,
        "error": False,
        "message": "会话已取消",
        "data": {"session_id": session_id},
    }
    detail = env.get(f"/sync-sessions/{session_id}").get_json()["data"]
    assert detail["session"]["status"] == "cancelled"
    # The launched job finds the session cancelled and runs nothing.
    env.launcher.run_all()
    assert env.sync_service.calls == []
    again = env.post(f"/sync-sessions/{session_id}/actions/cancel")
    assert again.status_code == 409
    assert again.get_json()["message_code"] == "CONFLICT"
    missing = env.post("/sync-sessions/nope/actions/cancel")
    assert missing.status_code == 404


# -- authorization --------------------------------------------------------------------------

ENDPOINTS = [
    ("post", "/instances/actions/sync-accounts", Action.SYNC_ALL),
    ("post", "/instances/1/actions/sync-accounts", Action.SYNC_INSTANCE),
    ("get", "/sync-sessions/abc", Action.VIEW_SESSION),
    ("post", "/sync-sessions/abc/actions/cancel", Action.CANCEL_SESSION),
]


@pytest.mark.parametrize(("method", "path", "action"), ENDPOINTS)
def test_401_without_credentials(env: Env, method: str, path: str, action: str) -> None:
    response = getattr(env, method)(path, headers={})
    assert response.status_code == 401
    assert response.get_json() == {
        "success": False,
        "error": True,
        "message_code": "AUTHENTICATION_REQUIRED",
        "message": "请先登录",
    }
    assert env.launcher.jobs == []
    assert env.sync_service.calls == []


@pytest.mark.parametrize(("method", "path", "action"), ENDPOINTS)
def test_403_when_not_allowed(env: Env, method: str, path: str, action: str) -> None:
    response = getattr(env, method)(path, headers={"X-Token": "viewer"})
    if action == Action.VIEW_SESSION:
        assert response.status_code == 404  # allowed to look; the session does not exist
        return
    assert response.status_code == 403
    assert response.get_json()["message_code"] == "PERMISSION_REQUIRED"
    assert response.get_json()["message"] == "没有执行该操作的权限"
    assert env.launcher.jobs == []
    assert env.service.sessions.list_sessions() == []


def test_authorize_receives_the_request_and_action() -> None:
    seen: list[tuple[str, str]] = []

    def recording(request: flask.Request, action: str) -> int:
        seen.append((request.path, action))
        return 1

    app = flask.Flask(__name__)
    init_app(app, in_memory_service(make_instances(1)), authorize=recording)
    client = app.test_client()
    client.post("/api/v1/instances/1/actions/sync-accounts")
    client.get("/api/v1/sync-sessions/x")
    assert seen == [
        ("/api/v1/instances/1/actions/sync-accounts", Action.SYNC_INSTANCE),
        ("/api/v1/sync-sessions/x", Action.VIEW_SESSION),
    ]


def test_authorize_crash_is_a_generic_500() -> None:
    def crashing(request: flask.Request, action: str) -> int:
        raise KeyError(SECRET)

    app = flask.Flask(__name__)
    init_app(app, in_memory_service(make_instances(1)), authorize=crashing)
    response = app.test_client().post("/api/v1/instances/actions/sync-accounts")
    assert response.status_code == 500
    assert SECRET not in response.get_data(as_text=True)


def test_hook_message_overrides_the_default() -> None:
    from accounts_sync.contrib.http import PermissionDenied

    def strict(request: flask.Request, action: str) -> int:
        raise PermissionDenied("only DBAs")

    app = flask.Flask(__name__)
    init_app(app, in_memory_service(make_instances(1)), authorize=strict)
    response = app.test_client().post("/api/v1/instances/actions/sync-accounts")
    assert response.status_code == 403
    assert response.get_json()["message"] == "only DBAs"


# -- service factory ------------------------------------------------------------------------


def test_factory_is_called_once_per_request() -> None:
    service = in_memory_service(make_instances(1))
    calls: list[int] = []

    def factory() -> Any:
        calls.append(1)
        return service

    app = flask.Flask(__name__)
    init_app(app, factory, authorize=authorize)
    client = app.test_client()
    assert client.post("/api/v1/instances/1/actions/sync-accounts", headers=HEADERS).status_code
    assert client.get("/api/v1/sync-sessions/x", headers=HEADERS).status_code == 404
    assert len(calls) == 2


def test_factory_crash_is_a_generic_500() -> None:
    def factory() -> Any:
        raise RuntimeError(SECRET)

    app = flask.Flask(__name__)
    init_app(app, factory, authorize=authorize)
    response = app.test_client().post("/api/v1/instances/actions/sync-accounts", headers=HEADERS)
    assert response.status_code == 500
    assert SECRET not in response.get_data(as_text=True)


def test_init_app_keeps_each_blueprint_by_name() -> None:
    app = flask.Flask(__name__)
    first = init_app(app, in_memory_service(make_instances(1)), authorize=authorize)
    second = init_app(
        app,
        in_memory_service(make_instances(1)),
        authorize=authorize,
        url_prefix="/v2",
        name="accounts_sync_v2",
    )
    assert app.extensions["accounts_sync"] == {"accounts_sync": first, "accounts_sync_v2": second}
    response = app.test_client().post("/v2/instances/1/actions/sync-accounts", headers=HEADERS)
    assert response.status_code == 200


@pytest.mark.parametrize("code", [401, 403])
def test_flask_abort_in_the_hook_keeps_its_status(code: int) -> None:
    def refusing(request: flask.Request, action: str) -> int | None:
        flask.abort(code)

    app = flask.Flask(__name__)
    init_app(app, in_memory_service(make_instances(1)), authorize=refusing)
    response = app.test_client().post("/api/v1/instances/actions/sync-accounts")
    assert response.status_code == code
    expected = "AUTHENTICATION_REQUIRED" if code == 401 else "PERMISSION_REQUIRED"
    assert response.get_json()["message_code"] == expected
