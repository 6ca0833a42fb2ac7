"""The telemetry port: spans and metrics behind one small interface, off by default.

The core opens spans and records metrics only through this module, so it never imports a
telemetry library. A host turns telemetry on once per process with :func:`set_recorder`
(``accounts_sync.contrib.otel.instrument()`` for OpenTelemetry); until then every hook is a
cheap no-op. Error texts reach a recorder only redacted.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Mapping
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Literal, Protocol, TypeAlias, runtime_checkable

import attrs

from ._redaction import error_text, redact_text

__all__ = [
    "DB_SYSTEM",
    "ERROR_TYPE",
    "INSTANCE_ID",
    "INSTANCE_SYNCS",
    "INSTANCE_SYNC_DURATION",
    "LEDGER_CHANGES",
    "LEDGER_CHANGE_KIND",
    "METRICS",
    "OUTCOME",
    "SESSIONS_FINISHED",
    "SESSIONS_REAPED",
    "SESSIONS_RUNNING",
    "SESSION_ID",
    "SESSION_STATUS",
    "SYNCED_COUNT",
    "SYNC_TYPE",
    "ActiveSpan",
    "AttributeValue",
    "Attributes",
    "Metric",
    "NoopRecorder",
    "Recorder",
    "SpanHandle",
    "attached",
    "capture_context",
    "enabled",
    "get_recorder",
    "measure",
    "note_error",
    "set_attribute",
    "set_recorder",
    "span",
]

AttributeValue: TypeAlias = str | bool | int | float
Attributes: TypeAlias = Mapping[str, AttributeValue]

# OpenTelemetry's semantic conventions where one exists, our own names under ``accounts_sync.``.
DB_SYSTEM = "db.system"
ERROR_TYPE = "error.type"
SESSION_ID = "accounts_sync.session_id"
INSTANCE_ID = "accounts_sync.instance_id"
SYNC_TYPE = "accounts_sync.sync_type"
OUTCOME = "accounts_sync.outcome"
SYNCED_COUNT = "accounts_sync.synced_count"
SESSION_STATUS = "accounts_sync.session.status"
LEDGER_CHANGE_KIND = "accounts_sync.change.kind"


@attrs.frozen
class Metric:
    """One metric the library records: its name, instrument kind, unit (UCUM) and meaning."""

    name: str
    kind: Literal["counter", "up_down_counter", "histogram"]
    unit: str
    description: str


INSTANCE_SYNCS = Metric(
    "accounts_sync.instance.syncs",
    "counter",
    "{sync}",
    "Instance syncs of full syncs, counted as their session counts them, by outcome and engine.",
)
INSTANCE_SYNC_DURATION = Metric(
    "accounts_sync.instance.sync.duration",
    "histogram",
    "s",
    "How long one instance's sync ran within a full sync, by engine.",
)
SESSIONS_FINISHED = Metric(
    "accounts_sync.sessions.finished", "counter", "{session}", "Sessions ended, by final status."
)
SESSIONS_RUNNING = Metric(
    "accounts_sync.sessions.running",
    "up_down_counter",
    "{session}",
    "Full-sync runs in progress in this process.",
)
SESSIONS_REAPED = Metric(
    "accounts_sync.sessions.reaped",
    "counter",
    "{session}",
    "Stale or stalled sessions the reaper failed.",
)
LEDGER_CHANGES = Metric(
    "accounts_sync.ledger.changes",
    "counter",
    "{change}",
    "Ledger account changes applied, by kind (added, modified, removed, reactivated).",
)
METRICS = (
    INSTANCE_SYNCS,
    INSTANCE_SYNC_DURATION,
    SESSIONS_FINISHED,
    SESSIONS_RUNNING,
    SESSIONS_REAPED,
    LEDGER_CHANGES,
)


@runtime_checkable
class SpanHandle(Protocol):
    """One open span, as a recorder hands it to the library. Methods never raise."""

    def set_attributes(self, attributes: Attributes) -> None:
        """Add or overwrite attributes."""

    def add_event(self, name: str, attributes: Attributes) -> None:
        """Record a timestamped event on the span."""

    def set_error(self, error_type: str, message: str) -> None:
        """Mark the span failed: error status with ``message`` (already redacted), ``error.type``
        set to ``error_type``, and an ``exception`` event with both."""


@runtime_checkable
class Recorder(Protocol):
    """What a telemetry backend implements to receive the library's spans and metrics.

    Guarantees the library relies on: no method raises; ``span`` makes the new span current
    for its ``with`` block on the calling thread (so a host's own spans nest under it), as a
    child of ``parent`` when given, else of the current span. Every text the library passes is
    already redacted.
    """

    def span(
        self, name: str, attributes: Attributes, parent: SpanHandle | None = None
    ) -> AbstractContextManager[SpanHandle]:
        """Open a span named ``name`` for the ``with`` block; it ends when the block exits."""

    def measure(self, metric: Metric, value: float, attributes: Attributes) -> None:
        """Add ``value`` to a counter or up-down counter, or record it in a histogram."""

    def capture_context(self) -> dict[str, str]:
        """The current trace context as text headers (e.g. ``traceparent``), to send along."""

    def attach_context(self, carrier: Mapping[str, str]) -> AbstractContextManager[object]:
        """Make the context in ``carrier`` current for the ``with`` block."""


class _NoopSpan:
    def set_attributes(self, attributes: Attributes) -> None:
        pass

    def add_event(self, name: str, attributes: Attributes) -> None:
        pass

    def set_error(self, error_type: str, message: str) -> None:
        pass


class NoopRecorder:
    """The default: records nothing."""

    def span(
        self, name: str, attributes: Attributes, parent: SpanHandle | None = None
    ) -> AbstractContextManager[SpanHandle]:
        return contextlib.nullcontext(_NoopSpan())

    def measure(self, metric: Metric, value: float, attributes: Attributes) -> None:
        pass

    def capture_context(self) -> dict[str, str]:
        return {}

    def attach_context(self, carrier: Mapping[str, str]) -> AbstractContextManager[object]:
        return contextlib.nullcontext()


class ActiveSpan:
    """A span the library opened, as the core sees it: the recorder's handle plus the type of
    the last error logged inside it (which names the failure of an instance that returned a
    failed outcome instead of raising)."""

    def __init__(self, handle: SpanHandle) -> None:
        self.handle = handle
        self.error_type: str | None = None
        self.failed = False

    def set_attributes(self, attributes: Attributes) -> None:
        self.handle.set_attributes(attributes)

    def fail(self, error_type: str, message: str) -> None:
        """Mark the span failed once (the first failure is the cause); ``message`` is redacted
        again here, whatever its source."""
        if not self.failed:
            self.failed = True
            self.handle.set_error(error_type, redact_text(message))

    def fail_with(self, error: BaseException) -> None:
        self.fail(type(error).__name__, error_text(error))


_NOOP = NoopRecorder()
_recorder: Recorder = _NOOP
_current: contextvars.ContextVar[ActiveSpan | None] = contextvars.ContextVar(
    "accounts_sync_span", default=None
)
_NO_SPAN: AbstractContextManager[None] = contextlib.nullcontext()


def set_recorder(recorder: Recorder | None) -> None:
    """Send this process's spans and metrics to ``recorder`` (``None``: back to the no-op)."""
    global _recorder
    _recorder = _NOOP if recorder is None else recorder


def get_recorder() -> Recorder:
    """The recorder in use (a :class:`NoopRecorder` until :func:`set_recorder`)."""
    return _recorder


def enabled() -> bool:
    """Whether a recorder is set: hooks build their attributes only then."""
    return _recorder is not _NOOP


def span(
    name: str, attributes: Attributes, *, parent: ActiveSpan | None = None
) -> AbstractContextManager[ActiveSpan | None]:
    """A span for the ``with`` block (``None`` when telemetry is off). An exception escaping
    the block fails it with its type and redacted message, then propagates."""
    if _recorder is _NOOP:
        return _NO_SPAN
    return _Opened(_recorder.span(name, attributes, None if parent is None else parent.handle))


class _Opened:
    """The recorder's span scope, made the library's current span (a class, not a generator:
    it is entered once per instance of every full sync)."""

    __slots__ = ("_active", "_scope", "_token")

    def __init__(self, scope: AbstractContextManager[SpanHandle]) -> None:
        self._scope = scope

    def __enter__(self) -> ActiveSpan:
        self._active = ActiveSpan(self._scope.__enter__())
        self._token = _current.set(self._active)
        return self._active

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        _current.reset(self._token)
        if error is not None:
            self._active.fail_with(error)
        return self._scope.__exit__(kind, error, traceback)


def current() -> ActiveSpan | None:
    """The library's innermost open span on this thread, if any."""
    return _current.get()


def set_attribute(key: str, value: AttributeValue) -> None:
    """Set ``key`` on the library's current span, if any."""
    active = _current.get()
    if active is not None:
        active.set_attributes({key: value})


def note_error(error: BaseException, *, fatal: bool) -> None:
    """The logging hook: an error logged inside a span becomes an ``exception`` event (type and
    redacted message); a ``fatal`` one (logged at ERROR) also fails the span."""
    active = _current.get()
    if active is None:
        return
    error_type = type(error).__name__
    active.error_type = error_type
    if fatal:
        active.fail(error_type, error_text(error))
    else:
        active.handle.add_event(
            "exception", {"exception.type": error_type, "exception.message": error_text(error)}
        )


def measure(metric: Metric, value: float, attributes: Attributes | None = None) -> None:
    """Record ``value`` on ``metric`` (nothing when telemetry is off)."""
    if _recorder is not _NOOP:
        _recorder.measure(metric, value, attributes or {})


def capture_context() -> dict[str, str]:
    """The current trace context as headers for a job (empty when telemetry is off)."""
    return _recorder.capture_context() if _recorder is not _NOOP else {}


def attached(carrier: Mapping[str, str] | None) -> AbstractContextManager[object]:
    """Continue the trace in ``carrier`` for the ``with`` block (nothing when it is empty)."""
    if not carrier or _recorder is _NOOP:
        return _NO_SPAN
    return _recorder.attach_context(carrier)
