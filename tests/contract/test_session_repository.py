"""The ``SyncSessionRepository`` contract (SPEC §1.3, §4.2, §4.3), on every store."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from accounts_sync import (
    ConflictError,
    RecordStatus,
    SessionStatus,
    SyncCategory,
    SyncSessionInfo,
    SyncSessionRepository,
    SyncType,
)
from accounts_sync.ports import RecordOutcome
from accounts_sync.testing import ManualClock

INTERRUPTED = "同步会话已中断"
STALE_AFTER = dt.timedelta(minutes=10)
HOSTILE_NAMES = [
    'o\'brien "db"',
    "100% full; DROP TABLE x; --",
    "数据库-主库",
    "ünïcødé 🚀",
    "a\\b",
]


def create(
    repo: SyncSessionRepository,
    category: SyncCategory = SyncCategory.ACCOUNT,
    *,
    exclusive: bool = True,
    created_by: int | None = 7,
) -> SyncSessionInfo:
    return repo.create_session(
        sync_type=SyncType.MANUAL_TASK,
        sync_category=category,
        created_by=created_by,
        exclusive=exclusive,
    )


def running(repo: SyncSessionRepository, names: list[str]) -> str:
    """A claimed session with one pending record per name (instance ids 1…n)."""
    session_id = create(repo).session_id
    assert repo.claim_session(session_id)
    repo.add_records(session_id, [(index, name) for index, name in enumerate(names, start=1)])
    return session_id


def outcome(instance_id: int, *, ok: bool = True, **fields: object) -> RecordOutcome:
    status = RecordStatus.COMPLETED if ok else RecordStatus.FAILED
    return RecordOutcome(instance_id=instance_id, status=status, **fields)  # type: ignore[arg-type]


def statuses(repo: SyncSessionRepository, session_id: str) -> list[RecordStatus]:
    return [record.status for record in repo.list_records(session_id)]


def assert_counters_add_up(info: SyncSessionInfo | None) -> None:
    assert info is not None
    finished = info.successful_instances + info.failed_instances + info.cancelled_instances
    assert finished <= info.total_instances
    if info.is_terminal:
        assert finished == info.total_instances


class TestCreateAndRead:
    def test_create_returns_a_pending_session(
        self, sessions: SyncSessionRepository, clock: ManualClock
    ) -> None:
        info = create(sessions, created_by=42)
        assert uuid.UUID(info.session_id).version == 4
        assert len(info.session_id) == 36
        assert info.status is SessionStatus.PENDING
        assert info.sync_type is SyncType.MANUAL_TASK
        assert info.sync_category is SyncCategory.ACCOUNT
        assert info.created_by == 42
        assert info.created_at == clock()
        assert (info.started_at, info.completed_at, info.heartbeat_at) == (None, None, None)
        assert info.total_instances == info.successful_instances == 0
        assert sessions.get_session(info.session_id) == info

    def test_get_unknown_session_is_none(self, sessions: SyncSessionRepository) -> None:
        assert sessions.get_session(str(uuid.uuid4())) is None
        assert sessions.list_records(str(uuid.uuid4())) == []

    def test_list_sessions_most_recent_first(
        self, sessions: SyncSessionRepository, clock: ManualClock
    ) -> None:
        first = create(sessions, exclusive=False)
        second = create(sessions, SyncCategory.CAPACITY, exclusive=False)
        third = create(sessions, exclusive=False)  # same instant: creation order still counts
        assert [s.session_id for s in sessions.list_sessions()] == [
            third.session_id,
            second.session_id,
            first.session_id,
        ]
        assert [s.session_id for s in sessions.list_sessions(limit=2)] == [
            third.session_id,
            second.session_id,
        ]
        assert [
            s.session_id for s in sessions.list_sessions(sync_category=SyncCategory.ACCOUNT)
        ] == [third.session_id, first.session_id]

    def test_string_enums_are_accepted(self, sessions: SyncSessionRepository) -> None:
        info = sessions.create_session(
            sync_type="scheduled_task", sync_category="config", created_by=None
        )
        assert info.sync_type is SyncType.SCHEDULED_TASK
        stored = sessions.get_session(info.session_id)
        assert stored is not None
        assert stored.sync_category is SyncCategory.CONFIG
        assert stored.created_by is None

    def test_timestamps_are_aware_utc(
        self, sessions: SyncSessionRepository, clock: ManualClock
    ) -> None:
        session_id = running(sessions, ["a"])
        sessions.start_records(session_id, [1])
        clock.advance(1.5)
        sessions.finish_records(session_id, [outcome(1)])
        sessions.finish_session(session_id, status=SessionStatus.COMPLETED)
        info = sessions.get_session(session_id)
        assert info is not None
        (record,) = sessions.list_records(session_id)
        stamps = [
            info.created_at,
            info.started_at,
            info.heartbeat_at,
            info.completed_at,
            record.started_at,
            record.completed_at,
        ]
        for stamp in stamps:
            assert stamp is not None
            assert stamp.utcoffset() == dt.timedelta(0)
        assert info.completed_at == clock()
        assert info.started_at == clock() - dt.timedelta(seconds=1.5)  # microseconds kept


class TestSingleFlight:
    def test_second_exclusive_session_conflicts_naming_the_holder(
        self, sessions: SyncSessionRepository
    ) -> None:
        holder = create(sessions)
        with pytest.raises(ConflictError) as caught:
            create(sessions)
        assert caught.value.extra == {"session_id": holder.session_id}
        active = sessions.get_active_session(SyncCategory.ACCOUNT)
        assert active is not None
        assert active.session_id == holder.session_id
        assert len(sessions.list_sessions()) == 1

    def test_the_guard_is_per_category(self, sessions: SyncSessionRepository) -> None:
        create(sessions, SyncCategory.ACCOUNT)
        other = create(sessions, SyncCategory.CAPACITY)
        active = sessions.get_active_session("capacity")
        assert active is not None
        assert active.session_id == other.session_id

    def test_non_exclusive_sessions_bypass_and_never_hold_the_lock(
        self, sessions: SyncSessionRepository
    ) -> None:
        holder = create(sessions)
        free = create(sessions, exclusive=False)
        also_free = create(sessions, exclusive=False)
        assert len({holder.session_id, free.session_id, also_free.session_id}) == 3
        active = sessions.get_active_session(SyncCategory.ACCOUNT)
        assert active is not None
        assert active.session_id == holder.session_id

    def test_an_exclusive_session_conflicts_with_a_running_non_exclusive_one(
        self, sessions: SyncSessionRepository
    ) -> None:
        free = create(sessions, exclusive=False)
        assert sessions.get_active_session(SyncCategory.ACCOUNT) is None
        with pytest.raises(ConflictError) as caught:
            create(sessions)
        assert caught.value.extra == {"session_id": free.session_id}
        create(sessions, SyncCategory.CAPACITY)  # other categories are unaffected
        assert sessions.finish_session(free.session_id, status=SessionStatus.CANCELLED)
        create(sessions)  # once it has finished, the exclusive one may start

    @pytest.mark.parametrize(
        "status", [SessionStatus.COMPLETED, SessionStatus.FAILED, SessionStatus.CANCELLED]
    )
    def test_a_terminal_session_releases_the_lock(
        self, sessions: SyncSessionRepository, status: SessionStatus
    ) -> None:
        holder = create(sessions)
        assert sessions.claim_session(holder.session_id)
        assert sessions.finish_session(holder.session_id, status=status)
        assert sessions.get_active_session(SyncCategory.ACCOUNT) is None
        successor = create(sessions)
        active = sessions.get_active_session(SyncCategory.ACCOUNT)
        assert active is not None
        assert active.session_id == successor.session_id


class TestClaim:
    def test_claim_is_a_compare_and_set(
        self, sessions: SyncSessionRepository, clock: ManualClock
    ) -> None:
        info = create(sessions)
        clock.advance(3)
        assert sessions.claim_session(info.session_id) is True
        assert sessions.claim_session(info.session_id) is False
        claimed = sessions.get_session(info.session_id)
        assert claimed is not None
        assert claimed.status is SessionStatus.RUNNING
        assert claimed.started_at == claimed.heartbeat_at == clock()

    def test_unknown_or_finished_sessions_cannot_be_claimed(
        self, sessions: SyncSessionRepository
    ) -> None:
        assert sessions.claim_session(str(uuid.uuid4())) is False
        info = create(sessions)
        assert sessions.request_cancel(info.session_id)
        assert sessions.claim_session(info.session_id) is False


class TestRecords:
    def test_add_records_creates_pending_records_in_order(
        self, sessions: SyncSessionRepository
    ) -> None:
        session_id = running(sessions, ["b", "a", "c"])
        records = sessions.list_records(session_id)
        assert [(r.instance_id, r.instance_name) for r in records] == [(1, "b"), (2, "a"), (3, "c")]
        assert {r.status for r in records} == {RecordStatus.PENDING}
        assert all(r.session_id == session_id for r in records)
        assert len({r.record_id for r in records}) == 3
        info = sessions.get_session(session_id)
        assert info is not None
        assert info.total_instances == 3
        assert info.progress == 0.0

    def test_start_then_finish_writes_outcomes_and_counters(
        self, sessions: SyncSessionRepository, clock: ManualClock
    ) -> None:
        session_id = running(sessions, ["a", "b", "c", "d"])
        clock.advance(1)
        assert sessions.start_records(session_id, [1, 2, 3]) is True
        assert statuses(sessions, session_id)[:4] == [RecordStatus.RUNNING] * 3 + [
            RecordStatus.PENDING
        ]
        clock.advance(1)
        details = {"success": True, "message": "实例 a 账户同步成功", "nested": {"list": [1, "x"]}}
        sessions.finish_records(
            session_id,
            [
                outcome(
                    1,
                    items_synced=5,
                    items_created=1,
                    items_updated=2,
                    items_deleted=3,
                    details=details,
                ),
                outcome(2, ok=False, error_message="boom", details={"success": False}),
            ],
        )
        first, second, third, fourth = sessions.list_records(session_id)
        assert first.status is RecordStatus.COMPLETED
        assert (
            first.items_synced,
            first.items_created,
            first.items_updated,
            first.items_deleted,
        ) == (5, 1, 2, 3)
        assert first.details == details
        assert first.started_at == clock() - dt.timedelta(seconds=1)
        assert first.completed_at == clock()
        assert second.status is RecordStatus.FAILED
        assert second.error_message == "boom"
        assert third.status is RecordStatus.RUNNING
        assert fourth.status is RecordStatus.PENDING
        info = sessions.get_session(session_id)
        assert info is not None
        assert (info.successful_instances, info.failed_instances) == (1, 1)
        assert info.heartbeat_at == clock()
        assert info.progress == 50.0
        assert_counters_add_up(info)

    def test_only_running_records_are_finished_and_counted(
        self, sessions: SyncSessionRepository
    ) -> None:
        session_id = running(sessions, ["a", "b"])
        sessions.start_records(session_id, [1])
        # 2 is still pending, 99 does not exist, 1 is reported twice: only the first counts.
        sessions.finish_records(
            session_id, [outcome(2), outcome(99), outcome(1), outcome(1, ok=False)]
        )
        assert statuses(sessions, session_id) == [RecordStatus.COMPLETED, RecordStatus.PENDING]
        sessions.finish_records(session_id, [outcome(1, ok=False)])
        info = sessions.get_session(session_id)
        assert info is not None
        assert (info.successful_instances, info.failed_instances) == (1, 0)

    def test_start_records_needs_a_running_session(self, sessions: SyncSessionRepository) -> None:
        info = create(sessions)
        sessions.add_records(info.session_id, [(1, "a")])
        assert sessions.start_records(info.session_id, [1]) is False
        assert statuses(sessions, info.session_id) == [RecordStatus.PENDING]
        assert sessions.start_records(str(uuid.uuid4()), [1]) is False

    def test_finish_session_closes_open_records_and_counters_equal_total(
        self, sessions: SyncSessionRepository, clock: ManualClock
    ) -> None:
        session_id = running(sessions, ["a", "b", "c", "d"])
        sessions.start_records(session_id, [1, 2, 3])
        sessions.finish_records(session_id, [outcome(1), outcome(2, ok=False)])
        clock.advance(2)
        assert sessions.finish_session(
            session_id, status=SessionStatus.FAILED, error_message="store broke"
        )
        records = sessions.list_records(session_id)
        assert [r.status for r in records] == [
            RecordStatus.COMPLETED,
            RecordStatus.FAILED,
            RecordStatus.FAILED,
            RecordStatus.FAILED,
        ]
        assert [r.error_message for r in records[2:]] == ["store broke", "store broke"]
        assert records[3].completed_at == clock()
        info = sessions.get_session(session_id)
        assert info is not None
        assert info.status is SessionStatus.FAILED
        assert info.error_message == "store broke"
        assert info.completed_at == clock()
        assert (info.successful_instances, info.failed_instances) == (1, 3)
        assert info.progress == 100.0
        assert_counters_add_up(info)

    def test_finish_session_needs_a_terminal_status(self, sessions: SyncSessionRepository) -> None:
        info = create(sessions)
        with pytest.raises(ValueError, match="terminal"):
            sessions.finish_session(info.session_id, status=SessionStatus.RUNNING)

    def test_hostile_names_and_messages_are_data(self, sessions: SyncSessionRepository) -> None:
        session_id = running(sessions, HOSTILE_NAMES)
        ids = list(range(1, len(HOSTILE_NAMES) + 1))
        sessions.start_records(session_id, ids)
        sessions.finish_records(
            session_id,
            [
                outcome(i, ok=False, error_message=name, details={name: name})
                for i, name in zip(ids, HOSTILE_NAMES, strict=True)
            ],
        )
        records = sessions.list_records(session_id)
        assert [r.instance_name for r in records] == HOSTILE_NAMES
        assert [r.error_message for r in records] == HOSTILE_NAMES
        assert [r.details for r in records] == [{name: name} for name in HOSTILE_NAMES]
        sessions.finish_session(
            session_id, status=SessionStatus.FAILED, error_message=HOSTILE_NAMES[1]
        )
        info = sessions.get_session(session_id)
        assert info is not None
        assert info.error_message == HOSTILE_NAMES[1]


class TestCancel:
    def test_a_pending_session_is_cancelled_at_once(self, sessions: SyncSessionRepository) -> None:
        info = create(sessions)
        sessions.add_records(info.session_id, [(1, "a"), (2, "b")])
        assert sessions.request_cancel(info.session_id) is True
        cancelled = sessions.get_session(info.session_id)
        assert cancelled is not None
        assert cancelled.status is SessionStatus.CANCELLED
        assert cancelled.cancel_requested is True
        assert cancelled.error_message is None
        assert statuses(sessions, info.session_id) == [RecordStatus.CANCELLED] * 2
        assert cancelled.cancelled_instances == 2
        assert_counters_add_up(cancelled)
        assert sessions.get_active_session(SyncCategory.ACCOUNT) is None

    def test_a_running_session_stops_at_its_next_start(
        self, sessions: SyncSessionRepository
    ) -> None:
        session_id = running(sessions, ["a", "b", "c"])
        sessions.start_records(session_id, [1, 2])
        assert sessions.request_cancel(session_id) is True
        flagged = sessions.get_session(session_id)
        assert flagged is not None
        assert flagged.status is SessionStatus.RUNNING
        assert flagged.cancel_requested is True
        assert sessions.request_cancel(session_id) is True  # still running: still cancellable
        assert sessions.start_records(session_id, [3]) is False
        sessions.finish_records(session_id, [outcome(1)])
        assert sessions.finish_session(session_id, status=SessionStatus.CANCELLED)
        records = sessions.list_records(session_id)
        assert [r.status for r in records] == [
            RecordStatus.COMPLETED,
            RecordStatus.FAILED,
            RecordStatus.CANCELLED,
        ]
        assert records[2].error_message is None
        info = sessions.get_session(session_id)
        assert info is not None
        assert (info.successful_instances, info.failed_instances, info.cancelled_instances) == (
            1,
            1,
            1,
        )
        assert_counters_add_up(info)

    def test_finished_or_unknown_sessions_cannot_be_cancelled(
        self, sessions: SyncSessionRepository
    ) -> None:
        assert sessions.request_cancel(str(uuid.uuid4())) is False
        info = create(sessions)
        sessions.claim_session(info.session_id)
        sessions.finish_session(info.session_id, status=SessionStatus.COMPLETED)
        assert sessions.request_cancel(info.session_id) is False
        done = sessions.get_session(info.session_id)
        assert done is not None
        assert done.cancel_requested is False


class TestTerminalStatesNeverChange:
    @pytest.mark.parametrize(
        "status",
        [SessionStatus.COMPLETED, SessionStatus.COMPLETED_WITH_ERRORS, SessionStatus.CANCELLED],
    )
    def test_nothing_moves_a_terminal_session(
        self, sessions: SyncSessionRepository, clock: ManualClock, status: SessionStatus
    ) -> None:
        session_id = running(sessions, ["a", "b"])
        sessions.start_records(session_id, [1])
        sessions.finish_records(session_id, [outcome(1)])
        sessions.finish_session(session_id, status=status, error_message="first")
        before = (sessions.get_session(session_id), sessions.list_records(session_id))
        clock.advance(dt.timedelta(hours=1))
        assert sessions.finish_session(session_id, status=SessionStatus.FAILED) is False
        assert sessions.claim_session(session_id) is False
        assert sessions.request_cancel(session_id) is False
        assert sessions.start_records(session_id, [2]) is False
        sessions.finish_records(session_id, [outcome(2)])
        sessions.heartbeat(session_id)
        sessions.add_records(session_id, [(3, "c")])
        assert sessions.reap_stale(stale_after=STALE_AFTER) == []
        assert (sessions.get_session(session_id), sessions.list_records(session_id)) == before


class TestHeartbeatAndReaper:
    def test_heartbeat_stamps_running_sessions_only(
        self, sessions: SyncSessionRepository, clock: ManualClock
    ) -> None:
        session_id = running(sessions, ["a"])
        pending = create(sessions, exclusive=False)
        clock.advance(30)
        sessions.heartbeat(session_id)
        sessions.heartbeat(pending.session_id)
        beating = sessions.get_session(session_id)
        assert beating is not None
        assert beating.heartbeat_at == clock()
        idle = sessions.get_session(pending.session_id)
        assert idle is not None
        assert idle.heartbeat_at is None

    def test_reap_fails_stale_sessions_and_their_open_records(
        self, sessions: SyncSessionRepository, clock: ManualClock
    ) -> None:
        never_claimed = create(sessions, SyncCategory.CAPACITY)
        session_id = running(sessions, ["a", "b", "c"])
        sessions.start_records(session_id, [1, 2])
        sessions.finish_records(session_id, [outcome(1)])
        clock.advance(STALE_AFTER - dt.timedelta(seconds=1))
        assert sessions.reap_stale(stale_after=STALE_AFTER) == []
        clock.advance(2)
        assert sessions.reap_stale(stale_after=STALE_AFTER) == [
            never_claimed.session_id,
            session_id,
        ]
        reaped = sessions.get_session(session_id)
        assert reaped is not None
        assert reaped.status is SessionStatus.FAILED
        assert reaped.error_message == INTERRUPTED
        assert reaped.completed_at == clock()
        records = sessions.list_records(session_id)
        assert [r.status for r in records] == [RecordStatus.COMPLETED] + [RecordStatus.FAILED] * 2
        assert [r.error_message for r in records[1:]] == [INTERRUPTED] * 2
        assert_counters_add_up(reaped)
        assert sessions.get_active_session(SyncCategory.ACCOUNT) is None
        create(sessions)  # a stale session never blocks a new one
        assert sessions.reap_stale(stale_after=STALE_AFTER) == []

    def test_a_heartbeat_keeps_a_session_alive(
        self, sessions: SyncSessionRepository, clock: ManualClock
    ) -> None:
        session_id = running(sessions, ["a"])
        clock.advance(dt.timedelta(minutes=9))
        sessions.heartbeat(session_id)
        clock.advance(dt.timedelta(minutes=9))
        assert sessions.reap_stale(stale_after=STALE_AFTER) == []
        clock.advance(dt.timedelta(minutes=2))
        assert sessions.reap_stale(stale_after=STALE_AFTER, message="gone") == [session_id]
        reaped = sessions.get_session(session_id)
        assert reaped is not None
        assert reaped.error_message == "gone"
