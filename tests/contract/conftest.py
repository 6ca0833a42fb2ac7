"""One contract suite, every store: in memory, SQLite (memory and file), PostgreSQL, MariaDB.

``store`` is parametrised over the backends. Each server backend gets one fresh database for the
whole run (made as ``tests/conftest.py`` makes them: skipped, or failed when services are
required, if unreachable), emptied before every test: creating a database per test would cost
most of the suite's time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from accounts_sync import InstanceRepository, SyncSessionRepository
from accounts_sync.memory import InMemoryInstanceRepository, InMemorySyncSessionRepository
from accounts_sync.ports import Clock
from accounts_sync.sqlalchemy import (
    SqlAlchemyInstanceRepository,
    SqlAlchemySyncSessionRepository,
    create_all,
    create_engine_for,
    instances_table,
    sqlite_url,
    sync_tables,
)
from accounts_sync.testing import ManualClock
from tests.conftest import MYSQL_URL, POSTGRES_URL, _fresh_database, require_server

SERVERS = {
    "postgresql": ("PostgreSQL", POSTGRES_URL, 5432),
    "mariadb": ("MariaDB/MySQL", MYSQL_URL, 3306),
}


@attrs.frozen
class Store:
    """A backend under test: fresh repositories on one empty database."""

    name: str
    sessions: Callable[[Clock], SyncSessionRepository]
    instances: Callable[[], InstanceRepository[Any]]
    seed: Callable[[InstanceRepository[Any], Iterable[Any]], None]
    sync_count: Callable[[InstanceRepository[Any], int], int]


def _memory_store() -> Store:
    def seed(repo: Any, items: Iterable[Any]) -> None:
        for item in items:
            repo.add(item)

    return Store(
        name="memory",
        sessions=lambda clock: InMemorySyncSessionRepository(clock=clock),
        instances=InMemoryInstanceRepository,
        seed=seed,
        sync_count=lambda repo, instance_id: repo.sync_count(instance_id),  # type: ignore[attr-defined]
    )


def _sql_store(name: str, engine: sa.Engine) -> Store:
    create_all(engine, instances=instances_table)  # no-op for the servers' shared databases
    return Store(
        name=name,
        sessions=lambda clock: SqlAlchemySyncSessionRepository(engine, clock=clock),
        instances=lambda: SqlAlchemyInstanceRepository(engine),
        seed=lambda repo, items: repo.upsert(items),  # type: ignore[attr-defined]
        sync_count=lambda repo, instance_id: repo.sync_count(instance_id),  # type: ignore[attr-defined]
    )


class ServerDatabases:
    """One database per server for the whole run, created on first use."""

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack
        self._engines: dict[str, sa.Engine] = {}

    def engine(self, backend: str) -> sa.Engine:
        if backend not in self._engines:
            name, admin_url, port = SERVERS[backend]
            require_server(name, admin_url, port)
            url = self._stack.enter_context(
                contextlib.contextmanager(_fresh_database)(admin_url, name_prefix="as_contract")
            )
            engine = create_engine_for(url)
            self._stack.callback(engine.dispose)
            create_all(engine, instances=instances_table)
            self._engines[backend] = engine
        engine = self._engines[backend]
        with engine.begin() as conn:
            for table in (sync_tables.records, sync_tables.sessions, instances_table):
                conn.execute(table.delete())
        return engine


@pytest.fixture(scope="session")
def server_databases() -> Iterator[ServerDatabases]:
    with ExitStack() as stack:
        yield ServerDatabases(stack)


def _engine(request: pytest.FixtureRequest, tmp_path: Path) -> sa.Engine | None:
    if request.param == "sqlite-memory":
        return create_engine_for("sqlite://")
    if request.param == "sqlite-file":
        return create_engine_for(sqlite_url(tmp_path / "contract.sqlite3"))
    if request.param in SERVERS:
        return request.getfixturevalue("server_databases").engine(request.param)
    return None


@pytest.fixture(
    params=[
        "memory",
        "sqlite-memory",
        "sqlite-file",
        pytest.param("postgresql", marks=pytest.mark.services),
        pytest.param("mariadb", marks=pytest.mark.services),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    engine = _engine(request, tmp_path)
    if engine is None:
        yield _memory_store()
        return
    if request.param in SERVERS:
        yield _sql_store(request.param, engine)
        return
    try:
        yield _sql_store(request.param, engine)
    finally:
        engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sessions(store: Store, clock: ManualClock) -> SyncSessionRepository:
    return store.sessions(clock)


@pytest.fixture
def instances(store: Store) -> InstanceRepository[Any]:
    return store.instances()
