"""Every exception the library raises on purpose, in one place.

Each one subclasses ``AccountsSyncError`` and the builtin it resembles, so a host can catch
either::

    AccountsSyncError(Exception)               .message, .extra
    ├── ValidationError(ValueError)            unusable input (instance id, session id…)
    ├── NotFoundError(LookupError)             no such instance, or soft-deleted
    ├── ConflictError                          another session holds the single flight
    ├── NotAuthenticated(PermissionError)      ``authorize``: nobody is logged in
    ├── PermissionDenied(PermissionError)      ``authorize``: this user may not
    ├── HookResultError(TypeError)             ``authorize`` answered neither an id nor None
    ├── CollectionError                        a collector could not read the whole server
    ├── UnsupportedDatabaseError(LookupError)  no collector for the ``db_type``
    ├── MissingDsnError(LookupError)           no DSN given for an instance
    └── SchemaMissingError(LookupError)        a store's table was never created

They are re-exported where their users look for them: the first four from ``accounts_sync``,
the authorization errors from ``accounts_sync.contrib.http``, the collector pair from
``accounts_sync.collectors``, ``MissingDsnError`` from ``accounts_sync.collectors.dsn``,
``SchemaMissingError`` from ``accounts_sync.sqlalchemy``.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AccountsSyncError",
    "CollectionError",
    "ConflictError",
    "HookResultError",
    "MissingDsnError",
    "NotAuthenticated",
    "NotFoundError",
    "PermissionDenied",
    "SchemaMissingError",
    "UnsupportedDatabaseError",
    "ValidationError",
]


class AccountsSyncError(Exception):
    """Base of every error the library raises on purpose.

    ``message`` is the text for a user (also ``str(err)``); when omitted, the class's
    ``default_message``. ``extra`` holds structured, JSON-safe details such as the conflicting
    ``session_id``. ``http_status`` is the status an HTTP layer answers with; the contrib HTTP
    layer decides it (``accounts_sync.contrib.http``), the attribute is kept for compatibility.
    """

    default_message: ClassVar[str] = "accounts sync error"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str | None = None, *, extra: dict[str, Any] | None = None) -> None:
        text = self.default_message if message is None else message
        super().__init__(text)
        self.message = text
        self.extra: dict[str, Any] = dict(extra or {})

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, extra={self.extra!r})"


class ValidationError(AccountsSyncError, ValueError):
    """The input is unusable: a bad instance id, no active instances, an unknown session."""

    default_message: ClassVar[str] = "invalid input"
    http_status: ClassVar[int] = 400


class NotFoundError(AccountsSyncError, LookupError):
    """The requested instance (or session) does not exist or is soft-deleted."""

    default_message: ClassVar[str] = "not found"
    http_status: ClassVar[int] = 404


class ConflictError(AccountsSyncError):
    """Another session of the same category is already pending or running.

    ``extra["session_id"]`` names the session holding the single flight. Stores raise it
    without wording (``ConflictError.held_by(session_id)``); the service words the message.
    """

    default_message: ClassVar[str] = "a session of this category is already pending or running"
    http_status: ClassVar[int] = 409

    @classmethod
    def held_by(cls, session_id: str | None) -> ConflictError:
        """The conflict a store raises: the holder's id, and no user-facing text."""
        return cls(extra={"session_id": session_id})

    @property
    def session_id(self) -> str | None:
        """The id of the session holding the single flight, if known."""
        holder = self.extra.get("session_id")
        return None if holder is None else str(holder)


class NotAuthenticated(AccountsSyncError, PermissionError):
    """Raise from an ``authorize`` hook when nobody is logged in (HTTP 401)."""

    default_message: ClassVar[str] = "authentication required"
    http_status: ClassVar[int] = 401


class PermissionDenied(AccountsSyncError, PermissionError):
    """Raise from an ``authorize`` hook when the user may not do this (HTTP 403)."""

    default_message: ClassVar[str] = "permission denied"
    http_status: ClassVar[int] = 403


class HookResultError(AccountsSyncError, TypeError):
    """An ``authorize`` hook returned something other than an ``int`` actor id or ``None``:
    a configuration error, answered 500 and never taken as a pass."""

    default_message: ClassVar[str] = "the authorize hook must return an actor id or None"


class CollectionError(AccountsSyncError):
    """The server could not be read completely (missing catalogue privileges, a timeout…).

    A collector raises it rather than return part of the accounts.
    """

    default_message: ClassVar[str] = "the server could not be read completely"


class UnsupportedDatabaseError(AccountsSyncError, LookupError):
    """No collector is registered for the instance's ``db_type``."""

    def __init__(self, db_type: str) -> None:
        super().__init__(f"unsupported db_type: {db_type}", extra={"db_type": db_type})
        self.db_type = db_type


class MissingDsnError(AccountsSyncError, LookupError):
    """No DSN is given for an instance: neither ``--dsn`` nor one of its variables."""

    default_message: ClassVar[str] = "no DSN for this instance"


class SchemaMissingError(AccountsSyncError, LookupError):
    """A store's table does not exist: the database was never set up (``create_all`` or the
    migration). ``extra["table"]`` names the table when the database said which."""

    default_message: ClassVar[str] = "a table of accounts_sync does not exist"
