"""The spans and metrics of each core operation, hooked in at its existing log points.

Every hook here costs one check when telemetry is off (see :mod:`._telemetry`): the decorators
call the function straight through and :meth:`RunTelemetry.wrap` hands back the function
itself.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any, ParamSpec, TypeVar

from ._enums import RecordStatus, SessionStatus
from ._sessions import FullSyncJob, RecordOutcome
from ._telemetry import (
    DB_SYSTEM,
    INSTANCE_ID,
    INSTANCE_SYNC_DURATION,
    INSTANCE_SYNCS,
    OUTCOME,
    SESSION_ID,
    SESSION_STATUS,
    SESSIONS_FINISHED,
    SESSIONS_REAPED,
    SESSIONS_RUNNING,
    SYNC_TYPE,
    SYNCED_COUNT,
    ActiveSpan,
    Attributes,
    attached,
    current,
    enabled,
    measure,
    span,
)
from .ports import SupportsInstance

__all__ = [
    "APPLY_SPAN",
    "CHUNK_SPAN",
    "COLLECT_SPAN",
    "INSTANCE_SPAN",
    "JOB_SPAN",
    "LAUNCH_SPAN",
    "PREPARE_SPAN",
    "RUN_SPAN",
    "SINGLE_SPAN",
    "RunTelemetry",
    "chunk_span",
    "job_span",
    "sessions_ended",
    "sessions_reaped",
    "traced",
    "traced_launch",
    "traced_prepare",
    "traced_run",
    "traced_single",
]

P = ParamSpec("P")
R = TypeVar("R")
InstanceT = TypeVar("InstanceT", bound=SupportsInstance)

PREPARE_SPAN = "accounts_sync.prepare"
LAUNCH_SPAN = "accounts_sync.launch"
JOB_SPAN = "accounts_sync.job"
RUN_SPAN = "accounts_sync.full_sync"
CHUNK_SPAN = "accounts_sync.full_sync.chunk"
INSTANCE_SPAN = "accounts_sync.instance.sync"
SINGLE_SPAN = "accounts_sync.sync_instance"
COLLECT_SPAN = "accounts_sync.collect"
APPLY_SPAN = "accounts_sync.ledger.apply"

_SYNC_FAILED = "SyncFailed"  # error.type of a sync that returned a failure without raising


def traced(
    name: str,
    opening: Callable[..., Attributes],
    closing: Callable[[Any, ActiveSpan], None] | None = None,
    *,
    failure: Callable[[BaseException], tuple[str, str]] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run the decorated function in a span named ``name``.

    ``opening`` takes the function's arguments and returns the span's first attributes;
    ``closing`` sees the result and the span; ``failure`` turns an escaping exception into the
    ``(error type, message)`` the span fails with (default: its type and redacted text).
    """

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if not enabled():
                return function(*args, **kwargs)
            with span(name, opening(*args, **kwargs)) as active:
                try:
                    result = function(*args, **kwargs)
                except BaseException as error:
                    if failure is not None and active is not None:
                        active.fail(*failure(error))
                    raise
                if closing is not None and active is not None:
                    closing(result, active)
                return result

        return wrapper

    return decorate


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: object, limit: int = 64) -> str:
    return str(value)[:limit]


# -- the actions service -----------------------------------------------------------------------


def _no_attributes(*_args: Any, **_kwargs: Any) -> Attributes:
    return {}


def _prepared(result: Any, active: ActiveSpan) -> None:
    active.set_attributes({SESSION_ID: result.session_id})


def _launching(*_args: Any, prepared: Any = None, **_kwargs: Any) -> Attributes:
    session_id = getattr(prepared, "session_id", None)
    return {SESSION_ID: session_id} if isinstance(session_id, str) else {}


def _single_opening(
    *_args: Any, instance_id: object = None, sync_type: object = "manual_single", **_kw: Any
) -> Attributes:
    attributes: dict[str, Any] = {SYNC_TYPE: _text(sync_type)}
    if _int(instance_id) is not None:
        attributes[INSTANCE_ID] = instance_id
    return attributes


def _single_closing(result: Any, active: ActiveSpan) -> None:
    synced = _int(result.result.get("synced_count"))
    attributes: dict[str, Any] = {OUTCOME: "completed" if result.success else "failed"}
    if synced is not None:
        attributes[SYNCED_COUNT] = synced
    active.set_attributes(attributes)
    if not result.success:
        active.fail(active.error_type or _SYNC_FAILED, result.message)


traced_prepare = traced(PREPARE_SPAN, _no_attributes, _prepared)
traced_launch = traced(LAUNCH_SPAN, _launching)
traced_single = traced(SINGLE_SPAN, _single_opening, _single_closing)


# -- the background job and the full-sync run ----------------------------------------------------


@contextlib.contextmanager
def job_span(job: FullSyncJob) -> Iterator[None]:
    """The background job's span, continuing the trace the job was launched in."""
    with attached(job.trace_context), span(JOB_SPAN, {SESSION_ID: job.session_id}):
        yield


def chunk_span(session_id: str, instances: int) -> AbstractContextManager[ActiveSpan | None]:
    """A fan-out chunk's span, in the trace its task message carries: its instances' parent."""
    return span(CHUNK_SPAN, {SESSION_ID: session_id, "accounts_sync.total_instances": instances})


def _run_opening(_task: Any, session_id: str, sync_type: Any, *_args: Any) -> Attributes:
    return {SESSION_ID: session_id, SYNC_TYPE: _text(getattr(sync_type, "value", sync_type))}


def _run_closing(summary: Any, active: ActiveSpan) -> None:
    if summary.status is None:
        return
    status = SessionStatus(summary.status)
    active.set_attributes(
        {
            OUTCOME: status.value,
            "accounts_sync.total_instances": summary.total_instances,
            "accounts_sync.successful_instances": summary.successful_instances,
            "accounts_sync.failed_instances": summary.failed_instances,
        }
    )
    if status.is_terminal:
        sessions_ended(status)
    if status is SessionStatus.FAILED:
        failed = f"{summary.failed_instances} of {summary.total_instances} instances failed"
        active.fail(_SYNC_FAILED, failed)


def traced_run(function: Callable[P, R]) -> Callable[P, R]:
    """The full-sync run's span, and the count of runs in progress."""
    inner = traced(RUN_SPAN, _run_opening, _run_closing)(function)

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if not enabled():
            return function(*args, **kwargs)
        measure(SESSIONS_RUNNING, 1)
        try:
            return inner(*args, **kwargs)
        finally:
            measure(SESSIONS_RUNNING, -1)

    return wrapper


class RunTelemetry:
    """One run's per-instance telemetry: each instance's span, a child of the run's span
    although it runs on a worker thread, with its duration; and the instance-sync counter,
    fed with the outcomes exactly as the session counts them."""

    def __init__(self, session_id: str) -> None:
        self.parent = current()  # the run's span: worker threads do not inherit it
        self.session_id = session_id

    def wrap(
        self, sync_one: Callable[[InstanceT], RecordOutcome]
    ) -> Callable[[InstanceT], RecordOutcome]:
        """``sync_one`` in an instance span (``sync_one`` itself when telemetry is off)."""
        if not enabled():
            return sync_one

        def traced_sync(instance: InstanceT) -> RecordOutcome:
            engine = _text(instance.db_type)
            # The sync type is the run's: its span has it, once.
            attributes: Attributes = {
                SESSION_ID: self.session_id,
                INSTANCE_ID: instance.id,
                DB_SYSTEM: engine,
            }
            started = time.perf_counter()
            with span(INSTANCE_SPAN, attributes, parent=self.parent) as active:
                outcome = sync_one(instance)
                if active is not None:
                    _instance_closing(outcome, active)
            measure(INSTANCE_SYNC_DURATION, time.perf_counter() - started, {DB_SYSTEM: engine})
            return outcome

        return traced_sync

    def counter(
        self, instances: Iterable[SupportsInstance]
    ) -> Callable[[list[RecordOutcome]], None] | None:
        """What counts the outcomes the run records (``None`` when telemetry is off)."""
        if not enabled():
            return None
        engines = {item.id: _text(item.db_type) for item in instances}

        def count(outcomes: list[RecordOutcome]) -> None:
            tally: dict[tuple[str, str], int] = {}
            for outcome in outcomes:
                key = (outcome.status.value, engines.get(outcome.instance_id, ""))
                tally[key] = tally.get(key, 0) + 1
            for (status, engine), number in tally.items():
                measure(INSTANCE_SYNCS, number, {OUTCOME: status, DB_SYSTEM: engine})

        return count


def _instance_closing(outcome: RecordOutcome, active: ActiveSpan) -> None:
    active.set_attributes({OUTCOME: outcome.status.value, SYNCED_COUNT: outcome.items_synced})
    if outcome.status is RecordStatus.FAILED:
        active.fail(active.error_type or _SYNC_FAILED, outcome.error_message or "")


# -- session ends ------------------------------------------------------------------------------


def sessions_ended(status: SessionStatus, number: int = 1) -> None:
    """Count ``number`` sessions that ended as ``status``."""
    if number:
        measure(SESSIONS_FINISHED, number, {SESSION_STATUS: status.value})


def sessions_reaped(session_ids: list[str]) -> list[str]:
    """Count the sessions the reaper failed (they also end ``failed``); returns them."""
    if session_ids:
        measure(SESSIONS_REAPED, len(session_ids))
        sessions_ended(SessionStatus.FAILED, len(session_ids))
    return session_ids
