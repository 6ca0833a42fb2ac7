"""The ``SyncSessionRepository`` contract as a test class to subclass."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from accounts_sync import (
    ConflictError,
    SessionStatus,
    SyncCategory,
    SyncSessionRepository,
    SyncType,
)
from accounts_sync.testing import ManualClock

from ._claims import ClaimContract
from ._group_commit import GroupCommitContract
from ._machine import make_session_machine
from ._pages import PageContract
from ._records import RecordContract
from ._support import (
    HOSTILE_SESSION_IDS,
    TERMINAL,
    SessionFactory,
    create,
    outcome,
    race,
    running,
)

__all__ = ["SessionRepositoryContract"]

STALE_AFTER = dt.timedelta(minutes=10)
THREADS = 8


class SessionRepositoryContract(RecordContract, PageContract, ClaimContract, GroupCommitContract):
    """The ``SyncSessionRepository`` contract; subclass it as ``Test…`` and provide
    ``session_factory``.

    ``session_factory`` returns a :data:`SessionFactory`: called with a clock, it returns a
    repository on an *empty* store that stamps every timestamp from that clock. Override
    ``thread_safe`` to return False for a store that must not be shared by threads (the thread
    races are then skipped), and ``machine_settings`` to run the state machine longer or shorter.
    """

    machine_settings: ClassVar[settings] = settings(
        max_examples=15,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    """How long ``test_state_machine`` explores; modest, so server stores stay quick."""

    @pytest.fixture
    def session_factory(self) -> SessionFactory:
        """Override: return the factory of the store under test."""
        raise NotImplementedError(f"{type(self).__name__} must provide a session_factory fixture")

    @pytest.fixture
    def thread_safe(self) -> bool:
        """Override to return False when one repository must not be used by several threads."""
        return True

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock()

    @pytest.fixture
    def sessions(
        self, session_factory: SessionFactory, clock: ManualClock
    ) -> SyncSessionRepository:
        return session_factory(clock)

    # --- create and read -------------------------------------------------------------------

    def test_create_returns_a_pending_uuid4_session_stamped_by_the_clock(
        self, sessions: SyncSessionRepository, clock: ManualClock
    ) -> None:
        assert isinstance(sessions, SyncSessionRepository)
        info = create(sessions, created_by=42)
        assert uuid.UUID(info.session_id).version == 4
        assert len(info.session_id) == 36
        assert info.status is SessionStatus.PENDING
        assert (info.sync_type, info.sync_category) == (SyncType.MANUAL_TASK, SyncCategory.ACCOUNT)
        assert info.created_by == 42
        assert info.created_at == clock()
        assert (info.started_at, info.completed_at, info.heartbeat_at) == (None, None, None)
        assert (info.total_instances, info.successful_instances, info.progress) == (0, 0, 0.0)
        assert info.cancel_requested is False
        assert sessions.get_session(info.session_id) == info
        assert sessions.list_records(info.session_id) == []

    def test_unknown_sessions_are_answered_without_changes(
        self, sessions: SyncSessionRepository
    ) -> None:
        unknown = str(uuid.uuid4())
        assert sessions.get_session(unknown) is None
        assert sessions.list_records(unknown) == []
        assert sessions.claim_session(unknown) is False
        assert sessions.request_cancel(unknown) is False
        assert sessions.start_records(unknown, [1]) is False
        assert sessions.finish_session(unknown, status=SessionStatus.FAILED) is False
        sessions.finish_records(unknown, [outcome(1)])
        sessions.heartbeat(unknown)
        assert sessions.list_sessions() == []

    @pytest.mark.parametrize("session_id", HOSTILE_SESSION_IDS, ids=["nul", "nul-in-uuid", "10k"])
    def test_hostile_session_ids_are_answers_not_crashes(
        self, sessions: SyncSessionRepository, session_id: str
    ) -> None:
        create(sessions)
        assert sessions.get_session(session_id) is None
        assert sessions.list_records(session_id) == []
        assert sessions.request_cancel(session_id) is False
        assert sessions.claim_session(session_id) is False

    def test_list_sessions_most_recent_first(self, sessions: SyncSessionRepository) -> None:
        first = create(sessions, exclusive=False)
        second = create(sessions, SyncCategory.CAPACITY, exclusive=False)
        third = create(sessions, exclusive=False)  # same instant: creation order still counts
        ids = [first.session_id, second.session_id, third.session_id]
        assert [s.session_id for s in sessions.list_sessions()] == ids[::-1]
        assert [s.session_id for s in sessions.list_sessions(limit=2)] == ids[:0:-1]
        by_category = sessions.list_sessions(sync_category=SyncCategory.ACCOUNT)
        assert [s.session_id for s in by_category] == [ids[2], ids[0]]
        assert [s.session_id for s in sessions.list_sessions(sync_category="capacity")] == [ids[1]]

    def test_string_enums_are_accepted(self, sessions: SyncSessionRepository) -> None:
        info = sessions.create_session(
            sync_type="scheduled_task", sync_category="config", created_by=None
        )
        assert info.sync_type is SyncType.SCHEDULED_TASK
        stored = sessions.get_session(info.session_id)
        assert stored is not None
        assert stored.sync_category is SyncCategory.CONFIG
        assert stored.created_by is None

    def test_timestamps_are_aware_utc_from_the_clock(
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

    # --- single flight ---------------------------------------------------------------------

    def test_a_second_exclusive_session_conflicts_naming_the_holder(
        self, sessions: SyncSessionRepository
    ) -> None:
        holder = create(sessions)
        with pytest.raises(ConflictError) as caught:
            create(sessions, created_by=8)
        # Only the holder is pinned: stores raise without wording, the service words it.
        assert caught.value.extra == {"session_id": holder.session_id}
        assert caught.value.session_id == holder.session_id
        active = sessions.get_active_session(SyncCategory.ACCOUNT)
        assert active is not None
        assert active.session_id == holder.session_id
        assert len(sessions.list_sessions()) == 1

    def test_a_running_session_still_holds_the_lock(self, sessions: SyncSessionRepository) -> None:
        holder = create(sessions)
        assert sessions.claim_session(holder.session_id)
        with pytest.raises(ConflictError) as caught:
            create(sessions)
        assert caught.value.session_id == holder.session_id

    def test_the_guard_is_per_category(self, sessions: SyncSessionRepository) -> None:
        create(sessions, SyncCategory.ACCOUNT)
        other = create(sessions, SyncCategory.CAPACITY)
        active = sessions.get_active_session("capacity")
        assert active is not None
        assert active.session_id == other.session_id
        assert sessions.get_active_session("config") is None

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

    def test_an_exclusive_session_conflicts_with_an_active_non_exclusive_one(
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

    @pytest.mark.parametrize("status", TERMINAL)
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

    def test_single_flight_holds_across_threads(
        self, sessions: SyncSessionRepository, thread_safe: bool
    ) -> None:
        if not thread_safe:
            pytest.skip("this store is declared not thread-safe")

        def attempt(index: int) -> str | ConflictError:
            try:
                return create(sessions, created_by=index).session_id
            except ConflictError as error:
                return error

        results = race(THREADS, attempt)
        winners = [result for result in results if isinstance(result, str)]
        assert len(winners) == 1
        assert {r.session_id for r in results if isinstance(r, ConflictError)} == set(winners)
        assert [s.session_id for s in sessions.list_sessions()] == winners

    # --- claim -----------------------------------------------------------------------------

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

    def test_a_cancelled_session_cannot_be_claimed(self, sessions: SyncSessionRepository) -> None:
        info = create(sessions)
        assert sessions.request_cancel(info.session_id)
        assert sessions.claim_session(info.session_id) is False

    def test_one_claim_wins_across_threads(
        self, sessions: SyncSessionRepository, thread_safe: bool
    ) -> None:
        if not thread_safe:
            pytest.skip("this store is declared not thread-safe")
        session_id = create(sessions).session_id
        wins = race(THREADS, lambda _: sessions.claim_session(session_id))
        assert sorted(wins) == [False] * (THREADS - 1) + [True]

    def test_state_machine(self, session_factory: SessionFactory) -> None:
        run_state_machine_as_test(
            make_session_machine(session_factory), settings=self.machine_settings
        )
