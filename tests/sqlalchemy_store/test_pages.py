"""The paged reads of the SQL store: one index range per page, whatever the statistics say."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from accounts_sync import SyncCategory, SyncType
from accounts_sync.sqlalchemy import SqlAlchemySyncSessionRepository, create_engine_for, sync_tables
from accounts_sync.sqlalchemy._pages import _without_sort

from .conftest import backend_url

pytestmark = pytest.mark.services

RECORDS = 20_000


@pytest.fixture
def postgres(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[sa.Engine]:
    engine = create_engine_for(backend_url(request, "postgresql", tmp_path))
    sync_tables.metadata.create_all(engine)
    yield engine
    engine.dispose()


def test_a_page_of_a_large_session_just_filled_reads_the_index_without_sorting(
    postgres: sa.Engine,
) -> None:
    sessions = SqlAlchemySyncSessionRepository(postgres)
    info = sessions.create_session(
        sync_type=SyncType.MANUAL_TASK, sync_category=SyncCategory.ACCOUNT, created_by=None
    )
    assert sessions.claim_session(info.session_id)
    sessions.add_records(info.session_id, [(n, f"db-{n}") for n in range(1, RECORDS + 1)])
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, *rest: Any) -> None:
        seen.append((statement, params))

    sa.event.listen(postgres, "before_cursor_execute", capture)
    try:
        page = sessions.page_records(info.session_id, after_record_id=None, limit=101)
    finally:
        sa.event.remove(postgres, "before_cursor_execute", capture)
    assert [record.instance_id for record in page] == list(range(1, 102))
    # The store turns sorting off around its query and puts the setting back.
    (sort_off, (query, params), restore) = seen
    assert "set_config('enable_sort', 'off', true)" in sort_off[0]
    assert "set_config('enable_sort'" in restore[0] and restore[1] == {"previous": "on"}
    # add_records analysed the table (the session is all of it): whichever index the planner
    # takes, it reads the records in order, without sorting.
    with postgres.connect() as conn, conn.begin(), _without_sort(conn):
        plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {query}", params))
    assert "Index Scan using" in plan, plan
    assert "Sort" not in plan and "Bitmap" not in plan, plan
    with postgres.connect() as conn:
        assert conn.exec_driver_sql("SHOW enable_sort").scalar_one() == "on"
