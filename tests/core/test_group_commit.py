"""Group commit: starts and outcomes reach the store in groups, in order, from the calling
thread, while another thread hands out instances; neither thread's error is lost."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from accounts_sync import FullSyncTask, SessionStatus, ValidationError
from accounts_sync._worker_pool import WorkerPool
from accounts_sync.memory import InMemoryInstanceRepository, InMemorySyncSessionRepository
from accounts_sync.ports import RecordOutcome
from accounts_sync.testing import ScriptedSyncService, make_instances

from .support import FailingFinishRecords, StoreDown, assert_counters_add_up
from .test_record_advance import AdvancingRepository

DISPATCHER = "accounts_sync_dispatch_"


class OrderCheckingRepository(AdvancingRepository):
    """Fails the test if an outcome reaches the store before its record's start, or if a call
    comes from any thread but the one running the task."""

    def __init__(self) -> None:
        super().__init__()
        self.started_ids: set[int] = set()
        self.writers: set[int] = set()

    def advance_records(
        self, session_id: str, outcomes: Sequence[RecordOutcome], instance_ids: Sequence[int]
    ) -> bool:
        self._check(outcomes)
        self.started_ids.update(instance_ids)
        return super().advance_records(session_id, outcomes, instance_ids)

    def start_records(self, session_id: str, instance_ids: Sequence[int]) -> bool:
        self.writers.add(threading.get_ident())
        self.started_ids.update(instance_ids)
        return super().start_records(session_id, instance_ids)

    def finish_records(self, session_id: str, outcomes: Sequence[RecordOutcome]) -> None:
        self._check(outcomes)
        super().finish_records(session_id, outcomes)

    def _check(self, outcomes: Sequence[RecordOutcome]) -> None:
        self.writers.add(threading.get_ident())
        assert {o.instance_id for o in outcomes} <= self.started_ids


def dispatchers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(DISPATCHER)]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("window", [0.0, 0.02])
def test_outcomes_follow_their_starts_and_counters_stay_exact(window: float) -> None:
    count = 400
    sessions = OrderCheckingRepository()
    task = FullSyncTask(
        instances=InMemoryInstanceRepository(make_instances(count)),
        sessions=sessions,
        sync_service=ScriptedSyncService(),  # 0 ms: outcomes race their starts
        max_workers=8,
        commit_window=window,
    )
    summary = task(manual_run=False)
    assert (summary.status, summary.successful_instances) == (SessionStatus.COMPLETED, count)
    assert_counters_add_up(sessions.get_session(summary.session_id))
    assert sessions.writers == {threading.get_ident()}
    assert not dispatchers()


@pytest.mark.timeout(60)
def test_a_window_groups_many_instances_per_transaction() -> None:
    count = 400
    sessions = AdvancingRepository()
    task = FullSyncTask(
        instances=InMemoryInstanceRepository(make_instances(count)),
        sessions=sessions,
        sync_service=ScriptedSyncService(default_delay=0.001),
        max_workers=16,
        commit_window=0.02,
    )
    assert task(manual_run=False).successful_instances == count
    # One call per loop would make about one per instance.
    assert sessions.advanced + sessions.started + sessions.finished < count / 4


@pytest.mark.parametrize("window", [-0.01, True, "0.01", None])
def test_the_commit_window_is_checked(window: object) -> None:
    with pytest.raises(ValidationError, match="commit_window"):
        FullSyncTask(
            instances=InMemoryInstanceRepository([]),
            sessions=InMemorySyncSessionRepository(),
            sync_service=ScriptedSyncService(),
            commit_window=window,  # type: ignore[arg-type]
        )


@pytest.mark.timeout(60)
def test_a_store_error_on_the_committing_thread_fails_the_run_and_no_thread_outlives_it() -> None:
    sessions = FailingFinishRecords(fail_on=2)
    task = FullSyncTask(
        instances=InMemoryInstanceRepository(make_instances(200)),
        sessions=sessions,
        sync_service=ScriptedSyncService(default_delay=0.005),
        max_workers=4,
    )
    with pytest.raises(StoreDown):
        task(manual_run=False)
    assert not dispatchers()
    failed = sessions.list_sessions()[0]
    assert (failed.status, failed.error_message) == (SessionStatus.FAILED, "StoreDown: store down")
    assert_counters_add_up(failed)


@pytest.mark.timeout(60)
def test_a_crash_of_the_dispatching_thread_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_grow(self: WorkerPool[object], needed: int) -> None:
        raise RuntimeError("cannot start a thread")

    monkeypatch.setattr(WorkerPool, "grow", broken_grow)
    sessions = InMemorySyncSessionRepository()
    task = FullSyncTask(
        instances=InMemoryInstanceRepository(make_instances(5)),
        sessions=sessions,
        sync_service=ScriptedSyncService(),
    )
    with pytest.raises(RuntimeError, match=r"^cannot start a thread$"):
        task(manual_run=False)
    assert not dispatchers()
    failed = sessions.list_sessions()[0]
    assert failed.status is SessionStatus.FAILED
    assert failed.error_message == "RuntimeError: cannot start a thread"
    assert_counters_add_up(failed)
