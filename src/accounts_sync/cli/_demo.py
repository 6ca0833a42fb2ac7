"""A simulated fleet for ``accounts-sync demo``: latency, a few failures and a timeout."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ..ports import SupportsInstance
from ._texts import CliTexts

__all__ = ["DemoInstance", "DemoOptions", "SimulatedSyncService", "demo_instances"]

# (name prefix, db_type, URL scheme, port): the engines of a typical fleet.
_ENGINES = (
    ("pg", "postgresql", "postgresql", 5432),
    ("mysql", "mysql", "mysql", 3306),
    ("mariadb", "mariadb", "mysql", 3306),
    ("mssql", "sqlserver", "mssql", 1433),
    ("oracle", "oracle", "oracle", 1521),
)
_APPLICATIONS = ("orders", "billing", "users", "inventory", "payments", "analytics", "catalog")
# A fake password: the demo's connection errors show that DSNs are printed redacted.
_DEMO_PASSWORD = "demo-s3cret"


@attrs.frozen
class DemoInstance:
    """A simulated server: ``pg-orders-01`` on ``pg-orders-01.internal`` and its DSN."""

    name: str
    db_type: str
    host: str
    dsn: str


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


def demo_instances(count: int) -> list[DemoInstance]:
    """``count`` simulated instances: engines and applications in turn, numbered per pair."""
    width = max(2, len(str(count // (len(_ENGINES) * len(_APPLICATIONS)) + 1)))
    instances = []
    for index in range(count):
        prefix, db_type, scheme, port = _ENGINES[index % len(_ENGINES)]
        application = _APPLICATIONS[(index // len(_ENGINES)) % len(_APPLICATIONS)]
        number = index // (len(_ENGINES) * len(_APPLICATIONS)) + 1
        name = f"{prefix}-{application}-{number:0{width}d}"
        host = f"{name}.internal"
        dsn = f"{scheme}://sync:{_DEMO_PASSWORD}@{host}:{port}/{application}"
        instances.append(DemoInstance(name, db_type, host, dsn))
    return instances


class SimulatedSyncService:
    """Sleeps like a real collection, fails at ``failure_rate`` (half raising, half reporting),
    and hangs past the timeout on one instance so the demo shows every outcome."""

    def __init__(
        self, options: DemoOptions, fleet: Sequence[DemoInstance], texts: CliTexts
    ) -> None:
        self.options = options
        self.texts = texts
        self._dsns = {index: instance.dsn for index, instance in enumerate(fleet, 1)}
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
            dsn = self._dsns.get(instance.id, instance.host)
            raise ConnectionError(self.texts.demo_unreachable.format(host=instance.host, dsn=dsn))
        if roll < self.options.failure_rate:
            return {"success": False, "message": self.texts.demo_refused.format(name=instance.name)}
        accounts = 5 + instance.id % 20
        added = instance.id % 3
        return {
            "success": True,
            "synced_count": accounts,
            "added_count": added,
            "modified_count": instance.id % 2,
            "removed_count": 0,
            "message": self.texts.demo_synced.format(accounts=accounts, added=added),
        }
