"""Keyset pages of sessions and records for the SQL store (``SupportsSessionPages``,
``SupportsRecordPages``)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence

import sqlalchemy as sa

from accounts_sync import _lifecycle as rules
from accounts_sync._enums import RecordStatus, SessionStatus, SyncCategory
from accounts_sync._sessions import SyncRecordInfo, SyncSessionInfo

from ._missing_tables import explain_missing_tables
from ._scopes import Scope
from ._tables import SyncTables

__all__ = ["SORT_OFF_SQL", "PagedReads"]


@explain_missing_tables
class PagedReads:
    """The paged reads of :class:`SqlAlchemySyncSessionRepository`: each page is one ``SELECT``
    that starts after the previous page's last key, never an ``OFFSET``."""

    tables: SyncTables
    _scope: Scope

    def page_sessions(
        self,
        *,
        limit: int,
        before: tuple[dt.datetime, str] | None = None,
        statuses: Sequence[SessionStatus] | None = None,
        sync_category: SyncCategory | None = None,
    ) -> list[SyncSessionInfo]:
        sessions = self.tables.sessions
        query = (
            sa.select(sessions)
            .order_by(sessions.c.created_at.desc(), sessions.c.session_id.desc())
            .limit(max(limit, 0))
        )
        if before is not None:
            created_at, session_id = before
            query = query.where(
                sa.or_(
                    sessions.c.created_at < created_at,
                    sa.and_(
                        sessions.c.created_at == created_at, sessions.c.session_id < session_id
                    ),
                )
            )
        if statuses is not None:
            query = query.where(sessions.c.status.in_([status.value for status in statuses]))
        if sync_category is not None:
            query = query.where(sessions.c.sync_category == sync_category.value)
        with self._scope.read() as conn:
            return [SyncSessionInfo.from_row(row._mapping) for row in conn.execute(query)]

    def page_records(
        self,
        session_id: str,
        *,
        after_record_id: int | None,
        limit: int,
        statuses: Sequence[RecordStatus] | None = None,
    ) -> list[SyncRecordInfo]:
        if not rules.plausible_session_id(session_id):
            return []
        records = self.tables.records
        query = (
            sa.select(records)
            .where(records.c.session_id == session_id)
            .order_by(records.c.record_id)
            .limit(max(limit, 0))
        )
        if after_record_id is not None:
            query = query.where(records.c.record_id > after_record_id)
        if statuses is not None:
            query = query.where(records.c.status.in_([status.value for status in statuses]))
        with self._scope.read() as conn, _without_sort(conn):
            return [SyncRecordInfo.from_row(row._mapping) for row in conn.execute(query)]


@contextlib.contextmanager
def _without_sort(conn: sa.Connection) -> Iterator[None]:
    """On PostgreSQL, plan the next statements without sorting, then restore the setting.

    A table filled a moment ago has no statistics: the planner then takes a large session for
    a few rows and sorts all of them (tens of milliseconds at 100k records) instead of reading
    one page from the ``(session_id, record_id)`` index. The setting is transaction-local and
    put back, so a host's transaction (bound stores) keeps its own.
    """
    if conn.dialect.name != "postgresql":
        yield
        return
    previous = conn.execute(_SORT_OFF).scalar_one()
    try:
        yield
    finally:
        conn.execute(_SORT_RESTORE, {"previous": previous})


SORT_OFF_SQL = "SELECT current_setting('enable_sort'), set_config('enable_sort', 'off', true)"
"""Keeps the setting's value, then turns it off for the rest of the transaction."""
_SORT_OFF = sa.text(SORT_OFF_SQL)
_SORT_RESTORE = sa.text("SELECT set_config('enable_sort', :previous, true)")
