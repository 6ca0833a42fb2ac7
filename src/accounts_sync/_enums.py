"""String enumerations of the sync vocabulary."""

from __future__ import annotations

import enum

__all__ = ["RecordStatus", "SessionStatus", "SyncCategory", "SyncType"]


class StrEnum(str, enum.Enum):
    """The library's one string-enum base: ``str(member)`` is the plain value."""

    # ``enum.StrEnum`` is 3.11+; this keeps 3.10.
    def __str__(self) -> str:
        return str(self.value)


class SyncType(StrEnum):
    """Who or what started a sync."""

    MANUAL_SINGLE = "manual_single"
    MANUAL_BATCH = "manual_batch"
    MANUAL_TASK = "manual_task"
    SCHEDULED_TASK = "scheduled_task"


class SyncCategory(StrEnum):
    """What a session synchronises; the single-flight guard is per category."""

    ACCOUNT = "account"
    CAPACITY = "capacity"
    CONFIG = "config"
    AGGREGATION = "aggregation"
    OTHER = "other"


class SessionStatus(StrEnum):
    """Session lifecycle: ``pending → running → terminal``; terminal never changes."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self not in (SessionStatus.PENDING, SessionStatus.RUNNING)


class RecordStatus(StrEnum):
    """Record lifecycle: ``pending → running → completed/failed`` or ``pending → cancelled``."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self not in (RecordStatus.PENDING, RecordStatus.RUNNING)
