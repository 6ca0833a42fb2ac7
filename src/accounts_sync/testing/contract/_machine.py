"""A Hypothesis state machine for any ``SyncSessionRepository``.

The machine keeps its own model of every session and record, derived from the protocol's
docstrings, and checks the store against it after every step:

* sessions move ``pending → running → terminal`` (cancel, finish and the reaper may end a
  pending session); records move ``pending → running → {completed | failed}``,
  ``pending → cancelled`` and, when their session is ended for them, ``pending → failed``;
* ``add_records`` is idempotent and additive: known instance ids keep their record as it is;
* a terminal session (and its records) never changes again;
* at most one pending/running session per category holds the single-flight lock (sessions
  created with ``exclusive=False`` never hold it), and ``get_active_session`` names it;
* ``successful + failed + cancelled ≤ total``, with equality once terminal.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import attrs
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from accounts_sync import (
    ConflictError,
    RecordStatus,
    SessionStatus,
    SyncCategory,
    SyncRecordInfo,
    SyncSessionInfo,
    SyncSessionRepository,
    SyncType,
)
from accounts_sync.ports import Clock, RecordOutcome
from accounts_sync.testing import ManualClock

from ._support import ACTIVE, INTERRUPTED, TERMINAL, SessionFactory, assert_counters_add_up

__all__ = ["SessionMachine", "make_session_machine"]

CATEGORIES = (SyncCategory.ACCOUNT, SyncCategory.CAPACITY)
NAMES = ("db-a", "db-b", "数据库", "o'brien")
MAX_INSTANCE_ID = 8

SESSION_MOVES = {
    SessionStatus.PENDING: {SessionStatus.PENDING, SessionStatus.RUNNING, *TERMINAL},
    SessionStatus.RUNNING: {SessionStatus.RUNNING, *TERMINAL},
    **{status: {status} for status in TERMINAL},
}
RECORD_MOVES = {
    RecordStatus.PENDING: {
        RecordStatus.PENDING,
        RecordStatus.RUNNING,
        RecordStatus.CANCELLED,
        RecordStatus.FAILED,
    },
    RecordStatus.RUNNING: {RecordStatus.RUNNING, RecordStatus.COMPLETED, RecordStatus.FAILED},
    RecordStatus.COMPLETED: {RecordStatus.COMPLETED},
    RecordStatus.FAILED: {RecordStatus.FAILED},
    RecordStatus.CANCELLED: {RecordStatus.CANCELLED},
}


@attrs.define
class _Record:
    name: str
    status: RecordStatus = RecordStatus.PENDING
    error_message: str | None = None
    items_synced: int = 0


@attrs.define
class _Session:
    session_id: str
    sync_type: SyncType
    category: SyncCategory
    exclusive: bool
    created_by: int | None
    created_at: dt.datetime
    status: SessionStatus = SessionStatus.PENDING
    started_at: dt.datetime | None = None
    heartbeat_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    error_message: str | None = None
    cancel_requested: bool = False
    records: dict[int, _Record] = attrs.Factory(dict)  # in creation order
    successful: int = 0
    failed: int = 0
    cancelled: int = 0


class SessionMachine(RuleBasedStateMachine):
    """The state machine; subclass it and implement ``make_repository``, then run its
    ``TestCase`` (or pass the class to ``hypothesis.stateful.run_state_machine_as_test``).

    Each run gets a fresh repository from ``make_repository(clock)``, which must be empty and
    stamp every timestamp from ``clock``; ``dispose_repository`` releases it after the run.
    """

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.repo = self.make_repository(self.clock)
        self.model: dict[str, _Session] = {}
        self.order: list[str] = []  # creation order: deterministic draws
        self.frozen: dict[str, tuple[SyncSessionInfo, list[SyncRecordInfo]]] = {}
        self.seen_sessions: dict[str, SessionStatus] = {}
        self.seen_records: dict[tuple[str, int], RecordStatus] = {}

    def make_repository(self, clock: Clock) -> SyncSessionRepository:
        """Return a repository on an empty store that stamps its timestamps from ``clock``."""
        raise NotImplementedError(f"{type(self).__name__} must implement make_repository")

    def dispose_repository(self, repo: SyncSessionRepository) -> None:
        """Release what ``make_repository`` acquired; nothing by default."""

    def teardown(self) -> None:
        self.dispose_repository(self.repo)

    # --- helpers -------------------------------------------------------------------------

    def _holder(self, category: SyncCategory) -> str | None:
        holders = [
            sid
            for sid in self.order
            if self.model[sid].category is category
            and self.model[sid].exclusive
            and self.model[sid].status in ACTIVE
        ]
        assert len(holders) <= 1
        return holders[0] if holders else None

    def _pick(self, data: st.DataObject) -> _Session:
        # Half the time an active session: terminal ones quickly stop being interesting.
        active = [sid for sid in self.order if self.model[sid].status in ACTIVE]
        choices = st.sampled_from(self.order)
        if active:
            choices = st.sampled_from(active) | choices
        return self.model[data.draw(choices, label="session")]

    def _finish(self, m: _Session, status: SessionStatus, message: str | None) -> None:
        for record in m.records.values():
            if record.status is RecordStatus.PENDING and status is SessionStatus.CANCELLED:
                record.status = RecordStatus.CANCELLED
                m.cancelled += 1
            elif record.status in (RecordStatus.PENDING, RecordStatus.RUNNING):
                record.status = RecordStatus.FAILED
                record.error_message = message
                m.failed += 1
        m.status = status
        m.completed_at = self.clock()
        m.error_message = message

    # --- rules ---------------------------------------------------------------------------

    @rule(
        category=st.sampled_from(CATEGORIES),
        sync_type=st.sampled_from(list(SyncType)),
        exclusive=st.booleans(),
        created_by=st.none() | st.integers(1, 5),
    )
    def create(
        self, category: SyncCategory, sync_type: SyncType, exclusive: bool, created_by: int | None
    ) -> None:
        active = [
            sid
            for sid in self.order
            if self.model[sid].category is category and self.model[sid].status in ACTIVE
        ]
        if exclusive and active:
            with pytest.raises(ConflictError) as caught:
                self.repo.create_session(
                    sync_type=sync_type, sync_category=category, created_by=created_by
                )
            # The lock holder if there is one, else any active non-exclusive session.
            holder = self._holder(category)
            expected = [holder] if holder is not None else active
            assert caught.value.session_id in expected
            assert caught.value.extra.get("session_id") == caught.value.session_id
            return
        info = self.repo.create_session(
            sync_type=sync_type, sync_category=category, created_by=created_by, exclusive=exclusive
        )
        assert len(info.session_id) == 36
        assert uuid.UUID(info.session_id).version == 4
        assert info.session_id not in self.model
        self.model[info.session_id] = _Session(
            session_id=info.session_id,
            sync_type=sync_type,
            category=category,
            exclusive=exclusive,
            created_by=created_by,
            created_at=self.clock(),
        )
        self.order.append(info.session_id)

    @precondition(lambda self: bool(self.order))
    @rule(data=st.data())
    def claim(self, data: st.DataObject) -> None:
        m = self._pick(data)
        expected = m.status is SessionStatus.PENDING
        assert self.repo.claim_session(m.session_id) is expected
        if expected:
            m.status = SessionStatus.RUNNING
            m.started_at = m.heartbeat_at = self.clock()

    @precondition(lambda self: bool(self.order))
    @rule(
        data=st.data(),
        pairs=st.lists(
            st.tuples(st.integers(1, MAX_INSTANCE_ID), st.sampled_from(NAMES)), max_size=5
        ),
    )
    def add_records(self, data: st.DataObject, pairs: list[tuple[int, str]]) -> None:
        m = self._pick(data)
        self.repo.add_records(m.session_id, pairs)
        if m.status not in ACTIVE:
            return  # a terminal session never changes
        # One record per new id, named by its last pair; known ids keep their record.
        for instance_id, name in dict(pairs).items():
            m.records.setdefault(instance_id, _Record(name=name))

    @precondition(lambda self: bool(self.order))
    @rule(data=st.data())
    def start_records(self, data: st.DataObject) -> None:
        m = self._pick(data)
        ids = data.draw(st.lists(st.sampled_from(list(m.records) or [0]), unique=True))
        ids = [i for i in ids if i in m.records]
        expected = m.status is SessionStatus.RUNNING and not m.cancel_requested
        assert self.repo.start_records(m.session_id, ids) is expected
        if expected:
            for i in ids:
                if m.records[i].status is RecordStatus.PENDING:
                    m.records[i].status = RecordStatus.RUNNING

    @precondition(lambda self: any(self.model[s].records for s in self.order))
    @rule(data=st.data())
    def finish_records(self, data: st.DataObject) -> None:
        with_records = [sid for sid in self.order if self.model[sid].records]
        m = self.model[data.draw(st.sampled_from(with_records), label="session")]
        ids = data.draw(st.lists(st.sampled_from(list(m.records)), unique=True, min_size=1))
        outcomes = [
            RecordOutcome(
                instance_id=i,
                status=data.draw(st.sampled_from([RecordStatus.COMPLETED, RecordStatus.FAILED])),
                items_synced=data.draw(st.integers(0, 9)),
                error_message=data.draw(st.none() | st.sampled_from(["boom", "超时"])),
            )
            for i in ids
        ]
        self.repo.finish_records(m.session_id, outcomes)
        for outcome in outcomes:
            record = m.records[outcome.instance_id]
            if record.status is not RecordStatus.RUNNING:
                continue  # no longer running: left alone, not counted
            record.status = outcome.status
            record.error_message = outcome.error_message
            record.items_synced = outcome.items_synced
            if outcome.status is RecordStatus.COMPLETED:
                m.successful += 1
            else:
                m.failed += 1
        if m.status is SessionStatus.RUNNING:
            m.heartbeat_at = self.clock()

    @precondition(lambda self: bool(self.order))
    @rule(data=st.data())
    def heartbeat(self, data: st.DataObject) -> None:
        m = self._pick(data)
        self.repo.heartbeat(m.session_id)
        if m.status is SessionStatus.RUNNING:
            m.heartbeat_at = self.clock()

    @precondition(lambda self: bool(self.order))
    @rule(data=st.data())
    def request_cancel(self, data: st.DataObject) -> None:
        m = self._pick(data)
        expected = m.status in ACTIVE
        assert self.repo.request_cancel(m.session_id) is expected
        if expected:
            m.cancel_requested = True
            if m.status is SessionStatus.PENDING:
                self._finish(m, SessionStatus.CANCELLED, None)

    @precondition(lambda self: bool(self.order))
    @rule(
        data=st.data(),
        status=st.sampled_from(TERMINAL),
        message=st.none() | st.sampled_from(["StoreDown: store down", "失败"]),
    )
    def finish_session(
        self, data: st.DataObject, status: SessionStatus, message: str | None
    ) -> None:
        m = self._pick(data)
        expected = m.status in ACTIVE
        got = self.repo.finish_session(m.session_id, status=status, error_message=message)
        assert got is expected
        if expected:
            self._finish(m, status, message)

    @precondition(lambda self: bool(self.order))
    @rule(data=st.data(), status=st.sampled_from(ACTIVE))
    def finish_session_refuses_a_non_terminal_status(
        self, data: st.DataObject, status: SessionStatus
    ) -> None:
        m = self._pick(data)
        with pytest.raises(ValueError):
            self.repo.finish_session(m.session_id, status=status)

    @rule(data=st.data(), message=st.none() | st.just("worker lost"))
    def reap_stale(self, data: st.DataObject, message: str | None) -> None:
        now = self.clock()
        # Exact ages hit the boundary: a session exactly ``stale_after`` old is not stale.
        ages = sorted(
            {
                now - (m.heartbeat_at or m.created_at)
                for m in self.model.values()
                if m.status in ACTIVE and now > (m.heartbeat_at or m.created_at)
            }
        )
        choices = st.integers(1, 15).map(lambda minutes: dt.timedelta(minutes=minutes))
        if ages:
            choices = choices | st.sampled_from(ages)
        stale_after = data.draw(choices, label="stale_after")
        cutoff = now - stale_after
        expected = [
            sid
            for sid in self.order
            if self.model[sid].status in ACTIVE
            and (self.model[sid].heartbeat_at or self.model[sid].created_at) < cutoff
        ]
        if message is None:
            got = self.repo.reap_stale(stale_after=stale_after)
        else:
            got = self.repo.reap_stale(stale_after=stale_after, message=message)
        assert sorted(got) == sorted(expected)
        for sid in expected:
            self._finish(self.model[sid], SessionStatus.FAILED, message or INTERRUPTED)

    @rule(seconds=st.integers(1, 400) | st.sampled_from([60, 300, 601]))
    def advance_clock(self, seconds: int) -> None:
        self.clock.advance(seconds)

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def store_matches_the_model(self) -> None:
        for sid in self.order:
            m = self.model[sid]
            info = self.repo.get_session(sid)
            assert info is not None
            assert (info.session_id, info.sync_type, info.sync_category, info.created_by) == (
                sid,
                m.sync_type,
                m.category,
                m.created_by,
            )
            assert info.status is m.status
            assert (info.created_at, info.started_at, info.heartbeat_at, info.completed_at) == (
                m.created_at,
                m.started_at,
                m.heartbeat_at,
                m.completed_at,
            )
            assert info.error_message == m.error_message
            assert info.cancel_requested is m.cancel_requested
            assert (
                info.total_instances,
                info.successful_instances,
                info.failed_instances,
                info.cancelled_instances,
            ) == (len(m.records), m.successful, m.failed, m.cancelled)
            assert_counters_add_up(info)
            if info.is_terminal and info.total_instances:
                assert info.progress == 100.0
            records = self.repo.list_records(sid)
            assert [(r.instance_id, r.instance_name, r.status) for r in records] == [
                (i, r.name, r.status) for i, r in m.records.items()
            ]
            for record in records:
                assert record.session_id == sid
                model = m.records[record.instance_id]
                if record.status is RecordStatus.FAILED:
                    assert record.error_message == model.error_message
                if record.status is RecordStatus.COMPLETED:
                    assert record.items_synced == model.items_synced
        assert self.repo.get_session(str(uuid.uuid4())) is None

    @invariant()
    def at_most_one_lock_holder_per_category(self) -> None:
        for category in CATEGORIES:
            holder = self._holder(category)
            active = self.repo.get_active_session(category)
            assert (active.session_id if active is not None else None) == holder
            if active is not None:
                assert active.status in ACTIVE
                assert active.sync_category is category

    @invariant()
    def transitions_are_legal_and_terminal_states_frozen(self) -> None:
        for sid in self.order:
            info = self.repo.get_session(sid)
            assert info is not None
            records = self.repo.list_records(sid)
            before = self.seen_sessions.get(sid, SessionStatus.PENDING)
            assert info.status in SESSION_MOVES[before], (before, info.status)
            self.seen_sessions[sid] = info.status
            for record in records:
                key = (sid, record.instance_id)
                was = self.seen_records.get(key, RecordStatus.PENDING)
                assert record.status in RECORD_MOVES[was], (was, record.status)
                self.seen_records[key] = record.status
            if info.status in TERMINAL:
                assert all(
                    r.status
                    in (RecordStatus.COMPLETED, RecordStatus.FAILED, RecordStatus.CANCELLED)
                    for r in records
                )
                if sid in self.frozen:
                    assert (info, records) == self.frozen[sid]
                else:
                    self.frozen[sid] = (info, records)


def make_session_machine(
    factory: SessionFactory,
    *,
    teardown: Callable[[SyncSessionRepository], None] | None = None,
) -> type[SessionMachine]:
    """A :class:`SessionMachine` whose repositories come from ``factory(clock)``;
    ``teardown(repo)`` (optional) releases each after its run."""

    class FactorySessionMachine(SessionMachine):
        def make_repository(self, clock: Clock) -> SyncSessionRepository:
            return factory(clock)

        def dispose_repository(self, repo: SyncSessionRepository) -> None:
            if teardown is not None:
                teardown(repo)

    return FactorySessionMachine
