"""The Celery app that ``test_worker_process.py`` starts in a real worker process.

Configured from environment variables set by the test: the Redis broker, a queue of its own,
the SQLite store and a directory where the worker leaves evidence (sync calls, task results,
its root handlers, the host's log file).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import task_postrun, worker_ready

from accounts_sync import AccountsSyncActionsService
from accounts_sync.contrib.celery import register_full_sync_task
from accounts_sync.sqlalchemy import (
    SqlAlchemyInstanceRepository,
    SqlAlchemySyncSessionRepository,
    create_engine_for,
)

WORKDIR = Path(os.environ["ACCOUNTS_SYNC_TEST_DIR"])
CALLS = WORKDIR / "calls.txt"
RESULTS = WORKDIR / "results.jsonl"
READY = WORKDIR / "ready.json"
HOST_LOG = WORKDIR / "host.log"

_write_lock = threading.Lock()


def _append(path: Path, line: str) -> None:
    with _write_lock, path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


class _HostFormatter(logging.Formatter):
    """The host's format: the library's ``action`` attribute when a record has one."""

    def format(self, record: logging.LogRecord) -> str:
        action = getattr(record, "action", "-")
        return f"{record.levelname} {record.name} action={action} {record.getMessage()}"


# The host configures logging before Celery starts; the worker must keep this handler.
_host_handler = logging.FileHandler(HOST_LOG, encoding="utf-8")
_host_handler.set_name("host")
_host_handler.setFormatter(_HostFormatter())
logging.getLogger().addHandler(_host_handler)
logging.getLogger().setLevel(logging.INFO)

app = Celery("accounts_sync_test_worker", broker=os.environ["ACCOUNTS_SYNC_TEST_BROKER"])
app.conf.update(
    task_default_queue=os.environ["ACCOUNTS_SYNC_TEST_QUEUE"],
    worker_hijack_root_logger=False,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
)


class FileRecordingSync:
    """Records every call in a file (the test runs in another process)."""

    def sync_accounts(
        self,
        instance: Any,
        sync_type: str = "manual_single",
        session_id: str | None = None,
        created_by: int | None = None,
    ) -> dict[str, Any]:
        _append(CALLS, f"{session_id} {instance.id} {sync_type} {created_by}")
        return {"success": True, "synced_count": 2}


def build_service() -> AccountsSyncActionsService[Any]:
    """What the worker runs jobs with: standalone stores on the SQLite file."""
    engine = create_engine_for(os.environ["ACCOUNTS_SYNC_TEST_DB"])
    return AccountsSyncActionsService(
        sync_service=FileRecordingSync(),
        instances=SqlAlchemyInstanceRepository(engine),
        sessions=SqlAlchemySyncSessionRepository(engine),
    )


full_sync = register_full_sync_task(app, build_service)


@task_postrun.connect
def _record_result(
    sender: Any = None, task_id: str | None = None, retval: Any = None, **_: Any
) -> None:
    if sender is not None and sender.name == full_sync.name:
        _append(RESULTS, json.dumps({"task_id": task_id, "retval": retval}))


@worker_ready.connect
def _report_root_handlers(**_: Any) -> None:
    names = [
        handler.get_name() or type(handler).__name__ for handler in logging.getLogger().handlers
    ]
    READY.write_text(json.dumps({"root_handlers": names, "pid": os.getpid()}), encoding="utf-8")
