"""The worker app of ``tests/celery`` with OpenTelemetry on: its spans go to a JSON-lines file.

``test_celery_trace.py`` starts it in a real worker process and reads the file back.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from accounts_sync.contrib.otel import instrument
from tests.celery.worker_app import WORKDIR, app, full_sync

__all__ = ["SPANS", "app", "full_sync"]

SPANS = WORKDIR / "spans.jsonl"


class FileSpanExporter(SpanExporter):
    """Appends each finished span's name, ids and attributes to ``SPANS``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = [
            json.dumps(
                {
                    "name": span.name,
                    "trace_id": format(span.context.trace_id, "032x"),
                    "span_id": format(span.context.span_id, "016x"),
                    "parent_id": format(span.parent.span_id, "016x") if span.parent else None,
                    "attributes": dict(span.attributes or {}),
                }
            )
            for span in spans
        ]
        with self._lock, SPANS.open("a", encoding="utf-8") as handle:
            handle.writelines(line + "\n" for line in lines)
        return SpanExportResult.SUCCESS


_provider = TracerProvider()
_provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter()))
instrument(tracer_provider=_provider)
