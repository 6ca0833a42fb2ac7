"""Benchmarks of the collectors and the account ledger (docs: Performance, Collecting).

Each function returns milliseconds (median of its repetitions); ``quick`` only lowers the
number of repetitions, never the sizes. ``benchmarks/run.py`` calls them.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from accounts_sync.collectors import (
    AccountSnapshot,
    CollectorRegistry,
    Membership,
    PostgresCollector,
    Privilege,
    ServerSnapshot,
    StaticCollector,
)
from accounts_sync.ledger import LedgerSyncService, build_ledger_tables
from accounts_sync.testing import FakeInstance

__all__ = [
    "collect_ms_500_roles_postgresql",
    "ledger_apply_ms_10000_accounts_sqlite",
    "ledger_noop_ms_10000_accounts_sqlite",
]

POSTGRES_URL = os.environ.get(
    "ACCOUNTS_SYNC_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
_ACCOUNTS = 10_000
_ROLES = 500


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def _server(accounts: int) -> ServerSnapshot:
    """A synthetic MySQL-like server: every account with grants at four levels and a role."""
    snapshots = []
    for index in range(accounts):
        user = f"user{index:05d}"
        database = f"db{index % 50:02d}"
        snapshots.append(
            AccountSnapshot(
                key=f"{user}@%",
                username=user,
                host="%",
                is_locked=index % 97 == 0,
                attributes={"plugin": "mysql_native_password", "password_expired": False},
                memberships=[Membership(f"role{index % 20:02d}@")],
                privileges=[
                    Privilege("global", (), "PROCESS"),
                    Privilege("database", (database,), "SELECT"),
                    Privilege("database", (database,), "INSERT"),
                    Privilege("table", (database, "orders"), "UPDATE", True),
                    Privilege("column", (database, "orders", "amount"), "SELECT"),
                ],
            )
        )
    return ServerSnapshot(db_type="bench", server_version="1.0", accounts=snapshots)


def _ledger_service(
    path: Path, server: Callable[[], ServerSnapshot]
) -> tuple[LedgerSyncService[FakeInstance], Callable[[], None]]:
    ledger = sa.create_engine(f"sqlite:///{path}")
    tables = build_ledger_tables()
    tables.create_all(ledger)
    source = sa.create_engine("sqlite://")
    registry = CollectorRegistry()

    def refresh() -> None:
        # New snapshot objects each run, as a real collection makes: no cached digests.
        registry.register("bench", StaticCollector(server()))

    refresh()
    service = LedgerSyncService(
        ledger=ledger, connect=lambda instance: source, tables=tables, collectors=registry
    )
    return service, refresh


def _timed_sync(service: LedgerSyncService[FakeInstance], instance: FakeInstance) -> float:
    started = time.perf_counter()
    result = service.sync_accounts(instance)
    elapsed = time.perf_counter() - started
    if not result["success"]:
        raise RuntimeError(result["message"])
    return elapsed


def ledger_apply_ms_10000_accounts_sqlite(quick: bool) -> float:
    """First sync of 10,000 accounts into an empty SQLite-file ledger (target ≤ 1000 ms)."""
    instance = FakeInstance(id=1, name="bench", db_type="bench")
    samples = []
    for _ in range(1 if quick else 3):
        with tempfile.TemporaryDirectory() as directory:
            service, _refresh = _ledger_service(
                Path(directory) / "ledger.sqlite3", lambda: _server(_ACCOUNTS)
            )
            samples.append(_timed_sync(service, instance))
            service.ledger.dispose()
    return _median_ms(samples)


def ledger_noop_ms_10000_accounts_sqlite(quick: bool) -> float:
    """Sync of an unchanged 10,000-account server, SQLite-file ledger (target ≤ 1000 ms)."""
    instance = FakeInstance(id=1, name="bench", db_type="bench")
    samples = []
    with tempfile.TemporaryDirectory() as directory:
        service, refresh = _ledger_service(
            Path(directory) / "ledger.sqlite3", lambda: _server(_ACCOUNTS)
        )
        _timed_sync(service, instance)
        for _ in range(2 if quick else 5):
            refresh()
            samples.append(_timed_sync(service, instance))
        service.ledger.dispose()
    return _median_ms(samples)


def collect_ms_500_roles_postgresql(quick: bool) -> float:
    """``PostgresCollector.collect`` with 500 roles, each with grants and a membership
    (target ≤ 500 ms). Creates a scratch database and uniquely named roles, drops both."""
    tag = f"asb{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    database = f"{tag}_db"
    roles = [f"{tag}_r{index:03d}" for index in range(_ROLES)]
    group = f"{tag}_group"
    engine = sa.create_engine(sa.make_url(POSTGRES_URL).set(database=database))
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{database}"')
            conn.exec_driver_sql(f'CREATE ROLE "{group}" NOLOGIN')
            conn.exec_driver_sql(
                ";".join(f'CREATE ROLE "{role}" LOGIN IN ROLE "{group}"' for role in roles)
            )
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE orders (id int, amount numeric)")
            conn.exec_driver_sql(
                ";".join(
                    f'GRANT SELECT ON orders TO "{role}";'
                    f'GRANT UPDATE (amount) ON orders TO "{role}"'
                    for role in roles
                )
            )
        collector = PostgresCollector()
        samples = []
        with engine.connect() as conn:
            collector.collect(conn)  # warm the catalogue caches once
            for _ in range(3 if quick else 10):
                started = time.perf_counter()
                snapshot = collector.collect(conn)
                samples.append(time.perf_counter() - started)
        if sum(1 for account in snapshot.accounts if account.key.startswith(tag)) != _ROLES + 1:
            raise RuntimeError("the collection missed some of the benchmark roles")
        return _median_ms(samples)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.exec_driver_sql(
                ";".join(f'DROP ROLE IF EXISTS "{role}"' for role in [*roles, group])
            )
        admin.dispose()


if __name__ == "__main__":
    import sys

    quick_mode = "--quick" in sys.argv
    for figure in (
        collect_ms_500_roles_postgresql,
        ledger_apply_ms_10000_accounts_sqlite,
        ledger_noop_ms_10000_accounts_sqlite,
    ):
        print(figure.__name__, figure(quick_mode))
