"""A real Celery worker process on the Redis broker, with the SQLite-file store.

The test process plays the web side (prepare, then ``CeleryLauncher``); the worker, started with
``celery -A tests.celery.worker_app worker --pool=solo``, runs the jobs. Each run uses a queue of
its own, so parallel runs on the same Redis never collide.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from celery import Celery

from accounts_sync import AccountsSyncActionsService, FullSyncJob, SessionStatus
from accounts_sync.contrib.celery import CeleryLauncher
from accounts_sync.sqlalchemy import (
    SqlAlchemyInstanceRepository,
    SqlAlchemySyncSessionRepository,
    create_all,
    create_engine_for,
    instances_table,
    sqlite_url,
)
from accounts_sync.testing import ScriptedSyncService, make_instances

from ..conftest import REDIS_URL, require_server
from .fan_out_cluster import ROOT, purge, stop, wait_for, worker_env

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.timeout(180)]

INSTANCES = 4
WAIT = 45.0


def _wait_for(predicate: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    return wait_for(predicate, what, timeout)


@attrs.define
class Deployment:
    """The web side's service, the worker process and the files it writes."""

    service: AccountsSyncActionsService[Any]
    launcher: CeleryLauncher
    process: subprocess.Popen[bytes]
    workdir: Path
    worker_log: Path

    def lines(self, name: str) -> list[str]:
        path = self.workdir / name
        return path.read_text(encoding="utf-8").splitlines() if path.exists() else []

    def calls_for(self, session_id: str) -> list[int]:
        return sorted(
            int(line.split()[1]) for line in self.lines("calls.txt") if line.startswith(session_id)
        )

    def results_for(self, session_id: str) -> list[dict[str, Any]]:
        decoded = (json.loads(line) for line in self.lines("results.jsonl"))
        return [item["retval"] for item in decoded if item["task_id"] == session_id]

    def alive(self) -> bool:
        if self.process.poll() is None:
            return True
        raise AssertionError(
            f"worker exited with {self.process.returncode}:\n"
            + self.worker_log.read_text(encoding="utf-8", errors="replace")[-4000:]
        )

    def wait_terminal(self, session_id: str) -> Any:
        def terminal() -> Any:
            self.alive()
            info = self.service.sessions.get_session(session_id)
            return info if info is not None and info.is_terminal else None

        return _wait_for(terminal, f"session {session_id} to finish")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    require_server("Redis", REDIS_URL, 6379, variable="ACCOUNTS_SYNC_REDIS_URL")
    workdir = tmp_path_factory.mktemp("celery_worker")
    db_url = sqlite_url(workdir / "store.sqlite3")
    engine = create_engine_for(db_url)
    create_all(engine, instances=instances_table)
    instances = SqlAlchemyInstanceRepository(engine)
    instances.upsert(make_instances(INSTANCES))

    queue = f"accounts_sync_test_{uuid.uuid4().hex[:12]}"
    env = worker_env(workdir, broker=REDIS_URL, queue=queue, database=db_url)
    worker_log = workdir / "worker.log"
    with worker_log.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.celery.worker_app",
                "worker",
                "--pool=solo",
                "--queues",
                queue,
                "--hostname",
                f"{queue}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    producer = Celery("accounts_sync_test_web", broker=REDIS_URL, set_as_current=False)
    launcher = CeleryLauncher(producer, queue=queue)
    deployed = Deployment(
        service=AccountsSyncActionsService(
            sync_service=ScriptedSyncService(),  # never called here: the worker does the work
            instances=instances,
            sessions=SqlAlchemySyncSessionRepository(engine),
            launcher=launcher,
        ),
        launcher=launcher,
        process=process,
        workdir=workdir,
        worker_log=worker_log,
    )
    try:
        _wait_for(
            lambda: deployed.alive() and (workdir / "ready.json").exists(),
            "the worker to be ready",
        )
        yield deployed
    finally:
        stop(process, signal.SIGTERM)  # warm shutdown
        producer.close()
        purge(REDIS_URL, queue)
        engine.dispose()


def test_real_worker_runs_a_full_sync_to_completed(deployment: Deployment) -> None:
    service = deployment.service
    prepared = service.prepare_background_full_sync(created_by=5)
    session_id = prepared.session_id
    launched = service.launch_background_full_sync(created_by=5, prepared=prepared)
    assert launched.thread_name == prepared.session_id

    info = deployment.wait_terminal(prepared.session_id)
    assert info.status is SessionStatus.COMPLETED
    assert info.total_instances == info.successful_instances == INSTANCES
    records = service.sessions.list_records(prepared.session_id)
    assert [r.status.value for r in records] == ["completed"] * INSTANCES
    assert [r.items_synced for r in records] == [2] * INSTANCES
    assert deployment.calls_for(prepared.session_id) == list(range(1, INSTANCES + 1))
    this_session = [line for line in deployment.lines("calls.txt") if line.startswith(session_id)]
    assert {tuple(line.split()[2:]) for line in this_session} == {("manual_task", "5")}
    assert [item.sync_count for item in service.instances.list_active()] == [1] * INSTANCES


def test_same_job_delivered_twice_runs_once(deployment: Deployment) -> None:
    service = deployment.service
    prepared = service.prepare_background_full_sync(created_by=None)
    job = FullSyncJob(session_id=prepared.session_id)
    assert deployment.launcher.launch(job, lambda _: None) == prepared.session_id
    assert deployment.launcher.launch(job, lambda _: None) == prepared.session_id

    results = _wait_for(
        lambda: deployment.alive() and len(deployment.results_for(prepared.session_id)) >= 2,
        "both deliveries to be processed",
    )
    assert results
    first, second = deployment.results_for(prepared.session_id)
    assert (first["claimed"], second["claimed"]) == (True, False)
    assert first["status"] == second["status"] == "completed"
    assert deployment.wait_terminal(prepared.session_id).status is SessionStatus.COMPLETED
    # The sync service ran once per instance, not twice.
    assert deployment.calls_for(prepared.session_id) == list(range(1, INSTANCES + 1))


def test_real_worker_keeps_the_host_root_handlers(deployment: Deployment) -> None:
    ready = json.loads((deployment.workdir / "ready.json").read_text(encoding="utf-8"))
    assert ready["root_handlers"] == ["host"]
    assert ready["pid"] == deployment.process.pid
    # The library's records reached the host's handler, with their structured attributes.
    host_log = deployment.workdir / "host.log"
    _wait_for(
        lambda: "accounts_sync._full_sync action=sync_all_accounts " in host_log.read_text("utf-8"),
        "a library record in the host's log",
    )


def test_scheduled_run_through_a_real_worker(deployment: Deployment) -> None:
    from accounts_sync.contrib.celery import full_sync_beat_entry

    entry = full_sync_beat_entry(60.0, queue=deployment.launcher.options["queue"])
    task_id = str(uuid.uuid4())
    producer = deployment.launcher.target
    producer.send_task(entry["task"], args=entry["args"], task_id=task_id, **entry["options"])
    (result,) = _wait_for(
        lambda: deployment.alive() and deployment.results_for(task_id), "the scheduled run"
    )
    assert result["claimed"] is True
    assert result["status"] == "completed"
    info = deployment.service.sessions.get_session(result["session_id"])
    assert info is not None
    assert info.sync_type == "scheduled_task"
    assert info.successful_instances == INSTANCES
    assert deployment.calls_for(info.session_id) == list(range(1, INSTANCES + 1))
