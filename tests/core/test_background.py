"""prepare_background_full_sync and launch_background_full_sync (docs: Concepts)."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from accounts_sync import (
    AccountsSyncActionsService,
    AccountsSyncBackgroundLaunchResult,
    AccountsSyncBackgroundPreparedSession,
    ConflictError,
    ExecutorLauncher,
    FullSyncJob,
    InlineLauncher,
    Messages,
    RecordStatus,
    SessionStatus,
    SyncCategory,
    SyncType,
    ThreadLauncher,
    ValidationError,
    run_full_sync_job,
)
from accounts_sync.memory import InMemoryInstanceRepository, InMemorySyncSessionRepository
from accounts_sync.testing import (
    FakeInstance,
    ManualClock,
    RecordingLauncher,
    ScriptedSyncService,
    in_memory_service,
    make_instances,
)

from .support import WAIT, FailingFinishRecords, Gate, assert_counters_add_up, assert_log_contract

Logs = Callable[[], list[logging.LogRecord]]


class RecordingTask:
    """A ``SyncTask`` that records how and where it was called, and optionally raises."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self.threads: list[threading.Thread] = []
        self.done = threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append((args, kwargs))
        self.threads.append(threading.current_thread())
        self.done.set()
        if self.error is not None:
            raise self.error


# --- prepare ----------------------------------------------------------------------------------


def test_prepare_creates_a_pending_manual_account_session_and_launches_nothing() -> None:
    instances = [
        *make_instances(3),
        FakeInstance(id=10, name="disabled", is_active=False),
        FakeInstance(
            id=11, name="deleted", deleted_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        ),
    ]
    sync, launcher = ScriptedSyncService(), RecordingLauncher()
    service = in_memory_service(instances, sync_service=sync, launcher=launcher)

    prepared = service.prepare_background_full_sync(created_by=7)

    assert isinstance(prepared, AccountsSyncBackgroundPreparedSession)
    assert prepared.active_instance_count == 3
    assert len(prepared.session_id) == 36
    assert uuid.UUID(prepared.session_id).version == 4
    info = service.sessions.get_session(prepared.session_id)
    assert info is not None
    assert info.status is SessionStatus.PENDING
    assert info.sync_type is SyncType.MANUAL_TASK
    assert info.sync_category is SyncCategory.ACCOUNT
    assert info.created_by == 7
    assert info.started_at is None
    assert launcher.jobs == []
    assert sync.calls == []


def test_prepare_with_no_active_instance_is_a_validation_error() -> None:
    instances = [
        FakeInstance(id=1, name="off", is_active=False),
        FakeInstance(id=2, name="gone", deleted_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)),
    ]
    for service in (in_memory_service(), in_memory_service(instances)):
        with pytest.raises(ValidationError) as caught:
            service.prepare_background_full_sync(created_by=1)
        assert caught.value.message == "没有找到活跃的数据库实例"
        assert str(caught.value) == "没有找到活跃的数据库实例"
        assert isinstance(caught.value, ValueError)
        assert caught.value.http_status == 400
        assert service.sessions.list_sessions() == []


def test_prepare_conflicts_with_a_pending_or_running_session() -> None:
    service = in_memory_service(make_instances(2), launcher=RecordingLauncher())
    first = service.prepare_background_full_sync(created_by=1)

    with pytest.raises(ConflictError) as caught:
        service.prepare_background_full_sync(created_by=2)
    assert caught.value.message == "已有账户同步任务正在运行"
    assert caught.value.extra == {"session_id": first.session_id}
    assert caught.value.http_status == 409
    assert not isinstance(caught.value, ValidationError)

    assert service.sessions.claim_session(first.session_id)  # now running: still a conflict
    with pytest.raises(ConflictError) as caught:
        service.prepare_background_full_sync(created_by=2)
    assert caught.value.extra == {"session_id": first.session_id}
    assert [s.session_id for s in service.sessions.list_sessions()] == [first.session_id]


class UncountableInstances(InMemoryInstanceRepository[Any]):
    """Instances whose count must not be taken (a large fleet's count is what costs)."""

    def count_active(self) -> int:
        raise AssertionError("counted the instances although the lock was held")


def test_a_prepare_that_will_conflict_answers_before_counting_instances() -> None:
    sessions = InMemorySyncSessionRepository()
    service = AccountsSyncActionsService(
        sync_service=ScriptedSyncService(),
        instances=UncountableInstances(make_instances(3)),
        sessions=sessions,
        launcher=RecordingLauncher(),
    )
    holder = sessions.create_session(
        sync_type=SyncType.MANUAL_TASK, sync_category=SyncCategory.ACCOUNT, created_by=1
    )
    with pytest.raises(ConflictError) as caught:
        service.prepare_background_full_sync(created_by=2)
    assert caught.value.message == "已有账户同步任务正在运行"
    assert caught.value.extra == {"session_id": holder.session_id}
    assert [s.session_id for s in sessions.list_sessions()] == [holder.session_id]


def test_a_non_exclusive_session_still_conflicts_after_the_count() -> None:
    # It holds no lock, so only the create sees it: same error, same holder.
    service = in_memory_service(make_instances(2), launcher=RecordingLauncher())
    other = service.sessions.create_session(
        sync_type=SyncType.MANUAL_TASK,
        sync_category=SyncCategory.ACCOUNT,
        created_by=1,
        exclusive=False,
    )
    with pytest.raises(ConflictError) as caught:
        service.prepare_background_full_sync(created_by=2)
    assert caught.value.message == "已有账户同步任务正在运行"
    assert caught.value.extra == {"session_id": other.session_id}


def test_a_finished_session_no_longer_blocks_prepare() -> None:
    service = in_memory_service(make_instances(2))  # launches inline
    first = service.prepare_background_full_sync()
    service.launch_background_full_sync(prepared=first)
    assert service.sessions.get_session(first.session_id).status is SessionStatus.COMPLETED

    second = service.prepare_background_full_sync()
    assert second.session_id != first.session_id


def test_allow_concurrent_full_sync_allows_two() -> None:
    service = in_memory_service(make_instances(2), allow_concurrent_full_sync=True)
    first = service.prepare_background_full_sync()
    second = service.prepare_background_full_sync()
    assert first.session_id != second.session_id
    statuses = {s.session_id: s.status for s in service.sessions.list_sessions()}
    assert statuses == {
        first.session_id: SessionStatus.PENDING,
        second.session_id: SessionStatus.PENDING,
    }


def test_a_default_service_conflicts_with_a_concurrent_services_running_session() -> None:
    relaxed = in_memory_service(make_instances(2), allow_concurrent_full_sync=True)
    strict = AccountsSyncActionsService(
        sync_service=relaxed.sync_service,
        instances=relaxed.instances,
        sessions=relaxed.sessions,
        launcher=RecordingLauncher(),
    )
    running = relaxed.prepare_background_full_sync()
    with pytest.raises(ConflictError) as caught:
        strict.prepare_background_full_sync()
    assert caught.value.message == "已有账户同步任务正在运行"
    assert caught.value.extra == {"session_id": running.session_id}


def test_stale_sessions_are_reaped_at_prepare(clock: ManualClock, lib_logs: Logs) -> None:
    service = in_memory_service(make_instances(2), clock=clock, launcher=RecordingLauncher())
    sessions = service.sessions
    stale = service.prepare_background_full_sync()
    # A second, running stale session with records in every state.
    running = sessions.create_session(
        sync_type=SyncType.MANUAL_TASK,
        sync_category=SyncCategory.ACCOUNT,
        created_by=None,
        exclusive=False,
    )
    assert sessions.claim_session(running.session_id)
    sessions.add_records(running.session_id, [(1, "db-0001"), (2, "db-0002")])
    assert sessions.start_records(running.session_id, [1])

    clock.advance(dt.timedelta(minutes=9))  # not stale yet: still the running one
    with pytest.raises(ConflictError):
        service.prepare_background_full_sync()

    now = clock.advance(dt.timedelta(minutes=1, seconds=1))
    fresh = service.prepare_background_full_sync()

    for session_id in (stale.session_id, running.session_id):
        info = sessions.get_session(session_id)
        assert info.status is SessionStatus.FAILED
        assert info.error_message == "同步会话已中断"
        assert info.completed_at == now
        assert_counters_add_up(info)
    records = sessions.list_records(running.session_id)
    assert [(r.status, r.error_message) for r in records] == [
        (RecordStatus.FAILED, "同步会话已中断"),
        (RecordStatus.FAILED, "同步会话已中断"),
    ]
    assert sessions.get_session(fresh.session_id).status is SessionStatus.PENDING
    reaped = [
        r
        for r in lib_logs()
        if getattr(r, "action", "") == "prepare_background_full_sync"
        and r.levelno == logging.WARNING
    ]
    assert len(reaped) == 1
    assert_log_contract(lib_logs())


def test_a_heartbeat_keeps_a_running_session_from_being_reaped(clock: ManualClock) -> None:
    service = in_memory_service(make_instances(1), clock=clock, launcher=RecordingLauncher())
    prepared = service.prepare_background_full_sync()
    assert service.sessions.claim_session(prepared.session_id)
    clock.advance(dt.timedelta(minutes=8))
    service.sessions.heartbeat(prepared.session_id)
    clock.advance(dt.timedelta(minutes=8))  # 16 min after creation, 8 after the heartbeat

    with pytest.raises(ConflictError):
        service.prepare_background_full_sync()
    assert service.sessions.get_session(prepared.session_id).status is SessionStatus.RUNNING


@pytest.mark.timeout(30)
def test_racing_prepares_create_exactly_one_session() -> None:
    service = in_memory_service(make_instances(3), launcher=RecordingLauncher())
    barrier = threading.Barrier(32)
    winners: list[str] = []
    conflicts: list[ConflictError] = []
    lock = threading.Lock()

    def prepare() -> None:
        barrier.wait(WAIT)
        try:
            prepared = service.prepare_background_full_sync()
        except ConflictError as error:
            with lock:
                conflicts.append(error)
        else:
            with lock:
                winners.append(prepared.session_id)

    threads = [threading.Thread(target=prepare) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)

    assert len(winners) == 1
    assert len(conflicts) == 31
    assert all(error.extra == {"session_id": winners[0]} for error in conflicts)
    assert [s.session_id for s in service.sessions.list_sessions()] == winners


# --- launch -----------------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_thread_launcher_runs_the_job_in_a_named_daemon_thread() -> None:
    gate = Gate()
    sync = ScriptedSyncService().script(1, call=gate)
    service = AccountsSyncActionsService(
        sync_service=sync,
        instances=InMemoryInstanceRepository(make_instances(2)),
        sessions=InMemorySyncSessionRepository(),
    )
    assert isinstance(service.launcher, ThreadLauncher)
    prepared = service.prepare_background_full_sync(created_by=3)
    try:
        launched = service.launch_background_full_sync(created_by=3, prepared=prepared)
        # It returned while the host's sync is still blocked: the work runs in the background.
        assert gate.entered.wait(WAIT)
        assert isinstance(launched, AccountsSyncBackgroundLaunchResult)
        assert launched.session_id == prepared.session_id
        assert launched.active_instance_count == 2
        assert launched.thread_name == "sync_accounts_manual_batch"
        batch = [t for t in threading.enumerate() if t.name == "sync_accounts_manual_batch"]
        assert len(batch) == 1
        assert batch[0].daemon
        assert batch[0] is not threading.current_thread()
        assert service.sessions.get_session(prepared.session_id).status is SessionStatus.RUNNING
    finally:
        gate.release.set()
    batch[0].join(WAIT)
    assert not batch[0].is_alive()
    info = service.sessions.get_session(prepared.session_id)
    assert info.status is SessionStatus.COMPLETED
    assert {(c.instance_id, c.session_id, c.created_by, c.sync_type) for c in sync.calls} == {
        (1, prepared.session_id, 3, "manual_task"),
        (2, prepared.session_id, 3, "manual_task"),
    }


def test_the_job_calls_the_task_with_keyword_arguments_only() -> None:
    task = RecordingTask()
    service = in_memory_service(make_instances(1), sync_task=task)
    prepared = service.prepare_background_full_sync(created_by=5)
    service.launch_background_full_sync(created_by=5, prepared=prepared)
    assert task.calls == [
        ((), {"manual_run": True, "created_by": 5, "session_id": prepared.session_id}),
    ]


def test_the_launcher_receives_plain_serialisable_data() -> None:
    launcher = RecordingLauncher()
    service = in_memory_service(make_instances(1), launcher=launcher)
    prepared = service.prepare_background_full_sync(created_by=9)
    launched = service.launch_background_full_sync(created_by=9, prepared=prepared)

    assert launched.thread_name == "recorded-1"
    (job,) = launcher.jobs
    assert job == FullSyncJob(session_id=prepared.session_id, created_by=9, manual_run=True)
    wire = json.loads(json.dumps(job.as_dict()))
    assert FullSyncJob.from_dict(wire) == job
    # Nothing ran yet: the host decides when (after its commit).
    assert service.sessions.get_session(prepared.session_id).status is SessionStatus.PENDING
    assert launcher.run_all() == 1
    assert service.sessions.get_session(prepared.session_id).status is SessionStatus.COMPLETED


@pytest.mark.parametrize("launcher_kind", ["inline", "thread", "executor"])
@pytest.mark.timeout(30)
def test_a_background_task_that_raises_is_logged_once_and_fails_the_session(
    launcher_kind: str, lib_logs: Logs
) -> None:
    error = RuntimeError("cannot reach mysql://root:hunter2@db:3306")
    task = RecordingTask(error)
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    launcher = {
        "inline": InlineLauncher(),
        "thread": ThreadLauncher(),
        "executor": ExecutorLauncher(executor),
    }[launcher_kind]
    service = in_memory_service(make_instances(2), sync_task=task, launcher=launcher)
    prepared = service.prepare_background_full_sync(created_by=4)

    service.launch_background_full_sync(created_by=4, prepared=prepared)  # nothing escapes
    assert task.done.wait(WAIT)
    executor.shutdown(wait=True)
    if launcher_kind == "thread":
        task.threads[0].join(WAIT)

    errors = [r for r in lib_logs() if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    (record,) = errors
    assert record.levelno == logging.ERROR
    assert record.getMessage() == (
        "后台批量账户同步失败: RuntimeError: cannot reach mysql://root:***@db:3306"
    )
    assert record.action == "sync_all_accounts_background"
    assert record.context == {"created_by": 4, "session_id": prepared.session_id}
    assert record.error_type == "RuntimeError"
    assert record.error_message == "cannot reach mysql://root:***@db:3306"
    info = service.sessions.get_session(prepared.session_id)
    assert info.status is SessionStatus.FAILED
    assert info.error_message == "RuntimeError: cannot reach mysql://root:***@db:3306"
    assert_log_contract(lib_logs())


def test_a_task_failure_after_the_session_ended_does_not_overwrite_it(lib_logs: Logs) -> None:
    sessions = InMemorySyncSessionRepository()

    def task(*, session_id: str, **_: Any) -> None:
        assert sessions.claim_session(session_id)
        assert sessions.finish_session(session_id, status=SessionStatus.COMPLETED)
        raise KeyError("after the fact")

    service = AccountsSyncActionsService(
        sync_service=ScriptedSyncService(),
        instances=InMemoryInstanceRepository(make_instances(1)),
        sessions=sessions,
        sync_task=task,
        launcher=InlineLauncher(),
    )
    prepared = service.prepare_background_full_sync()
    service.launch_background_full_sync(prepared=prepared)

    info = sessions.get_session(prepared.session_id)
    assert info.status is SessionStatus.COMPLETED
    assert info.error_message is None
    assert len([r for r in lib_logs() if r.levelno >= logging.ERROR]) == 1


@pytest.mark.timeout(30)
def test_a_store_failing_in_the_background_fails_the_session_with_one_error_log(
    lib_logs: Logs,
) -> None:
    sessions = FailingFinishRecords(fail_on=1)
    service = AccountsSyncActionsService(
        sync_service=ScriptedSyncService(),
        instances=InMemoryInstanceRepository(make_instances(3)),
        sessions=sessions,
        launcher=InlineLauncher(),
    )
    prepared = service.prepare_background_full_sync(created_by=2)
    service.launch_background_full_sync(created_by=2, prepared=prepared)

    info = sessions.get_session(prepared.session_id)
    assert info.status is SessionStatus.FAILED
    assert info.error_message == "StoreDown: store down"
    assert_counters_add_up(info)
    assert {r.status for r in sessions.list_records(prepared.session_id)} == {RecordStatus.FAILED}
    errors = [r for r in lib_logs() if r.levelno >= logging.ERROR]
    assert [(r.action, r.error_type) for r in errors] == [
        ("sync_all_accounts_background", "StoreDown"),
    ]


def test_a_launcher_that_cannot_start_fails_the_session_and_raises(lib_logs: Logs) -> None:
    launcher = RecordingLauncher()
    launcher.fail_with = RuntimeError("can't start new thread")
    service = in_memory_service(make_instances(1), launcher=launcher)
    prepared = service.prepare_background_full_sync(created_by=1)

    with pytest.raises(RuntimeError) as caught:
        service.launch_background_full_sync(created_by=1, prepared=prepared)
    assert caught.value is launcher.fail_with

    info = service.sessions.get_session(prepared.session_id)
    assert info.status is SessionStatus.FAILED
    assert info.error_message == "RuntimeError: can't start new thread"
    errors = [r for r in lib_logs() if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].context == {"created_by": 1, "session_id": prepared.session_id}
    assert_log_contract(lib_logs())
    # The lock is released: the user can try again.
    assert service.prepare_background_full_sync().session_id != prepared.session_id


def test_inline_launcher_runs_before_returning() -> None:
    sync = ScriptedSyncService()
    service = in_memory_service(make_instances(3), sync_service=sync, launcher=InlineLauncher())
    prepared = service.prepare_background_full_sync()
    launched = service.launch_background_full_sync(prepared=prepared)

    assert launched.thread_name == threading.current_thread().name
    info = service.sessions.get_session(prepared.session_id)
    assert info.status is SessionStatus.COMPLETED
    assert (info.total_instances, info.successful_instances) == (3, 3)
    assert sorted(sync.called_ids()) == [1, 2, 3]


@pytest.mark.timeout(30)
def test_executor_launcher_runs_the_job_on_the_executor() -> None:
    task = RecordingTask()
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="host-pool") as executor:
        launcher = ExecutorLauncher(executor)
        service = in_memory_service(make_instances(1), sync_task=task, launcher=launcher)
        prepared = service.prepare_background_full_sync()
        launched = service.launch_background_full_sync(prepared=prepared)
    assert launched.thread_name == "ThreadPoolExecutor"
    assert task.threads[0].name.startswith("host-pool")
    assert task.calls[0][1]["session_id"] == prepared.session_id

    with concurrent.futures.ThreadPoolExecutor(2) as executor:
        sync = ScriptedSyncService()
        service = in_memory_service(
            make_instances(4), sync_service=sync, launcher=ExecutorLauncher(executor, name="pool")
        )
        prepared = service.prepare_background_full_sync()
        assert service.launch_background_full_sync(prepared=prepared).thread_name == "pool"
    info = service.sessions.get_session(prepared.session_id)
    assert (info.status, info.successful_instances) == (SessionStatus.COMPLETED, 4)


def test_english_catalogue_reaches_the_caller() -> None:
    service = in_memory_service(messages=Messages.english())
    with pytest.raises(ValidationError, match=r"^No active database instances found$"):
        service.prepare_background_full_sync()
    service = in_memory_service(
        make_instances(1), messages=Messages.english(), launcher=RecordingLauncher()
    )
    service.prepare_background_full_sync()
    with pytest.raises(ConflictError, match=r"^An account sync is already running$"):
        service.prepare_background_full_sync()


def test_a_failing_duplicate_delivery_leaves_the_running_session_alone() -> None:
    service = in_memory_service(make_instances(2), launcher=RecordingLauncher())
    prepared = service.prepare_background_full_sync(created_by=1)
    assert service.sessions.claim_session(prepared.session_id)  # another worker runs it

    def blip(**_: Any) -> None:
        raise ConnectionError("database blip while claiming")

    run_full_sync_job(
        FullSyncJob(session_id=prepared.session_id, created_by=1),
        sync_task=blip,
        sessions=service.sessions,
    )
    session = service.sessions.get_session(prepared.session_id)
    assert session is not None
    assert session.status is SessionStatus.RUNNING
