"""The ledger's tables, in a ``MetaData`` the host can hand to Alembic.

Build them with a table-name prefix of your choice::

    tables = build_ledger_tables(Base.metadata, prefix="myapp_")
    # Alembic: target_metadata = Base.metadata
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Dialect

from ..sqlalchemy._tables import DEFAULT_PREFIX
from ..sqlalchemy._types import UtcDateTime

__all__ = ["EncodedJson", "LedgerTables", "build_ledger_tables"]


class _ExactText(sa.TypeDecorator[str]):
    """Text stored as UTF-8 bytes, so comparisons and uniqueness are byte for byte."""

    impl = mysql.VARBINARY(2048)  # 512 characters of up to 4 bytes
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else value.encode("utf-8")

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else bytes(value).decode("utf-8")


# Account keys are case- and space-sensitive (PostgreSQL ``Alice`` and ``alice`` are two roles,
# as are MySQL ``'bob'`` and ``'bob '``); MySQL/MariaDB text collations ignore case or trailing
# spaces, so the key is stored as bytes there.
_KEY = sa.String(512).with_variant(_ExactText(), "mysql", "mariadb")


class EncodedJson(str):
    """JSON text already encoded (a snapshot's canonical text): the ledger's JSON columns store
    it as it is instead of encoding the data a second time."""

    __slots__ = ()


def _as_is(text: str) -> str:
    return text


class _Json(sa.TypeDecorator[Any]):
    """JSON (JSONB on PostgreSQL) that also takes :class:`EncodedJson` text."""

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(sa.JSON())

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        encode = self.load_dialect_impl(dialect).bind_processor(dialect)
        encoded: Callable[[EncodedJson], Any]
        if dialect.name != "postgresql":
            encoded = str  # SQLite's and MySQL's drivers take JSON as text
        elif dialect.driver == "psycopg":
            from psycopg.types.json import Jsonb

            def encoded(text: EncodedJson) -> Any:
                return Jsonb(text, dumps=_as_is)
        else:
            encoded = _decoded(encode)

        def process(value: Any) -> Any:
            if isinstance(value, EncodedJson):
                return encoded(value)
            return encode(value) if encode is not None else value

        return process


def _decoded(encode: Callable[[Any], Any] | None) -> Callable[[EncodedJson], Any]:
    def process(text: EncodedJson) -> Any:
        data = json.loads(text)
        return encode(data) if encode is not None else data

    return process


def _json() -> sa.types.TypeEngine[Any]:
    return _Json()


@attrs.frozen
class LedgerTables:
    """The two ledger tables: ``accounts`` (one row per instance and key) and ``changes``
    (append-only)."""

    metadata: sa.MetaData
    accounts: sa.Table
    changes: sa.Table

    def create_all(self, bind: sa.Engine | sa.Connection) -> None:
        """Create the tables if missing (scripts and tests; use Alembic in applications)."""
        self.metadata.create_all(bind, tables=[self.accounts, self.changes])

    def drop_all(self, bind: sa.Engine | sa.Connection) -> None:
        self.metadata.drop_all(bind, tables=[self.accounts, self.changes])


def build_ledger_tables(
    metadata: sa.MetaData | None = None, *, prefix: str = DEFAULT_PREFIX
) -> LedgerTables:
    """Define ``{prefix}ledger_accounts`` and ``{prefix}ledger_changes`` in ``metadata``.

    ``accounts`` holds the last snapshot of every account ever seen on an instance (canonical
    JSON data and its SHA-256 digest), active or not, unique per ``(instance_id,
    account_key)``. ``changes`` is the append-only change log: one row per added, modified,
    removed or reactivated account, with its structured diff.
    """
    metadata = metadata if metadata is not None else sa.MetaData()
    accounts_name, changes_name = f"{prefix}ledger_accounts", f"{prefix}ledger_changes"
    accounts = sa.Table(
        accounts_name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("instance_id", sa.Integer, nullable=False),
        # MySQL keys are ``user@host``: up to 128 + 1 + 255 characters.
        sa.Column("account_key", _KEY, nullable=False),
        sa.Column("username", sa.String(255), nullable=False),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("is_superuser", sa.Boolean, nullable=False, default=False),
        sa.Column("is_locked", sa.Boolean, nullable=False, default=False),
        sa.Column("is_active", sa.Boolean, nullable=False, default=True),
        sa.Column("first_seen_at", UtcDateTime, nullable=False),
        sa.Column("last_seen_at", UtcDateTime, nullable=False),
        sa.Column("deactivated_at", UtcDateTime, nullable=True),
        sa.Column("snapshot", _json(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.UniqueConstraint("instance_id", "account_key", name=f"uq_{accounts_name}_key"),
        sa.Index(f"ix_{accounts_name}_active", "instance_id", "is_active"),
    )
    changes = sa.Table(
        changes_name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("instance_id", sa.Integer, nullable=False),
        sa.Column("account_key", _KEY, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("change_type", sa.String(16), nullable=False),
        sa.Column("diff", _json(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=True),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("sync_type", sa.String(32), nullable=True),
        sa.Column("created_by", sa.Integer, nullable=True),
        sa.Column("changed_at", UtcDateTime, nullable=False),
        sa.Index(f"ix_{changes_name}_instance", "instance_id", "changed_at"),
        sa.Index(f"ix_{changes_name}_session", "session_id"),
    )
    return LedgerTables(metadata, accounts, changes)
