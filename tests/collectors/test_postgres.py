"""PostgresCollector against the real server: the exact snapshot of tagged roles."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from accounts_sync.collectors import (
    AccountKind,
    AccountSnapshot,
    Membership,
    PostgresCollector,
    Privilege,
)
from tests.collectors._servers import PgAdmin, count_statements, pg_ident

pytestmark = pytest.mark.services

UTC = dt.timezone.utc


def _defaults(**overrides: object) -> dict[str, object]:
    attributes: dict[str, object] = {
        "inherit": True,
        "create_role": False,
        "create_db": False,
        "replication": False,
        "bypass_rls": False,
        "connection_limit": -1,
        "predefined": False,
        "expired": False,
    }
    attributes.update(overrides)
    return attributes


@pytest.fixture
def pg_server(pg_admin: PgAdmin) -> PgAdmin:
    """Roles with grants at every scope, memberships, a superuser, an expired login, PUBLIC."""
    r = pg_admin.role
    db = pg_ident(pg_admin.database)
    pg_admin.run(
        f"CREATE ROLE {pg_ident(r('_admin'))} SUPERUSER LOGIN",
        f"CREATE ROLE {pg_ident(r('_reader'))} LOGIN VALID UNTIL 'infinity' CONNECTION LIMIT 5",
        f"CREATE ROLE {pg_ident(r(chr(39).join(['_o', 'brien'])))} LOGIN",
        f"CREATE ROLE {pg_ident(r('_100%'))} LOGIN",
        f"CREATE ROLE {pg_ident(r('_a@b'))} LOGIN",
        f"CREATE ROLE {pg_ident(r('_用户'))} LOGIN",
        f"CREATE ROLE {pg_ident(r('_expired'))} LOGIN VALID UNTIL '2000-01-01 00:00:00+00'",
        f"CREATE ROLE {pg_ident(r('_group'))} NOLOGIN CREATEDB",
        f"CREATE ROLE {pg_ident(r('_owner'))} NOLOGIN",
        # ``LIKE 'pg_%'`` would wrongly take this for a predefined role.
        f"CREATE ROLE {pg_ident('pgx' + pg_admin.tag)} LOGIN",
        f"GRANT {pg_ident(r('_group'))} TO {pg_ident(r('_reader'))} WITH ADMIN OPTION",
        f"GRANT {pg_ident(r('_group'))} TO {pg_ident(r(chr(39).join(['_o', 'brien'])))}",
        f"GRANT pg_read_all_data TO {pg_ident(r('_100%'))}",
        'CREATE SCHEMA "Sales"',
        'CREATE TABLE "Sales"."Orders" (id int, amount numeric, "note;x" text)',
        'CREATE SEQUENCE "Sales".seq',
        'CREATE FUNCTION "Sales".total(a integer, b text) RETURNS integer '
        "LANGUAGE sql AS 'SELECT 1'",
        "CREATE FUNCTION public.open_fn() RETURNS integer LANGUAGE sql AS 'SELECT 1'",
        "CREATE TABLE public.owned (id int)",
        f"ALTER TABLE public.owned OWNER TO {pg_ident(r('_owner'))}",
        f"GRANT CREATE ON DATABASE {db} TO {pg_ident(r('_a@b'))}",
        f"GRANT CONNECT ON DATABASE {db} TO {pg_ident(r('_用户'))} WITH GRANT OPTION",
        f'GRANT USAGE ON SCHEMA "Sales" TO {pg_ident(r("_group"))}',
        f'GRANT CREATE ON SCHEMA "Sales" TO {pg_ident(r(chr(39).join(["_o", "brien"])))} '
        "WITH GRANT OPTION",
        f'GRANT SELECT, INSERT ON "Sales"."Orders" TO {pg_ident(r("_group"))}',
        f'GRANT SELECT ON "Sales"."Orders" TO {pg_ident(r("_reader"))} WITH GRANT OPTION',
        f'GRANT UPDATE (amount), SELECT ("note;x") ON "Sales"."Orders" TO {pg_ident(r("_100%"))}',
        f'GRANT USAGE ON SEQUENCE "Sales".seq TO {pg_ident(r("_reader"))}',
        'REVOKE EXECUTE ON FUNCTION "Sales".total(integer, text) FROM PUBLIC',
        f'GRANT EXECUTE ON FUNCTION "Sales".total(integer, text) TO {pg_ident(r("_用户"))}',
        'GRANT SELECT ON "Sales"."Orders" TO PUBLIC',
        f"GRANT SELECT ON public.owned TO {pg_ident(r('_reader'))}",
    )
    return pg_admin


def _tagged(admin: PgAdmin, **options: object) -> PostgresCollector:
    return PostgresCollector(include=lambda name: admin.tag in name, **options)  # type: ignore[arg-type]


def test_exact_snapshot_of_roles_grants_and_public(pg_server: PgAdmin) -> None:
    r, db = pg_server.role, pg_server.database
    engine = sa.create_engine(pg_server.url)
    try:
        snapshot = _tagged(pg_server).collect(engine)
    finally:
        engine.dispose()
    orders = (db, "Sales", "Orders")
    obrien = r("_o'brien")

    def user(key: str, **fields: object) -> AccountSnapshot:
        return AccountSnapshot(key=key, username=key, **fields)  # type: ignore[arg-type]

    expected = [
        user(
            r("_100%"),
            attributes=_defaults(),
            memberships=[Membership("pg_read_all_data", grantor="postgres")],
            privileges=[
                Privilege("column", (*orders, "amount"), "UPDATE"),
                Privilege("column", (*orders, "note;x"), "SELECT"),
            ],
        ),
        user(
            r("_a@b"), attributes=_defaults(), privileges=[Privilege("database", (db,), "CREATE")]
        ),
        user(r("_admin"), is_superuser=True, attributes=_defaults()),
        # A passed VALID UNTIL is an expiry, not a lock.
        user(
            r("_expired"),
            valid_until=dt.datetime(2000, 1, 1, tzinfo=UTC),
            attributes=_defaults(expired=True),
        ),
        user(
            r("_group"),
            kind=AccountKind.ROLE,
            attributes=_defaults(create_db=True),
            privileges=[
                Privilege("schema", (db, "Sales"), "USAGE"),
                Privilege("table", orders, "SELECT"),
                Privilege("table", orders, "INSERT"),
            ],
        ),
        user(
            obrien,
            attributes=_defaults(),
            memberships=[Membership(r("_group"), grantor="postgres")],
            privileges=[Privilege("schema", (db, "Sales"), "CREATE", True)],
        ),
        # Owners' implicit privileges are not grants: ownership is reported instead.
        user(
            r("_owner"),
            kind=AccountKind.ROLE,
            attributes=_defaults(),
            privileges=[Privilege("table", (db, "public", "owned"), "OWNER")],
        ),
        user(
            r("_reader"),
            attributes=_defaults(connection_limit=5),
            memberships=[Membership(r("_group"), admin_option=True, grantor="postgres")],
            privileges=[
                Privilege("table", orders, "SELECT", True),
                Privilege("table", (db, "Sales", "seq"), "USAGE"),
                Privilege("table", (db, "public", "owned"), "SELECT"),
            ],
        ),
        user(
            r("_用户"),
            attributes=_defaults(),
            privileges=[
                Privilege("database", (db,), "CONNECT", True),
                # Argument types only, schema-qualified outside pg_catalog.
                Privilege("routine", (db, "Sales", "total(integer, text)"), "EXECUTE"),
            ],
        ),
        user("pgx" + pg_server.tag, attributes=_defaults()),
    ]
    assert list(snapshot.accounts) == sorted(expected, key=lambda a: a.key)
    # What PUBLIC holds is reported once, apart, never as a role's own privilege; a
    # database's built-in CONNECT and TEMPORARY for PUBLIC are its default, not listed.
    assert snapshot.public_privileges is not None
    assert {p for p in snapshot.public_privileges if p.object[0] == db} == {
        Privilege("schema", (db, "public"), "USAGE"),
        Privilege("table", orders, "SELECT"),
        Privilege("routine", (db, "public", "open_fn()"), "EXECUTE"),
    }
    assert snapshot.db_type == "postgresql"
    assert snapshot.databases == (db,)
    assert snapshot.server_version.split(".")[0].isdigit()


def test_equal_servers_give_byte_for_byte_equal_snapshots(pg_server: PgAdmin) -> None:
    engine = sa.create_engine(pg_server.url)
    try:
        first = _tagged(pg_server).collect(engine)
        second = _tagged(pg_server).collect(engine)
    finally:
        engine.dispose()
    assert first == second
    assert first.canonical_json == second.canonical_json
    assert first.digest == second.digest
    assert [a.digest for a in first.accounts] == [a.digest for a in second.accounts]


def test_predefined_and_system_roles(pg_server: PgAdmin) -> None:
    engine = sa.create_engine(pg_server.url)
    try:
        default = PostgresCollector().collect(engine)
        everything = PostgresCollector(include_predefined=True).collect(engine)
    finally:
        engine.dispose()
    keys = {account.key for account in default.accounts}
    assert not {key for key in keys if key.startswith("pg_")}
    assert "pgx" + pg_server.tag in keys  # an ordinary role, whatever LIKE 'pg_%' says
    bootstrap = next(a for a in default.accounts if a.key == "postgres")
    assert bootstrap.is_superuser and bootstrap.kind is AccountKind.USER
    predefined = {a.key: a for a in everything.accounts if a.key.startswith("pg_")}
    assert "pg_read_all_data" in predefined
    assert predefined["pg_read_all_data"].attributes["predefined"] is True
    assert predefined["pg_read_all_data"].kind is AccountKind.ROLE
    assert {m.role for m in predefined["pg_monitor"].memberships} >= {"pg_read_all_settings"}


def test_fixed_number_of_statements_for_10_and_500_roles(pg_admin: PgAdmin) -> None:
    engine = sa.create_engine(pg_admin.url)
    collector = _tagged(pg_admin)
    try:
        counts = []
        for total in (10, 500):
            have = len(pg_admin.tagged_roles())
            pg_admin.run(
                ";".join(
                    f"CREATE ROLE {pg_ident(pg_admin.role(f'_r{index:03d}'))}; "
                    f"GRANT pg_monitor TO {pg_ident(pg_admin.role(f'_r{index:03d}'))}"
                    for index in range(have, total)
                )
            )
            with count_statements(engine) as statements:
                snapshot = collector.collect(engine)
            assert len(snapshot.accounts) == total
            counts.append(len(statements))
    finally:
        engine.dispose()
    assert counts[0] == counts[1] == 5


def test_collection_restores_the_callers_transaction_and_settings(pg_admin: PgAdmin) -> None:
    pg_admin.run(f"CREATE ROLE {pg_ident(pg_admin.role('_solo'))}")
    engine = sa.create_engine(pg_admin.url)
    collector = _tagged(pg_admin, statement_timeout=2.5)
    try:
        with engine.connect() as conn:
            with count_statements(engine) as statements:
                collector.collect(conn)
            # Timeouts and read-only are set first, transaction-locally, then rolled back.
            assert "set_config('statement_timeout'" in statements[0]
            assert conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "off"
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "0"
            conn.rollback()
            # Inside the caller's own transaction: a SAVEPOINT, and the caller's work survives.
            conn.exec_driver_sql("CREATE TABLE caller_work (id int)")
            snapshot = collector.collect(conn)
            conn.exec_driver_sql("INSERT INTO caller_work VALUES (1)")
            conn.commit()
            assert [a.key for a in snapshot.accounts] == [pg_admin.role("_solo")]
            assert conn.exec_driver_sql("SELECT count(*) FROM caller_work").scalar() == 1
    finally:
        engine.dispose()


def test_grants_from_additional_databases(pg_admin: PgAdmin) -> None:
    reader = pg_admin.role("_reader")
    other = f"{pg_admin.tag}_other"
    other_url = pg_admin.create_database(other)
    pg_admin.run(f"CREATE ROLE {pg_ident(reader)} LOGIN")
    other_engine = sa.create_engine(other_url, isolation_level="AUTOCOMMIT")
    try:
        with other_engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE metrics (id int)")
            conn.exec_driver_sql(f"GRANT SELECT ON metrics TO {pg_ident(reader)}")
    finally:
        other_engine.dispose()
    engine = sa.create_engine(pg_admin.url)
    try:
        with count_statements(engine) as statements:
            snapshot = _tagged(pg_admin, databases=[other, pg_admin.database]).collect(engine)
    finally:
        engine.dispose()
    assert snapshot.databases == (pg_admin.database, other)
    (account,) = snapshot.accounts
    assert account.privileges == {Privilege("table", (other, "public", "metrics"), "SELECT")}
    assert snapshot.public_privileges is not None
    assert {p for p in snapshot.public_privileges if p.object[0] == other} == {
        Privilege("schema", (other, "public"), "USAGE")
    }
    # The listener sees this engine only: the other database has its own connection.
    assert len(statements) == 5
