"""``create_engine_for`` / ``configure_sqlite`` / ``create_all``."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import StaticPool

from accounts_sync.sqlalchemy import (
    DEFAULT_DEMO_URL,
    configure_sqlite,
    create_all,
    create_engine_for,
    instances_table,
    sqlite_url,
    sync_tables,
)


def pragma(engine: sa.Engine, name: str) -> object:
    with engine.connect() as conn:
        return conn.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_a_sqlite_file_is_set_up_for_concurrent_bookkeeping(tmp_path: Path) -> None:
    engine = create_engine_for(sqlite_url(tmp_path / "a.sqlite3"))
    assert pragma(engine, "journal_mode") == "wal"
    assert pragma(engine, "synchronous") == 1  # NORMAL
    assert pragma(engine, "foreign_keys") == 1
    assert pragma(engine, "busy_timeout") == 30_000
    engine.dispose()


def test_configure_sqlite_is_idempotent(tmp_path: Path) -> None:
    engine = create_engine_for(sqlite_url(tmp_path / "b.sqlite3"))
    configure_sqlite(engine, busy_timeout=1)
    assert pragma(engine, "busy_timeout") == 30_000
    engine.dispose()


def test_savepoints_belong_to_the_enclosing_transaction(tmp_path: Path) -> None:
    # With the sqlite3 module's own transaction handling, a released SAVEPOINT opened before
    # any write is committed on its own; configure_sqlite makes it part of the transaction.
    engine = create_engine_for(sqlite_url(tmp_path / "c.sqlite3"))
    create_all(engine)
    sessions = sync_tables.sessions
    row = {
        "session_id": "s1",
        "sync_type": "manual_task",
        "sync_category": "account",
        "status": "pending",
        "created_at": sa.func.current_timestamp(),
    }
    with engine.connect() as conn:
        with conn.begin_nested():
            conn.execute(sa.insert(sessions).values(row))
        conn.rollback()
        assert conn.scalar(sa.select(sa.func.count()).select_from(sessions)) == 0
    engine.dispose()


def test_write_transactions_can_take_the_lock_up_front(tmp_path: Path) -> None:
    engine = create_engine_for(sqlite_url(tmp_path / "d.sqlite3"))
    statements: list[str] = []
    # BEGIN goes straight to the driver, so watch it from SQLite's side.
    event.listen(engine, "connect", lambda dbapi, _: dbapi.set_trace_callback(statements.append))
    with engine.execution_options(sqlite_begin="immediate").begin() as conn:
        conn.exec_driver_sql("SELECT 1")
    with engine.begin() as conn:
        conn.exec_driver_sql("SELECT 2")
    assert [s for s in statements if s.startswith("BEGIN")] == ["BEGIN IMMEDIATE", "BEGIN"]
    invalid = engine.execution_options(sqlite_begin="NOW; DROP TABLE x")
    with pytest.raises(ValueError, match="sqlite_begin"), invalid.begin():
        pass
    engine.dispose()


def test_an_in_memory_database_is_shared_by_every_thread() -> None:
    engine = create_engine_for("sqlite://")
    assert isinstance(engine.pool, StaticPool)
    create_all(engine, instances=instances_table)

    def count() -> None:
        with engine.connect() as conn:
            results.append(conn.scalar(sa.select(sa.func.count()).select_from(instances_table)))

    results: list[int | None] = []
    thread = threading.Thread(target=count)
    thread.start()
    thread.join()
    assert results == [0]


def test_server_engines_ping_before_use() -> None:
    engine = create_engine_for("postgresql+psycopg://user:secret@db.invalid/app")
    assert engine.pool._pre_ping  # type: ignore[attr-defined]
    overridden = create_engine_for("postgresql+psycopg://db.invalid/app", pool_pre_ping=False)
    assert not overridden.pool._pre_ping  # type: ignore[attr-defined]


def test_urls(tmp_path: Path) -> None:
    assert sqlite_url(tmp_path / "x.sqlite3") == f"sqlite:///{tmp_path / 'x.sqlite3'}"
    assert sa.make_url(DEFAULT_DEMO_URL).database == "accounts_sync_demo.sqlite3"


def test_create_all_is_repeatable_and_deletes_cascade(sqlite_engine: sa.Engine) -> None:
    create_all(sqlite_engine, instances=instances_table)
    sessions, records = sync_tables.sessions, sync_tables.records
    with sqlite_engine.begin() as conn:
        conn.execute(
            sa.insert(sessions).values(
                session_id="s1",
                sync_type="manual_task",
                sync_category="account",
                status="pending",
                created_at=sa.func.current_timestamp(),
            )
        )
        conn.execute(
            sa.insert(records).values(
                session_id="s1", instance_id=1, instance_name="a", status="pending"
            )
        )
        conn.execute(sa.delete(sessions))
        assert conn.scalar(sa.select(sa.func.count()).select_from(records)) == 0
