"""Admin pages for the instances."""

from __future__ import annotations

from django.contrib import admin

from .models import Instance


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    list_display = ("name", "db_type", "host", "is_active", "deleted_at", "sync_count")
    list_filter = ("db_type", "is_active")
