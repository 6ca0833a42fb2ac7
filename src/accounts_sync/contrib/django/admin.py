"""Read-only admin pages for sync sessions and records (loaded only with django.contrib.admin)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from .models import SyncRecord, SyncSession


class _ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[misc]
    # Sessions change only through the library: its compare-and-set rules keep counters exact.
    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        # Deleting a running session's row would pull it from under its worker; retention is
        # the host's job, outside the admin.
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(SyncSession)
class SyncSessionAdmin(_ReadOnlyAdmin):
    list_display = (
        "session_id",
        "sync_type",
        "status",
        "total_instances",
        "successful_instances",
        "failed_instances",
        "cancelled_instances",
        "created_by",
        "created_at",
        "completed_at",
    )
    list_filter = ("status", "sync_type", "sync_category")
    search_fields = ("session_id",)
    ordering = ("-id",)


@admin.register(SyncRecord)
class SyncRecordAdmin(_ReadOnlyAdmin):
    list_display = (
        "session_id",
        "instance_id",
        "instance_name",
        "status",
        "items_synced",
        "completed_at",
    )
    list_filter = ("status",)
    search_fields = ("=session__session_id", "instance_name")
    ordering = ("-id",)
