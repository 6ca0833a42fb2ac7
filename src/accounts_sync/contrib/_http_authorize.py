"""The host's ``authorize`` hook: its forms, checked once at configuration time, and its answer,
checked on every call."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Protocol, TypeAlias, TypeVar, cast

from .._errors import HookResultError, NotAuthenticated, PermissionDenied
from .._sessions import SyncSessionInfo

__all__ = [
    "Action",
    "Authorize",
    "AuthorizeAction",
    "AuthorizeTarget",
    "Authorizer",
    "HookResultError",
    "Refusal",
    "Target",
    "require_authorize",
]

RequestT_contra = TypeVar("RequestT_contra", contravariant=True)

Target: TypeAlias = "SyncSessionInfo | int | None"
"""What an action is about: the session (view it or its records, cancel), the instance id
(single-instance sync), or ``None`` (full sync, the sessions list, or a session or instance that
does not exist)."""

Refusal: TypeAlias = Callable[[Exception], "NotAuthenticated | PermissionDenied | None"]
"""Translates a framework's own refusal raised by the hook (``abort(403)``, Django's
``PermissionDenied``) into the library's; ``None`` for any other exception."""


class Action:
    """The permission names passed to the ``authorize`` hook."""

    SYNC_ALL = "sync_all_accounts"
    SYNC_INSTANCE = "sync_instance_accounts"
    LIST_SESSIONS = "list_sync_sessions"
    VIEW_SESSION = "view_sync_session"
    CANCEL_SESSION = "cancel_sync_session"


class AuthorizeTarget(Protocol[RequestT_contra]):
    """**Protocol**: the host's authorization hook, object by object.

    Called before every endpoint with the framework request, an :class:`Action` name and the
    :data:`Target`. Return the acting user's id (an ``int``), or ``None`` for an
    anonymous-but-allowed caller such as a service token; raise :class:`NotAuthenticated` (401)
    or :class:`PermissionDenied` (403) to refuse. Any other return value is a configuration
    error (500), never a pass.
    """

    def __call__(self, request: RequestT_contra, action: str, target: Target, /) -> int | None: ...


class AuthorizeAction(Protocol[RequestT_contra]):
    """**Protocol**: the two-argument form ``authorize(request, action)``, action by action."""

    def __call__(self, request: RequestT_contra, action: str, /) -> int | None: ...


Authorize: TypeAlias = "AuthorizeTarget[RequestT_contra] | AuthorizeAction[RequestT_contra]"
"""Either form of the hook; which one is decided once, from its signature."""


def require_authorize(authorize: object) -> None:
    """Fail at configuration time when no usable authorization hook is given: no open
    endpoints, and no hook that could only fail at request time."""
    if authorize is None or not callable(authorize):
        raise TypeError(
            "accounts_sync endpoints need an `authorize(request, action[, target])` hook; "
            "endpoints are never open by default"
        )
    _takes_target(authorize)


def _takes_target(hook: Callable[..., object]) -> bool:
    try:
        signature = inspect.signature(hook)
    except (TypeError, ValueError):
        # No introspectable signature (some builtins): the documented two-argument form.
        return False
    for arity in (3, 2):
        try:
            signature.bind(*([None] * arity))
        except TypeError:
            continue
        return arity == 3
    raise TypeError(
        "the authorize hook must accept (request, action) or (request, action, target); "
        f"its signature is {signature}"
    )


def _no_refusal(error: Exception) -> None:
    return None


class Authorizer:
    """The host's hook, called in its own form, its answer checked.

    Built at configuration time: a missing or uncallable hook, or one taking neither two nor
    three positional arguments, raises ``TypeError`` there.
    """

    def __init__(self, hook: Authorize[Any] | None, *, refusal: Refusal = _no_refusal) -> None:
        require_authorize(hook)
        self.hook = cast("Callable[..., object]", hook)
        self.with_target = _takes_target(self.hook)
        self._refusal = refusal

    def __call__(self, request: Any, action: str, target: Target) -> int | None:
        """The actor id the hook allows; raises its refusal, or :class:`HookResultError`."""
        try:
            actor = (
                self.hook(request, action, target)
                if self.with_target
                else self.hook(request, action)
            )
        except Exception as error:
            translated = self._refusal(error)
            if translated is None:
                raise
            raise translated from error
        # ``bool`` is an ``int``: ``return True`` must not become actor 1, nor ``False`` a pass.
        if actor is None or (isinstance(actor, int) and not isinstance(actor, bool)):
            return actor
        raise HookResultError(
            f"the authorize hook returned a {type(actor).__name__}; it must return an int "
            "actor id or None, or raise NotAuthenticated / PermissionDenied"
        )
