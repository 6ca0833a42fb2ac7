"""The DB-API driver a database URL gets, and the error that names the extra to install.

The one home of the rule: a bare ``postgresql://``/``postgres://`` URL gets psycopg 3 and a bare
``mysql://``/``mariadb://`` URL gets PyMySQL, the drivers the ``postgresql`` and ``mysql``
extras install (SQLAlchemy's own defaults, psycopg2 and mysqlclient, are in neither).
"""

from __future__ import annotations

import importlib.util

import sqlalchemy as sa

__all__ = ["MissingDriverError", "require_driver", "with_driver"]

_BARE = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}
# The module each known driver imports; drivers not listed are left to SQLAlchemy.
_MODULES = {
    "psycopg": "psycopg",
    "psycopg2": "psycopg2",
    "pymysql": "pymysql",
    "mysqldb": "MySQLdb",
    "mariadbconnector": "mariadb",
}
# The extra that installs the default driver of a backend.
_EXTRAS = {"postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql"}


class MissingDriverError(ModuleNotFoundError):
    """A URL's database driver is not installed; the message names the pip extra."""


def with_driver(url: sa.URL) -> sa.URL:
    """``url`` with the default driver when it names none (``postgresql://`` →
    ``postgresql+psycopg://``, ``mysql://`` → ``mysql+pymysql://``); otherwise unchanged."""
    driver = _BARE.get(url.drivername)
    return url if driver is None else url.set(drivername=driver)


def require_driver(url: sa.URL) -> None:
    """Raise :class:`MissingDriverError` when the module of ``url``'s known driver cannot be
    imported, e.g. ``pip install "accounts-sync[postgresql]"`` for ``postgresql+psycopg``."""
    backend = url.get_backend_name()
    module = _MODULES.get(url.get_driver_name())
    if module is None or backend not in _EXTRAS or importlib.util.find_spec(module) is not None:
        return
    extra = f'pip install "accounts-sync[{_EXTRAS[backend]}]"'
    default = with_driver(url.set(drivername=backend)).drivername
    if url.drivername == default:
        hint = extra
    else:
        # The extra installs the default driver, not this one: both ways out are named.
        hint = f"install {module}, or use a bare {backend}:// URL after {extra}"
    raise MissingDriverError(
        f"the database driver {module} for {url.drivername}:// is not installed: {hint}",
        name=module,
    )
