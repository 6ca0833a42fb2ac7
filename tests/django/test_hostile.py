"""One bad value fails one record, not the batch, on the Django store: SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from accounts_sync import RecordStatus
from accounts_sync.contrib.django import DjangoSyncSessionRepository
from accounts_sync.contrib.django.models import SyncRecord, SyncSession
from accounts_sync.ports import RecordOutcome
from tests.stores.hostile import hostile_outcomes, run_hostile, run_refused


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
    # Bypassing the bounds: PostgreSQL refuses a NUL byte in text, and no backend can store
    # details that are not JSON.
    if sessions.using != "default":
        refused = RecordOutcome(instance_id=2, status=RecordStatus.COMPLETED, error_message="\x00")
        run_refused(sessions, refused, "DataError", advance=advance)
    else:
        refused = RecordOutcome(
            instance_id=2, status=RecordStatus.COMPLETED, details={"x": object()}
        )
        run_refused(sessions, refused, "TypeError", advance=advance)
