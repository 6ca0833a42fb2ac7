"""No hang holds the fleet hostage: timeouts, the cancel grace, the abandoned-thread bound,
the "no progress" reaper rule and settling a session that lost only its final write."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest

from accounts_sync import (
    AccountsSyncActionsService,
    FullSyncTask,
    InlineLauncher,
    RecordStatus,
    SessionStatus,
    SyncCategory,
    SyncType,
    ValidationError,
)
from accounts_sync._full_sync import STALL_MARGIN
from accounts_sync._jobs import FullSyncJob, run_full_sync_job
from accounts_sync.memory import InMemoryInstanceRepository, InMemorySyncSessionRepository
from accounts_sync.testing import FakeInstance, ManualClock, ScriptedSyncService, make_instances

from .support import (
    WAIT,
    Gate,
    StoreDown,
    assert_counters_add_up,
    running_session,
    wait_started,
    wait_until,
)

pytestmark = pytest.mark.timeout(30)


def build(
    instances: list[FakeInstance],
    sync: ScriptedSyncService,
    sessions: InMemorySyncSessionRepository | None = None,
    **options: Any,
) -> tuple[FullSyncTask[Any], InMemorySyncSessionRepository]:
    sessions = sessions if sessions is not None else InMemorySyncSessionRepository()
    task = FullSyncTask(
        instances=InMemoryInstanceRepository(instances),
        sessions=sessions,
        sync_service=sync,
        **options,
    )
    return task, sessions


def prepare(sessions: InMemorySyncSessionRepository) -> str:
    return sessions.create_session(
        sync_type=SyncType.MANUAL_TASK, sync_category=SyncCategory.ACCOUNT, created_by=None
    ).session_id


def run_in_thread(
    task: FullSyncTask[Any], session_id: str
) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def body() -> None:
        box["value"] = task(session_id=session_id)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, box


# --- 1. defaults --------------------------------------------------------------------------------


def test_instance_timeout_defaults_to_fifteen_minutes_and_none_is_explicit() -> None:
    task, _ = build([], ScriptedSyncService())
    assert task.instance_timeout == 900
    assert task.stalled_after == dt.timedelta(seconds=900) + STALL_MARGIN
    assert task.max_abandoned_threads == 2 * task.max_workers
    unbounded, _ = build([], ScriptedSyncService(), instance_timeout=None)
    assert unbounded.instance_timeout is None
    assert unbounded.stalled_after is None
    with pytest.raises(ValidationError):
        build([], ScriptedSyncService(), cancel_grace=-1)
    with pytest.raises(ValidationError):
        build([], ScriptedSyncService(), max_abandoned_threads=-1)


def single_service(
    sync: ScriptedSyncService, instances: list[FakeInstance], **options: Any
) -> AccountsSyncActionsService[Any]:
    return AccountsSyncActionsService(
        sync_service=sync,
        instances=InMemoryInstanceRepository(instances),
        sessions=InMemorySyncSessionRepository(),
        launcher=InlineLauncher(),
        **options,
    )


def test_a_single_sync_past_its_timeout_fails_and_its_late_result_never_counts() -> None:
    instances = make_instances(1)
    gate = Gate()
    service = single_service(
        ScriptedSyncService().script(1, call=gate), instances, instance_timeout=0.1
    )
    try:
        result = service.sync_instance_accounts(instance_id=1)
        assert not gate.left.is_set()
    finally:
        gate.release.set()

    assert not result.success
    assert result.message == "实例 db-0001 账户同步超时"
    assert result.result == {"success": False, "message": result.message}
    assert gate.left.wait(WAIT)
    assert instances[0].sync_count == 0


def test_stuck_single_syncs_are_bounded_then_refused_until_one_returns() -> None:
    instances = make_instances(2)
    gate = Gate()
    sync = ScriptedSyncService().script(1, call=gate)
    service = single_service(sync, instances, instance_timeout=0.05, max_abandoned_calls=1)
    try:
        assert not service.sync_instance_accounts(instance_id=1).success  # abandoned: 1 of 1
        refused = service.sync_instance_accounts(instance_id=2)
        assert not refused.success
        assert refused.message == "实例 db-0002 账户同步未执行: 超时仍未结束的同步过多,请稍后重试"
        assert sync.called_ids() == [1]  # refused before the host's code ran
    finally:
        gate.release.set()
    assert gate.left.wait(WAIT)
    wait_until(lambda: service.sync_instance_accounts(instance_id=2).success)
    assert instances[1].sync_count == 1
    with pytest.raises(ValidationError):
        single_service(sync, instances, max_abandoned_calls=-1)


def test_a_single_sync_within_its_timeout_behaves_as_without() -> None:
    instances = make_instances(1)
    service = single_service(
        ScriptedSyncService().script(1, raises=RuntimeError("boom")),
        instances,
        instance_timeout=1.0,
    )
    with pytest.raises(RuntimeError, match="boom"):
        service.sync_instance_accounts(instance_id=1)
    ok = single_service(ScriptedSyncService(), instances, instance_timeout=1.0)
    assert ok.sync_instance_accounts(instance_id=1).success
    assert instances[0].sync_count == 1
    with pytest.raises(ValidationError):
        single_service(ScriptedSyncService(), instances, instance_timeout=0)


# --- 2. cancel within a grace period ----------------------------------------------------------


def test_cancel_ends_the_session_within_the_grace_even_while_a_call_is_stuck() -> None:
    instances = make_instances(4)
    gate = Gate()
    sync = ScriptedSyncService().script(1, call=gate)
    task, sessions = build(
        instances,
        sync,
        max_workers=1,
        instance_timeout=None,
        heartbeat_interval=0.05,
        cancel_grace=0.1,
    )
    session_id = prepare(sessions)
    thread, box = run_in_thread(task, session_id)
    try:
        assert gate.entered.wait(WAIT)
        wait_started(sessions, session_id, 0)
        # No slot frees up, so only the committer's poll can notice this request.
        assert sessions.request_cancel(session_id)
        thread.join(WAIT)
        assert not thread.is_alive(), "the cancel waited for the stuck call"
        assert not gate.left.is_set()
    finally:
        gate.release.set()

    summary = box["value"]
    assert summary.status is SessionStatus.CANCELLED
    records = sessions.list_records(session_id)
    assert [r.status for r in records] == [RecordStatus.FAILED] + [RecordStatus.CANCELLED] * 3
    assert records[0].error_message == "实例 db-0001 账户同步在取消后未按时结束"
    # The abandoned call's late success is counted nowhere.
    assert gate.left.wait(WAIT)
    wait_until(lambda: task.abandoned_threads == 0)
    info = sessions.get_session(session_id)
    assert (info.successful_instances, info.failed_instances, info.cancelled_instances) == (0, 1, 3)
    assert_counters_add_up(info)
    assert [i.sync_count for i in instances] == [0, 0, 0, 0]


def test_calls_that_finish_within_the_grace_are_recorded() -> None:
    gate = Gate()
    task, sessions = build(
        make_instances(3),
        ScriptedSyncService().script(1, call=gate),
        max_workers=1,
        heartbeat_interval=0.05,
        cancel_grace=WAIT,
    )
    session_id = prepare(sessions)
    thread, box = run_in_thread(task, session_id)
    assert gate.entered.wait(WAIT)
    wait_started(sessions, session_id, 0)
    assert sessions.request_cancel(session_id)
    wait_until(lambda: sessions.get_session(session_id).cancel_requested)
    gate.release.set()
    thread.join(WAIT)

    assert box["value"].status is SessionStatus.CANCELLED
    assert [r.status for r in sessions.list_records(session_id)] == [
        RecordStatus.COMPLETED,
        RecordStatus.CANCELLED,
        RecordStatus.CANCELLED,
    ]


# --- 3. abandoned threads are bounded -----------------------------------------------------------


@pytest.mark.parametrize("bound", [0, 1])
def test_past_the_abandoned_thread_bound_nothing_more_is_spawned(bound: int) -> None:
    """One slot; instances 1 and 2 hang. Each timed-out thread is replaced while the bound
    allows; once it does not, the slot is gone and what is left fails without running."""
    instances = make_instances(3)
    gates = [Gate(), Gate()]
    sync = ScriptedSyncService().script(1, call=gates[0]).script(2, call=gates[1])
    task, sessions = build(
        instances, sync, max_workers=1, instance_timeout=0.1, max_abandoned_threads=bound
    )
    session_id = prepare(sessions)
    try:
        summary = task(session_id=session_id)
        assert task.abandoned_threads == bound + 1
    finally:
        for gate in gates:
            gate.release.set()

    assert summary.status is SessionStatus.FAILED
    records = sessions.list_records(session_id)
    expected = ["实例 db-0001 账户同步超时"]
    if bound == 1:
        expected.append("实例 db-0002 账户同步超时")
    untouched = [r.instance_name for r in records[len(expected) :]]
    expected += [f"实例 {name} 账户同步未执行: 卡住的线程已达上限" for name in untouched]
    assert [r.error_message for r in records] == expected
    assert sync.called_ids() == [1, 2][: bound + 1]
    wait_until(lambda: task.abandoned_threads == 0)
    assert [i.sync_count for i in instances] == [0, 0, 0]


# --- 4. the reaper's "no progress" rule -------------------------------------------------------


def test_a_task_reaps_with_its_own_stall_limit(clock: ManualClock) -> None:
    sessions = InMemorySyncSessionRepository(clock=clock)
    stuck = running_session(sessions, [1])
    task, _ = build(make_instances(1), ScriptedSyncService(), sessions, instance_timeout=60)
    clock.advance(dt.timedelta(seconds=60) + STALL_MARGIN + dt.timedelta(seconds=1))
    sessions.heartbeat(stuck)

    assert task(manual_run=False).status is SessionStatus.COMPLETED
    assert sessions.get_session(stuck).status is SessionStatus.FAILED


# --- 5. a session that lost only its final write ----------------------------------------------


class LosesFinalWrite(InMemorySyncSessionRepository):
    """``finish_session`` fails ``failures`` times, as a dropped connection would."""

    def __init__(self, failures: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.failures = failures

    def finish_session(self, session_id: str, **kwargs: Any) -> bool:
        if self.failures > 0:
            self.failures -= 1
            raise StoreDown("connection lost")
        return super().finish_session(session_id, **kwargs)


def test_the_final_write_is_retried() -> None:
    sessions = LosesFinalWrite(2)
    task, _ = build(make_instances(2), ScriptedSyncService(), sessions)
    summary = task(session_id=prepare(sessions))
    assert summary.status is SessionStatus.COMPLETED


def test_the_job_wrapper_settles_a_session_whose_final_write_failed() -> None:
    sessions = LosesFinalWrite(3)
    task, _ = build(make_instances(2), ScriptedSyncService(), sessions)
    session_id = prepare(sessions)
    run_full_sync_job(FullSyncJob(session_id=session_id), sync_task=task, sessions=sessions)
    info = sessions.get_session(session_id)
    assert (info.status, info.successful_instances) == (SessionStatus.COMPLETED, 2)


def test_the_next_prepare_settles_a_session_whose_final_write_failed() -> None:
    instances = make_instances(2)
    sessions = LosesFinalWrite(4)
    sync = ScriptedSyncService().script(2, result={"success": False, "message": "no"})
    service = AccountsSyncActionsService(
        sync_service=sync,
        instances=InMemoryInstanceRepository(instances),
        sessions=sessions,
        launcher=InlineLauncher(),
    )
    first = service.prepare_background_full_sync()
    service.launch_background_full_sync(prepared=first)
    assert sessions.get_session(first.session_id).status is SessionStatus.RUNNING

    second = service.prepare_background_full_sync()

    info = sessions.get_session(first.session_id)
    assert info.status is SessionStatus.COMPLETED_WITH_ERRORS
    assert sessions.get_session(second.session_id).status is SessionStatus.PENDING


def test_a_running_session_with_open_records_is_not_settled() -> None:
    sessions = InMemorySyncSessionRepository()
    session_id = running_session(sessions, [1, 2])
    service = AccountsSyncActionsService(
        sync_service=ScriptedSyncService(),
        instances=InMemoryInstanceRepository(make_instances(1)),
        sessions=sessions,
        launcher=InlineLauncher(),
        allow_concurrent_full_sync=True,
    )
    service.prepare_background_full_sync()
    assert sessions.get_session(session_id).status is SessionStatus.RUNNING
