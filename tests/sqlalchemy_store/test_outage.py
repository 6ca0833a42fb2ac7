"""PostgreSQL drops the task's connections mid-run: the session ends, nothing stays stuck.

A connection lost between operations is replaced at checkout (``pool_pre_ping``) and the run goes
on; one lost inside an operation fails the run, and the task marks the session ``failed`` through
a fresh connection. If even that fails, the session is left to the reaper.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import NullPool

from accounts_sync import (
    AccountsSyncActionsService,
    InlineLauncher,
    RecordStatus,
    SessionStatus,
    SyncCategory,
)
from accounts_sync.ports import utc_now
from accounts_sync.sqlalchemy import (
    SqlAlchemyInstanceRepository,
    SqlAlchemySyncSessionRepository,
    create_all,
    create_engine_for,
    instances_table,
)
from accounts_sync.testing import ManualClock, ScriptedSyncService, make_instances

pytestmark = [pytest.mark.services, pytest.mark.slow]

STALE_AFTER = dt.timedelta(minutes=10)
TERMINATE = sa.text("SELECT pg_terminate_backend(:pid, 5000)")
TERMINATE_OTHERS = sa.text(
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


@pytest.fixture
def engines(postgres_url: str) -> Iterator[tuple[sa.Engine, sa.Engine]]:
    """The store's engine (as the library sets it up) and an admin engine that kills."""
    engine = create_engine_for(postgres_url)
    admin = sa.create_engine(postgres_url, poolclass=NullPool)
    create_all(engine, instances=instances_table)
    SqlAlchemyInstanceRepository(engine).upsert(make_instances(60))
    yield engine, admin
    engine.dispose()
    admin.dispose()


def service_on(engine: sa.Engine, delay: float) -> AccountsSyncActionsService[Any]:
    return AccountsSyncActionsService(
        sync_service=ScriptedSyncService(default_delay=delay),
        instances=SqlAlchemyInstanceRepository(engine),
        sessions=SqlAlchemySyncSessionRepository(engine),
        launcher=InlineLauncher(),
    )


def settle(engine: sa.Engine, session_id: str) -> SqlAlchemySyncSessionRepository:
    """Reap the session if the outage left it open; check nothing is stuck; return the store."""
    clock = ManualClock(utc_now() + STALE_AFTER + dt.timedelta(seconds=1))
    sessions = SqlAlchemySyncSessionRepository(engine, clock=clock)
    sessions.reap_stale(stale_after=STALE_AFTER)
    info = sessions.get_session(session_id)
    assert info is not None
    assert info.is_terminal
    assert info.finished_instances == info.total_instances
    records = sessions.list_records(session_id)
    assert not {r.status for r in records} & {RecordStatus.PENDING, RecordStatus.RUNNING}
    assert sessions.get_active_session(SyncCategory.ACCOUNT) is None
    return sessions


def _kill_while_writing_outcomes(engine: sa.Engine, admin: sa.Engine, times: int) -> list[int]:
    """Terminate the connection each time it starts writing outcomes, ``times`` times."""
    killed: list[int] = []

    @event.listens_for(engine, "before_cursor_execute")
    def kill(conn: sa.Connection, cursor: Any, statement: str, *_: Any) -> None:
        if len(killed) < times and statement.startswith("UPDATE accounts_sync_sessions SET succ"):
            pid = conn.connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]
            with admin.connect() as killer:
                killer.execute(TERMINATE, {"pid": pid})
            killed.append(pid)

    return killed


def test_a_connection_killed_once_while_writing_outcomes_is_retried(
    engines: tuple[sa.Engine, sa.Engine],
) -> None:
    engine, admin = engines
    killed = _kill_while_writing_outcomes(engine, admin, times=1)
    service = service_on(engine, delay=0.0)
    prepared = service.prepare_background_full_sync(created_by=1)
    service.launch_background_full_sync(created_by=1, prepared=prepared)

    assert len(killed) == 1
    info = settle(engine, prepared.session_id).get_session(prepared.session_id)
    assert info is not None
    # The batch was written again on a fresh connection: nothing lost, nothing counted twice.
    assert info.status is SessionStatus.COMPLETED
    assert info.successful_instances == info.total_instances
    instances = SqlAlchemyInstanceRepository(engine)
    assert {instances.sync_count(i) for i in range(1, info.total_instances + 1)} == {1}


def test_a_connection_killed_on_every_try_fails_the_session(
    engines: tuple[sa.Engine, sa.Engine],
) -> None:
    engine, admin = engines
    killed = _kill_while_writing_outcomes(engine, admin, times=2)
    service = service_on(engine, delay=0.0)
    prepared = service.prepare_background_full_sync(created_by=1)
    service.launch_background_full_sync(created_by=1, prepared=prepared)

    assert len(killed) == 2
    info = service.sessions.get_session(prepared.session_id)
    assert info is not None
    assert info.status is SessionStatus.FAILED
    assert info.error_message is not None
    # The driver's own error, one line, with no SQL text or bound parameters.
    # psycopg 3.1 reports the kill as a generic OperationalError, later versions as AdminShutdown.
    error_type, _, text = info.error_message.partition(": ")
    assert error_type in ("AdminShutdown", "OperationalError")
    assert "terminating connection" in text
    assert "\n" not in info.error_message
    assert "SELECT" not in info.error_message.upper()
    assert "UPDATE" not in info.error_message.upper()
    settle(engine, prepared.session_id)
    assert service.prepare_background_full_sync(created_by=2)


def test_connections_killed_repeatedly_mid_run_leave_nothing_stuck(
    engines: tuple[sa.Engine, sa.Engine],
) -> None:
    engine, admin = engines
    service = service_on(engine, delay=0.02)
    prepared = service.prepare_background_full_sync(created_by=1)
    runner = threading.Thread(
        target=service.launch_background_full_sync,
        kwargs={"created_by": 1, "prepared": prepared},
    )
    kills = 0
    runner.start()
    with admin.connect() as killer:
        while runner.is_alive() and kills < 200:
            killer.execute(TERMINATE_OTHERS)
            killer.commit()
            kills += 1
            runner.join(0.03)
    runner.join(60)
    assert not runner.is_alive()
    sessions = settle(engine, prepared.session_id)
    info = sessions.get_session(prepared.session_id)
    assert info is not None
    assert info.status in (SessionStatus.COMPLETED, SessionStatus.FAILED)
    assert service.prepare_background_full_sync(created_by=2)
