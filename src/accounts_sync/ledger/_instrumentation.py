"""The ledger's spans (a collection, an apply) and its change counter."""

from __future__ import annotations

from typing import Any

from .._instrumentation import APPLY_SPAN, COLLECT_SPAN, traced
from .._redaction import error_text
from .._telemetry import (
    DB_SYSTEM,
    INSTANCE_ID,
    LEDGER_CHANGE_KIND,
    LEDGER_CHANGES,
    SESSION_ID,
    SYNC_TYPE,
    SYNCED_COUNT,
    ActiveSpan,
    Attributes,
    measure,
)
from ._diff import ChangeType

__all__ = ["traced_apply", "traced_collect"]


def _failure(error: BaseException) -> tuple[str, str]:
    """A ledger failure names its cause's type (else its stage) and its redacted message."""
    stage = getattr(error, "stage", None)
    if stage is None:
        return type(error).__name__, error_text(error)
    cause = getattr(error, "error", None)
    kind = type(cause).__name__ if cause is not None else str(stage)
    return kind, str(getattr(error, "message", ""))


def _instance(instance: Any) -> dict[str, Any]:
    return {INSTANCE_ID: instance.id, DB_SYSTEM: str(instance.db_type)}


def _collecting(_service: Any, instance: Any) -> Attributes:
    return _instance(instance)


def _applying(
    _service: Any,
    instance: Any,
    _snapshot: Any,
    _force: bool,
    sync_type: str,
    session_id: str | None,
    *_args: Any,
) -> Attributes:
    attributes = {**_instance(instance), SYNC_TYPE: str(sync_type)}
    if session_id is not None:
        attributes[SESSION_ID] = session_id
    return attributes


def _applied(plan: Any, active: ActiveSpan) -> None:
    active.set_attributes({SYNCED_COUNT: plan.synced_count})
    for kind in ChangeType:
        number = plan.count(kind)
        if number:
            measure(LEDGER_CHANGES, number, {LEDGER_CHANGE_KIND: kind.value})


traced_collect = traced(COLLECT_SPAN, _collecting, failure=_failure)
traced_apply = traced(APPLY_SPAN, _applying, _applied, failure=_failure)
