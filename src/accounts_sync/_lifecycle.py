"""The rules of a sync session and its records, written once.

Every store applies these rules: the in-memory store calls them directly; the SQLAlchemy and
Django stores build their statements from the same constants. The contract kit in
``accounts_sync.testing.contract`` checks that each store does.

Sessions move ``pending → running → terminal``; cancel, finish and the reaper may also end a
pending session. A terminal session never changes again::

    pending ──claim──▶ running ──finish──▶ completed | completed_with_errors | failed | cancelled
       └──────── cancel / finish / reap ──▶ cancelled | failed …

Records move ``pending → running → completed | failed`` or ``pending → cancelled``; a fan-out
chunk claims a record (``pending → running``, or again once a lost chunk's lease has ended,
:func:`claim_cutoff`, :func:`claimable`) and releases a claim it never started (``running →
pending``) when the session is cancelled. When a session ends with records still open,
:func:`settle_record` says what becomes of them.

A claim's **lease** runs from the later of its claim and the session's last heartbeat: every
running chunk heartbeats at least once per ``heartbeat_interval`` (and with each group of
outcomes), which renews the claims of the whole session. So the lease only ends once no chunk
of the session is alive, and it can be short (:func:`default_lease`). The reaper's staleness
rule (:func:`is_stale`) fails such a session once its heartbeat is ``stale_after`` old, and
:func:`lease_fits` keeps ``stale_after`` at least twice the lease: a session whose chunks are
lost is failed once their leases have been over for as long as the lease, if no redelivered
chunk has claimed the records again by then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from ._enums import RecordStatus, SessionStatus, SyncCategory
from ._messages import Messages
from ._sessions import SyncSessionInfo

__all__ = [
    "ACTIVE_SESSION_STATUSES",
    "DEFAULT_INTERRUPTED_MESSAGE",
    "INSERT_BATCH",
    "IN_BATCH",
    "LEASE_HEARTBEATS",
    "MAX_SESSION_ID_LENGTH",
    "OPEN_RECORD_STATUSES",
    "RECORD_TRANSITIONS",
    "SESSION_TRANSITIONS",
    "TERMINAL_SESSION_STATUSES",
    "batched",
    "claim_cutoff",
    "claimable",
    "conflict_holder",
    "default_lease",
    "fan_out_status",
    "fits_integer",
    "implied_status",
    "is_stale",
    "is_stalled",
    "lease_end",
    "lease_fits",
    "lock_key_for",
    "plausible_session_id",
    "records_to_add",
    "require_terminal",
    "settle_record",
    "settled_status",
    "settling_moves",
    "settling_writes",
]

ACTIVE_SESSION_STATUSES = frozenset({SessionStatus.PENDING, SessionStatus.RUNNING})
"""Statuses of a session that can still change: it counts for single flight and may be
cancelled, finished or reaped."""

TERMINAL_SESSION_STATUSES = frozenset(set(SessionStatus) - ACTIVE_SESSION_STATUSES)

OPEN_RECORD_STATUSES = frozenset({RecordStatus.PENDING, RecordStatus.RUNNING})
"""Statuses of a record whose instance has not finished."""

SESSION_TRANSITIONS: Mapping[SessionStatus, frozenset[SessionStatus]] = {
    SessionStatus.PENDING: frozenset({SessionStatus.RUNNING, *TERMINAL_SESSION_STATUSES}),
    SessionStatus.RUNNING: TERMINAL_SESSION_STATUSES,
    **{status: frozenset() for status in TERMINAL_SESSION_STATUSES},
}
"""The moves each session status allows (staying put is always allowed)."""

RECORD_TRANSITIONS: Mapping[RecordStatus, frozenset[RecordStatus]] = {
    RecordStatus.PENDING: frozenset(
        {RecordStatus.RUNNING, RecordStatus.CANCELLED, RecordStatus.FAILED}
    ),
    # Back to pending only when a fan-out chunk releases a claim it never started (cancel).
    RecordStatus.RUNNING: frozenset(
        {RecordStatus.COMPLETED, RecordStatus.FAILED, RecordStatus.PENDING}
    ),
    RecordStatus.COMPLETED: frozenset(),
    RecordStatus.FAILED: frozenset(),
    RecordStatus.CANCELLED: frozenset(),
}
"""The moves each record status allows (staying put is always allowed)."""

DEFAULT_INTERRUPTED_MESSAGE = Messages().session_interrupted
"""What a reaped session and its open records say when the caller gives no message."""

INSERT_BATCH = 1_000
"""Rows per INSERT: bounded memory, and under every backend's parameter limit."""

IN_BATCH = 500
"""Ids per ``IN (…)`` list: under every backend's parameter limit."""

MAX_SESSION_ID_LENGTH = 64
"""Longer ids cannot be ours (they are uuid4 strings, or an engine's task id)."""


T = TypeVar("T")


def batched(items: Sequence[T], size: int = IN_BATCH) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size`` (the ``IN`` lists and INSERT batches)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def require_terminal(status: SessionStatus | str) -> SessionStatus:
    """``status`` as a terminal ``SessionStatus``; ``ValueError`` for any other status.

    ``finish_session`` checks this before it looks at the session, so a non-terminal status is
    refused the same way whatever state the session is in.
    """
    status = SessionStatus(status)
    if status not in TERMINAL_SESSION_STATUSES:
        raise ValueError(f"finish_session needs a terminal status, not {status}")
    return status


def settle_record(record: RecordStatus, session: SessionStatus) -> RecordStatus | None:
    """What a record becomes when its session ends as ``session``; None if it stays.

    Pending records of a cancelled session are cancelled (they never ran); every other open
    record fails, with the session's error message.
    """
    if record not in OPEN_RECORD_STATUSES:
        return None
    if record is RecordStatus.PENDING and session is SessionStatus.CANCELLED:
        return RecordStatus.CANCELLED
    return RecordStatus.FAILED


def settling_writes(
    session: SessionStatus, *, now: dt.datetime, error_message: str | None
) -> list[tuple[list[str], RecordStatus, dict[str, Any]]]:
    """:func:`settling_moves` as SQL stores write them: ``(from status values, to status,
    column values)``, one UPDATE each; failed records get the session's ``error_message``."""
    writes = []
    for sources, target in settling_moves(session):
        values: dict[str, Any] = {"status": target.value, "completed_at": now}
        if target is RecordStatus.FAILED:
            values["error_message"] = error_message
        writes.append((sorted(source.value for source in sources), target, values))
    return writes


def settling_moves(session: SessionStatus) -> list[tuple[frozenset[RecordStatus], RecordStatus]]:
    """:func:`settle_record` as ``(from statuses, to status)`` pairs, for one UPDATE each."""
    moves: dict[RecordStatus, set[RecordStatus]] = {}
    for record in sorted(OPEN_RECORD_STATUSES):
        target = settle_record(record, session)
        if target is not None:
            moves.setdefault(target, set()).add(record)
    return [(frozenset(sources), target) for target, sources in moves.items()]


def lock_key_for(category: SyncCategory, *, exclusive: bool) -> str | None:
    """The single-flight lock an exclusive session of ``category`` holds (None: no lock)."""
    return category.value if exclusive else None


def conflict_holder(
    active: Iterable[tuple[str, str | None, dt.datetime, int]],
) -> str | None:
    """The session a conflicting exclusive create names, among the category's active sessions
    given as ``(session_id, lock_key, created_at, sequence)``.

    The lock holder first; else the oldest session created with ``exclusive=False`` (by creation
    time, then by creation order). SQL stores express the same order in their query.
    """
    ranked = sorted(active, key=lambda s: (s[1] is None, s[2], s[3]))
    return ranked[0][0] if ranked else None


def is_stale(
    heartbeat_at: dt.datetime | None, created_at: dt.datetime, cutoff: dt.datetime
) -> bool:
    """A session's last sign of life (its heartbeat, else its creation) is before ``cutoff``."""
    return (heartbeat_at or created_at) < cutoff


def is_stalled(
    status: SessionStatus,
    progress_at: dt.datetime | None,
    started_at: dt.datetime | None,
    cutoff: dt.datetime,
) -> bool:
    """A running session whose records last moved (started or finished; else its claim) before
    ``cutoff``: its heartbeat may still fire while one call hangs, so staleness never shows."""
    last = progress_at or started_at
    return status is SessionStatus.RUNNING and last is not None and last < cutoff


def implied_status(*, succeeded: int, failed: int, cancelled: bool) -> SessionStatus:
    """The terminal status a run's outcome implies: cancelled wins, then all-ok, all-failed."""
    if cancelled:
        return SessionStatus.CANCELLED
    if failed == 0:
        return SessionStatus.COMPLETED
    if succeeded == 0:
        return SessionStatus.FAILED
    return SessionStatus.COMPLETED_WITH_ERRORS


def settled_status(info: SyncSessionInfo) -> SessionStatus | None:
    """What a running session whose records are all terminal should end as; None otherwise.

    Such a session lost only its final write (its task died or the connection dropped then), so
    anyone may finish it with the status its counters imply instead of waiting for the reaper.
    A total of 0 may be a run that has not added its records yet: it is left alone.
    """
    if info.status is not SessionStatus.RUNNING or info.total_instances <= 0:
        return None
    if info.finished_instances < info.total_instances:
        return None
    return implied_status(
        succeeded=info.successful_instances,
        failed=info.failed_instances,
        cancelled=info.cancel_requested or info.cancelled_instances > 0,
    )


LEASE_HEARTBEATS = 3
"""A lease lasts at least this many heartbeat intervals: a live chunk missing one (a slow
commit, a pause) does not lose its records."""


def default_lease(stale_after: dt.timedelta) -> dt.timedelta:
    """Half of ``stale_after`` (5 minutes by default): a lost chunk's records may be claimed
    again that long after the session's last heartbeat, and the reaper fails the session when
    they have been free as long again with no chunk back."""
    return stale_after / 2


def lease_fits(
    lease: dt.timedelta, *, heartbeat_interval: float, stale_after: dt.timedelta
) -> bool:
    """``lease`` spans :data:`LEASE_HEARTBEATS` heartbeats and at most half of ``stale_after``,
    so the reaper never fails a session before a redelivered chunk could take its records."""
    shortest = dt.timedelta(seconds=heartbeat_interval * LEASE_HEARTBEATS)
    return shortest <= lease and lease * 2 <= stale_after


def claim_cutoff(
    now: dt.datetime, lease: dt.timedelta, heartbeat_at: dt.datetime | None
) -> dt.datetime | None:
    """Running claims taken before the returned time are lost (``now - lease``); None when the
    session's heartbeat within the lease renewed every claim, so no running record is free."""
    cutoff = now - lease
    return None if heartbeat_at is not None and heartbeat_at >= cutoff else cutoff


def claimable(
    status: RecordStatus, started_at: dt.datetime | None, cutoff: dt.datetime | None
) -> bool:
    """A fan-out chunk may claim the record: it is pending, or running under a claim taken
    before ``cutoff`` (:func:`claim_cutoff`), whose chunk is taken for lost."""
    if status is RecordStatus.PENDING:
        return True
    return (
        status is RecordStatus.RUNNING
        and cutoff is not None
        and started_at is not None
        and started_at < cutoff
    )


def lease_end(
    held: Iterable[dt.datetime | None], heartbeat_at: dt.datetime | None, lease: dt.timedelta
) -> dt.datetime | None:
    """When the last of the ``held`` claims (their ``started_at``) may end, renewed by the
    session's heartbeat; None when nothing is held."""
    starts = [start for start in held if start is not None]
    if not starts:
        return None
    return max([*starts, *([heartbeat_at] if heartbeat_at is not None else [])]) + lease


def fan_out_status(info: SyncSessionInfo, *, running_records: int) -> SessionStatus | None:
    """What a fan-out session ends as once a chunk is done with it; None while it goes on.

    Every record settled: the status its counters imply (:func:`settled_status`). Cancel
    requested and no record running any more: cancelled (its pending records never ran).
    Whoever sees this first finishes the session; ``finish_session``'s compare-and-set makes
    that happen once, and since each chunk reads after its own writes commit, the last
    chunk to settle always sees it.
    """
    settled = settled_status(info)
    if settled is not None or info.status is not SessionStatus.RUNNING:
        return settled
    if info.cancel_requested and running_records == 0:
        return SessionStatus.CANCELLED
    return None


def records_to_add(
    existing: Iterable[int], instances: Sequence[tuple[int, str]]
) -> list[tuple[int, str]]:
    """The records ``add_records`` creates: one per new instance id, the last name given wins.

    Instances that already have a record keep it unchanged, so a repeated call (a retried
    write, say) neither fails nor duplicates.
    """
    known = set(existing)
    names: dict[int, str] = {}
    for instance_id, name in instances:
        if instance_id not in known:
            names[instance_id] = name
    return list(names.items())


def plausible_session_id(session_id: object) -> bool:
    """False for ids no store ever issues (not a string, empty, too long, control characters),
    so stores answer "no such session" instead of handing them to a database."""
    return (
        isinstance(session_id, str)
        and 0 < len(session_id) <= MAX_SESSION_ID_LENGTH
        and session_id.isprintable()
        and session_id.isascii()
    )


def fits_integer(instance_id: object, *, bits: int = 64) -> bool:
    """``instance_id`` is an int (not a bool) a signed integer column of ``bits`` can hold."""
    limit = 2 ** (bits - 1)
    return (
        isinstance(instance_id, int)
        and not isinstance(instance_id, bool)
        and -limit <= instance_id < limit
    )
