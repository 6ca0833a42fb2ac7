"""Real Celery worker processes running ``tests.celery.fan_out_app`` on a Redis broker and a
shared SQL store: the fan-out tests and benchmarks start and stop them with this."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
from celery import Celery

from accounts_sync import AccountsSyncActionsService, Messages
from accounts_sync.contrib.celery import CeleryLauncher
from accounts_sync.sqlalchemy import (
    SqlAlchemyInstanceRepository,
    SqlAlchemySyncSessionRepository,
    create_all,
    create_engine_for,
    instances_table,
)
from accounts_sync.testing import ScriptedSyncService, make_instances

ROOT = Path(__file__).resolve().parents[2]
APP = "tests.celery.fan_out_app"


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@attrs.define
class Cluster:
    """The web side (service, launcher, producer) and the worker processes."""

    workdir: Path
    queue: str
    service: AccountsSyncActionsService[Any]
    producer: Celery
    workers: list[subprocess.Popen[bytes]] = attrs.Factory(list)

    def lines(self, name: str) -> list[str]:
        path = self.workdir / name
        return path.read_text(encoding="utf-8").splitlines() if path.exists() else []

    def calls(self, session_id: str) -> list[tuple[int, int]]:
        """``(instance_id, pid)`` of every sync call of the session."""
        found = []
        for line in self.lines("calls.txt"):
            session, instance_id, pid = line.split()
            if session == session_id:
                found.append((int(instance_id), int(pid)))
        return found

    def results(self, task_suffix: str = "") -> list[Any]:
        decoded = (json.loads(line) for line in self.lines("results.jsonl"))
        return [item["ret"] for item in decoded if item["task"].endswith(task_suffix)]

    def alive(self) -> bool:
        for worker in self.workers:
            if worker.poll() is not None:
                raise AssertionError(f"a worker exited with {worker.returncode}: {self.log()}")
        return True

    def log(self) -> str:
        return "\n".join(
            path.read_text(encoding="utf-8", errors="replace")[-3000:]
            for path in sorted(self.workdir.glob("worker-*.log"))
        )

    def run(self, created_by: int | None = 1, timeout: float = 120.0) -> Any:
        """Prepare and launch a full sync from the web side; wait for its end; its info."""
        prepared = self.service.prepare_background_full_sync(created_by=created_by)
        self.service.launch_background_full_sync(prepared=prepared)
        return self.wait_terminal(prepared.session_id, timeout)

    def wait_terminal(self, session_id: str, timeout: float = 120.0) -> Any:
        def terminal() -> Any:
            self.alive()
            info = self.service.sessions.get_session(session_id)
            return info if info is not None and info.is_terminal else None

        return wait_for(terminal, f"session {session_id} to finish", timeout)

    def send_chunk(self, payload: Mapping[str, Any]) -> None:
        self.producer.send_task(
            "accounts_sync._full_sync_chunk", args=(dict(payload),), queue=self.queue
        )


def worker_env(workdir: Path, *, broker: str, queue: str, database: str) -> dict[str, str]:
    """The environment a test's worker app reads (``tests/celery/*_app.py``), importable from
    the repository root."""
    return {
        **os.environ,
        "ACCOUNTS_SYNC_TEST_DIR": str(workdir),
        "ACCOUNTS_SYNC_TEST_BROKER": broker,
        "ACCOUNTS_SYNC_TEST_QUEUE": queue,
        "ACCOUNTS_SYNC_TEST_DB": database,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }


@contextlib.contextmanager
def cluster(
    workdir: Path,
    *,
    broker: str,
    database: str,
    instances: int,
    workers: int = 2,
    env: Mapping[str, str] | None = None,
    app: str = APP,
) -> Iterator[Cluster]:
    """``workers`` worker processes (prefork, one child each) of the Celery ``app`` module on a
    queue of their own, and a fresh store of ``instances`` instances in ``database``."""
    engine = create_engine_for(database)
    create_all(engine, instances=instances_table)
    repository: SqlAlchemyInstanceRepository[Any] = SqlAlchemyInstanceRepository(engine)
    repository.upsert(make_instances(instances))
    queue = f"accounts_sync_fanout_{uuid.uuid4().hex[:12]}"
    producer = Celery("accounts_sync_fanout_web", broker=broker, set_as_current=False)
    made = Cluster(
        workdir=workdir,
        queue=queue,
        service=AccountsSyncActionsService(
            sync_service=ScriptedSyncService(),  # the workers do the work
            instances=repository,
            sessions=SqlAlchemySyncSessionRepository(engine),
            launcher=CeleryLauncher(producer, queue=queue),
            messages=Messages.english(),
        ),
        producer=producer,
    )
    variables = {
        **worker_env(workdir, broker=broker, queue=queue, database=database),
        **(env or {}),
    }
    try:
        for index in range(workers):
            made.workers.append(_start_worker(workdir, queue, index, variables, app))
        wait_for(
            lambda: made.alive() and len(list(workdir.glob("ready-*"))) >= workers,
            "the workers to be ready",
        )
        # The web side's first send loads the broker transport; a running web app has.
        with producer.producer_or_acquire() as warm:
            warm.connection.ensure_connection()
        yield made
    finally:
        for worker in made.workers:
            stop(worker, signal.SIGQUIT)  # cold shutdown: a test's leftovers need not finish
        producer.close()
        purge(broker, queue)
        engine.dispose()


def _start_worker(
    workdir: Path, queue: str, index: int, env: Mapping[str, str], app: str
) -> subprocess.Popen[bytes]:
    with (workdir / f"worker-{index}.log").open("wb") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                app,
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                "--queues",
                queue,
                "--hostname",
                f"{queue}_{index}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=WARNING",
            ],
            cwd=ROOT,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen[bytes], how: signal.Signals) -> None:
    """Stop a worker with ``how`` (SIGTERM: warm, SIGQUIT: cold), killing it if it lingers."""
    if process.poll() is not None:
        return
    process.send_signal(how)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def purge(broker: str, queue: str) -> None:
    """Delete the queue and kombu's binding keys for it."""
    import redis

    client = redis.Redis.from_url(broker)
    try:
        keys = list(client.scan_iter(match=f"*{queue}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
