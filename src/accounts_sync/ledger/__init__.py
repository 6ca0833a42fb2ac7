"""The account ledger: what every instance's accounts looked like, and every change (SPEC §11.3).

``LedgerSyncService`` is a ready ``SupportsAccountSync``: it collects an instance with a
collector from ``accounts_sync.collectors``, diffs the result against the ledger tables and
applies the diff in one transaction, logging each added, modified, removed or reactivated
account with its exact diff. ``LedgerReader`` reads the accounts and the change log back.
"""

from __future__ import annotations

from ._diff import (
    AccountChange,
    AccountDiff,
    ChangeType,
    FieldChange,
    FieldValue,
    apply_changes,
    apply_diff,
    diff_snapshots,
    plan_changes,
    snapshot_fields,
)
from ._messages import LedgerMessages
from ._reader import LedgerAccount, LedgerChangeEntry, LedgerReader
from ._service import DEFAULT_MAX_REMOVAL_RATIO, LedgerPlan, LedgerSyncService, describe_error
from ._tables import DEFAULT_PREFIX, LedgerTables, UTCDateTime, build_ledger_tables

__all__ = [
    "DEFAULT_MAX_REMOVAL_RATIO",
    "DEFAULT_PREFIX",
    "AccountChange",
    "AccountDiff",
    "ChangeType",
    "FieldChange",
    "FieldValue",
    "LedgerAccount",
    "LedgerChangeEntry",
    "LedgerMessages",
    "LedgerPlan",
    "LedgerReader",
    "LedgerSyncService",
    "LedgerTables",
    "UTCDateTime",
    "apply_changes",
    "apply_diff",
    "build_ledger_tables",
    "describe_error",
    "diff_snapshots",
    "plan_changes",
    "snapshot_fields",
]
