"""A span exporter that appends JSON lines to a file, for worker processes under test.

The worker apps of this suite plug it in; the tests read the file back with :func:`read_spans`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from accounts_sync.contrib.otel import instrument
from accounts_sync.telemetry import SESSION_ID

__all__ = ["FileSpanExporter", "instrument_to_file", "read_spans"]


class FileSpanExporter(SpanExporter):
    """Appends each finished span's name, ids and attributes to ``path``."""

    def __init__(self, path: Path) -> None:
        self._path = path
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
        # One write per batch in append mode: lines of several processes never mix.
        with self._lock, self._path.open("a", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in lines))
        return SpanExportResult.SUCCESS


def instrument_to_file(path: Path) -> None:
    """Turn the library's telemetry on, its spans exported to ``path``."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(path)))
    instrument(tracer_provider=provider)


def read_spans(path: Path, session_id: str) -> list[dict[str, Any]]:
    """The spans in ``path`` that carry the session's id."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    spans = [json.loads(line) for line in lines]
    return [span for span in spans if span["attributes"].get(SESSION_ID) == session_id]
