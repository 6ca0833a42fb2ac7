"""A minimal store: instances in a dict, sessions in the in-memory store with an audit trail."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

from accounts_sync.memory import InMemorySyncSessionRepository
from accounts_sync.ports import Clock, RecordOutcome


class DictInstanceRepository:
    """An ``InstanceRepository`` over a dict of host objects, guarded by one lock."""

    def __init__(self, instances: Iterable[Any] = ()) -> None:
        self._items = {item.id: item for item in instances}
        self._counts: dict[int, int] = {}
        self._lock = threading.Lock()

    def _visible(self, item: Any, *, active: bool) -> bool:
        if item.deleted_at is not None:
            return False
        return item.is_active or not active

    def count_active(self) -> int:
        with self._lock:
            return sum(self._visible(item, active=True) for item in self._items.values())

    def get(self, instance_id: int) -> Any | None:
        with self._lock:
            item = self._items.get(instance_id)
        return item if item is not None and self._visible(item, active=False) else None

    def list_active(self) -> list[Any]:
        with self._lock:
            active = [item for item in self._items.values() if self._visible(item, active=True)]
        return sorted(active, key=lambda item: (item.name, item.id))

    def increment_sync_count(self, instance_id: int) -> None:
        with self._lock:
            item = self._items.get(instance_id)
            if item is not None:
                self._counts[instance_id] = self.sync_count(instance_id) + 1

    def sync_count(self, instance_id: int) -> int:
        """The count the contract reads back (its default ``sync_count`` fixture calls this)."""
        if instance_id in self._counts:
            return self._counts[instance_id]
        return int(getattr(self._items.get(instance_id), "sync_count", None) or 0)


class AuditedSessionRepository(InMemorySyncSessionRepository):
    """The in-memory session store, remembering which sessions finished which records."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        super().__init__(clock=clock)
        self.audit: list[tuple[str, int]] = []

    def finish_records(self, session_id: str, outcomes: Sequence[RecordOutcome]) -> None:
        super().finish_records(session_id, outcomes)
        self.audit.extend((session_id, outcome.instance_id) for outcome in outcomes)
