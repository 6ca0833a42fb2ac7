"""The HTTP endpoints (docs: Django) as Django views over :mod:`accounts_sync.contrib.http`.

The views only translate: the Django request goes to the shared
:class:`~accounts_sync.contrib.http.HttpDispatch` (authorization, checks, envelopes, status
codes — the same as Flask's) and its answer comes back as a ``JsonResponse``. The writes run in
``transaction.atomic()``: a savepoint of the request's transaction under ``ATOMIC_REQUESTS``, a
transaction of its own otherwise. The full sync is launched by ``transaction.on_commit`` — after
the outermost commit, never on a rollback. CSRF protection is left to Django's middleware: no
view here is exempt.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DEFAULT_DB_ALIAS, transaction
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.urls import URLPattern, path

from ..._service import AccountsSyncActionsService
from ..http import (
    ROUTES,
    Authorize,
    DeferredLaunch,
    HttpDispatch,
    Launch,
    PermissionDenied,
    Route,
    ServiceSource,
)
from ._centre import centre_urls, query_of

__all__ = ["AccountsSyncViews", "ServiceSource", "accounts_sync_urls"]

# The contract's placeholders in Django's path syntax. Any segment is routed: the dispatch
# answers a malformed id with the 404 envelope, where Django would answer its HTML page.
_PATH_ARGS = {"instance_id": "<str:instance_id>", "session_id": "<str:session_id>"}
_ROUTES: dict[str, Route] = {route.endpoint: route for route in ROUTES}
# The view method serving each route, by its endpoint name.
_VIEWS = {
    "sync_all_accounts": "sync_all",
    "sync_instance_accounts": "sync_instance",
    "list_sync_sessions": "session_list",
    "get_sync_session": "session_detail",
    "list_sync_session_records": "session_records",
    "cancel_sync_session": "cancel",
}


class AccountsSyncViews:
    """The endpoints of :data:`~accounts_sync.contrib.http.ROUTES`, bound to a service and an
    ``authorize`` hook.

    ``authorize(request, action[, target])`` is mandatory (``TypeError`` at configuration time
    without it). It returns the acting user's id or ``None``, or raises ``NotAuthenticated``
    (401) or ``PermissionDenied`` (403) — from ``accounts_sync.contrib.http``; Django's own
    ``PermissionDenied`` also means 403. ``using`` is the database alias whose transaction the
    views join (default: the session repository's ``using``, else ``default``).
    """

    def __init__(
        self,
        service: ServiceSource,
        *,
        authorize: Authorize[HttpRequest] | None,
        using: str | None = None,
    ) -> None:
        self._dispatch = HttpDispatch(service, authorize=authorize, refusal=_refusal)
        self.authorize = self._dispatch.authorizer.hook
        self.using = using

    def get_service(self) -> AccountsSyncActionsService[Any]:
        """The service for this request."""
        return self._dispatch.get_service()

    def urls(self, prefix: str = "", *, session_centre: bool = True) -> list[URLPattern]:
        """The URL patterns, under ``prefix`` (e.g. ``"api/"``), with the session centre's
        pages at ``{prefix}centre/`` unless ``session_centre=False``."""
        base = prefix.strip("/")
        base = f"{base}/" if base else ""
        pages = centre_urls(base, self._dispatch, self._transaction) if session_centre else []
        return pages + [
            path(
                base + route.path.format(**_PATH_ARGS),
                getattr(self, _VIEWS[route.endpoint]),
                name=route.url_name,
            )
            for route in ROUTES
        ]

    def sync_all(self, request: HttpRequest) -> HttpResponseBase:
        """POST: prepare a full sync, commit, launch after the commit."""
        return self._serve("sync_all_accounts", request, {})

    def sync_instance(self, request: HttpRequest, instance_id: int | str) -> HttpResponseBase:
        """POST: sync one instance now (a malformed ``instance_id`` is a 404)."""
        return self._serve("sync_instance_accounts", request, {"instance_id": instance_id})

    def session_list(self, request: HttpRequest) -> HttpResponseBase:
        """GET: one page of sessions, the most recent first (``limit``, ``cursor``,
        ``status``, ``category``)."""
        return self._serve("list_sync_sessions", request, {})

    def session_detail(self, request: HttpRequest, session_id: str) -> HttpResponseBase:
        """GET: the session, its counters and progress, and its first 100 records."""
        return self._serve("get_sync_session", request, {"session_id": session_id})

    def session_records(self, request: HttpRequest, session_id: str) -> HttpResponseBase:
        """GET: one page of the session's records (``limit``, ``cursor``, ``status``)."""
        return self._serve("list_sync_session_records", request, {"session_id": session_id})

    def cancel(self, request: HttpRequest, session_id: str) -> HttpResponseBase:
        """POST: ask a pending or running session to stop."""
        return self._serve("cancel_sync_session", request, {"session_id": session_id})

    def _serve(self, endpoint: str, request: HttpRequest, args: dict[str, object]) -> Any:
        # A wrong method is the dispatch's 405 envelope; HEAD is answered wherever GET is.
        answer = self._dispatch.handle(
            _ROUTES[endpoint],
            request,
            args,
            self._transaction,
            method=request.method,
            query=query_of(request),
        )
        return JsonResponse(
            answer.body,
            status=answer.status,
            headers=answer.headers,
            json_dumps_params={"ensure_ascii": False},
        )

    def _transaction(self, service: AccountsSyncActionsService[Any]) -> _Atomic:
        return _Atomic(self._alias(service))

    def _alias(self, service: AccountsSyncActionsService[Any]) -> str:
        if self.using:
            return self.using
        alias = getattr(service.sessions, "using", None)
        return alias if isinstance(alias, str) and alias else DEFAULT_DB_ALIAS


def _refusal(error: Exception) -> PermissionDenied | None:
    return PermissionDenied("") if isinstance(error, DjangoPermissionDenied) else None


class _Atomic:
    """``transaction.atomic`` on one alias: its exit is the commit (or, under
    ``ATOMIC_REQUESTS``, the savepoint's release; the request's own commit follows)."""

    def __init__(self, using: str) -> None:
        self.using = using

    def scope(self) -> AbstractContextManager[object]:
        block: AbstractContextManager[object] = transaction.atomic(using=self.using)
        return block

    def commit(self) -> None:
        return None

    def rollback(self) -> None:
        transaction.set_rollback(True, using=self.using)

    def launch_after_commit(self, launch: DeferredLaunch) -> Launch:
        # ``run`` never raises, so a failed launch cannot break the host's other callbacks.
        transaction.on_commit(launch.run, using=self.using)
        return launch


def accounts_sync_urls(
    service: ServiceSource,
    *,
    authorize: Authorize[HttpRequest] | None,
    prefix: str = "",
    using: str | None = None,
    session_centre: bool = True,
) -> list[URLPattern]:
    """URL patterns for the endpoints and the session centre (``session_centre=False``: none
    of its pages); include them in the host's URLconf.

    ``service`` is an ``AccountsSyncActionsService`` or a callable returning one. Without an
    ``authorize`` hook this raises ``TypeError``: no endpoint is ever open by default.
    """
    views = AccountsSyncViews(service, authorize=authorize, using=using)
    return views.urls(prefix, session_centre=session_centre)
