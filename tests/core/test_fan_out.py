"""The fan-out full sync on the in-memory stores: chunks run inline or on threads, in any order."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from accounts_sync import (
    ConflictError,
    FullSyncTask,
    Messages,
    RecordStatus,
    SessionStatus,
    SyncCategory,
    SyncType,
)
from accounts_sync._fan_out import FanOut, FanOutChunk
from accounts_sync._full_sync import DEFAULT_STALE_AFTER
from accounts_sync._jobs import reap
from accounts_sync.memory import InMemoryInstanceRepository, InMemorySyncSessionRepository
from accounts_sync.ports import RecordOutcome
from accounts_sync.testing import FakeInstance, ManualClock, ScriptedSyncService, make_instances

from .support import Gate, StoreDown, assert_counters_add_up, assert_secret_absent

TEXTS = Messages.english()


@attrs.define
class Fleet:
    """A fan-out over memory stores whose sent chunks wait in ``queue`` until run."""

    instances: InMemoryInstanceRepository[FakeInstance]
    sessions: InMemorySyncSessionRepository
    service: ScriptedSyncService
    task: FullSyncTask[FakeInstance]
    fan_out: FanOut[FakeInstance]
    queue: deque[tuple[FanOutChunk, float]]

    def run_queued(self) -> int:
        ran = 0
        while self.queue:
            chunk, _delay = self.queue.popleft()
            self.fan_out.run_chunk(chunk)
            ran += 1
        return ran

    def prepare(self) -> str:
        info = self.sessions.create_session(
            sync_type=SyncType.MANUAL_TASK, sync_category=SyncCategory.ACCOUNT, created_by=7
        )
        return info.session_id


def fleet(
    count: int,
    *,
    clock: ManualClock | None = None,
    chunk_size: int = 10,
    lease: dt.timedelta | None = None,
    **task_options: Any,
) -> Fleet:
    instances = InMemoryInstanceRepository(make_instances(count))
    sessions = InMemorySyncSessionRepository(clock=clock)
    service = ScriptedSyncService()
    task = FullSyncTask(
        instances=instances, sessions=sessions, sync_service=service, messages=TEXTS, **task_options
    )
    queue: deque[tuple[FanOutChunk, float]] = deque()
    fan_out = FanOut(
        task,
        send=lambda chunk, delay: queue.append((chunk, delay)),
        chunk_size=chunk_size,
        lease=lease,
    )
    return Fleet(instances, sessions, service, task, fan_out, queue)


def test_every_instance_runs_once_and_the_last_chunk_finishes_the_session(
    lib_logs: Callable[[], list[logging.LogRecord]],
) -> None:
    f = fleet(95, chunk_size=10)
    session_id = f.prepare()
    summary = f.fan_out(created_by=7, session_id=session_id)
    assert summary.claimed and summary.status is SessionStatus.RUNNING
    assert [len(chunk.instance_ids) for chunk, _ in f.queue] == [10] * 9 + [5]
    assert {delay for _, delay in f.queue} == {0.0}
    assert f.run_queued() == 10
    info = f.sessions.get_session(session_id)
    assert info is not None
    assert info.status is SessionStatus.COMPLETED
    assert (info.total_instances, info.successful_instances) == (95, 95)
    assert_counters_add_up(info)
    assert sorted(f.service.called_ids()) == list(range(1, 96))
    assert {(c.sync_type, c.session_id, c.created_by) for c in f.service.calls} == {
        ("manual_task", session_id, 7)
    }
    assert [f.instances.sync_count(i) for i in range(1, 96)] == [1] * 95
    finished = [r for r in lib_logs() if r.getMessage() == TEXTS.full_sync_finished]
    assert len(finished) == 1
    assert finished[0].__dict__["successful_instances"] == 95
    started = [r for r in lib_logs() if r.getMessage() == TEXTS.full_sync_started]
    assert [
        (r.__dict__["context"]["total_instances"], r.__dict__["context"]["chunks"]) for r in started
    ] == [(95, 10)]


def test_chunks_in_any_order_and_a_repeated_chunk_runs_nothing_again() -> None:
    f = fleet(30, chunk_size=10)
    session_id = f.prepare()
    f.fan_out(session_id=session_id)
    chunks = [chunk for chunk, _ in f.queue]
    f.queue.clear()
    results = [f.fan_out.run_chunk(chunk) for chunk in (chunks[2], chunks[0], chunks[0])]
    assert [r.claimed for r in results] == [10, 10, 0]
    assert results[2].held == () and results[2].retry_after is None
    last = f.fan_out.run_chunk(chunks[1])
    assert last.finished is SessionStatus.COMPLETED
    assert sorted(f.service.called_ids()) == list(range(1, 31))
    # Delivered once more after the session finished: nothing is claimed, nothing is resent.
    assert f.fan_out.run_chunk(chunks[1]).claimed == 0
    assert not f.queue


def test_a_duplicate_delivered_while_the_first_runs_is_sent_again_for_the_lease_end(
    clock: ManualClock,
) -> None:
    lease = dt.timedelta(minutes=3)
    f = fleet(4, clock=clock, chunk_size=4, lease=lease, max_workers=1)
    gate = Gate()
    f.service.script(1, call=gate)
    session_id = f.prepare()
    f.fan_out(session_id=session_id)
    ((chunk, _),) = f.queue
    f.queue.clear()
    first = threading.Thread(target=f.fan_out.run_chunk, args=(chunk,))
    first.start()
    assert gate.entered.wait(10)
    duplicate = f.fan_out.run_chunk(chunk)
    assert (duplicate.claimed, set(duplicate.held)) == (0, {1, 2, 3, 4})
    assert duplicate.retry_after is not None and duplicate.retry_after >= 0
    ((resent, delay),) = f.queue
    assert set(resent.instance_ids) == {1, 2, 3, 4} and delay == duplicate.retry_after
    gate.release.set()
    first.join(10)
    f.queue.clear()
    assert f.fan_out.run_chunk(resent).claimed == 0
    assert sorted(f.service.called_ids()) == [1, 2, 3, 4]
    info = f.sessions.get_session(session_id)
    assert info is not None and info.status is SessionStatus.COMPLETED


def test_a_lost_chunks_records_are_claimed_again_after_the_lease(clock: ManualClock) -> None:
    lease = dt.timedelta(minutes=3)
    f = fleet(6, clock=clock, chunk_size=3, lease=lease)
    session_id = f.prepare()
    f.fan_out(session_id=session_id)
    lost, other = (chunk for chunk, _ in f.queue)
    f.queue.clear()
    # The lost chunk's process claimed its records, ran one, and died.
    assert f.sessions.claim_records(session_id, lost.instance_ids, lease=lease)
    f.sessions.finish_records(
        session_id, [RecordOutcome(instance_id=1, status=RecordStatus.COMPLETED)]
    )
    assert f.fan_out.run_chunk(other).finished is None
    redelivered = f.fan_out.run_chunk(lost)
    assert (redelivered.claimed, set(redelivered.held)) == (0, {2, 3})
    clock.advance(lease + dt.timedelta(seconds=1))
    ((resent, _),) = f.queue
    f.queue.clear()
    again = f.fan_out.run_chunk(resent)
    assert (again.claimed, again.finished) == (2, SessionStatus.COMPLETED)
    assert sorted(f.service.called_ids()) == [2, 3, 4, 5, 6]
    info = f.sessions.get_session(session_id)
    assert info is not None and info.successful_instances == 6


def test_cancel_stops_chunks_not_started_and_their_records_end_cancelled() -> None:
    f = fleet(30, chunk_size=10)
    session_id = f.prepare()
    f.fan_out(session_id=session_id)
    first, *rest = (chunk for chunk, _ in f.queue)
    f.queue.clear()
    f.fan_out.run_chunk(first)
    assert f.sessions.request_cancel(session_id)
    results = [f.fan_out.run_chunk(chunk) for chunk in rest]
    assert [r.claimed for r in results] == [0, 0]
    assert results[0].finished is SessionStatus.CANCELLED and results[1].finished is None
    info = f.sessions.get_session(session_id)
    assert info is not None
    assert (info.status, info.successful_instances, info.cancelled_instances) == (
        SessionStatus.CANCELLED,
        10,
        20,
    )
    assert sorted(f.service.called_ids()) == list(range(1, 11))


def test_a_running_chunk_stops_dispatching_on_cancel_and_releases_the_rest() -> None:
    f = fleet(10, chunk_size=10, max_workers=1, heartbeat_interval=0.05)
    session_id = f.prepare()

    def cancel(instance: Any) -> dict[str, Any]:
        f.sessions.request_cancel(session_id)
        return {"success": True, "synced_count": 1}

    # Each call outlasts the commit window, so every start is written before the next call;
    # the dispatcher hands out the instance after 3 at once, and its refused start drops it.
    for instance_id in range(1, 11):
        f.service.script(instance_id, delay=0.05)
    f.service.script(3, call=cancel, delay=0.05)
    f.fan_out(session_id=session_id)
    result = f.fan_out.run_chunk(f.queue.popleft()[0])
    assert result.finished is SessionStatus.CANCELLED
    records = f.sessions.list_records(session_id)
    by_status = {
        status: [r.instance_id for r in records if r.status is status] for status in RecordStatus
    }
    completed, cancelled = by_status[RecordStatus.COMPLETED], by_status[RecordStatus.CANCELLED]
    # Instant calls: all ten may be handed out within the commit window in which the cancel is
    # seen. Those ran, but their starts were refused: their records end cancelled (docs:
    # Concepts), none is left running under the chunk's claim.
    called = set(f.service.called_ids())
    assert {1, 2, 3} <= called
    assert set(completed) <= called and sorted(completed + cancelled) == list(range(1, 11))
    info = f.sessions.get_session(session_id)
    assert info is not None
    assert (info.successful_instances, info.cancelled_instances) == (len(completed), len(cancelled))


def test_a_cancel_seen_only_by_the_committer_still_ends_the_chunks_session() -> None:
    # Instant calls: the dispatcher hands out every instance before the committer's refused
    # start tells it of the cancel, so only the session knows; nothing may stay running.
    f = fleet(10, chunk_size=10, max_workers=1)
    session_id = f.prepare()
    f.service.script(3, call=lambda _: f.sessions.request_cancel(session_id) and {"success": True})
    f.fan_out(session_id=session_id)
    result = f.fan_out.run_chunk(f.queue.popleft()[0])
    assert result.finished is SessionStatus.CANCELLED
    statuses = {r.status for r in f.sessions.list_records(session_id)}
    assert statuses <= {RecordStatus.COMPLETED, RecordStatus.CANCELLED}
    info = f.sessions.get_session(session_id)
    assert info is not None and info.status is SessionStatus.CANCELLED
    assert info.cancelled_instances > 0
    assert_counters_add_up(info)


def test_failures_are_isolated_redacted_and_an_instance_deleted_meanwhile_fails() -> None:
    f = fleet(5, chunk_size=5)
    f.service.script(2, raises=RuntimeError("connect failed password=hunter2"))
    session_id = f.prepare()
    f.fan_out(session_id=session_id)
    f.instances.add(attrs.evolve(f.instances.get(4), deleted_at=dt.datetime.now(dt.timezone.utc)))
    f.run_queued()
    info = f.sessions.get_session(session_id)
    assert info is not None
    assert (info.status, info.successful_instances, info.failed_instances) == (
        SessionStatus.COMPLETED_WITH_ERRORS,
        3,
        2,
    )
    records = {r.instance_id: r for r in f.sessions.list_records(session_id)}
    assert records[4].error_message == TEXTS.instance_not_found
    assert records[2].error_message is not None and "RuntimeError" in records[2].error_message
    assert_secret_absent(records[2].error_message, "hunter2")
    assert 4 not in f.service.called_ids()


def test_single_flight_holds_against_a_thread_mode_session_and_scheduled_runs() -> None:
    f = fleet(3)
    holder = f.prepare()  # e.g. a thread-mode run, pending or running
    summary = f.fan_out(manual_run=False, created_by=None, session_id=None)
    assert (summary.claimed, summary.session_id) == (False, holder)
    assert not f.queue
    with pytest.raises(ConflictError):
        f.prepare()
    f.sessions.finish_session(holder, status=SessionStatus.COMPLETED)
    scheduled = f.fan_out(manual_run=False, session_id=None)
    info = f.sessions.get_session(scheduled.session_id or "")
    assert info is not None and info.sync_type is SyncType.SCHEDULED_TASK
    f.run_queued()
    final = f.sessions.get_session(info.session_id)
    assert final is not None and final.status is SessionStatus.COMPLETED


def test_no_instances_finishes_at_once_and_a_store_without_claims_is_refused() -> None:
    f = fleet(0)
    session_id = f.prepare()
    f.fan_out(session_id=session_id)
    info = f.sessions.get_session(session_id)
    assert info is not None and info.status is SessionStatus.COMPLETED
    assert not f.queue

    task = FullSyncTask(
        instances=f.instances,
        sessions=WithoutClaims(),  # type: ignore[arg-type]
        sync_service=f.service,
    )
    with pytest.raises(TypeError, match="record claims"):
        FanOut(task, send=lambda chunk, delay: None)


class WithoutClaims:
    """A session store of the classic protocol only (the fan-out refuses it)."""


def test_the_default_lease_is_half_of_stale_after_and_a_lease_must_fit() -> None:
    f = fleet(1, heartbeat_interval=30.0)
    assert f.fan_out.chunk_size == 10
    assert FanOut(f.task, send=lambda chunk, delay: None).lease == dt.timedelta(minutes=5)
    longest = DEFAULT_STALE_AFTER / 2
    assert FanOut(f.task, send=lambda chunk, delay: None, lease=longest).lease == longest
    for unfit in (dt.timedelta(0), dt.timedelta(seconds=89), longest + dt.timedelta(seconds=1)):
        with pytest.raises(ValueError, match="lease must span 3 heartbeat intervals"):
            FanOut(f.task, send=lambda chunk, delay: None, lease=unfit)


def _sent_in_two_chunks(clock: ManualClock) -> tuple[Fleet, str, list[FanOutChunk]]:
    """A fan-out of 6 instances with the default lease, its 2 chunks sent but not run."""
    f = fleet(6, clock=clock, chunk_size=3)
    session_id = f.prepare()
    f.fan_out(session_id=session_id)
    chunks = [chunk for chunk, _ in f.queue]
    f.queue.clear()
    return f, session_id, chunks


def test_a_live_chunks_heartbeat_renews_the_sessions_claims(clock: ManualClock) -> None:
    f, session_id, (lost, _live) = _sent_in_two_chunks(clock)
    lease = f.fan_out.lease
    assert f.sessions.claim_records(session_id, lost.instance_ids, lease=lease)
    clock.advance(lease - dt.timedelta(minutes=1))
    f.sessions.heartbeat(session_id)  # the other chunk, alive and running
    clock.advance(dt.timedelta(minutes=2))  # the claim is past the lease, the heartbeat not
    held = f.fan_out.run_chunk(lost)
    assert (held.claimed, set(held.held)) == (0, {1, 2, 3})
    claim = f.sessions.claim_records(session_id, lost.instance_ids, lease=lease)
    assert claim is not None and claim.held_until == clock() + lease - dt.timedelta(minutes=2)
    clock.advance(lease - dt.timedelta(minutes=2) + dt.timedelta(seconds=1))
    ((resent, _),) = f.queue
    f.queue.clear()
    assert f.fan_out.run_chunk(resent).claimed == 3
    assert sorted(f.service.called_ids()) == [1, 2, 3]


def test_a_chunk_payload_round_trips() -> None:
    chunk = FanOutChunk(
        session_id="s", instance_ids=[3, 1], sync_type="scheduled_task", created_by=None
    )
    assert FanOutChunk.from_dict(chunk.as_dict()) == chunk
    assert chunk.instance_ids == (3, 1) and chunk.sync_type is SyncType.SCHEDULED_TASK


def test_the_reaper_fails_a_session_whose_chunks_are_lost_for_longer_than_the_lease(
    clock: ManualClock,
) -> None:
    f, session_id, (ran, lost) = _sent_in_two_chunks(clock)
    lease = f.fan_out.lease
    f.fan_out.run_chunk(ran)
    # The other chunk's process claimed its records and died; its message never came back.
    assert f.sessions.claim_records(session_id, lost.instance_ids, lease=lease)
    clock.advance(lease + dt.timedelta(seconds=1))
    # The lease is over: a redelivered chunk could take the records; the reaper waits.
    assert reap(f.sessions, f.task.stale_after, f.task.stalled_after, TEXTS) == []
    clock.advance(lease)
    assert reap(f.sessions, f.task.stale_after, f.task.stalled_after, TEXTS) == [session_id]
    info = f.sessions.get_session(session_id)
    assert info is not None
    assert (info.status, info.error_message) == (SessionStatus.FAILED, TEXTS.session_interrupted)
    assert (info.successful_instances, info.failed_instances) == (3, 3)
    failed = [r for r in f.sessions.list_records(session_id) if r.status is RecordStatus.FAILED]
    assert {r.error_message for r in failed} == {TEXTS.session_interrupted}
    # Delivered at last, long after: the session is over, so nothing runs.
    assert f.fan_out.run_chunk(lost).claimed == 0
    assert sorted(f.service.called_ids()) == [1, 2, 3]


class FinishFailsOnce(InMemorySyncSessionRepository):
    """The final write of a session fails once (a dropped connection)."""

    failed = False

    def finish_session(self, session_id: str, **kwargs: Any) -> bool:
        if not self.failed:
            self.failed = True
            raise StoreDown("connection lost")
        return super().finish_session(session_id, **kwargs)


def test_a_lost_final_write_leaves_the_session_for_the_reaper_not_failed() -> None:
    instances = InMemoryInstanceRepository(make_instances(3))
    sessions = FinishFailsOnce()
    task = FullSyncTask(
        instances=instances, sessions=sessions, sync_service=ScriptedSyncService(), messages=TEXTS
    )
    queue: deque[FanOutChunk] = deque()
    fan_out = FanOut(task, send=lambda chunk, delay: queue.append(chunk))
    summary = fan_out(manual_run=False)
    with pytest.raises(StoreDown):
        fan_out.run_chunk(queue.popleft())
    session_id = summary.session_id or ""
    info = sessions.get_session(session_id)
    assert info is not None and info.status is SessionStatus.RUNNING
    assert info.successful_instances == 3
    reap(sessions, DEFAULT_STALE_AFTER, task.stalled_after, TEXTS)
    final = sessions.get_session(session_id)
    assert final is not None and final.status is SessionStatus.COMPLETED
