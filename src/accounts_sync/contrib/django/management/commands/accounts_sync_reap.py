"""``manage.py accounts_sync_reap``: fail sessions whose worker stopped beating."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand

from accounts_sync._full_sync import DEFAULT_STALE_AFTER
from accounts_sync.contrib.django.repositories import DjangoSyncSessionRepository


class Command(BaseCommand):  # type: ignore[misc]
    help = "Mark pending/running sync sessions without a recent heartbeat as failed."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--stale-after",
            type=float,
            default=DEFAULT_STALE_AFTER.total_seconds() / 60,
            help="minutes without a heartbeat before a session counts as stale (default 10)",
        )
        parser.add_argument("--database", default=None, help="database alias")

    def handle(self, *args: Any, **options: Any) -> None:
        sessions = DjangoSyncSessionRepository(using=options["database"])
        reaped = sessions.reap_stale(stale_after=dt.timedelta(minutes=options["stale_after"]))
        for session_id in reaped:
            self.stdout.write(session_id)
        self.stderr.write(f"reaped {len(reaped)} session(s)")
