"""Fan-out full syncs through real Celery worker processes, a Redis broker and a SQLite file
shared by every process: exactly once, a killed worker, a duplicate chunk, cancel, and single
flight against the thread mode."""

from __future__ import annotations

import collections
import os
import signal
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from accounts_sync import (
    AccountsSyncActionsService,
    ConflictError,
    Messages,
    RecordStatus,
    SessionStatus,
)
from accounts_sync.contrib.celery import full_sync_beat_entry
from accounts_sync.sqlalchemy import sqlite_url
from accounts_sync.testing import ScriptedSyncService

from ..conftest import REDIS_URL, require_server
from .fan_out_cluster import Cluster, cluster, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    require_server("Redis", REDIS_URL, 6379, variable="ACCOUNTS_SYNC_REDIS_URL")
    return tmp_path


def _cluster(workdir: Path, instances: int, **env: str) -> AbstractContextManager[Cluster]:
    return cluster(
        workdir,
        broker=REDIS_URL,
        database=sqlite_url(workdir / "store.sqlite3"),
        instances=instances,
        env=env,
    )


def _records_by_status(made: Cluster, session_id: str) -> collections.Counter[RecordStatus]:
    return collections.Counter(r.status for r in made.service.sessions.list_records(session_id))


def test_two_thousand_instances_over_two_workers_each_synced_exactly_once(
    workdir: Path,
) -> None:
    with _cluster(workdir, 2000) as made:
        info = made.run(created_by=5)
        assert info.status is SessionStatus.COMPLETED
        assert (info.total_instances, info.successful_instances) == (2000, 2000)
        calls = made.calls(info.session_id)
        assert sorted(instance for instance, _ in calls) == list(range(1, 2001))
        # Both worker processes took chunks.
        assert len({pid for _, pid in calls}) == 2
        counts = [item.sync_count for item in made.service.instances.list_active()]
        assert counts == [1] * 2000
        assert _records_by_status(made, info.session_id) == {RecordStatus.COMPLETED: 2000}
        # Exactly one chunk finished the session; the full-sync task sent 40 chunks.
        chunks = made.results("_chunk")
        assert len(chunks) == 40
        assert [c["finished"] for c in chunks if c["finished"]] == ["completed"]
        assert sum(c["claimed"] for c in chunks) == 2000


def test_a_worker_killed_mid_chunk_and_the_session_still_completes(workdir: Path) -> None:
    env = {"ACCOUNTS_SYNC_FANOUT_SLEEP_MS": "30", "ACCOUNTS_SYNC_FANOUT_LEASE": "3"}
    with _cluster(workdir, 200, **env) as made:
        prepared = made.service.prepare_background_full_sync(created_by=None)
        made.service.launch_background_full_sync(prepared=prepared)
        session_id = prepared.session_id

        # Some chunk is a few instances in: kill the process running it (a pool child).
        def busy_pid() -> int | None:
            pids = collections.Counter(pid for _, pid in made.calls(session_id))
            return next((pid for pid, calls in pids.items() if calls >= 5), None)

        victim = wait_for(busy_pid, "a chunk to be under way")
        os.kill(victim, signal.SIGKILL)
        info = made.wait_terminal(session_id, timeout=120)
        assert info.status is SessionStatus.COMPLETED, made.log()
        assert info.successful_instances == 200
        assert _records_by_status(made, session_id) == {RecordStatus.COMPLETED: 200}
        # Every instance counted once; synced at least once, twice only if its call was
        # under way (not yet written) when the process died: one thread per chunk.
        assert [i.sync_count for i in made.service.instances.list_active()] == [1] * 200
        per_instance = collections.Counter(instance for instance, _ in made.calls(session_id))
        assert set(per_instance) == set(range(1, 201))
        assert sum(n - 1 for n in per_instance.values()) <= 2
        # The killed run never returned; its redelivery claimed again what the dead process
        # left (at once if the lease had ended, else it was sent again for the lease end),
        # so the runs that returned claimed everything but what the victim had recorded.
        chunks = made.results("_chunk")
        done_by_victim = sum(1 for _, pid in made.calls(session_id) if pid == victim)
        assert 5 <= done_by_victim < 50
        claimed = sum(c["claimed"] for c in chunks)
        assert 200 - done_by_victim <= claimed <= 200 - done_by_victim + 2


def test_a_duplicate_chunk_delivery_syncs_nothing_twice(workdir: Path) -> None:
    env = {"ACCOUNTS_SYNC_FANOUT_SLEEP_MS": "10", "ACCOUNTS_SYNC_FANOUT_LEASE": "3"}
    with _cluster(workdir, 150, **env) as made:
        prepared = made.service.prepare_background_full_sync(created_by=None)
        session_id = prepared.session_id
        made.service.launch_background_full_sync(prepared=prepared)
        # The first chunk (instances 1–50, ordered by name), delivered once more.
        duplicate = {"session_id": session_id, "instance_ids": list(range(1, 51))}
        made.send_chunk({**duplicate, "sync_type": "manual_task", "created_by": None})
        info = made.wait_terminal(session_id)
        assert info.status is SessionStatus.COMPLETED
        assert info.successful_instances == 150
        per_instance = collections.Counter(instance for instance, _ in made.calls(session_id))
        assert per_instance == {instance: 1 for instance in range(1, 151)}
        # Four chunk runs at least: the duplicate claimed nothing it did not run.
        wait_for(lambda: len(made.results("_chunk")) >= 4, "the duplicate to be processed")
        assert sum(c["claimed"] for c in made.results("_chunk")) == 150


def test_cancel_mid_run_stops_the_chunks_not_started(workdir: Path) -> None:
    env = {"ACCOUNTS_SYNC_FANOUT_SLEEP_MS": "20", "ACCOUNTS_SYNC_FANOUT_CHUNK": "25"}
    with _cluster(workdir, 400, **env) as made:
        prepared = made.service.prepare_background_full_sync(created_by=None)
        session_id = prepared.session_id
        made.service.launch_background_full_sync(prepared=prepared)
        wait_for(lambda: len(made.calls(session_id)) >= 30, "the run to be under way")
        assert made.service.sessions.request_cancel(session_id)
        info = made.wait_terminal(session_id)
        assert info.status is SessionStatus.CANCELLED
        statuses = _records_by_status(made, session_id)
        assert statuses[RecordStatus.CANCELLED] == info.cancelled_instances > 0
        assert statuses[RecordStatus.COMPLETED] == info.successful_instances
        assert info.failed_instances == 0
        assert info.finished_instances == 400
        # Every completed record's instance ran; the chunks not started never did. An instance
        # handed out in the commit window in which the cancel was seen still runs, but its
        # record ends cancelled and counts nowhere (docs: Concepts, cancelling).
        ran = {instance for instance, _ in made.calls(session_id)}
        completed = {
            record.instance_id
            for record in made.service.sessions.list_records(session_id)
            if record.status is RecordStatus.COMPLETED
        }
        assert completed <= ran
        assert len(ran) < 400


def test_single_flight_between_fan_out_and_thread_mode(workdir: Path) -> None:
    env = {"ACCOUNTS_SYNC_FANOUT_SLEEP_MS": "20"}
    with _cluster(workdir, 100, **env) as made:
        threads = AccountsSyncActionsService(
            sync_service=ScriptedSyncService(),
            instances=made.service.instances,
            sessions=made.service.sessions,
            messages=Messages.english(),
        )
        prepared = made.service.prepare_background_full_sync(created_by=None)
        made.service.launch_background_full_sync(prepared=prepared)
        with pytest.raises(ConflictError):
            threads.prepare_background_full_sync(created_by=None)
        assert made.wait_terminal(prepared.session_id).status is SessionStatus.COMPLETED

        # A thread-mode session holds the lock: a scheduled fan-out run starts nothing.
        held = threads.prepare_background_full_sync(created_by=None)
        entry = full_sync_beat_entry(60.0, queue=made.queue)
        made.producer.send_task(entry["task"], args=entry["args"], **entry["options"])
        scheduled = wait_for(
            lambda: len(made.results("_full_sync")) >= 2 and made.results("_full_sync"),
            "the scheduled run",
        )
        assert scheduled[-1]["claimed"] is False
        assert scheduled[-1]["session_id"] == held.session_id
        threads.launch_background_full_sync(prepared=held)
        final = threads.wait(held.session_id, timeout=60)
        assert final.status is SessionStatus.COMPLETED
        assert not made.calls(held.session_id)  # the thread mode ran it, in this process
