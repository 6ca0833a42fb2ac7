"""PostgreSQL collector: roles, memberships and the grants parsed from ACLs."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, cast

import attrs
import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.pool import NullPool

from ._base import Bind, NameFilter, positive, read_only_scope
from ._postgres_queries import DEFAULT_PRIVILEGES, GRANTS, ROLES, SETUP, memberships_query
from ._snapshot import (
    OWNER,
    AccountKind,
    AccountSnapshot,
    Membership,
    Privilege,
    ServerSnapshot,
    _names,
)

__all__ = ["PostgresCollector"]

_PUBLIC_OID = 0

DatabaseConnector = Callable[[str], AbstractContextManager[Connection]]
"""Opens a connection to another database of the same server, by name."""


Row = Mapping[str, Any]
"""One catalogue row, by column name."""


@attrs.frozen
class CatalogueRows:
    """Everything one collection read, before assembly (rows in any order)."""

    version: str
    databases: tuple[str, ...]
    roles: Sequence[Row]
    memberships: Sequence[Row]
    grants: Sequence[Row]
    defaults: Sequence[Row]


@attrs.frozen(kw_only=True)
class PostgresCollector:
    """Collects the roles of a PostgreSQL (10+) server.

    Runs ``5 + 3 × len(extra databases)`` statements, whatever the number of roles. Database
    ACLs and owners come from every database (``pg_database`` is shared); the other grants,
    ownerships and default privileges from the connected database, plus ``databases`` (each
    read through ``connect_database``, by default a short-lived engine on the caller's URL with
    that database). ``include`` filters roles by name; predefined ``pg_*`` roles are left out
    unless ``include_predefined`` or they hold a grant (memberships in them are always kept).
    ``statement_timeout`` is in seconds.
    """

    statement_timeout: float = attrs.field(default=30.0, validator=positive)
    include: NameFilter | None = None
    include_predefined: bool = False
    databases: tuple[str, ...] = attrs.field(default=(), converter=_names)
    connect_database: DatabaseConnector | None = None

    def collect(self, bind: Bind) -> ServerSnapshot:
        """Read every role, membership, grant and ownership; see the ``Collector`` protocol."""
        return self.assemble(self.read_catalogue(bind))

    def read_catalogue(self, bind: Bind) -> CatalogueRows:
        """The catalogue rows ``collect`` assembles (every statement it runs)."""
        with read_only_scope(bind) as (conn, _fresh):
            info = self._setup(conn)
            roles = _rows(conn, ROLES)
            memberships = _rows(conn, memberships_query(int(info.version_num)))
            grants = _rows(conn, GRANTS, all_databases=True)
            defaults = _rows(conn, DEFAULT_PRIVILEGES)
        databases = [str(info.database)]
        for name in self.databases:
            if name in databases:
                continue
            databases.append(name)
            with self._open_database(bind, name) as other, read_only_scope(other) as (conn, _):
                self._setup(conn)
                grants += _rows(conn, GRANTS, all_databases=False)
                defaults += _rows(conn, DEFAULT_PRIVILEGES)
        return CatalogueRows(
            str(info.version), tuple(databases), roles, memberships, grants, defaults
        )

    def _setup(self, conn: Connection) -> sa.Row[Any]:
        timeout = str(max(1, round(self.statement_timeout * 1000)))
        return conn.execute(SETUP, {"timeout": timeout}).one()

    @contextlib.contextmanager
    def _open_database(self, bind: Bind, name: str) -> Iterator[Connection]:
        if self.connect_database is not None:
            with self.connect_database(name) as conn:
                yield conn
            return
        engine = bind if isinstance(bind, Engine) else bind.engine
        other = sa.create_engine(engine.url.set(database=name), poolclass=NullPool)
        try:
            with other.connect() as conn:
                yield conn
        finally:
            other.dispose()

    def _wanted(self, role: Row, holds_grants: bool) -> bool:
        if role["predefined"] and not (self.include_predefined or holds_grants):
            return False
        return self.include is None or bool(self.include(role["rolname"]))

    def assemble(self, rows: CatalogueRows) -> ServerSnapshot:
        """The snapshot of ``rows``: the same whatever their order."""
        names = {int(role["oid"]): str(role["rolname"]) for role in rows.roles}
        member_of: dict[int, list[Membership]] = defaultdict(list)
        for row in rows.memberships:
            if int(row["roleid"]) in names:
                member_of[int(row["member"])].append(_membership(row, names))
        privileges: dict[int, list[Privilege]] = defaultdict(list)
        revoked: dict[int, list[Privilege]] = defaultdict(list)
        for grant in rows.grants:
            target = revoked if grant["revoked"] else privileges
            target[int(grant["grantee"])].append(_privilege(grant))
        for row in rows.defaults:
            target = revoked if row["revoked"] else privileges
            target[int(row["grantee"])].append(_default_privilege(row, names))
        accounts = [
            _account(role, member_of, privileges, revoked)
            for role in rows.roles
            if self._wanted(role, _holds_grants(int(role["oid"]), privileges, revoked))
        ]
        return ServerSnapshot(
            db_type="postgresql",
            server_version=rows.version,
            accounts=accounts,
            public_privileges=privileges.get(_PUBLIC_OID, ()),
            public_revoked_defaults=revoked.get(_PUBLIC_OID, ()),
            databases=rows.databases,
        )


def _rows(conn: Connection, query: sa.TextClause, **params: Any) -> list[Row]:
    return cast(list[Row], list(conn.execute(query, params).mappings().all()))


def _holds_grants(
    oid: int, privileges: Mapping[int, list[Privilege]], revoked: Mapping[int, list[Privilege]]
) -> bool:
    # Built-in objects owned by predefined roles (e.g. pg_database_owner owns the schema
    # public) are no reason to list them: only what was granted or revoked is.
    return oid in revoked or any(p.privilege != OWNER for p in privileges.get(oid, ()))


def _account(
    role: Row,
    member_of: Mapping[int, list[Membership]],
    privileges: Mapping[int, list[Privilege]],
    revoked: Mapping[int, list[Privilege]],
) -> AccountSnapshot:
    oid = int(role["oid"])
    return AccountSnapshot(
        key=str(role["rolname"]),
        username=str(role["rolname"]),
        kind=AccountKind.USER if role["rolcanlogin"] else AccountKind.ROLE,
        is_superuser=bool(role["rolsuper"]),
        # PostgreSQL has no account lock: a passed VALID UNTIL is an expiry (``expired``).
        is_locked=False,
        valid_until=role["valid_until"],
        attributes={
            "inherit": bool(role["rolinherit"]),
            "create_role": bool(role["rolcreaterole"]),
            "create_db": bool(role["rolcreatedb"]),
            "replication": bool(role["rolreplication"]),
            "bypass_rls": bool(role["rolbypassrls"]),
            "connection_limit": int(role["rolconnlimit"]),
            "predefined": bool(role["predefined"]),
            "expired": bool(role["expired"]),
            "comment": role["comment"],
            "settings": tuple(sorted(role["settings"] or ())) or None,
        },
        memberships=member_of.get(oid, ()),
        privileges=privileges.get(oid, ()),
        revoked_defaults=revoked.get(oid, ()),
    )


def _membership(row: Row, names: Mapping[int, str]) -> Membership:
    inherit, set_option = row["inherit_option"], row["set_option"]
    return Membership(
        names[int(row["roleid"])],
        bool(row["admin_option"]),
        grantor=names.get(int(row["grantor"])),
        inherit_option=None if inherit is None else bool(inherit),
        set_option=None if set_option is None else bool(set_option),
    )


def _default_privilege(row: Row, names: Mapping[int, str]) -> Privilege:
    creator = names.get(int(row["creator"]), str(row["creator"]))
    target = (str(row["database"]), str(row["schema_name"]), str(row["object_type"]), creator)
    return Privilege("default", target, str(row["privilege_type"]), bool(row["grantable"]))


def _privilege(grant: Row) -> Privilege:
    scope = str(grant["scope"])
    database = str(grant["database"])
    if scope == "database":
        target: tuple[str, ...] = (database,)
    elif scope == "schema":
        target = (database, grant["schema_name"])
    elif scope == "table":
        target = (database, grant["schema_name"], grant["relation"])
    elif scope == "column":
        target = (database, grant["schema_name"], grant["relation"], grant["column_name"])
    else:
        target = (database, grant["schema_name"], grant["routine"])
    return Privilege(scope, target, str(grant["privilege_type"]), bool(grant["grantable"]))
