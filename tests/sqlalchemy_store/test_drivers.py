"""``create_engine_for`` picks the driver of a bare URL and names the extra of a missing one."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from accounts_sync.collectors.dsn import driver_url
from accounts_sync.sqlalchemy import MissingDriverError, create_engine_for

from .conftest import SQL_BACKENDS, backend_url

# The schemes without a driver that reach each backend, and the driver they must get.
BARE = {
    "sqlite-file": {"sqlite": "pysqlite"},
    "postgresql": {"postgresql": "psycopg", "postgres": "psycopg"},
    "mariadb": {"mysql": "pymysql", "mariadb": "pymysql"},
}


@pytest.mark.parametrize("backend", SQL_BACKENDS)
def test_a_url_without_a_driver_connects_with_the_installed_one(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> None:
    url = sa.make_url(backend_url(request, backend, tmp_path))
    for scheme, driver in BARE[backend].items():
        engine = create_engine_for(url.set(drivername=scheme).render_as_string(False))
        try:
            assert engine.url.get_driver_name() == driver
            with engine.connect() as conn:
                assert conn.exec_driver_sql("SELECT 1").scalar() == 1
        finally:
            engine.dispose()


def test_the_cli_dsn_rule_and_the_engine_agree() -> None:
    for scheme in ("postgresql", "postgres", "mysql", "mariadb"):
        url = f"{scheme}://u@h/db"
        assert create_engine_for(url).url.drivername == driver_url(url).drivername


@pytest.mark.parametrize(
    ("url", "module", "extra"),
    [
        ("postgresql://app:s3cret@db/inventory", "psycopg", "postgresql"),
        ("postgres://app:s3cret@db/inventory", "psycopg", "postgresql"),
        ("postgresql+psycopg://app:s3cret@db/inventory", "psycopg", "postgresql"),
        ("mysql://app:s3cret@db/mysql", "pymysql", "mysql"),
        ("mariadb://app:s3cret@db/mysql", "pymysql", "mysql"),
        ("mysql+pymysql://app:s3cret@db/mysql", "pymysql", "mysql"),
    ],
)
def test_a_missing_default_driver_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, url: str, module: str, extra: str
) -> None:
    # What an environment without the extra looks like to the import system.
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ModuleNotFoundError) as caught:
        create_engine_for(url)
    assert isinstance(caught.value, MissingDriverError)
    assert caught.value.name == module
    assert f'pip install "accounts-sync[{extra}]"' in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_a_missing_named_driver_names_it_and_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> object:
        return None if name == "psycopg2" else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(MissingDriverError) as caught:
        create_engine_for("postgresql+psycopg2://app@db/inventory")
    assert "install psycopg2" in str(caught.value)
    assert 'use a bare postgresql:// URL after pip install "accounts-sync[postgresql]"' in str(
        caught.value
    )


def test_sqlite_and_unknown_drivers_are_not_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("psycopg", "pymysql"):
        monkeypatch.setitem(sys.modules, module, None)
    create_engine_for("sqlite://").dispose()
    # A driver this library does not know is SQLAlchemy's to import (and to report).
    with pytest.raises(ImportError) as caught:
        create_engine_for("postgresql+pg8000://app@db/inventory")
    assert not isinstance(caught.value, MissingDriverError)


def test_the_cli_server_engine_names_the_extra_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--dsn`` URLs reach the servers through the CLI's own engine: same rule, same message."""
    from accounts_sync.cli._connect import server_engine

    monkeypatch.setitem(sys.modules, "pymysql", None)
    with pytest.raises(MissingDriverError, match=r"accounts-sync\[mysql\]") as caught:
        server_engine(sa.make_url("mysql+pymysql://root:hunter2@db.internal/app"))
    assert "hunter2" not in str(caught.value)
