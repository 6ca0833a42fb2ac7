"""OpenTelemetry for accounts_sync: the library's spans and metrics through the OpenTelemetry API.

Install with ``pip install "accounts-sync[otel]"`` (the API only) and configure the SDK and
its exporters as usual; then, once per process (web app and Celery worker alike)::

    from accounts_sync.contrib.otel import instrument

    instrument()

Without a configured SDK the API's no-op providers make every call nearly free. Spans nest
under the host's current span, trace context travels with background jobs (in a Celery task's
headers too), and error texts arrive redacted: the spans never record raw exceptions.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping
from typing import Any, TextIO

from .._telemetry import ERROR_TYPE, METRICS, Attributes, Metric, SpanHandle, set_recorder
from ._extras import require

require("opentelemetry.trace", extra="otel", integration=__name__)

from opentelemetry import context as otel_context  # noqa: E402
from opentelemetry import metrics, propagate, trace  # noqa: E402
from opentelemetry.trace import Status, StatusCode  # noqa: E402

__all__ = [
    "DURATION_BUCKETS",
    "INSTRUMENTATION_NAME",
    "OpenTelemetryRecorder",
    "instrument",
    "instrument_console",
]

INSTRUMENTATION_NAME = "accounts_sync"
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
"""Seconds: an instance's sync takes from milliseconds to the 900 s default timeout."""


class _Span:
    """A recorder's :class:`~accounts_sync.telemetry.SpanHandle` over an OpenTelemetry span,
    and its scope: current while entered, ended on exit. Failures are recorded by the library,
    redacted; the raw exception never is."""

    __slots__ = ("_token", "context", "span")

    def __init__(self, span: trace.Span) -> None:
        self.span = span
        # Built once: a run's span is the explicit parent of each of its instances' spans.
        self.context = trace.set_span_in_context(span)

    def __enter__(self) -> _Span:
        self._token = otel_context.attach(self.context)
        return self

    def __exit__(self, *_exc_info: object) -> None:
        otel_context.detach(self._token)
        self.span.end()

    def set_attributes(self, attributes: Attributes) -> None:
        self.span.set_attributes(attributes)

    def add_event(self, name: str, attributes: Attributes) -> None:
        self.span.add_event(name, attributes)

    def set_error(self, error_type: str, message: str) -> None:
        self.span.set_status(Status(StatusCode.ERROR, message))
        self.span.set_attribute(ERROR_TYPE, error_type)
        self.span.add_event(
            "exception", {"exception.type": error_type, "exception.message": message}
        )


class OpenTelemetryRecorder:
    """A :class:`~accounts_sync.telemetry.Recorder` on the OpenTelemetry API.

    ``tracer_provider`` / ``meter_provider`` default to the global ones (read when this is
    built); context travels with the global propagator (W3C ``traceparent`` by default).
    """

    def __init__(self, *, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        from .. import __version__

        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.tracer = trace.get_tracer(
            INSTRUMENTATION_NAME, __version__, tracer_provider=tracer_provider
        )
        meter = metrics.get_meter(INSTRUMENTATION_NAME, __version__, meter_provider=meter_provider)
        # Built up front: instruments are then read without a lock from any thread.
        self._instruments = {metric.name: _instrument(meter, metric) for metric in METRICS}

    def span(self, name: str, attributes: Attributes, parent: SpanHandle | None = None) -> _Span:
        context = parent.context if isinstance(parent, _Span) else None
        return _Span(self.tracer.start_span(name, context=context, attributes=attributes))

    def measure(self, metric: Metric, value: float, attributes: Attributes) -> None:
        instrument = self._instruments.get(metric.name)
        if instrument is None:
            return
        if metric.kind == "histogram":
            instrument.record(value, attributes)
        else:
            instrument.add(value, attributes)

    def capture_context(self) -> dict[str, str]:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        return carrier

    @contextlib.contextmanager
    def attach_context(self, carrier: Mapping[str, str]) -> Iterator[object]:
        token = otel_context.attach(propagate.extract(carrier))
        try:
            yield token
        finally:
            otel_context.detach(token)


def _instrument(meter: metrics.Meter, metric: Metric) -> Any:
    if metric.kind == "histogram":
        return meter.create_histogram(
            metric.name,
            unit=metric.unit,
            description=metric.description,
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
    create = meter.create_counter if metric.kind == "counter" else meter.create_up_down_counter
    return create(metric.name, unit=metric.unit, description=metric.description)


def instrument(*, tracer_provider: Any = None, meter_provider: Any = None) -> OpenTelemetryRecorder:
    """Send this process's accounts_sync spans and metrics to OpenTelemetry; returns the
    recorder. ``accounts_sync.telemetry.set_recorder(None)`` turns it off again."""
    recorder = OpenTelemetryRecorder(tracer_provider=tracer_provider, meter_provider=meter_provider)
    set_recorder(recorder)
    return recorder


def instrument_console(
    *, out: TextIO | None = None, metric_interval: float = 10.0
) -> OpenTelemetryRecorder:
    """Try it out: print each span as it ends, and the metrics every ``metric_interval`` seconds,
    as JSON on ``out`` (standard output). Needs the SDK (``pip install opentelemetry-sdk``);
    the global providers stay as they are."""
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import (
            ConsoleMetricExporter,
            PeriodicExportingMetricReader,
        )
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
    except ImportError as error:
        raise ImportError(
            "instrument_console needs the OpenTelemetry SDK: pip install opentelemetry-sdk",
            name="opentelemetry.sdk",
        ) from error
    stream = out or sys.stdout
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=stream)))
    reader = PeriodicExportingMetricReader(
        ConsoleMetricExporter(out=stream), export_interval_millis=metric_interval * 1000
    )
    meter_provider = MeterProvider(metric_readers=[reader])
    return instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
