"""Engines set up for the sync bookkeeping, and creating the tables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import StaticPool

from ._drivers import require_driver, with_driver
from ._tables import SyncTables, sync_tables

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_DEMO_URL",
    "DEFAULT_STATEMENT_TIMEOUT",
    "configure_sqlite",
    "create_all",
    "create_engine_for",
    "sqlite_url",
]

DEFAULT_DEMO_URL = "sqlite:///accounts_sync_demo.sqlite3"
"""The demo database: a SQLite file in the current directory."""

DEFAULT_CONNECT_TIMEOUT = 10.0
"""Seconds to reach a server database: a server that does not answer fails the write at once."""

DEFAULT_STATEMENT_TIMEOUT = 60.0
"""Seconds one statement (PostgreSQL) or one read or write on the socket (MariaDB/MySQL) may
take. The bookkeeping's statements take milliseconds; a silent server must fail the call, not
hang the task's coordinator forever."""

_BEGIN_MODES = frozenset({"", "DEFERRED", "IMMEDIATE", "EXCLUSIVE"})
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10}


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """The SQLAlchemy URL of a SQLite file (``sqlite:///`` + its absolute path)."""
    return f"sqlite:///{Path(path).resolve()}"


def create_engine_for(
    url: str | sa.URL,
    *,
    connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
    statement_timeout: float | None = DEFAULT_STATEMENT_TIMEOUT,
    **options: Any,
) -> sa.Engine:
    """``sqlalchemy.create_engine`` with settings that suit the sync bookkeeping.

    SQLite files get :func:`configure_sqlite` (WAL, ``synchronous=NORMAL``, busy timeout,
    foreign keys, working SAVEPOINTs). An in-memory SQLite database is a single connection shared
    by every thread (``StaticPool``): fine for tests and single-threaded scripts, while
    concurrent work needs a file. Server databases get ``pool_pre_ping``, so a connection the
    server dropped is replaced instead of failing the next operation, and timeouts (``None``
    turns one off): on PostgreSQL ``connect_timeout``, ``statement_timeout`` and TCP
    keepalives; on MariaDB/MySQL ``connect_timeout``, ``read_timeout`` and ``write_timeout``.
    ``options`` go to ``create_engine`` and win over these defaults, as do the URL's query
    parameters and ``connect_args`` keys. A URL without a driver gets the installed one
    (``postgresql://`` psycopg 3, ``mysql://``/``mariadb://`` PyMySQL).

    Raises :class:`MissingDriverError` (a ``ModuleNotFoundError``) naming the pip extra when the
    driver is not installed.
    """
    url = with_driver(sa.make_url(url))
    if url.get_backend_name() != "sqlite":
        require_driver(url)
        options.setdefault("pool_pre_ping", True)
        given = {**url.query, **options.get("connect_args", {})}
        timeouts = _server_timeouts(url, connect_timeout, statement_timeout)
        options["connect_args"] = {
            **{key: value for key, value in timeouts.items() if key not in given},
            **options.get("connect_args", {}),
        }
        return sa.create_engine(url, **options)
    if url.database in (None, "", ":memory:") or url.query.get("mode") == "memory":
        options.setdefault("poolclass", StaticPool)
        options.setdefault("connect_args", {"check_same_thread": False})
    engine = sa.create_engine(url, **options)
    configure_sqlite(engine)
    return engine


def _server_timeouts(
    url: sa.URL, connect_timeout: float | None, statement_timeout: float | None
) -> dict[str, Any]:
    """The driver arguments that bound a call against a silent server (none for others)."""
    backend, driver = url.get_backend_name(), url.get_driver_name()
    timeouts: dict[str, Any] = {}
    if backend == "postgresql" and driver in ("psycopg", "psycopg2"):
        if connect_timeout is not None:
            timeouts["connect_timeout"] = max(1, round(connect_timeout))
        if statement_timeout is not None:
            timeouts["options"] = f"-c statement_timeout={round(statement_timeout * 1000)}"
            # A dropped network answers nothing: keepalives notice the dead peer.
            timeouts.update(_KEEPALIVES, keepalives_count=3)
    elif backend in ("mysql", "mariadb") and driver in ("pymysql", "mysqldb"):
        if connect_timeout is not None:
            timeouts["connect_timeout"] = max(1, round(connect_timeout))
        if statement_timeout is not None:
            seconds = max(1, round(statement_timeout))
            timeouts.update(read_timeout=seconds, write_timeout=seconds)
    return timeouts


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
