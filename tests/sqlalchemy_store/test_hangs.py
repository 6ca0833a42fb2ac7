"""No hang holds the fleet hostage, on real databases: the "no progress" reaper rule, the
engine's timeouts against a silent server, and a final write lost to a killed connection."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import NullPool

from accounts_sync import AccountsSyncActionsService, InlineLauncher, SessionStatus
from accounts_sync.sqlalchemy import (
    SqlAlchemyInstanceRepository,
    SqlAlchemySyncSessionRepository,
    create_all,
    create_engine_for,
    instances_table,
)
from accounts_sync.testing import ScriptedSyncService, make_instances

SLEEP = {"postgresql": "SELECT pg_sleep(3)", "mysql": "SELECT SLEEP(3)"}


# --- timeouts against a silent server ---------------------------------------------------------


@pytest.fixture(
    params=[
        pytest.param("postgres_url", marks=pytest.mark.services),
        pytest.param("mysql_url", marks=pytest.mark.services),
    ]
)
def server_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(request.param)
    return url


def connect_params(engine: sa.Engine) -> dict[str, Any]:
    """What the engine hands the driver when it connects."""
    seen: dict[str, Any] = {}

    @event.listens_for(engine, "do_connect")
    def record(dialect: Any, conn_rec: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        seen.update(cparams)

    with engine.connect():
        pass
    return seen


def test_server_engines_get_timeouts_by_default(server_url: str) -> None:
    engine = create_engine_for(server_url)
    try:
        args = connect_params(engine)
        assert args["connect_timeout"] == 10
        assert args.get("read_timeout", 60) == 60
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "1min"
    finally:
        engine.dispose()


def test_a_statement_past_the_timeout_fails_instead_of_hanging(server_url: str) -> None:
    engine = create_engine_for(server_url, statement_timeout=1)
    try:
        with pytest.raises(sa.exc.OperationalError), engine.connect() as conn:
            conn.exec_driver_sql(SLEEP[engine.dialect.name])
    finally:
        engine.dispose()


def test_a_host_turns_the_timeouts_off_or_overrides_them(server_url: str) -> None:
    engine = create_engine_for(
        server_url, statement_timeout=None, connect_args={"connect_timeout": 3}
    )
    try:
        args = connect_params(engine)
        assert args["connect_timeout"] == 3
        assert not {"options", "read_timeout"} & set(args)
    finally:
        engine.dispose()


# --- the final write lost to a killed connection ----------------------------------------------


@pytest.fixture(
    params=[
        pytest.param("postgres_url", marks=[pytest.mark.services, pytest.mark.slow]),
        pytest.param("mysql_url", marks=[pytest.mark.services, pytest.mark.slow]),
    ]
)
def engines(request: pytest.FixtureRequest) -> Iterator[tuple[sa.Engine, sa.Engine]]:
    """The store's engine (as the library sets it up) and an admin engine that kills."""
    url = request.getfixturevalue(request.param)
    engine = create_engine_for(url)
    admin = sa.create_engine(url, poolclass=NullPool)
    create_all(engine, instances=instances_table)
    SqlAlchemyInstanceRepository(engine).upsert(make_instances(3))
    yield engine, admin
    engine.dispose()
    admin.dispose()


def kill_final_writes(engine: sa.Engine, admin: sa.Engine, times: int) -> list[int]:
    """Kill the connection under each of the first ``times`` ``finish_session`` writes."""
    killed: list[int] = []

    @event.listens_for(engine, "before_cursor_execute")
    def kill(conn: sa.Connection, cursor: Any, statement: str, *_: Any) -> None:
        final = statement.startswith("UPDATE accounts_sync_sessions SET status")
        if final and "completed_at" in statement and len(killed) < times:
            raw: Any = conn.connection.dbapi_connection
            with admin.connect() as killer:
                if engine.dialect.name == "postgresql":
                    pid = raw.info.backend_pid
                    killer.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
                else:
                    pid = raw.thread_id()
                    killer.exec_driver_sql(f"KILL {int(pid)}")
            killed.append(pid)

    return killed


def service_on(engine: sa.Engine) -> AccountsSyncActionsService[Any]:
    return AccountsSyncActionsService(
        sync_service=ScriptedSyncService(),
        instances=SqlAlchemyInstanceRepository(engine),
        sessions=SqlAlchemySyncSessionRepository(engine),
        launcher=InlineLauncher(),
    )


Check = Callable[[AccountsSyncActionsService[Any], str], None]


@pytest.mark.parametrize(
    ("kills", "who"),
    [(1, "the retry"), (3, "the job wrapper"), (4, "the next prepare")],
)
def test_a_final_write_lost_to_a_killed_connection_ends_the_session_quickly(
    engines: tuple[sa.Engine, sa.Engine], kills: int, who: str
) -> None:
    engine, admin = engines
    killed = kill_final_writes(engine, admin, kills)
    service = service_on(engine)
    prepared = service.prepare_background_full_sync()
    service.launch_background_full_sync(prepared=prepared)
    assert len(killed) == kills

    if who == "the next prepare":
        running = service.sessions.get_session(prepared.session_id)
        assert running is not None and running.status is SessionStatus.RUNNING
        assert service.prepare_background_full_sync()
    info = service.sessions.get_session(prepared.session_id)
    assert info is not None
    assert info.status is SessionStatus.COMPLETED, who
    assert info.successful_instances == info.total_instances == 3
