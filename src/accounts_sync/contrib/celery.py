"""Celery integration: a launcher for the web side, a task for the worker side.

Install with ``pip install "accounts-sync[celery]"``. The web process sends each full-sync job to
the task named ``accounts_sync._full_sync`` with the session id as the Celery task id; the worker
runs it through :func:`accounts_sync._jobs.run_full_sync_job`, exactly as the in-process launchers
do. The session row, not the broker, is the source of truth: a duplicate delivery finds the
session no longer ``pending`` and does nothing.

With ``register_full_sync_task(..., fan_out=True)`` the full-sync task only claims the
session, adds its records and sends one chunk task (``accounts_sync._full_sync_chunk``) per
``chunk_size`` instances; any worker process on any machine runs the chunks (see
:class:`~accounts_sync._fan_out.FanOut`). The web side does not change.

The library never configures logging: set ``worker_hijack_root_logger=False`` in the Celery
configuration so the worker keeps the host's root handlers.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from .._fan_out import CHUNK_ACTION, DEFAULT_CHUNK_SIZE, FanOut, FanOutChunk
from .._full_sync import FullSyncSummary, FullSyncTask
from .._jobs import BACKGROUND_ACTION, FullSyncJob, run_full_sync_job
from .._observability import ActionLog
from .._service import AccountsSyncActionsService
from .._telemetry import attached, capture_context
from ._celery_trace import request_trace, with_trace
from ._extras import require

__all__ = [
    "DEFAULT_CHUNK_TASK_NAME",
    "DEFAULT_TASK_NAME",
    "CeleryLauncher",
    "full_sync_beat_entry",
    "register_full_sync_task",
    "run_fan_out_chunk_payload",
    "run_full_sync_payload",
]

# The module itself only talks to the app it is given, but nothing here works without Celery.
require("celery", extra="celery", integration=__name__)

logger = logging.getLogger(__name__)

DEFAULT_TASK_NAME = "accounts_sync._full_sync"
DEFAULT_CHUNK_TASK_NAME = "accounts_sync._full_sync_chunk"

ServiceFactory = Callable[[], AccountsSyncActionsService[Any]]

T = TypeVar("T")


class CeleryLauncher:
    """A ``Launcher`` that sends ``job.as_dict()`` to the full-sync task; returns the task id.

    ``app_or_task`` is either the registered task (its ``apply_async`` is used) or a Celery app
    (``send_task`` by ``task_name``, so the web process need not import the worker's code).
    ``options`` go to every send (``queue``, ``priority``, ``expires``, ``headers`` …). The
    task id is always the session id. A broker that cannot be reached raises, and the service
    then marks the session ``failed``.
    """

    def __init__(
        self, app_or_task: Any, *, task_name: str = DEFAULT_TASK_NAME, **options: Any
    ) -> None:
        if "task_id" in options:
            raise TypeError("CeleryLauncher always uses the session id as the task id")
        if not hasattr(app_or_task, "apply_async") and not hasattr(app_or_task, "send_task"):
            raise TypeError("CeleryLauncher needs a Celery app or a registered Celery task")
        self.target = app_or_task
        self.task_name = task_name
        self.options = options

    def launch(self, job: FullSyncJob, run: Callable[[FullSyncJob], None]) -> str:
        # ``run`` is the local wrapper; the worker runs its own copy, so it is not sent.
        payload = job.as_dict()
        options = with_trace(self.options, job.trace_context)
        if hasattr(self.target, "apply_async"):
            result = self.target.apply_async(args=(payload,), task_id=job.session_id, **options)
        else:
            result = self.target.send_task(
                self.task_name, args=(payload,), task_id=job.session_id, **options
            )
        return str(result.id)


class _PerProcess(Generic[T]):
    """Builds a value on first use, once per process (a forked pool child builds its own)."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        # Only ever held while the factory runs inside a task, never across a fork: the
        # prefork pool forks its children before any task, so a child never inherits it held.
        self._lock = threading.Lock()
        self._built: tuple[int, T] | None = None

    def __call__(self) -> T:
        pid = os.getpid()
        built = self._built
        if built is not None and built[0] == pid:
            return built[1]
        with self._lock:
            built = self._built
            if built is None or built[0] != pid:
                built = (pid, self._factory())
                self._built = built
            return built[1]


def run_full_sync_payload(
    payload: Mapping[str, Any] | None,
    service: AccountsSyncActionsService[Any],
    *,
    fan_out: FanOut[Any] | None = None,
) -> dict[str, Any] | None:
    """Run one task message on the worker and return the summary as a dict.

    Errors of the run are logged and recorded, never raised; a malformed payload (no mapping,
    a ``created_by`` that is not an integer) raises ``ValueError`` / ``TypeError``.

    A payload with a ``session_id`` claims that prepared session through
    :func:`~accounts_sync._jobs.run_full_sync_job` (a duplicate delivery returns
    ``claimed=False``). ``None``, or a payload whose ``session_id`` is ``None``, is a scheduled
    run: the task creates its own session (``scheduled_task`` unless ``manual_run`` is true)
    under the single-flight guard. With ``fan_out`` the session is run by it (its chunks are
    sent, and the summary is the running session's) instead of ``service.sync_task``.
    """
    data: Mapping[str, Any] = payload or {}
    summaries: list[object] = []
    run = fan_out or service.sync_task

    def sync_task(
        *, manual_run: bool = True, created_by: int | None = None, session_id: str | None = None
    ) -> object:
        summary = run(manual_run=manual_run, created_by=created_by, session_id=session_id)
        summaries.append(summary)
        return summary

    if data.get("session_id") is not None:
        run_full_sync_job(
            FullSyncJob.from_dict(data),
            sync_task=sync_task,
            sessions=service.sessions,
            messages=service.messages,
        )
    else:
        created_by = data.get("created_by")
        actor = None if created_by is None else int(created_by)
        try:
            sync_task(manual_run=bool(data.get("manual_run", False)), created_by=actor)
        except Exception as error:
            # The task has already failed its own session; log once, like the wrapper does.
            log = ActionLog(logger, BACKGROUND_ACTION, {"created_by": actor, "session_id": None})
            log.error(service.messages.background_failed, error=error)
    return _summary_dict(summaries[0]) if summaries else None


def run_fan_out_chunk_payload(
    payload: Mapping[str, Any], fan_out: FanOut[Any]
) -> dict[str, Any] | None:
    """Run one chunk message on the worker and return what it did as a dict; errors are
    logged (and fail the session, see :meth:`~accounts_sync._fan_out.FanOut.run_chunk`),
    never raised. A malformed payload raises ``KeyError`` / ``ValueError`` / ``TypeError``."""
    chunk = FanOutChunk.from_dict(payload)
    try:
        return fan_out.run_chunk(chunk).as_dict()
    except Exception as error:
        context = {"created_by": chunk.created_by, "session_id": chunk.session_id}
        log = ActionLog(logger, CHUNK_ACTION, context)
        log.error(fan_out.messages.background_failed, error=error)
        return None


def _summary_dict(summary: object) -> dict[str, Any] | None:
    if not isinstance(summary, FullSyncSummary):
        return None
    return {
        "session_id": summary.session_id,
        "status": None if summary.status is None else summary.status.value,
        "total_instances": summary.total_instances,
        "successful_instances": summary.successful_instances,
        "failed_instances": summary.failed_instances,
        "cancelled_instances": summary.cancelled_instances,
        "claimed": summary.claimed,
    }


def register_full_sync_task(
    app: Any,
    factory: ServiceFactory,
    *,
    name: str = DEFAULT_TASK_NAME,
    acks_late: bool = True,
    fan_out: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    lease: dt.timedelta | None = None,
    chunk_name: str = DEFAULT_CHUNK_TASK_NAME,
    **task_options: Any,
) -> Any:
    """Register the full-sync task on ``app`` and return it.

    ``factory()`` builds the worker's :class:`~accounts_sync.AccountsSyncActionsService` (its
    ``sync_task``, ``sessions`` and ``messages`` are used) lazily, on the first task, once per
    worker process. Build it on standalone stores: the worker never shares a web request's
    session. ``acks_late=True`` acknowledges the message only when the task returns, so a
    message whose worker died is redelivered; the claim step makes that redelivery harmless.
    ``task_options`` go to ``app.task`` (``soft_time_limit``, ``rate_limit`` …; route it to a
    queue with the ``task_routes`` setting). The task takes one
    optional positional argument, the job payload, and returns the summary as a dict.

    ``fan_out=True`` also registers the chunk task ``chunk_name`` (always ``acks_late`` and
    ``reject_on_worker_lost``, so a chunk whose process died is delivered again): the
    full-sync task then splits the session into chunks of ``chunk_size`` instances, each run
    by whichever worker process takes it, with ``max_workers`` threads of the service's
    ``FullSyncTask``; a record is claimed again once ``lease`` has passed since its claim
    and the session's last heartbeat (default: half the task's ``stale_after``, see
    :class:`~accounts_sync._fan_out.FanOut`). The service's session store must support
    record claims (the SQLAlchemy and Django stores do).
    """
    if not callable(factory):
        raise TypeError("register_full_sync_task needs a factory returning the service")
    service = _PerProcess(factory)
    runner: _PerProcess[FanOut[Any]] | None = None
    if fan_out:
        runner = _PerProcess(lambda: _fan_out_for(service(), app, chunk_name, chunk_size, lease))
        _register_chunk_task(app, runner, chunk_name, task_options)

    def full_sync(payload: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        # The worker's spans continue the trace of the request that launched the job.
        with attached(request_trace(task)):
            return run_full_sync_payload(
                payload, service(), fan_out=None if runner is None else runner()
            )

    full_sync.__doc__ = "Run one accounts_sync full sync (a prepared session, or a scheduled run)."
    # Not shared: a shared task would be copied into every Celery app created later, each copy
    # closing over this app's factory.
    options = {"shared": False, **task_options}
    task = app.task(name=name, acks_late=acks_late, **options)(full_sync)
    return task


def _register_chunk_task(
    app: Any, runner: _PerProcess[FanOut[Any]], name: str, task_options: Mapping[str, Any]
) -> Any:
    def full_sync_chunk(payload: Mapping[str, Any]) -> dict[str, Any] | None:
        with attached(request_trace(chunk_task)):
            return run_fan_out_chunk_payload(payload, runner())

    full_sync_chunk.__doc__ = "Run one chunk of an accounts_sync fan-out full sync."
    options = {"shared": False, **task_options, "acks_late": True, "reject_on_worker_lost": True}
    chunk_task = app.task(name=name, **options)(full_sync_chunk)
    return chunk_task


def _fan_out_for(
    service: AccountsSyncActionsService[Any],
    app: Any,
    chunk_name: str,
    chunk_size: int,
    lease: dt.timedelta | None,
) -> FanOut[Any]:
    task = service.sync_task
    if not isinstance(task, FullSyncTask):
        raise TypeError("fan_out=True runs the service's FullSyncTask; this service has another")

    def send(chunk: FanOutChunk, delay: float) -> None:
        # Each chunk's spans continue the trace of the full sync that sent it.
        options = with_trace({"countdown": delay or None}, capture_context())
        app.send_task(chunk_name, args=(chunk.as_dict(),), **options)

    return FanOut(task, send=send, chunk_size=chunk_size, lease=lease)


def full_sync_beat_entry(
    schedule: Any, *, task_name: str = DEFAULT_TASK_NAME, **options: Any
) -> dict[str, Any]:
    """A ``beat_schedule`` entry for the scheduled full sync (``session_id=None``).

    ``schedule`` is anything beat accepts (seconds, ``timedelta``, ``crontab(...)``); ``options``
    become the entry's ``options`` (e.g. ``queue``, ``expires``).
    """
    entry: dict[str, Any] = {
        "task": task_name,
        "schedule": schedule,
        "args": ({"session_id": None, "created_by": None, "manual_run": False},),
    }
    if options:
        entry["options"] = options
    return entry
