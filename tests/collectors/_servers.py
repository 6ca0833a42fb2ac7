"""Tagged, cluster-wide accounts on the real servers, dropped at teardown.

Roles and users are server-wide on PostgreSQL and MariaDB, and other test sessions share the
servers: every name starts with a random tag, and collections are restricted to that tag.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa


def new_tag(prefix: str = "as") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def pg_ident(name: str) -> str:
    """Quote a PostgreSQL identifier (tests build DDL; the library only binds data)."""
    return '"' + name.replace('"', '""') + '"'


def my_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def my_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def scalars(engine: sa.Engine, sql: str, **params: object) -> list[Any]:
    """The first column of every row of ``sql``."""
    with engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params).scalars())


class PgAdmin:
    """A superuser connection (autocommit) to the test database, and role clean-up."""

    def __init__(self, url: str, tag: str) -> None:
        self.url = url
        self.tag = tag
        self.database = sa.make_url(url).database or ""
        self.engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        self.extra_databases: list[str] = []

    def run(self, *statements: str) -> None:
        with self.engine.connect() as conn:
            for statement in statements:
                # The drivers read ``%`` as a placeholder even without parameters.
                conn.exec_driver_sql(statement.replace("%", "%%"))

    def role(self, suffix: str) -> str:
        return f"{self.tag}{suffix}"

    def create_database(self, name: str) -> str:
        self.run(f"CREATE DATABASE {pg_ident(name)}")
        self.extra_databases.append(name)
        return sa.make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def tagged_roles(self) -> list[str]:
        return scalars(
            self.engine,
            "SELECT rolname FROM pg_roles WHERE strpos(rolname, :tag) > 0",
            tag=self.tag,
        )

    def owned_schemas(self) -> list[str]:
        return scalars(
            self.engine,
            "SELECT nspname FROM pg_namespace JOIN pg_roles ON pg_roles.oid = nspowner "
            "WHERE strpos(rolname, :tag) > 0",
            tag=self.tag,
        )

    def cleanup(self) -> None:
        for name in self.extra_databases:
            self.run(f"DROP DATABASE IF EXISTS {pg_ident(name)} WITH (FORCE)")
        roles = self.tagged_roles()
        if roles:
            names = ", ".join(pg_ident(role) for role in roles)
            # DROP OWNED cannot drop a schema that holds objects of other owners.
            self.run(
                *(f"DROP SCHEMA IF EXISTS {pg_ident(s)} CASCADE" for s in self.owned_schemas())
            )
            # Revokes their grants here and on shared objects, so the roles can go.
            self.run(f"DROP OWNED BY {names}", f"DROP ROLE {names}")
        self.engine.dispose()


class MyAdmin:
    """A root connection (autocommit) to the test database, and user clean-up."""

    def __init__(self, url: str, tag: str) -> None:
        self.url = url
        self.tag = tag
        self.database = sa.make_url(url).database or ""
        self.engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")

    def run(self, *statements: str) -> None:
        with self.engine.connect() as conn:
            for statement in statements:
                # The drivers read ``%`` as a placeholder even without parameters.
                conn.exec_driver_sql(statement.replace("%", "%%"))

    def account(self, user: str, host: str = "%") -> str:
        return f"{my_string(user)}@{my_string(host)}"

    def tagged_accounts(self) -> list[tuple[str, str, bool]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT User, Host, COALESCE(JSON_VALUE(Priv, '$.is_role'), 0) "
                    "FROM mysql.global_priv WHERE LOCATE(:tag, User) = 1"
                ),
                {"tag": self.tag},
            ).all()
        return [(str(user), str(host), str(role) in ("1", "true")) for user, host, role in rows]

    def cleanup(self) -> None:
        # Proxy rows a test inserted itself (GRANT PROXY needs root@localhost).
        self.run(
            f"DELETE FROM mysql.proxies_priv WHERE LOCATE({my_string(self.tag)}, User) = 1",
            "FLUSH PRIVILEGES",
        )
        accounts = self.tagged_accounts()
        users = [self.account(u, h) for u, h, role in accounts if not role]
        roles = [my_string(u) for u, _h, role in accounts if role]
        statements = []
        if users:
            statements.append("DROP USER " + ", ".join(users))
        statements += [f"DROP ROLE {role}" for role in roles]
        self.run(*statements)
        self.engine.dispose()


def _cleaned(admin: PgAdmin | MyAdmin) -> Iterator[Any]:
    try:
        yield admin
    finally:
        admin.cleanup()


@pytest.fixture
def pg_admin(postgres_url: str) -> Iterator[PgAdmin]:
    yield from _cleaned(PgAdmin(postgres_url, new_tag()))


@pytest.fixture
def my_admin(mysql_url: str) -> Iterator[MyAdmin]:
    yield from _cleaned(MyAdmin(mysql_url, new_tag()))


@pytest.fixture
def pg9(postgres_url: str) -> Iterator[PgAdmin]:
    """A ``PgAdmin`` whose names start with ``as9_`` (the collector-trust tests)."""
    yield from _cleaned(PgAdmin(postgres_url, new_tag("as9_")))


@pytest.fixture
def my9(mysql_url: str) -> Iterator[MyAdmin]:
    """A ``MyAdmin`` whose names start with ``as9_`` (the collector-trust tests)."""
    yield from _cleaned(MyAdmin(mysql_url, new_tag("as9_")))


@contextlib.contextmanager
def count_statements(engine: sa.Engine) -> Iterator[list[str]]:
    """Collect every statement the engine sends inside the block (``before_cursor_execute``)."""
    seen: list[str] = []

    def listener(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
