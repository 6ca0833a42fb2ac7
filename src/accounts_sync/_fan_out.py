"""Fan-out full syncs: one session split into chunks of instances that any process may run.

The session and its records, not the engine, are the source of truth: a chunk claims its
records by compare-and-set (``SupportsRecordClaims``), runs what it claimed exactly as the
thread mode runs instances (``_Run``: timeouts, cancel grace, heartbeats, counts, redaction,
logging), and the chunk that settles the last record finishes the session.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import attrs

from . import _lifecycle as rules
from ._bounds import fit_name, fit_text
from ._checks import at_least
from ._clock import utc_now
from ._enums import RecordStatus, SessionStatus, SyncType
from ._full_sync import (
    ACTION,
    FullSyncSummary,
    FullSyncTask,
    _Run,
)
from ._instrumentation import chunk_span
from ._jobs import fail_session
from ._messages import Messages
from ._observability import ActionLog
from ._sessions import RecordOutcome
from .ports import (
    SupportsGetMany,
    SupportsInstance,
    SupportsRecordClaims,
    SyncSessionRepository,
)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "ChunkResult",
    "FanOut",
    "FanOutChunk",
    "SendChunk",
    "finish_if_settled",
]

logger = logging.getLogger(__name__)

InstanceT = TypeVar("InstanceT", bound=SupportsInstance)

DEFAULT_CHUNK_SIZE = 50
"""Instances per chunk: a few store round trips per chunk, small enough to spread well."""
CHUNK_ACTION = "sync_all_accounts_chunk"


def _int_tuple(values: Sequence[int]) -> tuple[int, ...]:
    return tuple(int(value) for value in values)


@attrs.frozen(kw_only=True)
class FanOutChunk:
    """One chunk's task message: plain data that may cross a process."""

    session_id: str
    instance_ids: tuple[int, ...] = attrs.field(converter=_int_tuple)
    sync_type: SyncType = attrs.field(default=SyncType.MANUAL_TASK, converter=SyncType)
    created_by: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "instance_ids": list(self.instance_ids),
            "sync_type": self.sync_type.value,
            "created_by": self.created_by,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FanOutChunk:
        created_by = data.get("created_by")
        return cls(
            session_id=str(data["session_id"]),
            instance_ids=data["instance_ids"],
            sync_type=data.get("sync_type", SyncType.MANUAL_TASK),
            created_by=None if created_by is None else int(created_by),
        )


SendChunk = Callable[[FanOutChunk, float], object]
"""Queues a chunk for any process to run, after a delay in seconds (an engine's send)."""


@attrs.frozen(kw_only=True)
class ChunkResult:
    """What one chunk run did. ``held`` records ran under another claim (a duplicate delivery
    or a lost chunk): they were sent again, to run after ``retry_after`` seconds, when that
    claim's lease ends. ``finished`` is the status this run finished the session with."""

    session_id: str
    claimed: int = 0
    held: tuple[int, ...] = ()
    retry_after: float | None = None
    finished: SessionStatus | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "claimed": self.claimed,
            "held": list(self.held),
            "retry_after": self.retry_after,
            "finished": None if self.finished is None else self.finished.value,
        }


class FanOut(Generic[InstanceT]):
    """A full sync run as chunks of ``chunk_size`` instances, built on a ``FullSyncTask``
    (its stores, sync service, ``max_workers`` threads per chunk, timeouts and texts).

    Calling it (a ``SyncTask``) claims the session, adds its records and hands each chunk to
    ``send(chunk, delay)``, which queues it for any process; there :meth:`run_chunk` runs it.
    A running record is taken for lost, and claimed again, once its claim and the session's
    last heartbeat are both older than ``lease``: every live chunk heartbeats at least once per
    ``heartbeat_interval``, renewing the session's claims. The lease defaults to half the
    task's ``stale_after`` (5 minutes); it must span three heartbeat intervals and at most half
    of ``stale_after`` (``_lifecycle.lease_fits``), so the reaper fails a session whose chunks
    are lost only once their leases have been over for as long as the lease.
    """

    def __init__(
        self,
        task: FullSyncTask[InstanceT],
        *,
        send: SendChunk,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        lease: dt.timedelta | None = None,
    ) -> None:
        at_least("chunk_size", chunk_size, 1)
        if not isinstance(task.sessions, SupportsRecordClaims):
            raise TypeError(
                "a fan-out full sync needs a session store with record claims"
                " (SupportsRecordClaims), such as the SQLAlchemy or Django store"
            )
        lease = rules.default_lease(task.stale_after) if lease is None else lease
        if not rules.lease_fits(
            lease, heartbeat_interval=task.heartbeat_interval, stale_after=task.stale_after
        ):
            raise ValueError(
                f"lease must span {rules.LEASE_HEARTBEATS} heartbeat intervals"
                f" ({task.heartbeat_interval:g} s each) and at most half of stale_after"
                f" ({task.stale_after}), not {lease}"
            )
        self.task = task
        self.send = send
        self.claims: SupportsRecordClaims = task.sessions
        self.chunk_size = chunk_size
        self.lease = lease

    @property
    def messages(self) -> Messages:
        return self.task.messages

    def __call__(
        self,
        *,
        manual_run: bool = True,
        created_by: int | None = None,
        session_id: str | None = None,
        **_ignored: Any,
    ) -> FullSyncSummary:
        """Claim the session (or create one), add its records and send its chunks.

        Nothing is sent for a duplicate delivery or a conflict (``claimed=False``); with no
        instances the session is finished here. A store or send error fails the session and
        is raised.
        """
        task = self.task
        claimed = task.claim(manual_run=manual_run, created_by=created_by, session_id=session_id)
        if isinstance(claimed, FullSyncSummary):
            return claimed
        session_id, sync_type = claimed
        log = ActionLog(logger, ACTION, {"created_by": created_by, "session_id": session_id})
        try:
            instances = list(task.instances.list_active())
            task.sessions.add_records(session_id, [(i.id, fit_name(i.name)) for i in instances])
            ids = [item.id for item in instances]
            chunks = [
                FanOutChunk(
                    session_id=session_id,
                    instance_ids=part,
                    sync_type=sync_type,
                    created_by=created_by,
                )
                for part in rules.batched(ids, self.chunk_size)
            ]
            log.bind(total_instances=len(ids), chunks=len(chunks)).info(
                self.messages.full_sync_started
            )
            if not chunks:
                log.info(self.messages.full_sync_no_instances)
                task.sessions.finish_session(session_id, status=SessionStatus.COMPLETED)
            for chunk in chunks:
                self.send(chunk, 0.0)
        except BaseException as error:
            fail_session(task.sessions, session_id, error, log=log, messages=self.messages)
            raise
        return FullSyncSummary.of(task.sessions.get_session(session_id), claimed=True)

    def run_chunk(self, chunk: FanOutChunk) -> ChunkResult:
        """Claim the chunk's records, run the claimed ones, and finish the session if it has
        settled; records held by another claim are sent again for when its lease ends. A
        store error while claiming or running fails the session and is raised."""
        # The chunk's span parents its instances' spans, in the trace its message carries.
        with chunk_span(chunk.session_id, len(chunk.instance_ids)):
            return self._run_chunk(chunk)

    def _run_chunk(self, chunk: FanOutChunk) -> ChunkResult:
        session_id = chunk.session_id
        log = ActionLog(
            logger, CHUNK_ACTION, {"created_by": chunk.created_by, "session_id": session_id}
        )
        try:
            claim = self.claims.claim_records(session_id, chunk.instance_ids, lease=self.lease)
            if claim is not None and self._execute(chunk, claim.claimed, log):
                # Cancelled: what this chunk claimed but never started goes back to pending,
                # so the cancelled session counts it as cancelled, as the thread mode does.
                self.claims.release_records(session_id, claim.claimed)
        except BaseException as error:
            fail_session(self.task.sessions, session_id, error, log=log, messages=self.messages)
            raise
        # Not under the handler above: if only this write fails, every record may be done,
        # and the session must not end failed; the reaper settles it (``settle_sessions``).
        finished = finish_if_settled(self.task.sessions, session_id, messages=self.messages)
        if claim is None:
            # Cancelled, or over: this chunk started nothing.
            log.info(self.messages.full_sync_skipped, instances=len(chunk.instance_ids))
            return ChunkResult(session_id=session_id, finished=finished)
        retry_after = None
        if claim.held and claim.held_until is not None and finished is None:
            retry_after = max((claim.held_until - utc_now()).total_seconds(), 0.0)
            self.send(attrs.evolve(chunk, instance_ids=claim.held), retry_after)
        return ChunkResult(
            session_id=session_id,
            claimed=len(claim.claimed),
            held=claim.held,
            retry_after=retry_after,
            finished=finished,
        )

    def _execute(self, chunk: FanOutChunk, claimed: Sequence[int], log: ActionLog) -> bool:
        """Run the claimed instances as the thread mode does; True if it saw a cancel."""
        task = self.task
        instances = self._load(claimed)
        found = {instance.id for instance in instances}
        gone = []
        for instance_id in claimed:
            if instance_id not in found:
                # Deleted since the session started: nothing to sync, and nothing to retry.
                log.bind(instance_id=instance_id).warning(self.messages.instance_not_found)
                gone.append(
                    RecordOutcome(
                        instance_id=instance_id,
                        status=RecordStatus.FAILED,
                        error_message=fit_text(self.messages.instance_not_found),
                    )
                )
        if gone:
            task.sessions.finish_records(chunk.session_id, gone)
        run = _Run(
            task,
            session_id=chunk.session_id,
            sync_type=chunk.sync_type,
            created_by=chunk.created_by,
        )
        run.execute(instances)
        # A cancel seen by the committing thread only (a refused start) leaves the dispatcher
        # unaware when it had already handed out every instance: ask the session too.
        return run.final_status() is SessionStatus.CANCELLED

    def _load(self, instance_ids: Sequence[int]) -> list[InstanceT]:
        """The instances, in the chunk's order: one query when the store can."""
        store = self.task.instances
        if isinstance(store, SupportsGetMany):
            by_id = {item.id: item for item in store.get_many(instance_ids)}
            return [by_id[i] for i in instance_ids if i in by_id]
        fetched = (store.get(instance_id) for instance_id in instance_ids)
        return [item for item in fetched if item is not None]


def finish_if_settled(
    sessions: SyncSessionRepository, session_id: str, *, messages: Messages
) -> SessionStatus | None:
    """Finish a fan-out session that has settled (:func:`~accounts_sync._lifecycle.fan_out_status`)
    and log it; the status if this call finished it, else None.

    Safe to call from every chunk at once: ``finish_session`` is a compare-and-set, so exactly
    one caller finishes the session and logs ``full_sync_finished``.
    """
    info = sessions.get_session(session_id)
    if info is None or info.is_terminal:
        return None
    running = 0
    if info.cancel_requested and isinstance(sessions, SupportsRecordClaims):
        running = sessions.count_running(session_id)
    status = rules.fan_out_status(info, running_records=running)
    if status is None or not sessions.finish_session(session_id, status=status):
        return None
    summary = FullSyncSummary.of(sessions.get_session(session_id), claimed=True)
    log = ActionLog(logger, ACTION, {"created_by": info.created_by, "session_id": session_id})
    log.info(messages.full_sync_finished, **summary.log_fields())
    return status
