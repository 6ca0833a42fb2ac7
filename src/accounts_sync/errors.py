"""The exceptions the library raises."""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = ["AccountsSyncError", "ConflictError", "NotFoundError", "ValidationError"]


class AccountsSyncError(Exception):
    """Base of every error the library raises on purpose.

    ``message`` is user-facing text (also ``str(err)``); ``extra`` holds structured, JSON-safe
    details such as the conflicting ``session_id``; ``http_status`` is what an HTTP layer answers.
    """

    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra: dict[str, Any] = dict(extra or {})

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, extra={self.extra!r})"


class ValidationError(AccountsSyncError, ValueError):
    """The input is unusable: a bad instance id, no active instances, an unknown session."""

    http_status: ClassVar[int] = 400


class NotFoundError(AccountsSyncError, LookupError):
    """The requested instance (or session) does not exist or is soft-deleted."""

    http_status: ClassVar[int] = 404


class ConflictError(AccountsSyncError):
    """Another full sync of the same category is already pending or running."""

    http_status: ClassVar[int] = 409
