"""The public contract kit on the Django stores: SQLite (the test database) and PostgreSQL
(the ``pg`` alias, when reachable). Instances live in the example's ``Instance`` model.

SQLite runs in transactional tests, not in one rolled-back transaction: the kit's thread
races need each thread's own connection to see the rows the test wrote.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from inventory.models import Instance

from accounts_sync import InstanceRepository
from accounts_sync.contrib.django import DjangoInstanceRepository, DjangoSyncSessionRepository
from accounts_sync.contrib.django.models import SyncRecord, SyncSession
from accounts_sync.ports import Clock
from accounts_sync.testing import FakeInstance
from accounts_sync.testing.contract import (
    InstanceFactory,
    InstanceRepositoryContract,
    SessionFactory,
    SessionRepositoryContract,
    SyncCountReader,
)


@pytest.fixture(
    params=[
        pytest.param("django-sqlite", marks=pytest.mark.django_db(transaction=True)),
        pytest.param("django-postgres", marks=pytest.mark.services),
    ]
)
def alias(request: pytest.FixtureRequest) -> str:
    """The database alias of each Django backend in turn."""
    if request.param == "django-sqlite":
        return "default"
    alias: str = request.getfixturevalue("pg_alias")
    return alias


class TestDjangoSessions(SessionRepositoryContract):
    @pytest.fixture
    def session_factory(self, alias: str) -> SessionFactory:
        def factory(clock: Clock) -> DjangoSyncSessionRepository:
            # Each state-machine run needs an empty store; the test database outlives it.
            SyncRecord.objects.using(alias).all().delete()
            SyncSession.objects.using(alias).all().delete()
            return DjangoSyncSessionRepository(using=alias, clock=clock)

        return factory


class TestDjangoInstances(InstanceRepositoryContract):
    @pytest.fixture
    def instance_factory(self, alias: str) -> InstanceFactory:
        def factory(instances: Sequence[FakeInstance]) -> DjangoInstanceRepository:
            Instance.objects.using(alias).all().delete()
            Instance.objects.using(alias).bulk_create(
                Instance(
                    id=item.id,
                    name=item.name,
                    db_type=item.db_type,
                    host=item.host,
                    is_active=item.is_active,
                    deleted_at=item.deleted_at,
                    sync_count=item.sync_count,
                )
                for item in instances
            )
            return DjangoInstanceRepository(Instance, using=alias)

        return factory

    @pytest.fixture
    def sync_count(self, alias: str) -> SyncCountReader:
        def read(repo: InstanceRepository[object], instance_id: int) -> int:
            return int(Instance.objects.using(alias).get(pk=instance_id).sync_count or 0)

        return read
