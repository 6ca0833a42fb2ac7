"""Spans and metrics of the core, read back through OpenTelemetry's in-memory SDK."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from accounts_sync import (
    AccountsSyncActionsService,
    InlineLauncher,
    SessionStatus,
    SyncCategory,
    SyncType,
)
from accounts_sync.memory import InMemoryInstanceRepository, InMemorySyncSessionRepository
from accounts_sync.sqlalchemy import (
    SqlAlchemyInstanceRepository,
    SqlAlchemySyncSessionRepository,
    create_all,
    create_engine_for,
    instances_table,
    sqlite_url,
)
from accounts_sync.telemetry import (
    DB_SYSTEM,
    ERROR_TYPE,
    INSTANCE_ID,
    INSTANCE_SPAN,
    INSTANCE_SYNC_DURATION,
    INSTANCE_SYNCS,
    JOB_SPAN,
    LAUNCH_SPAN,
    OUTCOME,
    PREPARE_SPAN,
    RUN_SPAN,
    SESSION_ID,
    SESSION_STATUS,
    SESSIONS_FINISHED,
    SESSIONS_REAPED,
    SESSIONS_RUNNING,
    SINGLE_SPAN,
    SYNC_TYPE,
    SYNCED_COUNT,
)
from accounts_sync.testing import FakeInstance, ManualClock, ScriptedSyncService, in_memory_service

from .conftest import Telemetry

DSN_SECRET = "S3cretPw"
RESULT_SECRET = "hunter2"
INSTANCES = [
    FakeInstance(id=1, name="orders", db_type="postgresql"),
    FakeInstance(id=2, name="billing", db_type="mysql"),
    FakeInstance(id=3, name="reports", db_type="mysql"),
    FakeInstance(id=4, name="audit", db_type="postgresql"),
]


def _failing_sync() -> ScriptedSyncService:
    """Instance 2 raises with a password in a DSN; instance 3 returns one in its message."""
    sync = ScriptedSyncService(default={"success": True, "synced_count": 5})
    sync.script(2, raises=RuntimeError(f"cannot connect to mysql://admin:{DSN_SECRET}@db2/app"))
    sync.script(3, result={"success": False, "message": f"login refused password={RESULT_SECRET}"})
    return sync


@pytest.fixture(params=["memory", "sqlite"])
def make_service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Builds a service on the memory or the SQLite-file store, holding ``INSTANCES``."""
    engines = []

    def build(sync: ScriptedSyncService, **options: Any) -> AccountsSyncActionsService[Any]:
        if request.param == "memory":
            instances: Any = InMemoryInstanceRepository(INSTANCES)
            sessions: Any = InMemorySyncSessionRepository()
        else:
            engine = create_engine_for(sqlite_url(tmp_path / "store.sqlite3"))
            engines.append(engine)
            create_all(engine, instances=instances_table)
            instances = SqlAlchemyInstanceRepository(engine)
            instances.upsert(INSTANCES)
            sessions = SqlAlchemySyncSessionRepository(engine)
        return AccountsSyncActionsService(
            sync_service=sync, instances=instances, sessions=sessions, **options
        )

    yield build
    for engine in engines:
        engine.dispose()


def _wait_for_span(otel: Telemetry, name: str) -> ReadableSpan:
    deadline = time.monotonic() + 10
    while not otel.spans(name):
        assert time.monotonic() < deadline, f"no {name} span"
        time.sleep(0.01)
    return otel.one(name)


def _full_sync(otel: Telemetry, service: AccountsSyncActionsService[Any]) -> tuple[Any, Any]:
    """A full sync launched inside a host's request span, run on the thread launcher."""
    host = otel.tracer_provider.get_tracer("host")
    with host.start_as_current_span("POST /accounts/sync") as request_span:
        prepared = service.prepare_background_full_sync(created_by=7)
        service.launch_background_full_sync(prepared=prepared)
    info = service.wait(prepared.session_id, timeout=30)
    _wait_for_span(otel, JOB_SPAN)  # the job's span ends just after the session does
    return request_span, info


def test_a_full_sync_is_one_run_span_with_one_child_per_instance(
    otel: Telemetry, make_service: Any
) -> None:
    request_span, info = _full_sync(otel, make_service(ScriptedSyncService()))

    trace_id = request_span.get_span_context().trace_id
    assert {span.context.trace_id for span in otel.spans()} == {trace_id}
    prepare, launch = otel.one(PREPARE_SPAN), otel.one(LAUNCH_SPAN)
    job, run = otel.one(JOB_SPAN), otel.one(RUN_SPAN)
    request_id = request_span.get_span_context().span_id
    assert prepare.parent.span_id == request_id
    assert launch.parent.span_id == request_id
    # The job ran on the launcher's thread, the instances on worker threads: still one tree.
    assert job.parent.span_id == launch.context.span_id
    assert run.parent.span_id == job.context.span_id
    children = otel.spans(INSTANCE_SPAN)
    assert len(children) == len(INSTANCES)
    assert {span.parent.span_id for span in children} == {run.context.span_id}
    assert sorted(span.attributes[INSTANCE_ID] for span in children) == [1, 2, 3, 4]
    for span in (prepare, launch, job, run, *children):
        assert span.attributes[SESSION_ID] == info.session_id
    assert run.attributes[OUTCOME] == "completed"
    assert run.attributes[SYNC_TYPE] == SyncType.MANUAL_TASK.value


def test_instance_spans_carry_their_attributes_and_failures_set_error_status(
    otel: Telemetry, make_service: Any
) -> None:
    _, info = _full_sync(otel, make_service(_failing_sync()))
    assert info.status is SessionStatus.COMPLETED_WITH_ERRORS

    spans = {span.attributes[INSTANCE_ID]: span for span in otel.spans(INSTANCE_SPAN)}
    for instance in INSTANCES:
        attributes = spans[instance.id].attributes
        assert attributes[DB_SYSTEM] == instance.db_type
        assert attributes[SESSION_ID] == info.session_id
    for ok in (1, 4):
        assert spans[ok].status.status_code is StatusCode.UNSET
        assert spans[ok].attributes[OUTCOME] == "completed"
        assert spans[ok].attributes[SYNCED_COUNT] == 5
    raised, refused = spans[2], spans[3]
    assert raised.status.status_code is StatusCode.ERROR
    assert raised.attributes[ERROR_TYPE] == "RuntimeError"
    assert "mysql://admin:***@db2/app" in (raised.status.description or "")
    assert refused.status.status_code is StatusCode.ERROR
    assert refused.attributes[ERROR_TYPE] == "SyncFailed"
    assert refused.attributes[OUTCOME] == "failed"
    assert "login refused password=***" in (refused.status.description or "")
    assert otel.one(RUN_SPAN).attributes[OUTCOME] == "completed_with_errors"


def _texts(span: ReadableSpan) -> Iterator[str]:
    yield span.name
    yield span.status.description or ""
    for value in span.attributes.values():
        yield str(value)
    for event in span.events:
        yield event.name
        yield from (str(value) for value in event.attributes.values())


def test_no_secret_of_a_failing_result_reaches_any_span(otel: Telemetry, make_service: Any) -> None:
    service = make_service(_failing_sync(), launcher=InlineLauncher())
    service.launch_background_full_sync(prepared=service.prepare_background_full_sync())
    service.sync_instance_accounts(instance_id=3)
    with pytest.raises(RuntimeError):
        service.sync_instance_accounts(instance_id=2)

    texts = [text for span in otel.spans() for text in _texts(span)]
    assert len(otel.spans(INSTANCE_SPAN)) == 4 and len(otel.spans(SINGLE_SPAN)) == 2
    assert not [text for text in texts if DSN_SECRET in text or RESULT_SECRET in text]
    assert any("password=***" in text for text in texts)  # the message is there, redacted


def test_metric_values_equal_the_session_counters(otel: Telemetry, make_service: Any) -> None:
    service = make_service(_failing_sync(), launcher=InlineLauncher())
    prepared = service.prepare_background_full_sync()
    service.launch_background_full_sync(prepared=prepared)
    info = service.sessions.get_session(prepared.session_id)

    syncs = otel.values(INSTANCE_SYNCS.name)
    assert syncs == {
        ((OUTCOME, "failed"), (DB_SYSTEM, "mysql")): 2,
        ((OUTCOME, "completed"), (DB_SYSTEM, "postgresql")): 2,
    }
    by_outcome: dict[str, int] = {}
    for attributes, value in syncs.items():
        outcome = dict(attributes)[OUTCOME]
        by_outcome[outcome] = by_outcome.get(outcome, 0) + value
    assert by_outcome == {"completed": info.successful_instances, "failed": info.failed_instances}
    durations = otel.values(INSTANCE_SYNC_DURATION.name)
    assert sum(durations.values()) == info.total_instances
    assert set(durations) == {((DB_SYSTEM, "mysql"),), ((DB_SYSTEM, "postgresql"),)}
    assert otel.values(SESSIONS_FINISHED.name) == {((SESSION_STATUS, info.status.value),): 1}
    assert otel.values(SESSIONS_RUNNING.name) == {(): 0}


def test_the_single_instance_action_is_one_span_with_its_outcome(otel: Telemetry) -> None:
    service = in_memory_service(INSTANCES, sync_service=_failing_sync())
    service.sync_instance_accounts(instance_id=1, sync_type="api")
    service.sync_instance_accounts(instance_id=3)

    ok, refused = otel.spans(SINGLE_SPAN)
    assert ok.parent is None
    assert dict(ok.attributes) == {
        INSTANCE_ID: 1,
        SYNC_TYPE: "api",
        DB_SYSTEM: "postgresql",
        OUTCOME: "completed",
        SYNCED_COUNT: 5,
    }
    assert ok.status.status_code is StatusCode.UNSET
    assert refused.attributes[OUTCOME] == "failed"
    assert refused.status.status_code is StatusCode.ERROR
    assert refused.attributes[ERROR_TYPE] == "SyncFailed"


def test_a_reaped_session_is_counted_once(otel: Telemetry) -> None:
    clock = ManualClock()
    service = in_memory_service(INSTANCES, clock=clock)
    stale = service.sessions.create_session(
        sync_type=SyncType.MANUAL_TASK, sync_category=SyncCategory.ACCOUNT, created_by=None
    )
    clock.advance(dt.timedelta(hours=1))

    prepared = service.prepare_background_full_sync()

    assert prepared.session_id != stale.session_id
    assert otel.values(SESSIONS_REAPED.name) == {(): 1}
    assert otel.values(SESSIONS_FINISHED.name) == {((SESSION_STATUS, "failed"),): 1}
    assert otel.one(PREPARE_SPAN).attributes[SESSION_ID] == prepared.session_id


def test_a_run_that_raises_fails_its_span_and_counts_a_failed_session(
    otel: Telemetry,
) -> None:
    service = in_memory_service(INSTANCES)

    def broken() -> list[Any]:
        raise ConnectionError(f"instance store down: postgresql://app:{DSN_SECRET}@inv/db")

    service.instances.list_active = broken  # type: ignore[method-assign]
    prepared = service.prepare_background_full_sync()
    service.launch_background_full_sync(prepared=prepared)

    run, job = otel.one(RUN_SPAN), otel.one(JOB_SPAN)
    assert run.status.status_code is StatusCode.ERROR
    assert run.attributes[ERROR_TYPE] == "ConnectionError"
    assert job.status.status_code is StatusCode.ERROR
    assert DSN_SECRET not in str(run.status.description) + str(job.status.description)
    assert otel.values(SESSIONS_FINISHED.name) == {((SESSION_STATUS, "failed"),): 1}
    assert otel.values(SESSIONS_RUNNING.name) == {(): 0}


@pytest.mark.parametrize("instance_timeout", [None, 5.0])
def test_the_hosts_spans_inside_a_sync_nest_under_the_instance_span(
    otel: Telemetry, instance_timeout: float | None
) -> None:
    host = otel.tracer_provider.get_tracer("host")

    def collect(instance: Any) -> dict[str, Any]:
        with host.start_as_current_span("SELECT FROM pg_roles"):
            return {"success": True, "synced_count": 1}

    sync = ScriptedSyncService(default={"success": True, "synced_count": 1})
    for instance in INSTANCES:
        sync.script(instance.id, call=collect)
    service = in_memory_service(INSTANCES, sync_service=sync, instance_timeout=instance_timeout)
    service.launch_background_full_sync(prepared=service.prepare_background_full_sync())
    service.sync_instance_accounts(instance_id=1)

    parents = {span.parent.span_id for span in otel.spans("SELECT FROM pg_roles")}
    owners = otel.spans(INSTANCE_SPAN) + otel.spans(SINGLE_SPAN)
    assert parents == {span.context.span_id for span in owners}
