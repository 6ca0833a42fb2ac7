"""What the contract suites and the state machine share: inputs, shortcuts and checks."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from accounts_sync import (
    InstanceRepository,
    Messages,
    RecordStatus,
    SessionStatus,
    SyncCategory,
    SyncSessionInfo,
    SyncSessionRepository,
    SyncType,
)
from accounts_sync.ports import Clock, RecordOutcome
from accounts_sync.testing import FakeInstance

__all__ = [
    "ACTIVE",
    "HOSTILE_NAMES",
    "HOSTILE_SESSION_IDS",
    "INTERRUPTED",
    "TERMINAL",
    "InstanceFactory",
    "SessionFactory",
    "SyncCountReader",
    "assert_counters_add_up",
    "create",
    "outcome",
    "race",
    "running",
    "statuses",
]

T = TypeVar("T")

SessionFactory = Callable[[Clock], SyncSessionRepository]
"""Returns a repository on an empty store that stamps every timestamp from the given clock."""

InstanceFactory = Callable[[Sequence[FakeInstance]], InstanceRepository[Any]]
"""Returns a repository on a store holding exactly the given instances (every field kept)."""

SyncCountReader = Callable[[InstanceRepository[Any], int], int]
"""Reads an instance's stored ``sync_count`` (0 when missing) from a repository's store."""

ACTIVE = (SessionStatus.PENDING, SessionStatus.RUNNING)
"""The statuses of a session that still holds (or may hold) the single-flight lock."""

TERMINAL = (
    SessionStatus.COMPLETED,
    SessionStatus.COMPLETED_WITH_ERRORS,
    SessionStatus.FAILED,
    SessionStatus.CANCELLED,
)
"""The statuses a session never leaves."""

INTERRUPTED = Messages().session_interrupted
"""The reaper's default message."""

# Quotes, SQL, LIKE wildcards, backslashes, CJK and astral characters: stored and read as data.
HOSTILE_NAMES = (
    'o\'brien "db"',
    "100% full; DROP TABLE x; --",
    "数据库-主库",
    "ünïcødé 🚀",
    "a\\b_%",
)

# Ids no store ever issues, which a careless one passes to a driver that rejects them.
HOSTILE_SESSION_IDS = (
    "\x00",
    "00000000-0000-4000-8000-00000000000\x00",
    "x" * 10_000,
)


def create(
    repo: SyncSessionRepository,
    category: SyncCategory | str = SyncCategory.ACCOUNT,
    *,
    exclusive: bool = True,
    created_by: int | None = 7,
) -> SyncSessionInfo:
    """A new manual-task session."""
    return repo.create_session(
        sync_type=SyncType.MANUAL_TASK,
        sync_category=category,
        created_by=created_by,
        exclusive=exclusive,
    )


def running(
    repo: SyncSessionRepository,
    names: Sequence[str],
    category: SyncCategory | str = SyncCategory.ACCOUNT,
    *,
    exclusive: bool = True,
) -> str:
    """A claimed session with one pending record per name (instance ids 1…n)."""
    session_id = create(repo, category, exclusive=exclusive).session_id
    assert repo.claim_session(session_id)
    repo.add_records(session_id, list(enumerate(names, start=1)))
    return session_id


def outcome(instance_id: int, *, ok: bool = True, **fields: Any) -> RecordOutcome:
    """A completed (or failed) outcome for one instance."""
    status = RecordStatus.COMPLETED if ok else RecordStatus.FAILED
    return RecordOutcome(instance_id=instance_id, status=status, **fields)


def statuses(repo: SyncSessionRepository, session_id: str) -> list[RecordStatus]:
    """The statuses of a session's records, in creation order."""
    return [record.status for record in repo.list_records(session_id)]


def assert_counters_add_up(info: SyncSessionInfo | None) -> None:
    """``successful + failed + cancelled ≤ total``, with equality once terminal."""
    assert info is not None
    finished = info.successful_instances + info.failed_instances + info.cancelled_instances
    assert finished <= info.total_instances
    assert 0.0 <= info.progress <= 100.0
    if info.is_terminal:
        assert finished == info.total_instances
        assert info.completed_at is not None


def race(count: int, call: Callable[[int], T]) -> list[T]:
    """Run ``call(0)`` … ``call(count - 1)`` on as many threads, released together."""
    barrier = threading.Barrier(count)

    def start(index: int) -> T:
        barrier.wait()
        return call(index)

    with ThreadPoolExecutor(count) as threads:
        return list(threads.map(start, range(count)))
