"""The tables: names, prefix, MetaData, indexes, column types on each dialect."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.schema import CreateTable

from accounts_sync import SyncRecordInfo, SyncSessionInfo
from accounts_sync.sqlalchemy import (
    UtcDateTime,
    build_instances_table,
    build_tables,
    instances_table,
    sync_tables,
)


def index_columns(table: sa.Table) -> dict[str, tuple[tuple[str, ...], bool]]:
    return {
        str(index.name): (tuple(c.name for c in index.columns), bool(index.unique))
        for index in table.indexes
    }


def test_default_tables_live_in_their_own_metadata() -> None:
    assert set(sync_tables.metadata.tables) == {"accounts_sync_sessions", "accounts_sync_records"}
    assert instances_table.name == "accounts_sync_instances"
    assert instances_table.metadata is not sync_tables.metadata


def test_prefix_and_host_metadata() -> None:
    host = sa.MetaData()
    tables = build_tables(host, prefix="ops_")
    instances = build_instances_table(host, prefix="ops_")
    assert tables.metadata is host
    assert set(host.tables) == {"ops_sessions", "ops_records", "ops_instances"}
    assert all(str(index.name).startswith("ix_ops_") for index in tables.sessions.indexes)
    assert {fk.column.table.name for fk in tables.records.foreign_keys} == {"ops_sessions"}
    assert {str(i.name) for i in instances.indexes} == {
        "ix_ops_instances_active",
        "ix_ops_instances_name",
    }


def test_columns_cover_every_snapshot_field() -> None:
    sessions, records = sync_tables.sessions.c, sync_tables.records.c
    assert {f.name for f in attrs.fields(SyncSessionInfo)} <= set(sessions.keys())
    assert {f.name for f in attrs.fields(SyncRecordInfo)} <= set(records.keys())
    assert sessions.lock_key.nullable
    assert isinstance(records.details.type, sa.JSON)
    assert isinstance(sessions.error_message.type, sa.Text)


def test_indexes_serve_the_guard_and_the_reaper() -> None:
    assert index_columns(sync_tables.sessions) == {
        "ix_accounts_sync_sessions_lock_key": (("lock_key",), True),
        "ix_accounts_sync_sessions_status_heartbeat": (("status", "heartbeat_at"), False),
    }
    unique = {
        tuple(c.name for c in constraint.columns)
        for constraint in sync_tables.records.constraints
        if isinstance(constraint, sa.UniqueConstraint)
    }
    assert unique == {("session_id", "instance_id")}
    # The pages of a session's records (the paged reads).
    assert index_columns(sync_tables.records) == {
        "ix_accounts_sync_records_session_record": (("session_id", "record_id"), False),
    }
    (fk,) = sync_tables.records.foreign_keys
    assert fk.ondelete == "CASCADE"


@pytest.mark.parametrize(
    ("dialect", "expected"),
    [
        (mysql.dialect(), ["DATETIME(6)", "CHARSET=utf8mb4", "VARCHAR(255)", "TEXT"]),
        (postgresql.dialect(), ["TIMESTAMP WITH TIME ZONE", "JSON", "BIGSERIAL"]),
        (sqlite.dialect(), ["DATETIME", "record_id INTEGER NOT NULL"]),
    ],
)
def test_ddl_per_dialect(dialect: sa.Dialect, expected: list[str]) -> None:
    ddl = str(CreateTable(sync_tables.records).compile(dialect=dialect))
    for fragment in expected:
        assert fragment in ddl


class TestUtcDateTime:
    def test_aware_values_of_any_zone_come_back_as_utc(self, sqlite_engine: sa.Engine) -> None:
        shanghai = dt.timezone(dt.timedelta(hours=8))
        moment = dt.datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=shanghai)
        with sqlite_engine.connect() as conn:
            back = conn.scalar(sa.select(sa.literal(moment, UtcDateTime())))
        assert back == moment
        assert back is not None
        assert back.tzinfo == dt.timezone.utc
        assert (back.hour, back.microsecond) == (0, 123456)

    def test_naive_values_are_refused(self, sqlite_engine: sa.Engine) -> None:
        with sqlite_engine.connect() as conn, pytest.raises(sa.exc.StatementError, match="aware"):
            conn.execute(sa.select(sa.literal(dt.datetime(2026, 1, 1), UtcDateTime())))
