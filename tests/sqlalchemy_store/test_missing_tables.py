"""A database without the library's tables: the stores say to create them, not raw SQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from accounts_sync import AccountsSyncError, SyncCategory
from accounts_sync.sqlalchemy import (
    SchemaMissingError,
    SqlAlchemyInstanceRepository,
    SqlAlchemySyncSessionRepository,
    create_engine_for,
)

from .conftest import SQL_BACKENDS, backend_url


@pytest.fixture(params=SQL_BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """An engine on a database where ``create_all`` never ran."""
    engine = create_engine_for(backend_url(request, request.param, tmp_path))
    yield engine
    engine.dispose()


def test_the_session_store_says_to_create_its_tables(empty_engine: sa.Engine) -> None:
    sessions = SqlAlchemySyncSessionRepository(empty_engine)
    with pytest.raises(SchemaMissingError) as caught:
        sessions.get_active_session(SyncCategory.ACCOUNT)
    assert isinstance(caught.value, AccountsSyncError)
    assert isinstance(caught.value, LookupError)
    assert caught.value.extra == {"table": "accounts_sync_sessions"}
    assert str(caught.value) == (
        "table accounts_sync_sessions does not exist: create the tables with "
        "accounts_sync.sqlalchemy.create_all(engine) (or add them to your Alembic migrations)"
    )
    assert isinstance(caught.value.__cause__, sa.exc.DBAPIError)


def test_the_instance_store_says_to_create_its_table(empty_engine: sa.Engine) -> None:
    instances: SqlAlchemyInstanceRepository[object] = SqlAlchemyInstanceRepository(empty_engine)
    with pytest.raises(SchemaMissingError, match="table accounts_sync_instances does not exist"):
        instances.list_active()


def test_other_database_errors_pass_through(empty_engine: sa.Engine) -> None:
    with empty_engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE accounts_sync_sessions (id INTEGER)"))
    with pytest.raises(sa.exc.DBAPIError):
        SqlAlchemySyncSessionRepository(empty_engine).get_active_session(SyncCategory.ACCOUNT)
