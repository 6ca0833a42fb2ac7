"""The CLI's commands on real servers, run in-process: instances, sync, plan, accounts, changes,
collect. The ledger is a SQLite file; the accounts are tagged roles on the local servers."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa

from accounts_sync.cli import LEDGER_TABLES, diff_summary, main, open_store
from accounts_sync.collectors import canonical_json
from accounts_sync.collectors.dsn import driver_url, dsn_variables, resolve_dsn
from accounts_sync.sqlalchemy import InstanceRow, sqlite_url
from tests.collectors._servers import MyAdmin, PgAdmin, my_ident, my_string, pg_ident
from tests.ledger._support import dump


@attrs.frozen
class Run:
    code: int
    out: str
    err: str


@attrs.define
class Cli:
    """``main()`` on one ledger database, with captured output."""

    database: str
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *argv: str, database: bool = True) -> Run:
        self.capsys.readouterr()
        code = main([*argv, *(["--database", self.database] if database else [])])
        captured = self.capsys.readouterr()
        return Run(code, captured.out, captured.err)

    def add(self, name: str, db_type: str) -> int:
        run = self("instances", "add", name, "--db-type", db_type, "--host", "127.0.0.1")
        assert run.code == 0, run.err
        return int(run.out.strip())

    def ledger(self) -> list[tuple[object, ...]]:
        engine = open_store(self.database).engine
        try:
            return dump(engine, LEDGER_TABLES)
        finally:
            engine.dispose()


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(sqlite_url(tmp_path / "ledger.sqlite3"), capsys)


@pytest.fixture(autouse=True)
def _no_dsn_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's own ACCOUNTS_SYNC_DSN_* must not leak into these tests.
    for name in list(os.environ):
        if name.startswith("ACCOUNTS_SYNC_DSN_"):
            monkeypatch.delenv(name)


def _counter(output: str, name: str) -> int:
    match = re.search(rf"^{name}\s+(\d+)$", output, re.MULTILINE)
    assert match, f"no {name!r} line in:\n{output}"
    return int(match.group(1))


def _counters(output: str) -> tuple[int, int, int, int]:
    synced, added, modified, removed = (
        _counter(output, name) for name in ("synced", "added", "modified", "removed")
    )
    return synced, added, modified, removed


def _bare(url: str, scheme: str) -> str:
    """``url`` without its driver (``postgresql://…``), as a user would write it."""
    return sa.make_url(url).set(drivername=scheme).render_as_string(hide_password=False)


def _rows(output: str, first_column: str) -> list[list[str]]:
    """The table rows of ``output`` whose first column is ``first_column``."""
    return [line.split() for line in output.splitlines() if line.split()[:1] == [first_column]]


@pytest.fixture
def pg(pg_admin: PgAdmin) -> PgAdmin:
    r = pg_admin.role
    pg_admin.run(
        f"CREATE ROLE {pg_ident(r('_reader'))} LOGIN",
        f"CREATE ROLE {pg_ident(r('_writer'))} LOGIN",
        f"CREATE ROLE {pg_ident(r('_group'))} NOLOGIN",
        "CREATE TABLE orders (id int, amount int)",
        f"GRANT SELECT ON orders TO {pg_ident(r('_reader'))}",
        f"GRANT {pg_ident(r('_group'))} TO {pg_ident(r('_writer'))}",
    )
    return pg_admin


@pytest.fixture
def maria(my_admin: MyAdmin) -> MyAdmin:
    tag, db = my_admin.tag, my_admin.database
    my_admin.run(
        f"CREATE USER {my_admin.account(tag + '_app')}",
        f"GRANT SELECT ON {my_ident(db)}.* TO {my_admin.account(tag + '_app')}",
        f"CREATE ROLE {my_string(tag + '_role')}",
        f"GRANT {my_string(tag + '_role')} TO {my_admin.account(tag + '_app')}",
    )
    return my_admin


# -- without servers -----------------------------------------------------------------------


def test_instances_add_list_disable_enable(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli.add("pg-main", "postgresql") == 1
    assert cli.add("maria", "mariadb") == 2
    duplicate = cli("instances", "add", "pg-main", "--db-type", "mysql", "--host", "h")
    assert duplicate.code == 2
    assert "already exists (id 1)" in duplicate.err
    clash = cli("instances", "add", "PG.main", "--db-type", "mysql", "--host", "h")
    assert clash.code == 2
    assert "ACCOUNTS_SYNC_DSN_PG_MAIN" in clash.err
    assert cli("instances", "add", "42", "--db-type", "mysql", "--host", "h").code == 2
    with pytest.raises(SystemExit) as bad_type:
        cli("instances", "add", "x", "--db-type", "oracle", "--host", "h")
    assert bad_type.value.code == 2

    monkeypatch.setenv("ACCOUNTS_SYNC_DSN_PG_MAIN", "postgresql://u@h/db")
    listing = cli("instances", "list")
    assert listing.code == 0
    assert _rows(listing.out, "1") == [
        ["1", "pg-main", "postgresql", "127.0.0.1", "yes", "0", "ACCOUNTS_SYNC_DSN_PG_MAIN"]
    ]
    assert _rows(listing.out, "2") == [["2", "maria", "mariadb", "127.0.0.1", "yes", "0", "-"]]

    assert cli("instances", "disable", "maria").out == "instance 2 (maria) disabled\n"
    assert _rows(cli("instances", "list").out, "2")[0][4] == "no"
    assert cli("instances", "enable", "2").code == 0
    assert _rows(cli("instances", "list").out, "2")[0][4] == "yes"
    unknown = cli("instances", "disable", "nope")
    assert (unknown.code, unknown.err) == (
        2,
        "accounts-sync: error: no instance 'nope' (see `accounts-sync instances list`)\n",
    )


def test_usage_errors_exit_2_with_one_line(cli: Cli) -> None:
    cli.add("pg-main", "postgresql")
    missing = cli("sync", "1")
    assert missing.code == 2
    assert missing.err == (
        "accounts-sync: error: no DSN for instance 1 (pg-main): set ACCOUNTS_SYNC_DSN_1 or "
        "ACCOUNTS_SYNC_DSN_PG_MAIN (or pass --dsn URL)\n"
    )
    assert "ACCOUNTS_SYNC_DSN_1" in cli("plan", "pg-main").err
    not_url = cli("sync", "1", "--dsn", "host=db user=u password=hunter2")
    assert not_url.code == 2
    assert "--dsn is not a database URL" in not_url.err
    assert "hunter2" not in not_url.err
    wrong_engine = cli("plan", "1", "--dsn", "mysql://u:hunter2@h/db")
    assert wrong_engine.code == 2
    assert "--dsn is a mysql URL but instance 1 (pg-main) is postgresql" in wrong_engine.err
    for argv in (
        ["sync"],
        ["sync", "1", "--all"],
        ["sync", "--all", "--dsn", "postgresql://h/db"],
        ["sync", "--all", "--force"],
        ["sync", "1", "--workers", "2"],
        ["sync", "--all", "--workers", "0"],
        ["accounts", "list", "nope"],
        ["changes", "1", "--limit", "0"],
    ):
        run = cli(*argv)
        assert run.code == 2, argv
        assert run.err.startswith("accounts-sync: error: "), argv
        assert run.err.count("\n") == 1, argv
    assert cli("accounts", "list", "1").out.startswith("no accounts in the ledger")
    assert cli("changes", "pg-main").out == "no changes recorded for instance 1 (pg-main)\n"
    cli("instances", "disable", "1")
    nothing = cli("sync", "--all")
    assert nothing.code == 2
    assert "No active database instances found" in nothing.err
    bad_url = cli("collect", "nonsense", database=False)
    assert (bad_url.code, bad_url.err.count("\n")) == (2, 1)


def test_dsn_variables_and_driver_mapping() -> None:
    instance = InstanceRow(7, "pg main.eu-1é", "postgresql", "h")
    assert dsn_variables(instance) == ("ACCOUNTS_SYNC_DSN_7", "ACCOUNTS_SYNC_DSN_PG_MAIN_EU_1_")
    environ = {"ACCOUNTS_SYNC_DSN_PG_MAIN_EU_1_": "postgres://u:p@h/db"}
    assert resolve_dsn(instance, environ=environ).drivername == "postgresql+psycopg"
    environ["ACCOUNTS_SYNC_DSN_7"] = "postgresql+psycopg2://u:p@h/db"
    assert resolve_dsn(instance, environ=environ).drivername == "postgresql+psycopg2"
    explicit = resolve_dsn(instance, explicit="postgresql://u@other/db", environ=environ)
    assert explicit.host == "other"
    assert driver_url("mysql://u@h/db").drivername == "mysql+pymysql"
    assert driver_url("mariadb://u@h/db").drivername == "mariadb+pymysql"


def test_diff_summary_lines() -> None:
    select = {"scope": "table", "object": ["app", "public", "t"], "privilege": "SELECT"}
    assert (
        diff_summary(
            "modified",
            {
                "granted": [{**select, "privilege": "INSERT", "grantable": True}],
                "revoked": [{**select, "grantable": False}],
                "memberships_granted": [{"role": "readers", "admin_option": True}],
                "memberships_revoked": [],
                "changed": {"attributes.create_db": {"before": False, "after": True}},
            },
        )
        == "+INSERT on table app.public.t with grant option; -SELECT on table app.public.t; "
        "+member of readers (admin); create_db: false -> true"
    )
    many = [{**select, "privilege": p, "grantable": False} for p in ("A", "B", "C", "D")]
    assert diff_summary("reactivated", {"granted": many}) == "+4 privileges"
    assert diff_summary("reactivated", {}) == "no difference"
    added = {
        "granted": many[:1],
        "memberships_granted": [{"role": "g", "admin_option": False}],
        "changed": {
            "kind": {"before": None, "after": "user"},
            "is_superuser": {"before": None, "after": True},
            "is_locked": {"before": None, "after": False},
        },
    }
    assert diff_summary("added", added) == "user, superuser, 1 privilege, member of g"
    removed = {"revoked": many, "changed": {"kind": {"before": "role", "after": None}}}
    assert diff_summary("removed", removed) == "role, 4 privileges"
    clock = {"scope": "routine", "object": ["app", "pg_catalog", "now()"], "grantable": False}
    owned = {**select, "privilege": "OWNER", "grantable": False}
    labelled = {
        "granted": [owned],
        "implied_by_ownership": [{**select, "grantable": False}],
        "defaults_revoked": [{**clock, "privilege": "EXECUTE"}],
    }
    assert diff_summary("modified", labelled) == (
        "+OWNER on table app.public.t; "
        "-EXECUTE on routine app.pg_catalog.now() (built-in default); "
        "=SELECT on table app.public.t (implied by ownership)"
    )


# -- on the real servers -------------------------------------------------------------------


@pytest.mark.services
def test_postgres_sync_plan_accounts_and_changes(
    cli: Cli, pg: PgAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag, db = pg.tag, pg.database
    reader, writer, group = pg.role("_reader"), pg.role("_writer"), pg.role("_group")
    only = ("--include", f"{tag}*")
    instance = cli.add("pg-test", "postgresql")
    monkeypatch.setenv(f"ACCOUNTS_SYNC_DSN_{instance}", _bare(pg.url, "postgresql"))

    first = cli("sync", str(instance), *only)
    assert first.code == 0, first.err
    assert first.out.startswith(f"instance {instance} (pg-test): Synced 3 accounts, 3 added\n")
    assert _counters(first.out) == (3, 3, 0, 0)
    again = cli("sync", "pg-test", *only)
    assert (again.code, _counters(again.out)) == (0, (3, 0, 0, 0))
    chinese = cli("sync", "pg-test", *only, "--lang", "zh")
    assert chinese.code == 0, chinese.err
    assert chinese.out.splitlines()[0] == f"实例 {instance} (pg-test): 同步 3 个账户"
    assert [line.split()[0] for line in chinese.out.splitlines()[1:]] == [
        "服务器",
        "同步",
        "新增",
        "更新",
        "移除",
    ]
    assert _rows(cli("instances", "list").out, str(instance))[0][5] == "3"

    up_to_date = cli("plan", "pg-test", *only)
    assert up_to_date.code == 0, up_to_date.err
    assert "up to date" in up_to_date.out

    pg.run(f"GRANT INSERT ON orders TO {pg_ident(reader)}")
    before = cli.ledger()
    stale = cli("plan", str(instance), *only)
    assert stale.code == 1
    assert _rows(stale.out, "modified") == [
        ["modified", reader, "+INSERT", "on", "table", f"{db}.public.orders"]
    ]
    assert "a sync would add 0, modify 1, remove 0" in stale.out
    as_json = cli("plan", str(instance), *only, "--json")
    assert as_json.code == 1
    assert json.loads(as_json.out)["modified_count"] == 1
    assert cli.ledger() == before  # a plan writes nothing

    applied = cli("sync", str(instance), *only)
    assert (applied.code, _counters(applied.out)) == (0, (3, 0, 1, 0))
    assert cli("plan", str(instance), *only).code == 0

    accounts = cli("accounts", "list", "pg-test")
    assert accounts.code == 0
    assert _rows(accounts.out, reader) == [[reader, "user", "no", "no", "2"]]
    assert _rows(accounts.out, group) == [[group, "role", "no", "no", "0"]]
    assert _rows(accounts.out, "public")[0][1] == "public"  # listed, not counted
    assert accounts.out.endswith("3 active accounts\n")

    changes = cli("changes", "pg-test")
    lines = changes.out.splitlines()
    assert lines[0].split() == ["TIME", "(UTC)", "TYPE", "KEY", "CHANGE"]
    assert lines[1].split()[2:] == [
        "modified",
        reader,
        "+INSERT",
        "on",
        "table",
        f"{db}.public.orders",
    ]
    assert len(lines) == 1 + 1 + 4  # the modification, then 3 roles and PUBLIC added
    (added_writer,) = [line.split() for line in lines if line.split()[2:4] == ["added", writer]]
    assert " ".join(added_writer[4:]) == f"user, 0 privileges, member of {group}"
    assert len(cli("changes", "pg-test", "--limit", "1").out.splitlines()) == 2

    pg.run(f"DROP ROLE {pg_ident(writer)}")
    removed = cli("sync", str(instance), *only)
    assert _counters(removed.out) == (2, 0, 0, 1)
    assert _rows(cli("accounts", "list", "pg-test").out, writer) == []
    everything = cli("accounts", "list", "pg-test", "--all")
    assert _rows(everything.out, writer)[0][:6] == [writer, "user", "no", "no", "0", "removed"]
    assert everything.out.endswith("2 active accounts, 1 removed\n")
    newest = cli("changes", "pg-test", "--limit", "1").out.splitlines()[1].split()
    assert newest[2:4] == ["removed", writer]


@pytest.mark.services
def test_wrong_password_fails_redacted_and_changes_nothing(
    cli: Cli, maria: MyAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag, db = maria.tag, maria.database
    login = tag + "_login"
    maria.run(f"CREATE USER {maria.account(login, '127.0.0.1')} IDENTIFIED BY 'right-pw'")
    instance = cli.add("maria-test", "mariadb")
    monkeypatch.setenv("ACCOUNTS_SYNC_DSN_MARIA_TEST", _bare(maria.url, "mysql"))
    assert cli("sync", "maria-test", "--include", f"{tag}*").code == 0
    before = cli.ledger()

    bad = f"mysql://{login}:my-s3cret-pw@127.0.0.1:3306/{db}"
    failed = cli("sync", str(instance), "--dsn", bad, "--include", f"{tag}*")
    assert failed.code == 1
    assert failed.err.startswith(
        f"accounts-sync: error: instance {instance} (maria-test): sync failed: "
        "Could not connect to the database: OperationalError:"
    )
    assert "Access denied" in failed.err
    assert failed.out == ""  # a failed sync prints no results
    assert cli.ledger() == before
    plan = cli("plan", str(instance), "--dsn", bad)
    assert plan.code == 2
    collect = cli("collect", bad, database=False)
    assert collect.code == 1
    assert f"{login}:***@127.0.0.1" in collect.err
    for run in (failed, plan, collect):
        assert "my-s3cret-pw" not in run.out + run.err
        assert "Traceback" not in run.err


@pytest.mark.services
def test_sync_all_over_both_servers_then_skips_a_disabled_instance(
    cli: Cli, pg: PgAdmin, maria: MyAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    only = ("--include", f"{pg.tag}*", "--include", f"{maria.tag}*")
    pg_id, maria_id = cli.add("pg-test", "postgresql"), cli.add("maria-test", "mariadb")
    monkeypatch.setenv(f"ACCOUNTS_SYNC_DSN_{pg_id}", _bare(pg.url, "postgresql"))
    monkeypatch.setenv("ACCOUNTS_SYNC_DSN_MARIA_TEST", _bare(maria.url, "mysql"))

    full = cli("sync", "--all", *only, "--workers", "2", "--timeout", "60")
    assert full.code == 0, full.out + full.err
    assert _counter(full.out, "total") == _counter(full.out, "successful") == 2
    assert "status       completed\n" in full.out
    assert "(adds up)" in full.out
    pg_row, maria_row = _rows(full.out, str(pg_id))[0], _rows(full.out, str(maria_id))[0]
    assert pg_row[1:] == ["pg-test", "completed", "3", "3", "0", "0"]
    assert maria_row[1:] == ["maria-test", "completed", "2", "2", "0", "0"]  # user and role
    assert "accounts     synced 5, added 5, modified 0, removed 0" in full.out
    accounts = cli("accounts", "list", "maria-test").out
    assert _rows(accounts, f"{maria.tag}_app@%")[0][1:5] == ["user", "no", "no", "1"]
    assert _rows(accounts, f"{maria.tag}_role@")[0][1] == "role"

    assert cli("instances", "disable", str(maria_id)).code == 0
    partial = cli("sync", "--all", *only)
    assert partial.code == 0
    assert _counter(partial.out, "total") == 1
    assert _rows(partial.out, str(maria_id)) == []
    assert "accounts     synced 3, added 0, modified 0, removed 0" in partial.out

    # An instance without a DSN fails alone, with the variables to set.
    assert cli("instances", "enable", "maria-test").code == 0
    monkeypatch.delenv("ACCOUNTS_SYNC_DSN_MARIA_TEST")
    missing = cli("sync", "--all", *only)
    assert missing.code == 1
    assert "ACCOUNTS_SYNC_DSN_MARIA_TEST" in missing.err  # warned before the run
    assert (_counter(missing.out, "successful"), _counter(missing.out, "failed")) == (1, 1)
    assert f"set ACCOUNTS_SYNC_DSN_{maria_id} or ACCOUNTS_SYNC_DSN_MARIA_TEST" in missing.out


@pytest.mark.services
def test_collect_prints_canonical_json_or_a_table(cli: Cli, pg: PgAdmin) -> None:
    url = _bare(pg.url, "postgresql")
    collected = cli("collect", url, "--json", "--include", f"{pg.tag}*", database=False)
    assert collected.code == 0, collected.err
    data = json.loads(collected.out)
    assert collected.out == canonical_json(data) + "\n"
    assert data["db_type"] == "postgresql"
    assert [a["key"] for a in data["accounts"]] == sorted(
        pg.role(suffix) for suffix in ("_group", "_reader", "_writer")
    )
    table = cli("collect", url, "--include", f"{pg.tag}*", database=False)
    assert table.code == 0
    assert _rows(table.out, pg.role("_writer")) == [
        [pg.role("_writer"), "user", "no", "no", "0", pg.role("_group")]
    ]
    assert "PUBLIC holds" in table.out
