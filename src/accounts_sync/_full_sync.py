"""The background full sync: claim, snapshot, run concurrently, count, finalize."""

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

from . import _lifecycle as rules
from ._bookkeeping import Bookkeeping
from ._bounds import fit_count, fit_name, fit_text, storable_details, storable_error
from ._checks import at_least, seconds
from ._enums import RecordStatus, SessionStatus, SyncCategory, SyncType
from ._errors import ConflictError, ValidationError
from ._group_commit import DEFAULT_COMMIT_WINDOW, GroupCommit, Journal
from ._instrumentation import RunTelemetry, traced_run
from ._jobs import fail_session, reap
from ._messages import Messages
from ._normalize import normalize_sync_result
from ._observability import ActionLog
from ._sessions import FullSyncSummary, RecordOutcome
from ._worker_pool import WorkerPool
from .ports import (
    InstanceRepository,
    SupportsAccountSync,
    SupportsInstance,
    SyncSessionRepository,
)

__all__ = [
    "DEFAULT_CANCEL_GRACE",
    "DEFAULT_COMMIT_WINDOW",
    "DEFAULT_INSTANCE_TIMEOUT",
    "DEFAULT_STALE_AFTER",
    "STALL_MARGIN",
    "FullSyncSummary",
    "FullSyncTask",
]

logger = logging.getLogger(__name__)

InstanceT = TypeVar("InstanceT", bound=SupportsInstance)

ACTION = "sync_all_accounts"
INSTANCE_ACTION = "sync_instance_accounts_batch"
DEFAULT_STALE_AFTER = dt.timedelta(minutes=10)
DEFAULT_INSTANCE_TIMEOUT = 900.0
"""15 minutes: far above a healthy instance's sync, short enough that a hung one ends today."""
DEFAULT_CANCEL_GRACE = 30.0
"""Seconds a cancel waits for in-flight calls: most finish within it, a hung one never does."""
STALL_MARGIN = dt.timedelta(minutes=5)
"""Added to ``instance_timeout`` before the reaper calls a session with no progress stalled:
the task itself fails a hung call at ``instance_timeout``, so only a wedged task passes it."""
_DEFAULT_MESSAGES = Messages()
_CANCEL_POLL = 5.0  # seconds between cancel checks while no slot frees up
_FINAL_WRITE_ATTEMPTS = 3  # the pool hands a fresh connection to each retry


class FullSyncTask(Generic[InstanceT]):
    """Synchronises every active instance under one session.

    At most ``max_workers`` instances run at once; an instance still running after
    ``instance_timeout`` seconds (default 900; ``None`` waits forever) is failed and its late
    result ignored. Python cannot stop a thread, so the timed-out call goes on in the host's
    code on its own (daemon) thread, *abandoned*, and a fresh worker takes its slot.

    Abandoned threads are bounded: while fewer than ``max_abandoned_threads`` (default
    ``2 * max_workers``) of this task's abandoned threads are still running, each one is
    replaced; past that the run goes on with one slot fewer, and once no slot is left the
    instances not started yet fail with ``Messages.no_worker_left``. So this task never has
    more than ``max_workers + max_abandoned_threads`` worker threads (and one dispatching
    thread). Bound your sync service's own I/O with timeouts too.

    A cancel request is seen within ``min(heartbeat_interval, 5)`` seconds: nothing more is
    started (those records end ``cancelled``), in-flight calls get ``cancel_grace`` seconds
    (default 30), then the ones still running fail with ``Messages.cancel_grace_expired``, their
    threads are abandoned and the session ends ``cancelled``.

    Every store call happens on the calling thread: one group commit of starts and outcomes per
    ``commit_window`` seconds (0.01; 0: at once) while a dispatching thread feeds the workers, so
    no worker waits for a commit. Instances handed out in the window in which a cancel is seen
    still run; their records end ``cancelled``.
    """

    def __init__(
        self,
        *,
        instances: InstanceRepository[InstanceT],
        sessions: SyncSessionRepository,
        sync_service: SupportsAccountSync[InstanceT],
        max_workers: int = 4,
        instance_timeout: float | None = DEFAULT_INSTANCE_TIMEOUT,
        heartbeat_interval: float = 30.0,
        messages: Messages | None = None,
        stale_after: dt.timedelta = DEFAULT_STALE_AFTER,
        cancel_grace: float = DEFAULT_CANCEL_GRACE,
        max_abandoned_threads: int | None = None,
        commit_window: float = DEFAULT_COMMIT_WINDOW,
    ) -> None:
        at_least("max_workers", max_workers, 1)
        seconds("instance_timeout", instance_timeout, optional=True)
        seconds("heartbeat_interval", heartbeat_interval)
        seconds("cancel_grace", cancel_grace, zero=True)
        seconds("commit_window", commit_window, zero=True)
        if max_abandoned_threads is None:
            max_abandoned_threads = 2 * max_workers
        at_least("max_abandoned_threads", max_abandoned_threads, 0)
        self.instances = instances
        self.sessions = sessions
        self.sync_service = sync_service
        self.max_workers = max_workers
        self.instance_timeout = instance_timeout
        self.heartbeat_interval = heartbeat_interval
        # ``None`` means "not chosen": the service this task is handed to sets its own.
        self.chosen_messages = messages
        self._adopted_messages: Messages | None = None
        self.stale_after = stale_after
        self.cancel_grace = cancel_grace
        self.max_abandoned_threads = max_abandoned_threads
        self.commit_window = commit_window
        self.abandoned_threads = 0
        """This task's abandoned threads still running (shared by its runs)."""
        self._abandoned_lock = threading.Lock()

    @property
    def messages(self) -> Messages:
        """The texts this task writes: its own, else its service's, else the default."""
        return self.chosen_messages or self._adopted_messages or _DEFAULT_MESSAGES

    def adopt_messages(self, messages: Messages) -> None:
        """Speak ``messages`` unless this task was built with ``messages=``."""
        self._adopted_messages = messages

    @property
    def stalled_after(self) -> dt.timedelta | None:
        """How long a running session may make no progress before the reaper fails it."""
        if self.instance_timeout is None:
            return None
        return dt.timedelta(seconds=self.instance_timeout) + STALL_MARGIN

    def _count_abandoned(self, delta: int) -> bool:
        """Add ``delta`` abandoned threads; True while the count is within the bound."""
        with self._abandoned_lock:
            self.abandoned_threads += delta
            return self.abandoned_threads <= self.max_abandoned_threads

    def __call__(
        self,
        *,
        manual_run: bool = True,
        created_by: int | None = None,
        session_id: str | None = None,
        **_ignored: Any,
    ) -> FullSyncSummary:
        """Run a full sync; with ``session_id`` claim that prepared session, else create one."""
        claimed = self.claim(manual_run=manual_run, created_by=created_by, session_id=session_id)
        if isinstance(claimed, FullSyncSummary):
            return claimed
        return self._run(*claimed, created_by)

    def claim(
        self, *, manual_run: bool, created_by: int | None, session_id: str | None
    ) -> tuple[str, SyncType] | FullSyncSummary:
        """Claim the prepared session (or create and claim one): its id and type, else the
        summary of a run that runs nothing (duplicate delivery, single-flight conflict)."""
        if session_id is None:
            return self._claim_unprepared(manual_run=manual_run, created_by=created_by)
        info = self.sessions.get_session(session_id)
        if info is None:
            raise ValidationError(self.messages.session_not_found, extra={"session_id": session_id})
        if not self.sessions.claim_session(session_id):
            return self._skip(session_id, created_by)
        return info.session_id, info.sync_type

    def _claim_unprepared(
        self, *, manual_run: bool, created_by: int | None
    ) -> tuple[str, SyncType] | FullSyncSummary:
        reap(self.sessions, self.stale_after, self.stalled_after, self.messages)
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
        return info.session_id, sync_type

    def _skip(self, session_id: str, created_by: int | None) -> FullSyncSummary:
        current = self.sessions.get_session(session_id)
        log = ActionLog(logger, ACTION, {"created_by": created_by, "session_id": session_id})
        log.info(self.messages.full_sync_skipped, status=current.status.value if current else None)
        return FullSyncSummary.of(current, claimed=False)

    @traced_run
    def _run(self, session_id: str, sync_type: SyncType, created_by: int | None) -> FullSyncSummary:
        log = ActionLog(logger, ACTION, {"created_by": created_by, "session_id": session_id})
        run = _Run(self, session_id=session_id, sync_type=sync_type, created_by=created_by)
        try:
            instances = list(self.instances.list_active())
            names = [(item.id, fit_name(item.name)) for item in instances]
            self.sessions.add_records(session_id, names)
            log.bind(total_instances=len(instances)).info(self.messages.full_sync_started)
            if not instances:
                log.info(self.messages.full_sync_no_instances)
            run.execute(instances)
            status = run.final_status()
        except BaseException as error:
            # The store may be what failed: then the session is left to the reaper.
            fail_session(self.sessions, session_id, error, log=log, messages=self.messages)
            raise
        self._finish(session_id, status, log)
        final = self.sessions.get_session(session_id)
        summary = FullSyncSummary.of(final, claimed=True)
        log.info(self.messages.full_sync_finished, **summary.log_fields())
        return summary

    def _finish(self, session_id: str, status: SessionStatus, log: ActionLog) -> None:
        """The final write, retried: a dropped connection is replaced by the pool, and a
        failure here would leave every record done but the session running."""
        for attempt in range(1, _FINAL_WRITE_ATTEMPTS + 1):
            try:
                self.sessions.finish_session(session_id, status=status)
                return
            except Exception as error:
                if attempt == _FINAL_WRITE_ATTEMPTS:
                    raise
                log.warning(self.messages.final_write_retried, error=error, attempt=attempt)
                time.sleep(0.1 * attempt)


class _Run(Generic[InstanceT]):
    """One execution: this thread commits (``GroupCommit``) while a dispatching thread, which
    never touches a store, feeds a pool of worker threads."""

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
        self._telemetry = RunTelemetry(session_id)
        self._pool = WorkerPool(
            self._telemetry.wrap(self._sync_one),
            name=f"accounts_sync_worker_{session_id[:8]}",
            on_abandoned_exit=lambda: task._count_abandoned(-1),
        )
        self._tokens = itertools.count()
        # Fixed for the run: every deadline is then later than the ones handed out before it,
        # so ``in_flight`` (a dict, in dispatch order) is also in deadline order.
        self._timeout = task.instance_timeout or float("inf")
        self._slots = task.max_workers  # fewer once stuck threads can no longer be replaced
        self._cancel_at: float | None = None  # when the cancel grace ends

    def final_status(self) -> SessionStatus:
        current = self.task.sessions.get_session(self.session_id)
        cancelled = self.cancelled or (current is not None and current.cancel_requested)
        return rules.implied_status(
            succeeded=self.succeeded, failed=self.failed, cancelled=cancelled
        )

    def execute(self, instances: Sequence[InstanceT]) -> None:
        task = self.task
        books = Bookkeeping(
            sessions=task.sessions,
            instances=task.instances,
            session_id=self.session_id,
            heartbeat_interval=task.heartbeat_interval,
            poll_every=min(task.heartbeat_interval, _CANCEL_POLL),
            on_outcomes=self._telemetry.counter(instances),
        )
        journal = Journal(self._pool.wake)
        dispatcher = threading.Thread(
            target=self._dispatch_all,
            args=(instances, journal),
            name=f"accounts_sync_dispatch_{self.session_id[:8]}",
            daemon=True,
        )
        dispatcher.start()
        try:
            GroupCommit(books, journal, window=task.commit_window).run()
        except BaseException:
            journal.stop()
            # The run is failing (its finalizer marks the session failed); still count the
            # syncs that did succeed, if the instance store is up.
            with contextlib.suppress(Exception):
                books.flush_counts()
            raise
        finally:
            dispatcher.join()
            self._pool.close()
            self.succeeded, self.failed = books.succeeded, books.failed

    def _dispatch_all(self, instances: Sequence[InstanceT], journal: Journal) -> None:
        """The dispatching thread: hand out instances and collect outcomes until none is left
        in flight, or the committing thread stops."""
        pending: deque[InstanceT] = deque(instances)
        in_flight: dict[int, tuple[InstanceT, float]] = {}
        crash: BaseException | None = None
        try:
            while not journal.stopped:
                if self._cancel_at is None:
                    if journal.refused:
                        self._cancel(pending)
                    else:
                        self._dispatch(pending, in_flight, journal)
                if not in_flight:
                    break
                journal.add(self._collect(in_flight, self._wake_at(in_flight)))
                journal.add(self._expire(in_flight))
                if self._cancel_at is not None and time.monotonic() >= self._cancel_at:
                    journal.add(self._give_up(in_flight))
        except BaseException as error:
            crash = error
        finally:
            journal.close(crash)

    def _dispatch(
        self,
        pending: deque[InstanceT],
        in_flight: dict[int, tuple[InstanceT, float]],
        journal: Journal,
    ) -> None:
        if pending and self._slots == 0:
            self._fail_unstarted(pending, journal)
            return
        free = self._slots - len(in_flight)
        if not pending or free <= 0:
            return
        batch = [pending.popleft() for _ in range(min(free, len(pending)))]
        # Queued before the workers get them: the committer starts a record before it closes it.
        journal.start([item.id for item in batch])
        deadline = time.monotonic() + self._timeout
        for item in batch:
            token = next(self._tokens)
            in_flight[token] = (item, deadline)
            self._pool.submit(token, item)
        self._pool.grow(len(in_flight))

    def _fail_unstarted(self, pending: deque[InstanceT], journal: Journal) -> None:
        """No worker is left (every slot's thread is stuck and the abandoned-thread bound is
        reached): fail what has not started instead of spawning more threads."""
        batch = list(pending)
        pending.clear()
        journal.start([item.id for item in batch])
        texts = self.task.messages
        journal.add([_failed(item, texts.no_worker_left, texts, self._log(item)) for item in batch])

    def _cancel(self, pending: deque[InstanceT]) -> None:
        """Cancel requested (or the session was reaped): start nothing more; finalizing turns
        the untouched pending records into cancelled ones. In-flight calls get the grace."""
        self.cancelled = True
        pending.clear()
        if self._cancel_at is None:
            self._cancel_at = time.monotonic() + self.task.cancel_grace

    def _wake_at(self, in_flight: dict[int, tuple[InstanceT, float]]) -> float:
        _, earliest = next(iter(in_flight.values()))  # in deadline order (see ``_timeout``)
        # Finite even without a timeout; the committer wakes this thread sooner when it sees a
        # cancel or stops.
        wake = min(earliest, time.monotonic() + _CANCEL_POLL)
        return wake if self._cancel_at is None else min(wake, self._cancel_at)

    def _collect(
        self, in_flight: dict[int, tuple[InstanceT, float]], wake_at: float
    ) -> list[RecordOutcome]:
        try:
            results = [self._pool.results.get(timeout=max(wake_at - time.monotonic(), 0.0))]
        except queue.Empty:
            return []
        while True:
            try:
                results.append(self._pool.results.get_nowait())
            except queue.Empty:
                break
        return [  # ``None`` is the committer waking this thread, not a result
            result[1]
            for result in results
            if result is not None and in_flight.pop(result[0], None) is not None
        ]

    def _expire(self, in_flight: dict[int, tuple[InstanceT, float]]) -> list[RecordOutcome]:
        now = time.monotonic()
        expired = list(itertools.takewhile(lambda token: in_flight[token][1] <= now, in_flight))
        outcomes = []
        for token in expired:
            item, _ = in_flight.pop(token)
            outcomes.append(self._timed_out(item))
            # Its thread is stuck in the host's code: abandon it, and replace it while the
            # bound on abandoned threads allows; past the bound the run has one slot fewer.
            if self._pool.abandon(token) and not self.task._count_abandoned(+1):
                self._slots -= 1
        return outcomes

    def _give_up(self, in_flight: dict[int, tuple[InstanceT, float]]) -> list[RecordOutcome]:
        """The cancel grace is over: fail what still runs and abandon its threads."""
        texts = self.task.messages
        outcomes = []
        for token, (item, _) in list(in_flight.items()):
            del in_flight[token]
            outcomes.append(_failed(item, texts.cancel_grace_expired, texts, self._log(item)))
            if self._pool.abandon(token):
                self.task._count_abandoned(+1)
        return outcomes

    def _sync_one(self, instance: InstanceT) -> RecordOutcome:
        task = self.task
        texts = task.messages
        context = texts.context_for(instance.name)
        try:
            raw = task.sync_service.sync_accounts(
                instance,
                sync_type=self.sync_type.value,
                session_id=self.session_id,
                created_by=self.created_by,
            )
            success, result = normalize_sync_result(raw, context=context, messages=texts)
            # Redacted and fitted to the columns: one bad value must not fail the whole batch.
            details = storable_details(result)
        except BaseException as error:
            # Not just ``Exception``: a worker that dies without a result (e.g. host code raising
            # SystemExit) would leave the coordinator waiting, heartbeating, forever.
            self._log(instance).warning(texts.instance_sync_error, error=error)
            return RecordOutcome(
                instance_id=instance.id,
                status=RecordStatus.FAILED,
                error_message=storable_error(error),
            )
        if not success:
            # Built only here: a successful instance (the common case) logs nothing.
            self._log(instance).warning(
                texts.instance_sync_failed, result_message=details["message"]
            )
            return RecordOutcome(
                instance_id=instance.id,
                status=RecordStatus.FAILED,
                error_message=details["message"],
                details=details,
            )
        return RecordOutcome(
            instance_id=instance.id,
            status=RecordStatus.COMPLETED,
            items_synced=fit_count(details.get("synced_count")),
            items_created=fit_count(details.get("added_count")),
            items_updated=fit_count(details.get("modified_count")),
            items_deleted=fit_count(details.get("removed_count")),
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
        return _failed(
            instance,
            texts.instance_timeout,
            texts,
            self._log(instance),
            timeout_seconds=self.task.instance_timeout,
        )


def _failed(
    instance: Any, template: str, texts: Messages, log: ActionLog, **fields: Any
) -> RecordOutcome:
    """A failed outcome whose message is ``template`` about ``instance``, logged once."""
    message = fit_text(template.format(context=texts.context_for(instance.name)))
    log.warning(message, **fields)
    return RecordOutcome(instance_id=instance.id, status=RecordStatus.FAILED, error_message=message)
