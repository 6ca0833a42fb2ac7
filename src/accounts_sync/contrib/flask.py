"""Flask integration: a blueprint over :mod:`accounts_sync.contrib.http`.

Install with ``pip install "accounts-sync[flask]"``. The views only translate: the Flask
request goes to the shared :class:`~accounts_sync.contrib.http.HttpDispatch` (authorization,
checks, envelopes, status codes — the same as Django's), its answer comes back as a JSON
response, and the writes are committed through ``db_session`` when there is one.

The views are ordinary ``POST`` views: Flask-WTF's ``CSRFProtect``, when the host uses it, keeps
protecting them (the library never exempts a view).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeAlias

from sqlalchemy.orm import Session

from .._service import AccountsSyncActionsService
from ..sqlalchemy import launch_after_commit
from ._extras import missing_extra
from ._flask_wiring import check_wiring
from ._http_query import first_values
from .http import (
    ROUTES,
    Authorize,
    DeferredLaunch,
    HttpDispatch,
    HttpResponse,
    Launch,
    NotAuthenticated,
    PermissionDenied,
    Route,
    ServiceSource,
)

try:
    from flask import Blueprint, Flask, Response, current_app, request
    from werkzeug.exceptions import HTTPException
except ImportError as error:  # pragma: no cover - exercised in a subprocess
    raise missing_extra(error, extra="flask", integration=__name__) from error

from ._flask_centre import mount_centre

__all__ = ["DEFAULT_URL_PREFIX", "ServiceSource", "SessionSource", "create_blueprint", "init_app"]

DEFAULT_URL_PREFIX = "/api/v1"

SessionSource: TypeAlias = Session | Callable[[], Session]
"""A SQLAlchemy ``Session``, or a callable returning the request's one (``db.session``)."""

# The contract's placeholders in Werkzeug's rule syntax. Any segment is routed, and every
# method: the dispatch answers a malformed id (404) or a wrong method (405) with the JSON
# envelope, where Werkzeug would answer its HTML page.
_RULE_ARGS = {"instance_id": "<instance_id>", "session_id": "<session_id>"}
_ROUTED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def create_blueprint(
    service: ServiceSource,
    *,
    authorize: Authorize[Any],
    db_session: SessionSource | None = None,
    background_service: AccountsSyncActionsService[Any] | None = None,
    url_prefix: str = DEFAULT_URL_PREFIX,
    name: str = "accounts_sync",
    session_centre: bool = True,
) -> Blueprint:
    """Build the blueprint of the HTTP contract (docs: Flask) under ``url_prefix``, with the
    session centre's pages at ``{url_prefix}/centre/`` unless ``session_centre=False``.

    ``authorize(request, action[, target])`` is mandatory (``TypeError`` without it): it returns
    the acting user's id or ``None``, or raises ``NotAuthenticated`` (401) / ``PermissionDenied``
    (403); ``abort(401)`` / ``abort(403)`` work too.

    Without ``db_session`` the stores commit their own writes and a full sync is launched as
    soon as it is prepared. With ``db_session`` (Flask-SQLAlchemy: ``db.session``), the views
    commit and roll back through it, ``service`` may write in that session (stores built with
    ``.bound(db.session)``), and the launch waits for the outermost commit and is dropped on
    rollback; it then runs through ``background_service`` (default: ``service``), which must
    use standalone stores, since the request's session is done by then.

    Wiring that cannot work is refused here: stores bound to a session without ``db_session``
    (``ValueError``), background work on bound stores (``TypeError``).
    """
    dispatch = HttpDispatch(service, authorize=authorize, refusal=_refusal)
    get_db_session = _session_getter(db_session)
    if background_service is not None:
        if db_session is None:
            raise TypeError("background_service is only used with db_session")
        if not isinstance(background_service, AccountsSyncActionsService):
            raise TypeError("background_service must be an AccountsSyncActionsService")
    check_wiring(service, has_db_session=db_session is not None, background=background_service)

    def transaction(current: AccountsSyncActionsService[Any]) -> _Transaction:
        return _Transaction(get_db_session(), background_service or current)

    blueprint = Blueprint(name, __name__, url_prefix=url_prefix or None)
    for route in ROUTES:
        blueprint.add_url_rule(
            "/" + route.path.format(**_RULE_ARGS),
            endpoint=route.endpoint,
            view_func=_view(dispatch, route, transaction),
            methods=_ROUTED_METHODS,
        )
    if session_centre:
        mount_centre(blueprint, dispatch, transaction)
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
    session_centre: bool = True,
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
        session_centre=session_centre,
    )
    app.register_blueprint(blueprint)
    app.extensions.setdefault("accounts_sync", {})[name] = blueprint
    return blueprint


def _view(
    dispatch: HttpDispatch,
    route: Route,
    transaction: Callable[[AccountsSyncActionsService[Any]], _Transaction],
) -> Callable[..., Response]:
    def view(**args: object) -> Response:
        query = first_values(request.args.items(multi=True))
        answer = dispatch.handle(
            route, request, args, transaction, method=request.method, query=query
        )
        return _json(answer)

    view.__name__ = route.endpoint
    return view


def _refusal(error: Exception) -> NotAuthenticated | PermissionDenied | None:
    # ``abort(401)`` / ``abort(403)`` from the hook: the usual Flask idiom.
    if isinstance(error, HTTPException) and error.code == 401:
        return NotAuthenticated("")
    if isinstance(error, HTTPException) and error.code == 403:
        return PermissionDenied("")
    return None


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


class _Transaction:
    """Commit and roll back through the host's session, if any.

    Without one, the stores have committed their own writes, so launches run at ``commit()``
    and are forgotten at ``rollback()``.
    """

    def __init__(self, session: Session | None, background: AccountsSyncActionsService[Any]):
        self.session = session
        self.background = background
        self._launches: list[DeferredLaunch] = []

    def scope(self) -> AbstractContextManager[object]:
        return nullcontext()

    def launch_after_commit(self, launch: DeferredLaunch) -> Launch:
        if self.session is not None:
            # Only ids cross the commit; the background service runs the launch.
            return launch_after_commit(
                self.session, self.background, launch.prepared, created_by=launch.created_by
            )
        self._launches.append(launch)
        return launch

    def commit(self) -> None:
        if self.session is not None:
            self.session.commit()
        launches, self._launches = self._launches, []
        for launch in launches:
            launch.run()

    def rollback(self) -> None:
        self._launches.clear()
        if self.session is not None:
            self.session.rollback()


def _json(response: HttpResponse) -> Response:
    # The app's JSON provider (its default handler for dates…), but never \uXXXX escapes:
    # messages stay readable whatever the host set, and only these responses are affected.
    text = current_app.json.dumps(response.body, ensure_ascii=False)
    return current_app.response_class(
        f"{text}\n",
        status=response.status,
        headers=response.headers,
        mimetype=current_app.json.mimetype,  # type: ignore[attr-defined]
    )
