"""The logging contract, redaction in logs, and a silent package by default."""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Callable

import pytest

from accounts_sync import ConflictError, NotFoundError, SessionStatus, ValidationError
from accounts_sync.testing import (
    FakeInstance,
    ManualClock,
    RecordingLauncher,
    ScriptedSyncService,
    in_memory_service,
    make_instances,
)

from .support import assert_log_contract, assert_record_free_of

Logs = Callable[[], list[logging.LogRecord]]
SECRET = "Tr0ub4dor-secret-value"


def exercise_everything(clock: ManualClock) -> None:
    """Drive every flow, the unhappy ones included, with a secret hidden everywhere."""
    url = f"mysql://root:{SECRET}@db:3306/app"
    sync = ScriptedSyncService()
    sync.script(
        1,
        result={"success": True, "synced_count": 2, "password": SECRET, "message": f"synced {url}"},
    )
    sync.script(
        2, result={"success": False, "message": f"denied at {url}", "details": [{"token": SECRET}]}
    )
    sync.script(3, raises=ConnectionError(f"cannot reach {url}"))
    sync.script(4, result=None)
    sync.script(5, result=["not", "a", "mapping"])
    gone = FakeInstance(
        id=6, name="gone", deleted_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    )
    instances = [*make_instances(5), gone]
    launcher = RecordingLauncher()
    service = in_memory_service(instances, sync_service=sync, launcher=launcher, clock=clock)

    for instance_id in (1, 2, 4):
        service.sync_instance_accounts(instance_id=instance_id, actor_id=1)
    with pytest.raises(ConnectionError):
        service.sync_instance_accounts(instance_id=3, actor_id=1)
    with pytest.raises(NotFoundError):
        service.sync_instance_accounts(instance_id=6)
    with pytest.raises(ValidationError):
        service.sync_instance_accounts(instance_id=0)

    stale = service.prepare_background_full_sync(created_by=1)
    clock.advance(dt.timedelta(minutes=11))
    prepared = service.prepare_background_full_sync(created_by=1)  # reaps ``stale``
    with pytest.raises(ConflictError):
        service.prepare_background_full_sync(created_by=1)
    service.launch_background_full_sync(created_by=1, prepared=prepared)
    assert service.sync_task(manual_run=False).claimed is False  # conflict: warning
    launcher.run_all()
    launcher.run_all()
    service.launch_background_full_sync(created_by=1, prepared=prepared)  # duplicate
    launcher.run_all()
    assert service.sessions.get_session(stale.session_id).status is SessionStatus.FAILED
    assert service.sessions.get_session(prepared.session_id).status is (
        SessionStatus.COMPLETED_WITH_ERRORS
    )

    launcher.fail_with = RuntimeError(f"broker {url} down")
    third = service.prepare_background_full_sync(created_by=2)
    with pytest.raises(RuntimeError):
        service.launch_background_full_sync(created_by=2, prepared=third)

    def failing_task(**_: object) -> None:
        raise RuntimeError(f"worker lost {url}")

    service.sync_task = failing_task
    launcher.fail_with = None
    fourth = service.prepare_background_full_sync(created_by=3)
    service.launch_background_full_sync(created_by=3, prepared=fourth)
    launcher.run_all()


def test_every_library_record_carries_action_and_context(
    clock: ManualClock, lib_logs: Logs
) -> None:
    exercise_everything(clock)
    records = lib_logs()

    assert {logging.INFO, logging.WARNING, logging.ERROR} <= {r.levelno for r in records}
    assert_log_contract(records)
    for record in records:
        # Structured fields are plain JSON data (ids and names, never objects).
        json.dumps(record.context)
    actions = {r.action for r in records}
    assert {
        "sync_instance_accounts",
        "prepare_background_full_sync",
        "sync_all_accounts_background",
        "sync_all_accounts",
    } <= actions


def test_no_secret_reaches_any_attribute_of_any_record(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    exercise_everything(clock)
    assert caplog.records
    for record in caplog.records:
        assert_record_free_of(record, SECRET)
    assert SECRET not in caplog.text


def test_error_records_name_the_error() -> None:
    service = in_memory_service(
        make_instances(1), sync_service=ScriptedSyncService().script(1, raises=KeyError("k"))
    )
    logger = logging.getLogger("accounts_sync")
    seen: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler = Collect(logging.ERROR)
    logger.addHandler(handler)
    try:
        with pytest.raises(KeyError):
            service.sync_instance_accounts(instance_id=1)
    finally:
        logger.removeHandler(handler)
    assert [(r.error_type, r.error_message) for r in seen] == [("KeyError", "'k'")]


def test_a_plain_basic_config_shows_what_failed_and_why() -> None:
    """With only ``logging.basicConfig()``, the error line names the error and its message."""
    code = textwrap.dedent(
        f"""
        import logging
        logging.basicConfig()
        from accounts_sync.testing import in_memory_service, make_instances
        from accounts_sync.testing import ScriptedSyncService
        boom = ConnectionError("cannot reach mysql://root:{SECRET}@db:3306")
        sync = ScriptedSyncService().script(1, raises=boom)
        service = in_memory_service(make_instances(1), sync_service=sync)
        try:
            service.sync_instance_accounts(instance_id=1)
        except ConnectionError:
            pass
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1
    assert errors[0].endswith(": ConnectionError: cannot reach mysql://root:***@db:3306")
    assert SECRET not in done.stderr


def test_the_package_adds_only_a_null_handler() -> None:
    root = logging.getLogger("accounts_sync")
    assert [type(h) for h in root.handlers] == [logging.NullHandler]
    for name in ("service", "full_sync", "jobs"):
        assert logging.getLogger(f"accounts_sync.{name}").handlers == []


def test_importing_configures_nothing() -> None:
    code = textwrap.dedent(
        """
        import logging
        import accounts_sync, accounts_sync.memory, accounts_sync.testing
        from accounts_sync.testing import in_memory_service, make_instances
        from accounts_sync.testing import ScriptedSyncService
        service = in_memory_service(make_instances(1))
        service.sync_instance_accounts(instance_id=1)
        service.sync_service = ScriptedSyncService(default=None)
        assert not service.sync_instance_accounts(instance_id=1).success  # an ERROR record
        lib = logging.getLogger("accounts_sync")
        print(len(logging.getLogger().handlers), logging.getLogger().level,
              [type(h).__name__ for h in lib.handlers], lib.level, lib.propagate)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["0", "30", "['NullHandler']", "0", "True"]
    assert done.stderr == ""  # nothing printed through logging.lastResort either
