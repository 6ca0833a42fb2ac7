"""One bad value fails one record, not the batch, on the Django store: SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from accounts_sync import RecordStatus, SyncCategory, SyncType
from accounts_sync.contrib.django import DjangoSyncSessionRepository
from accounts_sync.contrib.django.models import SyncRecord, SyncSession
from accounts_sync.ports import RecordOutcome
from tests.stores.hostile import hostile_outcomes, run_hostile


@pytest.fixture(
    params=[
        pytest.param("django-sqlite", marks=pytest.mark.django_db(transaction=True)),
        pytest.param("django-postgres", marks=pytest.mark.services),
    ]
)
def sessions(request: pytest.FixtureRequest) -> DjangoSyncSessionRepository:
    """An empty Django store on each backend in turn."""
    alias = "default"
    if request.param == "django-postgres":
        alias = request.getfixturevalue("pg_alias")
    SyncRecord.objects.using(alias).all().delete()
    SyncSession.objects.using(alias).all().delete()
    return DjangoSyncSessionRepository(using=alias)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(outcome=hostile_outcomes)
def test_a_hostile_result_fails_only_its_record(
    sessions: DjangoSyncSessionRepository, outcome: Any
) -> None:
    run_hostile(sessions, outcome)


@pytest.mark.parametrize("advance", [False, True])
def test_a_refused_outcome_is_retried_alone_and_only_it_fails(
    sessions: DjangoSyncSessionRepository, advance: bool
) -> None:
    session_id = sessions.create_session(
        sync_type=SyncType.MANUAL_TASK, sync_category=SyncCategory.ACCOUNT, created_by=None
    ).session_id
    sessions.claim_session(session_id)
    sessions.add_records(session_id, [(1, "db-1"), (2, "db-2"), (3, "db-3"), (4, "db-4")])
    sessions.start_records(session_id, [1, 2, 3])
    on_postgres = sessions.using != "default"
    # Bypassing the bounds: PostgreSQL refuses a NUL byte in text, and no backend can store
    # details that are not JSON.
    refused = (
        RecordOutcome(instance_id=2, status=RecordStatus.COMPLETED, error_message="a\x00b")
        if on_postgres
        else RecordOutcome(instance_id=2, status=RecordStatus.COMPLETED, details={"x": object()})
    )
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
    expected = "DataError" if on_postgres else "TypeError"
    assert second.status is RecordStatus.FAILED
    assert second.error_message == f"{expected}: value could not be stored"
    assert (second.details, second.items_synced) == (None, 0)
    assert fourth.status is (RecordStatus.RUNNING if advance else RecordStatus.PENDING)
    info = sessions.get_session(session_id)
    assert info is not None
    assert (info.successful_instances, info.failed_instances) == (1, 2)
