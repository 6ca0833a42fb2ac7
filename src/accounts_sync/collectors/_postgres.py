"""PostgreSQL collector: roles, memberships and the grants parsed from ACLs."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.pool import NullPool

from ._base import Bind, NameFilter, positive, read_only_scope
from ._snapshot import AccountKind, AccountSnapshot, Membership, Privilege, ServerSnapshot, _names

__all__ = ["PostgresCollector"]

# ``transaction_read_only`` and the timeouts are transaction-local (``is_local``), so the
# rollback that ends the collection restores the caller's settings, SAVEPOINT or not.
_SETUP = sa.text(
    """
    SELECT set_config('statement_timeout', :timeout, true) AS statement_timeout,
           set_config('lock_timeout', :timeout, true) AS lock_timeout,
           set_config('transaction_read_only', 'on', true) AS read_only,
           current_database() AS database,
           current_setting('server_version') AS version
    """
)

# pg_roles never shows passwords. Predefined roles are recognised exactly: built in
# (oid below FirstNormalObjectId) and named with the reserved ``pg_`` prefix (no LIKE, whose
# ``_`` would match any character).
_ROLES = sa.text(
    """
    SELECT r.oid::bigint AS oid, r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole,
           r.rolcreatedb, r.rolcanlogin, r.rolreplication, r.rolbypassrls, r.rolconnlimit,
           CASE WHEN isfinite(r.rolvaliduntil) THEN r.rolvaliduntil END AS valid_until,
           COALESCE(r.rolvaliduntil < statement_timestamp(), false) AS expired,
           (r.oid < 16384 AND left(r.rolname, 3) = 'pg_') AS predefined
    FROM pg_catalog.pg_roles AS r
    """
)

# Since PostgreSQL 16 one pair can have several grantors: fold them.
_MEMBERSHIPS = sa.text(
    """
    SELECT m.member::bigint AS member, m.roleid::bigint AS roleid,
           bool_or(m.admin_option) AS admin_option
    FROM pg_catalog.pg_auth_members AS m
    GROUP BY m.member, m.roleid
    """
)

# Every ACL of the connected database, exploded. A NULL ACL means the built-in default
# (``acldefault``), which is what PUBLIC really has (CONNECT/TEMPORARY on databases, EXECUTE
# on routines, ...). Owners' implicit privileges are not grants and are left out. Objects of
# pg_catalog only report what differs from their initdb privileges (pg_init_privs), otherwise
# PUBLIC would "have" thousands of built-in functions; information_schema (standard views,
# readable by PUBLIC by design) and the toast/temporary schemas are skipped.
_GRANTS = sa.text(
    """
    WITH schemas AS (
        SELECT n.oid, n.nspname, n.nspowner, n.nspacl, n.nspname = 'pg_catalog' AS system
        FROM pg_catalog.pg_namespace AS n
        WHERE n.nspname = 'pg_catalog'
           OR (left(n.nspname, 3) <> 'pg_' AND n.nspname <> 'information_schema')
    ),
    objects AS (
        SELECT 'database'::text AS scope, d.oid AS objoid, 0 AS subid, d.datdba AS owner,
               COALESCE(d.datacl, acldefault('d', d.datdba)) AS acl,
               NULL::aclitem[] AS initacl
        FROM pg_catalog.pg_database AS d
        WHERE d.datname = current_database()
      UNION ALL
        SELECT 'schema', s.oid, 0, s.nspowner,
               CASE WHEN s.system THEN s.nspacl
                    ELSE COALESCE(s.nspacl, acldefault('n', s.nspowner)) END,
               CASE WHEN s.system THEN i.initprivs END
        FROM schemas AS s
        LEFT JOIN pg_catalog.pg_init_privs AS i
          ON i.objoid = s.oid AND i.classoid = 'pg_catalog.pg_namespace'::regclass
         AND i.objsubid = 0
      UNION ALL
        SELECT 'table', c.oid, 0, c.relowner,
               CASE WHEN s.system THEN c.relacl
                    ELSE COALESCE(c.relacl, acldefault(
                        CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))
               END,
               CASE WHEN s.system THEN i.initprivs END
        FROM pg_catalog.pg_class AS c
        JOIN schemas AS s ON s.oid = c.relnamespace
        LEFT JOIN pg_catalog.pg_init_privs AS i
          ON i.objoid = c.oid AND i.classoid = 'pg_catalog.pg_class'::regclass
         AND i.objsubid = 0
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
      UNION ALL
        SELECT 'column', c.oid, a.attnum, c.relowner, a.attacl,
               CASE WHEN s.system THEN i.initprivs END
        FROM pg_catalog.pg_attribute AS a
        JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
        JOIN schemas AS s ON s.oid = c.relnamespace
        LEFT JOIN pg_catalog.pg_init_privs AS i
          ON i.objoid = c.oid AND i.classoid = 'pg_catalog.pg_class'::regclass
         AND i.objsubid = a.attnum
        WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped
          AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
      UNION ALL
        SELECT 'routine', p.oid, 0, p.proowner,
               CASE WHEN s.system THEN p.proacl
                    ELSE COALESCE(p.proacl, acldefault('f', p.proowner)) END,
               CASE WHEN s.system THEN i.initprivs END
        FROM pg_catalog.pg_proc AS p
        JOIN schemas AS s ON s.oid = p.pronamespace
        LEFT JOIN pg_catalog.pg_init_privs AS i
          ON i.objoid = p.oid AND i.classoid = 'pg_catalog.pg_proc'::regclass
         AND i.objsubid = 0
    ),
    grants AS (
        SELECT o.scope, o.objoid, o.subid, e.grantee, e.privilege_type,
               bool_or(e.is_grantable) AS grantable
        FROM objects AS o
        CROSS JOIN LATERAL aclexplode(o.acl) AS e
        WHERE o.acl IS NOT NULL
          AND e.grantee <> o.owner
          AND NOT EXISTS (
              SELECT 1 FROM aclexplode(o.initacl) AS x
              WHERE x.grantee = e.grantee AND x.privilege_type = e.privilege_type
                AND x.is_grantable = e.is_grantable)
        GROUP BY o.scope, o.objoid, o.subid, e.grantee, e.privilege_type
    )
    SELECT g.scope, g.grantee::bigint AS grantee, g.privilege_type, g.grantable,
           current_database() AS database,
           COALESCE(sn.nspname, cn.nspname, rn.nspname) AS schema_name,
           c.relname AS relation, a.attname AS column_name,
           CASE WHEN g.scope = 'routine' THEN
               p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')'
           END AS routine
    FROM grants AS g
    LEFT JOIN pg_catalog.pg_namespace AS sn ON g.scope = 'schema' AND sn.oid = g.objoid
    LEFT JOIN pg_catalog.pg_class AS c ON g.scope IN ('table', 'column') AND c.oid = g.objoid
    LEFT JOIN pg_catalog.pg_namespace AS cn ON cn.oid = c.relnamespace
    LEFT JOIN pg_catalog.pg_attribute AS a
      ON g.scope = 'column' AND a.attrelid = g.objoid AND a.attnum = g.subid
    LEFT JOIN pg_catalog.pg_proc AS p ON g.scope = 'routine' AND p.oid = g.objoid
    LEFT JOIN pg_catalog.pg_namespace AS rn ON rn.oid = p.pronamespace
    """
)

_PUBLIC_OID = 0

DatabaseConnector = Callable[[str], AbstractContextManager[Connection]]
"""Opens a connection to another database of the same server, by name."""


@attrs.frozen(kw_only=True)
class PostgresCollector:
    """Collects the roles of a PostgreSQL (10+) server.

    Runs ``4 + 2 × len(extra databases)`` statements, whatever the number of roles. Object
    grants come from the connected database, plus ``databases`` (each read through
    ``connect_database``, by default a short-lived engine on the caller's URL with that
    database). ``include`` filters roles by name; predefined ``pg_*`` roles are left out unless
    ``include_predefined`` (memberships in them are always kept). ``statement_timeout`` is in
    seconds.
    """

    statement_timeout: float = attrs.field(default=30.0, validator=positive)
    include: NameFilter | None = None
    include_predefined: bool = False
    databases: tuple[str, ...] = attrs.field(default=(), converter=_names)
    connect_database: DatabaseConnector | None = None

    def collect(self, bind: Bind) -> ServerSnapshot:
        """Read every role, membership and grant; see the ``Collector`` protocol."""
        with read_only_scope(bind) as (conn, _fresh):
            info = self._setup(conn)
            roles = conn.execute(_ROLES).mappings().all()
            memberships = [tuple(row) for row in conn.execute(_MEMBERSHIPS)]
            grants = list(conn.execute(_GRANTS).mappings().all())
        databases = [str(info.database)]
        for name in self.databases:
            if name in databases:
                continue
            databases.append(name)
            with self._open_database(bind, name) as other, read_only_scope(other) as (conn, _):
                self._setup(conn)
                grants.extend(conn.execute(_GRANTS).mappings().all())
        return self._build(str(info.version), databases, roles, memberships, grants)

    def _setup(self, conn: Connection) -> sa.Row[Any]:
        timeout = str(max(1, round(self.statement_timeout * 1000)))
        return conn.execute(_SETUP, {"timeout": timeout}).one()

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

    def _wanted(self, role: sa.RowMapping) -> bool:
        if role["predefined"] and not self.include_predefined:
            return False
        return self.include is None or bool(self.include(role["rolname"]))

    def _build(
        self,
        version: str,
        databases: Sequence[str],
        roles: Sequence[sa.RowMapping],
        memberships: Sequence[tuple[Any, ...]],
        grants: Sequence[sa.RowMapping],
    ) -> ServerSnapshot:
        names = {int(role["oid"]): str(role["rolname"]) for role in roles}
        member_of: dict[int, list[Membership]] = defaultdict(list)
        for member, roleid, admin_option in memberships:
            if int(roleid) in names:
                member_of[int(member)].append(Membership(names[int(roleid)], bool(admin_option)))
        privileges: dict[int, list[Privilege]] = defaultdict(list)
        for grant in grants:
            privileges[int(grant["grantee"])].append(_privilege(grant))
        accounts = [
            AccountSnapshot(
                key=str(role["rolname"]),
                username=str(role["rolname"]),
                kind=AccountKind.USER if role["rolcanlogin"] else AccountKind.ROLE,
                is_superuser=bool(role["rolsuper"]),
                is_locked=bool(role["expired"]),
                valid_until=role["valid_until"],
                attributes={
                    "inherit": bool(role["rolinherit"]),
                    "create_role": bool(role["rolcreaterole"]),
                    "create_db": bool(role["rolcreatedb"]),
                    "replication": bool(role["rolreplication"]),
                    "bypass_rls": bool(role["rolbypassrls"]),
                    "connection_limit": int(role["rolconnlimit"]),
                    "predefined": bool(role["predefined"]),
                },
                memberships=member_of.get(int(role["oid"]), ()),
                privileges=privileges.get(int(role["oid"]), ()),
            )
            for role in roles
            if self._wanted(role)
        ]
        return ServerSnapshot(
            db_type="postgresql",
            server_version=version,
            accounts=accounts,
            public_privileges=privileges.get(_PUBLIC_OID, ()),
            databases=databases,
        )


def _privilege(grant: sa.RowMapping) -> Privilege:
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
