"""The full-sync task on the in-memory stores, step by step."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts_sync import (
    FullSyncSummary,
    FullSyncTask,
    Messages,
    RecordStatus,
    SessionStatus,
    SyncCategory,
    SyncType,
    ValidationError,
)
from accounts_sync.memory import InMemoryInstanceRepository, InMemorySyncSessionRepository
from accounts_sync.testing import FakeInstance, ManualClock, ScriptedSyncService, make_instances

from .support import (
    WAIT,
    FailingFinishRecords,
    FailingStore,
    Gate,
    StoreDown,
    assert_counters_add_up,
    assert_log_contract,
    assert_record_free_of,
    assert_secret_absent,
    wait_started,
    wait_until,
)

Logs = Callable[[], list[logging.LogRecord]]
OK = {"success": True, "synced_count": 1}


class HostAbort(BaseException):
    """Host code that raises something that is not an ``Exception``."""


def build(
    instances: list[FakeInstance],
    sync: ScriptedSyncService | None = None,
    *,
    sessions: InMemorySyncSessionRepository | None = None,
    clock: ManualClock | None = None,
    **options: Any,
) -> tuple[FullSyncTask[Any], InMemorySyncSessionRepository, ScriptedSyncService]:
    sessions = sessions if sessions is not None else InMemorySyncSessionRepository(clock=clock)
    sync = sync or ScriptedSyncService()
    task = FullSyncTask(
        instances=InMemoryInstanceRepository(instances),
        sessions=sessions,
        sync_service=sync,
        **options,
    )
    return task, sessions, sync


def prepare(sessions: InMemorySyncSessionRepository, created_by: int | None = None) -> str:
    """What ``prepare_background_full_sync`` leaves behind: a pending manual_task session."""
    return sessions.create_session(
        sync_type=SyncType.MANUAL_TASK, sync_category=SyncCategory.ACCOUNT, created_by=created_by
    ).session_id


def run_in_thread(target: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def body() -> None:
        try:
            box["value"] = target()
        except BaseException as error:  # surfaced by the test through ``box``
            box["error"] = error

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, box


def statuses(sessions: InMemorySyncSessionRepository, session_id: str) -> list[RecordStatus]:
    return [record.status for record in sessions.list_records(session_id)]


# --- Step 1: the session ----------------------------------------------------------------------


def test_an_unknown_session_id_is_a_validation_error() -> None:
    task, _, sync = build(make_instances(2))
    with pytest.raises(ValidationError) as caught:
        task(session_id=str(uuid.uuid4()))
    assert caught.value.message == "指定的 session_id 不存在"
    assert sync.calls == []


def test_a_prepared_session_is_claimed_and_run(clock: ManualClock) -> None:
    instances = make_instances(3)
    sync = ScriptedSyncService().script(
        2,
        result={
            "success": True,
            "synced_count": 5,
            "added_count": 1,
            "modified_count": 2,
            "removed_count": 3,
            "message": "同步 5 个账户",
        },
    )
    task, sessions, _ = build(instances, sync, clock=clock)
    session_id = prepare(sessions, created_by=7)

    summary = task(manual_run=True, created_by=7, session_id=session_id, extra_kwarg="ignored")

    assert summary == FullSyncSummary(
        session_id=session_id,
        status=SessionStatus.COMPLETED,
        total_instances=3,
        successful_instances=3,
        failed_instances=0,
        cancelled_instances=0,
        claimed=True,
    )
    info = sessions.get_session(session_id)
    assert info.status is SessionStatus.COMPLETED
    assert (info.started_at, info.completed_at) == (clock(), clock())
    assert info.progress == 100.0
    records = sessions.list_records(session_id)
    assert [(r.instance_id, r.instance_name, r.status) for r in records] == [
        (1, "db-0001", RecordStatus.COMPLETED),
        (2, "db-0002", RecordStatus.COMPLETED),
        (3, "db-0003", RecordStatus.COMPLETED),
    ]
    second = records[1]
    assert (
        second.items_synced,
        second.items_created,
        second.items_updated,
        second.items_deleted,
    ) == (5, 1, 2, 3)
    assert second.details == {
        "success": True,
        "synced_count": 5,
        "added_count": 1,
        "modified_count": 2,
        "removed_count": 3,
        "message": "同步 5 个账户",
        "status": "completed",
    }
    assert records[0].details["message"] == "实例 db-0001 账户同步成功"
    assert {(c.instance_id, c.sync_type, c.session_id, c.created_by) for c in sync.calls} == {
        (i, "manual_task", session_id, 7) for i in (1, 2, 3)
    }
    assert [instance.sync_count for instance in instances] == [1, 1, 1]


def test_the_same_job_delivered_twice_runs_once() -> None:
    task, sessions, sync = build(make_instances(3))
    session_id = prepare(sessions)

    first = task(session_id=session_id)
    second = task(session_id=session_id)

    assert first.claimed and not second.claimed
    assert second.status is SessionStatus.COMPLETED
    assert second.session_id == session_id
    assert (second.total_instances, second.successful_instances) == (3, 3)
    assert sorted(sync.called_ids()) == [1, 2, 3]


@pytest.mark.timeout(30)
def test_concurrent_deliveries_claim_once() -> None:
    gate = Gate()
    task, sessions, sync = build(make_instances(3), ScriptedSyncService().script(1, call=gate))
    session_id = prepare(sessions)
    barrier = threading.Barrier(4)

    def deliver() -> FullSyncSummary:
        barrier.wait(WAIT)
        return task(session_id=session_id)

    runs = [run_in_thread(deliver) for _ in range(4)]
    assert gate.entered.wait(WAIT)
    gate.release.set()
    for thread, _ in runs:
        thread.join(WAIT)
    summaries = [box["value"] for _, box in runs]
    assert sorted(s.claimed for s in summaries) == [False, False, False, True]
    assert sorted(sync.called_ids()) == [1, 2, 3]
    assert sessions.get_session(session_id).status is SessionStatus.COMPLETED


def test_a_session_cancelled_while_pending_runs_nothing() -> None:
    task, sessions, sync = build(make_instances(2))
    session_id = prepare(sessions)
    assert sessions.request_cancel(session_id)

    summary = task(session_id=session_id)

    assert not summary.claimed
    assert summary.status is SessionStatus.CANCELLED
    assert sync.calls == []


@pytest.mark.parametrize(
    ("manual_run", "sync_type"),
    [(False, SyncType.SCHEDULED_TASK), (True, SyncType.MANUAL_TASK)],
)
def test_without_session_id_the_task_creates_its_own(manual_run: bool, sync_type: SyncType) -> None:
    task, sessions, sync = build(make_instances(2))

    summary = task(manual_run=manual_run, created_by=None)

    assert summary.claimed
    assert summary.status is SessionStatus.COMPLETED
    info = sessions.get_session(summary.session_id)
    assert info.sync_type is sync_type
    assert info.sync_category is SyncCategory.ACCOUNT
    assert {c.sync_type for c in sync.calls} == {sync_type.value}
    assert {c.session_id for c in sync.calls} == {summary.session_id}


def test_a_scheduled_run_yields_to_a_running_full_sync(lib_logs: Logs) -> None:
    task, sessions, sync = build(make_instances(2))
    holder = prepare(sessions)

    summary = task(manual_run=False)

    assert not summary.claimed
    assert summary.session_id == holder
    assert summary.status is SessionStatus.PENDING
    assert sync.calls == []
    assert [s.session_id for s in sessions.list_sessions()] == [holder]
    warnings = [r for r in lib_logs() if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].context["session_id"] == holder
    assert_log_contract(lib_logs())


def test_a_scheduled_run_reaps_a_stale_session_first(clock: ManualClock) -> None:
    task, sessions, _ = build(make_instances(1), clock=clock)
    stale = prepare(sessions)
    clock.advance(dt.timedelta(minutes=11))

    summary = task(manual_run=False)

    assert summary.claimed
    assert summary.status is SessionStatus.COMPLETED
    assert sessions.get_session(stale).status is SessionStatus.FAILED
    assert sessions.get_session(stale).error_message == "同步会话已中断"


# --- Step 2-3: snapshot and records -----------------------------------------------------------


def test_the_snapshot_holds_active_instances_ordered_by_name_then_id() -> None:
    instances = [
        FakeInstance(id=1, name="b"),
        FakeInstance(id=4, name="a"),
        FakeInstance(id=3, name="c"),
        FakeInstance(id=2, name="a"),
        FakeInstance(id=5, name="0-disabled", is_active=False),
        FakeInstance(
            id=6, name="0-deleted", deleted_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        ),
    ]
    task, sessions, sync = build(instances, max_workers=1)
    summary = task(session_id=prepare(sessions))

    assert summary.total_instances == 4
    assert sync.called_ids() == [2, 4, 1, 3]
    records = sessions.list_records(summary.session_id)
    assert [(r.instance_id, r.instance_name) for r in records] == [
        (2, "a"),
        (4, "a"),
        (1, "b"),
        (3, "c"),
    ]
    assert len({r.record_id for r in records}) == 4
    assert instances[4].sync_count == 0 and instances[5].sync_count == 0


@pytest.mark.parametrize("manual_run", [True, False])
def test_zero_instances_complete_with_total_zero(manual_run: bool) -> None:
    task, sessions, sync = build([FakeInstance(id=1, name="off", is_active=False)])
    summary = task(manual_run=manual_run)
    assert summary.claimed
    assert summary.status is SessionStatus.COMPLETED
    assert summary.total_instances == 0
    info = sessions.get_session(summary.session_id)
    assert info.status is SessionStatus.COMPLETED
    assert info.progress == 0
    assert sessions.get_active_session(SyncCategory.ACCOUNT) is None
    assert sync.calls == []


def test_instances_gone_between_prepare_and_run_complete_with_total_zero() -> None:
    instances = make_instances(2)
    task, sessions, _ = build(instances)
    session_id = prepare(sessions)
    for instance in instances:
        instance.is_active = False
    summary = task(session_id=session_id)
    assert (summary.status, summary.total_instances) == (SessionStatus.COMPLETED, 0)


# --- Step 4: running ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "counted"),
    [(7, 7), (0, 0), ("5", 0), (2.0, 0), (True, 0), (None, 0), ([1], 0)],
)
def test_non_integer_counters_count_zero(value: Any, counted: int) -> None:
    result = {
        "success": True,
        "synced_count": value,
        "added_count": value,
        "modified_count": value,
        "removed_count": value,
    }
    task, sessions, _ = build(make_instances(1), ScriptedSyncService(default=result))
    summary = task(session_id=prepare(sessions))
    (record,) = sessions.list_records(summary.session_id)
    assert (
        record.items_synced,
        record.items_created,
        record.items_updated,
        record.items_deleted,
    ) == (counted,) * 4


@pytest.mark.parametrize(
    ("script", "status"),
    [
        ({}, SessionStatus.COMPLETED),
        ({2: {"result": {"success": False}}}, SessionStatus.COMPLETED_WITH_ERRORS),
        ({1: {"raises": ConnectionError("refused")}}, SessionStatus.COMPLETED_WITH_ERRORS),
        (
            {1: {"result": None}, 2: {"result": "bad"}, 3: {"raises": KeyError("x")}},
            SessionStatus.FAILED,
        ),
    ],
)
def test_final_status(script: dict[int, dict[str, Any]], status: SessionStatus) -> None:
    sync = ScriptedSyncService()
    for instance_id, how in script.items():
        sync.script(instance_id, **how)
    task, sessions, _ = build(make_instances(3), sync)
    summary = task(session_id=prepare(sessions))
    assert summary.status is status
    info = sessions.get_session(summary.session_id)
    assert info.status is status
    assert (info.successful_instances, info.failed_instances) == (3 - len(script), len(script))
    assert_counters_add_up(info)


def test_an_exception_fails_only_its_instance(lib_logs: Logs) -> None:
    instances = make_instances(3)
    sync = ScriptedSyncService().script(2, raises=ConnectionError("refused"))
    task, sessions, _ = build(instances, sync)
    summary = task(session_id=prepare(sessions))

    records = sessions.list_records(summary.session_id)
    assert [r.status for r in records] == [
        RecordStatus.COMPLETED,
        RecordStatus.FAILED,
        RecordStatus.COMPLETED,
    ]
    assert records[1].error_message == "ConnectionError: refused"
    assert [i.sync_count for i in instances] == [1, 0, 1]
    assert_log_contract(lib_logs())


def test_a_failed_result_fails_its_record_with_the_message() -> None:
    sync = ScriptedSyncService().script(1, result={"success": "no", "message": "权限不足"})
    sync.script(2, result=[])
    task, sessions, _ = build(make_instances(2), sync)
    summary = task(session_id=prepare(sessions))
    first, second = sessions.list_records(summary.session_id)
    assert (first.status, first.error_message) == (RecordStatus.FAILED, "权限不足")
    assert first.details["status"] == "failed"
    assert (second.status, second.error_message) == (
        RecordStatus.FAILED,
        "实例 db-0002 账户同步返回格式无效",
    )


@pytest.mark.timeout(30)
@pytest.mark.parametrize("error", [HostAbort("stop"), SystemExit(3)])
def test_host_code_raising_a_base_exception_fails_only_its_instance(
    error: BaseException,
) -> None:
    sync = ScriptedSyncService().script(1, raises=error)
    task, sessions, _ = build(make_instances(3), sync, heartbeat_interval=0.05)
    thread, box = run_in_thread(lambda: task(session_id=prepare(sessions)))
    thread.join(WAIT)
    assert not thread.is_alive(), "the task waited forever for a dead worker"
    summary = box["value"]
    assert summary.status is SessionStatus.COMPLETED_WITH_ERRORS
    records = sessions.list_records(summary.session_id)
    assert records[0].status is RecordStatus.FAILED
    assert records[0].error_message == f"{type(error).__name__}: {error}"


@pytest.mark.timeout(30)
def test_a_timed_out_instance_fails_and_its_late_result_is_ignored(lib_logs: Logs) -> None:
    instances = make_instances(3)
    gate = Gate()
    sync = ScriptedSyncService().script(2, call=gate)
    task, sessions, _ = build(instances, sync, max_workers=1, instance_timeout=0.5)
    session_id = prepare(sessions)
    try:
        summary = task(session_id=session_id)
        assert not gate.left.is_set(), "the task waited for the stuck instance"
    finally:
        gate.release.set()

    assert summary.status is SessionStatus.COMPLETED_WITH_ERRORS
    assert (summary.successful_instances, summary.failed_instances) == (2, 1)
    records = sessions.list_records(session_id)
    assert [r.status for r in records] == [
        RecordStatus.COMPLETED,
        RecordStatus.FAILED,
        RecordStatus.COMPLETED,
    ]
    assert records[1].error_message == "实例 db-0002 账户同步超时"

    assert gate.left.wait(WAIT)
    assert gate.thread is not None
    gate.thread.join(WAIT)
    assert not gate.thread.is_alive()
    assert sessions.list_records(session_id) == records
    info = sessions.get_session(session_id)
    assert (info.status, info.successful_instances, info.failed_instances) == (
        SessionStatus.COMPLETED_WITH_ERRORS,
        2,
        1,
    )
    assert [i.sync_count for i in instances] == [1, 0, 1]
    timeouts = [r for r in lib_logs() if r.getMessage() == "实例 db-0002 账户同步超时"]
    assert len(timeouts) == 1
    assert timeouts[0].context["instance_id"] == 2
    assert_log_contract(lib_logs())


class ConcurrencyProbe:
    """Scripted ``call``: counts calls in flight; each wave of ``wave`` calls meets at a barrier,
    so reaching the limit is certain, and each call lingers so any excess would overlap."""

    def __init__(self, wave: int) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0
        self.barrier = threading.Barrier(wave)

    def __call__(self, instance: Any) -> dict[str, Any]:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            self.barrier.wait(WAIT)
            time.sleep(0.005)
            return OK
        finally:
            with self.lock:
                self.active -= 1


@pytest.mark.timeout(30)
@pytest.mark.parametrize("max_workers", [1, 3])
def test_max_workers_is_honoured(max_workers: int) -> None:
    probe = ConcurrencyProbe(max_workers)
    instances = make_instances(3 * max_workers)
    sync = ScriptedSyncService(default=None)
    for instance in instances:
        sync.script(instance.id, call=probe)
    task, sessions, _ = build(instances, sync, max_workers=max_workers)

    summary = task(session_id=prepare(sessions))

    assert summary.status is SessionStatus.COMPLETED
    assert probe.peak == max_workers


@pytest.mark.timeout(30)
def test_cancel_in_the_middle_of_a_run(lib_logs: Logs) -> None:
    gate = Gate()
    sync = ScriptedSyncService().script(2, call=gate)
    task, sessions, _ = build(make_instances(5), sync, max_workers=1)
    session_id = prepare(sessions)

    thread, box = run_in_thread(lambda: task(session_id=session_id))
    try:
        assert gate.entered.wait(WAIT)
        wait_started(sessions, session_id, 1)
        assert sessions.request_cancel(session_id) is True
        assert sessions.get_session(session_id).status is SessionStatus.RUNNING
    finally:
        gate.release.set()
    thread.join(WAIT)

    summary = box["value"]
    assert summary.claimed
    assert summary.status is SessionStatus.CANCELLED
    assert (
        summary.total_instances,
        summary.successful_instances,
        summary.failed_instances,
        summary.cancelled_instances,
    ) == (5, 2, 0, 3)
    assert statuses(sessions, session_id) == [
        RecordStatus.COMPLETED,
        RecordStatus.COMPLETED,
        RecordStatus.CANCELLED,
        RecordStatus.CANCELLED,
        RecordStatus.CANCELLED,
    ]
    # Instances handed out in the window in which the cancel is seen still ran; they count as
    # cancelled, like the ones never handed out.
    assert sync.called_ids()[:2] == [1, 2]
    info = sessions.get_session(session_id)
    assert info.status is SessionStatus.CANCELLED
    assert_counters_add_up(info)
    assert sessions.request_cancel(session_id) is False
    assert_log_contract(lib_logs())


@pytest.mark.timeout(30)
def test_a_session_reaped_mid_run_stays_failed(clock: ManualClock) -> None:
    gate = Gate()
    sync = ScriptedSyncService().script(1, call=gate)
    task, sessions, _ = build(make_instances(3), sync, clock=clock, max_workers=1)
    session_id = prepare(sessions)

    thread, box = run_in_thread(lambda: task(session_id=session_id))
    try:
        assert gate.entered.wait(WAIT)
        clock.advance(dt.timedelta(minutes=11))
        assert sessions.reap_stale(stale_after=dt.timedelta(minutes=10)) == [session_id]
    finally:
        gate.release.set()
    thread.join(WAIT)

    assert box["value"].status is SessionStatus.FAILED
    info = sessions.get_session(session_id)
    assert (info.status, info.error_message) == (SessionStatus.FAILED, "同步会话已中断")
    assert (info.successful_instances, info.failed_instances) == (0, 3)
    assert_counters_add_up(info)
    # Instances handed out before the refused start was seen ran, but count nowhere.
    assert sync.called_ids()[:1] == [1]


# --- Step 5: counters and heartbeat -------------------------------------------------------------


@pytest.mark.timeout(30)
def test_heartbeats_are_written_while_an_instance_runs(clock: ManualClock) -> None:
    gate = Gate()
    sync = ScriptedSyncService().script(1, call=gate)
    task, sessions, _ = build(make_instances(2), sync, clock=clock, heartbeat_interval=0.01)
    session_id = prepare(sessions)

    thread, box = run_in_thread(lambda: task(session_id=session_id))
    try:
        assert gate.entered.wait(WAIT)
        for _ in range(2):
            later = clock.advance(dt.timedelta(minutes=1))
            wait_until(lambda at=later: sessions.get_session(session_id).heartbeat_at == at)
    finally:
        gate.release.set()
    thread.join(WAIT)
    assert box["value"].status is SessionStatus.COMPLETED


KINDS = ("ok", "counts", "false", "none", "invalid", "raise", "abort")


def script_kind(sync: ScriptedSyncService, instance_id: int, kind: str) -> None:
    if kind == "ok":
        sync.script(instance_id, result=OK)
    elif kind == "counts":
        sync.script(
            instance_id,
            result={
                "success": "yes",
                "synced_count": 3,
                "added_count": 1,
                "at": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
            },
        )
    elif kind == "false":
        sync.script(instance_id, result={"success": "false", "message": "nope"})
    elif kind == "none":
        sync.script(instance_id, result=None)
    elif kind == "invalid":
        sync.script(instance_id, result=["not", "a", "mapping"])
    elif kind == "raise":
        sync.script(instance_id, raises=ValueError("bad"))
    else:
        sync.script(instance_id, raises=HostAbort("abort"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kinds=st.lists(st.sampled_from(KINDS), max_size=8),
    max_workers=st.integers(1, 4),
    prepared=st.booleans(),
    none_counts=st.booleans(),
)
def test_counters_always_add_up(
    kinds: list[str], max_workers: int, prepared: bool, none_counts: bool
) -> None:
    instances = make_instances(len(kinds))
    for instance in instances:
        instance.sync_count = None if none_counts else 0
    sync = ScriptedSyncService()
    for instance, kind in zip(instances, kinds, strict=True):
        script_kind(sync, instance.id, kind)
    task, sessions, _ = build(instances, sync, max_workers=max_workers)

    summary = task(session_id=prepare(sessions)) if prepared else task(manual_run=False)

    good = [kind in ("ok", "counts") for kind in kinds]
    succeeded, failed = sum(good), len(kinds) - sum(good)
    expected = (
        SessionStatus.COMPLETED
        if failed == 0
        else SessionStatus.FAILED
        if succeeded == 0
        else SessionStatus.COMPLETED_WITH_ERRORS
    )
    info = sessions.get_session(summary.session_id)
    assert info.status is summary.status is expected
    assert_counters_add_up(info)
    assert (
        info.total_instances,
        info.successful_instances,
        info.failed_instances,
        info.cancelled_instances,
    ) == (len(kinds), succeeded, failed, 0)
    assert summary == FullSyncSummary.of(info, claimed=True)
    records = sessions.list_records(summary.session_id)
    assert [r.status for r in records] == [
        RecordStatus.COMPLETED if ok else RecordStatus.FAILED for ok in good
    ]
    for record in records:
        json.dumps(record.as_dict(), allow_nan=False)
        if record.status is RecordStatus.FAILED:
            assert record.error_message
    assert [instance.sync_count for instance in instances] == [
        1 if ok else (None if none_counts else 0) for ok in good
    ]
    assert sorted(sync.called_ids()) == [i.id for i in instances]


# --- Step 6: an error of the task itself ------------------------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize("fail_on", [1, 2])
def test_a_store_that_fails_mid_run_fails_the_session_and_reraises(fail_on: int) -> None:
    sessions = FailingFinishRecords(fail_on=fail_on)
    # Outcomes 50 ms apart: each reaches the store in a group of its own.
    sync = ScriptedSyncService(default_delay=0.05)
    task, _, _ = build(make_instances(4), sync, sessions=sessions, max_workers=1)
    session_id = prepare(sessions)

    with pytest.raises(StoreDown, match=r"^store down$"):
        task(session_id=session_id)

    info = sessions.get_session(session_id)
    assert info.status is SessionStatus.FAILED
    assert info.error_message == "StoreDown: store down"
    records = sessions.list_records(session_id)
    # Outcomes are written in groups: what the first group wrote stays written.
    succeeded = sum(r.status is RecordStatus.COMPLETED for r in records)
    assert (succeeded == 0) is (fail_on == 1)
    assert (info.successful_instances, info.failed_instances) == (succeeded, 4 - succeeded)
    assert_counters_add_up(info)
    assert all(r.status in (RecordStatus.COMPLETED, RecordStatus.FAILED) for r in records)
    assert [r.error_message for r in records if r.status is RecordStatus.FAILED] == [
        "StoreDown: store down"
    ] * (4 - succeeded)
    assert sessions.get_active_session(SyncCategory.ACCOUNT) is None


@pytest.mark.timeout(30)
def test_a_store_that_cannot_even_fail_the_session_keeps_the_first_error(
    clock: ManualClock, lib_logs: Logs
) -> None:
    sessions = FailingStore(fail_on=1, clock=clock)
    task, _, _ = build(make_instances(2), sessions=sessions)
    session_id = prepare(sessions)

    with pytest.raises(StoreDown, match=r"^store down$"):
        task(session_id=session_id)

    warnings = [r for r in lib_logs() if r.levelno == logging.WARNING]
    assert [r.error_type for r in warnings] == ["StoreDown"]
    assert_log_contract(lib_logs())
    # The reaper cleans up what the task could not.
    clock.advance(dt.timedelta(minutes=11))
    assert sessions.reap_stale(stale_after=dt.timedelta(minutes=10)) == [session_id]
    assert_counters_add_up(sessions.get_session(session_id))


# --- Step 7: JSON and redaction -----------------------------------------------------------------


def test_details_are_json_serialisable() -> None:
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    result = {
        "success": True,
        "synced_count": 1,
        "checked_at": when,
        "details": {
            "days": [dt.date(2026, 1, 1), dt.time(12, 30)],
            "amount": decimal.Decimal("1.50"),
            "roles": {"b", "a"},
            "pair": ("x", 1),
            "id": uuid.UUID(int=1),
            "raw": b"bytes",
            "lag": dt.timedelta(seconds=90),
            "nan": float("nan"),
            "kind": SyncType.MANUAL_TASK,
            "obj": object(),
        },
    }
    task, sessions, _ = build(make_instances(1), ScriptedSyncService(default=result))
    summary = task(session_id=prepare(sessions))

    (record,) = sessions.list_records(summary.session_id)
    assert record.status is RecordStatus.COMPLETED
    text = json.dumps(record.details, allow_nan=False)
    assert json.loads(text) == record.details
    assert record.details["checked_at"] == "2026-01-02T03:04:05+00:00"
    assert record.details["details"]["days"][0] == "2026-01-01"
    assert result["checked_at"] is when  # the host's result is untouched


def test_secrets_never_reach_records_results_or_logs(lib_logs: Logs) -> None:
    secret = "hunter2-S3cr3t"
    sync = ScriptedSyncService()
    sync.script(
        1,
        result={
            "success": True,
            "password": secret,
            "message": f"ok via redis://:{secret}@cache:6379",
            "details": {
                "dsn": f"mysql://u:{secret}@h/db",
                "users": [{"name": "a", "AccessToken": secret}],
            },
        },
    )
    sync.script(2, raises=RuntimeError(f"login failed for postgresql://admin:{secret}@pg/app"))
    sync.script(
        3,
        result={
            "success": False,
            "message": f"denied at mysql://root:{secret}@db",
            "api_key": secret,
        },
    )
    task, sessions, _ = build(make_instances(3), sync)

    summary = task(session_id=prepare(sessions))

    records = sessions.list_records(summary.session_id)
    for record in records:
        assert_secret_absent(record.as_dict(), secret)
    assert_secret_absent(sessions.get_session(summary.session_id).as_dict(), secret)
    first, second, third = records
    assert first.details["password"] == "***"
    assert first.details["message"] == "ok via redis://:***@cache:6379"
    assert first.details["details"] == {
        "dsn": "***",  # a DSN is masked whole
        "users": [{"name": "a", "AccessToken": "***"}],
    }
    assert second.error_message == "RuntimeError: login failed for postgresql://admin:***@pg/app"
    assert third.error_message == "denied at mysql://root:***@db"
    assert third.details["api_key"] == "***"
    logged = lib_logs()
    assert logged
    for log_record in logged:
        assert_record_free_of(log_record, secret)
    assert_log_contract(logged)


def test_the_task_speaks_the_given_catalogue() -> None:
    english = Messages.english()
    sync = ScriptedSyncService().script(1, result={"success": 0})
    task, sessions, _ = build(make_instances(1), sync, messages=english)
    summary = task(session_id=prepare(sessions))
    (record,) = sessions.list_records(summary.session_id)
    assert record.error_message == "Account sync of instance db-0001 failed"
    with pytest.raises(ValidationError, match=r"^The given session_id does not exist$"):
        task(session_id=str(uuid.uuid4()))
