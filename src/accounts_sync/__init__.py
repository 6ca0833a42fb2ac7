"""accounts_sync: orchestrate database-account synchronisation for a host application.

The public API lives here; submodules are implementation detail unless documented
(``accounts_sync.memory``, ``accounts_sync.testing``, ``accounts_sync.sqlalchemy``,
``accounts_sync.contrib.*``).
"""

from __future__ import annotations

import logging

from .clock import ManualClock, utc_now
from .enums import RecordStatus, SessionStatus, SyncCategory, SyncType
from .errors import AccountsSyncError, ConflictError, NotFoundError, ValidationError
from .full_sync import FullSyncSummary, FullSyncTask
from .jobs import FullSyncJob, run_full_sync_job
from .launchers import ExecutorLauncher, InlineLauncher, ThreadLauncher
from .messages import Messages
from .normalize import normalize_sync_result
from .ports import (
    Clock,
    InstanceRepository,
    Launcher,
    SupportsAccountSync,
    SupportsBulkSyncCount,
    SupportsInstance,
    SupportsRecordAdvance,
    SyncSessionRepository,
    SyncTask,
)
from .redaction import redact
from .service import (
    AccountsSyncActionResult,
    AccountsSyncActionsService,
    AccountsSyncBackgroundLaunchResult,
    AccountsSyncBackgroundPreparedSession,
)
from .sessions import RecordOutcome, SyncRecordInfo, SyncSessionInfo

__version__ = "0.1.0.dev0"

__all__ = [
    "AccountsSyncActionResult",
    "AccountsSyncActionsService",
    "AccountsSyncBackgroundLaunchResult",
    "AccountsSyncBackgroundPreparedSession",
    "AccountsSyncError",
    "Clock",
    "ConflictError",
    "ExecutorLauncher",
    "FullSyncJob",
    "FullSyncSummary",
    "FullSyncTask",
    "InlineLauncher",
    "InstanceRepository",
    "Launcher",
    "ManualClock",
    "Messages",
    "NotFoundError",
    "RecordOutcome",
    "RecordStatus",
    "SessionStatus",
    "SupportsAccountSync",
    "SupportsBulkSyncCount",
    "SupportsInstance",
    "SupportsRecordAdvance",
    "SyncCategory",
    "SyncRecordInfo",
    "SyncSessionInfo",
    "SyncSessionRepository",
    "SyncTask",
    "SyncType",
    "ThreadLauncher",
    "ValidationError",
    "__version__",
    "normalize_sync_result",
    "redact",
    "run_full_sync_job",
    "utc_now",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
