"""Engines for the SQL stores' contract runs: SQLite (memory and file), PostgreSQL, MariaDB.

Each server gets one fresh database for the whole run (made as ``tests/conftest.py`` makes them:
skipped, or failed when services are required, if unreachable), emptied by every factory call:
creating a database per test would cost most of the suite's time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import sqlalchemy as sa

from accounts_sync.sqlalchemy import create_all, create_engine_for, instances_table, sqlite_url
from tests.conftest import MYSQL_URL, POSTGRES_URL, _fresh_database, require_server

SERVERS = {
    "postgresql": ("PostgreSQL", POSTGRES_URL, 5432, "ACCOUNTS_SYNC_POSTGRES_URL"),
    "mariadb": ("MariaDB/MySQL", MYSQL_URL, 3306, "ACCOUNTS_SYNC_MYSQL_URL"),
}


class ServerDatabases:
    """One database per server for the whole run, created on first use."""

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack
        self._engines: dict[str, sa.Engine] = {}

    def engine(self, backend: str) -> sa.Engine:
        if backend not in self._engines:
            name, admin_url, port, variable = SERVERS[backend]
            require_server(name, admin_url, port, variable=variable)
            url = self._stack.enter_context(
                contextlib.contextmanager(_fresh_database)(admin_url, name_prefix="as_contract")
            )
            engine = create_engine_for(url)
            self._stack.callback(engine.dispose)
            create_all(engine, instances=instances_table)
            self._engines[backend] = engine
        return self._engines[backend]


@pytest.fixture(scope="session")
def server_databases() -> Iterator[ServerDatabases]:
    with ExitStack() as stack:
        yield ServerDatabases(stack)


@pytest.fixture(
    params=[
        "sqlite-memory",
        "sqlite-file",
        pytest.param("postgresql", marks=pytest.mark.services),
        pytest.param("mariadb", marks=pytest.mark.services),
    ]
)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """An engine with the sync and instance tables, on each SQL backend in turn."""
    if request.param in SERVERS:
        servers: ServerDatabases = request.getfixturevalue("server_databases")
        yield servers.engine(request.param)
        return
    url = "sqlite://" if request.param == "sqlite-memory" else sqlite_url(tmp_path / "c.sqlite3")
    own = create_engine_for(url)
    create_all(own, instances=instances_table)
    try:
        yield own
    finally:
        own.dispose()
