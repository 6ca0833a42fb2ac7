"""The Protocols a host implements or plugs in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from ._clock import utc_now
from ._enums import RecordStatus, SessionStatus, SyncCategory, SyncType
from ._sessions import FullSyncJob, RecordClaim, RecordOutcome, SyncRecordInfo, SyncSessionInfo

__all__ = [
    "Clock",
    "FullSyncJob",
    "InstanceRepository",
    "Launcher",
    "RecordClaim",
    "RecordOutcome",
    "SupportsAccountSync",
    "SupportsBulkSyncCount",
    "SupportsCountedRecords",
    "SupportsGetMany",
    "SupportsInstance",
    "SupportsRecordAdvance",
    "SupportsRecordClaims",
    "SupportsRecordPages",
    "SupportsSessionPages",
    "SyncSessionRepository",
    "SyncTask",
    "utc_now",
]

InstanceT_co = TypeVar("InstanceT_co", covariant=True)
InstanceT_contra = TypeVar("InstanceT_contra", contravariant=True)

Clock = Callable[[], dt.datetime]
"""A callable returning the current time as an aware UTC datetime."""


@runtime_checkable
class SupportsInstance(Protocol):
    """**Protocol**: what the library reads of a host's instance object, and nothing more."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def db_type(self) -> str: ...
    @property
    def host(self) -> str: ...


@runtime_checkable
class SupportsAccountSync(Protocol[InstanceT_contra]):
    """**Protocol**: the host's per-instance account sync.

    It receives the instance object unchanged and returns a mapping (conventional keys:
    ``success``, ``message``, ``synced_count``, ``added_count``, ``modified_count``,
    ``removed_count``, ``error``, ``details``) or ``None``. It may raise; the library isolates the
    failure to that instance. It must be safe to call from several threads at once.
    """

    def sync_accounts(
        self,
        instance: InstanceT_contra,
        sync_type: str = "manual_single",
        session_id: str | None = None,
        created_by: int | None = None,
    ) -> Mapping[str, Any] | None: ...


@runtime_checkable
class InstanceRepository(Protocol[InstanceT_co]):
    """**Protocol**: the host's table of instances.

    An instance is *active* when it is enabled and not soft-deleted. ``get`` returns disabled
    instances but never soft-deleted ones. ``list_active`` is ordered by name, then id.
    ``increment_sync_count`` is atomic in the store (no lost update under concurrency) and treats a
    missing count as 0. All methods must be safe to call from several threads.
    """

    def count_active(self) -> int: ...
    def get(self, instance_id: int) -> InstanceT_co | None: ...
    def list_active(self) -> Iterable[InstanceT_co]: ...
    def increment_sync_count(self, instance_id: int) -> None: ...


@runtime_checkable
class SupportsBulkSyncCount(Protocol):
    """**Protocol**, optional: increment many instances' ``sync_count`` in one round trip.

    The full-sync task uses it when the instance repository has it; each id in the sequence counts
    once per occurrence, atomically, exactly as ``increment_sync_count`` would.
    """

    def increment_sync_counts(self, instance_ids: Sequence[int]) -> None: ...


@runtime_checkable
class SupportsGetMany(Protocol[InstanceT_co]):
    """**Protocol**, optional: ``get`` for many ids in one round trip.

    A fan-out chunk loads its instances with it when the instance repository has it. It
    returns what ``get`` would for each id (disabled instances too, soft-deleted and missing
    ones left out), in any order.
    """

    def get_many(self, instance_ids: Sequence[int]) -> Sequence[InstanceT_co]: ...


@runtime_checkable
class SyncSessionRepository(Protocol):
    """**Protocol**: where sessions and records live.

    Guarantees an implementation must give:

    * Every write is atomic, and visible to other threads and processes once the method returns
      (except in a mode documented as bound to a caller's transaction).
    * Single flight: ``create_session(exclusive=True)`` fails with ``ConflictError`` (its
      ``extra["session_id"]`` naming the holder) while another session of the same category is
      pending or running — atomically, across threads and processes, against other exclusive
      creates; sessions created with ``exclusive=False`` take no lock but still block it.
    * Terminal states never change: every transition is a compare-and-set on the current status.
    * Counters: ``successful + failed + cancelled ≤ total`` always, with equality once terminal;
      ``finish_records`` updates them in O(1) per record, never by recounting.
    * Every timestamp it writes comes from its injectable ``clock``.
    """

    def create_session(
        self,
        *,
        sync_type: SyncType | str,
        sync_category: SyncCategory | str,
        created_by: int | None,
        exclusive: bool = True,
    ) -> SyncSessionInfo:
        """Create a ``pending`` session with a new uuid4 id."""
        ...

    def get_session(self, session_id: str) -> SyncSessionInfo | None: ...

    def get_active_session(self, sync_category: SyncCategory | str) -> SyncSessionInfo | None:
        """The pending or running session of that category holding the single-flight lock."""
        ...

    def list_sessions(
        self, *, limit: int = 50, sync_category: SyncCategory | str | None = None
    ) -> list[SyncSessionInfo]:
        """The most recent sessions first."""
        ...

    def list_records(self, session_id: str) -> list[SyncRecordInfo]:
        """The session's records in creation order."""
        ...

    def claim_session(self, session_id: str) -> bool:
        """Compare-and-set ``pending → running``; False when the session is not pending."""
        ...

    def add_records(self, session_id: str, instances: Sequence[tuple[int, str]]) -> None:
        """Create one ``pending`` record per ``(instance_id, instance_name)`` and set the total."""
        ...

    def start_records(self, session_id: str, instance_ids: Sequence[int]) -> bool:
        """Mark pending records ``running`` unless a cancel was requested or the session is no
        longer running, in which case nothing changes and False is returned."""
        ...

    def finish_records(self, session_id: str, outcomes: Sequence[RecordOutcome]) -> None:
        """Write the outcome of running records, bump the session counters and its heartbeat.

        Records that are no longer running (e.g. reaped) are left alone and not counted.
        """
        ...

    def heartbeat(self, session_id: str) -> None:
        """Stamp ``heartbeat_at`` on a running session (not its progress)."""
        ...

    def request_cancel(self, session_id: str) -> bool:
        """Ask a session to stop. A pending session is cancelled at once, a running one when its
        task next checks. True if the session was pending or running."""
        ...

    def finish_session(
        self, session_id: str, *, status: SessionStatus, error_message: str | None = None
    ) -> bool:
        """Move a non-terminal session to the terminal ``status`` and release its lock.

        Records still pending become ``cancelled`` (when ``status`` is cancelled) or ``failed``;
        records still running become ``failed``; the failed ones get ``error_message``. The
        counters then add up to the total. False (and no change) when the session was already
        terminal.
        """
        ...

    def reap_stale(
        self,
        *,
        stale_after: dt.timedelta,
        message: str = ...,
        stalled_after: dt.timedelta | None = None,
    ) -> list[str]:
        """Fail pending/running sessions whose heartbeat (or creation, if never claimed) is older
        than ``stale_after``, as ``finish_session(FAILED, message)`` does; return their ids.

        With ``stalled_after``, also running sessions whose records made no progress (none
        started or finished, see ``_lifecycle.is_stalled``) for that long: a heartbeat goes on
        while one call hangs, so staleness alone never ends such a session."""
        ...


@runtime_checkable
class SupportsRecordAdvance(Protocol):
    """**Protocol**, optional: ``finish_records`` and then ``start_records`` in one atomic step.

    The full-sync task uses it when the session repository has it, halving its transactions
    per loop. Same guarantees and return value as the two calls in that order.
    """

    def advance_records(
        self, session_id: str, outcomes: Sequence[RecordOutcome], instance_ids: Sequence[int]
    ) -> bool: ...


@runtime_checkable
class SupportsCountedRecords(Protocol):
    """**Protocol**, optional: write ``sync_count`` in the same transaction as the records.

    ``counting_with(instances)`` returns a view of this repository whose ``finish_records``
    (and ``advance_records``) also add one to the ``sync_count`` of every instance whose record
    they close as ``completed``, atomically with that write — so a crash can neither lose a
    completed instance's count nor count it twice — or ``None`` when ``instances`` does not live
    in the same database. The full-sync task uses the view when there is one; otherwise it
    increments through ``instances`` after the records, at most about a second later.
    """

    def counting_with(self, instances: object) -> SyncSessionRepository | None: ...


@runtime_checkable
class SupportsRecordClaims(Protocol):
    """**Protocol**, optional: the record claims a fan-out full sync needs (chunks of one
    session run by many processes at once). Every method is atomic across processes.
    """

    def claim_records(
        self, session_id: str, instance_ids: Sequence[int], *, lease: dt.timedelta
    ) -> RecordClaim | None:
        """Compare-and-set each record ``pending → running``, or ``running → running`` when
        both its claim (``started_at``) and the session's ``heartbeat_at`` are older than
        ``lease`` (``_lifecycle.claim_cutoff`` and ``claimable``: a heartbeat renews every
        claim of the session), stamping ``started_at``. ``held_until`` is when the held claims'
        lease ends (``_lifecycle.lease_end``). ``None``, and no change, when the session is not
        running or a cancel was requested. Ids without a record, or with a finished one, are
        neither claimed nor held."""
        ...

    def release_records(self, session_id: str, instance_ids: Sequence[int]) -> int:
        """Put the caller's claimed, never started records back to ``pending`` (``running →
        pending``, ``started_at`` cleared) while the session is running; how many moved."""
        ...

    def count_running(self, session_id: str) -> int:
        """How many of the session's records are ``running``."""
        ...


@runtime_checkable
class SupportsRecordPages(Protocol):
    """**Protocol**, optional: one page of a session's records, by keyset.

    ``page_records`` returns at most ``limit`` records of the session whose ``record_id`` is
    greater than ``after_record_id`` (all when ``None``) and, with ``statuses``, whose status is
    one of them — in creation order (``record_id`` ascending); ``[]`` for an unknown session.
    Its cost does not grow with the records before the page, and a record never moves between
    pages when statuses change. The HTTP layer uses it when the repository has it, and slices
    ``list_records`` otherwise.
    """

    def page_records(
        self,
        session_id: str,
        *,
        after_record_id: int | None,
        limit: int,
        statuses: Sequence[RecordStatus] | None = None,
    ) -> list[SyncRecordInfo]: ...


@runtime_checkable
class SupportsSessionPages(Protocol):
    """**Protocol**, optional: one page of sessions, the most recent first, by keyset.

    ``page_sessions`` returns at most ``limit`` sessions ordered by ``created_at`` descending,
    then ``session_id`` descending; with ``before`` (a ``(created_at, session_id)`` pair from
    the last session of the previous page) only those strictly after it in that order; with
    ``statuses`` / ``sync_category`` only sessions matching them. The HTTP layer uses it when
    the repository has it, and sorts ``list_sessions`` otherwise.
    """

    def page_sessions(
        self,
        *,
        limit: int,
        before: tuple[dt.datetime, str] | None = None,
        statuses: Sequence[SessionStatus] | None = None,
        sync_category: SyncCategory | None = None,
    ) -> list[SyncSessionInfo]: ...


class SyncTask(Protocol):
    """**Protocol**: the background full-sync entry point (``FullSyncTask`` is one)."""

    def __call__(
        self,
        *,
        manual_run: bool = True,
        created_by: int | None = None,
        session_id: str | None = None,
    ) -> object: ...


@runtime_checkable
class Launcher(Protocol):
    """**Protocol**: starts a full-sync job in the background and returns at once.

    ``job`` is plain data (session id, created_by, manual_run) that may cross a process; ``run`` is
    the local wrapper that runs it — in-process launchers call ``run(job)``, remote ones ignore it
    and send ``job.as_dict()`` to a worker that runs the same wrapper there. The return value is a
    thread name or an engine's task id. A launcher raises if it cannot start the job.
    """

    def launch(self, job: FullSyncJob, run: Callable[[FullSyncJob], None]) -> str: ...
