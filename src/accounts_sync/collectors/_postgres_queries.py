"""The catalogue queries of the PostgreSQL collector, some chosen by server version."""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["DEFAULT_PRIVILEGES", "GRANTS", "ROLES", "SETUP", "memberships_query"]

# Every setting is transaction-local (``is_local``), so the rollback that ends the collection
# restores the caller's. The search path, date and interval styles and time zone are pinned so
# that names, signatures and times read the same whatever the session's settings: with
# ``search_path = pg_catalog`` every type outside pg_catalog is printed schema-qualified.
SETUP = sa.text(
    """
    SELECT pg_catalog.set_config('statement_timeout', :timeout, true) AS statement_timeout,
           pg_catalog.set_config('lock_timeout', :timeout, true) AS lock_timeout,
           pg_catalog.set_config('transaction_read_only', 'on', true) AS read_only,
           pg_catalog.set_config('search_path', 'pg_catalog', true) AS search_path,
           pg_catalog.set_config('DateStyle', 'ISO, MDY', true) AS date_style,
           pg_catalog.set_config('IntervalStyle', 'postgres', true) AS interval_style,
           pg_catalog.set_config('TimeZone', 'UTC', true) AS time_zone,
           pg_catalog.current_database() AS database,
           pg_catalog.current_setting('server_version') AS version,
           pg_catalog.current_setting('server_version_num')::int AS version_num
    """
)

# pg_roles never shows passwords. Predefined roles are recognised exactly: built in
# (oid below FirstNormalObjectId) and named with the reserved ``pg_`` prefix (no LIKE, whose
# ``_`` would match any character). Settings are ``name=value``, prefixed ``database:`` when
# they apply to one database only.
ROLES = sa.text(
    """
    SELECT r.oid::bigint AS oid, r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole,
           r.rolcreatedb, r.rolcanlogin, r.rolreplication, r.rolbypassrls, r.rolconnlimit,
           CASE WHEN pg_catalog.isfinite(r.rolvaliduntil) THEN r.rolvaliduntil END
               AS valid_until,
           COALESCE(r.rolvaliduntil < pg_catalog.statement_timestamp(), false) AS expired,
           (r.oid < 16384 AND pg_catalog.left(r.rolname, 3) = 'pg_') AS predefined,
           pg_catalog.shobj_description(r.oid, 'pg_authid') AS comment,
           ARRAY(
               SELECT COALESCE(d.datname || ':', '') || c.setting
               FROM pg_catalog.pg_db_role_setting AS s
               LEFT JOIN pg_catalog.pg_database AS d ON d.oid = s.setdatabase
               CROSS JOIN LATERAL pg_catalog.unnest(s.setconfig) AS c(setting)
               WHERE s.setrole = r.oid
           ) AS settings
    FROM pg_catalog.pg_roles AS r
    """
)

# PostgreSQL 16 added per-grant INHERIT and SET options (and several grantors per pair).
_MEMBERSHIPS = """
    SELECT m.member::bigint AS member, m.roleid::bigint AS roleid,
           m.grantor::bigint AS grantor, m.admin_option, {options}
    FROM pg_catalog.pg_auth_members AS m
"""
_OPTIONS_16 = "m.inherit_option, m.set_option"
_OPTIONS_OLD = "NULL::boolean AS inherit_option, NULL::boolean AS set_option"


def memberships_query(version_num: int) -> sa.TextClause:
    """The memberships query for a server of ``server_version_num`` ``version_num``."""
    options = _OPTIONS_16 if version_num >= 160000 else _OPTIONS_OLD
    return sa.text(_MEMBERSHIPS.format(options=options))


def _compared(source: str, keys: str, owner: str) -> str:
    """The entries of each ``source`` row's ``acl`` missing from its ``base`` (grants), and of
    its ``base`` missing from its ``acl`` (revoked defaults); the ``owner``'s left out."""
    return f"""
        SELECT {keys}, e.grantee, e.privilege_type, e.is_grantable, false AS revoked
        FROM {source} AS o
        CROSS JOIN LATERAL pg_catalog.aclexplode(o.acl) AS e
        WHERE o.acl IS DISTINCT FROM o.base
          AND e.grantee <> o.{owner}
          AND NOT EXISTS (
              SELECT 1 FROM pg_catalog.aclexplode(o.base) AS x
              WHERE x.grantee = e.grantee AND x.privilege_type = e.privilege_type
                AND x.is_grantable = e.is_grantable)
      UNION ALL
        SELECT {keys}, x.grantee, x.privilege_type, x.is_grantable, true
        FROM {source} AS o
        CROSS JOIN LATERAL pg_catalog.aclexplode(o.base) AS x
        WHERE o.base IS DISTINCT FROM o.acl
          AND x.grantee <> o.{owner}
          AND NOT EXISTS (
              SELECT 1 FROM pg_catalog.aclexplode(COALESCE(o.acl, '{{}}')) AS e
              WHERE e.grantee = x.grantee AND e.privilege_type = x.privilege_type
                AND e.is_grantable = x.is_grantable)"""


# Every ACL of the connected database (and, when ``all_databases``, of every database, since
# pg_database is shared), exploded, plus ownership. A NULL ACL means the built-in default
# (``acldefault``). Owners' implicit privileges are not grants: ownership is reported instead,
# as the privilege OWNER (not for pg_catalog objects, all owned by the bootstrap superuser).
# Objects with a ``base`` are compared with it, both ways: pg_catalog objects with their initdb
# privileges (pg_init_privs, else the built-in default), databases with the built-in default
# (the database list is cluster-wide: PUBLIC's default CONNECT on each would be noise). Entries
# of the base that the ACL lacks are ``revoked`` defaults. information_schema (standard views,
# readable by PUBLIC by design) and the toast/temporary schemas are skipped.
GRANTS = sa.text(
    """
    WITH schemas AS (
        SELECT n.oid, n.nspname, n.nspowner, n.nspacl, n.nspname = 'pg_catalog' AS system
        FROM pg_catalog.pg_namespace AS n
        WHERE n.nspname = 'pg_catalog'
           OR (pg_catalog.left(n.nspname, 3) <> 'pg_' AND n.nspname <> 'information_schema')
    ),
    objects AS (
        SELECT 'database'::text AS scope, d.oid AS objoid, 0 AS subid, d.datdba AS owner,
               d.datname::text AS database, false AS system,
               COALESCE(d.datacl, pg_catalog.acldefault('d', d.datdba)) AS acl,
               pg_catalog.acldefault('d', d.datdba) AS base
        FROM pg_catalog.pg_database AS d
        WHERE CAST(:all_databases AS boolean)
      UNION ALL
        SELECT 'schema', s.oid, 0, s.nspowner, pg_catalog.current_database(), s.system,
               COALESCE(s.nspacl, k.dflt),
               CASE WHEN s.system THEN COALESCE(i.initprivs, k.dflt) END
        FROM schemas AS s
        CROSS JOIN LATERAL (SELECT pg_catalog.acldefault('n', s.nspowner) AS dflt) AS k
        LEFT JOIN pg_catalog.pg_init_privs AS i
          ON i.objoid = s.oid AND i.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
         AND i.objsubid = 0
      UNION ALL
        SELECT 'table', c.oid, 0, c.relowner, pg_catalog.current_database(), s.system,
               COALESCE(c.relacl, k.dflt),
               CASE WHEN s.system THEN COALESCE(i.initprivs, k.dflt) END
        FROM pg_catalog.pg_class AS c
        JOIN schemas AS s ON s.oid = c.relnamespace
        CROSS JOIN LATERAL (
            SELECT pg_catalog.acldefault(
                CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner) AS dflt
        ) AS k
        LEFT JOIN pg_catalog.pg_init_privs AS i
          ON i.objoid = c.oid AND i.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass
         AND i.objsubid = 0
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
      UNION ALL
        SELECT 'column', c.oid, a.attnum, c.relowner, pg_catalog.current_database(), s.system,
               a.attacl, CASE WHEN s.system THEN i.initprivs END
        FROM pg_catalog.pg_attribute AS a
        JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
        JOIN schemas AS s ON s.oid = c.relnamespace
        LEFT JOIN pg_catalog.pg_init_privs AS i
          ON i.objoid = c.oid AND i.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass
         AND i.objsubid = a.attnum
        WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped
          AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
      UNION ALL
        SELECT 'routine', p.oid, 0, p.proowner, pg_catalog.current_database(), s.system,
               COALESCE(p.proacl, k.dflt),
               CASE WHEN s.system THEN COALESCE(i.initprivs, k.dflt) END
        FROM pg_catalog.pg_proc AS p
        JOIN schemas AS s ON s.oid = p.pronamespace
        CROSS JOIN LATERAL (SELECT pg_catalog.acldefault('f', p.proowner) AS dflt) AS k
        LEFT JOIN pg_catalog.pg_init_privs AS i
          ON i.objoid = p.oid AND i.classoid = 'pg_catalog.pg_proc'::pg_catalog.regclass
         AND i.objsubid = 0
    ),
    entries AS (
{compared}
      UNION ALL
        SELECT o.scope, o.objoid, 0, o.database, o.owner, 'OWNER', false, false
        FROM objects AS o
        WHERE NOT o.system AND o.scope <> 'column'
    ),
    grants AS (
        SELECT e.scope, e.objoid, e.subid, e.database, e.grantee, e.privilege_type, e.revoked,
               bool_or(e.is_grantable) AS grantable
        FROM entries AS e
        GROUP BY e.scope, e.objoid, e.subid, e.database, e.grantee, e.privilege_type, e.revoked
    )
    SELECT g.scope, g.grantee::bigint AS grantee, g.privilege_type, g.grantable, g.revoked,
           g.database, COALESCE(sn.nspname, cn.nspname, rn.nspname) AS schema_name,
           c.relname AS relation, a.attname AS column_name,
           CASE WHEN g.scope = 'routine' THEN
               p.proname || '(' || pg_catalog.array_to_string(ARRAY(
                   SELECT pg_catalog.format_type(t.type_oid, NULL)
                   FROM pg_catalog.unnest(p.proargtypes::oid[]) WITH ORDINALITY
                       AS t(type_oid, position)
                   ORDER BY t.position), ', ') || ')'
           END AS routine
    FROM grants AS g
    LEFT JOIN pg_catalog.pg_namespace AS sn ON g.scope = 'schema' AND sn.oid = g.objoid
    LEFT JOIN pg_catalog.pg_class AS c ON g.scope IN ('table', 'column') AND c.oid = g.objoid
    LEFT JOIN pg_catalog.pg_namespace AS cn ON cn.oid = c.relnamespace
    LEFT JOIN pg_catalog.pg_attribute AS a
      ON g.scope = 'column' AND a.attrelid = g.objoid AND a.attnum = g.subid
    LEFT JOIN pg_catalog.pg_proc AS p ON g.scope = 'routine' AND p.oid = g.objoid
    LEFT JOIN pg_catalog.pg_namespace AS rn ON rn.oid = p.pronamespace
    """.format(compared=_compared("objects", "o.scope, o.objoid, o.subid, o.database", "owner"))
)

# Default privileges (ALTER DEFAULT PRIVILEGES) of the connected database. A global entry
# (no schema) replaces the built-in default for objects the role creates, so it is compared
# with ``acldefault`` both ways; a per-schema entry adds to it. The creating role's own entry
# is its ownership of what it creates, not a grant.
DEFAULT_PRIVILEGES = sa.text(
    """
    WITH defaults AS (
        SELECT a.defaclrole AS creator, n.nspname AS schema_name, a.defaclobjtype AS objtype,
               a.defaclacl AS acl,
               CASE WHEN a.defaclnamespace = 0 THEN pg_catalog.acldefault(
                   CASE WHEN a.defaclobjtype = 'S' THEN 's' ELSE a.defaclobjtype END::"char",
                   a.defaclrole) END AS base
        FROM pg_catalog.pg_default_acl AS a
        LEFT JOIN pg_catalog.pg_namespace AS n ON n.oid = a.defaclnamespace
    ),
    entries AS (
{compared}
    )
    SELECT e.creator::bigint AS creator, COALESCE(e.schema_name, '') AS schema_name,
           CASE e.objtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences'
                WHEN 'f' THEN 'functions' WHEN 'T' THEN 'types' WHEN 'n' THEN 'schemas'
                ELSE e.objtype::text END AS object_type,
           e.grantee::bigint AS grantee, e.privilege_type, e.revoked,
           bool_or(e.is_grantable) AS grantable, pg_catalog.current_database() AS database
    FROM entries AS e
    GROUP BY e.creator, e.schema_name, e.objtype, e.grantee, e.privilege_type, e.revoked
    """.format(compared=_compared("defaults", "o.creator, o.schema_name, o.objtype", "creator"))
)
