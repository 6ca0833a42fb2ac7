"""Launch a prepared full sync once the host's ORM transaction has really committed."""

from __future__ import annotations

from typing import Any, Literal

import attrs
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

from accounts_sync._service import (
    AccountsSyncActionsService,
    AccountsSyncBackgroundLaunchResult,
    AccountsSyncBackgroundPreparedSession,
)

from ._scopes import BoundSession

__all__ = ["PendingLaunch", "launch_after_commit"]

_WAITING_KEY = "accounts_sync.launch_after_commit"

LaunchState = Literal["pending", "launched", "failed", "dropped"]


@attrs.define(eq=False)
class PendingLaunch:
    """A launch waiting for the commit; afterwards, what became of it.

    ``state`` is ``pending`` until the outermost transaction ends, then ``launched`` (see
    ``result``), ``failed`` (the launcher raised: ``error``; the service has logged it and
    marked the session failed) or ``dropped`` (the transaction, or the SAVEPOINT the session was
    prepared in, rolled back).
    """

    session_id: str
    created_by: int | None
    state: LaunchState = "pending"
    result: AccountsSyncBackgroundLaunchResult | None = None
    error: Exception | None = None


@attrs.frozen
class _Waiting:
    launch: PendingLaunch
    service: AccountsSyncActionsService[Any]
    prepared: AccountsSyncBackgroundPreparedSession
    # The transaction the session row was written in: its rollback (or an enclosing one's)
    # undoes the row, so the launch must go too.
    anchor: SessionTransaction


def launch_after_commit(
    session: BoundSession,
    service: AccountsSyncActionsService[Any],
    prepared: AccountsSyncBackgroundPreparedSession,
    *,
    created_by: int | None,
) -> PendingLaunch:
    """Call ``service.launch_background_full_sync`` once ``session``'s outermost transaction
    commits; forget it if that transaction (or the SAVEPOINT in effect now) rolls back.

    Only ids are kept until then. Releasing a SAVEPOINT does not launch. Outside any
    transaction there is nothing to wait for and the launch happens at once. ``service``
    should be the standalone one: after the commit the host's session is done.
    """
    target = session() if isinstance(session, scoped_session) else session
    launch = PendingLaunch(session_id=prepared.session_id, created_by=created_by)
    root = target.get_transaction()
    if root is None:
        _launch(launch, service, prepared)
        return launch
    if not event.contains(target, "after_commit", _after_commit):
        # Registered once per Session object and never removed (removing a listener while
        # its event is being dispatched is unsafe); the waiting list lives in ``info``.
        event.listen(target, "after_commit", _after_commit)
        event.listen(target, "after_soft_rollback", _after_soft_rollback)
        event.listen(target, "after_transaction_end", _after_transaction_end)
    anchor = target.get_nested_transaction() or root
    target.info.setdefault(_WAITING_KEY, []).append(_Waiting(launch, service, prepared, anchor))
    return launch


def _launch(
    launch: PendingLaunch,
    service: AccountsSyncActionsService[Any],
    prepared: AccountsSyncBackgroundPreparedSession,
) -> None:
    try:
        launch.result = service.launch_background_full_sync(
            created_by=launch.created_by, prepared=prepared
        )
    except Exception as error:
        # The service has already logged the failure and marked the session failed; raising
        # here would break the host's commit() after the data is committed.
        launch.state, launch.error = "failed", error
    else:
        launch.state = "launched"


def _after_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a SAVEPOINT was released; the outermost transaction is still open
    for waiting in session.info.pop(_WAITING_KEY, ()):
        _launch(waiting.launch, waiting.service, waiting.prepared)


def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    waiting: list[_Waiting] = session.info.get(_WAITING_KEY, [])
    kept = []
    for item in waiting:
        if _inside(item.anchor, previous_transaction):
            item.launch.state = "dropped"
        else:
            kept.append(item)
    waiting[:] = kept


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    # The outermost transaction ended without a commit (e.g. ``close()``): nothing launches.
    for item in session.info.pop(_WAITING_KEY, ()):
        item.launch.state = "dropped"


def _inside(anchor: SessionTransaction, ended: SessionTransaction) -> bool:
    current: SessionTransaction | None = anchor
    while current is not None:
        if current is ended:
            return True
        current = current.parent
    return False
