"""A scripted collector and ledger inspection helpers for the service tests."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import sqlalchemy as sa

from accounts_sync.collectors import (
    AccountSnapshot,
    Bind,
    CollectorRegistry,
    Membership,
    Privilege,
    ServerSnapshot,
)
from accounts_sync.ledger import LedgerSyncService, LedgerTables, build_ledger_tables
from accounts_sync.testing import FakeInstance


@attrs.define
class ScriptedCollector:
    """Returns ``snapshot``, or raises ``error``; counts its calls."""

    snapshot: ServerSnapshot
    error: BaseException | None = None
    calls: int = 0
    binds: list[Bind] = attrs.Factory(list)

    def collect(self, bind: Bind) -> ServerSnapshot:
        self.calls += 1
        self.binds.append(bind)
        if self.error is not None:
            raise self.error
        return self.snapshot

    def set_accounts(self, *accounts: AccountSnapshot, **fields: Any) -> None:
        self.snapshot = attrs.evolve(self.snapshot, accounts=accounts, **fields)


def registry_of(collector: ScriptedCollector, db_type: str = "fake") -> CollectorRegistry:
    return CollectorRegistry({db_type: collector})


def account(name: str, *privileges: Privilege, **fields: Any) -> AccountSnapshot:
    fields.setdefault("host", "%")
    return AccountSnapshot(key=f"{name}@%", username=name, privileges=privileges, **fields)


SELECT = Privilege("database", ("app",), "SELECT")
INSERT = Privilege("database", ("app",), "INSERT")
ORDERS = Privilege("table", ("app", "orders"), "UPDATE", True)
ROLE = Membership("readers@")


def dump(engine: sa.Engine, tables: LedgerTables) -> list[tuple[Any, ...]]:
    """Every row of both ledger tables, in id order."""
    with engine.connect() as conn:
        rows = [
            ("account", *row)
            for row in conn.execute(sa.select(tables.accounts).order_by(tables.accounts.c.id))
        ]
        rows += [
            ("change", *row)
            for row in conn.execute(sa.select(tables.changes).order_by(tables.changes.c.id))
        ]
    return rows


@attrs.define
class Setup:
    service: LedgerSyncService[FakeInstance]
    instance: FakeInstance
    engine: sa.Engine
    tables: LedgerTables
    source: sa.Engine

    def sync(self, **options: object) -> dict[str, object]:
        return self.service.sync_accounts(self.instance, **options)  # type: ignore[arg-type]

    def dump(self) -> list[tuple[object, ...]]:
        return dump(self.engine, self.tables)

    def changes_since(self, mark: int) -> list[dict[str, object]]:
        return changes(self.engine, self.tables, mark)

    def mark(self) -> int:
        return last_change_id(self.engine, self.tables)


def sqlite_ledger_in(directory: Path) -> Iterator[tuple[sa.Engine, LedgerTables]]:
    """A SQLite-file ledger in ``directory``, disposed of afterwards (for a fixture)."""
    engine = sa.create_engine(f"sqlite:///{directory / 'ledger.sqlite3'}")
    tables = build_ledger_tables()
    tables.create_all(engine)
    yield engine, tables
    engine.dispose()


def ledger_setup(
    ledger: tuple[sa.Engine, LedgerTables], url: str, db_type: str, collector: object
) -> Setup:
    engine, tables = ledger
    source = sa.create_engine(url)
    service: LedgerSyncService[FakeInstance] = LedgerSyncService(
        ledger=engine,
        connect=lambda instance: source,
        tables=tables,
        collectors=CollectorRegistry({db_type: collector}),  # type: ignore[dict-item]
    )
    return Setup(service, FakeInstance(id=1, name="db-1", db_type=db_type), engine, tables, source)


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def changes(engine: sa.Engine, tables: LedgerTables, after_id: int = 0) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        query = (
            sa.select(tables.changes)
            .where(tables.changes.c.id > after_id)
            .order_by(tables.changes.c.id)
        )
        return [dict(row._mapping) for row in conn.execute(query)]


def last_change_id(engine: sa.Engine, tables: LedgerTables) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(tables.changes.c.id))).scalar() or 0)
