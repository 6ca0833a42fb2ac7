"""The collector contract and its errors; the registry is in ``_registry``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Protocol, runtime_checkable

import attrs
from sqlalchemy import Connection, Engine

from .._errors import CollectionError, UnsupportedDatabaseError
from ._snapshot import ServerSnapshot

__all__ = [
    "Bind",
    "CollectionError",
    "Collector",
    "NameFilter",
    "StaticCollector",
    "UnsupportedDatabaseError",
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


def positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    """attrs validator shared by the collectors' options: the value must be > 0."""
    if not value > 0:
        raise ValueError(f"{attribute.name} must be positive")
