"""accounts_sync: orchestrate database-account synchronisation for a host application.

What a host application uses lives here. Names that only store and launcher authors need are in
``accounts_sync.ports``; the stores in ``accounts_sync.memory`` and ``accounts_sync.sqlalchemy``;
framework integrations in ``accounts_sync.contrib.*``; fakes and the store contract kit in
``accounts_sync.testing``. Modules whose name starts with ``_`` are private.
"""

from __future__ import annotations

import logging

from ._deprecated import install as _install_moved_modules
from ._deprecated import moved_name as _moved_name
from ._enums import RecordStatus, SessionStatus, SyncCategory, SyncType
from ._errors import AccountsSyncError, ConflictError, NotFoundError, ValidationError
from ._full_sync import FullSyncSummary, FullSyncTask
from ._jobs import FullSyncJob, run_full_sync_job
from ._launchers import ExecutorLauncher, InlineLauncher, ThreadLauncher
from ._messages import Messages
from ._normalize import normalize_sync_result
from ._redaction import redact
from ._service import (
    AccountsSyncActionResult,
    AccountsSyncActionsService,
    AccountsSyncBackgroundLaunchResult,
    AccountsSyncBackgroundPreparedSession,
)
from ._sessions import SyncRecordInfo, SyncSessionInfo
from .ports import InstanceRepository, Launcher, SupportsAccountSync, SyncSessionRepository

__version__ = "0.1.0.dev0"

__all__ = [
    "AccountsSyncActionResult",
    "AccountsSyncActionsService",
    "AccountsSyncBackgroundLaunchResult",
    "AccountsSyncBackgroundPreparedSession",
    "AccountsSyncError",
    "ConflictError",
    "ExecutorLauncher",
    "FullSyncJob",
    "FullSyncSummary",
    "FullSyncTask",
    "InlineLauncher",
    "InstanceRepository",
    "Launcher",
    "Messages",
    "NotFoundError",
    "RecordStatus",
    "SessionStatus",
    "SupportsAccountSync",
    "SyncCategory",
    "SyncRecordInfo",
    "SyncSessionInfo",
    "SyncSessionRepository",
    "SyncType",
    "ThreadLauncher",
    "ValidationError",
    "normalize_sync_result",
    "redact",
    "run_full_sync_job",
]

# Names that left the root: still importable from here, with a DeprecationWarning.
_MOVED_NAMES = {
    "Clock": "accounts_sync.ports",
    "ManualClock": "accounts_sync.testing",
    "RecordOutcome": "accounts_sync.ports",
    "SupportsBulkSyncCount": "accounts_sync.ports",
    "SupportsInstance": "accounts_sync.ports",
    "SupportsRecordAdvance": "accounts_sync.ports",
    "SyncTask": "accounts_sync.ports",
    "utc_now": "accounts_sync.ports",
}


def __getattr__(name: str) -> object:
    return _moved_name(__name__, name, _MOVED_NAMES)


_install_moved_modules()
logging.getLogger(__name__).addHandler(logging.NullHandler())
