"""``sync_count`` written in the records' own transaction, when both stores share an engine:
a crash can neither lose a completed instance's count nor count it twice."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from accounts_sync import FullSyncTask, RecordStatus, SessionStatus, SyncCategory, SyncType
from accounts_sync.memory import InMemoryInstanceRepository
from accounts_sync.ports import RecordOutcome, SupportsCountedRecords
from accounts_sync.sqlalchemy import (
    SqlAlchemyInstanceRepository,
    SqlAlchemySyncSessionRepository,
    create_all,
    create_engine_for,
    instances_table,
)
from accounts_sync.testing import ScriptedSyncService, make_instances

from . import _workers
from .conftest import backend_url


def running_session(sessions: SqlAlchemySyncSessionRepository, ids: list[int]) -> str:
    session_id = sessions.create_session(
        sync_type=SyncType.MANUAL_TASK, sync_category=SyncCategory.ACCOUNT, created_by=None
    ).session_id
    assert sessions.claim_session(session_id)
    sessions.add_records(session_id, [(i, f"db-{i}") for i in ids])
    assert sessions.start_records(session_id, ids)
    return session_id


def test_the_view_exists_only_on_the_same_engine(sql_engine: sa.Engine) -> None:
    sessions = SqlAlchemySyncSessionRepository(sql_engine)
    assert isinstance(sessions, SupportsCountedRecords)
    assert sessions.counting_with(SqlAlchemyInstanceRepository(sql_engine)) is not None
    other = create_engine_for(str(sql_engine.url.render_as_string(hide_password=False)))
    try:
        assert sessions.counting_with(SqlAlchemyInstanceRepository(other)) is None
    finally:
        other.dispose()
    assert sessions.counting_with(InMemoryInstanceRepository(make_instances(1))) is None


def test_completed_records_are_counted_with_their_write(sql_engine: sa.Engine) -> None:
    instances = SqlAlchemyInstanceRepository(sql_engine)
    instances.upsert(make_instances(4))
    sessions = SqlAlchemySyncSessionRepository(sql_engine)
    view = sessions.counting_with(instances)
    assert view is not None
    session_id = running_session(sessions, [1, 2, 3])
    ok = RecordStatus.COMPLETED
    view.finish_records(
        session_id,
        [
            RecordOutcome(instance_id=1, status=ok),
            RecordOutcome(instance_id=2, status=RecordStatus.FAILED, error_message="no"),
            RecordOutcome(instance_id=1, status=ok),  # a duplicate: the first outcome wins
            RecordOutcome(instance_id=4, status=ok),  # no running record: nothing to count
        ],
    )
    view.finish_records(session_id, [RecordOutcome(instance_id=1, status=ok)])  # already closed
    assert [instances.sync_count(i) for i in (1, 2, 3, 4)] == [1, 0, 0, 0]
    info = sessions.get_session(session_id)
    assert info is not None
    assert (info.successful_instances, info.failed_instances) == (1, 1)


def test_a_full_sync_counts_through_the_records(sql_engine: sa.Engine) -> None:
    instances = SqlAlchemyInstanceRepository(sql_engine)
    instances.upsert(make_instances(12))
    calls: list[object] = []

    class Watched(SqlAlchemyInstanceRepository):  # type: ignore[type-arg]
        def increment_sync_counts(self, instance_ids: object) -> None:
            calls.append(instance_ids)
            super().increment_sync_counts(instance_ids)  # type: ignore[arg-type]

    sync = ScriptedSyncService()
    sync.script(5, result={"success": False, "message": "down"})
    task = FullSyncTask(
        instances=Watched(sql_engine),
        sessions=SqlAlchemySyncSessionRepository(sql_engine),
        sync_service=sync,
        max_workers=3,
    )
    summary = task()
    assert summary.status is SessionStatus.COMPLETED_WITH_ERRORS
    assert calls == []  # nothing counted outside the records' transactions
    assert [instances.sync_count(i) for i in range(1, 13)] == [1] * 4 + [0] + [1] * 7


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend",
    [
        "sqlite-file",
        pytest.param("postgresql", marks=pytest.mark.services),
        pytest.param("mariadb", marks=pytest.mark.services),
    ],
)
def test_a_sigkill_loses_no_count_of_a_completed_record(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> None:
    url = backend_url(request, backend, tmp_path)
    engine = create_engine_for(url)
    create_all(engine, instances=instances_table)
    instances = SqlAlchemyInstanceRepository(engine)
    instances.upsert(make_instances(60))
    watcher = SqlAlchemySyncSessionRepository(engine)
    quick = 10

    child = multiprocessing.get_context("spawn").Process(
        target=_workers.run_full_sync_then_hang, args=(url, quick)
    )
    child.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            latest = watcher.list_sessions(limit=1)
            if latest and latest[0].successful_instances >= quick:
                break
            time.sleep(0.01)
        else:
            raise AssertionError("the child never finished its quick instances")
    finally:
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)  # within a second of the records: counts buffered
        child.join(30)
    assert child.exitcode == -signal.SIGKILL

    session = latest[0]
    completed = [
        r.instance_id
        for r in watcher.list_records(session.session_id)
        if r.status is RecordStatus.COMPLETED
    ]
    assert len(completed) == quick
    assert {i: instances.sync_count(i) for i in range(1, 61)} == {
        i: int(i in completed) for i in range(1, 61)
    }
    engine.dispose()
