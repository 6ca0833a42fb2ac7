"""Shared fixtures: real servers when reachable, a clear skip otherwise.

With ``ACCOUNTS_SYNC_REQUIRE_SERVICES=1`` (CI) an unreachable server fails the test instead.
Server URLs come from environment variables with this machine's defaults.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from hypothesis import settings

from accounts_sync._redaction import redact_text

# Property tests prove rules, not speed: a loaded CI machine must not fail an example for taking
# longer than Hypothesis' default 200 ms deadline (speed is measured in benchmarks/).
settings.register_profile("accounts_sync", deadline=None)
settings.load_profile("accounts_sync")

POSTGRES_URL = os.environ.get(
    "ACCOUNTS_SYNC_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MYSQL_URL = os.environ.get("ACCOUNTS_SYNC_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/mysql")
REDIS_URL = os.environ.get("ACCOUNTS_SYNC_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRE_SERVICES = os.environ.get("ACCOUNTS_SYNC_REQUIRE_SERVICES") == "1"


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2
        ):
            return True
    except OSError:
        return False


def require_server(name: str, url: str, default_port: int, *, variable: str) -> None:
    """Skip (or, when services are required, fail) unless the server answers on its port.

    The reason names ``variable``, the environment variable that points the tests elsewhere.
    """
    if _reachable(url, default_port):
        return
    # The URL may carry a password: the reason is printed in every test report.
    reason = redact_text(
        f"{name} is not reachable at {url}: start it, set {variable} to a reachable server's "
        f'URL, or leave out the server tests with -m "not services"'
    )
    if REQUIRE_SERVICES:
        pytest.fail(f"ACCOUNTS_SYNC_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def _fresh_database(admin_url: str, *, name_prefix: str) -> Iterator[str]:
    name = f"{name_prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    url = sa.make_url(admin_url).set(database=name)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            if admin.dialect.name == "postgresql":
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            else:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """URL of a new, empty PostgreSQL database, dropped afterwards."""
    require_server("PostgreSQL", POSTGRES_URL, 5432, variable="ACCOUNTS_SYNC_POSTGRES_URL")
    yield from _fresh_database(POSTGRES_URL, name_prefix="as_test")


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """URL of a new, empty MariaDB/MySQL database, dropped afterwards."""
    require_server("MariaDB/MySQL", MYSQL_URL, 3306, variable="ACCOUNTS_SYNC_MYSQL_URL")
    yield from _fresh_database(MYSQL_URL, name_prefix="as_test")


@pytest.fixture
def redis_url() -> str:
    """URL of the Redis server (tests use their own key prefixes)."""
    require_server("Redis", REDIS_URL, 6379, variable="ACCOUNTS_SYNC_REDIS_URL")
    return REDIS_URL
