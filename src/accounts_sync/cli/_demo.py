"""A simulated fleet for ``accounts-sync demo``: latency, a few failures and a timeout."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from typing import Any

import attrs

from ..ports import SupportsInstance

__all__ = ["DemoOptions", "SimulatedSyncService", "demo_instance_names"]

_ENGINES = ("mysql", "postgresql", "sqlserver", "oracle")


@attrs.frozen(kw_only=True)
class DemoOptions:
    """How the simulated fleet behaves."""

    instances: int = 200
    latency_ms: float = 40.0
    failure_rate: float = 0.03
    workers: int = 16
    timeout: float = 2.0
    seed: int = 7

    def __attrs_post_init__(self) -> None:
        if self.instances < 1:
            raise ValueError("--instances must be at least 1")
        if self.latency_ms < 0:
            raise ValueError("--latency must be >= 0")
        if not 0.0 <= self.failure_rate <= 1.0:
            raise ValueError("--failure-rate must be between 0 and 1")
        if self.workers < 1:
            raise ValueError("--workers must be at least 1")
        if self.timeout <= 0:
            raise ValueError("--timeout must be > 0")


def demo_instance_names(count: int) -> list[tuple[str, str, str]]:
    """``(name, db_type, host)`` for ``count`` simulated instances."""
    width = max(3, len(str(count)))
    return [
        (f"{_ENGINES[i % 4]}-{i:0{width}d}", _ENGINES[i % 4], f"10.0.{i // 250}.{i % 250 + 1}")
        for i in range(1, count + 1)
    ]


class SimulatedSyncService:
    """Sleeps like a real collection, fails at ``failure_rate`` (half raising, half reporting),
    and hangs past the timeout on one instance so the demo shows every outcome."""

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        self._rng = random.Random(options.seed)
        self._lock = threading.Lock()
        self._hanging_id: int | None = None

    def sync_accounts(
        self,
        instance: SupportsInstance,
        sync_type: str = "manual_single",
        session_id: str | None = None,
        created_by: int | None = None,
    ) -> Mapping[str, Any]:
        with self._lock:
            roll = self._rng.random()
            jitter = self._rng.uniform(0.5, 1.5)
            if self._hanging_id is None and instance.id % 97 == 13:
                self._hanging_id = instance.id
        if instance.id == self._hanging_id:
            time.sleep(self.options.timeout * 1.5)
        time.sleep(self.options.latency_ms / 1000.0 * jitter)
        if roll < self.options.failure_rate / 2:
            raise ConnectionError(
                f"could not connect to {instance.host}: mysql://sync:hunter2@{instance.host}"
            )
        if roll < self.options.failure_rate:
            return {"success": False, "message": f"权限不足: {instance.name}"}
        accounts = 5 + instance.id % 20
        added = instance.id % 3
        return {
            "success": True,
            "synced_count": accounts,
            "added_count": added,
            "modified_count": instance.id % 2,
            "removed_count": 0,
            "message": f"同步 {accounts} 个账户、新增 {added} 个",
        }
