"""Run the accounts_sync contract kit against the stores of ``dict_store.py``."""

from __future__ import annotations

import pytest
from dict_store import AuditedSessionRepository, DictInstanceRepository

from accounts_sync.testing.contract import (
    InstanceFactory,
    InstanceRepositoryContract,
    SessionFactory,
    SessionRepositoryContract,
)


class TestAuditedSessions(SessionRepositoryContract):
    @pytest.fixture
    def session_factory(self) -> SessionFactory:
        # Called with the test's clock; must return a repository on an empty store.
        return lambda clock: AuditedSessionRepository(clock=clock)


class TestDictInstances(InstanceRepositoryContract):
    @pytest.fixture
    def instance_factory(self) -> InstanceFactory:
        # Called with the instances a test needs; must return a repository holding exactly those.
        return DictInstanceRepository
