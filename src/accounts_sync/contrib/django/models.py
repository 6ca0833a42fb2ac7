"""Sync sessions and their per-instance records, as Django models.

Statuses and categories are plain strings validated by the repository through the library's
enums; they carry no ``choices`` so a new enum member never makes a host's
``makemigrations --check`` fail.
"""

from __future__ import annotations

from django.db import models

__all__ = ["SyncRecord", "SyncSession"]


class SyncSession(models.Model):  # type: ignore[misc]
    """One sync session.

    ``lock_key`` is the single-flight guard: it holds the category while an exclusive session
    is pending or running and is NULL otherwise, and a plain unique constraint lets the database
    refuse a second holder (several NULLs are allowed on every backend).
    """

    id = models.BigAutoField(primary_key=True)
    session_id = models.CharField(max_length=36, unique=True)
    sync_type = models.CharField(max_length=32)
    sync_category = models.CharField(max_length=32)
    status = models.CharField(max_length=32)
    total_instances = models.IntegerField(default=0)
    successful_instances = models.IntegerField(default=0)
    failed_instances = models.IntegerField(default=0)
    cancelled_instances = models.IntegerField(default=0)
    created_by = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # When a record last finished: the reaper's "no progress" rule.
    progress_at = models.DateTimeField(null=True, blank=True)
    error_message = models.TextField(null=True, blank=True)  # NULL: no error
    cancel_requested = models.BooleanField(default=False)
    lock_key = models.CharField(max_length=32, null=True, blank=True)

    class Meta:
        db_table = "accounts_sync_session"
        verbose_name = "sync session"
        constraints = (
            models.UniqueConstraint(fields=["lock_key"], name="accounts_sync_session_lock_uniq"),
        )
        # The reaper and the conflict checks look for pending/running sessions.
        indexes = (models.Index(fields=["status"], name="accounts_sync_session_st_idx"),)
        permissions = (
            ("sync_accounts", "Can start account syncs"),
            ("cancel_syncsession", "Can cancel sync sessions"),
        )

    def __str__(self) -> str:
        return f"{self.session_id} ({self.status})"


class SyncRecord(models.Model):  # type: ignore[misc]
    """The outcome of one instance within a session; one per (session, instance)."""

    id = models.BigAutoField(primary_key=True)
    # ``session_id`` holds the session's uuid, as in ``SyncRecordInfo``; the unique constraint
    # below indexes it, so the foreign key needs no index of its own.
    session = models.ForeignKey(
        SyncSession,
        on_delete=models.CASCADE,
        to_field="session_id",
        db_column="session_id",
        db_index=False,
        related_name="records",
    )
    instance_id = models.BigIntegerField()
    instance_name = models.TextField()
    status = models.CharField(max_length=16)
    items_synced = models.IntegerField(default=0)
    items_created = models.IntegerField(default=0)
    items_updated = models.IntegerField(default=0)
    items_deleted = models.IntegerField(default=0)
    error_message = models.TextField(null=True, blank=True)
    details = models.JSONField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "accounts_sync_record"
        verbose_name = "sync record"
        constraints = (
            models.UniqueConstraint(
                fields=["session", "instance_id"], name="accounts_sync_record_inst_uniq"
            ),
        )
        # Pages of a session's records in creation order, one index range each.
        indexes = (models.Index(fields=["session", "id"], name="accounts_sync_record_page_idx"),)

    def __str__(self) -> str:
        return f"{self.instance_name} ({self.status})"
