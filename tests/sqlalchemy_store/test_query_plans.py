"""The full-sync loop's statements keep a flat cost on a freshly filled 100,000-record session,
whatever statistics PostgreSQL holds: each is planned by its whole key, never by the session
alone (which would filter every record of the session on each loop), in the plan made for its
values and in the generic plan a prepared statement ends up with."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from psycopg.sql import Literal

from accounts_sync import RecordStatus, SessionStatus
from accounts_sync.ports import RecordOutcome
from accounts_sync.sqlalchemy import (
    InstanceRow,
    SqlAlchemyInstanceRepository,
    SqlAlchemySyncSessionRepository,
    create_all,
    create_engine_for,
    instances_table,
    sync_tables,
)
from accounts_sync.testing.contract._support import running

pytestmark = [pytest.mark.services, pytest.mark.slow]

COUNT = 100_000
GROWING = (sync_tables.records.name, instances_table.name)


@pytest.fixture
def engine(postgres_url: str) -> Iterator[sa.Engine]:
    engine = create_engine_for(postgres_url)
    create_all(engine, instances=instances_table)
    yield engine
    engine.dispose()


def session_with_records(sessions: SqlAlchemySyncSessionRepository, count: int) -> str:
    return running(sessions, [f"db-{i}" for i in range(1, count + 1)], exclusive=False)


def captured(engine: sa.Engine, call: Callable[[], Any]) -> list[tuple[str, Any]]:
    """The UPDATE statements ``call`` runs, each with its first parameter set."""
    seen: list[tuple[str, Any]] = []

    def grab(*args: Any) -> None:
        statement, parameters, executemany = args[2], args[3], args[5]
        if statement.lstrip().upper().startswith("UPDATE"):
            seen.append((statement, parameters[0] if executemany else parameters))

    sa.event.listen(engine, "before_cursor_execute", grab)
    try:
        call()
    finally:
        sa.event.remove(engine, "before_cursor_execute", grab)
    return seen


def plan(engine: sa.Engine, statement: str, parameters: Any) -> str:
    with engine.connect() as conn:
        return "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters))


def generic_plan(engine: sa.Engine, statement: str, parameters: Any) -> str:
    """The plan PostgreSQL keeps for a prepared statement once it stops planning per call
    (the driver prepares a statement it has run five times): blind to the values."""
    names: list[str] = []

    def numbered(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    prepared = re.sub(r"%\((\w+)\)s", numbered, statement)
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        arguments = ", ".join(Literal(parameters[name]).as_string(driver) for name in names)
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        conn.exec_driver_sql(f"PREPARE per_loop AS {prepared}")
        rows = conn.exec_driver_sql(f"EXPLAIN EXECUTE per_loop({arguments})")
        explained = "\n".join(row[0] for row in rows)
        conn.rollback()
        conn.exec_driver_sql("DEALLOCATE ALL")
    return explained


def test_per_loop_statements_use_the_whole_key_on_a_fresh_100k_session(engine: sa.Engine) -> None:
    instances: SqlAlchemyInstanceRepository[Any] = SqlAlchemyInstanceRepository(
        engine, table=instances_table
    )
    instances.upsert(
        InstanceRow(id=i, name=f"db-{i}", db_type="mysql", host="h") for i in range(1, COUNT + 1)
    )
    sessions = SqlAlchemySyncSessionRepository(engine)
    # The trap: statistics taken while the tables held one small, finished session.
    old = session_with_records(sessions, 2_000)
    sessions.finish_session(old, status=SessionStatus.CANCELLED)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    session_id = session_with_records(sessions, COUNT)
    counted = sessions.counting_with(instances)
    assert counted is not None

    def done(ids: range) -> list[RecordOutcome]:
        return [RecordOutcome(instance_id=i, status=RecordStatus.COMPLETED) for i in ids]

    statements = [
        *captured(engine, lambda: counted.start_records(session_id, list(range(500, 516)))),
        *captured(
            engine,
            lambda: counted.advance_records(session_id, done(range(500, 508)), [600, 601]),
        ),
        *captured(engine, lambda: counted.finish_records(session_id, done(range(508, 516)))),
    ]
    tables = {re.match(r"\s*UPDATE (\w+)", sql).group(1) for sql, _ in statements}  # type: ignore[union-attr]
    # Start, finish (close), the session's counters and the instances' sync counts.
    assert tables == {sync_tables.records.name, sync_tables.sessions.name, instances_table.name}
    for sql, parameters in statements:
        for explained in (plan(engine, sql, parameters), generic_plan(engine, sql, parameters)):
            for table in GROWING:
                assert f"Seq Scan on {table}" not in explained, explained
            if sql.lstrip().startswith(f"UPDATE {sync_tables.records.name}"):
                keys = re.findall(r"Index Cond: (.*)", explained)
                assert keys, explained
                assert all("session_id" in key and "instance_id" in key for key in keys), explained
    info = sessions.get_session(session_id)
    assert info is not None
    assert (info.successful_instances, info.failed_instances) == (16, 0)
    assert sum(r.status is RecordStatus.RUNNING for r in sessions.list_records(session_id)) == 2
