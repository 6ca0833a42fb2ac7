"""The library's tables: sync sessions and records, and a ready instances table for scripts."""

from __future__ import annotations

import attrs
import sqlalchemy as sa

from ._types import UtcDateTime

__all__ = [
    "DEFAULT_PREFIX",
    "SyncTables",
    "build_instances_table",
    "build_tables",
    "instances_table",
    "sync_tables",
]

DEFAULT_PREFIX = "accounts_sync_"

# Integer keys: BIGINT where ids can grow, but plain INTEGER on SQLite so that an autoincrement
# primary key is the rowid alias.
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _counter(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer, nullable=False, default=0, server_default=sa.text("0"))


@attrs.frozen
class SyncTables:
    """The sessions and records tables, and the ``MetaData`` holding them.

    Add ``metadata`` to Alembic's ``target_metadata`` (or build the tables into your own
    ``MetaData`` with :func:`build_tables`) so that migrations create them.
    """

    metadata: sa.MetaData
    sessions: sa.Table
    records: sa.Table


def build_tables(
    metadata: sa.MetaData | None = None, *, prefix: str = DEFAULT_PREFIX
) -> SyncTables:
    """Define ``{prefix}sessions`` and ``{prefix}records`` in ``metadata`` (a new one if None).

    ``sessions.lock_key`` carries the single-flight guard: it holds the category while an
    exclusive session is pending or running and is NULL otherwise, and a plain UNIQUE index on
    it lets the database refuse a second holder.
    """
    # Long, and kept whole: two table definitions, column by column, as a migration shows them.
    metadata = sa.MetaData() if metadata is None else metadata
    sessions = sa.Table(
        f"{prefix}sessions",
        metadata,
        # The surrogate key orders sessions by creation even when the clock stands still.
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("sync_type", sa.String(32), nullable=False),
        sa.Column("sync_category", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        _counter("total_instances"),
        _counter("successful_instances"),
        _counter("failed_instances"),
        _counter("cancelled_instances"),
        sa.Column("created_by", sa.BigInteger, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=True),
        sa.Column("completed_at", UtcDateTime, nullable=True),
        sa.Column("heartbeat_at", UtcDateTime, nullable=True),
        # When a record last finished: the reaper's "no progress" rule (a heartbeat goes on
        # while a call hangs).
        sa.Column("progress_at", UtcDateTime, nullable=True),
        sa.Column("error_message", sa.Text, nullable=True),
        sa.Column(
            "cancel_requested",
            sa.Boolean,
            nullable=False,
            default=False,
            server_default=sa.false(),
        ),
        sa.Column("lock_key", sa.String(32), nullable=True),
        sa.UniqueConstraint("session_id", name=f"uq_{prefix}sessions_session_id"),
        sa.Index(f"ix_{prefix}sessions_lock_key", "lock_key", unique=True),
        # The reaper looks for pending/running sessions with an old heartbeat.
        sa.Index(f"ix_{prefix}sessions_status_heartbeat", "status", "heartbeat_at"),
        # A MySQL server defaulting to latin1 could not store names or messages in other scripts.
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )
    records = sa.Table(
        f"{prefix}records",
        metadata,
        sa.Column("record_id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column(
            "session_id",
            sa.String(36),
            sa.ForeignKey(
                sessions.c.session_id, ondelete="CASCADE", name=f"fk_{prefix}records_session_id"
            ),
            nullable=False,
        ),
        sa.Column("instance_id", sa.BigInteger, nullable=False),
        sa.Column("instance_name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        _counter("items_synced"),
        _counter("items_created"),
        _counter("items_updated"),
        _counter("items_deleted"),
        sa.Column("error_message", sa.Text, nullable=True),
        sa.Column("details", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("started_at", UtcDateTime, nullable=True),
        sa.Column("completed_at", UtcDateTime, nullable=True),
        # Serves every per-record compare-and-set and, by its prefix, the per-session scans.
        sa.UniqueConstraint(
            "session_id", "instance_id", name=f"uq_{prefix}records_session_instance"
        ),
        # Pages of a session's records in creation order, one index range each (the paged
        # reads); without it a page of a large session sorts all of its records.
        sa.Index(f"ix_{prefix}records_session_record", "session_id", "record_id"),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )
    return SyncTables(metadata=metadata, sessions=sessions, records=records)


def build_instances_table(
    metadata: sa.MetaData | None = None, *, prefix: str = DEFAULT_PREFIX
) -> sa.Table:
    """Define a ready ``{prefix}instances`` table, for scripts whose host has none.

    Its columns are the ones ``InstanceColumns()`` expects by default.
    """
    metadata = sa.MetaData() if metadata is None else metadata
    return sa.Table(
        f"{prefix}instances",
        metadata,
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("db_type", sa.String(32), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False, default=True, server_default=sa.true()),
        sa.Column("deleted_at", UtcDateTime, nullable=True),
        _counter("sync_count"),
        # count_active counts the few inactive rows through this index (see instances.py).
        sa.Index(f"ix_{prefix}instances_active", "is_active", "deleted_at"),
        sa.Index(f"ix_{prefix}instances_name", "name", "id"),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )


sync_tables = build_tables()
"""The default tables (``accounts_sync_sessions``, ``accounts_sync_records``)."""

instances_table = build_instances_table()
"""The default ready instances table, in a ``MetaData`` of its own so that adding
``sync_tables.metadata`` to a host's migrations never creates it."""
