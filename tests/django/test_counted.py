"""The Django store writes ``sync_count`` in the records' own transaction when the instance
model lives in the same database: a crash cannot lose a completed instance's count."""

from __future__ import annotations

import pytest
from inventory.models import Instance

from accounts_sync import FullSyncTask, SessionStatus
from accounts_sync.contrib.django import DjangoInstanceRepository, DjangoSyncSessionRepository
from accounts_sync.memory import InMemoryInstanceRepository
from accounts_sync.ports import RecordOutcome, SupportsCountedRecords
from accounts_sync.testing import ScriptedSyncService, make_instances

pytestmark = pytest.mark.django_db


def test_the_view_exists_only_for_the_same_database() -> None:
    sessions = DjangoSyncSessionRepository()
    assert isinstance(sessions, SupportsCountedRecords)
    assert sessions.counting_with(DjangoInstanceRepository(Instance)) is not None
    assert sessions.counting_with(DjangoInstanceRepository(Instance, using="other")) is None
    assert sessions.counting_with(DjangoInstanceRepository(Instance, sync_count_field=None)) is None
    assert sessions.counting_with(InMemoryInstanceRepository(make_instances(1))) is None


def test_a_full_sync_counts_with_the_records_and_nowhere_else() -> None:
    rows = [Instance.objects.create(name=f"db-{i}", db_type="mysql", host="h") for i in range(6)]
    calls: list[object] = []

    class Watched(DjangoInstanceRepository):
        def increment_sync_counts(self, instance_ids: object) -> None:
            calls.append(list(instance_ids))  # type: ignore[call-overload]
            super().increment_sync_counts(instance_ids)  # type: ignore[arg-type]

    sync = ScriptedSyncService()
    sync.script(rows[2].pk, result={"success": False})
    summary = FullSyncTask(
        instances=Watched(Instance),
        sessions=DjangoSyncSessionRepository(),
        sync_service=sync,
        max_workers=2,
    )()
    assert summary.status is SessionStatus.COMPLETED_WITH_ERRORS
    counts = {row.pk: Instance.objects.get(pk=row.pk).sync_count for row in rows}
    assert counts == {row.pk: 0 if row is rows[2] else 1 for row in rows}
    # Every increment ran inside a records write (the store's view), none buffered apart.
    assert sum(len(ids) for ids in calls) == 5  # type: ignore[arg-type]


def test_a_record_closed_twice_is_counted_once() -> None:
    row = Instance.objects.create(name="db", db_type="mysql", host="h")
    sessions = DjangoSyncSessionRepository()
    view = sessions.counting_with(DjangoInstanceRepository(Instance))
    assert view is not None
    session_id = sessions.create_session(
        sync_type="manual_task", sync_category="account", created_by=None
    ).session_id
    assert sessions.claim_session(session_id)
    sessions.add_records(session_id, [(row.pk, "db")])
    assert sessions.start_records(session_id, [row.pk])
    done = RecordOutcome(instance_id=row.pk, status="completed")
    view.finish_records(session_id, [done, done])
    view.finish_records(session_id, [done])
    assert Instance.objects.get(pk=row.pk).sync_count == 1
