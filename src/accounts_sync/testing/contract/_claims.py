"""The record-claim half of the contract (``SupportsRecordClaims``, for fan-out full syncs):
claims, leases, releases and the exactly-once finish. Mixed into ``SessionRepositoryContract``;
skipped for a store without claims."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts_sync import Messages, RecordStatus, SessionStatus, SyncSessionRepository
from accounts_sync._fan_out import finish_if_settled
from accounts_sync.ports import SupportsRecordClaims
from accounts_sync.testing import ManualClock

from ._support import assert_counters_add_up, outcome, race, running, statuses

__all__ = ["ClaimContract"]

LEASE = dt.timedelta(minutes=5)
THREADS = 8
_TEXTS = Messages.english()


def _claims(sessions: SyncSessionRepository) -> SupportsRecordClaims:
    if not isinstance(sessions, SupportsRecordClaims):
        pytest.skip("the store has no record claims (SupportsRecordClaims): no fan-out")
    return sessions


def _claimed(sessions: SyncSessionRepository, ids: list[int]) -> tuple[SupportsRecordClaims, str]:
    """A running session of two records, ``ids`` of them claimed."""
    claims = _claims(sessions)
    session_id = running(sessions, ["a", "b"])
    assert claims.claim_records(session_id, ids, lease=LEASE) is not None
    return claims, session_id


class ClaimContract:
    """Needs the ``sessions``, ``clock`` and ``thread_safe`` fixtures."""

    def test_a_claim_takes_pending_records_once(
        self, sessions: SyncSessionRepository, clock: ManualClock
    ) -> None:
        claims = _claims(sessions)
        session_id = running(sessions, ["a", "b", "c"])
        first = claims.claim_records(session_id, [1, 2, 99], lease=LEASE)
        assert first is not None
        assert (first.claimed, first.held) == ((1, 2), ())
        records = sessions.list_records(session_id)
        assert [r.status for r in records] == ["running", "running", "pending"]
        assert records[0].started_at == clock()
        clock.advance(1)
        again = claims.claim_records(session_id, [2, 1, 3], lease=LEASE)
        assert again is not None
        assert (set(again.claimed), set(again.held)) == ({3}, {1, 2})
        assert again.held_until == clock() - dt.timedelta(seconds=1) + LEASE
        assert claims.count_running(session_id) == 3

    def test_a_claim_older_than_the_lease_is_taken_again_and_done_records_never(
        self, sessions: SyncSessionRepository, clock: ManualClock
    ) -> None:
        claims, session_id = _claimed(sessions, [1, 2])
        sessions.finish_records(session_id, [outcome(1)])
        clock.advance(LEASE + dt.timedelta(seconds=1))
        lost = claims.claim_records(session_id, [1, 2], lease=LEASE)
        assert lost is not None
        assert (lost.claimed, lost.held) == ((2,), ())
        assert sessions.list_records(session_id)[1].started_at == clock()
        sessions.finish_records(session_id, [outcome(2)])
        info = sessions.get_session(session_id)
        assert info is not None
        assert info.successful_instances == 2

    def test_a_heartbeat_renews_every_claim_of_the_session(
        self, sessions: SyncSessionRepository, clock: ManualClock
    ) -> None:
        claims, session_id = _claimed(sessions, [1, 2])
        clock.advance(LEASE - dt.timedelta(minutes=1))
        sessions.heartbeat(session_id)  # a live chunk of the session
        beat = clock()
        clock.advance(dt.timedelta(minutes=2))
        held = claims.claim_records(session_id, [1, 2], lease=LEASE)
        assert held is not None
        assert (held.claimed, set(held.held), held.held_until) == ((), {1, 2}, beat + LEASE)
        clock.advance(beat + LEASE + dt.timedelta(seconds=1) - clock())
        lost = claims.claim_records(session_id, [1, 2], lease=LEASE)
        assert lost is not None
        assert (set(lost.claimed), lost.held) == ({1, 2}, ())

    def test_the_reaper_fails_a_session_once_its_leases_are_over_for_a_lease(
        self, sessions: SyncSessionRepository, clock: ManualClock
    ) -> None:
        claims, session_id = _claimed(sessions, [1])
        clock.advance(LEASE + dt.timedelta(seconds=1))
        # Over, but not for a whole lease yet: a redelivered chunk may still take the records.
        assert sessions.reap_stale(stale_after=LEASE * 2) == []
        clock.advance(LEASE)
        assert sessions.reap_stale(stale_after=LEASE * 2) == [session_id]
        assert statuses(sessions, session_id) == [RecordStatus.FAILED, RecordStatus.FAILED]
        assert claims.claim_records(session_id, [1, 2], lease=LEASE) is None
        assert_counters_add_up(sessions.get_session(session_id))

    def test_no_claim_once_cancel_is_requested_or_the_session_is_over(
        self, sessions: SyncSessionRepository
    ) -> None:
        claims = _claims(sessions)
        session_id = running(sessions, ["a", "b"])
        assert sessions.request_cancel(session_id)
        assert claims.claim_records(session_id, [1, 2], lease=LEASE) is None
        assert statuses(sessions, session_id) == ["pending", "pending"]
        other = running(sessions, ["c"], exclusive=False)
        sessions.finish_session(other, status=SessionStatus.FAILED, error_message="x")
        assert claims.claim_records(other, [1], lease=LEASE) is None
        assert claims.claim_records("no-such-session", [1], lease=LEASE) is None

    def test_a_release_puts_unstarted_claims_back_to_pending(
        self, sessions: SyncSessionRepository
    ) -> None:
        claims = _claims(sessions)
        session_id = running(sessions, ["a", "b", "c"])
        assert claims.claim_records(session_id, [1, 2, 3], lease=LEASE) is not None
        sessions.finish_records(session_id, [outcome(1)])
        assert claims.release_records(session_id, [1, 2, 3]) == 2
        records = sessions.list_records(session_id)
        assert [r.status for r in records] == ["completed", "pending", "pending"]
        assert records[1].started_at is None
        assert claims.count_running(session_id) == 0
        sessions.finish_session(session_id, status=SessionStatus.CANCELLED)
        assert claims.release_records(session_id, [2]) == 0

    def test_racing_claims_give_each_record_to_one_caller(
        self, sessions: SyncSessionRepository, thread_safe: bool
    ) -> None:
        if not thread_safe:
            pytest.skip("the store is not shared by threads")
        claims = _claims(sessions)
        session_id = running(sessions, [f"i{n}" for n in range(40)])
        ids = list(range(1, 41))
        results = race(THREADS, lambda _: claims.claim_records(session_id, ids, lease=LEASE))
        taken = [i for result in results if result is not None for i in result.claimed]
        assert sorted(taken) == ids

    def test_the_last_chunk_to_settle_finishes_the_session_exactly_once(
        self, sessions: SyncSessionRepository, thread_safe: bool
    ) -> None:
        if not thread_safe:
            pytest.skip("the store is not shared by threads")
        claims = _claims(sessions)
        for _round in range(3):
            session_id = running(sessions, [f"i{n}" for n in range(THREADS)])
            assert claims.claim_records(session_id, range(1, THREADS + 1), lease=LEASE)

            def chunk(index: int, session_id: str = session_id) -> SessionStatus | None:
                sessions.finish_records(session_id, [outcome(index + 1, ok=index != 0)])
                return finish_if_settled(sessions, session_id, messages=_TEXTS)

            finished = [status for status in race(THREADS, chunk) if status is not None]
            assert finished == [SessionStatus.COMPLETED_WITH_ERRORS]
            info = sessions.get_session(session_id)
            assert info is not None
            assert info.status is SessionStatus.COMPLETED_WITH_ERRORS
            assert (info.successful_instances, info.failed_instances) == (THREADS - 1, 1)
            assert_counters_add_up(info)

    def test_a_cancelled_session_finishes_once_nothing_runs(
        self, sessions: SyncSessionRepository
    ) -> None:
        claims = _claims(sessions)
        session_id = running(sessions, ["a", "b", "c"])
        assert claims.claim_records(session_id, [1, 2], lease=LEASE) is not None
        assert sessions.request_cancel(session_id)
        sessions.finish_records(session_id, [outcome(1)])
        assert finish_if_settled(sessions, session_id, messages=_TEXTS) is None  # 2 runs
        assert claims.release_records(session_id, [2]) == 1
        assert finish_if_settled(sessions, session_id, messages=_TEXTS) is SessionStatus.CANCELLED
        assert finish_if_settled(sessions, session_id, messages=_TEXTS) is None
        assert statuses(sessions, session_id) == [
            RecordStatus.COMPLETED,
            RecordStatus.CANCELLED,
            RecordStatus.CANCELLED,
        ]
        assert_counters_add_up(sessions.get_session(session_id))
