"""The HTTP endpoints of SPEC §6.1 as Django views, built on ``accounts_sync.contrib.http``.

Each view checks the method, asks the host's ``authorize`` hook, and runs the shared handler
inside ``transaction.atomic()``: a savepoint of the request's transaction under
``ATOMIC_REQUESTS``, a transaction of its own otherwise. The full sync is launched by
``transaction.on_commit`` — after the outermost commit, never on a rollback. CSRF protection is
left to Django's middleware: no view here is exempt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any, TypeAlias

import django
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DEFAULT_DB_ALIAS, transaction
from django.http import HttpRequest, HttpResponseNotAllowed, JsonResponse
from django.urls import URLPattern, path

from ..._messages import Messages
from ..._service import AccountsSyncActionsService, AccountsSyncBackgroundPreparedSession
from ..http import (
    Action,
    Authorize,
    NotAuthenticated,
    PermissionDenied,
    authorization_response,
    cancel_session,
    error_response,
    get_session,
    require_authorize,
    sync_all_instances,
    sync_one_instance,
)
from ..http import HttpResponse as ContractResponse

__all__ = ["AccountsSyncViews", "ServiceSource", "accounts_sync_urls"]

logger = logging.getLogger(__name__)

ServiceSource: TypeAlias = (
    AccountsSyncActionsService[Any] | Callable[[], AccountsSyncActionsService[Any]]
)
"""The service itself, or a zero-argument callable returning it (called on every request)."""

_Hook = Callable[[], None]
_Handler = Callable[[AccountsSyncActionsService[Any], int | None], ContractResponse]

_ON_COMMIT_HAS_ROBUST = django.VERSION >= (4, 2)


def _nothing() -> None:
    return None


def _json(response: ContractResponse) -> JsonResponse:
    return JsonResponse(
        response.body, status=response.status, json_dumps_params={"ensure_ascii": False}
    )


def _launch_on_commit(
    using: str,
    service: AccountsSyncActionsService[Any],
    actor_id: int | None,
    prepared: AccountsSyncBackgroundPreparedSession,
) -> None:
    # A named function, not a partial: Django's robust on_commit logs ``__qualname__``.
    def launch_background_full_sync() -> None:
        service.launch_background_full_sync(created_by=actor_id, prepared=prepared)

    _defer_until_commit(using, launch_background_full_sync)


def _defer_until_commit(using: str, callback: Callable[[], object]) -> None:
    if _ON_COMMIT_HAS_ROBUST:
        # robust: a launch that fails (already logged, session marked failed) must not break
        # the other on-commit callbacks of the host's request.
        transaction.on_commit(callback, using=using, robust=True)
        return

    def guarded() -> None:  # Django < 4.2 has no ``robust``
        try:
            callback()
        except Exception:
            # The service has logged the failed launch and marked the session failed.
            logger.debug("accounts_sync launch failed after commit", exc_info=True)

    transaction.on_commit(guarded, using=using)


class AccountsSyncViews:
    """The four endpoints, bound to a service and an ``authorize(request, action)`` hook.

    ``authorize`` is mandatory (``TypeError`` at configuration time without it). It returns the
    acting user's id, or raises ``NotAuthenticated`` (401) or ``PermissionDenied`` (403) — from
    ``accounts_sync.contrib.http``; Django's own ``PermissionDenied`` also means 403. ``using``
    is the database alias whose transaction the views join (default: the session repository's
    ``using``, else ``default``).
    """

    def __init__(
        self,
        service: ServiceSource,
        *,
        authorize: Authorize[HttpRequest] | None,
        using: str | None = None,
    ) -> None:
        require_authorize(authorize)
        assert authorize is not None
        self._service = service
        self.authorize: Authorize[HttpRequest] = authorize
        self.using = using

    def get_service(self) -> AccountsSyncActionsService[Any]:
        """The service for this request."""
        source = self._service
        return source if isinstance(source, AccountsSyncActionsService) else source()

    def urls(self, prefix: str = "") -> list[URLPattern]:
        """The URL patterns, under ``prefix`` (e.g. ``"api/"``)."""
        base = prefix.strip("/")
        base = f"{base}/" if base else ""
        return [
            path(
                f"{base}instances/actions/sync-accounts",
                self.sync_all,
                name="accounts_sync_sync_all",
            ),
            path(
                f"{base}instances/<int:instance_id>/actions/sync-accounts",
                self.sync_instance,
                name="accounts_sync_sync_instance",
            ),
            path(
                f"{base}sync-sessions/<str:session_id>",
                self.session_detail,
                name="accounts_sync_session",
            ),
            path(
                f"{base}sync-sessions/<str:session_id>/actions/cancel",
                self.cancel,
                name="accounts_sync_cancel_session",
            ),
        ]

    # -- the views --------------------------------------------------------------------------

    def sync_all(self, request: HttpRequest) -> Any:
        """POST: prepare a full sync, commit, launch after the commit."""

        def handle(service: AccountsSyncActionsService[Any], actor_id: int | None) -> Any:
            alias = self._alias(service)
            return self._atomic(
                service,
                Action.SYNC_ALL,
                {"actor_id": actor_id},
                lambda commit, rollback: sync_all_instances(
                    service,
                    actor_id=actor_id,
                    defer_launch=partial(_launch_on_commit, alias, service, actor_id),
                    commit=commit,
                    rollback=rollback,
                ),
            )

        return self._dispatch(request, "POST", Action.SYNC_ALL, handle)

    def sync_instance(self, request: HttpRequest, instance_id: int) -> Any:
        """POST: sync one instance now."""

        def handle(service: AccountsSyncActionsService[Any], actor_id: int | None) -> Any:
            return self._atomic(
                service,
                Action.SYNC_INSTANCE,
                {"actor_id": actor_id, "instance_id": instance_id},
                lambda commit, rollback: sync_one_instance(
                    service,
                    instance_id=instance_id,
                    actor_id=actor_id,
                    commit=commit,
                    rollback=rollback,
                ),
            )

        return self._dispatch(request, "POST", Action.SYNC_INSTANCE, handle)

    def session_detail(self, request: HttpRequest, session_id: str) -> Any:
        """GET: the session, its counters and progress, and its records."""

        def handle(service: AccountsSyncActionsService[Any], actor_id: int | None) -> Any:
            return get_session(service, session_id=session_id)

        return self._dispatch(request, "GET", Action.VIEW_SESSION, handle)

    def cancel(self, request: HttpRequest, session_id: str) -> Any:
        """POST: ask a pending or running session to stop."""

        def handle(service: AccountsSyncActionsService[Any], actor_id: int | None) -> Any:
            return self._atomic(
                service,
                Action.CANCEL_SESSION,
                {"actor_id": actor_id, "session_id": session_id},
                lambda commit, rollback: cancel_session(
                    service, session_id=session_id, commit=commit, rollback=rollback
                ),
            )

        return self._dispatch(request, "POST", Action.CANCEL_SESSION, handle)

    # -- plumbing ---------------------------------------------------------------------------

    def _dispatch(self, request: HttpRequest, method: str, action: str, handle: _Handler) -> Any:
        if request.method != method:
            return HttpResponseNotAllowed([method])
        try:
            service = self.get_service()
        except Exception as error:
            return _json(error_response(error, messages=Messages(), action=action, context={}))
        try:
            actor_id = self.authorize(request, action)
        except (NotAuthenticated, PermissionDenied) as refused:
            return _json(authorization_response(refused, service.messages))
        except DjangoPermissionDenied:
            return _json(authorization_response(PermissionDenied(""), service.messages))
        except Exception as error:
            # A broken hook refuses, with a generic 500 (the log has the error).
            return _json(
                error_response(error, messages=service.messages, action=action, context={})
            )
        return _json(handle(service, actor_id))

    def _atomic(
        self,
        service: AccountsSyncActionsService[Any],
        action: str,
        context: dict[str, Any],
        body: Callable[[_Hook, _Hook], ContractResponse],
    ) -> ContractResponse:
        alias = self._alias(service)
        rollback = partial(transaction.set_rollback, True, using=alias)
        try:
            # The block's exit is the commit (or, under ATOMIC_REQUESTS, the savepoint release;
            # the request's own commit then triggers on_commit).
            with transaction.atomic(using=alias):
                return body(_nothing, rollback)
        except Exception as error:
            # The commit itself failed: the handler already answered, but nothing was saved.
            return error_response(error, messages=service.messages, action=action, context=context)

    def _alias(self, service: AccountsSyncActionsService[Any]) -> str:
        if self.using:
            return self.using
        alias = getattr(service.sessions, "using", None)
        return alias if isinstance(alias, str) and alias else DEFAULT_DB_ALIAS


def accounts_sync_urls(
    service: ServiceSource,
    *,
    authorize: Authorize[HttpRequest] | None,
    prefix: str = "",
    using: str | None = None,
) -> list[URLPattern]:
    """URL patterns for the four endpoints; include them in the host's URLconf.

    ``service`` is an ``AccountsSyncActionsService`` or a callable returning one. Without an
    ``authorize`` hook this raises ``TypeError``: no endpoint is ever open by default.
    """
    return AccountsSyncViews(service, authorize=authorize, using=using).urls(prefix)
