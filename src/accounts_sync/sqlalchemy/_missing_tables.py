"""A table that was never created reads as an instruction to create it, not as raw SQL."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa

from .._errors import SchemaMissingError

__all__ = ["explain_missing_tables", "explaining_missing_tables", "missing_table"]

C = TypeVar("C", bound=type)

# SQLite, PostgreSQL and MariaDB/MySQL (1146) say it each their own way.
_MISSING = re.compile(
    r"no such table: (?P<sqlite>[\w.]+)"
    r'|relation "(?P<postgres>[^"]+)" does not exist'
    r"|Table '(?P<mysql>[^']+)' doesn't exist"
)

_HOW = (
    "create the tables with accounts_sync.sqlalchemy.create_all(engine) "
    "(or add them to your Alembic migrations)"
)


def missing_table(error: Exception, how: str = _HOW) -> SchemaMissingError | None:
    """The clear error for a driver's "no such table", or None for any other error."""
    found = _MISSING.search(str(getattr(error, "orig", error)))
    if found is None:
        return None
    table = next(name for name in found.groups() if name is not None).rpartition(".")[2]
    return SchemaMissingError(f"table {table} does not exist: {how}", extra={"table": table})


def explaining_missing_tables(errors: tuple[type[Exception], ...], how: str) -> Callable[[C], C]:
    """A class decorator wrapping a store's public methods so that one of ``errors`` saying a
    table is missing raises :class:`SchemaMissingError` (chained to it), telling ``how`` to
    create it, instead of raw SQL."""

    def decorate(cls: C) -> C:
        for name, member in list(vars(cls).items()):
            if not name.startswith("_") and inspect.isfunction(member):
                setattr(cls, name, _explained(member, errors, how))
        return cls

    return decorate


explain_missing_tables = explaining_missing_tables((sa.exc.DBAPIError,), _HOW)
"""The decorator of the SQLAlchemy stores."""


def _explained(
    method: Callable[..., Any], errors: tuple[type[Exception], ...], how: str
) -> Callable[..., Any]:
    @functools.wraps(method)
    def explained(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except errors as error:
            clear = missing_table(error, how)
            if clear is None:
                raise
            raise clear from error

    return explained
