"""Read-only views of the ledger: an instance's accounts and its change log."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import sqlalchemy as sa

from ._tables import LedgerTables, build_ledger_tables

__all__ = ["LedgerAccount", "LedgerChangeEntry", "LedgerReader"]


@attrs.frozen
class LedgerAccount:
    """One account row of the ledger: its last snapshot and whether it is still on the server."""

    key: str
    kind: str
    is_superuser: bool
    is_locked: bool
    is_active: bool
    deactivated_at: dt.datetime | None
    snapshot: dict[str, Any]

    @property
    def privilege_count(self) -> int:
        return len(self.snapshot.get("privileges") or ())


@attrs.frozen
class LedgerChangeEntry:
    """One row of the change log: when, what kind of change, which account, the exact diff."""

    changed_at: dt.datetime
    change_type: str
    account_key: str
    diff: dict[str, Any]


class LedgerReader:
    """Reads the ledger tables written by ``LedgerSyncService``; never writes."""

    def __init__(self, ledger: sa.Engine, tables: LedgerTables | None = None) -> None:
        self.ledger = ledger
        self.tables = tables if tables is not None else build_ledger_tables()

    def accounts(self, instance_id: int, *, include_removed: bool = False) -> list[LedgerAccount]:
        """The instance's active accounts by key; with ``include_removed`` the removed ones too.

        PostgreSQL's ``PUBLIC`` pseudo-role is included (kind ``public``).
        """
        a = self.tables.accounts
        query = (
            sa.select(
                a.c.account_key,
                a.c.kind,
                a.c.is_superuser,
                a.c.is_locked,
                a.c.is_active,
                a.c.deactivated_at,
                a.c.snapshot,
            )
            .where(a.c.instance_id == instance_id)
            .order_by(a.c.account_key)
        )
        if not include_removed:
            query = query.where(a.c.is_active.is_(True))
        with self.ledger.connect() as conn:
            return [
                LedgerAccount(
                    key=row.account_key,
                    kind=row.kind,
                    is_superuser=bool(row.is_superuser),
                    is_locked=bool(row.is_locked),
                    is_active=bool(row.is_active),
                    deactivated_at=row.deactivated_at,
                    snapshot=row.snapshot,
                )
                for row in conn.execute(query)
            ]

    def changes(self, instance_id: int, *, limit: int) -> list[LedgerChangeEntry]:
        """The instance's ``limit`` most recent changes, newest first."""
        if limit < 1:
            raise ValueError("limit must be >= 1")
        c = self.tables.changes
        query = (
            sa.select(c.c.changed_at, c.c.change_type, c.c.account_key, c.c.diff)
            .where(c.c.instance_id == instance_id)
            .order_by(c.c.changed_at.desc(), c.c.id.desc())
            .limit(limit)
        )
        with self.ledger.connect() as conn:
            return [
                LedgerChangeEntry(row.changed_at, row.change_type, row.account_key, row.diff)
                for row in conn.execute(query)
            ]
