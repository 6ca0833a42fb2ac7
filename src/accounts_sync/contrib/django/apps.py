"""The Django app configuration (``INSTALLED_APPS = [..., "accounts_sync.contrib.django"]``)."""

from __future__ import annotations

from django.apps import AppConfig


class AccountsSyncConfig(AppConfig):  # type: ignore[misc]
    """Sync sessions and records as Django models; the app label is ``accounts_sync``."""

    name = "accounts_sync.contrib.django"
    label = "accounts_sync"
    verbose_name = "Accounts sync"
    # Fixed here so a host's DEFAULT_AUTO_FIELD never makes our migrations look stale.
    default_auto_field = "django.db.models.BigAutoField"
