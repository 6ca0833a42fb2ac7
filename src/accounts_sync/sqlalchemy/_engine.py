"""Engines set up for the sync bookkeeping, and creating the tables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import StaticPool

from ._tables import SyncTables, sync_tables

__all__ = [
    "DEFAULT_DEMO_URL",
    "configure_sqlite",
    "create_all",
    "create_engine_for",
    "sqlite_url",
]

DEFAULT_DEMO_URL = "sqlite:///accounts_sync_demo.sqlite3"
"""The demo database: a SQLite file in the current directory."""

_BEGIN_MODES = frozenset({"", "DEFERRED", "IMMEDIATE", "EXCLUSIVE"})


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """The SQLAlchemy URL of a SQLite file (``sqlite:///`` + its absolute path)."""
    return f"sqlite:///{Path(path).resolve()}"


def create_engine_for(url: str | sa.URL, **options: Any) -> sa.Engine:
    """``sqlalchemy.create_engine`` with settings that suit the sync bookkeeping.

    SQLite files get :func:`configure_sqlite` (WAL, ``synchronous=NORMAL``, busy timeout,
    foreign keys, working SAVEPOINTs). An in-memory SQLite database is a single connection shared
    by every thread (``StaticPool``): fine for tests and single-threaded scripts, while
    concurrent work needs a file. Server databases get ``pool_pre_ping``, so a connection the
    server dropped is replaced instead of failing the next operation. ``options`` go to
    ``create_engine`` and win over these defaults.
    """
    url = sa.make_url(url)
    if url.get_backend_name() != "sqlite":
        options.setdefault("pool_pre_ping", True)
        return sa.create_engine(url, **options)
    if url.database in (None, "", ":memory:") or url.query.get("mode") == "memory":
        options.setdefault("poolclass", StaticPool)
        options.setdefault("connect_args", {"check_same_thread": False})
    engine = sa.create_engine(url, **options)
    configure_sqlite(engine)
    return engine


def configure_sqlite(engine: sa.Engine, *, busy_timeout: float = 30.0) -> sa.Engine:
    """Set up a SQLite engine for concurrent, transactional use; idempotent; returns it.

    On every new connection: WAL journal (readers never block the writer), ``synchronous=
    NORMAL`` (no fsync per commit, still safe in WAL), a busy timeout (writers wait for the
    lock instead of failing) and foreign keys. SQLAlchemy then emits ``BEGIN`` itself rather
    than leaving it to the ``sqlite3`` module, which would start transactions too late for
    SAVEPOINTs and repeatable reads; a connection with the execution option
    ``sqlite_begin="IMMEDIATE"`` (the repositories' write transactions) takes the write lock at
    ``BEGIN``. Do not use ``isolation_level="AUTOCOMMIT"`` on such an engine.
    """
    if event.contains(engine, "begin", _begin):
        return engine
    timeout_ms = int(busy_timeout * 1000)

    def connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # PRAGMA takes no bound parameters; the value is an int formatted here.
            cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    event.listen(engine, "connect", connect)
    event.listen(engine, "begin", _begin)
    return engine


def _begin(connection: sa.Connection) -> None:
    mode = str(connection.get_execution_options().get("sqlite_begin", "")).upper()
    if mode not in _BEGIN_MODES:
        raise ValueError(f"sqlite_begin must be one of DEFERRED, IMMEDIATE, EXCLUSIVE: {mode!r}")
    # Straight to the driver: going through the statement machinery for BEGIN would double the
    # cost of a short transaction.
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"BEGIN {mode}".strip())
    finally:
        cursor.close()


def create_all(
    bind: sa.Engine | sa.Connection,
    *,
    tables: SyncTables = sync_tables,
    instances: sa.Table | None = None,
) -> None:
    """Create the sessions and records tables (and ``instances``, e.g. the ready
    ``instances_table``) where missing. Hosts with migrations use Alembic instead."""
    tables.metadata.create_all(bind)
    if instances is not None:
        instances.create(bind, checkfirst=True)
