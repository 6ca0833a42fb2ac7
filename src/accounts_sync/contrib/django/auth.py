"""A ready ``authorize`` hook on Django's auth: a logged-in user holding a permission."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from ..http import Action, Authorize, NotAuthenticated, PermissionDenied

__all__ = ["DEFAULT_PERMISSIONS", "permission_authorize"]

DEFAULT_PERMISSIONS: Mapping[str, str] = {
    Action.SYNC_ALL: "accounts_sync.sync_accounts",
    Action.SYNC_INSTANCE: "accounts_sync.sync_accounts",
    Action.LIST_SESSIONS: "accounts_sync.view_syncsession",
    Action.VIEW_SESSION: "accounts_sync.view_syncsession",
    Action.CANCEL_SESSION: "accounts_sync.cancel_syncsession",
}
"""The permission each action needs (the app's migration creates them)."""


def permission_authorize(
    permissions: str | Mapping[str, str] | None = None,
) -> Authorize[HttpRequest]:
    """An ``authorize`` hook: 401 unless ``request.user`` is logged in, 403 unless the user has
    the action's permission (one permission for every action, or a mapping from
    :class:`~accounts_sync.contrib.http.Action` names; default :data:`DEFAULT_PERMISSIONS`).
    An action missing from the mapping is refused. Returns the user's primary key as actor id.
    """
    if isinstance(permissions, str):
        needed: Mapping[str, str] = dict.fromkeys(DEFAULT_PERMISSIONS, permissions)
    else:
        needed = dict(DEFAULT_PERMISSIONS if permissions is None else permissions)

    def authorize(request: HttpRequest, action: str) -> int | None:
        user: Any = getattr(request, "user", None)
        if user is None:
            raise ImproperlyConfigured(
                "permission_authorize needs django.contrib.auth's AuthenticationMiddleware"
            )
        if not user.is_authenticated:
            raise NotAuthenticated("")
        permission = needed.get(action)
        if permission is None or not user.has_perm(permission):
            raise PermissionDenied("")
        return user.pk if isinstance(user.pk, int) else None

    return authorize
