"""The collector contract, its errors, and the registry engines plug into (SPEC §11.2)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

import attrs
from sqlalchemy import Connection, Engine

from .._errors import CollectionError, UnsupportedDatabaseError
from ._snapshot import ServerSnapshot

__all__ = [
    "Bind",
    "CollectionError",
    "Collector",
    "CollectorRegistry",
    "NameFilter",
    "StaticCollector",
    "UnsupportedDatabaseError",
    "default_registry",
    "read_only_scope",
]

Bind = Connection | Engine
"""What a collector reads from: a caller's ``Connection``, or an ``Engine`` it connects with."""

NameFilter = Callable[[str], bool]
"""A predicate on account names: True keeps the account."""


@runtime_checkable
class Collector(Protocol):
    """**Protocol**: reads every account of one server.

    An implementation guarantees:

    * It only reads, inside its own transaction (or a SAVEPOINT when the caller's connection is
      already in one), which it rolls back; it never commits, and leaves the caller's session
      settings as they were.
    * Every statement has a timeout.
    * The number of statements it runs depends on the server and the options, never on the
      number of accounts or grants (no per-account queries).
    * It returns a whole ``ServerSnapshot`` or raises (``CollectionError`` or the driver's error):
      never a partial result marked complete.
    * It never reads or returns secrets (password hashes, authentication strings).
    * It is safe to call from several threads at once, each with its own connection.
    """

    def collect(self, bind: Bind) -> ServerSnapshot: ...


@contextlib.contextmanager
def read_only_scope(bind: Bind) -> Iterator[tuple[Connection, bool]]:
    """Yield ``(connection, fresh)`` inside a transaction that is always rolled back.

    ``fresh`` is True when the transaction is the connection's own (not a SAVEPOINT inside the
    caller's), i.e. when transaction characteristics such as READ ONLY can still be set.
    """
    with contextlib.ExitStack() as stack:
        conn = stack.enter_context(bind.connect()) if isinstance(bind, Engine) else bind
        fresh = not conn.in_transaction()
        transaction = conn.begin() if fresh else conn.begin_nested()
        try:
            yield conn, fresh
        finally:
            # Rolling back also undoes transaction-local settings (timeouts, read only).
            if transaction.is_active:
                transaction.rollback()


@attrs.frozen
class StaticCollector:
    """A collector that returns a fixed snapshot: for tests, demos and benchmarks."""

    snapshot: ServerSnapshot

    def collect(self, bind: Bind) -> ServerSnapshot:
        return self.snapshot


class CollectorRegistry:
    """Collectors by ``db_type`` (case-insensitive). Thread-safe.

    ``CollectorRegistry.with_defaults()`` knows ``postgresql``/``postgres`` and
    ``mysql``/``mariadb``; register your own engine with ``register("oracle", collector)``.
    """

    def __init__(self, collectors: Mapping[str, Collector] | None = None) -> None:
        self._lock = threading.Lock()
        self._collectors: dict[str, Collector] = {}
        for db_type, collector in (collectors or {}).items():
            self.register(db_type, collector)

    @staticmethod
    def _normalize(db_type: str) -> str:
        return db_type.strip().lower()

    def register(self, db_type: str, collector: Collector, *, replace: bool = True) -> None:
        """Use ``collector`` for ``db_type``; with ``replace=False`` an existing one is kept."""
        key = self._normalize(db_type)
        if not key:
            raise ValueError("db_type must not be empty")
        with self._lock:
            if replace or key not in self._collectors:
                self._collectors[key] = collector

    def unregister(self, db_type: str) -> None:
        with self._lock:
            self._collectors.pop(self._normalize(db_type), None)

    def get(self, db_type: str) -> Collector | None:
        with self._lock:
            return self._collectors.get(self._normalize(db_type))

    def require(self, db_type: str) -> Collector:
        """The collector for ``db_type``, or ``UnsupportedDatabaseError``."""
        collector = self.get(db_type)
        if collector is None:
            raise UnsupportedDatabaseError(db_type)
        return collector

    def db_types(self) -> list[str]:
        with self._lock:
            return sorted(self._collectors)

    def __contains__(self, db_type: object) -> bool:
        return isinstance(db_type, str) and self.get(db_type) is not None

    @classmethod
    def with_defaults(cls) -> CollectorRegistry:
        """A new registry with the PostgreSQL and MySQL/MariaDB collectors (default options)."""
        from ._mysql import MySQLCollector
        from ._postgres import PostgresCollector

        postgres, mysql = PostgresCollector(), MySQLCollector()
        return cls({"postgresql": postgres, "postgres": postgres, "mysql": mysql, "mariadb": mysql})


def default_registry() -> CollectorRegistry:
    """Shorthand for ``CollectorRegistry.with_defaults()``."""
    return CollectorRegistry.with_defaults()


def positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    """attrs validator shared by the collectors' options: the value must be > 0."""
    if not value > 0:
        raise ValueError(f"{attribute.name} must be positive")
