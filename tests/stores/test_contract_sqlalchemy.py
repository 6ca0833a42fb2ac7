"""The public contract kit on the SQLAlchemy stores: SQLite (memory, file), PostgreSQL, MariaDB."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from accounts_sync.ports import Clock
from accounts_sync.sqlalchemy import (
    SqlAlchemyInstanceRepository,
    SqlAlchemySyncSessionRepository,
    instances_table,
    sync_tables,
)
from accounts_sync.testing import FakeInstance
from accounts_sync.testing.contract import (
    InstanceFactory,
    InstanceRepositoryContract,
    SessionFactory,
    SessionRepositoryContract,
)


def empty(engine: sa.Engine) -> sa.Engine:
    """The engine, its tables emptied: the server databases are shared by the whole run."""
    with engine.begin() as conn:
        for table in (sync_tables.records, sync_tables.sessions, instances_table):
            conn.execute(table.delete())
    return engine


def one_connection(engine: sa.Engine) -> bool:
    # An in-memory SQLite database is one connection shared by every thread: no concurrency.
    return engine.url.get_backend_name() == "sqlite" and engine.url.database in (None, "")


class TestSqlAlchemySessions(SessionRepositoryContract):
    @pytest.fixture
    def session_factory(self, engine: sa.Engine) -> SessionFactory:
        def factory(clock: Clock) -> SqlAlchemySyncSessionRepository:
            return SqlAlchemySyncSessionRepository(empty(engine), clock=clock)

        return factory

    @pytest.fixture
    def thread_safe(self, engine: sa.Engine) -> bool:
        return not one_connection(engine)


class TestSqlAlchemyInstances(InstanceRepositoryContract):
    @pytest.fixture
    def instance_factory(self, engine: sa.Engine) -> InstanceFactory:
        def factory(instances: Sequence[FakeInstance]) -> SqlAlchemyInstanceRepository[Any]:
            repo: SqlAlchemyInstanceRepository[Any] = SqlAlchemyInstanceRepository(empty(engine))
            repo.upsert(instances)
            return repo

        return factory

    @pytest.fixture
    def thread_safe(self, engine: sa.Engine) -> bool:
        return not one_connection(engine)
