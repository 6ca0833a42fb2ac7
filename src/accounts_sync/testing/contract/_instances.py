"""The ``InstanceRepository`` contract as a test class to subclass."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from accounts_sync import InstanceRepository
from accounts_sync.ports import SupportsBulkSyncCount, SupportsGetMany
from accounts_sync.testing import FakeInstance

from ._support import HOSTILE_NAMES, InstanceFactory, SyncCountReader, race

__all__ = ["InstanceRepositoryContract"]

DELETED = dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc)
THREADS = 8


def population() -> list[FakeInstance]:
    """Active, disabled, deleted and missing-count instances, with a name shared by two."""
    return [
        FakeInstance(id=1, name="beta", db_type="postgresql", host="10.0.0.1"),
        FakeInstance(id=2, name="alpha", sync_count=None),
        FakeInstance(id=3, name="gamma", is_active=False),
        FakeInstance(id=4, name="delta", deleted_at=DELETED),
        FakeInstance(id=5, name="alpha", host="10.0.0.5"),
        FakeInstance(id=6, name="epsilon", is_active=False, deleted_at=DELETED),
    ]


class InstanceRepositoryContract:
    """The ``InstanceRepository`` contract; subclass it as ``Test…`` and provide
    ``instance_factory``.

    ``instance_factory`` returns an :data:`InstanceFactory`: called with ``FakeInstance``
    objects, it returns a repository on a store holding exactly those (``is_active``,
    ``deleted_at`` and ``sync_count`` kept). ``sync_count`` reads a stored count back; the
    default calls the repository's own ``sync_count(instance_id)`` method, as the library's
    stores have. Override ``thread_safe`` to return False to skip the thread race.
    """

    @pytest.fixture
    def instance_factory(self) -> InstanceFactory:
        """Override: return the factory of the store under test."""
        raise NotImplementedError(f"{type(self).__name__} must provide an instance_factory fixture")

    @pytest.fixture
    def sync_count(self) -> SyncCountReader:
        """Override when the repository has no ``sync_count(instance_id)`` method."""
        return lambda repo, instance_id: int(repo.sync_count(instance_id))  # type: ignore[attr-defined]

    @pytest.fixture
    def thread_safe(self) -> bool:
        """Override to return False when one repository must not be used by several threads."""
        return True

    @pytest.fixture
    def seeded(self, instance_factory: InstanceFactory) -> InstanceRepository[Any]:
        return instance_factory(population())

    def test_count_and_list_only_active_instances_by_name_then_id(
        self, seeded: InstanceRepository[Any]
    ) -> None:
        assert isinstance(seeded, InstanceRepository)
        assert seeded.count_active() == 3
        listed = [(i.id, i.name) for i in seeded.list_active()]
        assert listed == [(2, "alpha"), (5, "alpha"), (1, "beta")]

    def test_an_empty_store_has_nothing_active(self, instance_factory: InstanceFactory) -> None:
        empty = instance_factory([])
        assert empty.count_active() == 0
        assert list(empty.list_active()) == []
        assert empty.get(1) is None

    def test_get_returns_disabled_but_never_deleted_instances(
        self, seeded: InstanceRepository[Any]
    ) -> None:
        found = seeded.get(1)
        assert found is not None
        assert (found.id, found.name, found.db_type, found.host) == (
            1,
            "beta",
            "postgresql",
            "10.0.0.1",
        )
        disabled = seeded.get(3)
        assert disabled is not None
        assert disabled.name == "gamma"
        assert seeded.get(4) is None
        assert seeded.get(6) is None

    def test_get_many_answers_as_get_does_for_each_id(
        self, seeded: InstanceRepository[Any]
    ) -> None:
        if not isinstance(seeded, SupportsGetMany):
            pytest.skip("the store has no get_many (SupportsGetMany)")
        found = seeded.get_many([6, 5, 4, 3, 99, 1, 5, -(2**70)])
        assert sorted((i.id, i.name, i.host) for i in found) == [
            (1, "beta", "10.0.0.1"),
            (3, "gamma", seeded.get(3).host),  # type: ignore[union-attr]
            (5, "alpha", "10.0.0.5"),
        ]
        assert seeded.get_many([]) == []
        assert seeded.get(999) is None

    @pytest.mark.parametrize("instance_id", [2**63, -1, 0], ids=["2**63", "-1", "0"])
    def test_out_of_range_ids_are_not_found(
        self, seeded: InstanceRepository[Any], instance_id: int
    ) -> None:
        assert seeded.get(instance_id) is None

    def test_increment_sync_count_treats_missing_as_zero(
        self, seeded: InstanceRepository[Any], sync_count: SyncCountReader
    ) -> None:
        seeded.increment_sync_count(2)
        seeded.increment_sync_count(2)
        seeded.increment_sync_count(3)  # disabled instances count too
        assert [sync_count(seeded, i) for i in (2, 3, 1)] == [2, 1, 0]
        seeded.increment_sync_count(999)  # unknown: nothing happens

    def test_bulk_increment_counts_every_occurrence(
        self, seeded: InstanceRepository[Any], sync_count: SyncCountReader
    ) -> None:
        if not isinstance(seeded, SupportsBulkSyncCount):
            pytest.skip("the optional SupportsBulkSyncCount is not implemented")
        seeded.increment_sync_counts([1, 2, 1, 5, 1])
        seeded.increment_sync_counts([])
        assert [sync_count(seeded, i) for i in (1, 2, 5)] == [3, 1, 1]

    def test_concurrent_increments_lose_no_update(
        self, seeded: InstanceRepository[Any], sync_count: SyncCountReader, thread_safe: bool
    ) -> None:
        if not thread_safe:
            pytest.skip("this store is declared not thread-safe")
        race(THREADS, lambda _: seeded.increment_sync_count(1))
        assert sync_count(seeded, 1) == THREADS

    def test_hostile_names_are_data(self, instance_factory: InstanceFactory) -> None:
        repo = instance_factory(
            [
                FakeInstance(id=index, name=name, host=name)
                for index, name in enumerate(HOSTILE_NAMES, start=1)
            ]
        )
        for index, name in enumerate(HOSTILE_NAMES, start=1):
            found = repo.get(index)
            assert found is not None
            assert (found.name, found.host) == (name, name)
        assert repo.count_active() == len(HOSTILE_NAMES)
