"""Fixtures of the SQLAlchemy store suite: engines with the tables created, on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from accounts_sync.sqlalchemy import create_all, create_engine_for, instances_table, sqlite_url

SQL_BACKENDS = [
    "sqlite-file",
    pytest.param("postgresql", marks=pytest.mark.services),
    pytest.param("mariadb", marks=pytest.mark.services),
]


def backend_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    """A URL of an empty database on ``backend`` (servers: a fresh database per test)."""
    if backend == "sqlite-file":
        return sqlite_url(tmp_path / "store.sqlite3")
    fixture = {"postgresql": "postgres_url", "mariadb": "mysql_url"}[backend]
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture(params=SQL_BACKENDS)
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database holding the library's tables and the ready instances table."""
    url = backend_url(request, request.param, tmp_path)
    engine = create_engine_for(url)
    create_all(engine, instances=instances_table)
    engine.dispose()
    return url


@pytest.fixture
def sql_engine(sql_url: str) -> Iterator[sa.Engine]:
    engine = create_engine_for(sql_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[sa.Engine]:
    """A SQLite file database with every table."""
    engine = create_engine_for(sqlite_url(tmp_path / "store.sqlite3"))
    create_all(engine, instances=instances_table)
    yield engine
    engine.dispose()
