"""The full-sync run's store writes, made by the one thread that commits them in groups."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
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
    """The run's writes, all from one thread (stores need not take concurrent writers): a group
    of started records and finished ones with their counters and heartbeat, in one transaction
    when the store can ``advance_records``; a heartbeat when nothing finished for
    ``heartbeat_interval``; a look at the session for a cancel when no start asked for
    ``poll_every``; and sync counts, gathered for up to ``_COUNT_EVERY`` seconds because they live
    in another table, often another database — unless the session store writes them with the
    records (``SupportsCountedRecords``).

    ``refused`` turns True once a start is refused (a cancel was requested or the session
    ended): the instances of that start never count, and their outcomes are dropped, so their
    records end as the session's finalizer settles them (``cancelled``).
    """

    def __init__(
        self,
        *,
        sessions: SyncSessionRepository,
        instances: InstanceRepository[Any],
        session_id: str,
        heartbeat_interval: float,
        poll_every: float,
        on_outcomes: Callable[[list[RecordOutcome]], None] | None = None,
    ) -> None:
        self.session_id = session_id
        self.succeeded = 0
        self.failed = 0
        self.refused = False
        self._sessions = sessions
        self._instances = instances
        self._heartbeat_interval = heartbeat_interval
        self._poll_every = poll_every
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
        self._counts: list[int] = []
        self._unstarted: set[int] = set()
        self._bulk = isinstance(instances, SupportsBulkSyncCount)
        self._advance = isinstance(self._records, SupportsRecordAdvance)
        self._last_write = self._last_count = self._last_gate = time.monotonic()

    def commit(
        self, starts: Sequence[int], outcomes: Sequence[RecordOutcome]
    ) -> list[RecordOutcome]:
        """Start ``starts`` and finish ``outcomes``; return the outcomes to write in the next
        group: those of instances in ``starts``, which ``advance_records`` would finish before
        it starts them."""
        if self.refused:
            # A refused session refuses every later start: do not ask again.
            self._unstarted.update(starts)
            starts = []
        outcomes = [o for o in outcomes if o.instance_id not in self._unstarted]
        if not starts:
            self._finish(outcomes)
            return []
        if not self._advance:
            self._start(starts, self._records.start_records(self.session_id, starts))
            self._finish([o for o in outcomes if o.instance_id not in self._unstarted])
            return []
        fresh = set(starts)
        ready = [o for o in outcomes if o.instance_id not in fresh]
        later = [o for o in outcomes if o.instance_id in fresh]
        if not ready:
            self._start(starts, self._records.start_records(self.session_id, starts))
            return later
        advance = self._records.advance_records  # type: ignore[attr-defined]
        self._start(starts, advance(self.session_id, self._take(ready), starts))
        return later

    def _start(self, starts: Sequence[int], started: bool) -> None:
        self._last_gate = time.monotonic()
        if not started:
            self.refused = True
            self._unstarted.update(starts)

    def _finish(self, outcomes: list[RecordOutcome]) -> None:
        if outcomes:
            self._records.finish_records(self.session_id, self._take(outcomes))

    def _take(self, outcomes: list[RecordOutcome]) -> list[RecordOutcome]:
        succeeded = [o.instance_id for o in outcomes if o.status is RecordStatus.COMPLETED]
        self.succeeded += len(succeeded)
        self.failed += len(outcomes) - len(succeeded)
        if self._on_outcomes is not None:
            self._on_outcomes(outcomes)
        if self._count_here:
            self._counts.extend(succeeded)
        self._last_write = time.monotonic()
        return outcomes

    def next_due(self) -> float:
        """When :meth:`housekeep` next has work (a ``time.monotonic()`` value)."""
        due = self._last_write + self._heartbeat_interval
        if not self.refused:
            due = min(due, self._last_gate + self._poll_every)
        if self._counts:
            due = min(due, self._last_count + _COUNT_EVERY)
        return due

    def housekeep(self) -> None:
        """The heartbeat, the cancel poll and the sync counts, each when it is due."""
        now = time.monotonic()
        if now >= self._last_write + self._heartbeat_interval:
            self._sessions.heartbeat(self.session_id)
            self._last_write = now
        if not self.refused and now >= self._last_gate + self._poll_every:
            # A cancel must be seen even when no slot frees up to reach a start.
            self._last_gate = now
            current = self._sessions.get_session(self.session_id)
            if current is None or current.cancel_requested or current.is_terminal:
                self.refused = True
        if now - self._last_count >= _COUNT_EVERY:
            self.flush_counts()

    def flush_counts(self) -> None:
        self._last_count = time.monotonic()
        if self._counts:
            counts, self._counts = self._counts, []
            if self._bulk:
                self._instances.increment_sync_counts(counts)  # type: ignore[attr-defined]
            else:
                for instance_id in counts:
                    self._instances.increment_sync_count(instance_id)
