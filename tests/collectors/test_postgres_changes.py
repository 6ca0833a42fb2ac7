"""Every PostgreSQL fact of the collector, one server change at a time, through the ledger.

Each step makes one change on the real server; the sync logs exactly that change with its
label, ``plan()`` predicted it, and a second sync writes nothing.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from accounts_sync.collectors import OWNER, PostgresCollector, Privilege
from accounts_sync.collectors._postgres_queries import memberships_query
from tests.collectors._changes import diff, one_change, privileges, same_under_settings, synced
from tests.collectors._servers import PgAdmin, pg_ident
from tests.ledger._support import Setup, ledger_setup, sqlite_ledger_in

pytestmark = pytest.mark.services

TABLE_PRIVILEGES = ("DELETE", "INSERT", "REFERENCES", "SELECT", "TRIGGER", "TRUNCATE", "UPDATE")


def collector_for(admin: PgAdmin) -> PostgresCollector:
    # pg_monitor is wanted too: a grant to it must show although it is a predefined role.
    return PostgresCollector(
        include=lambda name: name.startswith(admin.tag) or name == "pg_monitor"
    )


@pytest.fixture
def pg9_setup(pg9: PgAdmin, tmp_path: Path) -> Iterator[Setup]:
    a, b, g = (pg_ident(pg9.role(suffix)) for suffix in ("_a", "_b", "_g"))
    pg9.run(
        f"CREATE ROLE {a} LOGIN",
        f"CREATE ROLE {b} NOLOGIN",
        f"CREATE ROLE {g} NOLOGIN",
        "CREATE SCHEMA s",
        "CREATE TYPE s.mood AS ENUM ('ok', 'sad')",
        "CREATE FUNCTION s.f2(m s.mood, n integer) RETURNS int LANGUAGE sql AS 'SELECT 1'",
        f"GRANT EXECUTE ON FUNCTION s.f2(s.mood, integer) TO {a}",
        "CREATE TABLE s.t (id int)",
        f"ALTER TABLE s.t OWNER TO {b}",
    )
    yield from synced(pg9, tmp_path, "postgresql", collector_for(pg9))


def test_every_postgres_fact_is_one_labelled_change(pg9: PgAdmin, pg9_setup: Setup) -> None:
    db, r = pg9.database, pg9.role
    a, b, g = r("_a"), r("_b"), r("_g")
    qa, qb, qg = pg_ident(a), pg_ident(b), pg_ident(g)
    clock = Privilege("routine", (db, "pg_catalog", "clock_timestamp()"), "EXECUTE")
    # A built-in function: only the new grantee changes, PUBLIC already had EXECUTE.
    one_change(
        pg9,
        pg9_setup,
        [f"GRANT EXECUTE ON FUNCTION pg_catalog.clock_timestamp() TO {qa}"],
        {a: diff(granted=privileges(clock))},
    )
    # Revoking a built-in default from PUBLIC (hardening) is visible, labelled as such.
    one_change(
        pg9,
        pg9_setup,
        ["REVOKE EXECUTE ON FUNCTION pg_catalog.clock_timestamp() FROM PUBLIC"],
        {"public": diff(defaults_revoked=privileges(clock))},
    )
    # A grant on a database the collector is not connected to (pg_database is shared).
    other = pg9.role("_db3")
    pg9.create_database(other)
    one_change(
        pg9,
        pg9_setup,
        [f"GRANT CONNECT ON DATABASE {pg_ident(other)} TO {qa}"],
        {a: diff(granted=privileges(Privilege("database", (other,), "CONNECT")))},
    )
    # Database ACLs are cluster-wide: PUBLIC gets its default back at once, so that other
    # collections running meanwhile see PUBLIC changed for as short a time as can be.
    connect = privileges(Privilege("database", (other,), "CONNECT"))
    one_change(
        pg9,
        pg9_setup,
        [f"REVOKE CONNECT ON DATABASE {pg_ident(other)} FROM PUBLIC"],
        {"public": diff(defaults_revoked=connect)},
    )
    one_change(
        pg9,
        pg9_setup,
        [f"GRANT CONNECT ON DATABASE {pg_ident(other)} TO PUBLIC"],
        {"public": diff(defaults_restored=connect)},
    )
    # Ownership: explicit grants first, then the object changes hands.
    table = (db, "s", "t")
    everything = [Privilege("table", table, name) for name in TABLE_PRIVILEGES]
    one_change(
        pg9, pg9_setup, [f"GRANT ALL ON s.t TO {qa}"], {a: diff(granted=privileges(*everything))}
    )
    one_change(
        pg9,
        pg9_setup,
        [f"ALTER TABLE s.t OWNER TO {qa}"],
        {
            a: diff(
                granted=privileges(Privilege("table", table, OWNER)),
                implied_by_ownership=privileges(*everything),
            ),
            b: diff(revoked=privileges(Privilege("table", table, OWNER))),
        },
    )
    one_change(
        pg9,
        pg9_setup,
        [f"ALTER SCHEMA s OWNER TO {qb}"],
        {b: diff(granted=privileges(Privilege("schema", (db, "s"), OWNER)))},
    )
    routine = (db, "s", "f2(s.mood, integer)")
    one_change(
        pg9,
        pg9_setup,
        ["ALTER FUNCTION s.f2(s.mood, integer) OWNER TO " + qb],
        {b: diff(granted=privileges(Privilege("routine", routine, OWNER)))},
    )
    # The new owner's CONNECT is implied now; the old owner (postgres) is not collected.
    one_change(
        pg9,
        pg9_setup,
        [f"ALTER DATABASE {pg_ident(other)} OWNER TO {qa}"],
        {
            a: diff(
                granted=privileges(Privilege("database", (other,), OWNER)),
                implied_by_ownership=privileges(Privilege("database", (other,), "CONNECT")),
            )
        },
    )
    # A grant to a predefined role, which is otherwise left out of the accounts.
    monitor_grant = Privilege("routine", routine, "EXECUTE")
    pg9.run("GRANT EXECUTE ON FUNCTION s.f2(s.mood, integer) TO pg_monitor")
    mark = pg9_setup.mark()
    assert pg9_setup.sync()["success"]
    (row,) = pg9_setup.changes_since(mark)
    assert (row["account_key"], row["change_type"]) == ("pg_monitor", "added")
    assert row["diff"]["granted"] == privileges(monitor_grant)
    # Without a grant it is no account again.
    pg9.run("REVOKE EXECUTE ON FUNCTION s.f2(s.mood, integer) FROM pg_monitor")
    mark = pg9_setup.mark()
    assert pg9_setup.sync()["success"]
    (row,) = pg9_setup.changes_since(mark)
    assert (row["account_key"], row["change_type"]) == ("pg_monitor", "removed")
    assert row["diff"]["revoked"] == privileges(monitor_grant)
    # Default privileges: global, per schema, and a built-in default revoked globally.
    one_change(
        pg9,
        pg9_setup,
        [f"ALTER DEFAULT PRIVILEGES FOR ROLE {qb} GRANT SELECT ON TABLES TO {qa}"],
        {a: diff(granted=privileges(Privilege("default", (db, "", "tables", b), "SELECT")))},
    )
    one_change(
        pg9,
        pg9_setup,
        [f"ALTER DEFAULT PRIVILEGES FOR ROLE {qb} IN SCHEMA s GRANT USAGE ON SEQUENCES TO {qg}"],
        {g: diff(granted=privileges(Privilege("default", (db, "s", "sequences", b), "USAGE")))},
    )
    one_change(
        pg9,
        pg9_setup,
        [f"ALTER DEFAULT PRIVILEGES FOR ROLE {qb} REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC"],
        {
            "public": diff(
                defaults_revoked=privileges(
                    Privilege("default", (db, "", "functions", b), "EXECUTE")
                )
            )
        },
    )
    # Memberships with their grantor (PostgreSQL 15 has no INHERIT/SET options per grant).
    one_change(
        pg9,
        pg9_setup,
        [f"GRANT {qg} TO {qa} WITH ADMIN OPTION"],
        {a: diff(memberships_granted=[{"role": g, "admin_option": True, "grantor": "postgres"}])},
    )
    # Role settings and comments.
    one_change(
        pg9,
        pg9_setup,
        [
            f"ALTER ROLE {qa} SET work_mem = '64MB'",
            f"ALTER ROLE {qa} IN DATABASE {pg_ident(db)} SET statement_timeout = '5s'",
        ],
        {
            a: diff(
                changed={
                    "attributes.settings": {
                        "before": None,
                        "after": [f"{db}:statement_timeout=5s", "work_mem=64MB"],
                    }
                }
            )
        },
    )
    one_change(
        pg9,
        pg9_setup,
        [f"COMMENT ON ROLE {qa} IS 'the application'"],
        {a: diff(changed={"attributes.comment": {"before": None, "after": "the application"}})},
    )


def test_a_passing_valid_until_is_an_expiry_not_a_lock(pg9: PgAdmin, tmp_path: Path) -> None:
    soon = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=2)
    login = pg9.role("_temp")
    pg9.run(f"CREATE ROLE {pg_ident(login)} LOGIN VALID UNTIL '{soon.isoformat()}'")
    ledgers = sqlite_ledger_in(tmp_path)
    setup = ledger_setup(next(ledgers), pg9.url, "postgresql", collector_for(pg9))
    try:
        assert setup.sync()["added_count"] == 1
        time.sleep(max(0.0, (soon - dt.datetime.now(dt.timezone.utc)).total_seconds()) + 0.5)
        mark = setup.mark()
        assert setup.sync()["modified_count"] == 1
        (row,) = setup.changes_since(mark)
        assert row["diff"] == diff(changed={"attributes.expired": {"before": False, "after": True}})
        before = setup.dump()
        setup.sync()
        assert setup.dump() == before
    finally:
        setup.source.dispose()
        next(ledgers, None)


def test_collection_ignores_the_sessions_settings(pg9: PgAdmin) -> None:
    login = pg9.role("_until")
    pg9.run(
        f"CREATE ROLE {pg_ident(login)} LOGIN VALID UNTIL '2031-02-03 04:05:06+00'",
        "CREATE SCHEMA s",
        "CREATE TYPE s.mood AS ENUM ('ok')",
        "CREATE FUNCTION s.f2(m s.mood) RETURNS int LANGUAGE sql AS 'SELECT 1'",
        f"GRANT EXECUTE ON FUNCTION s.f2(s.mood) TO {pg_ident(login)}",
    )
    reference = same_under_settings(
        pg9.url,
        collector_for(pg9),
        [
            "SET search_path = s, public",
            "SET DateStyle = 'SQL, DMY'",
            "SET DateStyle = 'German'; SET IntervalStyle = 'sql_standard'",
            "SET TIME ZONE 'Asia/Kathmandu'",
        ],
        "SELECT concat_ws(' ', current_setting('search_path'), current_setting('DateStyle'), "
        "current_setting('IntervalStyle'), current_setting('TimeZone'))",
    )
    account = reference.by_key()[login]
    assert account.valid_until == dt.datetime(2031, 2, 3, 4, 5, 6, tzinfo=dt.timezone.utc)
    assert Privilege("routine", (pg9.database, "s", "f2(s.mood)"), "EXECUTE") in account.privileges


def test_membership_query_follows_the_server_version() -> None:
    assert "m.inherit_option, m.set_option" in str(memberships_query(160000))
    assert "m.grantor" in str(memberships_query(160000))
    older = str(memberships_query(150020))
    assert "NULL::boolean AS inherit_option" in older
    assert "m.inherit_option" not in older and "m.grantor" in older
