"""The snapshot model, version parsing and the collector registry (no server needed)."""

from __future__ import annotations

import datetime as dt
import json

import attrs
import pytest
import sqlalchemy as sa

from accounts_sync.collectors import (
    AccountKind,
    AccountSnapshot,
    Attributes,
    CollectionError,
    Collector,
    CollectorRegistry,
    Membership,
    MySQLCollector,
    PostgresCollector,
    Privilege,
    PrivilegeScope,
    ServerSnapshot,
    StaticCollector,
    UnsupportedDatabaseError,
    default_registry,
    parse_server_version,
    read_only_scope,
)
from accounts_sync.collectors._mysql import _Reader
from accounts_sync.collectors._mysql_server import _lifetime, auth_methods

UTC = dt.timezone.utc


def _account(**fields: object) -> AccountSnapshot:
    base: dict[str, object] = {
        "key": "alice@%",
        "username": "alice",
        "host": "%",
        "valid_until": dt.datetime(2030, 1, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        "attributes": {"plugin": "native", "limits": ["a", "b"], "none": None},
        "memberships": [Membership("r2@"), Membership("r1@", True)],
        "privileges": [
            Privilege("table", ("db", "t"), "SELECT"),
            Privilege("global", (), "PROCESS", True),
            Privilege("database", ["db"], "INSERT"),
        ],
    }
    base.update(fields)
    return AccountSnapshot(**base)  # type: ignore[arg-type]


def test_canonical_json_is_sorted_typed_and_utc() -> None:
    account = _account()
    data = json.loads(account.canonical_json)
    assert data["valid_until"] == "2030-01-01T00:00:00+00:00"
    assert data["attributes"] == {"limits": ["a", "b"], "plugin": "native"}
    assert [m["role"] for m in data["memberships"]] == ["r1@", "r2@"]
    assert [p["scope"] for p in data["privileges"]] == ["database", "global", "table"]
    assert account.canonical_json == json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert len(account.digest) == 64


def test_equal_content_gives_equal_bytes_whatever_the_input_order() -> None:
    first = _account()
    second = _account(
        privileges=list(reversed(list(first.privileges))),
        memberships=[Membership("r1@", True), Membership("r2@")],
        attributes={"limits": ("a", "b"), "plugin": "native"},
    )
    assert first == second and hash(first) == hash(second)
    assert first.canonical_json == second.canonical_json
    assert first.digest == second.digest


def test_round_trip_through_json() -> None:
    account = _account(kind="role", is_locked=True)
    assert AccountSnapshot.from_json(json.loads(account.canonical_json)) == account


def test_attributes_are_typed_and_immutable() -> None:
    assert Attributes({"x": True}) != Attributes({"x": 1})
    assert _account(attributes={"x": True}).digest != _account(attributes={"x": 1}).digest
    assert Attributes({"x": 1, "y": None}) == {"x": 1}
    with pytest.raises(AttributeError):
        Attributes({}).x = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        Attributes({"x": 1.5})


def test_privilege_and_naive_times_are_validated() -> None:
    with pytest.raises(ValueError):
        Privilege("server", (), "ALL")
    assert Privilege("column", ["d", "s", "t", "c"], "SELECT").scope is PrivilegeScope.COLUMN
    with pytest.raises(ValueError):
        _account(valid_until=dt.datetime(2030, 1, 1))


def test_server_snapshot_rejects_duplicate_keys_and_a_public_account() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        ServerSnapshot(db_type="x", accounts=[_account(), _account()])
    public = AccountSnapshot(key="public", username="public", kind=AccountKind.PUBLIC)
    with pytest.raises(ValueError):
        ServerSnapshot(db_type="x", accounts=[public])
    snapshot = ServerSnapshot(
        db_type="x",
        accounts=[_account(key="b"), _account(key="a")],
        public_privileges=[Privilege("database", ("db",), "CONNECT")],
    )
    assert [a.key for a in snapshot.accounts] == ["a", "b"]
    pseudo = snapshot.public_account()
    assert pseudo is not None and pseudo.kind is AccountKind.PUBLIC
    assert ServerSnapshot(db_type="x").public_account() is None
    named_public = _account(key="public")
    assert ServerSnapshot(db_type="x", accounts=[named_public]).accounts == (named_public,)
    with pytest.raises(ValueError, match="clashes"):
        ServerSnapshot(db_type="x", accounts=[named_public], public_privileges=[])


@pytest.mark.parametrize(
    ("text", "mariadb", "numbers", "global_priv", "roles", "dynamic", "bit20"),
    [
        ("10.11.6-MariaDB-0+deb12u1", True, (10, 11, 6), True, "roles_mapping", False, True),
        ("5.5.5-10.3.39-MariaDB", True, (10, 3, 39), False, "roles_mapping", False, False),
        ("10.5.1-MariaDB", True, (10, 5, 1), True, "roles_mapping", False, False),
        ("8.0.36", False, (8, 0, 36), False, "role_edges", True, False),
        ("5.7.44-log", False, (5, 7, 44), False, None, False, False),
    ],
)
def test_catalogue_is_chosen_from_the_version(
    text: str,
    mariadb: bool,
    numbers: tuple[int, int, int],
    global_priv: bool,
    roles: str | None,
    dynamic: bool,
    bit20: bool,
) -> None:
    server = parse_server_version(text)
    assert (server.mariadb, server.numbers) == (mariadb, numbers)
    assert server.uses_global_priv is global_priv
    assert server.roles_table == roles
    assert server.has_dynamic_privileges is dynamic
    assert server.binlog_monitor is bit20


def test_unrecognised_version_is_a_collection_error() -> None:
    with pytest.raises(CollectionError):
        parse_server_version("nonsense")


def test_registry_is_case_insensitive_and_pluggable() -> None:
    registry = default_registry()
    assert isinstance(registry.get(" PostgreSQL "), PostgresCollector)
    assert isinstance(registry.get("mariadb"), MySQLCollector)
    assert registry.db_types() == ["mariadb", "mysql", "postgres", "postgresql"]
    with pytest.raises(UnsupportedDatabaseError) as caught:
        registry.require("oracle")
    assert caught.value.db_type == "oracle"
    custom = StaticCollector(ServerSnapshot(db_type="oracle"))
    assert isinstance(custom, Collector)
    registry.register("Oracle", custom)
    assert "oracle" in registry and registry.require("ORACLE") is custom
    registry.register("oracle", StaticCollector(ServerSnapshot(db_type="x")), replace=False)
    assert registry.get("oracle") is custom
    registry.unregister("oracle")
    assert registry.get("oracle") is None
    with pytest.raises(ValueError):
        CollectorRegistry({" ": custom})


def test_read_only_scope_always_rolls_back() -> None:
    engine = sa.create_engine("sqlite://")
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x int)")
        conn.commit()
        with read_only_scope(conn) as (inner, fresh):
            assert inner is conn and fresh
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
        conn.exec_driver_sql("INSERT INTO t VALUES (2)")
        with read_only_scope(conn) as (_inner, fresh):
            assert not fresh  # a SAVEPOINT inside the caller's transaction
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1
    with read_only_scope(engine) as (conn, fresh):
        assert fresh and conn.in_transaction()
    engine.dispose()


def test_collectors_validate_their_options() -> None:
    with pytest.raises(ValueError):
        PostgresCollector(statement_timeout=0)
    with pytest.raises(ValueError):
        MySQLCollector(catalogue="other")


@attrs.define
class _RecordingConnection:
    """Records the SQL text sent; answers every statement with no rows."""

    sent: list[str] = attrs.Factory(list)

    def execute(self, statement: sa.TextClause, params: object = None) -> list[object]:
        self.sent.append(str(statement))
        return []


@pytest.mark.parametrize(
    ("version", "prefix"),
    [
        ("10.11.6-MariaDB", "SET STATEMENT max_statement_time = :_timeout, sql_mode = '' FOR "),
        ("8.0.36", "SELECT /*+ MAX_EXECUTION_TIME(30000) SET_VAR(sql_mode = '') */ "),
        ("5.7.44", "SELECT /*+ MAX_EXECUTION_TIME(30000) */ "),
    ],
)
def test_mysql_statements_pin_their_timeout_and_sql_mode(version: str, prefix: str) -> None:
    conn = _RecordingConnection()
    reader = _Reader(MySQLCollector(), conn, parse_server_version(version))  # type: ignore[arg-type]
    reader._select("SELECT User FROM mysql.proxies_priv")
    (sent,) = conn.sent
    assert sent.startswith(prefix) and sent.endswith("User FROM mysql.proxies_priv")


def test_authentication_methods_and_the_empty_password() -> None:
    native = "mysql_native_password"
    # ``IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('')``
    assert auth_methods(f"unix_socket:1,{native}:1", native, False) == (
        ("unix_socket", native),
        True,
    )
    # A socket has no password: its empty string is no empty password.
    assert auth_methods(f"unix_socket:1,{native}:0", native, True) == (
        ("unix_socket", native),
        False,
    )
    assert auth_methods(None, native, True) == ((native,), True)
    assert auth_methods(None, "unix_socket", True) == (("unix_socket",), False)
    assert auth_methods(None, None, True) == ((), False)  # a role


def test_password_lifetime_has_one_form_for_the_server_default() -> None:
    assert _lifetime(None) is None and _lifetime("-1") is None and _lifetime(-1) is None
    assert _lifetime("0") == 0 and _lifetime(30) == 30
