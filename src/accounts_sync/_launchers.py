"""In-process launchers: a daemon thread, the caller's thread, or any executor."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable

from ._jobs import FullSyncJob

__all__ = ["ExecutorLauncher", "InlineLauncher", "ThreadLauncher"]

THREAD_NAME = "sync_accounts_manual_batch"


class ThreadLauncher:
    """Runs each job in a new daemon thread (the default).

    A daemon thread dies with its process; the stale-session reaper then fails the session.
    """

    def __init__(self, *, thread_name: str = THREAD_NAME, daemon: bool = True) -> None:
        self.thread_name = thread_name
        self.daemon = daemon

    def launch(self, job: FullSyncJob, run: Callable[[FullSyncJob], None]) -> str:
        thread = threading.Thread(
            target=run, args=(job,), name=self.thread_name, daemon=self.daemon
        )
        thread.start()
        return thread.name


class InlineLauncher:
    """Runs the job in the caller's thread before returning: for scripts, CLIs and tests."""

    def launch(self, job: FullSyncJob, run: Callable[[FullSyncJob], None]) -> str:
        run(job)
        return threading.current_thread().name


class ExecutorLauncher:
    """Submits the job to a ``concurrent.futures.Executor``; returns ``name`` (the executor's
    class name by default).

    The executor's lifetime stays the caller's business. ``run`` is a local callable, so use a
    thread pool; to cross processes use the Celery launcher.
    """

    def __init__(self, executor: concurrent.futures.Executor, *, name: str | None = None) -> None:
        if isinstance(executor, concurrent.futures.ProcessPoolExecutor):
            # The job's local wrapper cannot be pickled: it would fail inside the future,
            # unseen, and leave the session pending until the reaper.
            raise TypeError("ExecutorLauncher needs a thread pool; use the Celery launcher")
        self.executor = executor
        self.name = name or type(executor).__name__

    def launch(self, job: FullSyncJob, run: Callable[[FullSyncJob], None]) -> str:
        self.executor.submit(run, job)
        return self.name
