"""Thread-safe in-memory repositories, for scripts, demos and tests."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import uuid
from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar

import attrs

from . import _lifecycle as rules
from ._clock import utc_now
from ._enums import RecordStatus, SessionStatus, SyncCategory, SyncType
from ._errors import ConflictError
from ._pages import select_records, select_sessions
from ._sessions import RecordClaim, RecordOutcome, SyncRecordInfo, SyncSessionInfo
from .ports import Clock, SupportsInstance

__all__ = ["InMemoryInstanceRepository", "InMemorySyncSessionRepository"]

InstanceT = TypeVar("InstanceT", bound=SupportsInstance)


class InMemoryInstanceRepository(Generic[InstanceT]):
    """Instances kept in a dict by id.

    ``is_active`` and ``deleted_at`` are read from the objects when present (missing means
    active and not deleted); ``increment_sync_count`` bumps the object's ``sync_count``.
    """

    def __init__(self, instances: Iterable[InstanceT] = ()) -> None:
        self._lock = threading.Lock()
        self._items: dict[int, InstanceT] = {}
        self._counts: dict[int, int] = {}
        for instance in instances:
            self.add(instance)

    def add(self, instance: InstanceT) -> None:
        """Add or replace an instance (by id)."""
        with self._lock:
            self._items[instance.id] = instance

    def count_active(self) -> int:
        with self._lock:
            return sum(1 for item in self._items.values() if _is_active(item))

    def get(self, instance_id: int) -> InstanceT | None:
        with self._lock:
            item = self._items.get(instance_id)
        return None if item is None or _is_deleted(item) else item

    def get_many(self, instance_ids: Sequence[int]) -> list[InstanceT]:
        with self._lock:
            items = [self._items.get(i) for i in sorted(set(instance_ids))]
        return [item for item in items if item is not None and not _is_deleted(item)]

    def list_active(self) -> list[InstanceT]:
        with self._lock:
            active = [item for item in self._items.values() if _is_active(item)]
        return sorted(active, key=lambda item: (item.name, item.id))

    def increment_sync_count(self, instance_id: int) -> None:
        self.increment_sync_counts([instance_id])

    def increment_sync_counts(self, instance_ids: Sequence[int]) -> None:
        with self._lock:
            for instance_id in instance_ids:
                item = self._items.get(instance_id)
                if item is None:
                    continue
                previous = self._counts.get(instance_id, getattr(item, "sync_count", None) or 0)
                count = previous + 1
                self._counts[instance_id] = count
                # A slotted object without the field keeps its count in ``sync_count()`` only.
                with contextlib.suppress(AttributeError, TypeError):
                    object.__setattr__(item, "sync_count", count)

    def sync_count(self, instance_id: int) -> int:
        """How many successful syncs this repository has counted for the instance."""
        with self._lock:
            if instance_id in self._counts:
                return self._counts[instance_id]
            return int(getattr(self._items.get(instance_id), "sync_count", None) or 0)


def _is_deleted(item: object) -> bool:
    return getattr(item, "deleted_at", None) is not None


def _is_active(item: object) -> bool:
    return bool(getattr(item, "is_active", True)) and not _is_deleted(item)


@attrs.define
class _Session:
    session_id: str
    sync_type: SyncType
    sync_category: SyncCategory
    status: SessionStatus
    created_by: int | None
    created_at: dt.datetime
    heartbeat_at: dt.datetime | None = None
    progress_at: dt.datetime | None = None  # when a record last finished
    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    total_instances: int = 0
    successful_instances: int = 0
    failed_instances: int = 0
    cancelled_instances: int = 0
    error_message: str | None = None
    cancel_requested: bool = False
    lock_key: str | None = None
    sequence: int = 0
    # Frozen snapshots, replaced with ``attrs.evolve`` on every change.
    records: dict[int, SyncRecordInfo] = attrs.Factory(dict)

    def info(self) -> SyncSessionInfo:
        return SyncSessionInfo.from_row(attrs.asdict(self, recurse=False))


class InMemorySyncSessionRepository:
    """Sessions and records in memory; one lock makes every method atomic.

    It applies the lifecycle rules (``accounts_sync._lifecycle``) directly.
    """

    def __init__(self, *, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or utc_now
        self._lock = threading.RLock()
        self._sessions: dict[str, _Session] = {}
        self._locks: dict[str, str] = {}
        self._next_record_id = 1

    def create_session(
        self,
        *,
        sync_type: SyncType | str,
        sync_category: SyncCategory | str,
        created_by: int | None,
        exclusive: bool = True,
    ) -> SyncSessionInfo:
        kind, category = SyncType(sync_type), SyncCategory(sync_category)
        lock_key = rules.lock_key_for(category, exclusive=exclusive)
        with self._lock:
            if lock_key is not None:
                holder = rules.conflict_holder(
                    (other.session_id, other.lock_key, other.created_at, other.sequence)
                    for other in self._sessions.values()
                    if other.sync_category is category
                    and other.status in rules.ACTIVE_SESSION_STATUSES
                )
                if holder is not None:
                    raise ConflictError.held_by(holder)
            session = _Session(
                session_id=str(uuid.uuid4()),
                sync_type=kind,
                sync_category=category,
                status=SessionStatus.PENDING,
                created_by=created_by,
                created_at=self.clock(),
                lock_key=lock_key,
                sequence=len(self._sessions),
            )
            self._sessions[session.session_id] = session
            if lock_key is not None:
                self._locks[lock_key] = session.session_id
            return session.info()

    def get_session(self, session_id: str) -> SyncSessionInfo | None:
        with self._lock:
            session = self._find(session_id)
            return session.info() if session else None

    def get_active_session(self, sync_category: SyncCategory | str) -> SyncSessionInfo | None:
        with self._lock:
            holder = self._locks.get(SyncCategory(sync_category).value)
            return self._sessions[holder].info() if holder else None

    def list_sessions(
        self, *, limit: int = 50, sync_category: SyncCategory | str | None = None
    ) -> list[SyncSessionInfo]:
        with self._lock:
            chosen = [
                s
                for s in reversed(self._sessions.values())
                if sync_category is None or s.sync_category == SyncCategory(sync_category)
            ]
            return [s.info() for s in chosen[: max(limit, 0)]]

    def list_records(self, session_id: str) -> list[SyncRecordInfo]:
        with self._lock:
            session = self._find(session_id)
            if session is None:
                return []
            return list(session.records.values())

    def page_sessions(
        self,
        *,
        limit: int,
        before: tuple[dt.datetime, str] | None = None,
        statuses: Sequence[SessionStatus] | None = None,
        sync_category: SyncCategory | None = None,
    ) -> list[SyncSessionInfo]:
        with self._lock:
            every = [session.info() for session in self._sessions.values()]
        return select_sessions(
            every, limit=limit, before=before, statuses=statuses, sync_category=sync_category
        )

    def page_records(
        self,
        session_id: str,
        *,
        after_record_id: int | None,
        limit: int,
        statuses: Sequence[RecordStatus] | None = None,
    ) -> list[SyncRecordInfo]:
        with self._lock:
            session = self._find(session_id)
            records = list(session.records.values()) if session else []
        return select_records(
            records, after_record_id=after_record_id, limit=limit, statuses=statuses
        )

    def claim_session(self, session_id: str) -> bool:
        with self._lock:
            session = self._find(session_id)
            if session is None or session.status is not SessionStatus.PENDING:
                return False
            now = self.clock()
            session.status = SessionStatus.RUNNING
            session.started_at = session.heartbeat_at = now
            return True

    def add_records(self, session_id: str, instances: Sequence[tuple[int, str]]) -> None:
        with self._lock:
            session = self._find(session_id)
            if session is None:
                raise KeyError(session_id)
            if session.status.is_terminal:
                return  # a terminal session never changes (e.g. reaped before its task got here)
            for instance_id, name in rules.records_to_add(session.records, instances):
                session.records[instance_id] = SyncRecordInfo(
                    record_id=self._next_record_id,
                    session_id=session_id,
                    instance_id=instance_id,
                    instance_name=name,
                    status=RecordStatus.PENDING,
                )
                self._next_record_id += 1
            session.total_instances = len(session.records)

    def start_records(self, session_id: str, instance_ids: Sequence[int]) -> bool:
        with self._lock:
            session = self._startable(session_id)
            if session is None:
                return False
            now = self.clock()
            for instance_id in instance_ids:
                record = session.records.get(instance_id)
                if record is not None and record.status is RecordStatus.PENDING:
                    session.records[instance_id] = attrs.evolve(
                        record, status=RecordStatus.RUNNING, started_at=now
                    )
            return True

    def finish_records(self, session_id: str, outcomes: Sequence[RecordOutcome]) -> None:
        with self._lock:
            session = self._find(session_id)
            if session is None:
                return
            now = self.clock()
            for outcome in outcomes:
                record = session.records.get(outcome.instance_id)
                if record is None or record.status is not RecordStatus.RUNNING:
                    continue  # the first outcome wins; a settled record is not counted again
                session.records[outcome.instance_id] = attrs.evolve(
                    record, **attrs.asdict(outcome, recurse=False), completed_at=now
                )
                if outcome.status is RecordStatus.COMPLETED:
                    session.successful_instances += 1
                else:
                    session.failed_instances += 1
            if session.status is SessionStatus.RUNNING:
                session.heartbeat_at = session.progress_at = now

    def claim_records(
        self, session_id: str, instance_ids: Sequence[int], *, lease: dt.timedelta
    ) -> RecordClaim | None:
        with self._lock:
            session = self._startable(session_id)
            if session is None:
                return None
            now = self.clock()
            cutoff = rules.claim_cutoff(now, lease, session.heartbeat_at)
            claimed, held, starts = [], [], []
            for instance_id in dict.fromkeys(instance_ids):
                record = session.records.get(instance_id)
                if record is None:
                    continue
                if rules.claimable(record.status, record.started_at, cutoff):
                    session.records[instance_id] = attrs.evolve(
                        record, status=RecordStatus.RUNNING, started_at=now
                    )
                    claimed.append(instance_id)
                elif record.status is RecordStatus.RUNNING:
                    held.append(instance_id)
                    starts.append(record.started_at)
            until = rules.lease_end(starts, session.heartbeat_at, lease)
            return RecordClaim(claimed=tuple(claimed), held=tuple(held), held_until=until)

    def release_records(self, session_id: str, instance_ids: Sequence[int]) -> int:
        with self._lock:
            session = self._find(session_id)
            if session is None or session.status is not SessionStatus.RUNNING:
                return 0
            released = 0
            for instance_id in dict.fromkeys(instance_ids):
                record = session.records.get(instance_id)
                if record is not None and record.status is RecordStatus.RUNNING:
                    session.records[instance_id] = attrs.evolve(
                        record, status=RecordStatus.PENDING, started_at=None
                    )
                    released += 1
            return released

    def count_running(self, session_id: str) -> int:
        with self._lock:
            session = self._find(session_id)
            if session is None:
                return 0
            return sum(r.status is RecordStatus.RUNNING for r in session.records.values())

    def heartbeat(self, session_id: str) -> None:
        with self._lock:
            session = self._find(session_id)
            if session is not None and session.status is SessionStatus.RUNNING:
                session.heartbeat_at = self.clock()

    def request_cancel(self, session_id: str) -> bool:
        with self._lock:
            session = self._find(session_id)
            if session is None or session.status not in rules.ACTIVE_SESSION_STATUSES:
                return False
            session.cancel_requested = True
            if session.status is SessionStatus.PENDING:
                # A pending session has no task to notice the request: cancel it now.
                self._finish(session, SessionStatus.CANCELLED, None)
            return True

    def finish_session(
        self, session_id: str, *, status: SessionStatus, error_message: str | None = None
    ) -> bool:
        final = rules.require_terminal(status)
        with self._lock:
            session = self._find(session_id)
            if session is None or session.status not in rules.ACTIVE_SESSION_STATUSES:
                return False
            self._finish(session, final, error_message)
            return True

    def reap_stale(
        self,
        *,
        stale_after: dt.timedelta,
        message: str = rules.DEFAULT_INTERRUPTED_MESSAGE,
        stalled_after: dt.timedelta | None = None,
    ) -> list[str]:
        with self._lock:
            now = self.clock()
            cutoff = now - stale_after
            stalled = None if stalled_after is None else now - stalled_after
            stale = [
                s
                for s in self._sessions.values()
                if s.status in rules.ACTIVE_SESSION_STATUSES
                and (
                    rules.is_stale(s.heartbeat_at, s.created_at, cutoff)
                    or (
                        stalled is not None
                        and rules.is_stalled(s.status, s.progress_at, s.started_at, stalled)
                    )
                )
            ]
            for session in stale:
                self._finish(session, SessionStatus.FAILED, message)
            return [s.session_id for s in stale]

    def _startable(self, session_id: str) -> _Session | None:
        """The session if records may start in it: running, and no cancel requested."""
        session = self._find(session_id)
        if session is None or session.status is not SessionStatus.RUNNING:
            return None
        return None if session.cancel_requested else session

    def _find(self, session_id: str) -> _Session | None:
        if not rules.plausible_session_id(session_id):
            return None
        return self._sessions.get(session_id)

    def _finish(self, session: _Session, status: SessionStatus, error_message: str | None) -> None:
        now = self.clock()
        for instance_id, record in session.records.items():
            settled = rules.settle_record(record.status, status)
            if settled is None:
                continue
            if settled is RecordStatus.CANCELLED:
                session.cancelled_instances += 1
            else:
                session.failed_instances += 1
                record = attrs.evolve(record, error_message=error_message)
            session.records[instance_id] = attrs.evolve(record, status=settled, completed_at=now)
        session.status = status
        session.completed_at = now
        session.error_message = error_message
        if session.lock_key is not None:
            self._locks.pop(session.lock_key, None)
            session.lock_key = None
