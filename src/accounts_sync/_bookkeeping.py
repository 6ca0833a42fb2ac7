"""The full-sync task's store writes, batched on the coordinating thread."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ._enums import RecordStatus
from ._sessions import RecordOutcome
from .ports import (
    InstanceRepository,
    SupportsBulkSyncCount,
    SupportsCountedRecords,
    SupportsRecordAdvance,
    SyncSessionRepository,
)

__all__ = ["Bookkeeping"]

_COUNT_EVERY = 1.0  # seconds between batched sync_count increments during a run


class Bookkeeping:
    """The task's writes, all from the coordinating thread (stores need not take concurrent
        writers): finished records with their counters and heartbeat, in one call per loop; a
        heartbeat when nothing finished for ``heartbeat_interval``; and sync counts, gathered for
        up to ``_COUNT_EVERY`` seconds because they live in another table, often another database —
    unless the session store writes them with the records (``SupportsCountedRecords``).
    """

    def __init__(
        self,
        *,
        sessions: SyncSessionRepository,
        instances: InstanceRepository[Any],
        session_id: str,
        heartbeat_interval: float,
        on_outcomes: Callable[[list[RecordOutcome]], None] | None = None,
    ) -> None:
        self.session_id = session_id
        self.succeeded = 0
        self.failed = 0
        self._sessions = sessions
        self._instances = instances
        self._heartbeat_interval = heartbeat_interval
        self._on_outcomes = on_outcomes  # sees the outcomes as they are counted (telemetry)
        # Counts written with the records when the store can (nothing to lose in a crash);
        # else gathered here and written through the instance repository.
        counted = (
            sessions.counting_with(instances)
            if isinstance(sessions, SupportsCountedRecords)
            else None
        )
        self._records = counted or sessions
        self._count_here = counted is None
        self._outcomes: list[RecordOutcome] = []
        self._counts: list[int] = []
        self._bulk = isinstance(instances, SupportsBulkSyncCount)
        self._advance = isinstance(self._records, SupportsRecordAdvance)
        self._last_write = self._last_count = time.monotonic()

    def add(self, outcomes: list[RecordOutcome]) -> None:
        self._outcomes.extend(outcomes)

    def next_heartbeat(self) -> float:
        return self._last_write + self._heartbeat_interval

    def start(self, instance_ids: list[int]) -> bool:
        """Start records (the cancel gate), with the queued outcomes when the store can."""
        records = self._records
        if self._advance and self._outcomes:
            return records.advance_records(  # type: ignore[attr-defined, no-any-return]
                self.session_id, self._take(), instance_ids
            )
        return records.start_records(self.session_id, instance_ids)

    def _take(self) -> list[RecordOutcome]:
        outcomes, self._outcomes = self._outcomes, []
        succeeded = [o.instance_id for o in outcomes if o.status is RecordStatus.COMPLETED]
        self.succeeded += len(succeeded)
        self.failed += len(outcomes) - len(succeeded)
        if self._on_outcomes is not None:
            self._on_outcomes(outcomes)
        if self._count_here:
            self._counts.extend(succeeded)
        self._last_write = time.monotonic()
        return outcomes

    def flush(self, *, final: bool = False) -> None:
        now = time.monotonic()
        if self._outcomes:
            self._records.finish_records(self.session_id, self._take())
        elif now >= self.next_heartbeat():
            self._sessions.heartbeat(self.session_id)
            self._last_write = now
        if final or now - self._last_count >= _COUNT_EVERY:
            self.flush_counts()

    def flush_counts(self) -> None:
        if self._counts:
            counts, self._counts = self._counts, []
            self._last_count = time.monotonic()
            if self._bulk:
                self._instances.increment_sync_counts(counts)  # type: ignore[attr-defined]
            else:
                for instance_id in counts:
                    self._instances.increment_sync_count(instance_id)
