"""MySQLCollector against the real MariaDB server: the exact snapshot of tagged accounts."""

from __future__ import annotations

import attrs
import pytest
import sqlalchemy as sa

from accounts_sync.collectors import (
    AccountKind,
    AccountSnapshot,
    CollectionError,
    Membership,
    MySQLCollector,
    Privilege,
    ServerSnapshot,
)
from tests.collectors._servers import MyAdmin, count_statements, my_ident, my_string, scalars

pytestmark = pytest.mark.services

NATIVE = {"plugin": "mysql_native_password", "password_expired": False, "password_empty": True}
WITH_PASSWORD = {**NATIVE, "password_empty": False}


def without_change_times(snapshot: ServerSnapshot) -> list[AccountSnapshot]:
    """The accounts without ``password_last_changed`` (the time each test created them)."""
    accounts = []
    for account in snapshot.accounts:
        attributes = dict(account.attributes)
        if not account.is_locked and account.kind is AccountKind.USER:
            assert "password_last_changed" in attributes, account.key
        attributes.pop("password_last_changed", None)
        accounts.append(attrs.evolve(account, attributes=attributes))
    return accounts


@pytest.fixture
def my_server(my_admin: MyAdmin) -> MyAdmin:
    """Accounts with grants at every level, a role, a superuser, a locked and expired login."""
    t, db, acct = my_admin.tag, my_ident(my_admin.database), my_admin.account
    mixed, pattern = my_ident(t + "_MixedCase"), my_ident(t + "\\_arch%")
    my_admin.run(
        f"CREATE TABLE {db}.Orders (id INT, amount DECIMAL(10, 2), note TEXT)",
        f"CREATE PROCEDURE {db}.refresh_totals() BEGIN END",
        f"CREATE FUNCTION {db}.total() RETURNS INT DETERMINISTIC RETURN 1",
        f"CREATE USER {acct(t + '_admin', 'localhost')}",
        f"GRANT ALL PRIVILEGES ON *.* TO {acct(t + '_admin', 'localhost')} WITH GRANT OPTION",
        f"CREATE USER {acct(t + '_reader')} IDENTIFIED BY 'reader-pw'",
        f"GRANT PROCESS ON *.* TO {acct(t + '_reader')}",
        f"GRANT SELECT ON {db}.* TO {acct(t + '_reader')}",
        f"CREATE USER {acct(t + chr(39).join(['_o', 'brien']), '10.0.0.%')}",
        f"GRANT SELECT, INSERT ON {db}.Orders TO "
        f"{acct(t + chr(39).join(['_o', 'brien']), '10.0.0.%')} WITH GRANT OPTION",
        f"CREATE USER {acct(t + '_100%')}",
        f"GRANT SELECT (amount), UPDATE (note) ON {db}.Orders TO {acct(t + '_100%')}",
        f"CREATE USER {acct(t + '_a@b', 'Host.Example.COM')}",
        f"GRANT EXECUTE ON PROCEDURE {db}.refresh_totals TO {acct(t + '_a@b', 'host.example.com')}",
        f"GRANT EXECUTE, ALTER ROUTINE ON FUNCTION {db}.total TO "
        f"{acct(t + '_a@b', 'host.example.com')} WITH GRANT OPTION",
        f"CREATE USER {acct(t + '_用户', 'localhost')}",
        f"GRANT SELECT, INSERT ON {mixed}.* TO {acct(t + '_用户', 'localhost')}",
        f"GRANT SELECT ON {pattern}.* TO {acct(t + '_用户', 'localhost')}",
        f"CREATE USER {acct(t + '_locked')} IDENTIFIED BY 'locked-pw' PASSWORD EXPIRE ACCOUNT LOCK",
        f"CREATE USER {acct(t + '_granter')}",
        f"GRANT USAGE ON {db}.* TO {acct(t + '_granter')} WITH GRANT OPTION",
        f"CREATE ROLE {my_string(t + '_role')}",
        f"GRANT SELECT ON {db}.* TO {my_string(t + '_role')}",
        f"GRANT DELETE ON {db}.Orders TO {my_string(t + '_role')}",
        f"GRANT {my_string(t + '_role')} TO {acct(t + '_reader')} WITH ADMIN OPTION",
        f"GRANT {my_string(t + '_role')} TO {acct(t + chr(39).join(['_o', 'brien']), '10.0.0.%')}",
        f"SET DEFAULT ROLE {my_string(t + '_role')} FOR {acct(t + '_reader')}",
    )
    return my_admin


def _tagged(admin: MyAdmin, **options: object) -> MySQLCollector:
    return MySQLCollector(include=lambda name: name.startswith(admin.tag), **options)  # type: ignore[arg-type]


def _collect(admin: MyAdmin, collector: MySQLCollector) -> ServerSnapshot:
    engine = sa.create_engine(admin.url)
    try:
        return collector.collect(engine)
    finally:
        engine.dispose()


def _user_privileges(admin: MyAdmin, grantee: str) -> set[str]:
    return set(
        scalars(
            admin.engine,
            "SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES "
            "WHERE GRANTEE = :grantee",
            grantee=grantee,
        )
    )


def test_exact_snapshot_of_accounts_grants_and_roles(my_server: MyAdmin) -> None:
    t, db = my_server.tag, my_server.database
    snapshot = _collect(my_server, _tagged(my_server))
    orders = (db, "Orders")
    role = f"{t}_role@"

    def account(user: str, host: str, **fields: object) -> AccountSnapshot:
        fields.setdefault("attributes", NATIVE)
        return AccountSnapshot(key=f"{user}@{host}", username=user, host=host, **fields)  # type: ignore[arg-type]

    # The server's own list of what ALL PRIVILEGES means proves the bit mapping.
    everything = _user_privileges(my_server, f"'{t}_admin'@'localhost'")
    assert {"SELECT", "SUPER", "SLAVE MONITOR", "BINLOG MONITOR"} <= everything
    expected = [
        account(
            f"{t}_100%",
            "%",
            privileges=[
                Privilege("column", (*orders, "amount"), "SELECT"),
                Privilege("column", (*orders, "note"), "UPDATE"),
            ],
        ),
        account(
            f"{t}_a@b",
            "host.example.com",
            privileges=[
                Privilege("routine", (db, "PROCEDURE", "refresh_totals"), "EXECUTE"),
                Privilege("routine", (db, "FUNCTION", "total"), "EXECUTE", True),
                Privilege("routine", (db, "FUNCTION", "total"), "ALTER ROUTINE", True),
            ],
        ),
        account(
            f"{t}_admin",
            "localhost",
            is_superuser=True,
            privileges=[Privilege("global", (), name, True) for name in everything],
        ),
        account(f"{t}_granter", "%", privileges=[Privilege("database", (db,), "USAGE", True)]),
        account(
            f"{t}_locked",
            "%",
            is_locked=True,
            # PASSWORD EXPIRE leaves -1 (the server default), read as absent like any other.
            attributes={**WITH_PASSWORD, "password_expired": True},
        ),
        account(
            f"{t}_o'brien",
            "10.0.0.%",
            memberships=[Membership(role)],
            privileges=[
                Privilege("table", orders, "SELECT", True),
                Privilege("table", orders, "INSERT", True),
            ],
        ),
        account(
            f"{t}_reader",
            "%",
            attributes={**WITH_PASSWORD, "default_roles": (role,)},
            memberships=[Membership(role, admin_option=True)],
            privileges=[Privilege("global", (), "PROCESS"), Privilege("database", (db,), "SELECT")],
        ),
        account(
            f"{t}_role",
            "",
            kind=AccountKind.ROLE,
            attributes={"password_expired": False},
            privileges=[
                Privilege("database", (db,), "SELECT"),
                Privilege("table", orders, "DELETE"),
            ],
        ),
        # Database names keep their real case (and their escaped wildcards).
        account(
            f"{t}_用户",
            "localhost",
            privileges=[
                Privilege("database", (f"{t}_MixedCase",), "SELECT"),
                Privilege("database", (f"{t}_MixedCase",), "INSERT"),
                Privilege("database", (f"{t}\\_arch%",), "SELECT"),
            ],
        ),
    ]
    assert without_change_times(snapshot) == sorted(expected, key=lambda a: a.key)
    assert snapshot.public_privileges is None  # MariaDB 10.x has no PUBLIC
    assert snapshot.db_type == "mariadb"


def test_equal_servers_give_equal_snapshots(my_server: MyAdmin) -> None:
    first = _collect(my_server, _tagged(my_server))
    second = _collect(my_server, _tagged(my_server))
    assert first.canonical_json == second.canonical_json
    assert first.digest == second.digest


def test_system_accounts_are_collected(my_admin: MyAdmin) -> None:
    snapshot = _collect(my_admin, MySQLCollector())
    accounts = snapshot.by_key()
    assert accounts["root@localhost"].is_superuser
    # MariaDB's view definer: present, locked, never dropped from the ledger by a filter.
    assert accounts["mariadb.sys@localhost"].is_locked
    # ``mysql@localhost`` has all 64 access bits set: only this version's privileges count.
    everything = _user_privileges(my_admin, "'mysql'@'localhost'")
    assert {
        p.privilege for p in accounts["mysql@localhost"].privileges if p.scope == "global"
    } == everything


def test_older_user_table_layout_agrees(my_server: MyAdmin) -> None:
    """The ``mysql.user`` path (MySQL, MariaDB < 10.4) read through MariaDB's compatible view."""
    t = my_server.tag
    modern = _collect(my_server, _tagged(my_server)).by_key()
    legacy = _collect(my_server, _tagged(my_server, catalogue="user")).by_key()
    assert modern.keys() == legacy.keys()
    for key in modern.keys() - {f"{t}_admin@localhost", f"{t}_locked@%"}:
        # The view has no password_last_changed either.
        attributes = {
            k: v for k, v in modern[key].attributes.items() if k != "password_last_changed"
        }
        assert legacy[key] == attrs.evolve(modern[key], attributes=attributes)
    # The view has no account_locked column, and only the privilege columns of MariaDB 10.4.
    assert not legacy[f"{t}_locked@%"].is_locked
    assert legacy[f"{t}_admin@localhost"].privileges < modern[f"{t}_admin@localhost"].privileges


def test_fixed_number_of_statements_for_10_and_500_accounts(my_admin: MyAdmin) -> None:
    engine = sa.create_engine(my_admin.url)
    collector = _tagged(my_admin)
    counts = []
    try:
        for have, total in ((0, 10), (10, 500)):
            users = [
                my_admin.account(f"{my_admin.tag}_u{index:03d}") for index in range(have, total)
            ]
            my_admin.run(
                "CREATE USER " + ", ".join(users),
                f"GRANT SELECT ON {my_ident(my_admin.database)}.* TO " + ", ".join(users),
            )
            with count_statements(engine) as statements:
                snapshot = collector.collect(engine)
            assert len(snapshot.accounts) == total
            counts.append(len(statements))
    finally:
        engine.dispose()
    assert counts[0] == counts[1] == 10


def test_a_login_without_catalogue_privileges_fails_loudly(my_admin: MyAdmin) -> None:
    weak = f"{my_admin.tag}_weak"
    my_admin.run(
        f"CREATE USER {my_admin.account(weak)} IDENTIFIED BY 'weak-pw'",
        f"GRANT SELECT ON mysql.global_priv TO {my_admin.account(weak)}",
    )
    base = sa.make_url(my_admin.url)
    url = sa.URL.create(base.drivername, weak, "weak-pw", base.host, base.port)
    engine = sa.create_engine(url)
    try:
        with pytest.raises(CollectionError) as caught:
            MySQLCollector().collect(engine)
    finally:
        engine.dispose()
    assert "mysql.db" in caught.value.message
    assert "mysql.global_priv" not in caught.value.message


def test_every_statement_has_a_timeout(my_admin: MyAdmin) -> None:
    from accounts_sync.collectors._mysql import _Reader, parse_server_version

    engine = sa.create_engine(my_admin.url)
    try:
        with count_statements(engine) as statements:
            _tagged(my_admin).collect(engine)
        # START TRANSACTION READ ONLY and SELECT VERSION(), then only bounded statements.
        assert all(s.startswith("SET STATEMENT max_statement_time") for s in statements[2:])
        with engine.connect() as conn:
            reader = _Reader(
                MySQLCollector(statement_timeout=0.2), conn, parse_server_version("10.11.0-MariaDB")
            )
            with pytest.raises(sa.exc.OperationalError, match="max_statement_time"):
                reader._select("SELECT SLEEP(3) FROM mysql.global_priv LIMIT 1")
    finally:
        engine.dispose()
