"""The Flask blueprint's wiring checks: stores bound to the request's session where they cannot
work are refused when the blueprint is built, not discovered on the first request."""

from __future__ import annotations

from typing import Any

from .._service import AccountsSyncActionsService

__all__ = ["check_wiring"]

_STANDALONE = (
    "build it on standalone stores (SqlAlchemySyncSessionRepository(engine), "
    "SqlAlchemyInstanceRepository(engine, model=...))"
)


def check_wiring(
    service: object,
    *,
    has_db_session: bool,
    background: AccountsSyncActionsService[Any] | None,
) -> None:
    """Refuse bound stores without ``db_session`` (``ValueError``) and background work on
    bound stores (``TypeError``). A service given as a factory is only known per request."""
    if not isinstance(service, AccountsSyncActionsService):
        return
    if not has_db_session and _bound(service.sessions, service.instances):
        # Nobody would commit the request's session: the prepared session would vanish.
        raise ValueError(
            "the service's stores are bound to a Session (.bound(...)) but no db_session= "
            "was given: pass db_session=db.session so the views commit it, or use "
            "standalone stores"
        )
    worker = background or service
    task = worker.sync_task
    if _bound(
        worker.background_sessions,
        getattr(task, "sessions", None),
        getattr(task, "instances", None),
    ):
        # The launch runs after the request, in a thread outside its app context and session.
        raise TypeError(
            "the background work would use stores bound to the request's Session: pass "
            f"background_service= a service whose stores are standalone ({_STANDALONE}), "
            "or give the service background_sessions= and a sync_task= on standalone stores"
        )


def _bound(*stores: object) -> bool:
    return any(getattr(store, "is_bound", False) is True for store in stores)
