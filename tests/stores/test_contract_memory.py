"""The public contract kit on the in-memory stores, with a longer state-machine run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import pytest
from hypothesis import settings

from accounts_sync.memory import InMemoryInstanceRepository, InMemorySyncSessionRepository
from accounts_sync.testing import FakeInstance
from accounts_sync.testing.contract import (
    InstanceFactory,
    InstanceRepositoryContract,
    SessionFactory,
    SessionRepositoryContract,
)


class TestMemorySessions(SessionRepositoryContract):
    # The reference store is fast: explore it far longer than the server stores.
    machine_settings: ClassVar[settings] = settings(
        SessionRepositoryContract.machine_settings, max_examples=300, stateful_step_count=50
    )

    @pytest.fixture
    def session_factory(self) -> SessionFactory:
        return lambda clock: InMemorySyncSessionRepository(clock=clock)


class TestMemoryInstances(InstanceRepositoryContract):
    @pytest.fixture
    def instance_factory(self) -> InstanceFactory:
        def factory(instances: Sequence[FakeInstance]) -> InMemoryInstanceRepository[Any]:
            return InMemoryInstanceRepository(instances)

        return factory
