"""The rows one applied ``LedgerPlan`` writes, built in memory and written in a few statements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy import Connection

from ._diff import AccountChange, ChangeType
from ._plan import LedgerPlan
from ._tables import EncodedJson, LedgerTables

__all__ = ["ExistingAccount", "LedgerRows"]

# Columns that mirror the snapshot, rewritten whenever it changes.
_SNAPSHOT_COLUMNS = ("username", "host", "kind", "is_superuser", "is_locked", "snapshot", "digest")


@attrs.frozen
class ExistingAccount:
    """A ledger row as read before the diff: written back only if it is still so."""

    row_id: int
    digest: str
    is_active: bool


@attrs.define
class LedgerRows:
    """Inserts, updates, removals and change-log rows for one plan."""

    instance_id: int
    now: dt.datetime
    inserts: list[dict[str, Any]] = attrs.Factory(list)
    updates: list[dict[str, Any]] = attrs.Factory(list)
    removals: list[dict[str, Any]] = attrs.Factory(list)
    log_rows: list[dict[str, Any]] = attrs.Factory(list)

    @classmethod
    def of(
        cls,
        plan: LedgerPlan,
        existing: Mapping[str, ExistingAccount],
        *,
        instance_id: int,
        now: dt.datetime,
        log: Mapping[str, Any],
    ) -> LedgerRows:
        """The rows of ``plan``; ``log`` holds the change log's session id, sync type and
        creator."""
        rows = cls(instance_id=instance_id, now=now)
        for change in plan.changes:
            rows._add(change, existing, log)
        return rows

    def _add(
        self, change: AccountChange, existing: Mapping[str, ExistingAccount], log: Mapping[str, Any]
    ) -> None:
        after, now = change.after, self.now
        self.log_rows.append(
            {
                **log,
                "instance_id": self.instance_id,
                "account_key": change.key,
                "kind": change.kind.value,
                "change_type": change.change_type.value,
                "diff": EncodedJson(change.diff_text()),
                "digest": after.digest if after is not None else None,
                "changed_at": now,
            }
        )
        if after is None:
            row = existing[change.key]
            self.removals.append({"b_id": row.row_id, "b_digest": row.digest})
            return
        values = {
            "username": after.username,
            "host": after.host,
            "kind": after.kind.value,
            "is_superuser": after.is_superuser,
            "is_locked": after.is_locked,
            "snapshot": EncodedJson(after.canonical_json),
            "digest": after.digest,
        }
        if change.change_type is ChangeType.ADDED:
            self.inserts.append(
                {
                    **values,
                    "instance_id": self.instance_id,
                    "account_key": change.key,
                    "is_active": True,
                    "first_seen_at": now,
                    "last_seen_at": now,
                    "deactivated_at": None,
                }
            )
            return
        row = existing[change.key]
        self.updates.append(
            {
                **{f"b_{name}": value for name, value in values.items()},
                "b_id": row.row_id,
                "b_old_digest": row.digest,
                "b_was_active": row.is_active,
                "b_now": now,
            }
        )

    def write(self, conn: Connection, tables: LedgerTables, *, touch_last_seen: bool) -> None:
        """Write every row in ``conn``'s transaction; each update is a compare-and-set on the
        digest and state read before, so a concurrent sync fails instead of logging twice."""
        accounts = tables.accounts
        if self.inserts:
            conn.execute(accounts.insert(), self.inserts)
        if self.updates:
            statement = (
                sa.update(accounts)
                .where(
                    accounts.c.id == sa.bindparam("b_id"),
                    accounts.c.digest == sa.bindparam("b_old_digest"),
                    accounts.c.is_active == sa.bindparam("b_was_active"),
                )
                .values(
                    {
                        **{name: sa.bindparam(f"b_{name}") for name in _SNAPSHOT_COLUMNS},
                        "is_active": True,
                        "deactivated_at": None,
                        "last_seen_at": sa.bindparam("b_now"),
                    }
                )
            )
            _expect_rows(conn, conn.execute(statement, self.updates), len(self.updates))
        if self.removals:
            statement = (
                sa.update(accounts)
                .where(
                    accounts.c.id == sa.bindparam("b_id"),
                    accounts.c.digest == sa.bindparam("b_digest"),
                    accounts.c.is_active.is_(True),
                )
                .values(is_active=False, deactivated_at=self.now)
            )
            _expect_rows(conn, conn.execute(statement, self.removals), len(self.removals))
        if self.log_rows:
            conn.execute(tables.changes.insert(), self.log_rows)
        if touch_last_seen:
            conn.execute(
                sa.update(accounts)
                .where(accounts.c.instance_id == self.instance_id, accounts.c.is_active.is_(True))
                .values(last_seen_at=self.now)
            )


def _expect_rows(conn: Connection, result: sa.CursorResult[Any], expected: int) -> None:
    # A row changed by another process since it was read: fail rather than log twice.
    if conn.dialect.supports_sane_multi_rowcount and result.rowcount != expected:
        raise RuntimeError("the ledger changed during the sync (a concurrent sync?)")
