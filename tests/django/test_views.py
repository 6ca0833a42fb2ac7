"""The HTTP endpoints through Django's real test client: envelopes, authorization, CSRF,
and launching only after the commit."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from typing import Any

import pytest
from django.db import connections, transaction
from django.test import Client
from django.urls import URLPattern
from django.utils import timezone
from inventory.models import Instance

from accounts_sync import (
    AccountsSyncActionsService,
    InlineLauncher,
    Messages,
    RecordStatus,
    SessionStatus,
    SyncCategory,
    SyncType,
)
from accounts_sync.contrib.django import (
    AccountsSyncViews,
    DjangoSyncSessionRepository,
    accounts_sync_urls,
    build_service,
)
from accounts_sync.contrib.django.models import SyncSession
from accounts_sync.contrib.http import NotAuthenticated
from accounts_sync.ports import RecordOutcome
from accounts_sync.testing import RecordingLauncher, ScriptedSyncService

from .state import State

pytestmark = pytest.mark.django_db

MESSAGES = Messages()
SYNC_ALL = "/api/instances/actions/sync-accounts"
GENERIC_500 = {
    "success": False,
    "error": True,
    "message_code": "INTERNAL_ERROR",
    "message": MESSAGES.internal_error,
}


def sync_one_url(instance_id: int) -> str:
    return f"/api/instances/{instance_id}/actions/sync-accounts"


def session_url(session_id: str) -> str:
    return f"/api/sync-sessions/{session_id}"


def cancel_url(session_id: str) -> str:
    return f"/api/sync-sessions/{session_id}/actions/cancel"


def body(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == "application/json"
    result: dict[str, Any] = json.loads(response.content)
    return result


@pytest.fixture
def api(
    state: State, sync_service: ScriptedSyncService, launcher: RecordingLauncher, db: None
) -> AccountsSyncActionsService[Any]:
    service = build_service(sync_service=sync_service, instances=Instance, launcher=launcher)
    state.current = service
    return service


@pytest.fixture
def instances(db: None) -> list[Instance]:
    return [
        Instance.objects.create(name=f"db-{i}", db_type="mysql", host=f"10.0.0.{i}")
        for i in range(1, 4)
    ]


@pytest.fixture
def signed_in(client: Client, operator: Any) -> Client:
    client.force_login(operator)
    return client


def _session(api: AccountsSyncActionsService[Any], *, claim: bool = False) -> str:
    info = api.sessions.create_session(
        sync_type=SyncType.MANUAL_TASK, sync_category=SyncCategory.ACCOUNT, created_by=1
    )
    if claim:
        api.sessions.claim_session(info.session_id)
    return info.session_id


# -- configuration ---------------------------------------------------------------------------


def test_no_authorize_hook_no_urls(api: AccountsSyncActionsService[Any]) -> None:
    with pytest.raises(TypeError, match="authorize"):
        accounts_sync_urls(api, authorize=None)
    with pytest.raises(TypeError):
        AccountsSyncViews(api, authorize="not callable")  # type: ignore[arg-type]


def test_urls_follow_the_contract_and_the_prefix(api: AccountsSyncActionsService[Any]) -> None:
    hook = lambda request, action: None  # noqa: E731
    patterns = accounts_sync_urls(api, authorize=hook, prefix="/v1/", session_centre=False)
    assert all(isinstance(p, URLPattern) for p in patterns)
    assert [str(p.pattern) for p in patterns] == [
        "v1/instances/actions/sync-accounts",
        "v1/instances/<str:instance_id>/actions/sync-accounts",
        "v1/sync-sessions",
        "v1/sync-sessions/<str:session_id>",
        "v1/sync-sessions/<str:session_id>/records",
        "v1/sync-sessions/<str:session_id>/actions/cancel",
    ]
    # CSRF stays Django's job: no view is exempt.
    assert not any(getattr(p.callback, "csrf_exempt", False) for p in patterns)


# -- POST instances/actions/sync-accounts ----------------------------------------------------


def test_sync_all_answers_200_and_launches_only_after_commit(
    signed_in: Client,
    api: Any,
    instances: list[Instance],
    launcher: RecordingLauncher,
    operator: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = signed_in.post(SYNC_ALL)
    assert response.status_code == 200
    payload = body(response)
    session_id = payload["data"]["session_id"]
    assert payload == {
        "success": True,
        "error": False,
        "message": MESSAGES.background_launched,
        "data": {"session_id": session_id},
    }
    assert uuid.UUID(session_id).version == 4
    # Written in the request's transaction, not launched yet: that waits for the commit.
    session = SyncSession.objects.get(session_id=session_id)
    assert (session.status, session.created_by, session.lock_key) == (
        "pending",
        operator.pk,
        "account",
    )
    assert launcher.jobs == [] and len(callbacks) == 1
    callbacks[0]()
    assert [(j.session_id, j.created_by, j.manual_run) for j in launcher.jobs] == [
        (session_id, operator.pk, True)
    ]


def test_sync_all_without_active_instances_is_400(
    signed_in: Client,
    api: Any,
    launcher: RecordingLauncher,
    django_capture_on_commit_callbacks: Any,
) -> None:
    Instance.objects.create(name="off", db_type="mysql", host="h", is_active=False)
    with django_capture_on_commit_callbacks() as callbacks:
        response = signed_in.post(SYNC_ALL)
    assert response.status_code == 400
    assert body(response) == {
        "success": False,
        "error": True,
        "message_code": "VALIDATION_ERROR",
        "message": MESSAGES.no_active_instances,
    }
    assert callbacks == [] and launcher.jobs == [] and not SyncSession.objects.exists()


def test_sync_all_while_one_runs_is_409_naming_it(
    signed_in: Client,
    api: Any,
    instances: list[Instance],
    django_capture_on_commit_callbacks: Any,
) -> None:
    holder = _session(api, claim=True)
    with django_capture_on_commit_callbacks() as callbacks:
        response = signed_in.post(SYNC_ALL)
    assert response.status_code == 409
    assert body(response) == {
        "success": False,
        "error": True,
        "message_code": "CONFLICT",
        "message": MESSAGES.full_sync_already_running,
        "extra": {"session_id": holder},
    }
    assert callbacks == [] and SyncSession.objects.count() == 1


def test_sync_all_failure_is_a_generic_500(
    signed_in: Client,
    api: Any,
    instances: list[Instance],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Any,
) -> None:
    def explode() -> int:
        raise RuntimeError("db at postgresql://admin:hunter2@10.0.0.9 is on fire")

    monkeypatch.setattr(api.instances, "count_active", explode)
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks() as callbacks:
        response = signed_in.post(SYNC_ALL)
    assert response.status_code == 500
    assert body(response) == GENERIC_500
    for leak in (b"hunter2", b"RuntimeError", b"on fire", b"Traceback"):
        assert leak not in response.content
    assert callbacks == [] and not SyncSession.objects.exists()
    logged = [r for r in caplog.records if getattr(r, "error_type", None) == "RuntimeError"]
    assert logged and "hunter2" not in logged[0].error_message  # type: ignore[attr-defined]


# -- launch only after commit, with real commits ---------------------------------------------


class _CommitProbe:
    """A launcher that checks, from another connection, that the session is committed."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []

    def launch(self, job: Any, run: Any) -> str:
        committed: list[bool] = []

        def look() -> None:
            try:
                committed.append(SyncSession.objects.filter(session_id=job.session_id).exists())
            finally:
                connections.close_all()

        thread = threading.Thread(target=look)
        thread.start()
        thread.join()
        self.seen.append((job.session_id, committed[0]))
        return "probe"


@pytest.mark.django_db(transaction=True)
def test_the_launch_sees_a_committed_session(
    client: Client,
    operator: Any,
    state: State,
    sync_service: ScriptedSyncService,
) -> None:
    Instance.objects.create(name="db", db_type="mysql", host="h")
    probe = _CommitProbe()
    state.current = build_service(sync_service=sync_service, instances=Instance, launcher=probe)
    client.force_login(operator)
    response = client.post(SYNC_ALL)
    assert response.status_code == 200
    assert probe.seen == [(body(response)["data"]["session_id"], True)]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_host_transaction_launches_nothing(
    client: Client,
    operator: Any,
    state: State,
    sync_service: ScriptedSyncService,
    launcher: RecordingLauncher,
) -> None:
    Instance.objects.create(name="db", db_type="mysql", host="h")
    state.current = build_service(sync_service=sync_service, instances=Instance, launcher=launcher)
    client.force_login(operator)
    with transaction.atomic():
        response = client.post(SYNC_ALL)
        assert response.status_code == 200
        transaction.set_rollback(True)
    assert launcher.jobs == [] and not SyncSession.objects.exists()
    # Committed this time: launched once.
    response = client.post(SYNC_ALL)
    assert [j.session_id for j in launcher.jobs] == [body(response)["data"]["session_id"]]


@pytest.fixture
def atomic_requests() -> Any:
    settings_dict = connections["default"].settings_dict
    settings_dict["ATOMIC_REQUESTS"] = True
    yield
    settings_dict["ATOMIC_REQUESTS"] = False


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("atomic_requests")
def test_atomic_requests_a_failing_host_view_launches_nothing(
    operator: Any,
    state: State,
    sync_service: ScriptedSyncService,
    launcher: RecordingLauncher,
) -> None:
    Instance.objects.create(name="db", db_type="mysql", host="h")
    state.current = build_service(sync_service=sync_service, instances=Instance, launcher=launcher)
    client = Client(raise_request_exception=False)
    client.force_login(operator)
    assert client.post("/host/sync-then-fail").status_code == 500
    assert launcher.jobs == [] and not SyncSession.objects.exists()
    response = client.post(SYNC_ALL)  # the request's own commit launches it
    assert response.status_code == 200
    assert [j.session_id for j in launcher.jobs] == [body(response)["data"]["session_id"]]


@pytest.mark.django_db(transaction=True)
def test_a_launch_failing_after_commit_marks_the_session_failed(
    client: Client,
    operator: Any,
    state: State,
    sync_service: ScriptedSyncService,
    launcher: RecordingLauncher,
) -> None:
    Instance.objects.create(name="db", db_type="mysql", host="h")
    launcher.fail_with = RuntimeError("no threads left")
    state.current = build_service(sync_service=sync_service, instances=Instance, launcher=launcher)
    client.force_login(operator)
    response = client.post(SYNC_ALL)  # the view's own commit runs the launch: it can answer
    assert response.status_code == 500
    assert body(response) == GENERIC_500
    assert b"no threads left" not in response.content
    (session,) = SyncSession.objects.all()
    assert session.status == "failed" and session.lock_key is None
    assert session.error_message == "RuntimeError: no threads left"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("atomic_requests")
def test_atomic_requests_a_launch_failing_after_the_response_still_fails_the_session(
    client: Client,
    operator: Any,
    state: State,
    sync_service: ScriptedSyncService,
    launcher: RecordingLauncher,
) -> None:
    """Under ``ATOMIC_REQUESTS`` the launch runs at the request's commit, after the view has
    answered: the client gets 200, and the session endpoint shows the failure."""
    Instance.objects.create(name="db", db_type="mysql", host="h")
    launcher.fail_with = RuntimeError("no threads left")
    state.current = build_service(sync_service=sync_service, instances=Instance, launcher=launcher)
    client.force_login(operator)
    response = client.post(SYNC_ALL)
    assert response.status_code == 200
    session_id = body(response)["data"]["session_id"]
    session = SyncSession.objects.get(session_id=session_id)
    assert session.status == "failed" and session.lock_key is None
    assert session.error_message == "RuntimeError: no threads left"
    detail = body(client.get(session_url(session_id)))["data"]["session"]
    assert detail["status"] == "failed"
    # The failed launch does not disturb the host's other on-commit callbacks.
    launcher.fail_with = RuntimeError("still no threads")
    response = client.post("/host/sync-then-note")
    assert response.status_code == 200
    assert state.notes == ["host view committed"]
    assert SyncSession.objects.get(session_id=body(response)["data"]["session_id"]).status == (
        "failed"
    )


# -- POST instances/<id>/actions/sync-accounts -----------------------------------------------


def test_sync_one_200_counts_the_sync(
    signed_in: Client,
    api: Any,
    instances: list[Instance],
    sync_service: ScriptedSyncService,
) -> None:
    target = instances[1]
    Instance.objects.filter(pk=target.pk).update(sync_count=None)
    sync_service.script(
        target.pk, result={"success": True, "synced_count": 3, "details": {"api_token": "t0k3n"}}
    )
    response = signed_in.post(sync_one_url(target.pk))
    assert response.status_code == 200
    payload = body(response)
    message = MESSAGES.result_success.format(context=MESSAGES.context_for(target.name))
    assert payload == {
        "success": True,
        "error": False,
        "message": message,
        "data": {
            "result": {
                "success": True,
                "status": "completed",
                "message": message,
                "synced_count": 3,
                "details": {"api_token": "***"},
            }
        },
    }
    assert Instance.objects.get(pk=target.pk).sync_count == 1
    assert sync_service.calls[-1].sync_type == "manual_single"


def test_sync_one_failed_is_400_and_rolled_back(
    signed_in: Client,
    api: Any,
    instances: list[Instance],
    sync_service: ScriptedSyncService,
) -> None:
    target = instances[0]

    def half_done(instance: Instance) -> dict[str, Any]:
        Instance.objects.filter(pk=instance.pk).update(host="changed-by-the-sync")
        return {"success": "false", "message": "access denied"}

    sync_service.script(target.pk, call=half_done)
    response = signed_in.post(sync_one_url(target.pk))
    assert response.status_code == 400
    assert body(response) == {
        "success": False,
        "error": True,
        "message_code": "INVALID_REQUEST",
        "message": "access denied",
        "extra": {
            "instance_id": target.pk,
            "result": {"success": False, "status": "failed", "message": "access denied"},
        },
    }
    fresh = Instance.objects.get(pk=target.pk)
    assert (fresh.host, fresh.sync_count) == ("10.0.0.1", 0)


@pytest.mark.parametrize("instance_id", [0])
def test_sync_one_invalid_id_is_400(signed_in: Client, api: Any, instance_id: int) -> None:
    response = signed_in.post(sync_one_url(instance_id))
    assert response.status_code == 400
    assert body(response) == {
        "success": False,
        "error": True,
        "message_code": "VALIDATION_ERROR",
        "message": MESSAGES.invalid_instance_id,
    }


def test_sync_one_missing_or_deleted_is_404(
    signed_in: Client,
    api: Any,
    instances: list[Instance],
) -> None:
    Instance.objects.filter(pk=instances[0].pk).update(deleted_at=timezone.now())
    for instance_id in (instances[0].pk, 10**6, 10**25):
        response = signed_in.post(sync_one_url(instance_id))
        assert response.status_code == 404
        assert body(response) == {
            "success": False,
            "error": True,
            "message_code": "RESOURCE_NOT_FOUND",
            "message": MESSAGES.instance_not_found,
        }


def test_sync_one_of_a_disabled_instance_is_allowed(
    signed_in: Client,
    api: Any,
    instances: list[Instance],
) -> None:
    Instance.objects.filter(pk=instances[2].pk).update(is_active=False)
    assert signed_in.post(sync_one_url(instances[2].pk)).status_code == 200


def test_sync_one_raising_is_a_generic_500(
    signed_in: Client,
    api: Any,
    instances: list[Instance],
    sync_service: ScriptedSyncService,
) -> None:
    sync_service.script(instances[0].pk, raises=ValueError("mysql://root:hunter2@h exploded"))
    response = signed_in.post(sync_one_url(instances[0].pk))
    assert response.status_code == 500
    assert body(response)["message"] == MESSAGES.internal_error
    assert b"hunter2" not in response.content and b"exploded" not in response.content
    assert Instance.objects.get(pk=instances[0].pk).sync_count == 0


# -- GET sync-sessions/<id> and POST .../actions/cancel --------------------------------------


def test_session_detail_shows_progress_and_records(signed_in: Client, api: Any) -> None:
    session_id = _session(api, claim=True)
    api.sessions.add_records(session_id, [(1, "db-1"), (2, "db-2"), (3, "db-3"), (4, "db-4")])
    api.sessions.start_records(session_id, [1, 2])
    api.sessions.finish_records(
        session_id,
        [
            RecordOutcome(instance_id=1, status=RecordStatus.COMPLETED, items_synced=9),
        ],
    )
    response = signed_in.get(session_url(session_id))
    assert response.status_code == 200
    payload = body(response)
    assert payload["success"] is True and payload["error"] is False
    session = payload["data"]["session"]
    assert (
        session["session_id"],
        session["status"],
        session["total_instances"],
        session["successful_instances"],
        session["progress"],
    ) == (session_id, "running", 4, 1, 25.0)
    assert [
        (r["instance_name"], r["status"], r["items_synced"]) for r in payload["data"]["records"]
    ] == [
        ("db-1", "completed", 9),
        ("db-2", "running", 0),
        ("db-3", "pending", 0),
        ("db-4", "pending", 0),
    ]


def test_session_detail_of_a_full_sync_run_inline(
    signed_in: Client,
    state: State,
    instances: list[Instance],
    sync_service: ScriptedSyncService,
    django_capture_on_commit_callbacks: Any,
) -> None:
    state.current = build_service(
        sync_service=sync_service, instances=Instance, launcher=InlineLauncher()
    )
    sync_service.script(instances[1].pk, result={"success": False, "message": "denied"})
    with django_capture_on_commit_callbacks(execute=True):
        session_id = body(signed_in.post(SYNC_ALL))["data"]["session_id"]
    payload = body(signed_in.get(session_url(session_id)))["data"]
    assert payload["session"]["status"] == "completed_with_errors"
    assert payload["session"]["progress"] == 100.0
    assert {r["instance_name"]: r["status"] for r in payload["records"]} == {
        "db-1": "completed",
        "db-2": "failed",
        "db-3": "completed",
    }
    assert sorted(Instance.objects.values_list("sync_count", flat=True)) == [0, 1, 1]


def test_unknown_session_is_404(signed_in: Client, api: Any) -> None:
    for response in (signed_in.get(session_url("nope")), signed_in.post(cancel_url("nope"))):
        assert response.status_code == 404
        assert body(response) == {
            "success": False,
            "error": True,
            "message_code": "RESOURCE_NOT_FOUND",
            "message": MESSAGES.session_not_found,
        }


def test_the_django_store_bounds_the_session_and_pages_its_records(
    signed_in: Client, api: Any
) -> None:
    session_id = _session(api, claim=True)
    api.sessions.add_records(session_id, [(n, f"db-{n}") for n in range(1, 151)])
    api.sessions.start_records(session_id, [2, 120])
    api.sessions.finish_records(
        session_id, [RecordOutcome(instance_id=n, status=RecordStatus.FAILED) for n in (2, 120)]
    )
    every = [record.as_dict() for record in api.sessions.list_records(session_id)]
    first = body(signed_in.get(session_url(session_id)))["data"]
    assert first["records"] == every[:100] and first["session"]["total_instances"] == 150
    rest = body(signed_in.get(f"{session_url(session_id)}/records?cursor={first['next_cursor']}"))
    assert rest["data"] == {"records": every[100:], "next_cursor": None}
    failed = body(signed_in.get(f"{session_url(session_id)}/records?status=failed&limit=1"))
    assert [r["instance_id"] for r in failed["data"]["records"]] == [2]
    cursor = failed["data"]["next_cursor"]
    url = f"{session_url(session_id)}/records?status=failed&limit=1&cursor={cursor}"
    assert [r["instance_id"] for r in body(signed_in.get(url))["data"]["records"]] == [120]
    listed = body(signed_in.get("/api/sync-sessions?status=running&category=account"))["data"]
    assert [item["session_id"] for item in listed["sessions"]] == [session_id]
    assert listed["next_cursor"] is None
    bad = signed_in.get("/api/sync-sessions?limit=1000")
    assert bad.status_code == 400 and body(bad)["message_code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("session_id", ["a%00b", "x" * 10_000, "%0A%0D", "%1B%5B2J", "%ED%A0%80"])
def test_hostile_session_ids_on_the_django_store_are_404(
    signed_in: Client, api: Any, session_id: str
) -> None:
    for response in (
        signed_in.get(session_url(session_id)),
        signed_in.post(cancel_url(session_id)),
    ):
        assert response.status_code == 404
        assert body(response) == {
            "success": False,
            "error": True,
            "message_code": "RESOURCE_NOT_FOUND",
            "message": MESSAGES.session_not_found,
        }


@pytest.mark.parametrize("instance_id", [2**63 - 1, 2**63, 2**64, 10**300])
def test_huge_instance_ids_on_the_django_store_are_404(
    signed_in: Client, api: Any, instance_id: int
) -> None:
    response = signed_in.post(sync_one_url(instance_id))
    assert response.status_code == 404
    assert body(response)["message"] == MESSAGES.instance_not_found


def test_cancel_pending_then_again(signed_in: Client, api: Any) -> None:
    session_id = _session(api)
    response = signed_in.post(cancel_url(session_id))
    assert response.status_code == 200
    assert body(response) == {
        "success": True,
        "error": False,
        "message": MESSAGES.session_cancelled,
        "data": {"session_id": session_id},
    }
    info = api.sessions.get_session(session_id)
    assert info.status is SessionStatus.CANCELLED
    response = signed_in.post(cancel_url(session_id))
    assert response.status_code == 409
    assert body(response) == {
        "success": False,
        "error": True,
        "message_code": "CONFLICT",
        "message": MESSAGES.session_not_cancellable,
        "extra": {"session_id": session_id},
    }


def test_cancel_running_asks_the_task(signed_in: Client, api: Any) -> None:
    session_id = _session(api, claim=True)
    assert signed_in.post(cancel_url(session_id)).status_code == 200
    info = api.sessions.get_session(session_id)
    assert info.status is SessionStatus.RUNNING and info.cancel_requested


# -- authorization, CSRF, methods ------------------------------------------------------------

ENDPOINTS = [
    ("post", SYNC_ALL),
    ("post", sync_one_url(1)),
    ("get", session_url("s")),
    ("post", cancel_url("s")),
    ("get", "/api/sync-sessions"),
    ("get", session_url("s") + "/records"),
]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_anonymous_is_401(
    client: Client, api: Any, method: str, url: str, launcher: RecordingLauncher
) -> None:
    response = getattr(client, method)(url)
    assert response.status_code == 401
    assert body(response) == {
        "success": False,
        "error": True,
        "message_code": "AUTHENTICATION_REQUIRED",
        "message": MESSAGES.authentication_required,
    }
    assert launcher.jobs == [] and not SyncSession.objects.exists()


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_without_permission_is_403(
    client: Client, api: Any, viewer: Any, method: str, url: str
) -> None:
    client.force_login(viewer)
    response = getattr(client, method)(url)
    assert response.status_code == 403
    assert body(response) == {
        "success": False,
        "error": True,
        "message_code": "PERMISSION_REQUIRED",
        "message": MESSAGES.permission_required,
    }


def test_custom_hooks_and_catalogue(
    client: Client, state: State, sync_service: ScriptedSyncService
) -> None:
    from django.core.exceptions import PermissionDenied as DjangoPermissionDenied

    state.current = build_service(
        sync_service=sync_service, instances=Instance, messages=Messages.english()
    )
    actions: list[str] = []

    def hook(request: Any, action: str) -> int | None:
        actions.append(action)
        if request.headers.get("X-Token") != "ok":
            raise NotAuthenticated("token required")
        if request.method == "POST":
            raise DjangoPermissionDenied
        return None

    state.hook = hook
    assert body(client.get(session_url("s"))) == {
        "success": False,
        "error": True,
        "message_code": "AUTHENTICATION_REQUIRED",
        "message": "token required",
    }
    response = client.post(SYNC_ALL, headers={"X-Token": "ok"})
    assert response.status_code == 403
    assert body(response)["message"] == Messages.english().permission_required
    response = client.get(session_url("s"), headers={"X-Token": "ok"})
    assert body(response)["message"] == Messages.english().session_not_found
    assert actions == ["view_sync_session", "sync_all_accounts", "view_sync_session"]


def test_a_broken_hook_is_a_generic_500(client: Client, state: State, api: Any) -> None:
    def hook(request: Any, action: str) -> int | None:
        raise KeyError("secret-key-material")

    state.hook = hook
    response = client.get(session_url("s"))
    assert response.status_code == 500 and b"secret-key-material" not in response.content


def test_csrf_is_enforced_by_django(
    api: Any,
    operator: Any,
    instances: list[Instance],
    launcher: RecordingLauncher,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    with django_capture_on_commit_callbacks() as callbacks:
        for url in (SYNC_ALL, sync_one_url(instances[0].pk), cancel_url("s")):
            refused = client.post(url)
            assert refused.status_code == 403
            assert b"CSRF" in refused.content  # Django's CSRF failure page, not our envelope
    assert callbacks == [] and not SyncSession.objects.exists()
    assert Instance.objects.get(pk=instances[0].pk).sync_count == 0
    # With a token the same request goes through.
    token = "a" * 32
    client.cookies["csrftoken"] = token
    with django_capture_on_commit_callbacks(execute=True):
        accepted = client.post(SYNC_ALL, headers={"X-CSRFToken": token})
    assert accepted.status_code == 200 and len(launcher.jobs) == 1


METHOD_NOT_ALLOWED = {
    "success": False,
    "error": True,
    "message_code": "METHOD_NOT_ALLOWED",
    "message": "不支持该请求方法",
}


def test_wrong_method_is_the_405_envelope(signed_in: Client, api: Any) -> None:
    for refused, allowed in (
        (signed_in.get(SYNC_ALL), "POST"),
        (signed_in.put(sync_one_url(1)), "POST"),
        (signed_in.post(session_url("s")), "GET, HEAD"),
        (signed_in.delete(session_url("s")), "GET, HEAD"),
    ):
        assert refused.status_code == 405
        assert refused.json() == METHOD_NOT_ALLOWED
        assert refused["Allow"] == allowed
    assert not SyncSession.objects.exists()


@pytest.mark.parametrize("segment", ["abc", "-1", "1.5", "１２", "0x10"])
def test_a_malformed_instance_id_is_the_404_envelope(
    signed_in: Client, api: Any, segment: str
) -> None:
    response = signed_in.post(f"/api/instances/{segment}/actions/sync-accounts")
    assert response.status_code == 404
    assert response.json()["message_code"] == "RESOURCE_NOT_FOUND"
    assert response.json()["message"] == "实例不存在"


def test_head_is_answered_wherever_get_is(signed_in: Client, api: Any) -> None:
    head = signed_in.head(session_url(_session(api)))
    assert head.status_code == 200
    assert head["Content-Type"] == "application/json"
    assert head.content == b""
    assert signed_in.head(session_url("nope")).status_code == 404


def test_views_use_the_session_store_alias(api: Any) -> None:
    views = AccountsSyncViews(api, authorize=lambda request, action: None)
    assert views._alias(api) == "default"
    other = build_service(
        sync_service=ScriptedSyncService(),
        instances=Instance,
        sessions=DjangoSyncSessionRepository(using="default"),
    )
    assert AccountsSyncViews(other, authorize=lambda r, a: None, using="x")._alias(other) == "x"


@pytest.mark.django_db
def test_a_failing_service_factory_is_a_generic_500(
    client: Client, operator: Any, state: State
) -> None:
    state.current = None  # the URLconf's factory now raises
    client.force_login(operator)
    response = client.post(SYNC_ALL)
    assert response.status_code == 500
    assert body(response)["message_code"] == "INTERNAL_ERROR"
    assert "install" not in response.content.decode()  # no exception text
