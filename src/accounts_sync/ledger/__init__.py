"""The account ledger: what every instance's accounts looked like, and every change.

``LedgerSyncService`` is a ready ``SupportsAccountSync``: it collects an instance with a
collector from ``accounts_sync.collectors``, diffs the result against the ledger tables and
applies the diff in one transaction, logging each added, modified, removed or reactivated
account with its exact diff. ``LedgerReader`` reads the accounts and the change log back.
"""

from __future__ import annotations

from .._deprecated import moved_name
from ..sqlalchemy._tables import DEFAULT_PREFIX
from ._diff import (
    AccountChange,
    AccountDiff,
    ChangeType,
    FieldChange,
    FieldValue,
)
from ._messages import LedgerMessages
from ._plan import LedgerPlan
from ._reader import LedgerAccount, LedgerChangeEntry, LedgerReader
from ._service import DEFAULT_MAX_REMOVAL_RATIO, LedgerSyncService
from ._tables import LedgerTables, build_ledger_tables

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
    "build_ledger_tables",
]

# Names that left this package's public list: still importable, with a DeprecationWarning.
_MOVED_NAMES = {
    "UTCDateTime": "accounts_sync.sqlalchemy:UtcDateTime",
    "apply_changes": "accounts_sync.ledger._diff",
    "apply_diff": "accounts_sync.ledger._diff",
    "describe_error": "accounts_sync._redaction",
    "diff_snapshots": "accounts_sync.ledger._diff",
    "plan_changes": "accounts_sync.ledger._diff",
    "snapshot_fields": "accounts_sync.ledger._diff",
}


def __getattr__(name: str) -> object:
    return moved_name(__name__, name, _MOVED_NAMES)
