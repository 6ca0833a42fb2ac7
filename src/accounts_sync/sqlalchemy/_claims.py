"""Record claims for fan-out full syncs (``SupportsRecordClaims``) on the SQL session store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

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


@explain_missing_tables
class RecordClaims:
    """Mixed into ``SqlAlchemySyncSessionRepository``: each call is one transaction that
    first locks the session row, as every writer of its records does, so the rows it reads
    cannot change before its compare-and-set ``UPDATE`` lands."""

    tables: SyncTables
    clock: Clock
    _scope: Scope

    _statements: Statements

    def _locked(self, conn: Connection, session_id: str) -> tuple[str, bool] | None:
        row = conn.execute(self._statements.lock, {"p_session_id": session_id}).one_or_none()
        return None if row is None else (row.status, bool(row.cancel_requested))

    def claim_records(
        self, session_id: str, instance_ids: Sequence[int], *, lease: dt.timedelta
    ) -> RecordClaim | None:
        if not rules.plausible_session_id(session_id):
            return None
        ids = list(dict.fromkeys(instance_ids))
        claimed: list[int] = []
        held: list[int] = []
        latest: list[dt.datetime] = []
        with self._scope.write() as conn:
            if self._locked(conn, session_id) != (SessionStatus.RUNNING.value, False):
                return None
            now = self.clock()
            for part in rules.batched(ids):
                taken, holding, started = self._claim_part(conn, session_id, part, now - lease, now)
                claimed += taken
                held += holding
                latest += started
        until = max(latest, default=None)
        return RecordClaim(
            claimed=tuple(claimed),
            held=tuple(held),
            held_until=None if until is None else as_utc(until) + lease,
        )

    def _claim_part(
        self,
        conn: Connection,
        session_id: str,
        ids: Sequence[int],
        cutoff: dt.datetime,
        now: dt.datetime,
    ) -> tuple[list[int], list[int], list[dt.datetime]]:
        records = self.tables.records
        # ``rules.claimable`` in SQL.
        claimable = sa.or_(
            records.c.status == _PENDING,
            sa.and_(records.c.status == _RUNNING, records.c.started_at < cutoff),
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
            if locked is None or locked[0] != SessionStatus.RUNNING.value:
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
