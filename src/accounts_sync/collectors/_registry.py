"""The registry engines plug into: collectors by ``db_type``."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from .._errors import UnsupportedDatabaseError
from ._base import Collector
from ._mysql import MySQLCollector
from ._postgres import PostgresCollector

__all__ = ["CollectorRegistry", "default_registry"]


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
        postgres, mysql = PostgresCollector(), MySQLCollector()
        return cls({"postgresql": postgres, "postgres": postgres, "mysql": mysql, "mariadb": mysql})


def default_registry() -> CollectorRegistry:
    """Shorthand for ``CollectorRegistry.with_defaults()``."""
    return CollectorRegistry.with_defaults()
