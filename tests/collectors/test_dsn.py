"""accounts_sync.collectors.dsn: where an instance's DSN comes from, and the driver it gets."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from accounts_sync._errors import MissingDsnError as CanonicalMissingDsnError
from accounts_sync.collectors.dsn import (
    DSN_ENV_PREFIX,
    MissingDsnError,
    driver_url,
    dsn_example,
    dsn_variables,
    engine_family,
    resolve_dsn,
)
from accounts_sync.sqlalchemy import InstanceRow

names = st.text(min_size=1, max_size=30)
ids = st.integers(min_value=1, max_value=10**9)
passwords = st.text(
    alphabet=st.characters(codec="ascii", exclude_characters="\x00"), min_size=1, max_size=20
)
BARE = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}


def test_missing_dsn_error_is_the_one_of_accounts_sync_errors() -> None:
    assert MissingDsnError is CanonicalMissingDsnError
    assert issubclass(MissingDsnError, LookupError)
    assert DSN_ENV_PREFIX == "ACCOUNTS_SYNC_DSN_"


@given(instance_id=ids, name=names)
def test_variables_are_the_id_then_the_name_in_shell_safe_capitals(
    instance_id: int, name: str
) -> None:
    by_id, by_name = dsn_variables(InstanceRow(instance_id, name, "postgresql", "h"))
    assert by_id == f"ACCOUNTS_SYNC_DSN_{instance_id}"
    suffix = by_name.removeprefix(DSN_ENV_PREFIX)
    assert re.fullmatch(r"[A-Z0-9_]+", suffix)
    assert len(suffix) == len(name.upper())


@given(scheme=st.sampled_from(sorted(BARE)), password=passwords)
def test_a_bare_scheme_gets_the_installed_driver_and_keeps_the_password(
    scheme: str, password: str
) -> None:
    url = sa.URL.create(scheme, username="u", password=password, host="h", database="db")
    parsed = driver_url(url.render_as_string(hide_password=False))
    assert parsed.drivername == BARE[scheme]
    assert parsed.password == password
    assert (parsed.username, parsed.host, parsed.database) == ("u", "h", "db")


@given(text=st.text(max_size=40).filter(lambda t: "://" not in t), secret=passwords)
def test_a_non_url_is_refused_without_echoing_it(text: str, secret: str) -> None:
    dsn = f"{text} password={secret}"
    with pytest.raises(ValueError, match=r"^--dsn is not a database URL") as raised:
        driver_url(dsn, source="--dsn")
    assert f"password={secret}" not in str(raised.value)


def test_a_named_driver_is_kept() -> None:
    assert driver_url("postgresql+psycopg2://u@h/db").drivername == "postgresql+psycopg2"
    assert driver_url("  mysql+mysqldb://u@h/db ").drivername == "mysql+mysqldb"


def test_engine_families_and_examples() -> None:
    assert [engine_family(n) for n in ("postgres", " MariaDB", "mysql", "oracle")] == [
        "postgresql",
        "mysql",
        "mysql",
        None,
    ]
    assert dsn_example("mariadb", "db2") == "mysql://USER:PASSWORD@db2:3306/mysql"
    assert dsn_example("postgresql") == "postgresql://USER:PASSWORD@HOST:5432/DBNAME"
    with pytest.raises(ValueError):
        dsn_example("oracle")


def test_resolve_reads_explicit_then_id_then_name() -> None:
    instance = InstanceRow(7, "pg main.eu-1é", "postgresql", "h")
    environ = {"ACCOUNTS_SYNC_DSN_PG_MAIN_EU_1_": "postgres://u:p@by-name/db"}
    assert resolve_dsn(instance, environ=environ).host == "by-name"
    environ["ACCOUNTS_SYNC_DSN_7"] = "postgresql+psycopg2://u:p@by-id/db"
    assert resolve_dsn(instance, environ=environ).host == "by-id"
    environ["ACCOUNTS_SYNC_DSN_7"] = "   "  # blank counts as unset
    assert resolve_dsn(instance, environ=environ).host == "by-name"
    explicit = resolve_dsn(instance, explicit="postgresql://u@other/db", environ=environ)
    assert explicit.host == "other"


def test_resolve_names_the_variables_when_none_is_set() -> None:
    instance = InstanceRow(3, "pg-main", "postgresql", "h")
    with pytest.raises(MissingDsnError) as missing:
        resolve_dsn(instance, environ={})
    assert str(missing.value) == (
        "no DSN for instance 3 (pg-main): set ACCOUNTS_SYNC_DSN_3 or ACCOUNTS_SYNC_DSN_PG_MAIN"
    )
    assert missing.value.extra["variables"] == ["ACCOUNTS_SYNC_DSN_3", "ACCOUNTS_SYNC_DSN_PG_MAIN"]
    with pytest.raises(MissingDsnError, match=r"\(or pass --dsn URL\)$"):
        resolve_dsn(instance, environ={}, option_hint=True)


@given(
    db_type=st.sampled_from(["postgresql", "mysql", "mariadb"]),
    scheme=st.sampled_from(sorted(BARE)),
)
def test_resolve_accepts_only_the_instances_engine_family(db_type: str, scheme: str) -> None:
    instance = InstanceRow(1, "x", db_type, "h")
    dsn = f"{scheme}://u:secret-pw@h/db"
    if engine_family(scheme) == engine_family(db_type):
        assert resolve_dsn(instance, explicit=dsn, environ={}).drivername == BARE[scheme]
    else:
        with pytest.raises(
            ValueError, match=f"^--dsn is a .* URL but instance 1 \\(x\\) is {db_type}$"
        ) as e:
            resolve_dsn(instance, explicit=dsn, environ={})
        assert "secret-pw" not in str(e.value)
