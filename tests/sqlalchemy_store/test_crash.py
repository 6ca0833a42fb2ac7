"""A worker killed mid-run (SIGKILL) leaves a session the reaper recovers."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from accounts_sync import AccountsSyncActionsService, RecordStatus, SessionStatus
from accounts_sync.ports import utc_now
from accounts_sync.sqlalchemy import (
    SqlAlchemyInstanceRepository,
    SqlAlchemySyncSessionRepository,
    create_all,
    create_engine_for,
    instances_table,
)
from accounts_sync.testing import (
    ManualClock,
    RecordingLauncher,
    ScriptedSyncService,
    make_instances,
)

from . import _workers
from .conftest import backend_url

pytestmark = pytest.mark.slow

STALE_AFTER = dt.timedelta(minutes=10)


def wait_for_progress(repo: SqlAlchemySyncSessionRepository, *, finished: int) -> str:
    """The running session's id once at least ``finished`` of its records are done."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for info in repo.list_sessions(limit=1):
            if info.status is SessionStatus.RUNNING and info.finished_instances >= finished:
                return info.session_id
        time.sleep(0.05)
    raise AssertionError("the child never made progress")


@pytest.mark.parametrize(
    "backend", ["sqlite-file", pytest.param("postgresql", marks=pytest.mark.services)]
)
def test_a_killed_worker_is_reaped_and_a_new_sync_can_start(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> None:
    url = backend_url(request, backend, tmp_path)
    engine = create_engine_for(url)
    create_all(engine, instances=instances_table)
    SqlAlchemyInstanceRepository(engine).upsert(make_instances(30))
    watcher = SqlAlchemySyncSessionRepository(engine)

    child = multiprocessing.get_context("spawn").Process(
        target=_workers.run_slow_full_sync, args=(url, 0.2)
    )
    child.start()
    try:
        session_id = wait_for_progress(watcher, finished=2)
    finally:
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        child.join(30)
    assert child.exitcode == -signal.SIGKILL

    stuck = watcher.get_session(session_id)
    assert stuck is not None
    assert stuck.status is SessionStatus.RUNNING  # nothing ended it: only the reaper can

    clock = ManualClock(utc_now() + STALE_AFTER + dt.timedelta(seconds=1))
    sessions = SqlAlchemySyncSessionRepository(engine, clock=clock)
    assert sessions.reap_stale(stale_after=STALE_AFTER) == [session_id]

    reaped = sessions.get_session(session_id)
    assert reaped is not None
    assert reaped.status is SessionStatus.FAILED
    assert reaped.error_message == "同步会话已中断"
    records = sessions.list_records(session_id)
    assert len(records) == reaped.total_instances == 30
    assert not {r.status for r in records} & {RecordStatus.PENDING, RecordStatus.RUNNING}
    assert reaped.successful_instances == sum(r.status is RecordStatus.COMPLETED for r in records)
    assert reaped.finished_instances == reaped.total_instances

    service = AccountsSyncActionsService(
        sync_service=ScriptedSyncService(),
        instances=SqlAlchemyInstanceRepository(engine),
        sessions=sessions,
        launcher=RecordingLauncher(),
    )
    assert service.prepare_background_full_sync(created_by=2).session_id != session_id
    engine.dispose()
