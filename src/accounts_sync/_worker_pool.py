"""The full-sync task's worker threads, and the ones it gives up on."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["WorkerPool"]

ResultT = TypeVar("ResultT")


class WorkerPool(Generic[ResultT]):
    """Threads that run ``work(item)`` for the coordinator, results keyed by the caller's token.

    A call the coordinator gives up on is *abandoned*: Python cannot stop its thread, so the
    thread finishes the call, drops its result and ends (``on_abandoned_exit`` is then called)
    instead of rejoining a pool that has replaced it.
    """

    def __init__(
        self, work: Callable[[Any], ResultT], *, name: str, on_abandoned_exit: Callable[[], Any]
    ) -> None:
        self.work = work
        self.name = name
        self.on_abandoned_exit = on_abandoned_exit
        # ``(token, result)``, or ``None`` from :meth:`wake`.
        self.results: queue.SimpleQueue[tuple[int, ResultT] | None] = queue.SimpleQueue()
        self.live = 0  # threads serving the pool, abandoned ones excluded
        self._items: queue.SimpleQueue[tuple[int, Any] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running: set[int] = set()  # tokens whose call has not returned
        self._abandoned: set[int] = set()  # of those, the ones given up on

    def submit(self, token: int, item: Any) -> None:
        with self._lock:
            self._running.add(token)
        self._items.put((token, item))

    def grow(self, needed: int) -> None:
        """Start threads until ``needed`` serve the pool."""
        while self.live < needed:
            self.live += 1
            threading.Thread(target=self._serve, name=self.name, daemon=True).start()

    def abandon(self, token: int) -> bool:
        """Give up on ``token``'s call; False if it already returned (its queued result is
        then the caller's to discard, and its thread stays in the pool)."""
        with self._lock:
            if token not in self._running:
                return False
            self._abandoned.add(token)
            self.live -= 1
            return True

    def wake(self) -> None:
        """Wake whoever waits on ``results``, with no result."""
        self.results.put(None)

    def close(self) -> None:
        """Let every thread still serving the pool end once it is idle."""
        for _ in range(self.live):
            self._items.put(None)

    def _serve(self) -> None:
        while (entry := self._items.get()) is not None:
            token, item = entry
            result = self.work(item)
            with self._lock:
                self._running.discard(token)
                abandoned = token in self._abandoned
                self._abandoned.discard(token)
            if abandoned:
                # The coordinator already failed its record: the late result counts nowhere.
                self.on_abandoned_exit()
                return
            self.results.put((token, result))
