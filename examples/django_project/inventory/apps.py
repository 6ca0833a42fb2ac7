"""The example's own app: the host's table of database instances."""

from __future__ import annotations

import os

from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        if os.environ.get("ACCOUNTS_SYNC_OTEL_CONSOLE") == "1":
            # Spans and metrics printed as JSON (needs the otel extra and opentelemetry-sdk).
            from accounts_sync.contrib.otel import instrument_console

            instrument_console()
