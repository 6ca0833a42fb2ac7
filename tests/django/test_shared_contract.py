"""The shared repository contract of ``tests/contract`` on the Django stores.

The suites are imported as they are; the fixtures below replace the ``store`` of
``tests/contract/conftest.py`` with Django ones: SQLite (the test database) and PostgreSQL
(the ``pg`` alias, when reachable). Instances live in the example's ``Instance`` model.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from inventory.models import Instance

from accounts_sync import InstanceRepository, SyncSessionRepository
from accounts_sync.contrib.django import DjangoInstanceRepository, DjangoSyncSessionRepository
from accounts_sync.testing import ManualClock

from ..contract.conftest import Store
from ..contract.test_instance_repository import *  # noqa: F403
from ..contract.test_session_repository import *  # noqa: F403


def _django_store(name: str, alias: str) -> Store:
    def seed(repo: InstanceRepository[Any], items: Iterable[Any]) -> None:
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
            for item in items
        )

    def sync_count(repo: InstanceRepository[Any], instance_id: int) -> int:
        count = Instance.objects.using(alias).get(pk=instance_id).sync_count
        return int(count or 0)

    return Store(
        name=name,
        sessions=lambda clock: DjangoSyncSessionRepository(using=alias, clock=clock),
        instances=lambda: DjangoInstanceRepository(Instance, using=alias),
        seed=seed,
        sync_count=sync_count,
    )


@pytest.fixture(
    params=[
        pytest.param("django-sqlite", marks=pytest.mark.django_db),
        pytest.param("django-postgres", marks=pytest.mark.services),
    ]
)
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "django-sqlite":
        return _django_store(request.param, "default")
    return _django_store(request.param, request.getfixturevalue("pg_alias"))


@pytest.fixture
def sessions(store: Store, clock: ManualClock) -> SyncSessionRepository:
    return store.sessions(clock)


@pytest.fixture
def instances(store: Store) -> InstanceRepository[Any]:
    return store.instances()
