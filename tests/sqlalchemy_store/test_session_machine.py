"""The core suite's session state machine, run against the SQL store (SQLite in memory)."""

from __future__ import annotations

import sqlalchemy as sa
from hypothesis import HealthCheck, settings

from accounts_sync.ports import Clock, SyncSessionRepository
from accounts_sync.sqlalchemy import SqlAlchemySyncSessionRepository, create_all, create_engine_for
from tests.core.session_machine import make_session_machine

_engines: dict[int, sa.Engine] = {}


def fresh_repository(clock: Clock) -> SqlAlchemySyncSessionRepository:
    engine = create_engine_for("sqlite://")
    create_all(engine)
    repo = SqlAlchemySyncSessionRepository(engine, clock=clock)
    _engines[id(repo)] = engine
    return repo


def dispose(repo: SyncSessionRepository) -> None:
    _engines.pop(id(repo)).dispose()


SqlSessionMachine = make_session_machine(fresh_repository, teardown=dispose)

TestSqlSessionMachine = SqlSessionMachine.TestCase
TestSqlSessionMachine.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
