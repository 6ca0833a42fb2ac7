"""The task folds finishing and starting records into one call when the store offers it."""

from __future__ import annotations

from collections.abc import Sequence

from accounts_sync import FullSyncTask, SessionStatus
from accounts_sync.memory import InMemoryInstanceRepository, InMemorySyncSessionRepository
from accounts_sync.ports import RecordOutcome, SupportsRecordAdvance
from accounts_sync.testing import ScriptedSyncService, make_instances


class AdvancingRepository(InMemorySyncSessionRepository):
    """The in-memory store plus ``advance_records``, counting which write path the task took."""

    def __init__(self) -> None:
        super().__init__()
        self.advanced = self.started = self.finished = 0

    def advance_records(
        self, session_id: str, outcomes: Sequence[RecordOutcome], instance_ids: Sequence[int]
    ) -> bool:
        self.advanced += 1
        super().finish_records(session_id, outcomes)
        return super().start_records(session_id, instance_ids)

    def start_records(self, session_id: str, instance_ids: Sequence[int]) -> bool:
        self.started += 1
        return super().start_records(session_id, instance_ids)

    def finish_records(self, session_id: str, outcomes: Sequence[RecordOutcome]) -> None:
        self.finished += 1
        super().finish_records(session_id, outcomes)


def test_the_task_uses_advance_records_when_the_store_has_it() -> None:
    sessions = AdvancingRepository()
    assert isinstance(sessions, SupportsRecordAdvance)
    task = FullSyncTask(
        instances=InMemoryInstanceRepository(make_instances(40)),
        sessions=sessions,
        sync_service=ScriptedSyncService(default_delay=0.002),
        max_workers=2,
    )
    summary = task(manual_run=False)
    assert summary.status is SessionStatus.COMPLETED
    assert summary.successful_instances == 40
    # The first start has nothing to finish, and the last outcomes have nothing to start
    # after them; every loop in between is one call.
    assert sessions.advanced > 0
    assert sessions.started + sessions.finished < sessions.advanced
