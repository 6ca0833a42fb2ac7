"""LedgerSyncService on a SQLite-file ledger with a scripted collector."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa

from accounts_sync import SupportsAccountSync
from accounts_sync.collectors import (
    AccountKind,
    CollectionError,
    Privilege,
    ServerSnapshot,
    UnsupportedDatabaseError,
)
from accounts_sync.ledger import (
    AccountDiff,
    ChangeType,
    LedgerMessages,
    LedgerSyncService,
    LedgerTables,
    build_ledger_tables,
)
from accounts_sync.testing import FakeInstance, ManualClock
from tests.ledger._support import (
    INSERT,
    ORDERS,
    ROLE,
    SELECT,
    ScriptedCollector,
    account,
    changes,
    dump,
    file_digest,
    last_change_id,
    registry_of,
)

INSTANCE = FakeInstance(id=7, name="db-7", db_type="fake")
START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)


@attrs.define
class Ledger:
    engine: sa.Engine
    tables: LedgerTables
    path: Path
    collector: ScriptedCollector
    clock: ManualClock
    source: sa.Engine

    def service(self, **options: object) -> LedgerSyncService[FakeInstance]:
        return LedgerSyncService(
            ledger=self.engine,
            connect=lambda instance: self.source,
            tables=self.tables,
            collectors=registry_of(self.collector),
            clock=self.clock,
            **options,  # type: ignore[arg-type]
        )

    def dump(self) -> list[tuple[object, ...]]:
        return dump(self.engine, self.tables)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    path = tmp_path / "ledger.sqlite3"
    engine = sa.create_engine(f"sqlite:///{path}")
    tables = build_ledger_tables(prefix="t_")
    tables.create_all(engine)
    source = sa.create_engine("sqlite://")
    collector = ScriptedCollector(
        ServerSnapshot(
            db_type="fake",
            server_version="1.0",
            accounts=[
                account("alice", SELECT, memberships=[ROLE]),
                account("bob", SELECT, INSERT),
                account("carol", ORDERS, kind=AccountKind.ROLE),
            ],
        )
    )
    yield Ledger(engine, tables, path, collector, ManualClock(START), source)
    engine.dispose()
    source.dispose()


def test_the_service_is_a_supports_account_sync(ledger: Ledger) -> None:
    assert isinstance(ledger.service(), SupportsAccountSync)


def test_lifecycle_added_unchanged_modified_removed_reactivated(ledger: Ledger) -> None:
    service = ledger.service()
    first = service.sync_accounts(
        INSTANCE, sync_type="manual_batch", session_id="s-1", created_by=3
    )
    assert first["success"] is True
    assert first["message"] == "同步 3 个账户、新增 3 个"
    assert (
        first["synced_count"],
        first["added_count"],
        first["modified_count"],
        first["removed_count"],
    ) == (3, 3, 0, 0)
    rows = changes(ledger.engine, ledger.tables)
    assert [(r["account_key"], r["change_type"]) for r in rows] == [
        ("alice@%", "added"),
        ("bob@%", "added"),
        ("carol@%", "added"),
    ]
    assert {(r["session_id"], r["sync_type"], r["created_by"], r["changed_at"]) for r in rows} == {
        ("s-1", "manual_batch", 3, START)
    }
    assert AccountDiff.from_json(rows[0]["diff"]).granted == {SELECT}

    # An unchanged server: no row written, the file not even touched.
    before, digest = ledger.dump(), file_digest(ledger.path)
    ledger.clock.advance(60)
    unchanged = service.sync_accounts(INSTANCE)
    assert unchanged["message"] == "同步 3 个账户"
    assert unchanged["added_count"] == unchanged["modified_count"] == 0
    assert ledger.dump() == before and file_digest(ledger.path) == digest

    # A grant and a revoke: exactly one ``modified`` change with the exact diff.
    mark = last_change_id(ledger.engine, ledger.tables)
    ledger.collector.set_accounts(
        account("alice", SELECT, INSERT, memberships=[ROLE]),
        account("bob", SELECT, INSERT),
        account("carol", ORDERS, kind=AccountKind.ROLE, is_locked=True),
    )
    plan = service.plan(INSTANCE)
    modified = service.sync_accounts(INSTANCE)
    assert modified["message"] == "同步 3 个账户、更新 2 个"
    rows = changes(ledger.engine, ledger.tables, mark)
    assert [(r["account_key"], r["change_type"]) for r in rows] == [
        ("alice@%", "modified"),
        ("carol@%", "modified"),
    ]
    assert rows[0]["diff"] == {
        "granted": [INSERT.to_json()],
        "revoked": [],
        "memberships_granted": [],
        "memberships_revoked": [],
        "changed": {},
    }
    assert rows[1]["diff"]["changed"] == {"is_locked": {"before": False, "after": True}}
    assert [change.to_json() for change in plan.changes] == [
        {
            "change_type": r["change_type"],
            "key": r["account_key"],
            "kind": r["kind"],
            "diff": r["diff"],
        }
        for r in rows
    ]

    # A dropped account is removed (kept in the ledger, inactive).
    mark = last_change_id(ledger.engine, ledger.tables)
    ledger.clock.advance(60)
    ledger.collector.set_accounts(
        account("alice", SELECT, INSERT, memberships=[ROLE]),
        account("carol", ORDERS, kind=AccountKind.ROLE, is_locked=True),
    )
    removed = service.sync_accounts(INSTANCE)
    assert (removed["synced_count"], removed["removed_count"]) == (2, 1)
    assert removed["message"] == "同步 2 个账户、移除 1 个"
    (row,) = changes(ledger.engine, ledger.tables, mark)
    assert (row["account_key"], row["change_type"], row["digest"]) == ("bob@%", "removed", None)
    assert AccountDiff.from_json(row["diff"]).revoked == {SELECT, INSERT}
    bob = _account_row(ledger, "bob@%")
    assert (bob["is_active"], bob["deactivated_at"]) == (False, START + dt.timedelta(seconds=120))

    # Re-created with different grants: reactivated, diffed against its last snapshot.
    mark = last_change_id(ledger.engine, ledger.tables)
    ledger.clock.advance(60)
    ledger.collector.set_accounts(
        account("alice", SELECT, INSERT, memberships=[ROLE]),
        account("bob", SELECT),
        account("carol", ORDERS, kind=AccountKind.ROLE, is_locked=True),
    )
    back = service.sync_accounts(INSTANCE)
    assert (back["added_count"], back["details"]["reactivated"], back["details"]["added"]) == (
        1,
        1,
        0,
    )
    (row,) = changes(ledger.engine, ledger.tables, mark)
    assert (row["account_key"], row["change_type"]) == ("bob@%", "reactivated")
    assert AccountDiff.from_json(row["diff"]) == AccountDiff(revoked=[INSERT])
    bob = _account_row(ledger, "bob@%")
    assert (bob["is_active"], bob["deactivated_at"]) == (True, None)
    assert (bob["first_seen_at"], bob["last_seen_at"]) == (START, START + dt.timedelta(seconds=180))
    assert bob["snapshot"] == account("bob", SELECT).to_json()
    assert bob["digest"] == account("bob", SELECT).digest


def _account_row(ledger: Ledger, key: str) -> dict[str, object]:
    accounts = ledger.tables.accounts
    with ledger.engine.connect() as conn:
        row = conn.execute(sa.select(accounts).where(accounts.c.account_key == key)).one()
    return dict(row._mapping)


def test_public_privileges_are_tracked_but_never_counted(ledger: Ledger) -> None:
    service = ledger.service()
    connect = Privilege("database", ("app",), "CONNECT")
    ledger.collector.snapshot = attrs.evolve(ledger.collector.snapshot, public_privileges=[])
    first = service.sync_accounts(INSTANCE)
    assert (first["added_count"], first["details"]["public_changed"]) == (3, True)
    mark = last_change_id(ledger.engine, ledger.tables)
    ledger.collector.snapshot = attrs.evolve(ledger.collector.snapshot, public_privileges=[connect])
    second = service.sync_accounts(INSTANCE)
    assert second["message"] == "同步 3 个账户"
    assert (second["modified_count"], second["details"]["public_changed"]) == (0, True)
    (row,) = changes(ledger.engine, ledger.tables, mark)
    assert (row["account_key"], row["kind"], row["change_type"]) == ("public", "public", "modified")
    assert row["diff"]["granted"] == [connect.to_json()]


def test_removal_guard_refuses_then_force_overrides(ledger: Ledger) -> None:
    service = ledger.service()
    service.sync_accounts(INSTANCE)
    ledger.collector.set_accounts(account("alice", SELECT, memberships=[ROLE]))
    before, digest = ledger.dump(), file_digest(ledger.path)
    refused = service.sync_accounts(INSTANCE)
    assert refused["success"] is False
    assert refused["message"].startswith("本次同步将移除 2/3 个活跃账户")
    assert refused["details"] == {
        "instance_id": 7,
        "db_type": "fake",
        "stage": "guard",
        "removed": 2,
        "active": 3,
        "max_removal_ratio": 0.5,
    }
    assert ledger.dump() == before and file_digest(ledger.path) == digest
    forced = service.sync_accounts(INSTANCE, force=True)
    assert (forced["success"], forced["removed_count"], forced["details"]["forced"]) == (
        True,
        2,
        True,
    )
    # A laxer ratio lets the same removal through without force.
    assert ledger.service(max_removal_ratio=1.0).max_removal_ratio == 1.0
    with pytest.raises(ValueError):
        ledger.service(max_removal_ratio=1.5)


def test_an_empty_collection_never_empties_the_ledger(ledger: Ledger) -> None:
    service = ledger.service()
    service.sync_accounts(INSTANCE)
    ledger.collector.set_accounts()
    before = ledger.dump()
    result = service.sync_accounts(INSTANCE)
    assert result["success"] is False and result["details"]["stage"] == "guard"
    assert ledger.dump() == before


@pytest.mark.parametrize(
    ("case", "stage", "message"),
    [
        (
            "connect",
            "connect",
            "连接数据库失败: OperationalError: could not reach mysql://svc:***@db",
        ),
        ("collect", "collect", "采集账户失败: CollectionError: cannot read mysql.db"),
        ("incomplete", "collect", "账户采集不完整, 台账未修改"),
        ("unsupported", "unsupported", "不支持的数据库类型: oracle"),
    ],
)
def test_failures_change_nothing_and_are_redacted(
    ledger: Ledger, case: str, stage: str, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    ledger.service().sync_accounts(INSTANCE)
    ledger.collector.set_accounts(account("alice", INSERT))
    instance = INSTANCE
    service = ledger.service()
    if case == "connect":

        def refuse(instance: FakeInstance) -> sa.Engine:
            raise sa.exc.OperationalError(
                "connect", {}, OSError("could not reach mysql://svc:s3cr3t-pw@db\nmore")
            )

        service = LedgerSyncService(
            ledger=ledger.engine,
            connect=refuse,
            tables=ledger.tables,
            collectors=registry_of(ledger.collector),
        )
        message = message.replace("OperationalError", "OSError")
    elif case == "collect":
        ledger.collector.error = CollectionError("cannot read mysql.db")
    elif case == "incomplete":
        ledger.collector.snapshot = attrs.evolve(ledger.collector.snapshot, complete=False)
    else:
        instance = attrs.evolve(INSTANCE, db_type="oracle")
    before, digest = ledger.dump(), file_digest(ledger.path)
    with caplog.at_level(logging.WARNING, logger="accounts_sync"):
        result = service.sync_accounts(instance)
    assert result["success"] is False
    assert result["message"] == result["error"] == message
    assert result["details"]["stage"] == stage
    assert (result["synced_count"], result["added_count"], result["removed_count"]) == (0, 0, 0)
    assert "s3cr3t-pw" not in json.dumps(result, ensure_ascii=False)
    assert ledger.dump() == before and file_digest(ledger.path) == digest
    (record,) = [r for r in caplog.records if r.name.startswith("accounts_sync.ledger")]
    assert record.action == "ledger_sync_accounts"  # type: ignore[attr-defined]
    assert record.context["instance_id"] == 7  # type: ignore[attr-defined]
    assert "s3cr3t-pw" not in str(record.__dict__)


def test_plan_raises_where_sync_fails(ledger: Ledger) -> None:
    service = ledger.service()
    with pytest.raises(UnsupportedDatabaseError):
        service.plan(attrs.evolve(INSTANCE, db_type="oracle"))
    ledger.collector.error = RuntimeError("boom")
    with pytest.raises(CollectionError) as caught:
        service.plan(INSTANCE)
    assert caught.value.extra == {"stage": "collect"}
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_plan_is_a_dry_run(ledger: Ledger) -> None:
    service = ledger.service()
    before = ledger.dump()
    plan = service.plan(INSTANCE)
    assert ledger.dump() == before
    assert (plan.added_count, plan.synced_count, plan.active_count) == (3, 3, 0)
    assert [c.change_type for c in plan.changes] == [ChangeType.ADDED] * 3
    service.sync_accounts(INSTANCE)
    assert service.plan(INSTANCE).is_empty


def test_details_are_json_safe_and_name_no_account(ledger: Ledger) -> None:
    result = ledger.service().sync_accounts(INSTANCE)
    text = json.dumps(result, ensure_ascii=False)
    assert json.loads(text) == result
    for name in ("alice", "bob", "carol"):
        assert name not in text


def test_english_messages(ledger: Ledger) -> None:
    service = ledger.service(messages=LedgerMessages.english())
    assert service.sync_accounts(INSTANCE)["message"] == "Synced 3 accounts, 3 added"
    result = service.sync_accounts(attrs.evolve(INSTANCE, db_type="oracle"))
    assert result["message"] == "Unsupported database type: oracle"


def test_touch_last_seen_updates_only_that(ledger: Ledger) -> None:
    service = ledger.service(touch_last_seen=True)
    service.sync_accounts(INSTANCE)
    mark = last_change_id(ledger.engine, ledger.tables)
    ledger.clock.advance(3600)
    service.sync_accounts(INSTANCE)
    assert last_change_id(ledger.engine, ledger.tables) == mark
    assert _account_row(ledger, "bob@%")["last_seen_at"] == START + dt.timedelta(hours=1)


def test_a_returned_connection_is_closed_and_an_engine_left_open(ledger: Ledger) -> None:
    connections: list[sa.Connection] = []

    def connect(instance: FakeInstance) -> sa.Connection:
        connections.append(ledger.source.connect())
        return connections[-1]

    service = LedgerSyncService(
        ledger=ledger.engine,
        connect=connect,
        tables=ledger.tables,
        collectors=registry_of(ledger.collector),
    )
    assert service.sync_accounts(INSTANCE)["success"]
    assert connections[0].closed
    assert ledger.collector.binds == [connections[0]]


def test_several_instances_in_parallel(ledger: Ledger) -> None:
    service = ledger.service()
    instances = [FakeInstance(id=i, name=f"db-{i}", db_type="fake") for i in range(1, 9)]
    results: dict[int, dict[str, object]] = {}
    barrier = threading.Barrier(len(instances))

    def run(instance: FakeInstance) -> None:
        barrier.wait()
        results[instance.id] = service.sync_accounts(instance)

    threads = [threading.Thread(target=run, args=(i,)) for i in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {i: r["added_count"] for i, r in results.items()} == {i.id: 3 for i in instances}
    with ledger.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(ledger.tables.changes))
        assert count.scalar() == 24


def test_tables_use_the_prefix_and_the_hosts_metadata() -> None:
    metadata = sa.MetaData()
    tables = build_ledger_tables(metadata, prefix="app_")
    assert set(metadata.tables) == {"app_ledger_accounts", "app_ledger_changes"}
    assert tables.accounts.c.account_key.type.length == 512  # type: ignore[attr-defined]
    default = build_ledger_tables()
    assert default.accounts.name == "accounts_sync_ledger_accounts"
    engine = sa.create_engine("sqlite://")
    tables.create_all(engine)
    now = dt.datetime.now(dt.timezone.utc)
    row = {
        "instance_id": 1,
        "account_key": "k",
        "username": "k",
        "kind": "user",
        "first_seen_at": now,
        "last_seen_at": now,
        "snapshot": {},
        "digest": "0",
    }
    with engine.begin() as conn:
        conn.execute(tables.accounts.insert(), row)
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(tables.accounts.insert(), row)
    tables.drop_all(engine)
    engine.dispose()
