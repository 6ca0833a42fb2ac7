"""LedgerReader: the accounts and the change log written by LedgerSyncService, read back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from accounts_sync.collectors import ServerSnapshot
from accounts_sync.ledger import LedgerReader, LedgerSyncService, build_ledger_tables
from accounts_sync.testing import FakeInstance, ManualClock
from tests.ledger._support import INSERT, SELECT, ScriptedCollector, account, registry_of

INSTANCE = FakeInstance(id=3, name="db-3", db_type="fake")
OTHER = FakeInstance(id=4, name="db-4", db_type="fake")
START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[LedgerReader]:
    """A ledger where db-3 gained alice and bob, then bob a privilege, then lost alice."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    source = sa.create_engine("sqlite://")
    tables = build_ledger_tables(prefix="r_")
    tables.create_all(engine)
    clock = ManualClock(START)
    collector = ScriptedCollector(
        ServerSnapshot(db_type="fake", accounts=[account("alice", SELECT), account("bob")])
    )
    service = LedgerSyncService(
        ledger=engine,
        connect=lambda instance: source,
        tables=tables,
        collectors=registry_of(collector),
        clock=clock,
        max_removal_ratio=1.0,
    )
    assert service.sync_accounts(INSTANCE)["success"]
    assert service.sync_accounts(OTHER)["success"]
    clock.advance(dt.timedelta(minutes=1))
    collector.set_accounts(account("alice", SELECT), account("bob", INSERT))
    assert service.sync_accounts(INSTANCE)["success"]
    clock.advance(dt.timedelta(minutes=1))
    collector.set_accounts(account("bob", INSERT))
    assert service.sync_accounts(INSTANCE)["success"]
    yield LedgerReader(engine, tables)
    engine.dispose()
    source.dispose()


def test_accounts_are_the_active_ones_by_key_unless_removed_ones_are_asked_for(
    reader: LedgerReader,
) -> None:
    active = reader.accounts(INSTANCE.id)
    assert [(a.key, a.is_active, a.privilege_count) for a in active] == [("bob@%", True, 1)]
    everything = reader.accounts(INSTANCE.id, include_removed=True)
    assert [(a.key, a.is_active) for a in everything] == [("alice@%", False), ("bob@%", True)]
    assert everything[0].deactivated_at == START + dt.timedelta(minutes=2)
    assert everything[0].kind == "user" and not everything[0].is_superuser
    assert reader.accounts(99) == []


def test_changes_are_newest_first_per_instance_and_limited(
    reader: LedgerReader,
) -> None:
    changes = reader.changes(INSTANCE.id, limit=10)
    assert [(c.change_type, c.account_key) for c in changes] == [
        ("removed", "alice@%"),
        ("modified", "bob@%"),
        ("added", "bob@%"),
        ("added", "alice@%"),
    ]
    assert changes[0].changed_at > changes[1].changed_at > changes[2].changed_at
    assert changes[1].diff["granted"][0]["privilege"] == "INSERT"
    assert reader.changes(INSTANCE.id, limit=1) == changes[:1]
    assert len(reader.changes(OTHER.id, limit=10)) == 2
    with pytest.raises(ValueError, match="limit"):
        reader.changes(INSTANCE.id, limit=0)
