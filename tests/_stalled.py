"""The reaper's "no progress" rule, one scenario for every store."""

from __future__ import annotations

import datetime as dt

from accounts_sync import RecordStatus, SessionStatus, SyncCategory, SyncType
from accounts_sync.ports import RecordOutcome, SyncSessionRepository
from accounts_sync.testing import ManualClock

STALE_AFTER = dt.timedelta(minutes=10)
STALLED_AFTER = dt.timedelta(minutes=20)


def running_session(sessions: SyncSessionRepository, ids: list[int]) -> str:
    """A claimed session with ``ids`` recorded and started."""
    session_id = sessions.create_session(
        sync_type=SyncType.MANUAL_TASK,
        sync_category=SyncCategory.ACCOUNT,
        created_by=None,
        exclusive=False,
    ).session_id
    assert sessions.claim_session(session_id)
    sessions.add_records(session_id, [(i, f"db-{i}") for i in ids])
    assert sessions.start_records(session_id, ids)
    return session_id


def check_the_no_progress_rule(sessions: SyncSessionRepository, clock: ManualClock) -> None:
    """A session that heartbeats but finishes nothing for ``STALLED_AFTER`` is reaped (only when
    the caller asks for the rule); one finishing an instance every 10 minutes is not."""
    stuck = running_session(sessions, [1])
    slow = running_session(sessions, list(range(11, 17)))
    for instance_id in range(11, 14):  # 30 minutes: a heartbeat and a finished record each 10
        clock.advance(dt.timedelta(minutes=10))
        sessions.heartbeat(stuck)
        outcome = RecordOutcome(instance_id=instance_id, status=RecordStatus.COMPLETED)
        sessions.finish_records(slow, [outcome])

    assert sessions.reap_stale(stale_after=STALE_AFTER) == []
    reaped = sessions.reap_stale(stale_after=STALE_AFTER, stalled_after=STALLED_AFTER)

    assert reaped == [stuck]
    stuck_info, slow_info = sessions.get_session(stuck), sessions.get_session(slow)
    assert stuck_info is not None and slow_info is not None
    assert stuck_info.status is SessionStatus.FAILED
    assert stuck_info.finished_instances == stuck_info.total_instances
    assert slow_info.status is SessionStatus.RUNNING
