"""The ``InstanceRepository`` contract (SPEC §4.1), on every store."""

from __future__ import annotations

import datetime as dt
from typing import Any

from accounts_sync import InstanceRepository
from accounts_sync.ports import SupportsBulkSyncCount
from accounts_sync.testing import FakeInstance

from .conftest import Store

DELETED = dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc)
HOSTILE_NAMES = ['o\'brien "db"', "100% full; DROP TABLE x; --", "数据库-主库", "ünïcødé 🚀"]


def population() -> list[FakeInstance]:
    return [
        FakeInstance(id=1, name="beta", db_type="postgresql", host="10.0.0.1"),
        FakeInstance(id=2, name="alpha", sync_count=None),
        FakeInstance(id=3, name="gamma", is_active=False),
        FakeInstance(id=4, name="delta", deleted_at=DELETED),
        FakeInstance(id=5, name="alpha", host="10.0.0.5"),
        FakeInstance(id=6, name="epsilon", is_active=False, deleted_at=DELETED),
    ]


def seeded(store: Store, instances: InstanceRepository[Any]) -> InstanceRepository[Any]:
    store.seed(instances, population())
    return instances


def test_count_and_list_only_active_instances_by_name_then_id(
    store: Store, instances: InstanceRepository[Any]
) -> None:
    repo = seeded(store, instances)
    assert repo.count_active() == 3
    assert [(i.id, i.name) for i in repo.list_active()] == [(2, "alpha"), (5, "alpha"), (1, "beta")]


def test_an_empty_store_has_nothing_active(instances: InstanceRepository[Any]) -> None:
    assert instances.count_active() == 0
    assert list(instances.list_active()) == []


def test_get_returns_disabled_but_never_deleted_instances(
    store: Store, instances: InstanceRepository[Any]
) -> None:
    repo = seeded(store, instances)
    found = repo.get(1)
    assert found is not None
    assert (found.id, found.name, found.db_type, found.host) == (
        1,
        "beta",
        "postgresql",
        "10.0.0.1",
    )
    disabled = repo.get(3)
    assert disabled is not None
    assert disabled.name == "gamma"
    assert repo.get(4) is None
    assert repo.get(6) is None
    assert repo.get(999) is None


def test_increment_sync_count_treats_missing_as_zero(
    store: Store, instances: InstanceRepository[Any]
) -> None:
    repo = seeded(store, instances)
    repo.increment_sync_count(2)
    repo.increment_sync_count(2)
    repo.increment_sync_count(3)  # disabled instances count too
    assert store.sync_count(repo, 2) == 2
    assert store.sync_count(repo, 3) == 1
    assert store.sync_count(repo, 1) == 0
    repo.increment_sync_count(999)  # unknown: nothing happens


def test_bulk_increment_counts_every_occurrence(
    store: Store, instances: InstanceRepository[Any]
) -> None:
    repo = seeded(store, instances)
    assert isinstance(repo, SupportsBulkSyncCount)
    repo.increment_sync_counts([1, 2, 1, 5, 1])
    repo.increment_sync_counts([])
    assert [store.sync_count(repo, i) for i in (1, 2, 5)] == [3, 1, 1]


def test_hostile_names_are_data(store: Store, instances: InstanceRepository[Any]) -> None:
    store.seed(
        instances,
        [
            FakeInstance(id=index, name=name, host=name)
            for index, name in enumerate(HOSTILE_NAMES, start=1)
        ],
    )
    for index, name in enumerate(HOSTILE_NAMES, start=1):
        found = instances.get(index)
        assert found is not None
        assert (found.name, found.host) == (name, name)
    assert instances.count_active() == len(HOSTILE_NAMES)
