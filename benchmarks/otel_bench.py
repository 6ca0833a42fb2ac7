"""The cost of OpenTelemetry per instance of a full sync (docs: Performance, Observability).

The same zero-latency full sync on the in-memory stores, alternately without telemetry and with
``accounts_sync.contrib.otel`` on the OpenTelemetry SDK (every span through a processor to an
exporter that drops it, every metric aggregated): the difference per instance.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from accounts_sync import FullSyncTask, SessionStatus
from accounts_sync.contrib.otel import OpenTelemetryRecorder
from accounts_sync.memory import InMemoryInstanceRepository, InMemorySyncSessionRepository
from accounts_sync.telemetry import Recorder, set_recorder
from accounts_sync.testing import ScriptedSyncService, make_instances

__all__ = ["otel_overhead_us_per_instance"]


class _DroppingExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _full_sync_seconds(count: int, recorder: Recorder | None) -> float:
    """CPU seconds of the process (every thread) for one full sync: the cost telemetry adds is
    CPU work, and CPU time stays steady on a machine that other processes keep busy."""
    task = FullSyncTask(
        instances=InMemoryInstanceRepository(make_instances(count)),
        sessions=InMemorySyncSessionRepository(),
        sync_service=ScriptedSyncService(),
        max_workers=4,
    )
    set_recorder(recorder)
    try:
        start = time.process_time()
        summary = task(manual_run=False)
        elapsed = time.process_time() - start
    finally:
        set_recorder(None)
    if summary.status is not SessionStatus.COMPLETED:
        raise RuntimeError(f"benchmark full sync ended {summary.status}")
    return elapsed


def otel_overhead_us_per_instance(quick: bool) -> float:
    """Microseconds OpenTelemetry adds per instance (fastest of alternating runs, >= 0)."""
    count, rounds = (1_000, 7) if quick else (5_000, 15)
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(_DroppingExporter()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    recorder = OpenTelemetryRecorder(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        _full_sync_seconds(count, recorder)  # warm-up: imports, first instruments
        off, on = [], []
        for _ in range(rounds):
            off.append(_full_sync_seconds(count, None))
            on.append(_full_sync_seconds(count, recorder))
    finally:
        tracer_provider.shutdown()
        meter_provider.shutdown()
    # The fastest of each: other processes only ever add to a run's time.
    return max(0.0, (min(on) - min(off)) / count * 1e6)
