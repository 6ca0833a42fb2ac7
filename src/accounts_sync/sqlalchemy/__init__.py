"""SQLAlchemy persistence: the library's tables, repositories on any SQLAlchemy database, and a
launch-after-commit helper.

Standalone repositories (on an Engine or sessionmaker) commit every operation; ``.bound(session)``
repositories write in the host's Session and let the host commit. See ``docs/persistence.md``.
"""

from __future__ import annotations

from .._errors import SchemaMissingError
from ._after_commit import PendingLaunch, launch_after_commit
from ._drivers import MissingDriverError, require_driver
from ._engine import DEFAULT_DEMO_URL, configure_sqlite, create_all, create_engine_for, sqlite_url
from ._instances import InstanceColumns, InstanceRow, SqlAlchemyInstanceRepository
from ._scopes import Bind, BoundSession, Scope
from ._sessions import SqlAlchemySyncSessionRepository
from ._tables import (
    DEFAULT_PREFIX,
    SyncTables,
    build_instances_table,
    build_tables,
    instances_table,
    sync_tables,
)
from ._types import UtcDateTime

__all__ = [
    "DEFAULT_DEMO_URL",
    "DEFAULT_PREFIX",
    "Bind",
    "BoundSession",
    "InstanceColumns",
    "InstanceRow",
    "MissingDriverError",
    "PendingLaunch",
    "SchemaMissingError",
    "Scope",
    "SqlAlchemyInstanceRepository",
    "SqlAlchemySyncSessionRepository",
    "SyncTables",
    "UtcDateTime",
    "build_instances_table",
    "build_tables",
    "configure_sqlite",
    "create_all",
    "create_engine_for",
    "instances_table",
    "launch_after_commit",
    "require_driver",
    "sqlite_url",
    "sync_tables",
]
