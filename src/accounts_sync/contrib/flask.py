"""Flask integration (SPEC §6.1, §6.2): a blueprint over the framework-neutral HTTP contract.

Install with ``pip install "accounts-sync[flask]"``. Every view authorizes through the host's
mandatory ``authorize(request, action)`` hook, then calls the matching handler of
:mod:`accounts_sync.contrib.http`, so envelopes and status codes are the same as Django's.

The views are ordinary ``POST`` views: Flask-WTF's ``CSRFProtect``, when the host uses it, keeps
protecting them (the library never exempts a view).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeAlias

from flask import Blueprint, Flask, Response, jsonify, request
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from .._messages import Messages
from .._service import AccountsSyncActionsService, AccountsSyncBackgroundPreparedSession
from ..sqlalchemy import PendingLaunch, launch_after_commit
from . import http
from .http import (
    Action,
    Authorize,
    HttpResponse,
    NotAuthenticated,
    PermissionDenied,
    require_authorize,
)

__all__ = ["DEFAULT_URL_PREFIX", "ServiceSource", "SessionSource", "create_blueprint", "init_app"]

DEFAULT_URL_PREFIX = "/api/v1"

ServiceSource: TypeAlias = (
    AccountsSyncActionsService[Any] | Callable[[], AccountsSyncActionsService[Any]]
)
"""A service, or a factory called once per request (e.g. to bind a store to ``db.session``)."""

SessionSource: TypeAlias = Session | Callable[[], Session]
"""A SQLAlchemy ``Session``, or a callable returning the request's one (``db.session``)."""

_Handler = Callable[[AccountsSyncActionsService[Any], "int | None"], HttpResponse]


def create_blueprint(
    service: ServiceSource,
    *,
    authorize: Authorize[Any],
    db_session: SessionSource | None = None,
    background_service: AccountsSyncActionsService[Any] | None = None,
    url_prefix: str = DEFAULT_URL_PREFIX,
    name: str = "accounts_sync",
) -> Blueprint:
    """Build the blueprint of SPEC §6.1 under ``url_prefix``.

    ``authorize(request, action)`` is mandatory (``TypeError`` without it): it returns the
    acting user's id or raises ``NotAuthenticated`` (401) / ``PermissionDenied`` (403).

    Without ``db_session`` the stores commit their own writes and a full sync is launched as
    soon as it is prepared. With ``db_session`` (Flask-SQLAlchemy: ``db.session``), the views
    commit and roll back through it, ``service`` may write in that session (stores built with
    ``.bound(db.session)``), and the launch waits for the outermost commit and is dropped on
    rollback; it then runs through ``background_service`` (default: ``service``), which must
    use standalone stores, since the request's session is done by then.
    """
    require_authorize(authorize)
    get_service = _service_getter(service)
    get_db_session = _session_getter(db_session)
    if background_service is not None:
        if db_session is None:
            raise TypeError("background_service is only used with db_session")
        if not isinstance(background_service, AccountsSyncActionsService):
            raise TypeError("background_service must be an AccountsSyncActionsService")
    blueprint = Blueprint(name, __name__, url_prefix=url_prefix or None)

    def respond(action: str, handler: _Handler) -> Response:
        try:
            current = get_service()
        except Exception as error:
            return _json(http.error_response(error, messages=Messages(), action=action, context={}))
        try:
            actor_id = authorize(request, action)
        except (NotAuthenticated, PermissionDenied) as refusal:
            return _json(http.authorization_response(refusal, current.messages))
        except HTTPException as aborted:
            # ``abort(401)`` / ``abort(403)`` from the hook: the usual Flask idiom.
            if aborted.code in (401, 403):
                refused = NotAuthenticated("") if aborted.code == 401 else PermissionDenied("")
                return _json(http.authorization_response(refused, current.messages))
            return _json(
                http.error_response(aborted, messages=current.messages, action=action, context={})
            )
        except Exception as error:
            return _json(
                http.error_response(error, messages=current.messages, action=action, context={})
            )
        return _json(handler(current, actor_id))

    @blueprint.post("/instances/actions/sync-accounts", endpoint="sync_all_accounts")
    def sync_all_accounts() -> Response:
        def handler(current: AccountsSyncActionsService[Any], actor_id: int | None) -> HttpResponse:
            session = get_db_session()
            if session is None:
                tx = _Transaction(None)
                return http.sync_all_instances(
                    current,
                    actor_id=actor_id,
                    defer_launch=partial(_launch, current, actor_id, tx),
                    commit=tx.commit,
                    rollback=tx.rollback,
                )
            return _sync_all_after_commit(current, background_service or current, session, actor_id)

        return respond(Action.SYNC_ALL, handler)

    @blueprint.post(
        "/instances/<int:instance_id>/actions/sync-accounts", endpoint="sync_instance_accounts"
    )
    def sync_instance_accounts(instance_id: int) -> Response:
        def handler(current: AccountsSyncActionsService[Any], actor_id: int | None) -> HttpResponse:
            tx = _Transaction(get_db_session())
            return http.sync_one_instance(
                current,
                instance_id=instance_id,
                actor_id=actor_id,
                commit=tx.commit,
                rollback=tx.rollback,
            )

        return respond(Action.SYNC_INSTANCE, handler)

    @blueprint.get("/sync-sessions/<session_id>", endpoint="get_sync_session")
    def get_sync_session(session_id: str) -> Response:
        def handler(current: AccountsSyncActionsService[Any], actor_id: int | None) -> HttpResponse:
            return http.get_session(current, session_id=session_id)

        return respond(Action.VIEW_SESSION, handler)

    @blueprint.post("/sync-sessions/<session_id>/actions/cancel", endpoint="cancel_sync_session")
    def cancel_sync_session(session_id: str) -> Response:
        def handler(current: AccountsSyncActionsService[Any], actor_id: int | None) -> HttpResponse:
            tx = _Transaction(get_db_session())
            return http.cancel_session(
                current, session_id=session_id, commit=tx.commit, rollback=tx.rollback
            )

        return respond(Action.CANCEL_SESSION, handler)

    return blueprint


def init_app(
    app: Flask,
    service: ServiceSource,
    *,
    authorize: Authorize[Any],
    db_session: SessionSource | None = None,
    background_service: AccountsSyncActionsService[Any] | None = None,
    url_prefix: str = DEFAULT_URL_PREFIX,
    name: str = "accounts_sync",
) -> Blueprint:
    """Build the blueprint with :func:`create_blueprint`, register it on ``app`` and return it.

    The blueprint is also kept in ``app.extensions["accounts_sync"][name]``.
    """
    blueprint = create_blueprint(
        service,
        authorize=authorize,
        db_session=db_session,
        background_service=background_service,
        url_prefix=url_prefix,
        name=name,
    )
    app.register_blueprint(blueprint)
    app.extensions.setdefault("accounts_sync", {})[name] = blueprint
    return blueprint


def _service_getter(service: ServiceSource) -> Callable[[], AccountsSyncActionsService[Any]]:
    if isinstance(service, AccountsSyncActionsService):
        fixed = service
        return lambda: fixed
    if callable(service):
        return service
    raise TypeError("service must be an AccountsSyncActionsService or a factory returning one")


def _session_getter(db_session: SessionSource | None) -> Callable[[], Session | None]:
    if db_session is None:
        return lambda: None
    if isinstance(db_session, Session):
        fixed = db_session
        return lambda: fixed
    if callable(db_session):
        # ``db.session`` is a scoped_session: calling it gives this app context's Session, the
        # one after-commit hooks must be registered on (never the proxy or its class).
        return db_session
    raise TypeError("db_session must be a SQLAlchemy Session or a callable returning one")


def _launch(
    service: AccountsSyncActionsService[Any],
    actor_id: int | None,
    tx: _Transaction,
    prepared: AccountsSyncBackgroundPreparedSession,
) -> None:
    tx.defer_until_commit(
        partial(service.launch_background_full_sync, created_by=actor_id, prepared=prepared)
    )


class _Transaction:
    """Commit and roll back through the host's session, if any.

    Without one, the stores have committed their own writes, so deferred callbacks run at
    ``commit()`` and are forgotten at ``rollback()``.
    """

    def __init__(self, session: Session | None) -> None:
        self.session = session
        self._callbacks: list[Callable[[], object]] = []

    def defer_until_commit(self, callback: Callable[[], object]) -> None:
        self._callbacks.append(callback)

    def commit(self) -> None:
        if self.session is not None:
            self.session.commit()
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def rollback(self) -> None:
        self._callbacks.clear()
        if self.session is not None:
            self.session.rollback()


def _sync_all_after_commit(
    current: AccountsSyncActionsService[Any],
    background: AccountsSyncActionsService[Any],
    session: Session,
    actor_id: int | None,
) -> HttpResponse:
    pending: list[PendingLaunch] = []

    def defer_launch(prepared: AccountsSyncBackgroundPreparedSession) -> None:
        pending.append(launch_after_commit(session, background, prepared, created_by=actor_id))

    response = http.sync_all_instances(
        current,
        actor_id=actor_id,
        defer_launch=defer_launch,
        commit=session.commit,
        rollback=session.rollback,
    )
    for launch in pending:
        if launch.error is not None:
            # Committed, but the launcher failed: the service has logged it and failed the
            # session; the client gets the generic 500, as without db_session.
            return http.error_response(
                launch.error,
                messages=current.messages,
                action=Action.SYNC_ALL,
                context={"actor_id": actor_id, "session_id": launch.session_id},
            )
    return response


def _json(response: HttpResponse) -> Response:
    reply = jsonify(response.body)
    reply.status_code = response.status
    return reply
