"""The framework-neutral HTTP contract of SPEC §6.1: authorization, handlers and envelopes.

Flask and Django adapters translate requests into calls of these handlers and their
:class:`HttpResponse` into framework responses, so both behave identically.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import attrs

from .._errors import (
    AccountsSyncError,
    ConflictError,
    NotAuthenticated,
    NotFoundError,
    PermissionDenied,
)
from .._messages import Messages
from .._observability import log_event
from .._service import AccountsSyncActionsService, AccountsSyncBackgroundPreparedSession

__all__ = [
    "Action",
    "Authorize",
    "HttpResponse",
    "NotAuthenticated",
    "PermissionDenied",
    "authorization_response",
    "cancel_session",
    "error_response",
    "get_session",
    "require_authorize",
    "sync_all_instances",
    "sync_one_instance",
]

logger = logging.getLogger(__name__)

RequestT_contra = TypeVar("RequestT_contra", contravariant=True)


class Action:
    """The permission names passed to the ``authorize`` hook."""

    SYNC_ALL = "sync_all_accounts"
    SYNC_INSTANCE = "sync_instance_accounts"
    VIEW_SESSION = "view_sync_session"
    CANCEL_SESSION = "cancel_sync_session"


class Authorize(Protocol[RequestT_contra]):
    """**Protocol**: the host's authorization hook.

    Called before every endpoint with the framework request and an :class:`Action` name. Return
    the acting user's id (or ``None`` for an anonymous-but-allowed caller such as a service
    token); raise :class:`NotAuthenticated` (401) or :class:`PermissionDenied` (403) to refuse.
    """

    def __call__(self, request: RequestT_contra, action: str) -> int | None: ...


def require_authorize(authorize: object) -> None:
    """Fail at configuration time when no authorization hook is given: no open endpoints."""
    if authorize is None or not callable(authorize):
        raise TypeError(
            "accounts_sync endpoints need an `authorize(request, action)` hook; "
            "endpoints are never open by default"
        )


@attrs.frozen
class HttpResponse:
    """A status code and a JSON body."""

    status: int
    body: dict[str, Any]


_CODES: dict[int, str] = {
    400: "VALIDATION_ERROR",
    401: "AUTHENTICATION_REQUIRED",
    403: "PERMISSION_REQUIRED",
    404: "RESOURCE_NOT_FOUND",
    409: "CONFLICT",
    500: "INTERNAL_ERROR",
}


def _ok(message: str, data: dict[str, Any]) -> HttpResponse:
    return HttpResponse(200, {"success": True, "error": False, "message": message, "data": data})


def _error(
    status: int, message: str, *, code: str | None = None, extra: dict[str, Any] | None = None
) -> HttpResponse:
    body: dict[str, Any] = {
        "success": False,
        "error": True,
        "message_code": code or _CODES.get(status, "INTERNAL_ERROR"),
        "message": message,
    }
    if extra:
        body["extra"] = extra
    return HttpResponse(status, body)


def error_response(
    error: BaseException, *, messages: Messages, action: str, context: dict[str, Any]
) -> HttpResponse:
    """The envelope for an error: the library's own errors keep their message; anything else
    becomes a generic 500 whose body holds no exception text (the log has it)."""
    if isinstance(error, AccountsSyncError) and error.http_status < 500:
        extra = error.extra if isinstance(error, ConflictError) else None
        return _error(error.http_status, error.message, extra=extra)
    log_event(
        logger, logging.ERROR, messages.internal_error, action=action, context=context, error=error
    )
    return _error(500, messages.internal_error)


def _guarded(
    action: str,
    messages: Messages,
    context: dict[str, Any],
    body: Callable[[], HttpResponse],
    rollback: Callable[[], None],
) -> HttpResponse:
    try:
        return body()
    except Exception as error:
        rollback()
        return error_response(error, messages=messages, action=action, context=context)


def authorization_response(
    error: NotAuthenticated | PermissionDenied, messages: Messages
) -> HttpResponse:
    """401 or 403 with the catalogue's text unless the hook gave its own message."""
    default = (
        messages.authentication_required
        if isinstance(error, NotAuthenticated)
        else messages.permission_required
    )
    return _error(error.http_status, error.message or default)


def sync_all_instances(
    service: AccountsSyncActionsService[Any],
    *,
    actor_id: int | None,
    defer_launch: Callable[[AccountsSyncBackgroundPreparedSession], None],
    commit: Callable[[], None],
    rollback: Callable[[], None],
) -> HttpResponse:
    """Prepare a full sync, register its launch, and commit.

    ``defer_launch(prepared)`` must arrange for ``launch_background_full_sync`` to run only
    after the commit (e.g. ``transaction.on_commit`` or SQLAlchemy's ``launch_after_commit``)
    and never after a rollback.
    """

    def run() -> HttpResponse:
        prepared = service.prepare_background_full_sync(created_by=actor_id)
        defer_launch(prepared)
        commit()
        return _ok(service.messages.background_launched, {"session_id": prepared.session_id})

    return _guarded(Action.SYNC_ALL, service.messages, {"actor_id": actor_id}, run, rollback)


def sync_one_instance(
    service: AccountsSyncActionsService[Any],
    *,
    instance_id: int,
    actor_id: int | None,
    commit: Callable[[], None],
    rollback: Callable[[], None],
) -> HttpResponse:
    """Sync one instance now; a failed sync is a 400 ``INVALID_REQUEST`` and is rolled back."""

    def run() -> HttpResponse:
        outcome = service.sync_instance_accounts(instance_id=instance_id, actor_id=actor_id)
        if not outcome.success:
            rollback()
            return _error(
                400,
                outcome.message,
                code="INVALID_REQUEST",
                extra={"result": outcome.result, "instance_id": instance_id},
            )
        commit()
        return _ok(outcome.message, {"result": outcome.result})

    context = {"actor_id": actor_id, "instance_id": instance_id}
    return _guarded(Action.SYNC_INSTANCE, service.messages, context, run, rollback)


def get_session(service: AccountsSyncActionsService[Any], *, session_id: str) -> HttpResponse:
    """The session with its counters, progress and records."""

    def run() -> HttpResponse:
        info = service.sessions.get_session(session_id)
        if info is None:
            raise NotFoundError(
                service.messages.session_not_found, extra={"session_id": session_id}
            )
        records = service.sessions.list_records(session_id)
        return _ok("", {"session": info.as_dict(), "records": [r.as_dict() for r in records]})

    return _guarded(
        Action.VIEW_SESSION, service.messages, {"session_id": session_id}, run, _nothing
    )


def cancel_session(
    service: AccountsSyncActionsService[Any],
    *,
    session_id: str,
    commit: Callable[[], None],
    rollback: Callable[[], None],
) -> HttpResponse:
    """Ask a pending or running session to stop: 404 when unknown, 409 when already finished."""

    def run() -> HttpResponse:
        texts = service.messages
        if service.sessions.get_session(session_id) is None:
            raise NotFoundError(texts.session_not_found, extra={"session_id": session_id})
        if not service.sessions.request_cancel(session_id):
            raise ConflictError(texts.session_not_cancellable, extra={"session_id": session_id})
        commit()
        return _ok(texts.session_cancelled, {"session_id": session_id})

    return _guarded(
        Action.CANCEL_SESSION, service.messages, {"session_id": session_id}, run, rollback
    )


def _nothing() -> None:
    return None
