"""The columns the Django stores read, and their conversions to the library's values."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings

from ..._sessions import SyncRecordInfo

__all__ = ["MIGRATE", "RECORD_FIELDS", "SESSION_FIELDS", "record_info", "to_db"]

# The migration of this app creates the tables; a store used before it says so.
MIGRATE = "run the accounts_sync app's migration (python manage.py migrate accounts_sync)"

SESSION_FIELDS = (
    "session_id",
    "sync_type",
    "sync_category",
    "status",
    "total_instances",
    "successful_instances",
    "failed_instances",
    "cancelled_instances",
    "created_by",
    "created_at",
    "started_at",
    "completed_at",
    "heartbeat_at",
    "error_message",
    "cancel_requested",
)
RECORD_FIELDS = (
    "id",
    "session_id",
    "instance_id",
    "instance_name",
    "status",
    "items_synced",
    "items_created",
    "items_updated",
    "items_deleted",
    "error_message",
    "details",
    "started_at",
    "completed_at",
)


def to_db(value: dt.datetime) -> dt.datetime:
    # With USE_TZ=False Django refuses aware datetimes on some backends: store naive UTC.
    if settings.USE_TZ:
        return value
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None)


def record_info(row: dict[str, Any]) -> SyncRecordInfo:
    return SyncRecordInfo.from_row({**row, "record_id": row["id"]})
