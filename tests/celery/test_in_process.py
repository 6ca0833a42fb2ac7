"""The Celery launcher and task with Celery's in-process test worker (memory broker, no server)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun

from accounts_sync import AccountsSyncActionsService, FullSyncJob, SessionStatus
from accounts_sync.contrib.celery import (
    DEFAULT_TASK_NAME,
    CeleryLauncher,
    full_sync_beat_entry,
    register_full_sync_task,
    run_full_sync_payload,
)
from accounts_sync.testing import ScriptedSyncService, in_memory_service, make_instances

pytestmark = pytest.mark.timeout(60)

WAIT = 20.0


def _wait_for(predicate: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


class Worker:
    """A Celery app on the memory broker, the registered task, and what the task returned.

    The worker process builds its service once; ``use(service)`` points it at a test's own
    service, so one worker serves the whole module.
    """

    def __init__(self) -> None:
        self.queue = f"accounts-sync-test-{uuid.uuid4().hex[:8]}"
        self.app = Celery(f"accounts_sync_tests_{self.queue}", set_as_current=False)
        self.app.conf.update(
            broker_url="memory://",
            result_backend=None,
            task_default_queue=self.queue,
            worker_hijack_root_logger=False,
            broker_connection_retry_on_startup=False,
        )
        self.factory_calls = 0
        self.service: AccountsSyncActionsService[Any] | None = None
        self.task = register_full_sync_task(self.app, self._factory)
        self.results: list[Any] = []
        self._lock = threading.Lock()

    def _factory(self) -> Any:
        self.factory_calls += 1
        return self  # delegates to the current test's service, see below

    @property
    def sync_task(self) -> Any:
        assert self.service is not None
        return self.service.sync_task

    @property
    def sessions(self) -> Any:
        assert self.service is not None
        return self.service.sessions

    @property
    def messages(self) -> Any:
        assert self.service is not None
        return self.service.messages

    def use(self, service: AccountsSyncActionsService[Any]) -> None:
        self.service = service
        service.launcher = CeleryLauncher(self.app)
        with self._lock:
            self.results.clear()

    def on_postrun(self, sender: Any = None, retval: Any = None, **_: Any) -> None:
        if sender is not None and sender.name == DEFAULT_TASK_NAME:
            with self._lock:
                self.results.append(retval)

    def wait_results(self, count: int) -> list[Any]:
        _wait_for(lambda: len(self.results) >= count)
        with self._lock:
            return list(self.results)


@contextlib.contextmanager
def _running(worker: Worker) -> Iterator[Worker]:
    task_postrun.connect(worker.on_postrun, weak=False)
    try:
        with start_worker(worker.app, pool="solo", perform_ping_check=False, shutdown_timeout=15):
            yield worker
    finally:
        task_postrun.disconnect(worker.on_postrun)


def _saved_root() -> tuple[int, list[logging.Handler]]:
    root = logging.getLogger()
    return root.level, list(root.handlers)


def _restore_root(saved: tuple[int, list[logging.Handler]]) -> None:
    # The worker sets the root level to its log level; handlers are checked by a test.
    root = logging.getLogger()
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]


@pytest.fixture(scope="module")
def module_worker() -> Iterator[Worker]:
    saved = _saved_root()
    try:
        with _running(Worker()) as running:
            yield running
    finally:
        _restore_root(saved)


@pytest.fixture
def service() -> AccountsSyncActionsService[Any]:
    return in_memory_service(make_instances(5), sync_service=ScriptedSyncService())


@pytest.fixture
def worker(module_worker: Worker, service: AccountsSyncActionsService[Any]) -> Worker:
    module_worker.use(service)
    return module_worker


def _status(service: AccountsSyncActionsService[Any], session_id: str) -> SessionStatus | None:
    info = service.sessions.get_session(session_id)
    return None if info is None else info.status


def test_full_sync_runs_on_the_test_worker(
    service: AccountsSyncActionsService[Any], worker: Worker
) -> None:
    prepared = service.prepare_background_full_sync(created_by=3)
    launched = service.launch_background_full_sync(created_by=3, prepared=prepared)
    assert launched.thread_name == prepared.session_id  # the Celery task id is the session id
    (result,) = worker.wait_results(1)
    assert result["claimed"] is True
    assert result["session_id"] == prepared.session_id
    assert result["status"] == "completed"
    info = service.sessions.get_session(prepared.session_id)
    assert info is not None
    assert info.status is SessionStatus.COMPLETED
    assert info.successful_instances == info.total_instances == 5
    calls = service.sync_service.calls  # type: ignore[attr-defined]
    assert sorted(call.instance_id for call in calls) == [1, 2, 3, 4, 5]
    assert {call.session_id for call in calls} == {prepared.session_id}
    assert {call.created_by for call in calls} == {3}
    assert {call.sync_type for call in calls} == {"manual_task"}
    assert worker.factory_calls == 1  # built lazily, once per worker process


def test_duplicate_delivery_runs_once(
    service: AccountsSyncActionsService[Any], worker: Worker
) -> None:
    prepared = service.prepare_background_full_sync(created_by=None)
    job = FullSyncJob(session_id=prepared.session_id)
    launcher = CeleryLauncher(worker.task)  # through the task object this time
    assert launcher.launch(job, lambda _: None) == prepared.session_id
    assert launcher.launch(job, lambda _: None) == prepared.session_id
    first, second = worker.wait_results(2)
    assert (first["claimed"], second["claimed"]) == (True, False)
    assert second["status"] == "completed"
    calls = service.sync_service.calls  # type: ignore[attr-defined]
    assert sorted(call.instance_id for call in calls) == [1, 2, 3, 4, 5]


def test_scheduled_run_from_the_beat_entry(
    service: AccountsSyncActionsService[Any], worker: Worker
) -> None:
    entry = full_sync_beat_entry(3600.0, queue=worker.queue)
    worker.app.send_task(entry["task"], args=entry["args"], **entry["options"])
    (result,) = worker.wait_results(1)
    assert result["claimed"] is True
    assert result["status"] == "completed"
    info = service.sessions.get_session(result["session_id"])
    assert info is not None
    assert info.sync_type == "scheduled_task"
    assert info.created_by is None
    assert info.successful_instances == 5


def test_scheduled_run_skips_while_a_full_sync_is_pending(
    service: AccountsSyncActionsService[Any], worker: Worker
) -> None:
    prepared = service.prepare_background_full_sync(created_by=1)
    worker.task.delay()  # no payload at all is a scheduled run too
    (result,) = worker.wait_results(1)
    assert result["claimed"] is False
    assert result["session_id"] == prepared.session_id
    assert service.sync_service.calls == []  # type: ignore[attr-defined]


def test_worker_leaves_root_handlers_alone(service: AccountsSyncActionsService[Any]) -> None:
    saved = _saved_root()
    root = logging.getLogger()
    sentinel = logging.NullHandler()
    root.addHandler(sentinel)
    before = list(root.handlers)
    harness = Worker()
    harness.use(service)
    try:
        with _running(harness):
            prepared = service.prepare_background_full_sync()
            service.launch_background_full_sync(prepared=prepared)
            harness.wait_results(1)
            during = list(root.handlers)
        after = list(root.handlers)
    finally:
        _restore_root(saved)
    assert during == before
    assert after == before
    assert sentinel in after


# -- without a worker -------------------------------------------------------------------------


class _FakeTask:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def apply_async(self, **kwargs: Any) -> Any:
        self.sent.append(kwargs)
        return type("Result", (), {"id": kwargs["task_id"]})()


class _FakeApp:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send_task(self, name: str, **kwargs: Any) -> Any:
        self.sent.append((name, kwargs))
        return type("Result", (), {"id": kwargs["task_id"]})()


def test_launcher_sends_plain_data_with_the_session_id_as_task_id() -> None:
    task = _FakeTask()
    job = FullSyncJob(session_id="s-1", created_by=4)
    assert CeleryLauncher(task, queue="q", priority=3).launch(job, lambda _: None) == "s-1"
    assert task.sent == [
        {
            "args": ({"session_id": "s-1", "created_by": 4, "manual_run": True},),
            "task_id": "s-1",
            "queue": "q",
            "priority": 3,
        }
    ]
    app = _FakeApp()
    CeleryLauncher(app, task_name="custom.name").launch(job, lambda _: None)
    assert app.sent == [
        (
            "custom.name",
            {
                "args": ({"session_id": "s-1", "created_by": 4, "manual_run": True},),
                "task_id": "s-1",
            },
        )
    ]


def test_launcher_configuration_errors() -> None:
    with pytest.raises(TypeError, match="task id"):
        CeleryLauncher(_FakeTask(), task_id="x")
    with pytest.raises(TypeError, match="Celery app or a registered Celery task"):
        CeleryLauncher(object())
    with pytest.raises(TypeError, match="factory"):
        register_full_sync_task(Celery(set_as_current=False), None)  # type: ignore[arg-type]


def test_broker_failure_fails_the_session() -> None:
    class Unreachable:
        def send_task(self, name: str, **kwargs: Any) -> Any:
            raise ConnectionError("broker unreachable")

    service = in_memory_service(make_instances(2), launcher=CeleryLauncher(Unreachable()))
    prepared = service.prepare_background_full_sync()
    with pytest.raises(ConnectionError):
        service.launch_background_full_sync(prepared=prepared)
    assert _status(service, prepared.session_id) is SessionStatus.FAILED


def test_payload_runner_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    def broken(**_: Any) -> Any:
        raise RuntimeError("store down")

    service = in_memory_service(make_instances(2), sync_task=broken)
    caplog.set_level(logging.ERROR, logger="accounts_sync")
    prepared = service.prepare_background_full_sync()
    assert run_full_sync_payload({"session_id": prepared.session_id}, service) is None
    assert _status(service, prepared.session_id) is SessionStatus.FAILED
    assert run_full_sync_payload(None, service) is None
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert {r.action for r in errors} == {"sync_all_accounts_background"}  # type: ignore[attr-defined]
    assert errors[1].context == {"created_by": None, "session_id": None}  # type: ignore[attr-defined]


def test_task_registration_options() -> None:
    app = Celery(set_as_current=False)
    task = register_full_sync_task(
        app, lambda: in_memory_service(), name="custom.sync", soft_time_limit=600
    )
    assert task.name == "custom.sync"
    assert app.tasks["custom.sync"].acks_late is True
    assert app.tasks["custom.sync"].soft_time_limit == 600
    # Not shared: an app created later does not inherit this app's task.
    assert "custom.sync" not in Celery(set_as_current=False).tasks
