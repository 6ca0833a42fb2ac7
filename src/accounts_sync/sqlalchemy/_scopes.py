"""Where a repository's statements run: short transactions of its own, or the host's Session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol, Union, runtime_checkable

import sqlalchemy as sa
from sqlalchemy.orm import Session, scoped_session, sessionmaker

__all__ = ["Bind", "BoundSession", "Scope", "as_scope", "bound_scope", "is_bound", "same_engine"]

Bind = Union[sa.Engine, "sessionmaker[Session]"]
"""What a standalone repository runs on: an Engine, or a sessionmaker."""

BoundSession = Union[Session, "scoped_session[Session]"]
"""The host's current ORM session (a ``scoped_session`` is resolved on every call)."""

# Read by ``configure_sqlite``'s BEGIN hook: a write transaction takes SQLite's write lock
# up front, so a read inside it can never be upgraded into SQLITE_BUSY_SNAPSHOT.
WRITE_OPTIONS: dict[str, Any] = {"sqlite_begin": "IMMEDIATE"}


@runtime_checkable
class Scope(Protocol):
    """**Protocol**: how a repository obtains a connection.

    ``write()`` yields a connection inside a transaction that is committed (standalone) or
    released as a SAVEPOINT (bound) when the block ends, and rolled back if it raises.
    ``read()`` yields a connection for reads; ``orm()`` an ORM session to load host models.
    """

    def read(self) -> AbstractContextManager[sa.Connection]: ...
    def write(self) -> AbstractContextManager[sa.Connection]: ...
    def orm(self) -> AbstractContextManager[Session]: ...


class _EngineScope:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**WRITE_OPTIONS)

    def read(self) -> AbstractContextManager[sa.Connection]:
        return self._engine.connect()

    def write(self) -> AbstractContextManager[sa.Connection]:
        return self._writer.begin()

    def orm(self) -> AbstractContextManager[Session]:
        # Loaded objects stay usable after the session closes: nothing expires them.
        return Session(self._engine, expire_on_commit=False)


class _FactoryScope:
    def __init__(self, factory: sessionmaker[Session], table: sa.Table) -> None:
        self._factory = factory
        self._bind_arguments = {"clause": table}

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        with self._factory() as session:
            yield session.connection(bind_arguments=self._bind_arguments)

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        with self._factory() as session, session.begin():
            yield session.connection(
                bind_arguments=self._bind_arguments, execution_options=WRITE_OPTIONS
            )

    def orm(self) -> AbstractContextManager[Session]:
        return self._factory()


class _BoundScope:
    def __init__(self, session: BoundSession, table: sa.Table) -> None:
        self._session = session
        self._bind_arguments = {"clause": table}

    def _current(self) -> Session:
        session = self._session
        return session() if isinstance(session, scoped_session) else session

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        session = self._current()
        if session.autoflush:
            session.flush()  # as an ORM query would: reads see the host's pending changes
        yield session.connection(bind_arguments=self._bind_arguments)

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        session = self._current()
        # begin_nested() flushes the host's pending changes, then opens a SAVEPOINT: a failed
        # write undoes only itself and leaves the host's transaction usable.
        with session.begin_nested():
            yield session.connection(bind_arguments=self._bind_arguments)

    @contextmanager
    def orm(self) -> Iterator[Session]:
        yield self._current()


def as_scope(bind: Bind | Scope, table: sa.Table) -> Scope:
    """The standalone scope of an Engine or sessionmaker (every block its own short
    transaction), or ``bind`` itself when it already is a ``Scope``."""
    if isinstance(bind, sa.Engine):
        return _EngineScope(bind)
    if isinstance(bind, sessionmaker):
        return _FactoryScope(bind, table)
    if isinstance(bind, Scope):
        return bind
    raise TypeError(
        f"expected an Engine or a sessionmaker, got {type(bind).__name__}; "
        "use .bound(session) to work inside a host's Session"
    )


def bound_scope(session: BoundSession, table: sa.Table) -> Scope:
    """A scope inside the host's current Session; the host commits."""
    if not isinstance(session, (Session, scoped_session)):
        raise TypeError(f"expected an ORM Session, got {type(session).__name__}")
    return _BoundScope(session, table)


def same_engine(one: Scope, other: Scope) -> bool:
    """Both scopes are standalone on the same ``Engine``: one transaction can write for both."""
    return (
        isinstance(one, _EngineScope)
        and isinstance(other, _EngineScope)
        and one._engine is other._engine
    )


def is_bound(scope: Scope) -> bool:
    """The scope writes in a host's ORM session (``.bound(session)``), not on its own."""
    return isinstance(scope, _BoundScope)
