"""The statements the SQL session store runs per batch of the full-sync loop, built once."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from accounts_sync._bounds import unstorable
from accounts_sync._enums import RecordStatus, SessionStatus
from accounts_sync._lifecycle import INSERT_BATCH, batched
from accounts_sync._sessions import RecordOutcome

from ._tables import SyncTables

__all__ = ["REFUSED", "Statements", "close_parameters"]

# What a database (or its driver, encoding a value) raises for a value it will not store.
REFUSED = (sa.exc.StatementError, ValueError, TypeError)

# The longest text (in characters, up to 4 bytes each) a joined MySQL close sends.
_JOINED_TEXT = 16_000

# Rows per PostgreSQL close: the planner, which expects few running records, may match the
# records and the rows by a nested loop, whose cost grows with the square of the batch.
_ROWS_PER_CLOSE = 100

# The columns an outcome writes onto its record, in the order of the joined close's rows,
# and their types in PostgreSQL's rows.
_CLOSED_TYPES: tuple[tuple[str, sa.types.TypeEngine[Any]], ...] = (
    ("instance_id", sa.BigInteger()),
    ("status", sa.String()),
    ("items_synced", sa.Integer()),
    ("items_created", sa.Integer()),
    ("items_updated", sa.Integer()),
    ("items_deleted", sa.Integer()),
    ("error_message", sa.Text()),
    ("details", postgresql.JSON()),
)
_CLOSED = tuple(name for name, _ in _CLOSED_TYPES)


@attrs.frozen
class Statements:
    """The statements the full-sync loop runs per batch, built once (constructing a statement
    costs more than executing it on SQLite), and how a batch of outcomes is written with them.
    Parameters are named ``p_*``."""

    records: sa.Table
    lock: sa.Select[Any]
    insert: sa.Insert
    insert_arrays: sa.Insert
    start: sa.Update
    gated_start: sa.Update
    gated_start_array: sa.Update
    close: sa.Update
    close_rows: sa.Update
    count: sa.Update
    heartbeat: sa.Update

    @classmethod
    def build(cls, tables: SyncTables) -> Statements:
        # Long, and kept whole: six declarative statements read best side by side.
        sessions, records = tables.sessions, tables.records
        in_session = records.c.session_id == sa.bindparam("p_session_id")
        is_running = sessions.c.status == SessionStatus.RUNNING.value

        def start(instances: sa.ColumnElement[bool], *, gated: bool) -> sa.Update:
            update = (
                sa.update(records)
                .where(in_session, instances, records.c.status == RecordStatus.PENDING.value)
                .values(status=RecordStatus.RUNNING.value, started_at=sa.bindparam("p_now"))
            )
            # The cancel gate inside the UPDATE: one round trip instead of lock + update.
            gate = sa.exists().where(
                sessions.c.session_id == sa.bindparam("p_session_id"),
                is_running,
                sessions.c.cancel_requested == sa.false(),
            )
            return update.where(gate) if gated else update

        listed = records.c.instance_id.in_(sa.bindparam("p_instance_ids", expanding=True))
        # PostgreSQL: one array parameter, so the text is the same for every batch and driver
        # and server parse it once (an expanded IN list is new text each time).
        in_array = records.c.instance_id == sa.any_(
            sa.bindparam("p_instance_ids", type_=postgresql.ARRAY(sa.BigInteger))
        )
        # PostgreSQL: a group's outcomes as one JSON parameter (encoded in C), unpacked into
        # typed rows by the server. The records are found by ``in_array`` on their unique key:
        # a join on the rows alone gets, once the driver prepares it, a generic plan that may
        # hash every record of the session.
        closed = (
            sa.func.json_to_recordset(sa.bindparam("p_rows", type_=postgresql.JSON))
            .table_valued(*(sa.column(name, kind) for name, kind in _CLOSED_TYPES))
            .render_derived(with_types=True)
        )
        pending = sa.func.unnest(
            sa.bindparam("p_new_ids", type_=postgresql.ARRAY(sa.BigInteger)),
            sa.bindparam("p_names", type_=postgresql.ARRAY(sa.String)),
        ).table_valued("instance_id", "instance_name")
        new_rows = pending.render_derived()
        return cls(
            records=records,
            lock=sa.select(sessions.c.status, sessions.c.cancel_requested, sessions.c.heartbeat_at)
            .where(sessions.c.session_id == sa.bindparam("p_session_id"))
            .with_for_update(),
            insert=sa.insert(records),
            insert_arrays=sa.insert(records).from_select(
                ["session_id", "instance_id", "instance_name", "status"],
                sa.select(
                    sa.bindparam("p_session_id", type_=sa.String),
                    new_rows.c.instance_id,
                    new_rows.c.instance_name,
                    sa.literal(RecordStatus.PENDING.value),
                ),
            ),
            start=start(listed, gated=False),
            gated_start=start(listed, gated=True),
            gated_start_array=start(in_array, gated=True),
            close_rows=sa.update(records)
            .where(
                in_session,
                in_array,
                records.c.instance_id == closed.c.instance_id,
                records.c.status == RecordStatus.RUNNING.value,
            )
            .values(
                {
                    **{name: closed.c[name] for name in _CLOSED[1:]},
                    "completed_at": sa.bindparam("p_now"),
                }
            ),
            close=sa.update(records)
            .where(
                in_session,
                records.c.instance_id == sa.bindparam("p_instance_id"),
                records.c.status == RecordStatus.RUNNING.value,
            )
            .values(
                {
                    **{name: sa.bindparam(f"p_{name}") for name in _CLOSED[1:]},
                    "completed_at": sa.bindparam("p_now"),
                }
            ),
            count=sa.update(sessions)
            .where(sessions.c.session_id == sa.bindparam("p_session_id"), is_running)
            .values(
                successful_instances=sessions.c.successful_instances
                + sa.bindparam("p_succeeded", type_=sa.Integer),
                failed_instances=sessions.c.failed_instances
                + sa.bindparam("p_failed", type_=sa.Integer),
                heartbeat_at=sa.bindparam("p_now"),
                progress_at=sa.bindparam("p_now"),
            ),
            heartbeat=sa.update(sessions)
            .where(sessions.c.session_id == sa.bindparam("p_session_id"), is_running)
            .values(heartbeat_at=sa.bindparam("p_now")),
        )

    def insert_pending(
        self, conn: Connection, session_id: str, items: Sequence[tuple[int, str]]
    ) -> None:
        """One pending record per ``(instance_id, name)``, one statement per ``INSERT_BATCH``:
        on PostgreSQL the rows of two arrays (its drivers would send one INSERT per row), on
        MySQL/MariaDB one multi-row INSERT, on SQLite an executemany it runs in C.

        A large session is then analysed on PostgreSQL: with statistics from before it, the
        planner takes the new ``session_id`` for a rare one and may find a record through an
        index on ``session_id`` alone, filtering every record of the session on each loop."""
        postgres = conn.dialect.name == "postgresql"
        mysql = _takes_format(conn)
        for chunk in batched(items, INSERT_BATCH):
            if mysql:
                _insert_rows(conn, self.records, session_id, chunk)
                continue
            if postgres:
                conn.execute(
                    self.insert_arrays,
                    {
                        "p_session_id": session_id,
                        "p_new_ids": [instance_id for instance_id, _ in chunk],
                        "p_names": [name for _, name in chunk],
                    },
                )
                continue
            conn.execute(
                self.insert,
                [
                    {
                        "session_id": session_id,
                        "instance_id": instance_id,
                        "instance_name": name,
                        "status": RecordStatus.PENDING.value,
                    }
                    for instance_id, name in chunk
                ],
            )
        if postgres and len(items) >= INSERT_BATCH:
            table = conn.dialect.identifier_preparer.format_table(self.insert.table)
            conn.exec_driver_sql(f"ANALYZE {table}")

    def close_each(
        self,
        conn: Connection,
        session_id: str,
        outcomes: Sequence[RecordOutcome],
        now: dt.datetime,
    ) -> tuple[list[int], int]:
        """Write each outcome on its own (a SAVEPOINT each) onto its record if that record is
        still running; one the database refuses is written as ``unstorable`` (only that record
        fails). Return the instances it closed as completed, and how many it closed as failed."""
        completed: list[int] = []
        failures = 0
        for outcome in outcomes:
            try:
                with conn.begin_nested():  # a failed statement aborts a PostgreSQL transaction
                    rows = self.execute_close(conn, session_id, [outcome], now)
            except REFUSED as error:
                outcome = unstorable(outcome, error)
                with conn.begin_nested():  # if even this fails, the store itself is failing
                    rows = self.execute_close(conn, session_id, [outcome], now)
            if rows and outcome.status is RecordStatus.COMPLETED:
                completed.append(outcome.instance_id)
            elif rows:
                failures += 1
        return completed, failures

    def execute_close(
        self,
        conn: Connection,
        session_id: str,
        outcomes: Sequence[RecordOutcome],
        now: dt.datetime,
    ) -> int:
        """Write ``outcomes`` onto their records if still running; how many it closed."""
        if not outcomes:
            return 0
        dialect = conn.dialect
        if len(outcomes) > 1 and dialect.name == "postgresql":
            written = 0
            for chunk in batched(outcomes, _ROWS_PER_CLOSE):
                bulk = {
                    "p_session_id": session_id,
                    "p_instance_ids": [o.instance_id for o in chunk],
                    "p_rows": [dict(zip(_CLOSED, _closed(o), strict=True)) for o in chunk],
                    "p_now": now,
                }
                written += int(conn.execute(self.close_rows, bulk).rowcount)
            return written
        if len(outcomes) > 1 and _takes_format(conn):
            closed = _close_joined(conn, self.records, session_id, outcomes, now)
            if closed is not None:
                return closed
        parameters = [close_parameters(session_id, o, now) for o in outcomes]
        close = self.close
        if len(parameters) == 1 or conn.dialect.supports_sane_multi_rowcount:
            return int(conn.execute(close, parameters).rowcount)
        # A driver that cannot count an executemany: one statement per record.
        return sum(int(conn.execute(close, p).rowcount) for p in parameters)


def close_parameters(session_id: str, outcome: RecordOutcome, now: dt.datetime) -> dict[str, Any]:
    """The parameters of ``Statements.close`` for ``outcome``."""
    values = zip(_CLOSED, _closed(outcome), strict=True)
    return {"p_session_id": session_id, "p_now": now, **{f"p_{n}": v for n, v in values}}


def _closed(o: RecordOutcome) -> tuple[Any, ...]:
    """What ``o`` writes onto its record, in the order of ``_CLOSED``."""
    return (
        o.instance_id,
        o.status.value,
        o.items_synced,
        o.items_created,
        o.items_updated,
        o.items_deleted,
        o.error_message,
        o.details,
    )


def _takes_format(conn: Connection) -> bool:
    """MySQL/MariaDB through a driver that takes ``%s`` with a tuple (PyMySQL and mysqlclient
    do, in either style they declare): the statements written out below are for them."""
    return conn.dialect.name == "mysql" and "format" in conn.dialect.paramstyle


def _insert_rows(
    conn: Connection, records: sa.Table, session_id: str, items: Sequence[tuple[int, str]]
) -> None:
    """MySQL/MariaDB: the pending records of ``items`` in one multi-row INSERT written out here
    (the driver's executemany builds the same statement row by row, after SQLAlchemy has
    processed each row's parameters: about twice the time)."""
    preparer = conn.dialect.identifier_preparer
    columns = ", ".join(
        preparer.quote(name) for name in ("session_id", "instance_id", "instance_name", "status")
    )
    rows = ", ".join(["(%s, %s, %s, %s)"] * len(items))
    pending = RecordStatus.PENDING.value
    parameters = tuple(
        itertools.chain.from_iterable((session_id, i, name, pending) for i, name in items)
    )
    conn.exec_driver_sql(
        f"INSERT INTO {preparer.format_table(records)} ({columns}) VALUES {rows}", parameters
    )


def _close_joined(
    conn: Connection,
    records: sa.Table,
    session_id: str,
    outcomes: Sequence[RecordOutcome],
    now: dt.datetime,
) -> int | None:
    """MySQL/MariaDB: close every record of ``outcomes`` in one UPDATE joined to their rows
    (their drivers send an executemany UPDATE one statement, one round trip, per row). None,
    having written nothing, when the batch must go row by row instead."""
    # The details column's own encoding (the engine's JSON serializer; None stays NULL).
    to_json = records.c.details.type.bind_processor(conn.dialect)
    if to_json is None:
        return None
    values = [(*_closed(o)[:-1], to_json(o.details)) for o in outcomes]
    # MariaDB cuts a text of over 64 KiB in the joined rows to its length modulo 65,536,
    # silently, where a TEXT column refuses it: such a batch goes row by row.
    if any(type(v) is str and len(v) > _JOINED_TEXT for row in values for v in row):
        return None
    quote = conn.dialect.identifier_preparer.quote
    first = ", ".join(f"%s AS {quote(name)}" for name in _CLOSED)
    rest = ", ".join("%s" for _ in _CLOSED)
    rows = " UNION ALL ".join([f"SELECT {first}", *[f"SELECT {rest}"] * (len(outcomes) - 1)])
    assignments = ", ".join(f"r.{quote(name)} = v.{quote(name)}" for name in _CLOSED[1:])
    statement = (
        f"UPDATE {conn.dialect.identifier_preparer.format_table(records)} AS r"
        f" JOIN ({rows}) AS v ON r.{quote('instance_id')} = v.{quote('instance_id')}"
        f" SET {assignments}, r.{quote('completed_at')} = %s"
        f" WHERE r.{quote('session_id')} = %s AND r.{quote('status')} = %s"
    )
    completed_at = records.c.completed_at.type.bind_processor(conn.dialect)
    parameters = [
        *itertools.chain.from_iterable(values),
        completed_at(now) if completed_at is not None else now,
        session_id,
        RecordStatus.RUNNING.value,
    ]
    return int(conn.exec_driver_sql(statement, tuple(parameters)).rowcount)
