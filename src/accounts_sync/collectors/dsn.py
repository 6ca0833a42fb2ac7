"""Where an instance's DSN comes from: ``--dsn``, else ``ACCOUNTS_SYNC_DSN_<ID>`` or ``_<NAME>``.

Credentials never enter a database: the ledger keeps instances by id, name and engine, and the
DSN to collect one with is read from the environment (or given explicitly) when it is needed.
A bare ``postgresql://``/``postgres://``/``mysql://``/``mariadb://`` URL gets the installed
driver (psycopg, PyMySQL).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import sqlalchemy as sa

from .._errors import MissingDsnError
from ..ports import SupportsInstance
from ..sqlalchemy._drivers import with_driver

__all__ = [
    "DSN_ENV_PREFIX",
    "MissingDsnError",
    "driver_url",
    "dsn_example",
    "dsn_variables",
    "engine_family",
    "resolve_dsn",
]

DSN_ENV_PREFIX = "ACCOUNTS_SYNC_DSN_"
"""Prefix of the environment variables that hold the instances' DSNs."""

# The engine family of a db_type or URL backend.
_FAMILIES = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
}
_EXAMPLES = {
    "postgresql": "postgresql://USER:PASSWORD@{host}:5432/DBNAME",
    "mysql": "mysql://USER:PASSWORD@{host}:3306/mysql",
}


def engine_family(name: str) -> str | None:
    """``postgresql`` or ``mysql`` for a db_type or URL backend name (case-insensitive), else
    None: ``mariadb`` is of the ``mysql`` family, ``postgres`` of ``postgresql``."""
    return _FAMILIES.get(name.strip().lower())


def dsn_example(db_type: str, host: str = "HOST") -> str:
    """A placeholder DSN for an engine family, e.g. ``postgresql://USER:PASSWORD@HOST:5432/DBNAME``.

    Raises ``ValueError`` for an engine outside the PostgreSQL and MySQL families.
    """
    family = engine_family(db_type)
    if family is None:
        raise ValueError(f"no DSN example for {db_type!r}")
    return _EXAMPLES[family].format(host=host)


def dsn_variables(instance: SupportsInstance) -> tuple[str, str]:
    """The variables that may hold an instance's DSN, in the order they are read.

    ``ACCOUNTS_SYNC_DSN_<ID>`` and ``ACCOUNTS_SYNC_DSN_<NAME>``, the name upper-cased with every
    character other than ``A-Z`` and ``0-9`` replaced by ``_``.
    """
    name = re.sub(r"[^A-Z0-9]", "_", instance.name.upper())
    return f"{DSN_ENV_PREFIX}{instance.id}", f"{DSN_ENV_PREFIX}{name}"


def driver_url(dsn: str, *, source: str = "the DSN") -> sa.URL:
    """Parse a DSN; a bare ``postgresql://``/``postgres://``/``mysql://``/``mariadb://`` gets
    the installed driver. ``source`` names the DSN in errors (never its text).

    Raises ``ValueError`` when ``dsn`` is not a database URL.
    """
    try:
        url = sa.make_url(dsn.strip())
    except (sa.exc.ArgumentError, ValueError):
        # The text may hold a password that the URL redaction cannot recognise: never echo it.
        raise ValueError(
            f"{source} is not a database URL (e.g. {dsn_example('postgresql')})"
        ) from None
    return with_driver(url)


def resolve_dsn(
    instance: SupportsInstance,
    *,
    explicit: str | None = None,
    environ: Mapping[str, str] | None = None,
    option_hint: bool = False,
) -> sa.URL:
    """The driver URL of an instance: ``explicit`` (``--dsn``), else its first variable set.

    Raises ``MissingDsnError`` naming the variables to set (and ``--dsn`` with
    ``option_hint``), or ``ValueError`` when the DSN is not a URL or not of the instance's
    engine family.
    """
    environ = os.environ if environ is None else environ
    label = f"instance {instance.id} ({instance.name})"
    if explicit is not None:
        source, dsn = "--dsn", explicit
    else:
        variables = dsn_variables(instance)
        found = next(
            ((name, environ[name]) for name in variables if environ.get(name, "").strip()), None
        )
        if found is None:
            hint = " (or pass --dsn URL)" if option_hint else ""
            raise MissingDsnError(
                f"no DSN for {label}: set {variables[0]} or {variables[1]}{hint}",
                extra={"instance_id": instance.id, "variables": list(variables)},
            )
        source, dsn = found
    url = driver_url(dsn, source=source)
    family = engine_family(url.get_backend_name())
    if family is None or family != engine_family(instance.db_type):
        raise ValueError(
            f"{source} is a {url.get_backend_name()} URL but {label} is {instance.db_type}"
        )
    return url
