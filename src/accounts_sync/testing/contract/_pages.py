"""The paged reads of the ``SyncSessionRepository`` contract: ``SupportsRecordPages`` and
``SupportsSessionPages`` when the store has them, the generic fallback when it has not. Mixed
into ``SessionRepositoryContract``."""

from __future__ import annotations

import datetime as dt
import uuid

from accounts_sync import RecordStatus, SessionStatus, SyncCategory, SyncSessionRepository
from accounts_sync.testing import ManualClock

from ..._pages import page_records, page_sessions, session_key
from ._support import HOSTILE_SESSION_IDS, create, outcome, running

__all__ = ["PageContract"]


def _walk_records(
    sessions: SyncSessionRepository,
    session_id: str,
    limit: int,
    statuses: tuple[RecordStatus, ...] | None = None,
) -> list[list[int]]:
    """The record ids of every page, following each page's last id."""
    pages: list[list[int]] = []
    after: int | None = None
    while True:
        page = page_records(
            sessions, session_id, after_record_id=after, limit=limit, statuses=statuses
        )
        if not page:
            return pages
        assert len(page) <= limit
        pages.append([record.record_id for record in page])
        after = page[-1].record_id


class PageContract:
    """Pages of records and sessions; needs the ``sessions`` and ``clock`` fixtures of
    ``SessionRepositoryContract``."""

    # --- records ---------------------------------------------------------------------------

    def test_record_pages_walk_every_record_once_in_creation_order(
        self, sessions: SyncSessionRepository
    ) -> None:
        session_id = running(sessions, [f"db-{n}" for n in range(7)])
        running(sessions, ["other"], exclusive=False)  # another session's records stay out
        every = [record.record_id for record in sessions.list_records(session_id)]
        pages = _walk_records(sessions, session_id, limit=3)
        assert [len(page) for page in pages] == [3, 3, 1]
        assert [record_id for page in pages for record_id in page] == every
        first = page_records(sessions, session_id, after_record_id=None, limit=100)
        assert first == sessions.list_records(session_id)

    def test_record_pages_filter_by_status(self, sessions: SyncSessionRepository) -> None:
        session_id = running(sessions, [f"db-{n}" for n in range(6)])
        sessions.start_records(session_id, [1, 2, 3, 4])
        sessions.finish_records(
            session_id, [outcome(1, ok=False), outcome(2), outcome(4, ok=False)]
        )
        by_id = {r.instance_id: r.record_id for r in sessions.list_records(session_id)}
        failed = _walk_records(sessions, session_id, limit=1, statuses=(RecordStatus.FAILED,))
        assert failed == [[by_id[1]], [by_id[4]]]
        chosen = page_records(
            sessions,
            session_id,
            after_record_id=None,
            limit=10,
            statuses=(RecordStatus.PENDING, RecordStatus.RUNNING),
        )
        assert [record.instance_id for record in chosen] == [3, 5, 6]

    def test_a_record_cursor_holds_while_statuses_change(
        self, sessions: SyncSessionRepository
    ) -> None:
        session_id = running(sessions, [f"db-{n}" for n in range(9)])
        every = [record.record_id for record in sessions.list_records(session_id)]
        first = page_records(sessions, session_id, after_record_id=None, limit=3)
        # The run goes on between two polls: records of both pages change status.
        sessions.start_records(session_id, [1, 2, 4, 5])
        sessions.finish_records(session_id, [outcome(1), outcome(4, ok=False)])
        second = page_records(sessions, session_id, after_record_id=first[-1].record_id, limit=3)
        assert [record.record_id for record in second] == every[3:6]
        assert [record.status for record in second] == [
            RecordStatus.FAILED,
            RecordStatus.RUNNING,
            RecordStatus.PENDING,
        ]

    def test_record_pages_of_unknown_sessions_are_empty(
        self, sessions: SyncSessionRepository
    ) -> None:
        running(sessions, ["a"])
        for session_id in (str(uuid.uuid4()), *HOSTILE_SESSION_IDS):
            assert page_records(sessions, session_id, after_record_id=None, limit=5) == []

    # --- sessions --------------------------------------------------------------------------

    def test_session_pages_are_most_recent_first_and_walk_once(
        self, sessions: SyncSessionRepository, clock: ManualClock
    ) -> None:
        created = []
        for step in range(7):
            # Pairs created at the same instant: the session id breaks the tie.
            if step % 2 == 0:
                clock.advance(dt.timedelta(seconds=1))
            created.append(create(sessions, exclusive=False))
        expected = sorted(created, key=session_key, reverse=True)
        walked, before = [], None
        while True:
            page = page_sessions(sessions, limit=3, before=before)
            if not page:
                break
            walked.extend(page)
            before = session_key(page[-1])
        assert [info.session_id for info in walked] == [info.session_id for info in expected]

    def test_session_pages_filter_by_status_and_category(
        self, sessions: SyncSessionRepository, clock: ManualClock
    ) -> None:
        done = running(sessions, ["a"])
        assert sessions.finish_session(done, status=SessionStatus.COMPLETED)
        clock.advance(dt.timedelta(seconds=1))
        active = running(sessions, ["b"])
        clock.advance(dt.timedelta(seconds=1))
        other = create(sessions, SyncCategory.CONFIG).session_id

        def ids(
            statuses: tuple[SessionStatus, ...] | None = None,
            sync_category: SyncCategory | None = None,
        ) -> list[str]:
            page = page_sessions(sessions, limit=10, statuses=statuses, sync_category=sync_category)
            return [info.session_id for info in page]

        assert ids() == [other, active, done]
        assert ids(statuses=(SessionStatus.COMPLETED,)) == [done]
        assert ids(statuses=(SessionStatus.RUNNING, SessionStatus.PENDING)) == [other, active]
        assert ids(sync_category=SyncCategory.ACCOUNT) == [active, done]
        assert ids(sync_category=SyncCategory.CONFIG, statuses=(SessionStatus.RUNNING,)) == []
        assert page_sessions(sessions, limit=1) == [sessions.get_session(other)]
