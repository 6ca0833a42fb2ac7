"""The shared HTTP dispatch through both frameworks' real test clients, one test for both.

It lives in this folder because Django needs the settings its conftest configures; Flask needs
nothing. Each test runs once on a Flask app and once on a Django URLconf built for the test,
both over the same in-memory service, at the same paths.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from accounts_sync import (
    ConflictError,
    Messages,
    NotFoundError,
    SyncSessionInfo,
    ValidationError,
)
from accounts_sync.contrib.http import (
    Action,
    NotAuthenticated,
    PermissionDenied,
)

from .fronts import Front, owner_only, user_of

# Real commits: the launch runs when the view's own transaction commits, as in production.
pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = Messages()


def not_found(kind: str) -> tuple[int, dict[str, Any]]:
    message = MESSAGES.session_not_found if kind == "session" else MESSAGES.instance_not_found
    return 404, {
        "success": False,
        "error": True,
        "message_code": "RESOURCE_NOT_FOUND",
        "message": message,
    }


GENERIC_500 = (
    500,
    {
        "success": False,
        "error": True,
        "message_code": "INTERNAL_ERROR",
        "message": MESSAGES.internal_error,
    },
)


# -- the target -----------------------------------------------------------------------------


def test_the_hook_receives_the_target(front: Front) -> None:
    seen: list[tuple[str, Any]] = []

    def recording(request: Any, action: str, target: Any) -> int:
        seen.append((action, target))
        return 1

    front.mount(recording)
    session_id = front.call("post", "/instances/actions/sync-accounts")[1]["data"]["session_id"]
    front.call("post", "/instances/2/actions/sync-accounts")
    front.call("get", f"/sync-sessions/{session_id}")
    front.call("post", f"/sync-sessions/{session_id}/actions/cancel")
    assert [action for action, _ in seen] == [
        Action.SYNC_ALL,
        Action.SYNC_INSTANCE,
        Action.VIEW_SESSION,
        Action.CANCEL_SESSION,
    ]
    assert seen[0][1] is None
    assert seen[1][1] == 2
    for _, target in seen[2:]:
        assert isinstance(target, SyncSessionInfo)
        assert (target.session_id, target.created_by) == (session_id, 1)


def test_sessions_are_allowed_object_by_object(front: Front) -> None:
    front.mount(owner_only)
    session_id = front.call("post", "/instances/actions/sync-accounts", "alice")[1]["data"][
        "session_id"
    ]
    assert front.call("get", f"/sync-sessions/{session_id}", "bob")[0] == 403
    assert front.call("post", f"/sync-sessions/{session_id}/actions/cancel", "carol")[0] == 403
    assert front.call("get", f"/sync-sessions/{session_id}", "alice")[0] == 200
    status, reply = front.call("post", f"/sync-sessions/{session_id}/actions/cancel", "alice")
    assert (status, reply["message"]) == (200, MESSAGES.session_cancelled)


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_missing_session_is_authorized_without_target_first(front: Front, method: str) -> None:
    seen: list[Any] = []

    def members_only(request: Any, action: str, target: Any) -> int:
        seen.append(target)
        if request.headers.get("X-User") == "mallory":
            raise PermissionDenied("")
        return user_of(request)

    front.mount(members_only)
    url = "/sync-sessions/nope" + ("/actions/cancel" if method == "post" else "")
    assert front.call(method, url)[0] == 401
    assert front.call(method, url, "mallory")[0] == 403
    assert front.call(method, url, "alice") == not_found("session")
    assert seen == [None, None, None]


def test_two_argument_hooks_keep_working(front: Front) -> None:
    seen: list[str] = []

    def legacy(request: Any, action: str) -> int:
        seen.append(action)
        return 1

    front.mount(legacy)
    session_id = front.call("post", "/instances/actions/sync-accounts")[1]["data"]["session_id"]
    assert front.call("get", f"/sync-sessions/{session_id}")[0] == 200
    assert seen == [Action.SYNC_ALL, Action.VIEW_SESSION]


@pytest.mark.parametrize(
    "hook",
    [
        lambda request: 1,
        lambda request, action, target, extra: 1,
        lambda: 1,
    ],
    ids=["one-argument", "four-arguments", "no-argument"],
)
def test_a_hook_of_another_arity_is_refused_at_configuration(
    front: Front, hook: Callable[..., Any]
) -> None:
    with pytest.raises(TypeError, match="authorize"):
        front.mount(hook)


def test_optional_third_argument_gets_the_target(front: Front) -> None:
    seen: list[Any] = []

    def hook(request: Any, action: str, target: Any = "unset") -> int:
        seen.append(target)
        return 1

    front.mount(hook)
    front.call("post", "/instances/3/actions/sync-accounts")
    assert seen == [3]


# -- the hook's answer ----------------------------------------------------------------------


@pytest.mark.parametrize("answer", [False, True, "anonymous", 0.5, "1", [1]])
def test_a_hook_answer_other_than_an_int_or_none_is_a_500(
    front: Front, answer: object, caplog: pytest.LogCaptureFixture
) -> None:
    front.mount(lambda request, action: answer)
    with caplog.at_level(logging.ERROR, logger="accounts_sync.contrib.http"):
        assert front.call("post", "/instances/actions/sync-accounts") == GENERIC_500
        assert front.call("post", "/instances/1/actions/sync-accounts") == GENERIC_500
    assert front.launcher.jobs == [] and front.service.sessions.list_sessions() == []
    assert front.sync_service.calls == []
    logged = [r for r in caplog.records if r.name == "accounts_sync.contrib.http"]
    assert [r.action for r in logged] == [  # type: ignore[attr-defined]
        Action.SYNC_ALL,
        Action.SYNC_INSTANCE,
    ]
    assert all(r.levelno == logging.ERROR for r in logged)
    assert all(isinstance(r.context, dict) for r in logged)  # type: ignore[attr-defined]
    assert logged[0].error_type == "HookResultError"  # type: ignore[attr-defined]


@pytest.mark.parametrize("answer", [None, 0, 42])
def test_an_int_or_none_passes(front: Front, answer: int | None) -> None:
    front.mount(lambda request, action: answer)
    assert front.call("post", "/instances/actions/sync-accounts")[0] == 200
    (job,) = front.launcher.jobs
    assert job.created_by == answer


# -- hostile ids ----------------------------------------------------------------------------


@pytest.mark.parametrize("instance_id", [2**63, 2**64, 10**25, 10**300])
def test_an_instance_id_no_database_holds_is_404(front: Front, instance_id: int) -> None:
    seen: list[Any] = []

    def hook(request: Any, action: str, target: Any) -> int:
        seen.append(target)
        return 1

    front.mount(hook)
    assert front.call("post", f"/instances/{instance_id}/actions/sync-accounts") == not_found(
        "instance"
    )
    assert seen == [None] and front.sync_service.calls == []


HOSTILE_SESSION_IDS = [
    pytest.param("a%00b", id="nul"),
    pytest.param("x" * 10_000, id="10k-chars"),
    pytest.param("%0A%0D", id="newlines"),
    pytest.param("%1B%5B2J", id="escape"),
    pytest.param("%7F", id="delete"),
    pytest.param("%ED%A0%80", id="surrogate"),
    pytest.param("%C2%85", id="c1-control"),
]


@pytest.mark.parametrize("session_id", HOSTILE_SESSION_IDS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_hostile_session_id_is_404_without_touching_the_store(
    front: Front, session_id: str, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_up: list[str] = []
    original = front.service.sessions.get_session

    def spy(wanted: str) -> Any:
        looked_up.append(wanted)
        return original(wanted)

    monkeypatch.setattr(front.service.sessions, "get_session", spy)
    front.mount(lambda request, action: 1)
    url = f"/sync-sessions/{session_id}" + ("/actions/cancel" if method == "post" else "")
    assert front.call(method, url) == not_found("session")
    assert all(wanted.isprintable() and len(wanted) <= 64 for wanted in looked_up)


# -- the error mapping ----------------------------------------------------------------------


class LoudNotFound(NotFoundError):
    http_status = 500  # informational only: the HTTP layer decides


class QuietConflict(ConflictError):
    http_status = 200


class OddValidation(ValidationError):
    http_status = 418


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (LoudNotFound("gone"), 404, "RESOURCE_NOT_FOUND"),
        (QuietConflict("busy"), 409, "CONFLICT"),
        (OddValidation("odd"), 400, "VALIDATION_ERROR"),
        (NotAuthenticated("who?"), 401, "AUTHENTICATION_REQUIRED"),
        (PermissionDenied("no"), 403, "PERMISSION_REQUIRED"),
    ],
)
def test_the_status_comes_from_the_class_not_http_status(
    front: Front, error: Exception, status: int, code: str
) -> None:
    front.sync_service.script(1, raises=error)
    front.mount(lambda request, action: 1)
    answer_status, reply = front.call("post", "/instances/1/actions/sync-accounts")
    assert (answer_status, reply["message_code"], reply["message"]) == (status, code, str(error))


def test_a_bare_refusal_speaks_the_catalogue(front: Front) -> None:
    def hook(request: Any, action: str) -> int:
        if action == Action.SYNC_ALL:
            raise NotAuthenticated()
        raise PermissionDenied()

    front.mount(hook)
    assert front.call("post", "/instances/actions/sync-accounts")[1]["message"] == (
        MESSAGES.authentication_required
    )
    assert front.call("get", "/sync-sessions/x")[1]["message"] == MESSAGES.permission_required


# -- launch failure -------------------------------------------------------------------------


def test_a_failing_launcher_is_a_500_and_a_failed_session(front: Front) -> None:
    front.launcher.fail_with = ConnectionError("broker down: redis://:hunter2@broker")
    front.mount(lambda request, action: 1)
    assert front.call("post", "/instances/actions/sync-accounts") == GENERIC_500
    (session,) = front.service.sessions.list_sessions()
    assert session.status == "failed"
