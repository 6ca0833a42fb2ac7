"""Reference collectors: canonical snapshots of the accounts of a database server.

``PostgresCollector`` and ``MySQLCollector`` (MySQL 5.7/8.0, MariaDB 10.3+) read a server with a
fixed number of read-only statements and return a ``ServerSnapshot``; other engines plug in
through a ``CollectorRegistry``. Needs SQLAlchemy and the engine's driver (extras ``postgresql``
and ``mysql``).
"""

from __future__ import annotations

from ._base import (
    Bind,
    CollectionError,
    Collector,
    NameFilter,
    StaticCollector,
    UnsupportedDatabaseError,
    read_only_scope,
)
from ._mysql import MySQLCollector, MySQLServer, parse_server_version
from ._postgres import PostgresCollector
from ._registry import CollectorRegistry, default_registry
from ._snapshot import (
    OWNER,
    PUBLIC_KEY,
    AccountKind,
    AccountSnapshot,
    Attributes,
    AttributeValue,
    Membership,
    Privilege,
    PrivilegeScope,
    ServerSnapshot,
    canonical_json,
    sorted_memberships,
    sorted_privileges,
)

__all__ = [
    "OWNER",
    "PUBLIC_KEY",
    "AccountKind",
    "AccountSnapshot",
    "AttributeValue",
    "Attributes",
    "Bind",
    "CollectionError",
    "Collector",
    "CollectorRegistry",
    "Membership",
    "MySQLCollector",
    "MySQLServer",
    "NameFilter",
    "PostgresCollector",
    "Privilege",
    "PrivilegeScope",
    "ServerSnapshot",
    "StaticCollector",
    "UnsupportedDatabaseError",
    "canonical_json",
    "default_registry",
    "parse_server_version",
    "read_only_scope",
    "sorted_memberships",
    "sorted_privileges",
]
