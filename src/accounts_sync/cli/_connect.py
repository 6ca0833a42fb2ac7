"""Reaching the instances' servers: engines from their DSNs, collectors, the ledger service."""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from ..collectors import CollectorRegistry, MySQLCollector, NameFilter, PostgresCollector
from ..collectors.dsn import engine_family, resolve_dsn
from ..ledger import LedgerMessages, LedgerSyncService
from ..sqlalchemy import InstanceRow, require_driver
from ._store import LEDGER_TABLES, Store

__all__ = [
    "CONNECT_TIMEOUT",
    "Connector",
    "Forced",
    "collectors",
    "ledger_service",
    "server_engine",
]

CONNECT_TIMEOUT = 10  # seconds; the collectors time out each statement themselves


def server_engine(url: sa.URL) -> sa.Engine:
    """An engine without a pool (one collection, then gone), with a connection timeout."""
    require_driver(url)  # a missing driver names the extra to install, not a bare ImportError
    options: dict[str, Any] = {"poolclass": NullPool}
    if engine_family(url.get_backend_name()) and "connect_timeout" not in url.query:
        options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
    return sa.create_engine(url, **options)


class Connector:
    """``LedgerSyncService``'s ``connect``: one engine per instance, from its DSN on first use.

    A missing or bad DSN raises here, so the sync of that instance alone fails, with the
    message naming the variables to set.
    """

    def __init__(self, urls: Mapping[int, sa.URL] | None = None) -> None:
        self._urls = dict(urls or {})
        self._engines: dict[int, sa.Engine] = {}
        self._lock = threading.Lock()

    def __call__(self, instance: InstanceRow) -> sa.Engine:
        with self._lock:
            engine = self._engines.get(instance.id)
            if engine is None:
                url = self._urls.get(instance.id) or resolve_dsn(instance)
                engine = self._engines[instance.id] = server_engine(url)
            return engine

    def dispose(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()


def _name_filter(patterns: Sequence[str]) -> NameFilter:
    def include(name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)

    return include


def collectors(patterns: Sequence[str] | None) -> CollectorRegistry:
    """The default collectors, keeping only the accounts that match one of ``patterns``."""
    if not patterns:
        return CollectorRegistry.with_defaults()
    include = _name_filter(patterns)
    postgres, mysql = PostgresCollector(include=include), MySQLCollector(include=include)
    return CollectorRegistry(
        {"postgresql": postgres, "postgres": postgres, "mysql": mysql, "mariadb": mysql}
    )


def ledger_service(
    store: Store,
    connector: Connector,
    patterns: Sequence[str] | None,
    messages: LedgerMessages | None = None,
) -> LedgerSyncService[InstanceRow]:
    """The ledger service on the CLI's database, collecting through ``connector``."""
    ledger = store.engine
    if ledger.dialect.name == "sqlite":
        # Concurrent syncs read then write the ledger in one transaction: on SQLite a deferred
        # BEGIN would fail the later writer at once instead of waiting for the lock.
        ledger = ledger.execution_options(sqlite_begin="IMMEDIATE")
    return LedgerSyncService(
        ledger=ledger,
        connect=connector,
        tables=LEDGER_TABLES,
        collectors=collectors(patterns),
        messages=messages,
    )


class Forced:
    """A sync service that overrides the removal guard (``sync --force``)."""

    def __init__(self, inner: LedgerSyncService[InstanceRow]) -> None:
        self.inner = inner

    def sync_accounts(
        self,
        instance: InstanceRow,
        sync_type: str = "manual_single",
        session_id: str | None = None,
        created_by: int | None = None,
    ) -> dict[str, Any]:
        return self.inner.sync_accounts(instance, sync_type, session_id, created_by, force=True)
