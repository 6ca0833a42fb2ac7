"""The CLI's database: the sessions, the ready instances table and the ledger tables."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import attrs
import sqlalchemy as sa

from ..ledger import LedgerReader, build_ledger_tables
from ..sqlalchemy import (
    InstanceRow,
    SqlAlchemyInstanceRepository,
    SqlAlchemySyncSessionRepository,
    create_all,
    create_engine_for,
    instances_table,
)

__all__ = ["LEDGER_TABLES", "Store", "find_instance", "open_store", "opened"]

LEDGER_TABLES = build_ledger_tables()
"""The ledger tables the CLI keeps in ``--database`` (default prefix ``accounts_sync_``)."""


@attrs.frozen
class Store:
    """The CLI's database: the library's tables plus the ready instances table."""

    engine: sa.Engine
    instances: SqlAlchemyInstanceRepository[InstanceRow]
    sessions: SqlAlchemySyncSessionRepository

    @property
    def ledger(self) -> LedgerReader:
        return LedgerReader(self.engine, LEDGER_TABLES)


def open_store(url: str) -> Store:
    """Connect, create missing tables, and return the repositories."""
    engine = create_engine_for(url)
    create_all(engine, instances=instances_table)
    return Store(
        engine=engine,
        instances=SqlAlchemyInstanceRepository(engine, table=instances_table),
        sessions=SqlAlchemySyncSessionRepository(engine),
    )


@contextlib.contextmanager
def opened(url: str) -> Iterator[Store]:
    """``open_store`` with the ledger tables too; the engine is disposed on exit."""
    store = open_store(url)
    try:
        LEDGER_TABLES.create_all(store.engine)
        yield store
    finally:
        store.engine.dispose()


def find_instance(store: Store, ref: str) -> InstanceRow:
    """The instance whose id (all digits) or exact name is ``ref``; ``LookupError`` if none."""
    ref = ref.strip()
    rows = store.instances.find(ref)
    if not rows:
        raise LookupError(f"no instance {ref!r} (see `accounts-sync instances list`)")
    if len(rows) > 1:
        ids = ", ".join(str(row.id) for row in rows)
        raise LookupError(f"several instances are named {ref!r} (ids {ids}): give the id")
    return rows[0]
