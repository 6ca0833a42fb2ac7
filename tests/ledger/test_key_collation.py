"""Account keys differing only in case or trailing spaces are distinct, on every ledger backend."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from accounts_sync.collectors import AccountSnapshot, ServerSnapshot
from accounts_sync.ledger import LedgerSyncService, build_ledger_tables
from accounts_sync.testing import FakeInstance
from tests.ledger._support import ScriptedCollector, registry_of

KEYS = ["Alice", "alice", "bob", "bob "]


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.services)])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    url: str = request.getfixturevalue("mysql_url")
    return url


def test_case_and_space_variants_are_separate_accounts(ledger_url: str) -> None:
    engine = sa.create_engine(ledger_url)
    source = sa.create_engine("sqlite://")
    tables = build_ledger_tables(prefix="kc_")
    tables.create_all(engine)
    snapshot = ServerSnapshot(
        db_type="fake",
        server_version="1",
        accounts=[AccountSnapshot(key=key, username=key) for key in KEYS],
    )
    service = LedgerSyncService(
        ledger=engine,
        connect=lambda instance: source,
        tables=tables,
        collectors=registry_of(ScriptedCollector(snapshot)),
    )
    try:
        first = service.sync_accounts(FakeInstance(id=1, name="db", db_type="fake"))
        assert first["success"], first["message"]
        assert first["added_count"] == len(KEYS)
        with engine.connect() as conn:
            stored = conn.execute(sa.select(tables.accounts.c.account_key)).scalars().all()
        assert sorted(stored) == sorted(KEYS)
        again = service.sync_accounts(FakeInstance(id=1, name="db", db_type="fake"))
        assert again["success"]
        assert (again["added_count"], again["modified_count"], again["removed_count"]) == (0, 0, 0)
    finally:
        engine.dispose()
        source.dispose()
