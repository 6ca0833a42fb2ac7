"""OpenTelemetry's SDK with its in-memory span exporter and metric reader, plugged in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from accounts_sync.contrib.otel import instrument
from accounts_sync.telemetry import set_recorder


@attrs.define
class Telemetry:
    """What the library sent to OpenTelemetry during one test."""

    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    tracer_provider: TracerProvider

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        finished = self.exporter.get_finished_spans()
        return [span for span in finished if name is None or span.name == name]

    def one(self, name: str) -> ReadableSpan:
        (span,) = self.spans(name)
        return span

    def points(self, metric: str) -> list[Any]:
        """The data points of ``metric`` (cumulative since the test began)."""
        data = self.reader.get_metrics_data()
        return [
            point
            for resource in (data.resource_metrics if data else [])
            for scope in resource.scope_metrics
            for item in scope.metrics
            if item.name == metric
            for point in item.data.data_points
        ]

    def values(self, metric: str) -> dict[tuple[tuple[str, Any], ...], Any]:
        """``{sorted attributes: value}`` (a histogram's value is its count)."""
        return {
            tuple(sorted(point.attributes.items())): getattr(point, "value", None)
            if hasattr(point, "value")
            else point.count
            for point in self.points(metric)
        }


@pytest.fixture
def otel() -> Iterator[Telemetry]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        yield Telemetry(exporter, reader, tracer_provider)
    finally:
        set_recorder(None)
        tracer_provider.shutdown()
        meter_provider.shutdown()
