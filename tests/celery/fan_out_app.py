"""The Celery app of the fan-out tests and benchmarks, run by real worker processes.

Configured from environment variables: the Redis broker, a queue of its own, the shared SQL
store, a directory for evidence (``calls.txt``: one ``session instance pid`` line per sync
call; ``results.jsonl``: every task's return value), and the work per instance
(``ACCOUNTS_SYNC_FANOUT_CPU_MS`` of busy CPU, ``ACCOUNTS_SYNC_FANOUT_SLEEP_MS`` of waiting).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_process_init, worker_ready

from accounts_sync import AccountsSyncActionsService, FullSyncTask, Messages
from accounts_sync.contrib.celery import register_full_sync_task
from accounts_sync.sqlalchemy import (
    SqlAlchemyInstanceRepository,
    SqlAlchemySyncSessionRepository,
    create_engine_for,
)

WORKDIR = Path(os.environ["ACCOUNTS_SYNC_TEST_DIR"])
RECORD_CALLS = os.environ.get("ACCOUNTS_SYNC_FANOUT_RECORD", "1") == "1"  # calls.txt
CPU_SECONDS = float(os.environ.get("ACCOUNTS_SYNC_FANOUT_CPU_MS", "0")) / 1000
SLEEP_SECONDS = float(os.environ.get("ACCOUNTS_SYNC_FANOUT_SLEEP_MS", "0")) / 1000
LEASE = dt.timedelta(seconds=float(os.environ.get("ACCOUNTS_SYNC_FANOUT_LEASE", "3")))

app = Celery("accounts_sync_fan_out_test", broker=os.environ["ACCOUNTS_SYNC_TEST_BROKER"])
app.conf.update(
    task_default_queue=os.environ["ACCOUNTS_SYNC_TEST_QUEUE"],
    worker_hijack_root_logger=False,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
)


def _append(name: str, line: str) -> None:
    # One write of one short line in append mode: lines of several processes never mix.
    with (WORKDIR / name).open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


class BusySync:
    """Spends the configured CPU and wait per instance, and records the call."""

    def sync_accounts(
        self,
        instance: Any,
        sync_type: str = "manual_single",
        session_id: str | None = None,
        created_by: int | None = None,
    ) -> dict[str, Any]:
        if RECORD_CALLS:
            _append("calls.txt", f"{session_id} {instance.id} {os.getpid()}")
        # This thread's CPU time: other threads of the chunk spin on their own.
        end = time.thread_time() + CPU_SECONDS
        while time.thread_time() < end:
            pass
        if SLEEP_SECONDS:
            time.sleep(SLEEP_SECONDS)
        return {"success": True, "synced_count": 1}


_built: list[AccountsSyncActionsService[Any]] = []


def build_service() -> AccountsSyncActionsService[Any]:
    """The service of this process, built when the pool process starts (see ``_warm``)."""
    if not _built:
        _built.append(_new_service())
    return _built[0]


def _new_service() -> AccountsSyncActionsService[Any]:
    engine = create_engine_for(os.environ["ACCOUNTS_SYNC_TEST_DB"])
    instances: SqlAlchemyInstanceRepository[Any] = SqlAlchemyInstanceRepository(engine)
    sessions = SqlAlchemySyncSessionRepository(engine)
    sync = BusySync()
    task = FullSyncTask(
        instances=instances,
        sessions=sessions,
        sync_service=sync,
        max_workers=int(os.environ.get("ACCOUNTS_SYNC_FANOUT_THREADS", "1")),
        heartbeat_interval=1.0,
        messages=Messages.english(),
    )
    return AccountsSyncActionsService(
        sync_service=sync, instances=instances, sessions=sessions, sync_task=task
    )


full_sync = register_full_sync_task(
    app,
    build_service,
    fan_out=True,
    chunk_size=int(os.environ.get("ACCOUNTS_SYNC_FANOUT_CHUNK", "50")),
    lease=LEASE,
)


@worker_process_init.connect
def _warm(**_: Any) -> None:
    # Connect to the store and the broker before the first task, as a long-running worker
    # has, so a benchmark times the run, not the process's start-up.
    build_service().sessions.get_session("warm-up")
    with app.producer_or_acquire() as producer:
        producer.connection.ensure_connection()


@task_prerun.connect
def _record_start(sender: Any = None, task_id: str | None = None, **_: Any) -> None:
    if sender is not None:
        _append("starts.jsonl", json.dumps({"task": sender.name, "id": task_id, "at": time.time()}))


@task_postrun.connect
def _record_result(
    sender: Any = None, task_id: str | None = None, retval: Any = None, **_: Any
) -> None:
    if sender is not None:
        done = {"task": sender.name, "id": task_id, "ret": retval, "at": time.time()}
        _append("results.jsonl", json.dumps(done))


@worker_ready.connect
def _ready(**_: Any) -> None:
    (WORKDIR / f"ready-{os.getpid()}").write_text("ready", encoding="utf-8")
