"""The JSON envelopes of the HTTP contract, and which status and code each error answers."""

from __future__ import annotations

import logging
from typing import Any

import attrs

from .._errors import (
    AccountsSyncError,
    ConflictError,
    NotAuthenticated,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from .._messages import Messages
from .._observability import ActionLog

__all__ = [
    "HttpResponse",
    "error_envelope",
    "error_response",
    "method_not_allowed",
    "ok_envelope",
    "status_of",
]

# The documented logger of the HTTP layer, whichever private module emits the record.
logger = logging.getLogger("accounts_sync.contrib.http")

INTERNAL = (500, "INTERNAL_ERROR")

# Decided here, not read from ``error.http_status``: that attribute is informational, and a
# subclass overriding it must not change what a client sees.
_STATUSES: tuple[tuple[type[AccountsSyncError], int, str], ...] = (
    (ValidationError, 400, "VALIDATION_ERROR"),
    (NotFoundError, 404, "RESOURCE_NOT_FOUND"),
    (ConflictError, 409, "CONFLICT"),
    (NotAuthenticated, 401, "AUTHENTICATION_REQUIRED"),
    (PermissionDenied, 403, "PERMISSION_REQUIRED"),
)


@attrs.frozen
class HttpResponse:
    """A status code, a JSON body and any headers the adapter must add (``Allow`` on a 405)."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = attrs.field(factory=dict)


def ok_envelope(message: str, data: dict[str, Any]) -> HttpResponse:
    """200 with ``success: true`` and ``data``."""
    return HttpResponse(200, {"success": True, "error": False, "message": message, "data": data})


def error_envelope(
    status: int, code: str, message: str, *, extra: dict[str, Any] | None = None
) -> HttpResponse:
    """An error answer: ``success: false``, ``message_code``, ``message`` and optional ``extra``."""
    body: dict[str, Any] = {
        "success": False,
        "error": True,
        "message_code": code,
        "message": message,
    }
    if extra:
        body["extra"] = extra
    return HttpResponse(status, body)


def method_not_allowed(allowed: str, messages: Messages) -> HttpResponse:
    """405 with the envelope (never the framework's HTML page) and the ``Allow`` header."""
    text = messages.method_not_allowed
    answer = error_envelope(405, "METHOD_NOT_ALLOWED", text)
    return attrs.evolve(answer, headers={"Allow": allowed})


def status_of(error: BaseException) -> tuple[int, str]:
    """The ``(status, message_code)`` answering ``error``; 500 for anything unknown."""
    for kind, status, code in _STATUSES:
        if isinstance(error, kind):
            return status, code
    return INTERNAL


def error_response(
    error: BaseException, *, messages: Messages, action: str, context: dict[str, Any]
) -> HttpResponse:
    """The envelope for an error.

    The library's 4xx errors keep their message (a refusal without its own text gets the
    catalogue's); anything else becomes a generic 500 whose body holds no exception text: the
    exception, redacted, is logged at ERROR with ``action`` and ``context``.
    """
    status, code = status_of(error)
    if status == INTERNAL[0] or not isinstance(error, AccountsSyncError):
        ActionLog(logger, action, context).error(messages.internal_error, error=error)
        return error_envelope(*INTERNAL, messages.internal_error)
    extra = error.extra if isinstance(error, ConflictError) else None
    return error_envelope(status, code, _text(error, messages), extra=extra)


def _text(error: AccountsSyncError, messages: Messages) -> str:
    if not isinstance(error, NotAuthenticated | PermissionDenied):
        return error.message
    if error.message and error.message != type(error).default_message:
        return error.message
    # ``NotAuthenticated("")`` or a bare ``PermissionDenied()``: the catalogue speaks.
    if isinstance(error, NotAuthenticated):
        return messages.authentication_required
    return messages.permission_required
