"""The reaper's "no progress" rule on the Django store (migration 0002's ``progress_at``)."""

from __future__ import annotations

import pytest

from accounts_sync.contrib.django import DjangoSyncSessionRepository
from accounts_sync.testing import ManualClock
from tests._stalled import check_the_no_progress_rule


@pytest.mark.django_db
def test_the_no_progress_rule_on_sqlite() -> None:
    clock = ManualClock()
    check_the_no_progress_rule(DjangoSyncSessionRepository(clock=clock), clock)


@pytest.mark.services
def test_the_no_progress_rule_on_postgresql(pg_alias: str) -> None:
    clock = ManualClock()
    check_the_no_progress_rule(DjangoSyncSessionRepository(using=pg_alias, clock=clock), clock)
