"""``LedgerPlan``: what a sync of one instance would do, or did."""

from __future__ import annotations

from typing import Any

import attrs

from ..collectors._snapshot import AccountKind
from ._diff import AccountChange, ChangeType

__all__ = ["LedgerPlan"]


def _counted(change: AccountChange) -> bool:
    # The PUBLIC pseudo-role is tracked in the ledger but is not an account.
    return change.kind is not AccountKind.PUBLIC


@attrs.frozen(kw_only=True)
class LedgerPlan:
    """What a sync of one instance would do (``LedgerSyncService.plan``), or did.

    ``changes`` are sorted by key and include the PUBLIC pseudo-role (key ``public``) when its
    privileges changed; the counts never include it. ``synced_count`` is the number of
    accounts collected, ``active_count`` the number the ledger held as active before.
    """

    instance_id: int
    db_type: str
    server_version: str
    changes: tuple[AccountChange, ...]
    synced_count: int
    active_count: int

    def count(self, *change_types: ChangeType) -> int:
        return sum(
            1 for change in self.changes if change.change_type in change_types and _counted(change)
        )

    @property
    def added_count(self) -> int:
        """Accounts new to the ledger plus those reactivated."""
        return self.count(ChangeType.ADDED, ChangeType.REACTIVATED)

    @property
    def reactivated_count(self) -> int:
        return self.count(ChangeType.REACTIVATED)

    @property
    def modified_count(self) -> int:
        return self.count(ChangeType.MODIFIED)

    @property
    def removed_count(self) -> int:
        return self.count(ChangeType.REMOVED)

    @property
    def unchanged_count(self) -> int:
        return self.synced_count - self.added_count - self.modified_count

    @property
    def public_changed(self) -> bool:
        return any(not _counted(change) for change in self.changes)

    @property
    def is_empty(self) -> bool:
        return not self.changes

    @property
    def removal_ratio(self) -> float:
        """Removed accounts as a share of the active ones (0 when there were none)."""
        return self.removed_count / self.active_count if self.active_count else 0.0

    def exceeds(self, max_removal_ratio: float) -> bool:
        """True when it would remove more than ``max_removal_ratio`` of the active accounts."""
        return self.removed_count > max_removal_ratio * self.active_count

    def to_json(self) -> dict[str, Any]:
        """Counts and every change with its diff, as JSON data."""
        return {
            "instance_id": self.instance_id,
            "db_type": self.db_type,
            "server_version": self.server_version,
            "synced_count": self.synced_count,
            "active_count": self.active_count,
            "added_count": self.added_count,
            "reactivated_count": self.reactivated_count,
            "modified_count": self.modified_count,
            "removed_count": self.removed_count,
            "changes": [change.to_json() for change in self.changes],
        }
