"""Immutable snapshots of sync sessions and their per-instance records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs
from typing_extensions import Self

from ._enums import RecordStatus, SessionStatus, SyncCategory, SyncType

__all__ = [
    "FullSyncJob",
    "FullSyncSummary",
    "RecordClaim",
    "RecordOutcome",
    "SyncRecordInfo",
    "SyncSessionInfo",
]


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    # Stores that drop the zone (SQLite, MySQL DATETIME) hand back naive UTC.
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def _from_row(cls: type[Any], row: Mapping[Any, Any]) -> Any:
    return cls(**{field.name: row[field.name] for field in attrs.fields(cls)})


@attrs.frozen(kw_only=True)
class SyncSessionInfo:
    """A point-in-time view of one sync session; repositories return fresh ones on every read."""

    session_id: str
    sync_type: SyncType = attrs.field(converter=SyncType)
    sync_category: SyncCategory = attrs.field(converter=SyncCategory)
    status: SessionStatus = attrs.field(converter=SessionStatus)
    total_instances: int = 0
    successful_instances: int = 0
    failed_instances: int = 0
    cancelled_instances: int = 0
    created_by: int | None = None
    created_at: dt.datetime | None = attrs.field(default=None, converter=_utc)
    started_at: dt.datetime | None = attrs.field(default=None, converter=_utc)
    completed_at: dt.datetime | None = attrs.field(default=None, converter=_utc)
    heartbeat_at: dt.datetime | None = attrs.field(default=None, converter=_utc)
    error_message: str | None = None
    cancel_requested: bool = attrs.field(default=False, converter=bool)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Self:
        """Build from a mapping keyed by the field names (a database row): enums may be
        strings and naive datetimes are taken as UTC."""
        return _from_row(cls, row)  # type: ignore[no-any-return]

    @property
    def finished_instances(self) -> int:
        return self.successful_instances + self.failed_instances + self.cancelled_instances

    @property
    def progress(self) -> float:
        """Finished share of the instances, 0–100 (0 when there are none)."""
        if self.total_instances <= 0:
            return 0.0
        return round(
            100.0 * min(self.finished_instances, self.total_instances) / self.total_instances, 2
        )

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe dict, with ``progress``, for HTTP and CLI output."""
        return {
            "session_id": self.session_id,
            "sync_type": self.sync_type.value,
            "sync_category": self.sync_category.value,
            "status": self.status.value,
            "total_instances": self.total_instances,
            "successful_instances": self.successful_instances,
            "failed_instances": self.failed_instances,
            "cancelled_instances": self.cancelled_instances,
            "progress": self.progress,
            "created_by": self.created_by,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "completed_at": _iso(self.completed_at),
            "heartbeat_at": _iso(self.heartbeat_at),
            "error_message": self.error_message,
            "cancel_requested": self.cancel_requested,
        }


@attrs.frozen(kw_only=True)
class SyncRecordInfo:
    """The outcome of one instance within a session."""

    record_id: int
    session_id: str
    instance_id: int
    instance_name: str
    status: RecordStatus = attrs.field(converter=RecordStatus)
    items_synced: int = 0
    items_created: int = 0
    items_updated: int = 0
    items_deleted: int = 0
    error_message: str | None = None
    details: dict[str, Any] | None = None
    started_at: dt.datetime | None = attrs.field(default=None, converter=_utc)
    completed_at: dt.datetime | None = attrs.field(default=None, converter=_utc)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Self:
        """Build from a mapping keyed by the field names (a database row)."""
        return _from_row(cls, row)  # type: ignore[no-any-return]

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe dict for HTTP and CLI output."""
        return {
            "record_id": self.record_id,
            "session_id": self.session_id,
            "instance_id": self.instance_id,
            "instance_name": self.instance_name,
            "status": self.status.value,
            "items_synced": self.items_synced,
            "items_created": self.items_created,
            "items_updated": self.items_updated,
            "items_deleted": self.items_deleted,
            "error_message": self.error_message,
            "details": self.details,
            "started_at": _iso(self.started_at),
            "completed_at": _iso(self.completed_at),
        }


@attrs.frozen(kw_only=True)
class RecordOutcome:
    """What the full-sync task writes when one instance finishes (``completed`` or ``failed``)."""

    instance_id: int
    status: RecordStatus = attrs.field(converter=RecordStatus)
    items_synced: int = 0
    items_created: int = 0
    items_updated: int = 0
    items_deleted: int = 0
    error_message: str | None = None
    details: dict[str, Any] | None = None

    def __attrs_post_init__(self) -> None:
        if self.status not in (RecordStatus.COMPLETED, RecordStatus.FAILED):
            raise ValueError(f"a record outcome is completed or failed, not {self.status}")


@attrs.frozen(kw_only=True)
class RecordClaim:
    """What one ``claim_records`` call took: ``claimed`` ids are now this caller's to run;
    ``held`` ids run under another caller's claim, whose lease ends by ``held_until``."""

    claimed: tuple[int, ...] = ()
    held: tuple[int, ...] = ()
    held_until: dt.datetime | None = attrs.field(default=None, converter=_utc)


@attrs.frozen(kw_only=True)
class FullSyncJob:
    """Plain, serialisable description of one background full sync.

    ``trace_context`` is the trace the job was launched in, as text headers (empty when
    telemetry is off): it travels with the job object, or in a message's headers, never in
    :meth:`as_dict`, and two jobs that differ only there are equal.
    """

    session_id: str
    created_by: int | None = None
    manual_run: bool = True
    trace_context: Mapping[str, str] = attrs.field(factory=dict, eq=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "created_by": self.created_by,
            "manual_run": self.manual_run,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FullSyncJob:
        created_by = data.get("created_by")
        return cls(
            session_id=str(data["session_id"]),
            created_by=None if created_by is None else int(created_by),
            manual_run=bool(data.get("manual_run", True)),
        )


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@attrs.frozen(kw_only=True)
class FullSyncSummary:
    """What one call of the task did. ``claimed`` is False when it ran nothing (duplicate
    delivery, a session already finished, or another full sync holding the lock)."""

    session_id: str | None
    status: SessionStatus | None
    total_instances: int = 0
    successful_instances: int = 0
    failed_instances: int = 0
    cancelled_instances: int = 0
    claimed: bool = False

    def log_fields(self) -> dict[str, Any]:
        """The fields the ``full_sync_finished`` log line carries."""
        return {
            "status": self.status,
            "total_instances": self.total_instances,
            "successful_instances": self.successful_instances,
            "failed_instances": self.failed_instances,
            "cancelled_instances": self.cancelled_instances,
        }

    @classmethod
    def of(cls, info: SyncSessionInfo | None, *, claimed: bool) -> FullSyncSummary:
        if info is None:
            return cls(session_id=None, status=None, claimed=claimed)
        return cls(
            session_id=info.session_id,
            status=info.status,
            total_instances=info.total_instances,
            successful_instances=info.successful_instances,
            failed_instances=info.failed_instances,
            cancelled_instances=info.cancelled_instances,
            claimed=claimed,
        )
