"""Telemetry: the interface a recorder implements, and the process-wide switch.

Off by default (a :class:`NoopRecorder`). For OpenTelemetry, install the ``otel`` extra and
call ``accounts_sync.contrib.otel.instrument()``; for any other backend (statsd…), implement
:class:`Recorder` and pass it to :func:`set_recorder`. The span and attribute names, and the
metrics in :data:`METRICS`, are listed in the Observability docs.
"""

from __future__ import annotations

from ._instrumentation import (
    APPLY_SPAN,
    CHUNK_SPAN,
    COLLECT_SPAN,
    INSTANCE_SPAN,
    JOB_SPAN,
    LAUNCH_SPAN,
    PREPARE_SPAN,
    RUN_SPAN,
    SINGLE_SPAN,
)
from ._telemetry import (
    DB_SYSTEM,
    ERROR_TYPE,
    INSTANCE_ID,
    INSTANCE_SYNC_DURATION,
    INSTANCE_SYNCS,
    LEDGER_CHANGE_KIND,
    LEDGER_CHANGES,
    METRICS,
    OUTCOME,
    SESSION_ID,
    SESSION_STATUS,
    SESSIONS_FINISHED,
    SESSIONS_REAPED,
    SESSIONS_RUNNING,
    SYNC_TYPE,
    SYNCED_COUNT,
    Attributes,
    AttributeValue,
    Metric,
    NoopRecorder,
    Recorder,
    SpanHandle,
    get_recorder,
    set_recorder,
)

__all__ = [
    "APPLY_SPAN",
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
    "OUTCOME",
    "PREPARE_SPAN",
    "RUN_SPAN",
    "SESSIONS_FINISHED",
    "SESSIONS_REAPED",
    "SESSIONS_RUNNING",
    "SESSION_ID",
    "SESSION_STATUS",
    "SINGLE_SPAN",
    "SYNCED_COUNT",
    "SYNC_TYPE",
    "AttributeValue",
    "Attributes",
    "Metric",
    "NoopRecorder",
    "Recorder",
    "SpanHandle",
    "get_recorder",
    "set_recorder",
]
