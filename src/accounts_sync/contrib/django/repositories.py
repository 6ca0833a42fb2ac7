"""Django ORM stores: sessions and records in this app's tables, instances in the host's model.

Every method that writes more than one statement runs in ``transaction.atomic()``: inside a
request (``ATOMIC_REQUESTS`` or a view's atomic block) that is a savepoint of the host's
transaction, which the host commits; in a background thread it is a transaction of its own.
Multi-statement writes lock the session row before its records, in every method, so two
writers (the task and the reaper, say) can never deadlock.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import attrs
from django.db import DatabaseError, IntegrityError, connections, models, router, transaction
from django.db.models import Case, F, Q, Value, When

from ... import _lifecycle as rules
from ..._bounds import unstorable
from ..._clock import utc_now
from ..._enums import RecordStatus, SessionStatus, SyncCategory, SyncType
from ..._errors import ConflictError
from ..._sessions import RecordOutcome, SyncRecordInfo, SyncSessionInfo
from ...ports import Clock
from ...sqlalchemy._missing_tables import explaining_missing_tables
from ._claims import RecordClaims
from ._pages import PagedReads
from ._rows import MIGRATE, RECORD_FIELDS, SESSION_FIELDS, record_info, to_db
from .models import SyncRecord, SyncSession

__all__ = ["DjangoInstanceRepository", "DjangoSyncSessionRepository", "MappedInstance"]

# The instance store lives in ``instances``; importable from here as it always was.
from .instances import DjangoInstanceRepository, MappedInstance

_ACTIVE = sorted(status.value for status in rules.ACTIVE_SESSION_STATUSES)
_CHUNK = rules.IN_BATCH
# A lock released between our failed insert and our look-up: try again this many times.
_CREATE_ATTEMPTS = 3

_OUTCOME_FIELDS = [f.name for f in attrs.fields(RecordOutcome) if f.name != "instance_id"]
_CLOSE_FIELDS = [*_OUTCOME_FIELDS, "completed_at"]
# What a database (or its driver, encoding a value) raises for a value it will not store.
_REFUSED = (DatabaseError, ValueError, TypeError)


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def _close(record: SyncRecord, outcome: RecordOutcome, now: dt.datetime) -> None:
    for name, value in attrs.asdict(outcome, recurse=False).items():
        setattr(record, name, value.value if name == "status" else value)
    record.completed_at = now


@explaining_missing_tables((DatabaseError,), MIGRATE)
class DjangoSyncSessionRepository(PagedReads, RecordClaims):
    """A ``SyncSessionRepository`` on this app's models, with the semantics of the in-memory one.

    ``using`` is the database alias (default: the router's write database for the models);
    ``clock`` stamps every timestamp written. Thread-safe: it holds no state but its settings,
    and Django gives each thread its own connection.
    """

    def __init__(self, *, using: str | None = None, clock: Clock | None = None) -> None:
        self.using: str = using or router.db_for_write(SyncSession)
        self.clock: Clock = clock or utc_now
        self._counting: DjangoInstanceRepository | None = None

    def counting_with(self, instances: object) -> DjangoSyncSessionRepository | None:
        """A view of this store that also bumps ``sync_count`` of each record it closes as
        completed, in the same transaction; None unless ``instances`` is a
        ``DjangoInstanceRepository`` with a count field writing to the same database."""
        if not (
            isinstance(instances, DjangoInstanceRepository)
            and instances.sync_count_field is not None
            and instances.write_alias == self.using
        ):
            return None
        view = copy.copy(self)
        view._counting = instances
        return view

    # -- reads ------------------------------------------------------------------------------

    def get_session(self, session_id: str) -> SyncSessionInfo | None:
        if not rules.plausible_session_id(session_id):
            return None
        row = self._sessions().filter(session_id=session_id).values(*SESSION_FIELDS).first()
        return SyncSessionInfo.from_row(row) if row else None

    def get_active_session(self, sync_category: SyncCategory | str) -> SyncSessionInfo | None:
        key = SyncCategory(sync_category).value
        row = self._sessions().filter(lock_key=key).values(*SESSION_FIELDS).first()
        return SyncSessionInfo.from_row(row) if row else None

    def list_sessions(
        self, *, limit: int = 50, sync_category: SyncCategory | str | None = None
    ) -> list[SyncSessionInfo]:
        query = self._sessions()
        if sync_category is not None:
            query = query.filter(sync_category=SyncCategory(sync_category).value)
        rows = query.order_by("-id").values(*SESSION_FIELDS)[: max(limit, 0)]
        return [SyncSessionInfo.from_row(row) for row in rows]

    def list_records(self, session_id: str) -> list[SyncRecordInfo]:
        if not rules.plausible_session_id(session_id):
            return []
        rows = self._records(session_id).order_by("id").values(*RECORD_FIELDS)
        return [record_info(row) for row in rows]

    # -- writes -----------------------------------------------------------------------------

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
        holder: str | None = None
        if exclusive:
            # A session created with ``exclusive=False`` holds no lock but still counts as
            # running; the unique lock is what makes the exclusive-versus-exclusive race safe.
            holder = (
                self._sessions()
                .filter(sync_category=category.value, status__in=_ACTIVE)
                # ``rules.conflict_holder``'s order: the lock holder, then the oldest.
                .order_by(F("lock_key").asc(nulls_last=True), "created_at", "id")
                .values_list("session_id", flat=True)
                .first()
            )
            if holder is not None:
                raise ConflictError.held_by(holder)
        for _ in range(_CREATE_ATTEMPTS):
            now = _aware(self.clock())
            session_id = str(uuid.uuid4())
            try:
                # A savepoint: a refused insert leaves the host's transaction usable.
                with transaction.atomic(using=self.using):
                    SyncSession.objects.using(self.using).create(
                        session_id=session_id,
                        sync_type=kind.value,
                        sync_category=category.value,
                        status=SessionStatus.PENDING.value,
                        created_by=created_by,
                        created_at=to_db(now),
                        lock_key=lock_key,
                    )
            except IntegrityError:
                if lock_key is None:
                    raise
                holder = (
                    self._sessions()
                    .filter(lock_key=lock_key)
                    .values_list("session_id", flat=True)
                    .first()
                )
                if holder is not None:
                    break
                continue
            return SyncSessionInfo(
                session_id=session_id,
                sync_type=kind,
                sync_category=category,
                status=SessionStatus.PENDING,
                created_by=created_by,
                created_at=now,
            )
        raise ConflictError.held_by(holder)

    def claim_session(self, session_id: str) -> bool:
        if not rules.plausible_session_id(session_id):
            return False
        now = self._now()
        claimed = (
            self._sessions()
            .filter(session_id=session_id, status=SessionStatus.PENDING.value)
            .update(status=SessionStatus.RUNNING.value, started_at=now, heartbeat_at=now)
        )
        return bool(claimed)

    def add_records(self, session_id: str, instances: Sequence[tuple[int, str]]) -> None:
        if not rules.plausible_session_id(session_id):
            raise KeyError(session_id)
        with transaction.atomic(using=self.using):
            if not self._lock_session(session_id, status__in=_ACTIVE):
                if not self._sessions().filter(session_id=session_id).exists():
                    raise KeyError(session_id)
                return  # a terminal session never changes (e.g. reaped before the task got here)
            records = self._records(session_id)
            existing = records.values_list("instance_id", flat=True)
            items = rules.records_to_add(existing, instances)
            SyncRecord.objects.using(self.using).bulk_create(
                [
                    SyncRecord(
                        session_id=session_id,
                        instance_id=instance_id,
                        instance_name=name,
                        status=RecordStatus.PENDING.value,
                    )
                    for instance_id, name in items
                ],
                batch_size=rules.INSERT_BATCH,
            )
            self._sessions().filter(session_id=session_id).update(
                total_instances=F("total_instances") + len(items)
            )
        if len(items) >= rules.INSERT_BATCH:
            self._analyze_records()

    def _analyze_records(self) -> None:
        """Give PostgreSQL statistics of a freshly filled session: without them it plans the
        loop's ``instance_id IN (…)`` by the session alone and filters all its records."""
        connection = connections[self.using]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(SyncRecord._meta.db_table)}")

    def start_records(self, session_id: str, instance_ids: Sequence[int]) -> bool:
        if not rules.plausible_session_id(session_id):
            return False
        with transaction.atomic(using=self.using):
            return self._start(session_id, instance_ids)

    def finish_records(self, session_id: str, outcomes: Sequence[RecordOutcome]) -> None:
        if not rules.plausible_session_id(session_id):
            return
        with transaction.atomic(using=self.using):
            self._finish_running(session_id, outcomes)

    def advance_records(
        self, session_id: str, outcomes: Sequence[RecordOutcome], instance_ids: Sequence[int]
    ) -> bool:
        """``finish_records`` then ``start_records``, in one transaction."""
        if not rules.plausible_session_id(session_id):
            return False
        with transaction.atomic(using=self.using):
            if outcomes:
                self._finish_running(session_id, outcomes)
            return self._start(session_id, instance_ids)

    def heartbeat(self, session_id: str) -> None:
        if not rules.plausible_session_id(session_id):
            return
        self._sessions().filter(session_id=session_id, status=SessionStatus.RUNNING.value).update(
            heartbeat_at=self._now()
        )

    def request_cancel(self, session_id: str) -> bool:
        if not rules.plausible_session_id(session_id):
            return False
        with transaction.atomic(using=self.using):
            asked = (
                self._sessions()
                .filter(session_id=session_id, status__in=_ACTIVE)
                .update(cancel_requested=True)
            )
            if not asked:
                return False
            # A pending session has no task to notice the request: cancel it now.
            self._finish(
                session_id, SessionStatus.CANCELLED, None, only=(SessionStatus.PENDING.value,)
            )
            return True

    def finish_session(
        self, session_id: str, *, status: SessionStatus, error_message: str | None = None
    ) -> bool:
        status = rules.require_terminal(status)
        if not rules.plausible_session_id(session_id):
            return False
        with transaction.atomic(using=self.using):
            return self._finish(session_id, status, error_message, only=_ACTIVE)

    def reap_stale(
        self,
        *,
        stale_after: dt.timedelta,
        message: str = rules.DEFAULT_INTERRUPTED_MESSAGE,
        stalled_after: dt.timedelta | None = None,
    ) -> list[str]:
        now = self.clock()
        cutoff = to_db(now - stale_after)
        stale = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
        if stalled_after is not None:
            # ``rules.is_stalled`` as a query.
            stalled = to_db(now - stalled_after)
            progress = Q(progress_at__lt=stalled) | Q(
                progress_at__isnull=True, started_at__lt=stalled
            )
            stale |= progress & Q(status=SessionStatus.RUNNING.value)
        candidates = list(
            self._sessions()
            .filter(stale, status__in=_ACTIVE)
            .order_by("id")
            .values_list("session_id", flat=True)
        )
        if not candidates:
            return []
        reaped: list[str] = []
        with transaction.atomic(using=self.using):
            for session_id in candidates:
                # Re-checked in the compare-and-set: a heartbeat since the read saves it.
                if self._finish(
                    session_id, SessionStatus.FAILED, message, only=_ACTIVE, condition=stale
                ):
                    reaped.append(session_id)
        return reaped

    # -- helpers ----------------------------------------------------------------------------

    def _start(self, session_id: str, instance_ids: Sequence[int]) -> bool:
        """Mark pending records running unless cancelled or not running; call in atomic()."""
        if not self._lock_session(
            session_id, status=SessionStatus.RUNNING.value, cancel_requested=False
        ):
            return False
        now = self._now()
        pending = self._records(session_id).filter(status=RecordStatus.PENDING.value)
        for chunk in rules.batched(list(instance_ids)):
            pending.filter(instance_id__in=chunk).update(
                status=RecordStatus.RUNNING.value, started_at=now
            )
        return True

    def _finish_running(self, session_id: str, outcomes: Sequence[RecordOutcome]) -> None:
        """Write outcomes onto running records, one UPDATE per status; call in atomic()."""
        now = self._now()
        # Locks the session row first (see the module docstring) and beats the heart.
        found = (
            self._sessions()
            .filter(session_id=session_id)
            .update(
                heartbeat_at=Case(
                    When(status=SessionStatus.RUNNING.value, then=Value(now)),
                    default=F("heartbeat_at"),
                    output_field=models.DateTimeField(),
                ),
                progress_at=Case(
                    When(status=SessionStatus.RUNNING.value, then=Value(now)),
                    default=F("progress_at"),
                    output_field=models.DateTimeField(),
                ),
            )
        )
        if not found:
            return
        # As everywhere, the first outcome of an instance wins. The session row lock taken
        # above serialises writers, so the records read as running here are still running.
        first: dict[int, RecordOutcome] = {}
        for outcome in outcomes:
            first.setdefault(outcome.instance_id, outcome)
        closed: list[SyncRecord] = []
        for chunk in rules.batched(list(first)):
            closed.extend(
                self._records(session_id).filter(
                    status=RecordStatus.RUNNING.value, instance_id__in=chunk
                )
            )
        for record in closed:
            _close(record, first[record.instance_id], now)
        self._write_closed(closed, first)
        done = [r.instance_id for r in closed if r.status == RecordStatus.COMPLETED.value]
        if self._counting is not None:
            self._counting.increment_sync_counts(done)  # a savepoint of this transaction
        succeeded = len(done)
        if closed:
            self._sessions().filter(session_id=session_id).update(
                successful_instances=F("successful_instances") + succeeded,
                failed_instances=F("failed_instances") + len(closed) - succeeded,
            )

    def _write_closed(self, closed: list[SyncRecord], outcomes: dict[int, RecordOutcome]) -> None:
        """One UPDATE (a CASE per column) per batch; if the database refuses it, one per record,
        and a record it still refuses is written as ``unstorable``: only that record fails."""
        records = SyncRecord.objects.using(self.using)
        try:
            with transaction.atomic(using=self.using):  # a savepoint: PostgreSQL aborts on error
                records.bulk_update(closed, _CLOSE_FIELDS, batch_size=_CHUNK)
            return
        except _REFUSED:
            pass
        for record in closed:
            try:
                with transaction.atomic(using=self.using):
                    records.bulk_update([record], _CLOSE_FIELDS)
            except _REFUSED as error:
                _close(record, unstorable(outcomes[record.instance_id], error), record.completed_at)
                with transaction.atomic(using=self.using):  # if this fails, the store is failing
                    records.bulk_update([record], _CLOSE_FIELDS)

    def _sessions(self) -> Any:
        return SyncSession.objects.using(self.using)

    def _records(self, session_id: str) -> Any:
        return SyncRecord.objects.using(self.using).filter(session_id=session_id)

    def _now(self) -> dt.datetime:
        return to_db(self.clock())

    def _lock_session(self, session_id: str, **conditions: Any) -> bool:
        """Row-lock the session (a no-op update) if it matches ``conditions``."""
        matched = (
            self._sessions()
            .filter(session_id=session_id, **conditions)
            .update(cancel_requested=F("cancel_requested"))
        )
        return bool(matched)

    def _finish(
        self,
        session_id: str,
        status: SessionStatus,
        error_message: str | None,
        *,
        only: Sequence[str],
        condition: Q | None = None,
    ) -> bool:
        """Compare-and-set the session to ``status`` and settle its records; call in atomic()."""
        now = self._now()
        query = self._sessions().filter(session_id=session_id, status__in=only)
        if condition is not None:
            query = query.filter(condition)
        if not query.update(
            status=status.value, completed_at=now, error_message=error_message, lock_key=None
        ):
            return False
        records = self._records(session_id)
        settled = {RecordStatus.CANCELLED: 0, RecordStatus.FAILED: 0}
        for sources, target, values in rules.settling_writes(
            status, now=now, error_message=error_message
        ):
            settled[target] += records.filter(status__in=sources).update(**values)
        if any(settled.values()):
            self._sessions().filter(session_id=session_id).update(
                cancelled_instances=F("cancelled_instances") + settled[RecordStatus.CANCELLED],
                failed_instances=F("failed_instances") + settled[RecordStatus.FAILED],
            )
        return True
