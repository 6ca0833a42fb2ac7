"""One bad value fails one record, not the batch: hostile results through the memory store and
every SQL backend, and the SQL store's record-by-record retry when the database refuses a value.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings

from accounts_sync import RecordStatus, SyncCategory, SyncType
from accounts_sync.memory import InMemorySyncSessionRepository
from accounts_sync.ports import RecordOutcome
from accounts_sync.sqlalchemy import SqlAlchemySyncSessionRepository

from .hostile import hostile_outcomes, run_hostile
from .test_contract_sqlalchemy import empty

FEW = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_outcomes)
def test_a_hostile_result_fails_only_its_record_in_memory(outcome: Any) -> None:
    run_hostile(InMemorySyncSessionRepository(), outcome)


@FEW
@given(outcome=hostile_outcomes)
def test_a_hostile_result_fails_only_its_record_in_sql(engine: sa.Engine, outcome: Any) -> None:
    run_hostile(SqlAlchemySyncSessionRepository(engine), outcome)


def _refused(backend: str) -> RecordOutcome:
    """An outcome this backend refuses (the store is called directly, without the bounds)."""
    if backend == "postgresql":
        return RecordOutcome(instance_id=2, status=RecordStatus.COMPLETED, error_message="a\x00b")
    if backend == "mysql":
        message = "m" * 70_000  # over TEXT's 64 KiB
        return RecordOutcome(instance_id=2, status=RecordStatus.COMPLETED, error_message=message)
    # Everywhere: details the JSON column cannot serialise.
    return RecordOutcome(instance_id=2, status=RecordStatus.COMPLETED, details={"x": object()})


@pytest.mark.parametrize("advance", [False, True])
def test_a_refused_outcome_is_retried_alone_and_only_it_fails(
    engine: sa.Engine, advance: bool
) -> None:
    sessions = SqlAlchemySyncSessionRepository(empty(engine))
    session_id = sessions.create_session(
        sync_type=SyncType.MANUAL_TASK, sync_category=SyncCategory.ACCOUNT, created_by=None
    ).session_id
    sessions.claim_session(session_id)
    sessions.add_records(session_id, [(1, "db-1"), (2, "db-2"), (3, "db-3"), (4, "db-4")])
    sessions.start_records(session_id, [1, 2, 3])
    refused = _refused(engine.dialect.name)
    outcomes = [
        RecordOutcome(instance_id=1, status=RecordStatus.COMPLETED, items_synced=5),
        refused,
        RecordOutcome(instance_id=3, status=RecordStatus.FAILED, error_message="down"),
    ]
    if advance:
        assert sessions.advance_records(session_id, outcomes, [4])
    else:
        sessions.finish_records(session_id, outcomes)

    first, second, third, fourth = sessions.list_records(session_id)
    assert (first.status, first.items_synced) == (RecordStatus.COMPLETED, 5)
    assert (third.status, third.error_message) == (RecordStatus.FAILED, "down")
    assert second.status is RecordStatus.FAILED
    assert second.error_message is not None
    # Only the driver's error type: no SQL, no parameters.
    expected = "TypeError" if engine.dialect.name == "sqlite" else "DataError"
    assert second.error_message == f"{expected}: value could not be stored"
    assert second.details is None
    assert second.items_synced == 0
    assert fourth.status is (RecordStatus.RUNNING if advance else RecordStatus.PENDING)
    info = sessions.get_session(session_id)
    assert info is not None
    assert (info.successful_instances, info.failed_instances) == (1, 2)
