"""Races the database must win: single flight across processes and threads, atomic counters."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa

from accounts_sync import ConflictError
from accounts_sync.sqlalchemy import (
    SqlAlchemyInstanceRepository,
    SqlAlchemySyncSessionRepository,
    sync_tables,
)
from accounts_sync.testing import make_instances

from . import _workers

pytestmark = pytest.mark.slow

PROCESSES = 8
THREADS = 16
INCREMENTS = 32


@pytest.fixture(scope="module")
def spawn_pool() -> Iterator[tuple[ProcessPoolExecutor, Any]]:
    """Eight warm spawned processes and a manager for barriers, shared by the module."""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(PROCESSES, mp_context=context) as pool:
        list(pool.map(_workers.warm_up, range(PROCESSES)))
        yield pool, manager


def seed(engine: sa.Engine, count: int = 3) -> None:
    SqlAlchemyInstanceRepository(engine).upsert(make_instances(count))


def session_rows(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(sync_tables.sessions.c.session_id)).scalars())


def assert_single_winner(outcomes: list[tuple[str, str | None]], engine: sa.Engine) -> None:
    created = [session_id for kind, session_id in outcomes if kind == "created"]
    assert len(created) == 1, outcomes
    assert [kind for kind, _ in outcomes].count("conflict") == len(outcomes) - 1
    # Every loser names the winner, and the database holds exactly that one session.
    assert {holder for kind, holder in outcomes if kind == "conflict"} == set(created)
    assert session_rows(engine) == created


def test_prepare_race_across_processes(
    sql_url: str, sql_engine: sa.Engine, spawn_pool: tuple[ProcessPoolExecutor, Any]
) -> None:
    pool, manager = spawn_pool
    seed(sql_engine)
    barrier = manager.Barrier(PROCESSES)
    futures = [
        pool.submit(_workers.prepare_when_released, sql_url, barrier) for _ in range(PROCESSES)
    ]
    assert_single_winner([future.result(timeout=120) for future in futures], sql_engine)


def test_prepare_race_across_threads(sql_url: str, sql_engine: sa.Engine) -> None:
    seed(sql_engine)
    service = _workers.service_for(sql_url)
    barrier = threading.Barrier(THREADS)

    def race(_: int) -> tuple[str, str | None]:
        barrier.wait(timeout=60)
        try:
            return "created", service.prepare_background_full_sync(created_by=1).session_id
        except ConflictError as conflict:
            return "conflict", conflict.extra.get("session_id")

    with ThreadPoolExecutor(THREADS) as threads:
        outcomes = list(threads.map(race, range(THREADS)))
    assert_single_winner(outcomes, sql_engine)


def test_concurrent_increments_lose_no_update(sql_engine: sa.Engine) -> None:
    seed(sql_engine, count=2)
    repo = SqlAlchemyInstanceRepository(sql_engine)
    barrier = threading.Barrier(INCREMENTS)

    def bump(index: int) -> None:
        barrier.wait(timeout=60)
        if index % 2:
            repo.increment_sync_count(1)
        else:
            repo.increment_sync_counts([1, 2])

    with ThreadPoolExecutor(INCREMENTS) as threads:
        list(threads.map(bump, range(INCREMENTS)))
    assert repo.sync_count(1) == INCREMENTS
    assert repo.sync_count(2) == INCREMENTS // 2


def test_concurrent_claims_have_one_winner(sql_engine: sa.Engine) -> None:
    repo = SqlAlchemySyncSessionRepository(sql_engine)
    session_id = repo.create_session(
        sync_type="manual_task", sync_category="account", created_by=None
    ).session_id
    barrier = threading.Barrier(THREADS)

    def claim(_: int) -> bool:
        barrier.wait(timeout=60)
        return repo.claim_session(session_id)

    with ThreadPoolExecutor(THREADS) as threads:
        assert sorted(threads.map(claim, range(THREADS))) == [False] * (THREADS - 1) + [True]


def test_concurrent_bulk_increments_with_mixed_steps_lose_nothing(sql_engine: sa.Engine) -> None:
    """Each call bumps some ids twice and others once (two UPDATEs in one transaction), over
    shared rows in opposite orders: without locking in id order, InnoDB deadlocks (1213) and
    the losing transaction's increments are lost."""
    SqlAlchemyInstanceRepository(sql_engine).upsert(make_instances(40))
    repo = SqlAlchemyInstanceRepository(sql_engine)
    forward = [*range(1, 41), *range(1, 21)]
    backward = [*range(40, 0, -1), *range(40, 20, -1)]
    rounds = 12
    barrier = threading.Barrier(THREADS)

    def bump(index: int) -> None:
        barrier.wait()
        for _ in range(rounds):
            repo.increment_sync_counts(forward if index % 2 else backward)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(bump, range(THREADS)))
    expected_each = THREADS * rounds * 3 // 2  # every id is bumped twice in one of two lists
    counts = [repo.sync_count(instance_id) for instance_id in range(1, 41)]
    assert sum(counts) == THREADS * rounds * 60
    assert counts == [expected_each] * 40
