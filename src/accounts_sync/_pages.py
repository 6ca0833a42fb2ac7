"""Pages of sessions and records: through a store's keyset query when it has one, else by
slicing its full lists (the one fallback for stores without the optional protocols)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from ._enums import RecordStatus, SessionStatus, SyncCategory
from ._sessions import SyncRecordInfo, SyncSessionInfo
from .ports import SupportsRecordPages, SupportsSessionPages, SyncSessionRepository

__all__ = [
    "MAX_RECORDS_PER_PAGE",
    "RECORDS_PER_PAGE",
    "page_records",
    "page_sessions",
    "select_records",
    "select_sessions",
    "session_key",
]

RECORDS_PER_PAGE = 100
"""The records a page holds unless told otherwise (the HTTP records endpoint, the CLI)."""
MAX_RECORDS_PER_PAGE = 500
"""The most records a page may hold."""

# What the fallback asks ``list_sessions`` for: every session there is.
_EVERY_SESSION = 2**31 - 1
_NO_TIME = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def session_key(info: SyncSessionInfo) -> tuple[dt.datetime, str]:
    """The keyset position of a session: newer first means a greater key comes first."""
    return (info.created_at or _NO_TIME, info.session_id)


def select_sessions(
    sessions: Iterable[SyncSessionInfo],
    *,
    limit: int,
    before: tuple[dt.datetime, str] | None,
    statuses: Sequence[SessionStatus] | None,
    sync_category: SyncCategory | None,
) -> list[SyncSessionInfo]:
    """``SupportsSessionPages.page_sessions`` over sessions already in hand."""
    chosen = [
        info
        for info in sessions
        if (statuses is None or info.status in statuses)
        and (sync_category is None or info.sync_category is sync_category)
        and (before is None or session_key(info) < before)
    ]
    chosen.sort(key=session_key, reverse=True)
    return chosen[: max(limit, 0)]


def page_sessions(
    repository: SyncSessionRepository,
    *,
    limit: int,
    before: tuple[dt.datetime, str] | None = None,
    statuses: Sequence[SessionStatus] | None = None,
    sync_category: SyncCategory | None = None,
) -> list[SyncSessionInfo]:
    """One page of sessions, the most recent first (see ``SupportsSessionPages``)."""
    if isinstance(repository, SupportsSessionPages):
        return repository.page_sessions(
            limit=limit, before=before, statuses=statuses, sync_category=sync_category
        )
    every = repository.list_sessions(limit=_EVERY_SESSION, sync_category=sync_category)
    return select_sessions(
        every, limit=limit, before=before, statuses=statuses, sync_category=sync_category
    )


def page_records(
    repository: SyncSessionRepository,
    session_id: str,
    *,
    after_record_id: int | None,
    limit: int,
    statuses: Sequence[RecordStatus] | None = None,
) -> list[SyncRecordInfo]:
    """One page of a session's records in creation order (see ``SupportsRecordPages``)."""
    if isinstance(repository, SupportsRecordPages):
        return repository.page_records(
            session_id, after_record_id=after_record_id, limit=limit, statuses=statuses
        )
    return select_records(
        repository.list_records(session_id),
        after_record_id=after_record_id,
        limit=limit,
        statuses=statuses,
    )


def select_records(
    records: Iterable[SyncRecordInfo],
    *,
    after_record_id: int | None,
    limit: int,
    statuses: Sequence[RecordStatus] | None,
) -> list[SyncRecordInfo]:
    """``SupportsRecordPages.page_records`` over records already in hand, in creation order."""
    chosen = [
        record
        for record in records
        if (after_record_id is None or record.record_id > after_record_id)
        and (statuses is None or record.status in statuses)
    ]
    chosen.sort(key=lambda record: record.record_id)
    return chosen[: max(limit, 0)]
