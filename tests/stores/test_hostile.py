"""One bad value fails one record, not the batch: hostile results through the memory store and
every SQL backend, and the SQL store's record-by-record retry when the database refuses a value.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings

from accounts_sync import RecordStatus
from accounts_sync.memory import InMemorySyncSessionRepository
from accounts_sync.ports import RecordOutcome
from accounts_sync.sqlalchemy import SqlAlchemySyncSessionRepository

from .hostile import hostile_outcomes, run_hostile, run_refused
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
    backend = engine.dialect.name
    error_type = "TypeError" if backend == "sqlite" else "DataError"
    sessions = SqlAlchemySyncSessionRepository(empty(engine))
    run_refused(sessions, _refused(backend), error_type, advance=advance)
