"""A toy ``SupportsAccountSync``: pretends to read a server's accounts, with some latency.

Instances whose name contains ``broken`` fail, to show how a failure is isolated and reported;
those whose name contains ``slow`` take ``settings.DEMO_SLOW_LATENCY``, long enough to cancel.
"""

from __future__ import annotations

import random
import time
from typing import Any

from django.conf import settings


class ToySyncService:
    """Sleeps ``settings.DEMO_SYNC_LATENCY`` seconds (``DEMO_SLOW_LATENCY`` for ``*slow*``
    instances), then returns made-up counts."""

    def sync_accounts(
        self,
        instance: Any,
        sync_type: str = "manual_single",
        session_id: str | None = None,
        created_by: int | None = None,
    ) -> dict[str, Any]:
        slow = "slow" in instance.name
        low, high = settings.DEMO_SLOW_LATENCY if slow else settings.DEMO_SYNC_LATENCY
        time.sleep(random.uniform(low, high))
        if "broken" in instance.name:
            return {"success": False, "message": f"cannot connect to {instance.host}"}
        rng = random.Random(instance.id)
        added, modified, removed = rng.randint(0, 3), rng.randint(0, 2), rng.randint(0, 1)
        return {
            "success": True,
            "synced_count": rng.randint(5, 40),
            "added_count": added,
            "modified_count": modified,
            "removed_count": removed,
            "details": {"db_type": instance.db_type, "sync_type": sync_type},
        }
