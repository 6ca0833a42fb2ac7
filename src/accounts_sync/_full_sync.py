"""The background full sync: claim, snapshot, run concurrently, count, finalize (SPEC §3.4)."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import attrs

from ._enums import RecordStatus, SessionStatus, SyncCategory, SyncType
from ._errors import ConflictError, ValidationError
from ._jobs import fail_session
from ._messages import Messages
from ._normalize import normalize_sync_result
from ._observability import ActionLog
from ._redaction import clean, describe_error
from ._sessions import RecordOutcome, SyncSessionInfo
from .ports import (
    InstanceRepository,
    SupportsAccountSync,
    SupportsBulkSyncCount,
    SupportsInstance,
    SupportsRecordAdvance,
    SyncSessionRepository,
)

__all__ = ["DEFAULT_STALE_AFTER", "FullSyncSummary", "FullSyncTask"]

logger = logging.getLogger(__name__)

InstanceT = TypeVar("InstanceT", bound=SupportsInstance)

ACTION = "sync_all_accounts"
INSTANCE_ACTION = "sync_instance_accounts_batch"
DEFAULT_STALE_AFTER = dt.timedelta(minutes=10)
_COUNT_EVERY = 1.0  # seconds between batched sync_count increments during a run


@attrs.frozen(kw_only=True)
class FullSyncSummary:
    """What one call of the task did. ``claimed`` is False when it ran nothing (duplicate
    delivery, a session already finished, or another full sync holding the lock)."""

    session_id: str | None
    status: SessionStatus | None
    total_instances: int = 0
    successful_instances: int = 0
    failed_instances: int = 0
    cancelled_instances: int = 0
    claimed: bool = False

    @classmethod
    def of(cls, info: SyncSessionInfo | None, *, claimed: bool) -> FullSyncSummary:
        if info is None:
            return cls(session_id=None, status=None, claimed=claimed)
        return cls(
            session_id=info.session_id,
            status=info.status,
            total_instances=info.total_instances,
            successful_instances=info.successful_instances,
            failed_instances=info.failed_instances,
            cancelled_instances=info.cancelled_instances,
            claimed=claimed,
        )


class FullSyncTask(Generic[InstanceT]):
    """Synchronises every active instance under one session.

    At most ``max_workers`` instances run at once; an instance still running after
    ``instance_timeout`` seconds is failed and its late result ignored. Python cannot stop a
    thread, so the timed-out call goes on in the host's code on its own (daemon) thread and a
    fresh worker takes its slot: bound your sync service's own I/O with timeouts too.

    Every store write happens on the calling thread, in batches, so bookkeeping stays O(1) per
    instance.
    """

    def __init__(
        self,
        *,
        instances: InstanceRepository[InstanceT],
        sessions: SyncSessionRepository,
        sync_service: SupportsAccountSync[InstanceT],
        max_workers: int = 4,
        instance_timeout: float | None = None,
        heartbeat_interval: float = 30.0,
        messages: Messages | None = None,
        stale_after: dt.timedelta = DEFAULT_STALE_AFTER,
    ) -> None:
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise ValidationError("max_workers must be an integer >= 1")
        if instance_timeout is not None and not instance_timeout > 0:
            raise ValidationError("instance_timeout must be None or > 0 seconds")
        if not heartbeat_interval > 0:
            raise ValidationError("heartbeat_interval must be > 0 seconds")
        self.instances = instances
        self.sessions = sessions
        self.sync_service = sync_service
        self.max_workers = max_workers
        self.instance_timeout = instance_timeout
        self.heartbeat_interval = heartbeat_interval
        self.messages = messages or Messages()
        self.stale_after = stale_after

    def __call__(
        self,
        *,
        manual_run: bool = True,
        created_by: int | None = None,
        session_id: str | None = None,
        **_ignored: Any,
    ) -> FullSyncSummary:
        """Run a full sync; with ``session_id`` claim that prepared session, else create one."""
        if session_id is None:
            return self._run_unprepared(manual_run=manual_run, created_by=created_by)
        info = self.sessions.get_session(session_id)
        if info is None:
            raise ValidationError(self.messages.session_not_found, extra={"session_id": session_id})
        if not self.sessions.claim_session(session_id):
            return self._skip(session_id, created_by)
        return self._run(info.session_id, info.sync_type, created_by)

    def _run_unprepared(self, *, manual_run: bool, created_by: int | None) -> FullSyncSummary:
        self.sessions.reap_stale(
            stale_after=self.stale_after, message=self.messages.session_interrupted
        )
        sync_type = SyncType.MANUAL_TASK if manual_run else SyncType.SCHEDULED_TASK
        try:
            info = self.sessions.create_session(
                sync_type=sync_type, sync_category=SyncCategory.ACCOUNT, created_by=created_by
            )
        except ConflictError as conflict:
            holder = conflict.session_id
            log = ActionLog(logger, ACTION, {"created_by": created_by, "session_id": holder})
            log.warning(self.messages.full_sync_already_running)
            current = self.sessions.get_session(holder) if holder is not None else None
            return FullSyncSummary.of(current, claimed=False)
        if not self.sessions.claim_session(info.session_id):
            return self._skip(info.session_id, created_by)
        return self._run(info.session_id, sync_type, created_by)

    def _skip(self, session_id: str, created_by: int | None) -> FullSyncSummary:
        current = self.sessions.get_session(session_id)
        log = ActionLog(logger, ACTION, {"created_by": created_by, "session_id": session_id})
        log.info(self.messages.full_sync_skipped, status=current.status.value if current else None)
        return FullSyncSummary.of(current, claimed=False)

    def _run(self, session_id: str, sync_type: SyncType, created_by: int | None) -> FullSyncSummary:
        log = ActionLog(logger, ACTION, {"created_by": created_by, "session_id": session_id})
        run = _Run(self, session_id=session_id, sync_type=sync_type, created_by=created_by)
        try:
            instances = list(self.instances.list_active())
            self.sessions.add_records(session_id, [(item.id, item.name) for item in instances])
            log.bind(total_instances=len(instances)).info(self.messages.full_sync_started)
            if not instances:
                log.info(self.messages.full_sync_no_instances)
            run.execute(instances)
            status = run.final_status()
        except BaseException as error:
            # The store may be what failed: then the session is left to the reaper.
            fail_session(self.sessions, session_id, error, log=log, messages=self.messages)
            raise
        self.sessions.finish_session(session_id, status=status)
        final = self.sessions.get_session(session_id)
        summary = FullSyncSummary.of(final, claimed=True)
        log.info(
            self.messages.full_sync_finished,
            status=summary.status,
            total_instances=summary.total_instances,
            successful_instances=summary.successful_instances,
            failed_instances=summary.failed_instances,
            cancelled_instances=summary.cancelled_instances,
        )
        return summary


_Item = tuple[int, Any]


class _Run(Generic[InstanceT]):
    """One execution: a coordinator loop (this thread) feeding a pool of worker threads."""

    def __init__(
        self,
        task: FullSyncTask[InstanceT],
        *,
        session_id: str,
        sync_type: SyncType,
        created_by: int | None,
    ) -> None:
        self.task = task
        self.session_id = session_id
        self.sync_type = sync_type
        self.created_by = created_by
        self.succeeded = 0
        self.failed = 0
        self.cancelled = False
        self._work: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._results: queue.SimpleQueue[tuple[int, RecordOutcome]] = queue.SimpleQueue()
        self._threads = 0
        self._tokens = itertools.count()

    def final_status(self) -> SessionStatus:
        current = self.task.sessions.get_session(self.session_id)
        if self.cancelled or (current is not None and current.cancel_requested):
            return SessionStatus.CANCELLED
        if self.failed == 0:
            return SessionStatus.COMPLETED
        if self.succeeded == 0:
            return SessionStatus.FAILED
        return SessionStatus.COMPLETED_WITH_ERRORS

    def execute(self, instances: Sequence[InstanceT]) -> None:
        pending: deque[InstanceT] = deque(instances)
        in_flight: dict[int, tuple[InstanceT, float]] = {}
        writes = _Bookkeeping(self.task, self.session_id)
        try:
            while True:
                # Refill free slots first (writing what finished in the same transaction when
                # the store can), so a worker waits for at most one commit.
                self._dispatch(pending, in_flight, writes)
                writes.flush()
                if not in_flight:
                    break
                writes.add(self._collect(in_flight, writes.next_heartbeat()))
                now = time.monotonic()
                for token, (item, deadline) in list(in_flight.items()):
                    if deadline <= now:
                        del in_flight[token]
                        writes.add([self._timed_out(item)])
                        # Its thread is stuck in the host's code: replace it, ignore its result.
                        self._spawn()
            writes.flush(final=True)
        except BaseException:
            # The run is failing (its finalizer marks the session failed); still count the
            # syncs that did succeed, if the instance store is up.
            with contextlib.suppress(Exception):
                writes.flush_counts()
            raise
        finally:
            for _ in range(self._threads):
                self._work.put(None)
            self.succeeded, self.failed = writes.succeeded, writes.failed

    def _dispatch(
        self,
        pending: deque[InstanceT],
        in_flight: dict[int, tuple[InstanceT, float]],
        writes: _Bookkeeping,
    ) -> None:
        free = self.task.max_workers - len(in_flight)
        if not pending or free <= 0:
            return
        batch = [pending.popleft() for _ in range(min(free, len(pending)))]
        if not writes.start([item.id for item in batch]):
            # Cancel requested (or the session was reaped): start nothing more; finalizing
            # turns the untouched pending records into cancelled ones.
            self.cancelled = True
            pending.clear()
            return
        deadline = time.monotonic() + (self.task.instance_timeout or float("inf"))
        for item in batch:
            token = next(self._tokens)
            in_flight[token] = (item, deadline)
            self._work.put((token, item))
        self._grow(len(in_flight))

    def _collect(
        self, in_flight: dict[int, tuple[InstanceT, float]], heartbeat_at: float
    ) -> list[RecordOutcome]:
        earliest = min(deadline for _, deadline in in_flight.values())
        wait = min(earliest, heartbeat_at) - time.monotonic()
        try:
            results = [self._results.get(timeout=max(wait, 0.0))]
        except queue.Empty:
            return []
        while True:
            try:
                results.append(self._results.get_nowait())
            except queue.Empty:
                break
        return [outcome for token, outcome in results if in_flight.pop(token, None) is not None]

    def _grow(self, needed: int) -> None:
        while self._threads < needed:
            self._spawn()

    def _spawn(self) -> None:
        self._threads += 1
        threading.Thread(
            target=self._worker, name=f"accounts_sync_worker_{self.session_id[:8]}", daemon=True
        ).start()

    def _worker(self) -> None:
        while (item := self._work.get()) is not None:
            token, instance = item
            self._results.put((token, self._sync_one(instance)))

    def _sync_one(self, instance: InstanceT) -> RecordOutcome:
        task = self.task
        texts = task.messages
        context = texts.context_for(instance.name)
        log = self._log(instance)
        try:
            raw = task.sync_service.sync_accounts(
                instance,
                sync_type=self.sync_type.value,
                session_id=self.session_id,
                created_by=self.created_by,
            )
            success, result = normalize_sync_result(raw, context=context, messages=texts)
            details: dict[str, Any] = clean(result)
        except BaseException as error:
            # Not just ``Exception``: a worker that dies without a result (e.g. host code raising
            # SystemExit) would leave the coordinator waiting, heartbeating, forever.
            log.warning(texts.instance_sync_error, error=error)
            return RecordOutcome(
                instance_id=instance.id,
                status=RecordStatus.FAILED,
                error_message=describe_error(error),
            )
        if not success:
            log.warning(texts.instance_sync_failed, result_message=details["message"])
            return RecordOutcome(
                instance_id=instance.id,
                status=RecordStatus.FAILED,
                error_message=details["message"],
                details=details,
            )
        return RecordOutcome(
            instance_id=instance.id,
            status=RecordStatus.COMPLETED,
            items_synced=_count(details.get("synced_count")),
            items_created=_count(details.get("added_count")),
            items_updated=_count(details.get("modified_count")),
            items_deleted=_count(details.get("removed_count")),
            details=details,
        )

    def _log(self, instance: InstanceT) -> ActionLog:
        return ActionLog(
            logger,
            INSTANCE_ACTION,
            {
                "session_id": self.session_id,
                "instance_id": instance.id,
                "instance_name": instance.name,
            },
        )

    def _timed_out(self, instance: InstanceT) -> RecordOutcome:
        texts = self.task.messages
        message = texts.instance_timeout.format(context=texts.context_for(instance.name))
        self._log(instance).warning(message, timeout_seconds=self.task.instance_timeout)
        return RecordOutcome(
            instance_id=instance.id, status=RecordStatus.FAILED, error_message=message
        )


class _Bookkeeping:
    """The task's writes, all from the coordinating thread (stores need not take concurrent
    writers): finished records with their counters and heartbeat, in one call per loop; a
    heartbeat when nothing finished for ``heartbeat_interval``; and sync counts, gathered for
    up to ``_COUNT_EVERY`` seconds because they live in another table, often another database.
    """

    def __init__(self, task: FullSyncTask[Any], session_id: str) -> None:
        self.task = task
        self.session_id = session_id
        self.succeeded = 0
        self.failed = 0
        self._outcomes: list[RecordOutcome] = []
        self._counts: list[int] = []
        self._bulk = isinstance(task.instances, SupportsBulkSyncCount)
        self._advance = isinstance(task.sessions, SupportsRecordAdvance)
        self._last_write = self._last_count = time.monotonic()

    def add(self, outcomes: list[RecordOutcome]) -> None:
        self._outcomes.extend(outcomes)

    def next_heartbeat(self) -> float:
        return self._last_write + self.task.heartbeat_interval

    def start(self, instance_ids: list[int]) -> bool:
        """Start records (the cancel gate), with the queued outcomes when the store can."""
        sessions = self.task.sessions
        if self._advance and self._outcomes:
            return sessions.advance_records(  # type: ignore[attr-defined, no-any-return]
                self.session_id, self._take(), instance_ids
            )
        return sessions.start_records(self.session_id, instance_ids)

    def _take(self) -> list[RecordOutcome]:
        outcomes, self._outcomes = self._outcomes, []
        succeeded = [o.instance_id for o in outcomes if o.status is RecordStatus.COMPLETED]
        self.succeeded += len(succeeded)
        self.failed += len(outcomes) - len(succeeded)
        self._counts.extend(succeeded)
        self._last_write = time.monotonic()
        return outcomes

    def flush(self, *, final: bool = False) -> None:
        now = time.monotonic()
        if self._outcomes:
            self.task.sessions.finish_records(self.session_id, self._take())
        elif now >= self.next_heartbeat():
            self.task.sessions.heartbeat(self.session_id)
            self._last_write = now
        if final or now - self._last_count >= _COUNT_EVERY:
            self.flush_counts()

    def flush_counts(self) -> None:
        if self._counts:
            counts, self._counts = self._counts, []
            self._last_count = time.monotonic()
            if self._bulk:
                self.task.instances.increment_sync_counts(counts)  # type: ignore[attr-defined]
            else:
                for instance_id in counts:
                    self.task.instances.increment_sync_count(instance_id)


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
