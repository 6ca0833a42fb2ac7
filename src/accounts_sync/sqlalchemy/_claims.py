"""Record claims for fan-out full syncs (``SupportsRecordClaims``) on the SQL session store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from accounts_sync import _lifecycle as rules
from accounts_sync._clock import as_utc
from accounts_sync._enums import RecordStatus, SessionStatus
from accounts_sync._sessions import RecordClaim

if TYPE_CHECKING:
    from accounts_sync.ports import Clock

    from ._scopes import Scope
    from ._statements import Statements
    from ._tables import SyncTables

from ._missing_tables import explain_missing_tables

__all__ = ["RecordClaims"]

_RUNNING = RecordStatus.RUNNING.value
_PENDING = RecordStatus.PENDING.value
_SESSION_RUNNING = SessionStatus.RUNNING.value


@explain_missing_tables
class RecordClaims:
    """Mixed into ``SqlAlchemySyncSessionRepository``: each call is one transaction that
    first locks the session row, as every writer of its records does, so the rows it reads
    cannot change before its compare-and-set ``UPDATE`` lands."""

    tables: SyncTables
    clock: Clock
    _scope: Scope

    _statements: Statements

    def _locked(self, conn: Connection, session_id: str) -> sa.Row[Any] | None:
        """The session row (``status``, ``cancel_requested``, ``heartbeat_at``), locked."""
        return conn.execute(self._statements.lock, {"p_session_id": session_id}).one_or_none()

    def claim_records(
        self, session_id: str, instance_ids: Sequence[int], *, lease: dt.timedelta
    ) -> RecordClaim | None:
        if not rules.plausible_session_id(session_id):
            return None
        ids = list(dict.fromkeys(instance_ids))
        claimed: list[int] = []
        held: list[int] = []
        starts: list[dt.datetime | None] = []
        with self._scope.write() as conn:
            session = self._locked(conn, session_id)
            if session is None or session.status != _SESSION_RUNNING or session.cancel_requested:
                return None
            now = self.clock()
            heartbeat = None if session.heartbeat_at is None else as_utc(session.heartbeat_at)
            cutoff = rules.claim_cutoff(as_utc(now), lease, heartbeat)
            for part in rules.batched(ids):
                taken, holding, started = self._claim_part(conn, session_id, part, cutoff, now)
                claimed += taken
                held += holding
                starts += [None if start is None else as_utc(start) for start in started]
        until = rules.lease_end(starts, heartbeat, lease)
        return RecordClaim(claimed=tuple(claimed), held=tuple(held), held_until=until)

    def _claim_part(
        self,
        conn: Connection,
        session_id: str,
        ids: Sequence[int],
        cutoff: dt.datetime | None,
        now: dt.datetime,
    ) -> tuple[list[int], list[int], list[dt.datetime | None]]:
        records = self.tables.records
        # ``rules.claimable`` in SQL.
        claimable = (
            records.c.status == _PENDING
            if cutoff is None
            else sa.or_(
                records.c.status == _PENDING,
                sa.and_(records.c.status == _RUNNING, records.c.started_at < cutoff),
            )
        )
        mine = sa.and_(records.c.session_id == session_id, records.c.instance_id.in_(ids))
        rows = conn.execute(
            sa.select(records.c.instance_id, claimable.label("free"), records.c.started_at).where(
                mine, records.c.status.in_((_PENDING, _RUNNING))
            )
        ).all()
        taken = [row.instance_id for row in rows if row.free]
        if taken:
            conn.execute(
                sa.update(records)
                .where(
                    records.c.session_id == session_id,
                    records.c.instance_id.in_(taken),
                    claimable,
                )
                .values(status=_RUNNING, started_at=now)
            )
        others = [row for row in rows if not row.free]
        return taken, [row.instance_id for row in others], [row.started_at for row in others]

    def release_records(self, session_id: str, instance_ids: Sequence[int]) -> int:
        if not rules.plausible_session_id(session_id):
            return 0
        records = self.tables.records
        released = 0
        with self._scope.write() as conn:
            locked = self._locked(conn, session_id)
            if locked is None or locked.status != _SESSION_RUNNING:
                return 0
            for part in rules.batched(list(dict.fromkeys(instance_ids))):
                released += conn.execute(
                    sa.update(records)
                    .where(
                        records.c.session_id == session_id,
                        records.c.instance_id.in_(part),
                        records.c.status == _RUNNING,
                    )
                    .values(status=_PENDING, started_at=None)
                ).rowcount
        return released

    def count_running(self, session_id: str) -> int:
        if not rules.plausible_session_id(session_id):
            return 0
        records = self.tables.records
        with self._scope.read() as conn:
            return int(
                conn.scalar(
                    sa.select(sa.func.count()).where(
                        records.c.session_id == session_id, records.c.status == _RUNNING
                    )
                )
                or 0
            )
