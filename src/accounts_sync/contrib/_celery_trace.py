"""The trace context of a full-sync job, carried in a Celery task's headers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["TRACE_HEADER", "request_trace", "with_trace"]

TRACE_HEADER = "accounts_sync_trace"
_MAX_ENTRIES = 8  # traceparent, tracestate, baggage… a longer carrier is not ours
_MAX_LENGTH = 4096


def with_trace(options: Mapping[str, Any], trace_context: Mapping[str, str]) -> dict[str, Any]:
    """``options`` for ``apply_async`` / ``send_task``, with the job's trace context added to
    the host's own ``headers`` (unchanged when there is none)."""
    if not trace_context:
        return dict(options)
    headers = {**(options.get("headers") or {}), TRACE_HEADER: dict(trace_context)}
    return {**options, "headers": headers}


def request_trace(task: Any) -> dict[str, str] | None:
    """The trace context the running ``task``'s message carries, if a well-formed one.

    A worker sees custom headers as attributes of the request; an eager call keeps them in
    ``request.headers``.
    """
    request = getattr(task, "request", None)
    if request is None:
        return None
    carrier = getattr(request, TRACE_HEADER, None)
    if carrier is None:
        carrier = (getattr(request, "headers", None) or {}).get(TRACE_HEADER)
    if not isinstance(carrier, Mapping) or len(carrier) > _MAX_ENTRIES:
        return None
    fields = {key: value for key, value in carrier.items() if _short_text(key, value)}
    return fields or None


def _short_text(key: object, value: object) -> bool:
    return (
        isinstance(key, str)
        and isinstance(value, str)
        and len(key) + len(value) <= _MAX_LENGTH
        and value.isprintable()
    )
