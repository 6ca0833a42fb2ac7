"""Every public list, pinned: a name joins or leaves a package's public face only on purpose.

In the manner of httpx's own test: each package's ``__all__`` is exactly the list below, every
name in it resolves, and no other public (non-module) attribute is left lying around.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TypeVar

import pytest

PUBLIC = {
    "accounts_sync": [
        "AccountsSyncActionResult",
        "AccountsSyncActionsService",
        "AccountsSyncBackgroundLaunchResult",
        "AccountsSyncBackgroundPreparedSession",
        "AccountsSyncError",
        "ConflictError",
        "ExecutorLauncher",
        "FullSyncJob",
        "FullSyncSummary",
        "FullSyncTask",
        "InlineLauncher",
        "InstanceRepository",
        "Launcher",
        "Messages",
        "NotFoundError",
        "RecordStatus",
        "SessionStatus",
        "SupportsAccountSync",
        "SyncCategory",
        "SyncRecordInfo",
        "SyncSessionInfo",
        "SyncSessionRepository",
        "SyncType",
        "ThreadLauncher",
        "ValidationError",
        "normalize_sync_result",
        "redact",
        "run_full_sync_job",
    ],
    "accounts_sync.ports": [
        "Clock",
        "FullSyncJob",
        "InstanceRepository",
        "Launcher",
        "RecordClaim",
        "RecordOutcome",
        "SupportsAccountSync",
        "SupportsBulkSyncCount",
        "SupportsCountedRecords",
        "SupportsGetMany",
        "SupportsInstance",
        "SupportsRecordAdvance",
        "SupportsRecordClaims",
        "SupportsRecordPages",
        "SupportsSessionPages",
        "SyncSessionRepository",
        "SyncTask",
        "utc_now",
    ],
    "accounts_sync.memory": ["InMemoryInstanceRepository", "InMemorySyncSessionRepository"],
    "accounts_sync.sqlalchemy": [
        "DEFAULT_DEMO_URL",
        "DEFAULT_PREFIX",
        "Bind",
        "BoundSession",
        "InstanceColumns",
        "InstanceRow",
        "MissingDriverError",
        "PendingLaunch",
        "SchemaMissingError",
        "Scope",
        "SqlAlchemyInstanceRepository",
        "SqlAlchemySyncSessionRepository",
        "SyncTables",
        "UtcDateTime",
        "build_instances_table",
        "build_tables",
        "configure_sqlite",
        "create_all",
        "create_engine_for",
        "instances_table",
        "launch_after_commit",
        "require_driver",
        "sqlite_url",
        "sync_tables",
    ],
    "accounts_sync.collectors": [
        "OWNER",
        "PUBLIC_KEY",
        "AccountKind",
        "AccountSnapshot",
        "AttributeValue",
        "Attributes",
        "Bind",
        "CollectionError",
        "Collector",
        "CollectorRegistry",
        "Membership",
        "MySQLCollector",
        "MySQLServer",
        "NameFilter",
        "PostgresCollector",
        "Privilege",
        "PrivilegeScope",
        "ServerSnapshot",
        "StaticCollector",
        "UnsupportedDatabaseError",
        "canonical_json",
        "default_registry",
        "parse_server_version",
        "read_only_scope",
        "sorted_memberships",
        "sorted_privileges",
    ],
    "accounts_sync.collectors.dsn": [
        "DSN_ENV_PREFIX",
        "MissingDsnError",
        "driver_url",
        "dsn_example",
        "dsn_variables",
        "engine_family",
        "resolve_dsn",
    ],
    "accounts_sync.ledger": [
        "DEFAULT_MAX_REMOVAL_RATIO",
        "DEFAULT_PREFIX",
        "AccountChange",
        "AccountDiff",
        "ChangeType",
        "FieldChange",
        "FieldValue",
        "LedgerAccount",
        "LedgerChangeEntry",
        "LedgerMessages",
        "LedgerPlan",
        "LedgerReader",
        "LedgerSyncService",
        "LedgerTables",
        "build_ledger_tables",
    ],
    "accounts_sync.testing": [
        "FakeInstance",
        "ManualClock",
        "RecordingLauncher",
        "ScriptedSyncService",
        "SyncCall",
        "in_memory_service",
        "make_instances",
    ],
    "accounts_sync.testing.strategies": [
        "check_normalized",
        "hostile_values",
        "messages",
        "raw_sync_results",
        "snapshot",
        "success_values",
    ],
    "accounts_sync.testing.contract": [
        "InstanceFactory",
        "InstanceRepositoryContract",
        "SessionFactory",
        "SessionMachine",
        "SessionRepositoryContract",
        "SyncCountReader",
        "make_session_machine",
    ],
    "accounts_sync.contrib.http": [
        "MAX_SESSION_ID_LENGTH",
        "ROUTES",
        "Action",
        "Authorize",
        "AuthorizeAction",
        "AuthorizeTarget",
        "Authorizer",
        "DeferredLaunch",
        "HookResultError",
        "HttpDispatch",
        "HttpResponse",
        "Launch",
        "NotAuthenticated",
        "PermissionDenied",
        "Refusal",
        "Route",
        "ServiceSource",
        "Target",
        "Transaction",
        "error_response",
        "require_authorize",
        "status_of",
    ],
    "accounts_sync.contrib.flask": [
        "DEFAULT_URL_PREFIX",
        "ServiceSource",
        "SessionSource",
        "create_blueprint",
        "init_app",
    ],
    "accounts_sync.contrib.celery": [
        "DEFAULT_CHUNK_TASK_NAME",
        "DEFAULT_TASK_NAME",
        "CeleryLauncher",
        "full_sync_beat_entry",
        "register_full_sync_task",
        "run_fan_out_chunk_payload",
        "run_full_sync_payload",
    ],
    "accounts_sync.telemetry": [
        "APPLY_SPAN",
        "AttributeValue",
        "Attributes",
        "CHUNK_SPAN",
        "COLLECT_SPAN",
        "DB_SYSTEM",
        "ERROR_TYPE",
        "INSTANCE_ID",
        "INSTANCE_SPAN",
        "INSTANCE_SYNCS",
        "INSTANCE_SYNC_DURATION",
        "JOB_SPAN",
        "LAUNCH_SPAN",
        "LEDGER_CHANGES",
        "LEDGER_CHANGE_KIND",
        "METRICS",
        "Metric",
        "NoopRecorder",
        "OUTCOME",
        "PREPARE_SPAN",
        "RUN_SPAN",
        "Recorder",
        "SESSIONS_FINISHED",
        "SESSIONS_REAPED",
        "SESSIONS_RUNNING",
        "SESSION_ID",
        "SESSION_STATUS",
        "SINGLE_SPAN",
        "SYNCED_COUNT",
        "SYNC_TYPE",
        "SpanHandle",
        "get_recorder",
        "set_recorder",
    ],
    "accounts_sync.contrib.otel": [
        "DURATION_BUCKETS",
        "INSTRUMENTATION_NAME",
        "OpenTelemetryRecorder",
        "instrument",
        "instrument_console",
    ],
    "accounts_sync.cli": ["LEDGER_TABLES", "Store", "diff_summary", "main", "open_store"],
}

# Root names that moved to a better home: still importable from the root, with a warning.
MOVED_FROM_ROOT = {
    "Clock": "accounts_sync.ports",
    "ManualClock": "accounts_sync.testing",
    "RecordOutcome": "accounts_sync.ports",
    "SupportsBulkSyncCount": "accounts_sync.ports",
    "SupportsInstance": "accounts_sync.ports",
    "SupportsRecordAdvance": "accounts_sync.ports",
    "SyncTask": "accounts_sync.ports",
    "utc_now": "accounts_sync.ports",
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_the_public_list_is_pinned(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert sorted(module.__all__) == sorted(PUBLIC[module_name])
    assert len(set(module.__all__)) == len(module.__all__)


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_every_exported_name_resolves_and_nothing_else_is_public(module_name: str) -> None:
    module = importlib.import_module(module_name)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    # Functions and classes defined here but not exported: public by name, private by intent.
    stray = sorted(
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and name not in module.__all__
        and getattr(value, "__module__", None) == module_name
        and not isinstance(value, TypeVar)
    )
    assert stray == []


def test_the_root_holds_the_host_facing_names_only() -> None:
    import accounts_sync

    assert len(accounts_sync.__all__) == 28
    assert accounts_sync.__version__


@pytest.mark.parametrize(("name", "home"), sorted(MOVED_FROM_ROOT.items()))
def test_a_moved_root_name_still_imports_with_a_deprecation_warning(name: str, home: str) -> None:
    import accounts_sync

    with pytest.warns(DeprecationWarning, match=home):
        value = getattr(accounts_sync, name)
    assert value is getattr(importlib.import_module(home), name)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("accounts_sync.service", "accounts_sync._service"),
        ("accounts_sync.clock", "accounts_sync._clock"),
        ("accounts_sync.sqlalchemy.tables", "accounts_sync.sqlalchemy._tables"),
        ("accounts_sync.ledger.diff", "accounts_sync.ledger._diff"),
        ("accounts_sync.collectors.snapshot", "accounts_sync.collectors._snapshot"),
    ],
)
def test_a_module_made_private_still_imports_with_a_deprecation_warning(old: str, new: str) -> None:
    import sys

    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=old):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)


def test_an_unknown_root_name_is_an_attribute_error() -> None:
    import accounts_sync

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError):
            _ = accounts_sync.NoSuchName  # type: ignore[attr-defined]
