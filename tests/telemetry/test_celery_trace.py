"""One trace from the web request to a real Celery worker, through the task's headers."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from accounts_sync import AccountsSyncActionsService, SessionStatus
from accounts_sync.contrib.celery import CeleryLauncher
from accounts_sync.sqlalchemy import (
    SqlAlchemyInstanceRepository,
    SqlAlchemySyncSessionRepository,
    create_all,
    create_engine_for,
    instances_table,
    sqlite_url,
)
from accounts_sync.telemetry import INSTANCE_SPAN, JOB_SPAN, LAUNCH_SPAN, RUN_SPAN
from accounts_sync.testing import ScriptedSyncService, make_instances
from tests.celery.fan_out_cluster import ROOT, purge, stop, wait_for, worker_env

from ..conftest import REDIS_URL, require_server
from .conftest import Telemetry
from .span_file import read_spans

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.timeout(180)]

INSTANCES = 3


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[tuple[AccountsSyncActionsService[Any], Path]]:
    """A worker of ``otel_worker_app`` on its own queue, and the web side's service."""
    require_server("Redis", REDIS_URL, 6379, variable="ACCOUNTS_SYNC_REDIS_URL")
    db_url = sqlite_url(tmp_path / "store.sqlite3")
    engine = create_engine_for(db_url)
    create_all(engine, instances=instances_table)
    instances = SqlAlchemyInstanceRepository(engine)
    instances.upsert(make_instances(INSTANCES))
    queue = f"accounts_sync_test_{uuid.uuid4().hex[:12]}"
    env = worker_env(tmp_path, broker=REDIS_URL, queue=queue, database=db_url)
    command = [sys.executable, "-m", "celery", "-A", "tests.telemetry.otel_worker_app"]
    command += ["worker", "--pool=solo", "--queues", queue, "--hostname", f"{queue}@%h"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    with (tmp_path / "worker.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    producer = Celery("accounts_sync_test_web", broker=REDIS_URL, set_as_current=False)
    service = AccountsSyncActionsService(
        sync_service=ScriptedSyncService(),  # never called here: the worker does the work
        instances=instances,
        sessions=SqlAlchemySyncSessionRepository(engine),
        launcher=CeleryLauncher(producer, queue=queue),
    )
    try:
        wait_for(lambda: (tmp_path / "ready.json").exists(), "the worker to be ready")
        yield service, tmp_path / "spans.jsonl"
    finally:
        stop(process, signal.SIGTERM)
        producer.close()
        purge(REDIS_URL, queue)
        engine.dispose()


def test_the_workers_spans_continue_the_requests_trace(
    otel: Telemetry, worker: tuple[AccountsSyncActionsService[Any], Path]
) -> None:
    service, spans_file = worker
    host = otel.tracer_provider.get_tracer("host")
    with host.start_as_current_span("POST /accounts/sync") as request_span:
        prepared = service.prepare_background_full_sync(created_by=5)
        service.launch_background_full_sync(prepared=prepared)
    session_id = prepared.session_id

    info = wait_for(
        lambda: (found := service.sessions.get_session(session_id)) and found.is_terminal and found,
        "the session to finish",
    )
    assert info.status is SessionStatus.COMPLETED
    spans = wait_for(
        lambda: (
            [s for s in read_spans(spans_file, session_id) if s["name"] == JOB_SPAN]
            and read_spans(spans_file, session_id)
        ),
        "the worker's job span",
    )

    trace_id = format(request_span.get_span_context().trace_id, "032x")
    assert {span["trace_id"] for span in spans} == {trace_id}
    by_name: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        by_name.setdefault(span["name"], []).append(span)
    (job,), (run,) = by_name[JOB_SPAN], by_name[RUN_SPAN]
    launch = otel.one(LAUNCH_SPAN)
    assert job["parent_id"] == format(launch.context.span_id, "016x")
    assert run["parent_id"] == job["span_id"]
    assert len(by_name[INSTANCE_SPAN]) == INSTANCES
    assert {span["parent_id"] for span in by_name[INSTANCE_SPAN]} == {run["span_id"]}
