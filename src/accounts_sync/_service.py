"""The three actions a host calls."""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any, Generic, TypeVar

import attrs

from ._bounds import fit_text, storable_details
from ._checks import at_least, seconds
from ._enums import SyncCategory, SyncType
from ._errors import ConflictError, NotFoundError, ValidationError
from ._full_sync import DEFAULT_STALE_AFTER, FullSyncTask
from ._instrumentation import traced_launch, traced_prepare, traced_single
from ._jobs import FullSyncJob, fail_session, reap, run_full_sync_job
from ._launchers import ThreadLauncher
from ._messages import Messages, hand_messages
from ._normalize import normalize_sync_result
from ._observability import ActionLog
from ._sessions import SyncSessionInfo
from ._telemetry import DB_SYSTEM, capture_context, set_attribute
from .ports import (
    InstanceRepository,
    Launcher,
    SupportsAccountSync,
    SupportsInstance,
    SyncSessionRepository,
    SyncTask,
)

__all__ = [
    "AccountsSyncActionResult",
    "AccountsSyncActionsService",
    "AccountsSyncBackgroundLaunchResult",
    "AccountsSyncBackgroundPreparedSession",
]

logger = logging.getLogger(__name__)

SINGLE_ACTION = "sync_instance_accounts"
PREPARE_ACTION = "prepare_background_full_sync"
LAUNCH_ACTION = "launch_background_full_sync"

InstanceT = TypeVar("InstanceT", bound=SupportsInstance)


@attrs.frozen
class AccountsSyncBackgroundPreparedSession:
    """A prepared (pending, not yet committed) full-sync session."""

    session_id: str
    active_instance_count: int
    created_by: int | None = None


@attrs.frozen
class AccountsSyncBackgroundLaunchResult:
    """A launched full sync; ``thread_name`` is a thread name or an engine's task id."""

    session_id: str
    active_instance_count: int
    thread_name: str


@attrs.frozen
class AccountsSyncActionResult:
    """The normalized, redacted outcome of a single-instance sync."""

    success: bool
    message: str
    result: dict[str, Any]


class AccountsSyncActionsService(Generic[InstanceT]):
    """Validates, records and launches account syncs; the host plugs in the work and the stores.

    ``sessions`` is where prepare writes (it may be bound to the caller's transaction);
    ``background_sessions`` (default: ``sessions``) is what the background job uses, so with a
    transaction-bound ``sessions`` pass a standalone store here. ``instance_timeout`` bounds
    :meth:`sync_instance_accounts` (default: no bound); the full sync's own bound is the
    task's (``FullSyncTask(instance_timeout=900)`` by default). A timed-out call keeps its
    thread until it returns; while ``max_abandoned_calls`` (default 8) of them still run, the
    action refuses new calls with ``Messages.too_many_stuck_calls`` instead of adding threads.
    """

    def __init__(
        self,
        *,
        sync_service: SupportsAccountSync[InstanceT],
        instances: InstanceRepository[InstanceT],
        sessions: SyncSessionRepository,
        sync_task: SyncTask | None = None,
        launcher: Launcher | None = None,
        messages: Messages | None = None,
        allow_concurrent_full_sync: bool = False,
        stale_after: dt.timedelta = DEFAULT_STALE_AFTER,
        background_sessions: SyncSessionRepository | None = None,
        instance_timeout: float | None = None,
        max_abandoned_calls: int = 8,
    ) -> None:
        seconds("instance_timeout", instance_timeout, optional=True)
        at_least("max_abandoned_calls", max_abandoned_calls, 0)
        self.sync_service = sync_service
        self.instances = instances
        self.sessions = sessions
        # Background work must never share the request's transaction: a store bound to it is
        # paired with a standalone one for the task, the job wrapper and launch failures.
        self.background_sessions = background_sessions or sessions
        self.messages = messages or Messages()
        self.sync_task: SyncTask = sync_task or FullSyncTask(
            instances=instances,
            sessions=self.background_sessions,
            sync_service=sync_service,
            messages=self.messages,
            stale_after=stale_after,
        )
        # One language switch: a task or sync service without its own catalogue speaks ours.
        hand_messages(self.sync_task, self.messages)
        hand_messages(sync_service, self.messages)
        self.launcher: Launcher = launcher or ThreadLauncher()
        self.allow_concurrent_full_sync = allow_concurrent_full_sync
        self.stale_after = stale_after
        self.instance_timeout = instance_timeout
        self._abandoned = _AbandonedCalls(max_abandoned_calls)

    @traced_prepare
    def prepare_background_full_sync(
        self, *, created_by: int | None = None
    ) -> AccountsSyncBackgroundPreparedSession:
        """Reap stale sessions, check there is work, and create a ``pending`` session.

        In a store bound to the caller's transaction, the session is not committed: commit, then
        call :meth:`launch_background_full_sync`.
        """
        log = ActionLog(logger, PREPARE_ACTION, {"created_by": created_by})
        stalled_after = getattr(self.sync_task, "stalled_after", None)
        reaped = reap(self.sessions, self.stale_after, stalled_after, self.messages, log=log)
        if reaped:
            log.bind(session_ids=reaped).warning(self.messages.sessions_reaped)
        exclusive = not self.allow_concurrent_full_sync
        # The lock first, by its index: a prepare that will conflict answers at once, without
        # counting a large fleet. The create below still settles a race atomically.
        holder = self.sessions.get_active_session(SyncCategory.ACCOUNT) if exclusive else None
        if holder is not None:
            raise self._already_running(ConflictError.held_by(holder.session_id))
        active = self.instances.count_active()
        if active <= 0:
            raise ValidationError(self.messages.no_active_instances)
        try:
            info = self.sessions.create_session(
                sync_type=SyncType.MANUAL_TASK,
                sync_category=SyncCategory.ACCOUNT,
                created_by=created_by,
                exclusive=exclusive,
            )
        except ConflictError as conflict:
            raise self._already_running(conflict) from None
        log.bind(session_id=info.session_id, active_instance_count=active).info(
            self.messages.full_sync_prepared
        )
        return AccountsSyncBackgroundPreparedSession(info.session_id, active, created_by)

    def _already_running(self, conflict: ConflictError) -> ConflictError:
        """The store's conflict, worded for the caller (the holder's id kept)."""
        return ConflictError(self.messages.full_sync_already_running, extra=conflict.extra)

    @traced_launch
    def launch_background_full_sync(
        self, *, created_by: int | None = None, prepared: AccountsSyncBackgroundPreparedSession
    ) -> AccountsSyncBackgroundLaunchResult:
        """Hand the prepared session to the launcher and return at once.

        ``created_by`` defaults to the one the session was prepared with. If the launcher
        cannot start, the session is marked ``failed`` and the error re-raised.
        """
        if created_by is None:
            created_by = prepared.created_by
        job = FullSyncJob(
            session_id=prepared.session_id,
            created_by=created_by,
            manual_run=True,
            trace_context=capture_context(),
        )
        run = partial(
            run_full_sync_job,
            sync_task=self.sync_task,
            sessions=self.background_sessions,
            messages=self.messages,
        )
        try:
            name = self.launcher.launch(job, run)
        except Exception as error:
            log = ActionLog(
                logger,
                LAUNCH_ACTION,
                {"created_by": created_by, "session_id": prepared.session_id},
            )
            log.error(self.messages.background_launch_failed, error=error)
            # The launcher's error is what the caller gets, whatever the store does.
            fail_session(
                self.background_sessions,
                prepared.session_id,
                error,
                log=log,
                messages=self.messages,
            )
            raise
        return AccountsSyncBackgroundLaunchResult(
            prepared.session_id, prepared.active_instance_count, str(name)
        )

    def wait(
        self, session_id: str, *, timeout: float = 60.0, interval: float = 0.1
    ) -> SyncSessionInfo:
        """Poll the session every ``interval`` seconds until it is terminal, and return it.

        ``NotFoundError`` for an unknown id; ``TimeoutError`` when it is still pending or
        running after ``timeout`` seconds (the session itself goes on). It reads through
        ``background_sessions``: a store bound to the caller's transaction would not see the
        background job's commits.
        """
        deadline = time.monotonic() + timeout
        while True:
            info = self.background_sessions.get_session(session_id)
            if info is None:
                raise NotFoundError(self.messages.session_not_found)
            if info.is_terminal:
                return info
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"session {session_id} still {info.status} after {timeout} s")
            time.sleep(min(interval, remaining))

    @traced_single
    def sync_instance_accounts(
        self, *, instance_id: int, actor_id: int | None = None, sync_type: str = "manual_single"
    ) -> AccountsSyncActionResult:
        """Sync one instance now (disabled instances included) and return a clean result."""
        if isinstance(instance_id, bool) or not isinstance(instance_id, int) or instance_id <= 0:
            raise ValidationError(
                self.messages.invalid_instance_id, extra={"instance_id": repr(instance_id)}
            )
        instance = self.instances.get(instance_id)
        if instance is None:
            raise NotFoundError(
                self.messages.instance_not_found, extra={"instance_id": instance_id}
            )
        log = ActionLog(
            logger,
            SINGLE_ACTION,
            {
                "actor_id": actor_id,
                "instance_id": instance.id,
                "instance_name": instance.name,
                "db_type": instance.db_type,
                "host": instance.host,
            },
        )
        texts = self.messages
        set_attribute(DB_SYSTEM, str(instance.db_type))
        log.info(texts.instance_sync_started, sync_type=sync_type)
        raw, unfinished = self._call(instance, sync_type, log)
        if unfinished is not None:
            log.error(
                texts.instance_sync_failed,
                error_type="Timeout",
                error_message=unfinished,
                timeout_seconds=self.instance_timeout,
            )
            return AccountsSyncActionResult(
                False, unfinished, {"success": False, "message": unfinished}
            )
        success, result = normalize_sync_result(
            raw, context=texts.context_for(instance.name), messages=texts
        )
        # Redacted and fitted once, before anything logs or keeps it: a 100 MB message is cut
        # here, not copied into every log line and the returned result.
        result = storable_details(result)
        message = fit_text(result.get("message"))
        if success:
            self.instances.increment_sync_count(instance.id)
            log.info(texts.instance_sync_succeeded, synced_count=result.get("synced_count"))
        else:
            log.error(texts.instance_sync_failed, error_type="SyncFailed", error_message=message)
        return AccountsSyncActionResult(success, message, result)

    def _call(self, instance: InstanceT, sync_type: str, log: ActionLog) -> tuple[Any, str | None]:
        """``(raw result, None)``, or ``(None, message)`` when the call timed out (it goes on,
        abandoned, on its daemon thread: its result is never counted) or was refused because
        too many timed-out calls still run (each keeps a thread until it returns)."""
        texts = self.messages
        context = texts.context_for(instance.name)
        if self.instance_timeout is not None and self._abandoned.full():
            return None, texts.too_many_stuck_calls.format(context=context)
        try:
            finished, raw = _bounded(
                partial(self.sync_service.sync_accounts, instance, sync_type=sync_type),
                self.instance_timeout,
                self._abandoned,
            )
        except Exception as error:
            log.error(texts.instance_sync_error, error=error)
            raise
        return (raw, None) if finished else (None, texts.instance_timeout.format(context=context))


class _AbandonedCalls:
    """How many timed-out single-instance calls still run on their threads, and the bound."""

    def __init__(self, bound: int) -> None:
        self.bound = bound
        self.running = 0
        self._lock = threading.Lock()

    def full(self) -> bool:
        with self._lock:
            return self.running >= self.bound

    def add(self, step: int) -> None:
        with self._lock:
            self.running += step


def _bounded(
    call: Callable[[], Any], timeout: float | None, abandoned: _AbandonedCalls
) -> tuple[bool, Any]:
    """``(True, call())``, run on a daemon thread when ``timeout`` is set; ``(False, None)``
    when it is still running after ``timeout`` seconds (then counted in ``abandoned`` until it
    returns). The call's exception is re-raised."""
    if timeout is None:
        return True, call()
    box: dict[str, Any] = {}
    lock = threading.Lock()

    def body() -> None:
        try:
            box["value"] = call()
        except BaseException as error:  # handed to the caller below
            box["error"] = error
        with lock:
            if box.pop("abandoned", False):
                abandoned.add(-1)
            box["done"] = True

    # In the caller's context: the call's spans nest under the action's (telemetry).
    run = contextvars.copy_context().run
    thread = threading.Thread(target=run, args=(body,), name="accounts_sync_single", daemon=True)
    thread.start()
    thread.join(timeout)
    with lock:
        if "done" not in box:
            box["abandoned"] = True
            abandoned.add(+1)
            return False, None
    if "error" in box:
        raise box["error"]
    return True, box.get("value")
