"""LedgerSyncService end to end on the real PostgreSQL and MariaDB servers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from accounts_sync.collectors import (
    Membership,
    MySQLCollector,
    PostgresCollector,
    Privilege,
)
from accounts_sync.ledger import LedgerSyncService, LedgerTables, build_ledger_tables
from tests.collectors._servers import MyAdmin, PgAdmin, my_ident, my_string, pg_ident
from tests.ledger._support import Setup, ledger_setup, sqlite_ledger_in

pytestmark = pytest.mark.services


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Iterator[tuple[sa.Engine, LedgerTables]]:
    yield from sqlite_ledger_in(tmp_path)


@pytest.fixture
def pg_setup(pg_admin: PgAdmin, sqlite_ledger: tuple[sa.Engine, LedgerTables]) -> Iterator[Setup]:
    r = pg_admin.role
    pg_admin.run(
        f"CREATE ROLE {pg_ident(r('_reader'))} LOGIN",
        f"CREATE ROLE {pg_ident(r('_writer'))} LOGIN",
        f"CREATE ROLE {pg_ident(r('_group'))} NOLOGIN",
        "CREATE TABLE orders (id int, amount int)",
        f"GRANT SELECT ON orders TO {pg_ident(r('_reader'))}",
        f"GRANT {pg_ident(r('_group'))} TO {pg_ident(r('_writer'))}",
    )
    collector = PostgresCollector(include=lambda name: name.startswith(pg_admin.tag))
    setup = ledger_setup(sqlite_ledger, pg_admin.url, "postgresql", collector)
    yield setup
    setup.source.dispose()


def test_postgres_ledger_lifecycle(pg_admin: PgAdmin, pg_setup: Setup) -> None:
    r, db = pg_admin.role, pg_admin.database
    reader, writer, group = r("_reader"), r("_writer"), r("_group")
    first = pg_setup.sync()
    assert (first["success"], first["synced_count"], first["added_count"]) == (True, 3, 3)
    rows = pg_setup.changes_since(0)
    assert sorted((row["account_key"], row["change_type"]) for row in rows) == sorted(
        [(reader, "added"), (writer, "added"), (group, "added"), ("public", "added")]
    )

    before = pg_setup.dump()
    assert pg_setup.sync()["message"] == "同步 3 个账户"
    assert pg_setup.dump() == before  # an unchanged server writes no row at all

    orders = (db, "public", "orders")
    pg_admin.run(f"GRANT INSERT ON orders TO {pg_ident(reader)}")
    mark = pg_setup.mark()
    plan = pg_setup.service.plan(pg_setup.instance)
    assert pg_setup.sync()["message"] == "同步 3 个账户、更新 1 个"
    (row,) = pg_setup.changes_since(mark)
    assert (row["account_key"], row["change_type"]) == (reader, "modified")
    assert row["diff"] == {
        "granted": [Privilege("table", orders, "INSERT").to_json()],
        "revoked": [],
        "memberships_granted": [],
        "memberships_revoked": [],
        "changed": {},
    }
    assert [c.to_json()["diff"] for c in plan.changes] == [row["diff"]]

    pg_admin.run(f"REVOKE SELECT ON orders FROM {pg_ident(reader)}")
    mark = pg_setup.mark()
    pg_setup.sync()
    (row,) = pg_setup.changes_since(mark)
    assert row["diff"]["revoked"] == [Privilege("table", orders, "SELECT").to_json()]
    assert row["diff"]["granted"] == []

    pg_admin.run(f"DROP ROLE {pg_ident(writer)}")
    mark = pg_setup.mark()
    removed = pg_setup.sync()
    assert (removed["synced_count"], removed["removed_count"]) == (2, 1)
    (row,) = pg_setup.changes_since(mark)
    assert (row["account_key"], row["change_type"]) == (writer, "removed")

    pg_admin.run(f"CREATE ROLE {pg_ident(writer)} LOGIN CREATEDB")
    mark = pg_setup.mark()
    back = pg_setup.sync()
    assert (back["added_count"], back["details"]["reactivated"]) == (1, 1)
    (row,) = pg_setup.changes_since(mark)
    assert (row["account_key"], row["change_type"]) == (writer, "reactivated")
    assert row["diff"]["changed"] == {"attributes.create_db": {"before": False, "after": True}}
    assert row["diff"]["memberships_revoked"] == [Membership(group, grantor="postgres").to_json()]

    # Dropping two of three is refused, leaves the ledger as it was, and force overrides.
    pg_admin.run(
        f"DROP ROLE {pg_ident(writer)}",
        f"DROP OWNED BY {pg_ident(reader)}",
        f"DROP ROLE {pg_ident(reader)}",
    )
    before = pg_setup.dump()
    refused = pg_setup.sync()
    assert (refused["success"], refused["details"]["stage"]) == (False, "guard")
    assert pg_setup.dump() == before
    forced = pg_setup.sync(force=True)
    assert (forced["success"], forced["removed_count"]) == (True, 2)


def test_postgres_wrong_credentials_change_nothing(pg_admin: PgAdmin, pg_setup: Setup) -> None:
    pg_setup.sync()
    before = pg_setup.dump()
    # The local server trusts every password, so the login itself is what fails here.
    bad_url = sa.make_url(pg_admin.url).set(
        username=f"{pg_admin.tag}_nobody", password="pg-s3cret-pw"
    )
    bad = sa.create_engine(bad_url)
    service = LedgerSyncService(
        ledger=pg_setup.engine,
        connect=lambda instance: bad,
        tables=pg_setup.tables,
        collectors=pg_setup.service.collectors,
    )
    try:
        result = service.sync_accounts(pg_setup.instance)
    finally:
        bad.dispose()
    assert (result["success"], result["details"]["stage"]) == (False, "connect")
    assert str(result["message"]).startswith("连接数据库失败: OperationalError:")
    assert "pg-s3cret-pw" not in json.dumps(result, ensure_ascii=False)
    assert pg_setup.dump() == before


def test_postgres_login_without_catalogue_access_changes_nothing(
    pg_admin: PgAdmin, pg_setup: Setup
) -> None:
    pg_setup.sync()
    before = pg_setup.dump()
    weak = pg_admin.role("_weak")
    # Catalogue ACLs are per database: this only affects the test database.
    pg_admin.run(
        f"CREATE ROLE {pg_ident(weak)} LOGIN",
        "REVOKE SELECT ON pg_catalog.pg_auth_members FROM PUBLIC",
    )
    weak_engine = sa.create_engine(sa.make_url(pg_admin.url).set(username=weak))
    service = LedgerSyncService(
        ledger=pg_setup.engine,
        connect=lambda instance: weak_engine,
        tables=pg_setup.tables,
        collectors=pg_setup.service.collectors,
    )
    try:
        result = service.sync_accounts(pg_setup.instance)
    finally:
        weak_engine.dispose()
    assert (result["success"], result["details"]["stage"]) == (False, "collect")
    assert "permission denied" in str(result["message"])
    assert pg_setup.dump() == before


def test_postgres_as_the_ledger_backend(pg_admin: PgAdmin) -> None:
    pg_admin.run(f"CREATE ROLE {pg_ident(pg_admin.role('_solo'))} LOGIN")
    ledger = sa.create_engine(pg_admin.url)
    tables = build_ledger_tables(prefix=f"{pg_admin.tag}_")
    tables.create_all(ledger)
    collector = PostgresCollector(include=lambda name: name.startswith(pg_admin.tag))
    setup = ledger_setup((ledger, tables), pg_admin.url, "postgresql", collector)
    try:
        assert setup.sync()["added_count"] == 1
        before = setup.dump()
        assert setup.sync()["success"] and setup.dump() == before
        assert setup.service.plan(setup.instance).is_empty
    finally:
        setup.source.dispose()
        ledger.dispose()


@pytest.fixture
def my_setup(my_admin: MyAdmin, sqlite_ledger: tuple[sa.Engine, LedgerTables]) -> Iterator[Setup]:
    t, db = my_admin.tag, my_ident(my_admin.database)
    my_admin.run(
        f"CREATE TABLE {db}.orders (id INT)",
        f"CREATE USER {my_admin.account(t + '_reader')} IDENTIFIED BY 'reader-pw'",
        f"CREATE USER {my_admin.account(t + '_writer', 'localhost')}",
        f"CREATE ROLE {my_string(t + '_role')}",
        f"GRANT SELECT ON {db}.* TO {my_admin.account(t + '_reader')}",
    )
    collector = MySQLCollector(include=lambda name: name.startswith(t))
    setup = ledger_setup(sqlite_ledger, my_admin.url, "mysql", collector)
    yield setup
    setup.source.dispose()


def test_mariadb_ledger_lifecycle(my_admin: MyAdmin, my_setup: Setup) -> None:
    t, db = my_admin.tag, my_admin.database
    reader, writer, role = f"{t}_reader@%", f"{t}_writer@localhost", f"{t}_role@"
    assert my_setup.sync()["added_count"] == 3
    before = my_setup.dump()
    assert my_setup.sync()["success"] and my_setup.dump() == before

    my_admin.run(
        f"GRANT INSERT ON {my_ident(db)}.orders TO {my_admin.account(t + '_reader')}",
        f"GRANT {my_string(t + '_role')} TO {my_admin.account(t + '_writer', 'localhost')}",
    )
    mark = my_setup.mark()
    plan = my_setup.service.plan(my_setup.instance)
    assert my_setup.sync()["modified_count"] == 2
    rows = my_setup.changes_since(mark)
    assert [(row["account_key"], row["change_type"]) for row in rows] == [
        (reader, "modified"),
        (writer, "modified"),
    ]
    assert rows[0]["diff"]["granted"] == [Privilege("table", (db, "orders"), "INSERT").to_json()]
    assert rows[1]["diff"]["memberships_granted"] == [Membership(role).to_json()]
    assert [c.to_json()["diff"] for c in plan.changes] == [row["diff"] for row in rows]

    my_admin.run(f"DROP USER {my_admin.account(t + '_writer', 'localhost')}")
    mark = my_setup.mark()
    assert my_setup.sync()["removed_count"] == 1
    my_admin.run(f"CREATE USER {my_admin.account(t + '_writer', 'localhost')}")
    assert my_setup.sync()["details"]["reactivated"] == 1  # type: ignore[index]
    assert [row["change_type"] for row in my_setup.changes_since(mark)] == [
        "removed",
        "reactivated",
    ]


def test_mariadb_wrong_password_and_missing_privileges_change_nothing(
    my_admin: MyAdmin, my_setup: Setup
) -> None:
    my_setup.sync()
    before = my_setup.dump()
    base = sa.make_url(my_admin.url)
    weak = f"{my_admin.tag}_weak"
    my_admin.run(f"CREATE USER {my_admin.account(weak)} IDENTIFIED BY 'weak-pw'")
    for password, stage in (("my-s3cret-wrong", "connect"), ("weak-pw", "collect")):
        url = sa.URL.create(base.drivername, weak, password, base.host, base.port)
        engine = sa.create_engine(url)
        service = LedgerSyncService(
            ledger=my_setup.engine,
            connect=lambda instance, e=engine: e,
            tables=my_setup.tables,
            collectors=my_setup.service.collectors,
        )
        try:
            result = service.sync_accounts(my_setup.instance)
        finally:
            engine.dispose()
        assert (result["success"], result["details"]["stage"]) == (False, stage)
        assert password not in json.dumps(result, ensure_ascii=False)
        assert my_setup.dump() == before
    assert "cannot read mysql.global_priv" in str(result["message"])


def test_mariadb_as_the_ledger_backend(my_admin: MyAdmin) -> None:
    my_admin.run(f"CREATE USER {my_admin.account(my_admin.tag + '_solo')}")
    ledger = sa.create_engine(my_admin.url)
    tables = build_ledger_tables()
    tables.create_all(ledger)
    collector = MySQLCollector(include=lambda name: name.startswith(my_admin.tag))
    setup = ledger_setup((ledger, tables), my_admin.url, "mariadb", collector)
    try:
        assert setup.sync()["added_count"] == 1
        before = setup.dump()
        assert setup.sync()["success"] and setup.dump() == before
        my_admin.run(f"GRANT PROCESS ON *.* TO {my_admin.account(my_admin.tag + '_solo')}")
        assert setup.sync()["modified_count"] == 1
    finally:
        setup.source.dispose()
        ledger.dispose()
