"""Property: a snapshot's canonical form does not depend on the order of the catalogue rows."""

from __future__ import annotations

import random
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts_sync.collectors import MySQLCollector, PostgresCollector
from accounts_sync.collectors._mysql import _Reader
from accounts_sync.collectors._mysql_server import parse_server_version
from tests.collectors._servers import MyAdmin, PgAdmin, my_ident, my_string, pg_ident

pytestmark = pytest.mark.services

EXAMPLES = settings(max_examples=40, deadline=None)


def _shuffled(rows: list[Any], rnd: random.Random) -> list[Any]:
    return rnd.sample(rows, len(rows))


def test_postgres_snapshot_is_the_same_for_any_row_order(pg9: PgAdmin) -> None:
    r = pg9.role
    a, b = pg_ident(r("_a")), pg_ident(r("_b"))
    pg9.run(
        f"CREATE ROLE {a} LOGIN",
        f"CREATE ROLE {b} NOLOGIN",
        f"GRANT {b} TO {a}",
        "CREATE TABLE t (x int, y int)",
        f"GRANT SELECT, INSERT ON t TO {a}",
        f"GRANT UPDATE (x), SELECT (y) ON t TO {b}",
        f"ALTER TABLE t OWNER TO {b}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {b} GRANT SELECT ON TABLES TO {a}",
        f"ALTER ROLE {a} SET work_mem = '8MB'",
        f"ALTER ROLE {a} SET search_path = 'x'",
    )
    collector = PostgresCollector(include=lambda name: pg9.tag in name)
    engine = sa.create_engine(pg9.url)
    try:
        rows = collector.read_catalogue(engine)
    finally:
        engine.dispose()
    expected = collector.assemble(rows).canonical_json
    assert len(rows.grants) > 4 and len(rows.memberships) > 1

    @EXAMPLES
    @given(st.randoms(use_true_random=False))
    def reordered(rnd: random.Random) -> None:
        shuffled = attrs.evolve(
            rows,
            roles=_shuffled(list(rows.roles), rnd),
            memberships=_shuffled(list(rows.memberships), rnd),
            grants=_shuffled(list(rows.grants), rnd),
            defaults=_shuffled(list(rows.defaults), rnd),
        )
        assert collector.assemble(shuffled).canonical_json == expected

    reordered()


class _Recording(_Reader):
    """Reads the server and keeps every statement's rows."""

    recorded: dict[str, list[tuple[Any, ...]]]

    def _select(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        rows = super()._select(sql, **params)
        self.recorded[sql] = rows
        return rows


class _Replaying(_Reader):
    """Answers every statement with the recorded rows, in an order of ``rnd``'s choosing
    (except the column list, which the collector orders itself to build its statements)."""

    recorded: dict[str, list[tuple[Any, ...]]]
    rnd: random.Random

    def _select(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        if "information_schema.COLUMNS" in sql:
            return self.recorded[sql]
        return _shuffled(self.recorded[sql], self.rnd)


def test_mariadb_snapshot_is_the_same_for_any_row_order(my9: MyAdmin) -> None:
    t, db = my9.tag, my_ident(my9.database)
    my9.run(
        f"CREATE TABLE {db}.t (x INT, y INT)",
        f"CREATE USER {my9.account(t + '_a')}, {my9.account(t + '_a', 'localhost')}",
        f"CREATE ROLE {my_string(t + '_r')}",
        f"GRANT SELECT, INSERT ON {db}.* TO {my9.account(t + '_a')}",
        f"GRANT UPDATE (x), SELECT (y) ON {db}.t TO {my9.account(t + '_a')}",
        f"GRANT DELETE ON {db}.t TO {my_string(t + '_r')}",
        f"GRANT {my_string(t + '_r')} TO {my9.account(t + '_a')}",
        f"GRANT {my_string(t + '_r')} TO {my9.account(t + '_a', 'localhost')}",
    )
    options = MySQLCollector(include=lambda name: name.startswith(t))
    engine = sa.create_engine(my9.url)
    try:
        with engine.connect() as conn:
            server = parse_server_version(str(conn.exec_driver_sql("SELECT VERSION()").scalar()))
            recording = _Recording(options, conn, server)
            recording.recorded = {}
            expected = recording.read().canonical_json
    finally:
        engine.dispose()
    replaying = _Replaying(options, conn, server)
    replaying.recorded = recording.recorded

    @EXAMPLES
    @given(st.randoms(use_true_random=False))
    def reordered(rnd: random.Random) -> None:
        replaying.rnd = rnd
        assert replaying.read().canonical_json == expected

    reordered()
