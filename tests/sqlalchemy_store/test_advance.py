"""``advance_records``: finishing and starting records in one transaction, on every backend."""

from __future__ import annotations

import sqlalchemy as sa

from accounts_sync import RecordStatus, SessionStatus, SyncCategory, SyncType
from accounts_sync.ports import RecordOutcome, SupportsRecordAdvance
from accounts_sync.sqlalchemy import SqlAlchemySyncSessionRepository


def _running(repo: SqlAlchemySyncSessionRepository) -> str:
    info = repo.create_session(
        sync_type=SyncType.MANUAL_TASK, sync_category=SyncCategory.ACCOUNT, created_by=None
    )
    assert repo.claim_session(info.session_id)
    repo.add_records(info.session_id, [(1, "a"), (2, "b"), (3, "c")])
    return info.session_id


def _statuses(repo: SqlAlchemySyncSessionRepository, session_id: str) -> dict[int, RecordStatus]:
    return {r.instance_id: r.status for r in repo.list_records(session_id)}


def test_it_finishes_then_starts_in_one_step(sql_engine: sa.Engine) -> None:
    repo = SqlAlchemySyncSessionRepository(sql_engine)
    assert isinstance(repo, SupportsRecordAdvance)
    session_id = _running(repo)
    assert repo.start_records(session_id, [1, 2])
    done = [
        RecordOutcome(instance_id=1, status=RecordStatus.COMPLETED, items_synced=4),
        RecordOutcome(instance_id=2, status=RecordStatus.FAILED, error_message="boom"),
    ]
    assert repo.advance_records(session_id, done, [3])
    assert _statuses(repo, session_id) == {
        1: RecordStatus.COMPLETED,
        2: RecordStatus.FAILED,
        3: RecordStatus.RUNNING,
    }
    info = repo.get_session(session_id)
    assert info is not None
    assert (info.successful_instances, info.failed_instances) == (1, 1)


def test_after_a_cancel_it_still_writes_outcomes_but_starts_nothing(sql_engine: sa.Engine) -> None:
    repo = SqlAlchemySyncSessionRepository(sql_engine)
    session_id = _running(repo)
    assert repo.start_records(session_id, [1])
    assert repo.request_cancel(session_id)
    done = [RecordOutcome(instance_id=1, status=RecordStatus.COMPLETED)]
    assert not repo.advance_records(session_id, done, [2, 3])
    assert _statuses(repo, session_id) == {
        1: RecordStatus.COMPLETED,
        2: RecordStatus.PENDING,
        3: RecordStatus.PENDING,
    }
    assert repo.finish_session(session_id, status=SessionStatus.CANCELLED)
    info = repo.get_session(session_id)
    assert info is not None
    assert (info.successful_instances, info.cancelled_instances, info.total_instances) == (1, 2, 3)
