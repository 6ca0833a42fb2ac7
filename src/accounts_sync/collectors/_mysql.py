"""MySQL 5.7/8.0 and MariaDB 10.3+ collector: accounts, roles, grants at every level.

The catalogue is chosen from the server version: MariaDB 10.4+ keeps accounts in
``mysql.global_priv`` (JSON; global privileges as a bit mask), older MariaDB and MySQL in
``mysql.user`` columns; roles are in ``mysql.roles_mapping`` (MariaDB) or ``mysql.role_edges``
(MySQL 8). Database, table, column and routine grants come from ``mysql.db``,
``mysql.tables_priv``, ``mysql.columns_priv`` and ``mysql.procs_priv``. Names keep the case the
server stored (never upper-cased). Password hashes are never selected.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy import Connection

from ._base import Bind, CollectionError, NameFilter, positive, read_only_scope
from ._mysql_server import (
    _CATALOGUE_TABLES,
    _GRANT_BIT,
    _LIMITS,
    _MARIADB_BITS,
    _OPTIONAL_USER_COLUMNS,
    _PRIV_COLUMN,
    _TLS_DETAILS,
    MySQLServer,
    _account,
    _flag,
    _key,
    _level,
    _set_items,
    _set_privilege,
    _text,
    _yes_columns,
    auth_methods,
    parse_server_version,
    ssl_type_name,
)
from ._snapshot import AccountSnapshot, Membership, Privilege, ServerSnapshot

__all__ = ["MySQLCollector", "MySQLServer", "parse_server_version"]


@attrs.frozen(kw_only=True)
class MySQLCollector:
    """Collects the accounts of a MySQL 5.7/8.0 or MariaDB 10.3+ server.

    Runs a fixed number of statements per server, whatever the number of accounts: 10 on
    MariaDB, 12 on MySQL 8, 9 on MySQL 5.7 (one fewer inside the caller's transaction, where
    it cannot open its own read-only one). ``include`` filters accounts by user name.
    ``statement_timeout`` is in seconds. ``catalogue`` forces ``"global_priv"`` or ``"user"``
    instead of choosing from the version (to exercise the older layout).
    """

    statement_timeout: float = attrs.field(default=30.0, validator=positive)
    include: NameFilter | None = None
    catalogue: str | None = attrs.field(
        default=None, validator=attrs.validators.in_((None, "global_priv", "user"))
    )

    def collect(self, bind: Bind) -> ServerSnapshot:
        """Read every account and grant; see the ``Collector`` protocol."""
        with read_only_scope(bind) as (conn, fresh):
            if fresh:
                # Opens the read-only transaction itself; the scope's rollback ends it.
                conn.exec_driver_sql("START TRANSACTION READ ONLY")
            version = _text(conn.execute(sa.text("SELECT VERSION()")).scalar_one())
            return _Reader(self, conn, parse_server_version(version)).read()


class _Reader:
    """One collection: the fixed sequence of statements, then the assembly."""

    def __init__(self, options: MySQLCollector, conn: Connection, server: MySQLServer) -> None:
        self.options = options
        self.conn = conn
        self.server = server
        if options.catalogue is None:
            self.global_priv = server.uses_global_priv
        else:
            self.global_priv = options.catalogue == "global_priv"

    def _select(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        timeout = self.options.statement_timeout
        # An empty sql_mode for the statement only: PAD_CHAR_TO_FULL_LENGTH would pad every
        # CHAR name of the catalogue with spaces, ANSI_QUOTES and others change the SQL.
        if self.server.mariadb:
            sql = "SET STATEMENT max_statement_time = :_timeout, sql_mode = '' FOR " + sql
            params["_timeout"] = float(timeout)
        elif self.server.numbers >= (5, 7, 8):
            # An optimizer hint takes a literal only; the value is our own validated number.
            hints = f"MAX_EXECUTION_TIME({max(1, round(timeout * 1000))})"
            if self.server.numbers >= (8, 0, 3):
                hints += " SET_VAR(sql_mode = '')"
            sql = f"SELECT /*+ {hints} */ " + sql[len("SELECT ") :]
        statement = sa.text(sql)
        expanding = [name for name, value in params.items() if isinstance(value, list)]
        if expanding:
            statement = statement.bindparams(
                *(sa.bindparam(name, expanding=True) for name in expanding)
            )
        return [tuple(row) for row in self.conn.execute(statement, params)]

    def read(self) -> ServerSnapshot:
        columns = self._catalogue_columns()
        accounts = self._accounts(columns)
        privileges: dict[str, list[Privilege]] = defaultdict(list)
        for key, account in accounts.items():
            privileges[key].extend(account["global"])
        if self.server.has_dynamic_privileges:
            self._dynamic_privileges(privileges)
        self._db_privileges(columns["db"], privileges)
        self._table_and_column_privileges(privileges)
        self._routine_privileges(privileges)
        self._proxy_privileges(privileges)
        memberships, default_roles = self._roles()
        snapshots = []
        for key, account in accounts.items():
            if self.options.include is not None and not self.options.include(account["user"]):
                continue
            own = privileges.get(key, [])
            attributes = dict(account["attributes"])
            if key in default_roles:
                attributes["default_roles"] = tuple(sorted(default_roles[key]))
            snapshots.append(
                AccountSnapshot(
                    key=key,
                    username=account["user"],
                    host=account["host"],
                    kind=account["kind"],
                    is_superuser=any(p.scope == "global" and p.privilege == "SUPER" for p in own),
                    is_locked=account["locked"],
                    attributes=attributes,
                    memberships=memberships.get(key, ()),
                    privileges=own,
                )
            )
        return ServerSnapshot(
            db_type="mariadb" if self.server.mariadb else "mysql",
            server_version=self.server.version,
            accounts=snapshots,
        )

    # -- catalogue -------------------------------------------------------------------------

    def _required_tables(self) -> list[str]:
        tables = [
            "global_priv" if self.global_priv else "user",
            "db",
            "tables_priv",
            "columns_priv",
            "procs_priv",
            "proxies_priv",
        ]
        if self.server.roles_table:
            tables.append(self.server.roles_table)
        if self.server.has_dynamic_privileges:
            tables += ["default_roles", "global_grants"]
        return tables

    def _catalogue_columns(self) -> dict[str, list[str]]:
        rows = self._select(
            "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = 'mysql' AND TABLE_NAME IN :tables "
            "ORDER BY TABLE_NAME, ORDINAL_POSITION",
            tables=list(_CATALOGUE_TABLES),
        )
        columns: dict[str, list[str]] = defaultdict(list)
        for table, column in rows:
            columns[_text(table)].append(_text(column))
        missing = [table for table in self._required_tables() if not columns.get(table)]
        if missing:
            # information_schema only lists what the login may read: a missing catalogue
            # means missing privileges, and collecting without it would silently lose grants.
            names = ", ".join(f"mysql.{table}" for table in missing)
            raise CollectionError(f"cannot read {names}: grant SELECT on it to the collector")
        return columns

    # -- accounts and global privileges ----------------------------------------------------

    def _accounts(self, columns: Mapping[str, list[str]]) -> dict[str, dict[str, Any]]:
        if self.global_priv:
            return self._accounts_from_global_priv()
        return self._accounts_from_user_table(columns["user"])

    def _accounts_from_global_priv(self) -> dict[str, dict[str, Any]]:
        # Only named JSON members are read: ``Priv`` also holds the authentication strings,
        # which are only ever compared with '' on the server.
        details = ", ".join(
            f"JSON_VALUE(g.Priv, '$.{name}')"
            for name in ("ssl_type", *_TLS_DETAILS, "max_statement_time", *_LIMITS)
        )
        rows = self._select(
            "SELECT g.User, g.Host, "
            "CAST(COALESCE(JSON_VALUE(g.Priv, '$.access'), '0') AS UNSIGNED), "
            "JSON_VALUE(g.Priv, '$.is_role'), JSON_VALUE(g.Priv, '$.account_locked'), "
            "JSON_VALUE(g.Priv, '$.password_last_changed'), "
            "JSON_VALUE(g.Priv, '$.password_lifetime'), JSON_VALUE(g.Priv, '$.plugin'), "
            "JSON_VALUE(g.Priv, '$.default_role'), "
            "COALESCE(JSON_VALUE(g.Priv, '$.authentication_string'), '') = '', "
            f"{self._auth_or()}, {details} FROM mysql.global_priv AS g"
        )
        accounts: dict[str, dict[str, Any]] = {}
        for row in rows:
            user, host, access, is_role, locked, changed, lifetime, plugin, default_role = row[:9]
            empty, methods = row[9:11]
            settings = dict(
                zip(
                    ("ssl_type", *_TLS_DETAILS, "max_statement_time", *_LIMITS),
                    row[11:],
                    strict=True,
                )
            )
            settings["ssl_type"] = ssl_type_name(settings["ssl_type"])
            settings["password_lifetime"] = lifetime
            mask = int(access or 0)
            accounts[_key(user, host)] = _account(
                user,
                host,
                is_role=_flag(is_role),
                locked=_flag(locked),
                global_privileges=_level(
                    "global",
                    (),
                    [name for bit, name in self._bits() if mask >> bit & 1],
                    bool(mask >> _GRANT_BIT & 1),
                ),
                methods=auth_methods(methods, plugin, bool(empty)),
                # MariaDB marks an expired password with a zero change time.
                password_expired=_text(changed) == "0",
                password_changed=changed,
                settings=settings,
                default_role=default_role,
            )
        return accounts

    def _auth_or(self) -> str:
        """``plugin:empty,…`` for ``IDENTIFIED VIA a OR b`` (``{}`` stands for the top-level
        method), or NULL."""
        if not self.server.has_json_table:
            return "NULL"
        return (
            "(SELECT GROUP_CONCAT(CONCAT(COALESCE(j.plugin, JSON_VALUE(g.Priv, '$.plugin')), "
            "':', COALESCE(IF(j.plugin IS NULL, "
            "JSON_VALUE(g.Priv, '$.authentication_string'), j.auth), '') = '') "
            "ORDER BY j.n SEPARATOR ',') "
            "FROM JSON_TABLE(g.Priv, '$.auth_or[*]' COLUMNS (n FOR ORDINALITY, "
            "plugin VARCHAR(64) PATH '$.plugin', auth TEXT PATH '$.authentication_string')) "
            "AS j)"
        )

    def _bits(self) -> list[tuple[int, str]]:
        """The privilege bits this server version defines, with their names."""
        bits = []
        for bit, (name, since) in enumerate(_MARIADB_BITS):
            if name is None or self.server.numbers < since:
                continue
            if bit == 20 and not self.server.binlog_monitor:
                name = "REPLICATION CLIENT"
            bits.append((bit, name))
        return bits

    def _accounts_from_user_table(self, available: Sequence[str]) -> dict[str, dict[str, Any]]:
        privilege_columns = [c for c in available if _PRIV_COLUMN.match(c)]
        optional = [c for c in _OPTIONAL_USER_COLUMNS if c in available]
        selected = ["User", "Host", *privilege_columns, *optional]
        quoted = ", ".join(f"`{column}`" for column in selected)
        # Whether a password is set tells MySQL 8 roles from users; the hash itself stays put.
        has_password = (
            ", (authentication_string <> '')" if "authentication_string" in available else ""
        )
        # Epoch seconds: the TIMESTAMP column would read in the session's time zone.
        changed = (
            ", UNIX_TIMESTAMP(`password_last_changed`)"
            if "password_last_changed" in available
            else ", NULL"
        )
        rows = self._select(f"SELECT {quoted}{changed}{has_password} FROM mysql.user")
        accounts: dict[str, dict[str, Any]] = {}
        for row in rows:
            values = dict(zip(selected, row[: len(selected)], strict=True))
            password_set = bool(row[len(selected) + 1]) if has_password else True
            locked = _flag(values.get("account_locked"))
            if "is_role" in values:
                is_role = _flag(values["is_role"])
            else:
                # MySQL 8 roles are accounts that are locked and have no password.
                is_role = self.server.numbers >= (8, 0, 0) and locked and not password_set
            accounts[_key(values["User"], values["Host"])] = _account(
                values["User"],
                values["Host"],
                is_role=is_role,
                locked=locked,
                global_privileges=_level(
                    "global",
                    (),
                    _yes_columns(privilege_columns, values, self.server),
                    _flag(values.get("Grant_priv")),
                ),
                methods=auth_methods(None, values.get("plugin"), not password_set),
                password_expired=_flag(values.get("password_expired")),
                password_changed=row[len(selected)],
                settings=values,
                default_role=values.get("default_role"),
            )
        return accounts

    def _dynamic_privileges(self, privileges: dict[str, list[Privilege]]) -> None:
        rows = self._select("SELECT USER, HOST, PRIV, WITH_GRANT_OPTION FROM mysql.global_grants")
        for user, host, name, grantable in rows:
            privileges[_key(user, host)].append(
                Privilege("global", (), _text(name).upper(), _flag(grantable))
            )

    # -- database, table, column and routine privileges ------------------------------------

    def _db_privileges(
        self, available: Sequence[str], privileges: dict[str, list[Privilege]]
    ) -> None:
        privilege_columns = [c for c in available if _PRIV_COLUMN.match(c)]
        quoted = ", ".join(f"`{column}`" for column in privilege_columns)
        rows = self._select(f"SELECT `Host`, `Db`, `User`, {quoted} FROM mysql.db")
        for row in rows:
            host, database, user = row[:3]
            values = dict(zip(privilege_columns, row[3:], strict=True))
            names = _yes_columns(privilege_columns, values, self.server)
            privileges[_key(user, host)].extend(
                _level("database", (_text(database),), names, _flag(values.get("Grant_priv")))
            )

    def _table_and_column_privileges(self, privileges: dict[str, list[Privilege]]) -> None:
        tables = self._select(
            "SELECT Host, Db, User, Table_name, Table_priv FROM mysql.tables_priv"
        )
        grant_option: set[tuple[str, str, str, str]] = set()
        for host, database, user, table, table_priv in tables:
            items = _set_items(table_priv)
            grantable = "Grant" in items
            key = _key(user, host)
            if grantable:
                grant_option.add((key, _text(database), _text(table), ""))
            names = [_set_privilege(item) for item in items if item != "Grant"]
            privileges[key].extend(
                _level("table", (_text(database), _text(table)), names, grantable)
            )
        columns = self._select(
            "SELECT Host, Db, User, Table_name, Column_name, Column_priv FROM mysql.columns_priv"
        )
        for host, database, user, table, column, column_priv in columns:
            key = _key(user, host)
            # Column grants share their table's grant option (held in tables_priv).
            grantable = (key, _text(database), _text(table), "") in grant_option
            target = (_text(database), _text(table), _text(column))
            privileges[key].extend(
                Privilege("column", target, _set_privilege(item), grantable)
                for item in _set_items(column_priv)
            )

    def _routine_privileges(self, privileges: dict[str, list[Privilege]]) -> None:
        rows = self._select(
            "SELECT Host, Db, User, Routine_name, Routine_type, Proc_priv FROM mysql.procs_priv"
        )
        for host, database, user, routine, routine_type, proc_priv in rows:
            items = _set_items(proc_priv)
            names = [_set_privilege(item) for item in items if item != "Grant"]
            target = (_text(database), _text(routine_type).upper(), _text(routine))
            privileges[_key(user, host)].extend(_level("routine", target, names, "Grant" in items))

    def _proxy_privileges(self, privileges: dict[str, list[Privilege]]) -> None:
        rows = self._select(
            "SELECT Host, User, Proxied_host, Proxied_user, With_grant FROM mysql.proxies_priv"
        )
        for host, user, proxied_host, proxied_user, grantable in rows:
            target = (_key(proxied_user, proxied_host),)
            privileges[_key(user, host)].append(
                Privilege("proxy", target, "PROXY", _flag(grantable))
            )

    # -- roles -----------------------------------------------------------------------------

    def _roles(self) -> tuple[dict[str, list[Membership]], dict[str, list[str]]]:
        memberships: dict[str, list[Membership]] = defaultdict(list)
        default_roles: dict[str, list[str]] = defaultdict(list)
        if self.server.roles_table == "roles_mapping":
            # MariaDB roles have an empty host, so a role's key is ``name@``.
            for host, user, role, admin in self._select(
                "SELECT Host, User, Role, Admin_option FROM mysql.roles_mapping"
            ):
                memberships[_key(user, host)].append(Membership(f"{_text(role)}@", _flag(admin)))
        elif self.server.roles_table == "role_edges":
            for from_host, from_user, to_host, to_user, admin in self._select(
                "SELECT FROM_HOST, FROM_USER, TO_HOST, TO_USER, WITH_ADMIN_OPTION "
                "FROM mysql.role_edges"
            ):
                memberships[_key(to_user, to_host)].append(
                    Membership(_key(from_user, from_host), _flag(admin))
                )
            for host, user, role_host, role_user in self._select(
                "SELECT HOST, USER, DEFAULT_ROLE_HOST, DEFAULT_ROLE_USER FROM mysql.default_roles"
            ):
                default_roles[_key(user, host)].append(_key(role_user, role_host))
        return memberships, default_roles
