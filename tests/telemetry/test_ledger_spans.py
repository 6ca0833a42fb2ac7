"""The ledger's collection and apply spans, and its change counter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from opentelemetry.trace import StatusCode

from accounts_sync.collectors import ServerSnapshot
from accounts_sync.ledger import LedgerSyncService, build_ledger_tables
from accounts_sync.telemetry import (
    APPLY_SPAN,
    COLLECT_SPAN,
    DB_SYSTEM,
    ERROR_TYPE,
    INSTANCE_ID,
    LEDGER_CHANGE_KIND,
    LEDGER_CHANGES,
    SESSION_ID,
    SYNCED_COUNT,
)
from accounts_sync.testing import FakeInstance
from tests.ledger._support import INSERT, SELECT, ScriptedCollector, account, registry_of

from .conftest import Telemetry

INSTANCE = FakeInstance(id=7, name="db-7", db_type="fake")


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[tuple[LedgerSyncService[FakeInstance], ScriptedCollector]]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    tables = build_ledger_tables()
    tables.create_all(engine)
    source = sa.create_engine("sqlite://")
    snapshot = ServerSnapshot(
        db_type="fake",
        server_version="1.0",
        accounts=[account("alice", SELECT), account("bob", SELECT, INSERT)],
    )
    collector = ScriptedCollector(snapshot)
    service = LedgerSyncService(
        ledger=engine,
        connect=lambda instance: source,
        tables=tables,
        collectors=registry_of(collector),
    )
    yield service, collector
    engine.dispose()
    source.dispose()


def test_a_ledger_sync_is_a_collection_then_an_apply_and_counts_its_changes(
    otel: Telemetry, ledger: tuple[LedgerSyncService[FakeInstance], ScriptedCollector]
) -> None:
    service, collector = ledger
    service.sync_accounts(INSTANCE, session_id="s-1", sync_type="manual_task")
    collector.set_accounts(account("alice", SELECT, INSERT))
    service.sync_accounts(INSTANCE, session_id="s-2")

    first_collect, _ = otel.spans(COLLECT_SPAN)
    first_apply, second_apply = otel.spans(APPLY_SPAN)
    assert dict(first_collect.attributes) == {INSTANCE_ID: 7, DB_SYSTEM: "fake"}
    assert first_apply.attributes[SESSION_ID] == "s-1"
    assert first_apply.attributes[SYNCED_COUNT] == 2
    assert second_apply.attributes[SYNCED_COUNT] == 1
    assert otel.values(LEDGER_CHANGES.name) == {
        ((LEDGER_CHANGE_KIND, "added"),): 2,
        ((LEDGER_CHANGE_KIND, "modified"),): 1,
        ((LEDGER_CHANGE_KIND, "removed"),): 1,
    }


def test_a_failed_collection_fails_its_span_with_the_redacted_cause(
    otel: Telemetry, ledger: tuple[LedgerSyncService[FakeInstance], ScriptedCollector]
) -> None:
    service, collector = ledger
    collector.error = ConnectionError("no route to postgresql://admin:S3cretPw@db7/app")

    result = service.sync_accounts(INSTANCE)

    assert result["success"] is False
    collect = otel.one(COLLECT_SPAN)
    assert collect.status.status_code is StatusCode.ERROR
    assert collect.attributes[ERROR_TYPE] == "ConnectionError"
    assert "admin:***@db7" in (collect.status.description or "")
    assert "S3cretPw" not in repr([event.attributes for event in collect.events])
    assert otel.spans(APPLY_SPAN) == []
    assert otel.values(LEDGER_CHANGES.name) == {}
