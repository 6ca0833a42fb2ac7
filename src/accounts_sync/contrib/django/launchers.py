"""Launchers that leave no Django database connection behind in the threads they use."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections

from ..._jobs import FullSyncJob
from ..._launchers import THREAD_NAME, ThreadLauncher
from ...ports import Launcher

__all__ = ["CloseConnectionsLauncher", "DjangoThreadLauncher"]


class CloseConnectionsLauncher:
    """Wraps any launcher so each job closes its thread's Django connections when it ends.

    Django opens one connection per thread and never closes those of threads it did not start
    itself; a background thread must close its own. A job that runs in the launching thread
    (``InlineLauncher`` in a request) is left alone: that connection belongs to the request.
    """

    def __init__(self, launcher: Launcher) -> None:
        self.launcher = launcher

    def launch(self, job: FullSyncJob, run: Callable[[FullSyncJob], None]) -> str:
        origin = threading.get_ident()

        def run_then_close(job: FullSyncJob) -> None:
            try:
                run(job)
            finally:
                if threading.get_ident() != origin:
                    connections.close_all()

        return self.launcher.launch(job, run_then_close)


class DjangoThreadLauncher(CloseConnectionsLauncher):
    """``ThreadLauncher`` (a daemon thread named ``sync_accounts_manual_batch``) that closes the
    thread's connections when the job ends. The default launcher of the Django integration."""

    def __init__(self, *, thread_name: str = THREAD_NAME, daemon: bool = True) -> None:
        super().__init__(ThreadLauncher(thread_name=thread_name, daemon=daemon))
