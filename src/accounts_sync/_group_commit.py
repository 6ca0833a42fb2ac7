"""Group commit: the full-sync run hands out instances on one thread and commits their starts
and outcomes on another, in groups, so a free worker never waits for a commit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from ._bookkeeping import Bookkeeping
from ._sessions import RecordOutcome

__all__ = ["DEFAULT_COMMIT_WINDOW", "GroupCommit", "Journal"]

DEFAULT_COMMIT_WINDOW = 0.01
"""Seconds between group commits: about one transaction per 10 ms, however many instances."""


class Journal:
    """What the dispatching thread hands the committing thread, and what it hears back.

    The dispatcher queues an instance's start before it hands the instance to a worker, and its
    outcome once the worker returns; the committer takes both in that order. The committer
    raises ``refused`` once a start is refused (cancel requested, or the session ended) and
    ``stopped`` when it fails; either wakes the dispatcher through ``wake``.
    """

    def __init__(self, wake: Callable[[], None]) -> None:
        self.refused = False
        self.stopped = False
        self.crash: BaseException | None = None
        self._wake = wake
        self._changed = threading.Condition()
        self._starts: list[int] = []
        self._outcomes: list[RecordOutcome] = []
        self._closed = False

    # -- the dispatching thread ----------------------------------------------------------------

    def start(self, instance_ids: Sequence[int]) -> None:
        with self._changed:
            self._starts.extend(instance_ids)
            self._changed.notify()

    def add(self, outcomes: Sequence[RecordOutcome]) -> None:
        if outcomes:
            with self._changed:
                self._outcomes.extend(outcomes)
                self._changed.notify()

    def close(self, crash: BaseException | None = None) -> None:
        """Nothing more will be queued; ``crash`` is why the dispatcher stopped, if it failed."""
        with self._changed:
            self.crash = crash
            self._closed = True
            self._changed.notify()

    # -- the committing thread -----------------------------------------------------------------

    def wait(self, timeout: float) -> None:
        """Until something is queued or the journal is closed, for at most ``timeout`` seconds."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._starts or self._outcomes or self._closed, max(timeout, 0.0)
            )

    def take(self) -> tuple[list[int], list[RecordOutcome], bool]:
        """What is queued, in order, and whether the journal was closed before this take."""
        with self._changed:
            taken = self._starts, self._outcomes, self._closed
            self._starts, self._outcomes = [], []
            return taken

    def refuse(self) -> None:
        self.refused = True
        self._wake()

    def stop(self) -> None:
        self.stopped = True
        self._wake()


class GroupCommit:
    """Commits a run's :class:`Journal` on the calling thread, at most once per ``window``
    seconds: one transaction for the starts and outcomes queued meanwhile, plus the heartbeat,
    the cancel poll and the sync counts of :class:`Bookkeeping` when they are due.

    An outcome whose start is in the same group waits for the next group: its record must be
    running before its outcome can close it."""

    def __init__(self, books: Bookkeeping, journal: Journal, *, window: float) -> None:
        self._books = books
        self._journal = journal
        self._window = window
        self._later: list[RecordOutcome] = []
        self._last_commit = -window

    def run(self) -> None:
        """Commit until the dispatcher closes the journal and all it queued is written; raise
        the dispatcher's crash, if any."""
        books, journal = self._books, self._journal
        closed = False
        while not (closed and not self._later):
            if not self._later:
                journal.wait(books.next_due() - time.monotonic())
            if not closed:
                # Gather a group: commit at most once per window.
                time.sleep(max(self._last_commit + self._window - time.monotonic(), 0.0))
            starts, outcomes, closed = journal.take()
            if journal.crash is not None:
                raise journal.crash
            if starts or outcomes or self._later:
                self._last_commit = time.monotonic()
                self._later = books.commit(starts, self._later + outcomes)
            books.housekeep()
            if books.refused and not journal.refused:
                journal.refuse()
        books.flush_counts()
