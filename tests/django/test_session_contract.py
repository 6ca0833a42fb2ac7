"""The SyncSessionRepository contract, run on the in-memory reference and on the Django store
(SQLite, and PostgreSQL when reachable): the same calls must give the same answers."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from accounts_sync import (
    ConflictError,
    FullSyncTask,
    Messages,
    RecordStatus,
    SessionStatus,
    SyncCategory,
    SyncSessionRepository,
    SyncType,
)
from accounts_sync.contrib.django import DjangoSyncSessionRepository
from accounts_sync.memory import InMemoryInstanceRepository, InMemorySyncSessionRepository
from accounts_sync.ports import RecordOutcome
from accounts_sync.testing import ManualClock, ScriptedSyncService, make_instances

MESSAGES = Messages()
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

STORES = [
    pytest.param("memory", id="memory"),
    pytest.param("django-sqlite", marks=pytest.mark.django_db, id="django-sqlite"),
    pytest.param("django-postgres", marks=pytest.mark.services, id="django-postgres"),
]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, clock: ManualClock) -> SyncSessionRepository:
    if request.param == "memory":
        return InMemorySyncSessionRepository(clock=clock)
    if request.param == "django-sqlite":
        return DjangoSyncSessionRepository(clock=clock)
    alias = request.getfixturevalue("pg_alias")
    return DjangoSyncSessionRepository(using=alias, clock=clock)


def _new(store: SyncSessionRepository, **kwargs: Any) -> str:
    options: dict[str, Any] = {
        "sync_type": SyncType.MANUAL_TASK,
        "sync_category": SyncCategory.ACCOUNT,
        "created_by": 7,
    }
    options.update(kwargs)
    return store.create_session(**options).session_id


def _running(store: SyncSessionRepository, count: int, **kwargs: Any) -> str:
    session_id = _new(store, **kwargs)
    assert store.claim_session(session_id)
    store.add_records(session_id, [(i, f"db-{i}") for i in range(1, count + 1)])
    return session_id


def _ok(instance_id: int, **kwargs: Any) -> RecordOutcome:
    return RecordOutcome(instance_id=instance_id, status=RecordStatus.COMPLETED, **kwargs)


def _failed(instance_id: int, message: str = "boom") -> RecordOutcome:
    return RecordOutcome(instance_id=instance_id, status=RecordStatus.FAILED, error_message=message)


def _statuses(store: SyncSessionRepository, session_id: str) -> dict[int, str]:
    return {r.instance_id: r.status.value for r in store.list_records(session_id)}


def test_create_gives_a_pending_uuid4_session_stamped_by_the_clock(
    store: SyncSessionRepository,
) -> None:
    assert isinstance(store, SyncSessionRepository)
    info = store.create_session(sync_type="manual_task", sync_category="account", created_by=7)
    assert uuid.UUID(info.session_id).version == 4 and len(info.session_id) == 36
    assert (info.status, info.sync_type, info.sync_category) == (
        SessionStatus.PENDING,
        SyncType.MANUAL_TASK,
        SyncCategory.ACCOUNT,
    )
    assert info.created_at == T0 and info.created_by == 7
    stored = store.get_session(info.session_id)
    assert stored == info
    assert stored is not None and stored.progress == 0.0 and not stored.cancel_requested
    assert store.get_session(str(uuid.uuid4())) is None
    assert store.list_records(info.session_id) == []


def test_single_flight_per_category(store: SyncSessionRepository) -> None:
    holder = _new(store)
    with pytest.raises(ConflictError) as caught:
        _new(store, created_by=8)
    assert caught.value.extra == {"session_id": holder}
    assert caught.value.message == MESSAGES.full_sync_already_running
    active = store.get_active_session(SyncCategory.ACCOUNT)
    assert active is not None and active.session_id == holder
    # Another category, or a non-exclusive session, is not blocked.
    _new(store, sync_category=SyncCategory.CAPACITY)
    free = _new(store, exclusive=False)
    assert store.get_active_session("config") is None
    # Running still holds the lock; a terminal state releases it.
    assert store.claim_session(holder)
    with pytest.raises(ConflictError):
        _new(store)
    assert store.finish_session(holder, status=SessionStatus.COMPLETED)
    assert store.get_active_session(SyncCategory.ACCOUNT) is None
    # A running non-exclusive session still counts as running for an exclusive one.
    with pytest.raises(ConflictError) as caught:
        _new(store)
    assert caught.value.extra == {"session_id": free}
    assert store.finish_session(free, status=SessionStatus.CANCELLED)
    assert _new(store) != holder


def test_claim_is_a_compare_and_set(store: SyncSessionRepository, clock: ManualClock) -> None:
    session_id = _new(store)
    clock.advance(5)
    assert store.claim_session(session_id) is True
    assert store.claim_session(session_id) is False
    assert store.claim_session(str(uuid.uuid4())) is False
    info = store.get_session(session_id)
    assert info is not None and info.status is SessionStatus.RUNNING
    assert info.started_at == info.heartbeat_at == T0 + dt.timedelta(seconds=5)


def test_records_are_created_pending_in_order_and_set_the_total(
    store: SyncSessionRepository,
) -> None:
    session_id = _new(store)
    store.claim_session(session_id)
    store.add_records(session_id, [(3, "c"), (1, "a"), (2, "b"), (1, "a2")])
    records = store.list_records(session_id)
    assert [(r.instance_id, r.instance_name) for r in records] == [(3, "c"), (1, "a2"), (2, "b")]
    assert {r.status for r in records} == {RecordStatus.PENDING}
    assert all(r.session_id == session_id and r.items_synced == 0 for r in records)
    assert len({r.record_id for r in records}) == 3
    info = store.get_session(session_id)
    assert info is not None and info.total_instances == 3 and info.progress == 0.0
    with pytest.raises(KeyError):
        store.add_records(str(uuid.uuid4()), [(1, "x")])


def test_records_are_not_added_to_a_terminal_session(store: SyncSessionRepository) -> None:
    session_id = _new(store)
    store.request_cancel(session_id)
    store.add_records(session_id, [(1, "a"), (2, "b")])
    info = store.get_session(session_id)
    assert info is not None and info.total_instances == 0
    assert store.list_records(session_id) == []


def test_start_and_finish_records_count_in_o1(
    store: SyncSessionRepository, clock: ManualClock
) -> None:
    session_id = _running(store, 4)
    clock.advance(10)
    assert store.start_records(session_id, [1, 2, 3])
    assert _statuses(store, session_id) == {1: "running", 2: "running", 3: "running", 4: "pending"}
    clock.advance(10)
    store.finish_records(
        session_id,
        [
            _ok(
                1,
                items_synced=5,
                items_created=1,
                items_updated=2,
                items_deleted=3,
                details={"success": True, "nested": {"n": [1, "二"]}},
            ),
            _failed(2, "timeout"),
            _ok(4),  # still pending: not touched, not counted
            _ok(1),  # already finished: not counted twice
        ],
    )
    info = store.get_session(session_id)
    assert info is not None
    assert (info.successful_instances, info.failed_instances, info.total_instances) == (1, 1, 4)
    assert info.progress == 50.0
    assert info.heartbeat_at == T0 + dt.timedelta(seconds=20)
    by_id = {r.instance_id: r for r in store.list_records(session_id)}
    first = by_id[1]
    assert (
        first.status,
        first.items_synced,
        first.items_created,
        first.items_updated,
        first.items_deleted,
    ) == (RecordStatus.COMPLETED, 5, 1, 2, 3)
    assert first.details == {"success": True, "nested": {"n": [1, "二"]}}
    assert first.started_at == T0 + dt.timedelta(seconds=10)
    assert first.completed_at == T0 + dt.timedelta(seconds=20)
    assert (by_id[2].status, by_id[2].error_message) == (RecordStatus.FAILED, "timeout")
    assert by_id[4].status is RecordStatus.PENDING and by_id[4].started_at is None
    assert by_id[3].status is RecordStatus.RUNNING


def test_start_records_refuses_after_a_cancel_request_or_when_not_running(
    store: SyncSessionRepository,
) -> None:
    pending = _new(store)
    assert store.start_records(pending, [1]) is False
    assert store.start_records(str(uuid.uuid4()), [1]) is False
    store.finish_session(pending, status=SessionStatus.FAILED)
    session_id = _running(store, 2)
    assert store.request_cancel(session_id) is True
    info = store.get_session(session_id)
    assert info is not None and info.cancel_requested and info.status is SessionStatus.RUNNING
    assert store.start_records(session_id, [1, 2]) is False
    assert _statuses(store, session_id) == {1: "pending", 2: "pending"}


def test_heartbeat_only_beats_a_running_session(
    store: SyncSessionRepository, clock: ManualClock
) -> None:
    pending = _new(store)
    clock.advance(30)
    store.heartbeat(pending)
    info = store.get_session(pending)
    assert info is not None and info.heartbeat_at is None
    store.claim_session(pending)
    clock.advance(30)
    store.heartbeat(pending)
    info = store.get_session(pending)
    assert info is not None and info.heartbeat_at == T0 + dt.timedelta(seconds=60)
    store.heartbeat(str(uuid.uuid4()))  # unknown: nothing happens


def test_cancel_of_a_pending_session_is_immediate(store: SyncSessionRepository) -> None:
    session_id = _new(store)
    assert store.request_cancel(session_id) is True
    info = store.get_session(session_id)
    assert info is not None and info.status is SessionStatus.CANCELLED
    assert info.cancel_requested and info.completed_at == T0
    assert store.get_active_session(SyncCategory.ACCOUNT) is None
    assert store.request_cancel(session_id) is False
    assert store.request_cancel(str(uuid.uuid4())) is False


def test_finishing_cancelled_settles_every_record(store: SyncSessionRepository) -> None:
    session_id = _running(store, 5)
    store.start_records(session_id, [1, 2])
    store.finish_records(session_id, [_ok(1)])
    store.request_cancel(session_id)
    assert store.finish_session(session_id, status=SessionStatus.CANCELLED, error_message="stopped")
    info = store.get_session(session_id)
    assert info is not None and info.status is SessionStatus.CANCELLED
    assert (info.successful_instances, info.failed_instances, info.cancelled_instances) == (1, 1, 3)
    assert info.finished_instances == info.total_instances == 5 and info.progress == 100.0
    assert info.error_message == "stopped"
    records = {r.instance_id: r for r in store.list_records(session_id)}
    assert records[2].status is RecordStatus.FAILED and records[2].error_message == "stopped"
    assert records[3].status is RecordStatus.CANCELLED and records[3].error_message is None
    assert all(r.completed_at is not None for r in records.values())


def test_a_terminal_session_never_changes(store: SyncSessionRepository, clock: ManualClock) -> None:
    session_id = _running(store, 3)
    store.start_records(session_id, [1])
    assert store.finish_session(session_id, status=SessionStatus.FAILED, error_message="x")
    before = store.get_session(session_id)
    records_before = store.list_records(session_id)
    clock.advance(dt.timedelta(hours=1))
    assert store.finish_session(session_id, status=SessionStatus.COMPLETED) is False
    assert store.claim_session(session_id) is False
    assert store.start_records(session_id, [2]) is False
    store.finish_records(session_id, [_ok(1), _ok(2)])
    store.heartbeat(session_id)
    assert store.request_cancel(session_id) is False
    assert store.reap_stale(stale_after=dt.timedelta(seconds=1)) == []
    assert store.get_session(session_id) == before
    assert store.list_records(session_id) == records_before
    assert before is not None
    assert before.failed_instances == 3 and before.finished_instances == before.total_instances


def test_finish_session_needs_a_terminal_status(store: SyncSessionRepository) -> None:
    session_id = _new(store)
    with pytest.raises(ValueError):
        store.finish_session(session_id, status=SessionStatus.RUNNING)
    assert store.finish_session(str(uuid.uuid4()), status=SessionStatus.FAILED) is False


def test_reap_stale_fails_silent_sessions_only(
    store: SyncSessionRepository, clock: ManualClock
) -> None:
    never_claimed = _new(store, sync_category=SyncCategory.CAPACITY)
    beating = _running(store, 2)
    silent = _running(store, 2, sync_category=SyncCategory.CONFIG)
    store.start_records(silent, [1])
    clock.advance(dt.timedelta(minutes=9))
    store.heartbeat(beating)
    clock.advance(dt.timedelta(minutes=2))
    reaped = store.reap_stale(stale_after=dt.timedelta(minutes=10))
    assert sorted(reaped) == sorted([never_claimed, silent])
    for session_id in reaped:
        info = store.get_session(session_id)
        assert info is not None and info.status is SessionStatus.FAILED
        assert info.error_message == MESSAGES.session_interrupted
        assert info.finished_instances == info.total_instances
    assert _statuses(store, silent) == {1: "failed", 2: "failed"}
    assert {r.error_message for r in store.list_records(silent)} == {MESSAGES.session_interrupted}
    alive = store.get_session(beating)
    assert alive is not None and alive.status is SessionStatus.RUNNING
    assert store.get_active_session(SyncCategory.CONFIG) is None  # the lock is released
    assert store.reap_stale(stale_after=dt.timedelta(minutes=10), message="gone") == []
    clock.advance(dt.timedelta(minutes=10))
    assert store.reap_stale(stale_after=dt.timedelta(minutes=10), message="gone") == [beating]
    gone = store.get_session(beating)
    assert gone is not None and gone.error_message == "gone"


def test_list_sessions_newest_first(store: SyncSessionRepository) -> None:
    ids = [
        _new(store, exclusive=False, sync_category=category)
        for category in ("account", "capacity", "account")
    ]
    assert [s.session_id for s in store.list_sessions()] == ids[::-1]
    assert [s.session_id for s in store.list_sessions(limit=2)] == ids[:0:-1]
    assert [s.session_id for s in store.list_sessions(sync_category="account")] == [ids[2], ids[0]]


def test_many_records_cross_batches(store: SyncSessionRepository) -> None:
    session_id = _running(store, 1201)
    ids = list(range(1, 1202))
    assert store.start_records(session_id, ids)
    store.finish_records(session_id, [_ok(i) for i in ids[:700]])
    store.request_cancel(session_id)
    store.finish_session(session_id, status=SessionStatus.CANCELLED)
    info = store.get_session(session_id)
    assert info is not None
    assert (info.total_instances, info.successful_instances, info.failed_instances) == (
        1201,
        700,
        501,
    )


def test_a_full_sync_task_runs_on_the_store(store: SyncSessionRepository) -> None:
    instances = InMemoryInstanceRepository(make_instances(6))
    service = ScriptedSyncService().script(2, result={"success": False, "message": "nope"})
    service.script(5, raises=RuntimeError("cannot reach mysql://root:hunter2@db-5"))
    task = FullSyncTask(instances=instances, sessions=store, sync_service=service, max_workers=3)
    session_id = _new(store)
    summary = task(session_id=session_id, created_by=7)
    assert summary.claimed and summary.status is SessionStatus.COMPLETED_WITH_ERRORS
    assert (summary.total_instances, summary.successful_instances, summary.failed_instances) == (
        6,
        4,
        2,
    )
    records = {r.instance_id: r for r in store.list_records(session_id)}
    assert records[2].error_message == "nope"
    assert records[5].error_message is not None and "hunter2" not in records[5].error_message
    assert records[1].details is not None and records[1].details["status"] == "completed"
    assert task(session_id=session_id).claimed is False  # a duplicate delivery does nothing
