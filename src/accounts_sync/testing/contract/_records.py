"""The record half of the ``SyncSessionRepository`` contract: records, cancel, terminal
states, the reaper and a whole run. Mixed into ``SessionRepositoryContract``."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from accounts_sync import (
    FullSyncTask,
    RecordStatus,
    SessionStatus,
    SyncCategory,
    SyncSessionRepository,
)
from accounts_sync.memory import InMemoryInstanceRepository
from accounts_sync.testing import ManualClock, ScriptedSyncService, make_instances

from ._support import (
    ACTIVE,
    HOSTILE_NAMES,
    INTERRUPTED,
    TERMINAL,
    assert_counters_add_up,
    create,
    outcome,
    race,
    running,
    statuses,
)

__all__ = ["RecordContract"]

STALE_AFTER = dt.timedelta(minutes=10)
THREADS = 8


class RecordContract:
    """Records, cancel, terminal states and the reaper; needs the ``sessions``, ``clock`` and
    ``thread_safe`` fixtures of ``SessionRepositoryContract``."""

    # --- records ---------------------------------------------------------------------------

    def test_add_records_creates_pending_records_in_order(
        self, sessions: SyncSessionRepository
    ) -> None:
        session_id = running(sessions, ["b", "a", "c"])
        records = sessions.list_records(session_id)
        assert [(r.instance_id, r.instance_name) for r in records] == [(1, "b"), (2, "a"), (3, "c")]
        assert {r.status for r in records} == {RecordStatus.PENDING}
        assert all(r.session_id == session_id and r.items_synced == 0 for r in records)
        assert all(r.started_at is None and r.completed_at is None for r in records)
        assert len({r.record_id for r in records}) == 3
        info = sessions.get_session(session_id)
        assert info is not None
        assert (info.total_instances, info.progress) == (3, 0.0)

    def test_a_repeated_id_in_one_call_gives_one_record_named_last(
        self, sessions: SyncSessionRepository
    ) -> None:
        session_id = create(sessions).session_id
        sessions.add_records(session_id, [(3, "c"), (1, "a"), (2, "b"), (1, "a2")])
        records = sessions.list_records(session_id)
        assert [(r.instance_id, r.instance_name) for r in records] == [
            (3, "c"),
            (1, "a2"),
            (2, "b"),
        ]
        info = sessions.get_session(session_id)
        assert info is not None
        assert info.total_instances == 3

    def test_a_second_add_records_is_idempotent_and_additive(
        self, sessions: SyncSessionRepository
    ) -> None:
        session_id = running(sessions, ["a", "b", "c"])
        sessions.start_records(session_id, [1, 2])
        sessions.finish_records(session_id, [outcome(1, items_synced=4)])
        before = {r.instance_id: r for r in sessions.list_records(session_id)}
        again = [(1, "renamed"), (2, "renamed"), (4, "d"), (5, "e"), (4, "d2")]
        sessions.add_records(session_id, again)
        sessions.add_records(session_id, again)  # the same call twice adds nothing more
        records = sessions.list_records(session_id)
        assert [(r.instance_id, r.instance_name, r.status) for r in records] == [
            (1, "a", RecordStatus.COMPLETED),
            (2, "b", RecordStatus.RUNNING),
            (3, "c", RecordStatus.PENDING),
            (4, "d2", RecordStatus.PENDING),
            (5, "e", RecordStatus.PENDING),
        ]
        assert records[:3] == [before[1], before[2], before[3]]  # exactly as they were
        info = sessions.get_session(session_id)
        assert info is not None
        assert (info.total_instances, info.successful_instances, info.failed_instances) == (5, 1, 0)
        assert_counters_add_up(info)

    @pytest.mark.parametrize("status", TERMINAL)
    def test_add_records_changes_nothing_on_a_terminal_session(
        self, sessions: SyncSessionRepository, status: SessionStatus
    ) -> None:
        session_id = running(sessions, ["a"])
        sessions.finish_session(session_id, status=status)
        before = (sessions.get_session(session_id), sessions.list_records(session_id))
        sessions.add_records(session_id, [(1, "renamed"), (2, "b")])
        assert (sessions.get_session(session_id), sessions.list_records(session_id)) == before

    def test_add_records_to_a_session_cancelled_while_pending_changes_nothing(
        self, sessions: SyncSessionRepository
    ) -> None:
        session_id = create(sessions).session_id
        sessions.request_cancel(session_id)
        sessions.add_records(session_id, [(1, "a"), (2, "b")])
        info = sessions.get_session(session_id)
        assert info is not None
        assert info.total_instances == 0
        assert sessions.list_records(session_id) == []

    def test_add_records_to_an_unknown_session_raises_key_error(
        self, sessions: SyncSessionRepository
    ) -> None:
        with pytest.raises(KeyError):
            sessions.add_records(str(uuid.uuid4()), [(1, "x")])
        assert sessions.list_sessions() == []

    def test_start_then_finish_writes_outcomes_and_counters(
        self, sessions: SyncSessionRepository, clock: ManualClock
    ) -> None:
        session_id = running(sessions, ["a", "b", "c", "d"])
        clock.advance(1)
        assert sessions.start_records(session_id, [1, 2, 3]) is True
        assert statuses(sessions, session_id) == [RecordStatus.RUNNING] * 3 + [RecordStatus.PENDING]
        clock.advance(1)
        details = {"success": True, "message": "实例 a 账户同步成功", "nested": {"list": [1, "二"]}}
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
        counts = (first.items_synced, first.items_created, first.items_updated, first.items_deleted)
        assert counts == (5, 1, 2, 3)
        assert first.details == details
        assert first.started_at == clock() - dt.timedelta(seconds=1)
        assert first.completed_at == clock()
        assert (second.status, second.error_message) == (RecordStatus.FAILED, "boom")
        assert third.status is RecordStatus.RUNNING
        assert (fourth.status, fourth.started_at) == (RecordStatus.PENDING, None)
        info = sessions.get_session(session_id)
        assert info is not None
        assert (info.successful_instances, info.failed_instances) == (1, 1)
        assert info.heartbeat_at == clock()
        assert info.progress == 50.0
        assert_counters_add_up(info)

    def test_each_outcome_of_a_batch_lands_on_its_own_record(
        self, sessions: SyncSessionRepository
    ) -> None:
        session_id = running(sessions, [f"db-{i}" for i in range(1, 7)])
        sessions.start_records(session_id, [1, 2, 3, 4, 5, 6])
        written = [
            outcome(
                i,
                ok=i % 2 == 0,
                items_synced=i,
                items_created=10 * i,
                items_updated=i + 1,
                items_deleted=i + 2,
                error_message=None if i % 2 == 0 else f"err {i}",
                details=None if i == 3 else {"n": i, "text": 'é\n"q"', "list": [i, None]},
            )
            for i in range(1, 7)
        ]
        sessions.finish_records(session_id, written)
        assert [
            (
                r.status,
                r.items_synced,
                r.items_created,
                r.items_updated,
                r.items_deleted,
                r.error_message,
                r.details,
            )
            for r in sessions.list_records(session_id)
        ] == [
            (
                o.status,
                o.items_synced,
                o.items_created,
                o.items_updated,
                o.items_deleted,
                o.error_message,
                o.details,
            )
            for o in written
        ]

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

    def test_start_records_refuses_after_a_cancel_request(
        self, sessions: SyncSessionRepository
    ) -> None:
        session_id = running(sessions, ["a", "b"])
        assert sessions.request_cancel(session_id) is True
        info = sessions.get_session(session_id)
        assert info is not None
        assert (info.status, info.cancel_requested) == (SessionStatus.RUNNING, True)
        assert sessions.start_records(session_id, [1, 2]) is False
        assert statuses(sessions, session_id) == [RecordStatus.PENDING] * 2

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
        assert [r.status for r in records] == [RecordStatus.COMPLETED] + [RecordStatus.FAILED] * 3
        assert [r.error_message for r in records[2:]] == ["store broke", "store broke"]
        assert records[3].completed_at == clock()
        info = sessions.get_session(session_id)
        assert info is not None
        assert (info.status, info.error_message) == (SessionStatus.FAILED, "store broke")
        assert info.completed_at == clock()
        assert (info.successful_instances, info.failed_instances) == (1, 3)
        assert info.progress == 100.0
        assert_counters_add_up(info)

    @pytest.mark.parametrize("state", ["pending", "running", "terminal", "unknown"])
    @pytest.mark.parametrize("status", ACTIVE)
    def test_finish_session_refuses_a_non_terminal_status(
        self, sessions: SyncSessionRepository, state: str, status: SessionStatus
    ) -> None:
        session_id = str(uuid.uuid4())
        if state != "unknown":
            session_id = (
                running(sessions, ["a"]) if state != "pending" else create(sessions).session_id
            )
        if state == "terminal":
            sessions.finish_session(session_id, status=SessionStatus.COMPLETED)
        before = (sessions.get_session(session_id), sessions.list_records(session_id))
        with pytest.raises(ValueError):
            sessions.finish_session(session_id, status=status, error_message="no")
        assert (sessions.get_session(session_id), sessions.list_records(session_id)) == before

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
        assert [r.instance_name for r in records] == list(HOSTILE_NAMES)
        assert [r.error_message for r in records] == list(HOSTILE_NAMES)
        assert [r.details for r in records] == [{name: name} for name in HOSTILE_NAMES]
        sessions.finish_session(
            session_id, status=SessionStatus.FAILED, error_message=HOSTILE_NAMES[1]
        )
        info = sessions.get_session(session_id)
        assert info is not None
        assert info.error_message == HOSTILE_NAMES[1]

    def test_many_records_cross_batches(self, sessions: SyncSessionRepository) -> None:
        ids = list(range(1, 1202))
        session_id = running(sessions, [f"db-{i}" for i in ids])
        assert sessions.start_records(session_id, ids)
        sessions.finish_records(session_id, [outcome(i) for i in ids[:700]])
        sessions.request_cancel(session_id)
        sessions.finish_session(session_id, status=SessionStatus.CANCELLED)
        info = sessions.get_session(session_id)
        assert info is not None
        counts = (info.total_instances, info.successful_instances, info.failed_instances)
        assert counts == (1201, 700, 501)
        assert len(sessions.list_records(session_id)) == 1201

    def test_concurrent_finish_records_lose_no_count(
        self, sessions: SyncSessionRepository, thread_safe: bool
    ) -> None:
        if not thread_safe:
            pytest.skip("this store is declared not thread-safe")
        ids = list(range(1, THREADS * 4 + 1))
        session_id = running(sessions, [f"db-{i}" for i in ids])
        assert sessions.start_records(session_id, ids)
        race(
            THREADS,
            lambda n: sessions.finish_records(session_id, [outcome(i) for i in ids[n::THREADS]]),
        )
        info = sessions.get_session(session_id)
        assert info is not None
        assert info.successful_instances == len(ids)
        assert set(statuses(sessions, session_id)) == {RecordStatus.COMPLETED}

    # --- cancel ----------------------------------------------------------------------------

    def test_a_pending_session_is_cancelled_at_once(
        self, sessions: SyncSessionRepository, clock: ManualClock
    ) -> None:
        info = create(sessions)
        sessions.add_records(info.session_id, [(1, "a"), (2, "b")])
        clock.advance(1)
        assert sessions.request_cancel(info.session_id) is True
        cancelled = sessions.get_session(info.session_id)
        assert cancelled is not None
        assert cancelled.status is SessionStatus.CANCELLED
        assert cancelled.cancel_requested is True
        assert cancelled.error_message is None
        assert cancelled.completed_at == clock()
        assert statuses(sessions, info.session_id) == [RecordStatus.CANCELLED] * 2
        assert cancelled.cancelled_instances == 2
        assert_counters_add_up(cancelled)
        assert sessions.get_active_session(SyncCategory.ACCOUNT) is None
        assert sessions.request_cancel(info.session_id) is False

    def test_a_running_session_stops_at_its_next_start(
        self, sessions: SyncSessionRepository
    ) -> None:
        session_id = running(sessions, ["a", "b", "c", "d"])
        sessions.start_records(session_id, [1, 2])
        assert sessions.request_cancel(session_id) is True
        flagged = sessions.get_session(session_id)
        assert flagged is not None
        assert (flagged.status, flagged.cancel_requested) == (SessionStatus.RUNNING, True)
        assert sessions.request_cancel(session_id) is True  # still running: still cancellable
        assert sessions.start_records(session_id, [3]) is False
        sessions.finish_records(session_id, [outcome(1)])
        assert sessions.finish_session(
            session_id, status=SessionStatus.CANCELLED, error_message="stopped"
        )
        records = sessions.list_records(session_id)
        assert [r.status for r in records] == [
            RecordStatus.COMPLETED,
            RecordStatus.FAILED,
            RecordStatus.CANCELLED,
            RecordStatus.CANCELLED,
        ]
        assert [r.error_message for r in records[1:]] == ["stopped", None, None]
        assert all(r.completed_at is not None for r in records)
        info = sessions.get_session(session_id)
        assert info is not None
        counts = (info.successful_instances, info.failed_instances, info.cancelled_instances)
        assert counts == (1, 1, 2)
        assert (info.error_message, info.progress) == ("stopped", 100.0)
        assert_counters_add_up(info)

    def test_a_finished_session_cannot_be_cancelled(self, sessions: SyncSessionRepository) -> None:
        info = create(sessions)
        sessions.claim_session(info.session_id)
        sessions.finish_session(info.session_id, status=SessionStatus.COMPLETED)
        assert sessions.request_cancel(info.session_id) is False
        done = sessions.get_session(info.session_id)
        assert done is not None
        assert done.cancel_requested is False

    # --- terminal states -------------------------------------------------------------------

    @pytest.mark.parametrize("status", TERMINAL)
    def test_nothing_moves_a_terminal_session(
        self, sessions: SyncSessionRepository, clock: ManualClock, status: SessionStatus
    ) -> None:
        session_id = running(sessions, ["a", "b", "c"])
        sessions.start_records(session_id, [1, 2])
        sessions.finish_records(session_id, [outcome(1)])
        sessions.finish_session(session_id, status=status, error_message="first")
        before = (sessions.get_session(session_id), sessions.list_records(session_id))
        clock.advance(dt.timedelta(hours=1))
        assert sessions.finish_session(session_id, status=SessionStatus.FAILED) is False
        assert sessions.claim_session(session_id) is False
        assert sessions.request_cancel(session_id) is False
        assert sessions.start_records(session_id, [3]) is False
        sessions.finish_records(session_id, [outcome(2), outcome(3)])
        sessions.heartbeat(session_id)
        sessions.add_records(session_id, [(4, "d")])
        assert sessions.reap_stale(stale_after=dt.timedelta(seconds=1)) == []
        assert (sessions.get_session(session_id), sessions.list_records(session_id)) == before
        assert_counters_add_up(before[0])

    # --- heartbeat and reaper --------------------------------------------------------------

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
        clock.advance(STALE_AFTER)  # exactly ``stale_after`` old is not stale yet
        assert sessions.reap_stale(stale_after=STALE_AFTER) == []
        clock.advance(1)
        reaped_ids = sessions.reap_stale(stale_after=STALE_AFTER)
        assert sorted(reaped_ids) == sorted([never_claimed.session_id, session_id])
        reaped = sessions.get_session(session_id)
        assert reaped is not None
        assert (reaped.status, reaped.error_message) == (SessionStatus.FAILED, INTERRUPTED)
        assert reaped.completed_at == clock()
        records = sessions.list_records(session_id)
        assert [r.status for r in records] == [RecordStatus.COMPLETED] + [RecordStatus.FAILED] * 2
        assert [r.error_message for r in records[1:]] == [INTERRUPTED] * 2
        assert_counters_add_up(reaped)
        assert_counters_add_up(sessions.get_session(never_claimed.session_id))
        assert sessions.get_active_session(SyncCategory.ACCOUNT) is None
        create(sessions)  # a reaped session never blocks a new one
        assert sessions.reap_stale(stale_after=STALE_AFTER) == []

    def test_a_heartbeating_session_without_progress_is_reaped_on_request(
        self, sessions: SyncSessionRepository, clock: ManualClock
    ) -> None:
        """A heartbeat goes on while one call hangs: ``stalled_after`` reaps a running session
        whose records did not move for that long, and leaves a slow one that moves."""
        stuck = running(sessions, ["a"], exclusive=False)
        slow = running(sessions, [f"s{i}" for i in range(6)], exclusive=False)
        sessions.start_records(stuck, [1])
        sessions.start_records(slow, list(range(1, 7)))
        for instance_id in range(1, 4):  # 30 minutes: a heartbeat and a finished record each 10
            clock.advance(dt.timedelta(minutes=10))
            sessions.heartbeat(stuck)
            sessions.finish_records(slow, [outcome(instance_id)])

        assert sessions.reap_stale(stale_after=STALE_AFTER) == []
        stalled_after = dt.timedelta(minutes=20)
        assert sessions.reap_stale(stale_after=STALE_AFTER, stalled_after=stalled_after) == [stuck]
        stuck_info, slow_info = sessions.get_session(stuck), sessions.get_session(slow)
        assert stuck_info is not None and slow_info is not None
        assert stuck_info.status is SessionStatus.FAILED
        assert_counters_add_up(stuck_info)
        assert slow_info.status is SessionStatus.RUNNING

    def test_a_heartbeat_keeps_a_session_alive(
        self, sessions: SyncSessionRepository, clock: ManualClock
    ) -> None:
        beating = running(sessions, ["a"])
        silent = running(sessions, ["a"], SyncCategory.CONFIG)
        clock.advance(dt.timedelta(minutes=9))
        sessions.heartbeat(beating)
        clock.advance(dt.timedelta(minutes=2))
        assert sessions.reap_stale(stale_after=STALE_AFTER, message="gone") == [silent]
        assert sessions.get_active_session(SyncCategory.CONFIG) is None  # the lock is released
        alive = sessions.get_session(beating)
        assert alive is not None
        assert alive.status is SessionStatus.RUNNING
        clock.advance(dt.timedelta(minutes=9))
        assert sessions.reap_stale(stale_after=STALE_AFTER, message="gone") == [beating]
        gone = sessions.get_session(beating)
        assert gone is not None
        assert gone.error_message == "gone"

    # --- the whole flow --------------------------------------------------------------------

    def test_a_full_sync_task_runs_on_the_store(self, sessions: SyncSessionRepository) -> None:
        instances = InMemoryInstanceRepository(make_instances(6))
        service = ScriptedSyncService().script(2, result={"success": False, "message": "nope"})
        service.script(5, raises=RuntimeError("cannot reach mysql://root:hunter2@db-5"))
        task = FullSyncTask(
            instances=instances, sessions=sessions, sync_service=service, max_workers=3
        )
        session_id = create(sessions).session_id
        summary = task(session_id=session_id, created_by=7)
        assert summary.claimed
        assert summary.status is SessionStatus.COMPLETED_WITH_ERRORS
        counts = (summary.total_instances, summary.successful_instances, summary.failed_instances)
        assert counts == (6, 4, 2)
        records = {r.instance_id: r for r in sessions.list_records(session_id)}
        assert records[2].error_message == "nope"
        assert records[5].error_message is not None
        assert "hunter2" not in records[5].error_message
        assert records[1].details is not None
        assert records[1].details["status"] == "completed"
        assert task(session_id=session_id).claimed is False  # a duplicate delivery does nothing
