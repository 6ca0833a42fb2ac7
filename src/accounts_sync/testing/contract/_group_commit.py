"""The full-sync task's group commit on a store: exact counters, and a cancel seen within one
window. Mixed into ``SessionRepositoryContract``."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from accounts_sync import FullSyncTask, RecordStatus, SessionStatus, SyncSessionRepository
from accounts_sync.memory import InMemoryInstanceRepository
from accounts_sync.testing import ScriptedSyncService, make_instances

from ._support import assert_counters_add_up, create

__all__ = ["GroupCommitContract"]

WAIT = 30.0  # seconds: a bound for what takes milliseconds, far from any healthy run


class GroupCommitContract:
    """A whole run under group commit (starts and outcomes written together, several per
    transaction); needs the ``sessions`` and ``thread_safe`` fixtures of
    ``SessionRepositoryContract``."""

    def test_group_commit_keeps_the_counters_exact(self, sessions: SyncSessionRepository) -> None:
        count = 120
        failing = set(range(3, count + 1, 7))
        instances = InMemoryInstanceRepository(make_instances(count))
        service = ScriptedSyncService(default_delay=0.002)
        for instance_id in failing:
            service.script(instance_id, result={"success": False, "message": "nope"})
        task = FullSyncTask(
            instances=instances,
            sessions=sessions,
            sync_service=service,
            max_workers=8,
            commit_window=0.02,
        )
        session_id = create(sessions).session_id
        summary = task(session_id=session_id)
        assert summary.status is SessionStatus.COMPLETED_WITH_ERRORS
        counts = (
            summary.total_instances,
            summary.successful_instances,
            summary.failed_instances,
            summary.cancelled_instances,
        )
        assert counts == (count, count - len(failing), len(failing), 0)
        records = sessions.list_records(session_id)
        assert {r.instance_id for r in records if r.status is RecordStatus.FAILED} == failing
        assert all(
            r.status is RecordStatus.COMPLETED for r in records if r.instance_id not in failing
        )
        assert all(r.started_at is not None and r.completed_at is not None for r in records)
        assert [instances.sync_count(i) for i in range(1, count + 1)] == [
            0 if i in failing else 1 for i in range(1, count + 1)
        ]
        assert_counters_add_up(sessions.get_session(session_id))

    def test_a_cancel_is_seen_within_a_group_commit_window(
        self, sessions: SyncSessionRepository, thread_safe: bool
    ) -> None:
        if not thread_safe:
            pytest.skip("this store is declared not thread-safe")
        count, held = 60, 10
        entered, release = threading.Event(), threading.Event()

        def hold(instance: Any) -> dict[str, Any]:
            entered.set()
            release.wait(WAIT)
            return {"success": True}

        service = ScriptedSyncService(default_delay=0.01).script(held, call=hold)
        task = FullSyncTask(
            instances=InMemoryInstanceRepository(make_instances(count)),
            sessions=sessions,
            sync_service=service,
            max_workers=1,
            commit_window=0.01,
        )
        session_id = create(sessions).session_id
        box: dict[str, Any] = {}
        thread = threading.Thread(target=lambda: box.update(summary=task(session_id=session_id)))
        thread.start()
        try:
            assert entered.wait(WAIT)
            _wait_running(sessions, session_id, held)
            assert sessions.request_cancel(session_id)
        finally:
            release.set()
            thread.join(WAIT)
        summary = box["summary"]
        assert summary.status is SessionStatus.CANCELLED
        records = {r.instance_id: r.status for r in sessions.list_records(session_id)}
        # Started before the cancel: finished and counted. Handed out in the window in which
        # the cancel was seen: ran, but ends cancelled with the ones never handed out.
        assert [records[i] for i in range(1, held + 1)] == [RecordStatus.COMPLETED] * held
        assert summary.successful_instances == held
        assert summary.cancelled_instances == count - held
        assert len(service.called_ids()) < count
        assert_counters_add_up(sessions.get_session(session_id))


def _wait_running(sessions: SyncSessionRepository, session_id: str, instance_id: int) -> None:
    """Until the record is running: an instance is handed out before its start commits."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        records = sessions.list_records(session_id)
        if any(r.instance_id == instance_id and r.status is RecordStatus.RUNNING for r in records):
            return
        time.sleep(0.002)
    raise AssertionError(f"record {instance_id} never started")
