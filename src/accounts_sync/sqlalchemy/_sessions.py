"""The SQL ``SyncSessionRepository``: the in-memory store's semantics, enforced by the database."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from accounts_sync import _lifecycle as rules
from accounts_sync._clock import utc_now
from accounts_sync._enums import RecordStatus, SessionStatus, SyncCategory, SyncType
from accounts_sync._errors import ConflictError
from accounts_sync._sessions import RecordOutcome, SyncRecordInfo, SyncSessionInfo
from accounts_sync.ports import Clock

from ._claims import RecordClaims
from ._instances import SqlAlchemyInstanceRepository
from ._missing_tables import explain_missing_tables
from ._pages import PagedReads
from ._scopes import Bind, BoundSession, Scope, as_scope, bound_scope, is_bound
from ._statements import REFUSED, Statements
from ._tables import SyncTables, sync_tables

__all__ = ["SqlAlchemySyncSessionRepository"]

_ACTIVE = sorted(status.value for status in rules.ACTIVE_SESSION_STATUSES)


class _Inexact(Exception):
    """Not every outcome of a batch closed its record: write it again, record by record."""


def _counts(session_id: str, now: dt.datetime, succeeded: int, failed: int) -> dict[str, Any]:
    return {
        "p_session_id": session_id,
        "p_now": now,
        "p_succeeded": succeeded,
        "p_failed": failed,
    }


# A lost single-flight race names its holder; if the holder finished meanwhile, insert again.
_CONFLICT_ATTEMPTS = 3


@explain_missing_tables
class SqlAlchemySyncSessionRepository(PagedReads, RecordClaims):
    """Sessions and records in SQL tables, with exactly the in-memory store's semantics.

    Standalone (``SqlAlchemySyncSessionRepository(engine_or_sessionmaker)``), every method is
    one short transaction, committed before it returns: this is what background work uses.
    Bound (``SqlAlchemySyncSessionRepository.bound(session)``), methods run in the host's
    current ORM ``Session``, each write inside a SAVEPOINT, and the host commits: this is how
    ``prepare_background_full_sync`` runs inside a request.

    Every state change is a compare-and-set ``UPDATE`` on the current status. Transactions
    lock the session row before its records, so concurrent writers never deadlock.

    On SQLite, create the engine with ``create_engine_for`` (or ``configure_sqlite``): the
    write transactions rely on its ``BEGIN IMMEDIATE`` support.
    """

    def __init__(
        self, bind: Bind | Scope, *, tables: SyncTables = sync_tables, clock: Clock | None = None
    ) -> None:
        self.tables = tables
        self.clock: Clock = clock or utc_now
        self._scope = as_scope(bind, tables.sessions)
        self._statements = Statements.build(tables)
        self._counting: SqlAlchemyInstanceRepository[Any] | None = None

    def counting_with(self, instances: object) -> SqlAlchemySyncSessionRepository | None:
        """A view of this store that also bumps ``sync_count`` of each record it closes as
        completed, in the same transaction; None unless ``instances`` is a
        ``SqlAlchemyInstanceRepository`` with a count column on the same standalone engine."""
        if not (
            isinstance(instances, SqlAlchemyInstanceRepository)
            and instances.counts_syncs
            and instances.shares_engine_with(self._scope)
        ):
            return None
        view = copy.copy(self)
        view._counting = instances
        return view

    @property
    def is_bound(self) -> bool:
        """True for a repository writing in the host's session (``.bound(session)``)."""
        return is_bound(self._scope)

    @classmethod
    def bound(
        cls, session: BoundSession, *, tables: SyncTables = sync_tables, clock: Clock | None = None
    ) -> SqlAlchemySyncSessionRepository:
        """A repository that writes in ``session``'s transaction (SAVEPOINT + flush); the host
        commits. A ``scoped_session`` is resolved on every call."""
        return cls(bound_scope(session, tables.sessions), tables=tables, clock=clock)

    # -- reads -------------------------------------------------------------------------------

    def get_session(self, session_id: str) -> SyncSessionInfo | None:
        if not rules.plausible_session_id(session_id):
            return None
        sessions = self.tables.sessions
        with self._scope.read() as conn:
            row = conn.execute(
                sa.select(sessions).where(sessions.c.session_id == session_id)
            ).one_or_none()
        return None if row is None else SyncSessionInfo.from_row(row._mapping)

    def get_active_session(self, sync_category: SyncCategory | str) -> SyncSessionInfo | None:
        sessions = self.tables.sessions
        lock_key = SyncCategory(sync_category).value
        with self._scope.read() as conn:
            row = conn.execute(
                sa.select(sessions).where(sessions.c.lock_key == lock_key)
            ).one_or_none()
        return None if row is None else SyncSessionInfo.from_row(row._mapping)

    def list_sessions(
        self, *, limit: int = 50, sync_category: SyncCategory | str | None = None
    ) -> list[SyncSessionInfo]:
        sessions = self.tables.sessions
        query = sa.select(sessions).order_by(sessions.c.id.desc()).limit(limit)
        if sync_category is not None:
            query = query.where(sessions.c.sync_category == SyncCategory(sync_category).value)
        with self._scope.read() as conn:
            return [SyncSessionInfo.from_row(row._mapping) for row in conn.execute(query)]

    def list_records(self, session_id: str) -> list[SyncRecordInfo]:
        if not rules.plausible_session_id(session_id):
            return []
        records = self.tables.records
        query = (
            sa.select(records)
            .where(records.c.session_id == session_id)
            .order_by(records.c.record_id)
        )
        with self._scope.read() as conn:
            return [SyncRecordInfo.from_row(row._mapping) for row in conn.execute(query)]

    # -- session lifecycle -------------------------------------------------------------------

    def create_session(
        self,
        *,
        sync_type: SyncType | str,
        sync_category: SyncCategory | str,
        created_by: int | None,
        exclusive: bool = True,
    ) -> SyncSessionInfo:
        kind, category = SyncType(sync_type), SyncCategory(sync_category)
        lock_key = rules.lock_key_for(category, exclusive=exclusive)
        for _ in range(_CONFLICT_ATTEMPTS):
            info = SyncSessionInfo(
                session_id=str(uuid.uuid4()),
                sync_type=kind,
                sync_category=category,
                status=SessionStatus.PENDING,
                created_by=created_by,
                created_at=self.clock(),
            )
            try:
                with self._scope.write() as conn:
                    if lock_key is not None:
                        self._refuse_if_active(conn, category)
                    conn.execute(
                        sa.insert(self.tables.sessions),
                        {
                            "session_id": info.session_id,
                            "sync_type": kind.value,
                            "sync_category": category.value,
                            "status": info.status.value,
                            "created_by": created_by,
                            "created_at": info.created_at,
                            "lock_key": lock_key,
                        },
                    )
            except sa.exc.IntegrityError:
                if lock_key is None:
                    raise
                holder = self._lock_holder(lock_key)
                if holder is not None:
                    raise ConflictError.held_by(holder) from None
                continue
            return info
        raise ConflictError.held_by(None)

    def claim_session(self, session_id: str) -> bool:
        if not rules.plausible_session_id(session_id):
            return False
        sessions = self.tables.sessions
        now = self.clock()
        with self._scope.write() as conn:
            result = conn.execute(
                sa.update(sessions)
                .where(
                    sessions.c.session_id == session_id,
                    sessions.c.status == SessionStatus.PENDING.value,
                )
                .values(status=SessionStatus.RUNNING.value, started_at=now, heartbeat_at=now)
            )
        return result.rowcount == 1

    def heartbeat(self, session_id: str) -> None:
        if not rules.plausible_session_id(session_id):
            return
        now = self.clock()
        with self._scope.write() as conn:
            conn.execute(self._statements.heartbeat, {"p_session_id": session_id, "p_now": now})

    def request_cancel(self, session_id: str) -> bool:
        if not rules.plausible_session_id(session_id):
            return False
        sessions = self.tables.sessions
        with self._scope.write() as conn:
            flagged = conn.execute(
                sa.update(sessions)
                .where(sessions.c.session_id == session_id, sessions.c.status.in_(_ACTIVE))
                .values(cancel_requested=True)
            )
            if flagged.rowcount != 1:
                return False
            # A pending session has no task to notice the flag: cancel it now.
            self._finish(
                conn,
                session_id,
                SessionStatus.CANCELLED,
                None,
                sessions.c.status == SessionStatus.PENDING.value,
            )
        return True

    def finish_session(
        self, session_id: str, *, status: SessionStatus, error_message: str | None = None
    ) -> bool:
        status = rules.require_terminal(status)
        if not rules.plausible_session_id(session_id):
            return False
        with self._scope.write() as conn:
            return self._finish(
                conn,
                session_id,
                status,
                error_message,
                self.tables.sessions.c.status.in_(_ACTIVE),
            )

    def reap_stale(
        self,
        *,
        stale_after: dt.timedelta,
        message: str = rules.DEFAULT_INTERRUPTED_MESSAGE,
        stalled_after: dt.timedelta | None = None,
    ) -> list[str]:
        sessions = self.tables.sessions
        now = self.clock()
        stale: sa.ColumnElement[bool] = sa.and_(
            sessions.c.status.in_(_ACTIVE),
            sa.func.coalesce(sessions.c.heartbeat_at, sessions.c.created_at) < now - stale_after,
        )
        if stalled_after is not None:
            # ``rules.is_stalled`` in SQL.
            stale = sa.or_(
                stale,
                sa.and_(
                    sessions.c.status == SessionStatus.RUNNING.value,
                    sa.func.coalesce(sessions.c.progress_at, sessions.c.started_at)
                    < now - stalled_after,
                ),
            )
        with self._scope.read() as conn:
            candidates = list(
                conn.execute(
                    sa.select(sessions.c.session_id).where(stale).order_by(sessions.c.id)
                ).scalars()
            )
        if not candidates:
            return []
        with self._scope.write() as conn:
            # The condition is checked again as part of each compare-and-set: a session that
            # heartbeated since the read above is left alone.
            return [
                session_id
                for session_id in candidates
                if self._finish(conn, session_id, SessionStatus.FAILED, message, stale)
            ]

    # -- records -----------------------------------------------------------------------------

    def add_records(self, session_id: str, instances: Sequence[tuple[int, str]]) -> None:
        if not rules.plausible_session_id(session_id):
            raise KeyError(session_id)
        records, sessions = self.tables.records, self.tables.sessions
        with self._scope.write() as conn:
            locked = self._lock_session(conn, session_id)
            if locked is None:
                raise KeyError(session_id)
            if SessionStatus(locked[0]).is_terminal:
                return  # a terminal session never changes (e.g. reaped before its task got here)
            existing = conn.execute(
                sa.select(records.c.instance_id).where(records.c.session_id == session_id)
            ).scalars()
            items = rules.records_to_add(existing, instances)
            self._statements.insert_pending(conn, session_id, items)
            conn.execute(
                sa.update(sessions)
                .where(sessions.c.session_id == session_id)
                .values(total_instances=sessions.c.total_instances + len(items))
            )

    def start_records(self, session_id: str, instance_ids: Sequence[int]) -> bool:
        if not rules.plausible_session_id(session_id):
            return False
        with self._scope.write() as conn:
            return self._start(conn, session_id, instance_ids)

    def finish_records(self, session_id: str, outcomes: Sequence[RecordOutcome]) -> None:
        if rules.plausible_session_id(session_id):
            self._write_outcomes(session_id, outcomes, None)

    def advance_records(
        self, session_id: str, outcomes: Sequence[RecordOutcome], instance_ids: Sequence[int]
    ) -> bool:
        """``finish_records`` then ``start_records``, in one transaction (one commit)."""
        if not rules.plausible_session_id(session_id):
            return False
        return self._write_outcomes(session_id, outcomes, instance_ids)

    def _write_outcomes(
        self,
        session_id: str,
        outcomes: Sequence[RecordOutcome],
        start: Sequence[int] | None,
    ) -> bool:
        """Finish ``outcomes`` (then start ``start``) in one transaction: the whole batch at
        once; if the database refuses a value or not every record closed as written, again in
        a fresh transaction, record by record (only a refused record fails, and the counts
        follow exactly what closed)."""
        try:
            return self._write_in_one(session_id, outcomes, start, exact=False)
        except (*REFUSED, _Inexact):
            return self._write_in_one(session_id, outcomes, start, exact=True)

    def _write_in_one(
        self,
        session_id: str,
        outcomes: Sequence[RecordOutcome],
        start: Sequence[int] | None,
        *,
        exact: bool,
    ) -> bool:
        with self._scope.write() as conn:
            if outcomes:
                self._finish_running(conn, session_id, outcomes, exact=exact)
            return True if start is None else self._start(conn, session_id, start)

    def _start(self, conn: Connection, session_id: str, instance_ids: Sequence[int]) -> bool:
        now = self.clock()
        ids = list(instance_ids)
        if 0 < len(ids) <= rules.IN_BATCH:
            gated = {"p_session_id": session_id, "p_instance_ids": ids, "p_now": now}
            statements = self._statements
            postgres = conn.dialect.name == "postgresql"
            gated_start = statements.gated_start_array if postgres else statements.gated_start
            if conn.execute(gated_start, gated).rowcount:
                return True
            # Nothing started: cancelled, not running, or no record was pending; the locked
            # path below tells which.
        if self._lock_session(conn, session_id) != (SessionStatus.RUNNING.value, False):
            return False
        for start in range(0, len(ids), rules.IN_BATCH):
            conn.execute(
                self._statements.start,
                {
                    "p_session_id": session_id,
                    "p_instance_ids": ids[start : start + rules.IN_BATCH],
                    "p_now": now,
                },
            )
        return True

    def _finish_running(
        self, conn: Connection, session_id: str, outcomes: Sequence[RecordOutcome], *, exact: bool
    ) -> None:
        # As in memory, the first outcome of an instance wins; later ones find it closed.
        first: dict[int, RecordOutcome] = {}
        for outcome in outcomes:
            first.setdefault(outcome.instance_id, outcome)
        completed = [o for o in first.values() if o.status is RecordStatus.COMPLETED]
        failed = [o for o in first.values() if o.status is not RecordStatus.COMPLETED]
        now = self.clock()
        count = self._statements.count
        # The count goes first: it locks the session row before its records (the order every
        # writer follows) and stamps the heartbeat. Only a running session has running
        # records, so if it is not running there is nothing to close.
        expected = (0, 0) if exact else (len(completed), len(failed))
        bumped = conn.execute(count, _counts(session_id, now, *expected))
        if bumped.rowcount != 1:
            return
        statements = self._statements
        if exact:
            closed, failures = statements.close_each(conn, session_id, [*completed, *failed], now)
            conn.execute(count, _counts(session_id, now, len(closed), failures))
        else:
            written = (
                statements.execute_close(conn, session_id, completed, now),
                statements.execute_close(conn, session_id, failed, now),
            )
            if written != expected:
                raise _Inexact  # some record was not running: find out which, one by one
            closed = [o.instance_id for o in completed]
        if self._counting is not None:
            self._counting.increment_in(conn, closed)

    # -- internals ---------------------------------------------------------------------------

    def _refuse_if_active(self, conn: Connection, category: SyncCategory) -> None:
        # A session created with ``exclusive=False`` holds no lock but still counts as running;
        # the UNIQUE lock index is what makes the exclusive-versus-exclusive race safe.
        sessions = self.tables.sessions
        running = conn.scalar(
            sa.select(sessions.c.session_id)
            .where(sessions.c.sync_category == category.value, sessions.c.status.in_(_ACTIVE))
            # ``rules.conflict_holder``'s order: the lock holder, then the oldest.
            .order_by(sessions.c.lock_key.is_(None), sessions.c.created_at, sessions.c.id)
            .limit(1)
        )
        if running is not None:
            raise ConflictError.held_by(running)

    def _lock_holder(self, lock_key: str) -> str | None:
        sessions = self.tables.sessions
        # A locking read sees the latest committed row even inside a REPEATABLE READ snapshot
        # taken before the holder committed (MySQL, or a host transaction).
        with self._scope.read() as conn:
            holder: str | None = conn.execute(
                sa.select(sessions.c.session_id)
                .where(sessions.c.lock_key == lock_key)
                .with_for_update(read=True)
            ).scalar_one_or_none()
        return holder

    def _lock_session(self, conn: Connection, session_id: str) -> tuple[str, bool] | None:
        """Lock the session row for this transaction; its ``(status, cancel_requested)``."""
        row = conn.execute(self._statements.lock, {"p_session_id": session_id}).one_or_none()
        return None if row is None else (row.status, bool(row.cancel_requested))

    def _finish(
        self,
        conn: Connection,
        session_id: str,
        status: SessionStatus,
        error_message: str | None,
        condition: sa.ColumnElement[bool],
    ) -> bool:
        """Close the session if ``condition`` holds, then its open records; False if it did not."""
        sessions, records = self.tables.sessions, self.tables.records
        now = self.clock()
        closed = conn.execute(
            sa.update(sessions)
            .where(sessions.c.session_id == session_id, condition)
            .values(
                status=status.value, completed_at=now, error_message=error_message, lock_key=None
            )
        )
        if closed.rowcount != 1:
            return False
        settled = {RecordStatus.CANCELLED: 0, RecordStatus.FAILED: 0}
        for sources, target, values in rules.settling_writes(
            status, now=now, error_message=error_message
        ):
            settled[target] += conn.execute(
                sa.update(records)
                .where(records.c.session_id == session_id, records.c.status.in_(sources))
                .values(**values)
            ).rowcount
        if any(settled.values()):
            conn.execute(
                sa.update(sessions)
                .where(sessions.c.session_id == session_id)
                .values(
                    cancelled_instances=sessions.c.cancelled_instances
                    + settled[RecordStatus.CANCELLED],
                    failed_instances=sessions.c.failed_instances + settled[RecordStatus.FAILED],
                )
            )
        return True
