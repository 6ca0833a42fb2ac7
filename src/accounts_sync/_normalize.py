"""Turn whatever a sync service returned into a clean result."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._messages import Messages

__all__ = ["coerce_success", "normalize_sync_result"]

_DEFAULT_MESSAGES = Messages()
_TRUE_WORDS = frozenset({"true", "1", "yes", "y", "ok", "success", "succeeded", "completed"})


def coerce_success(value: object) -> bool:
    """Read a ``success`` flag; anything unrecognised means failure (fail closed)."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in _TRUE_WORDS
    return False


def _message_of(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    try:
        text = str(value)
    except Exception:
        return None
    return text if text.strip() else None


def normalize_sync_result(
    result: object, *, context: str, messages: Messages | None = None
) -> tuple[bool, dict[str, Any]]:
    """Normalize a raw sync result into ``(success, result)``.

    The returned dict always holds ``status`` (``completed``/``failed``), a non-empty ``message``
    and a ``success`` bool agreeing with the returned bool; other keys of a mapping pass through.
    Never raises, never mutates ``result``.
    """
    texts = messages or _DEFAULT_MESSAGES
    if result is None:
        return _failed({}, texts.result_empty.format(context=context))
    if not isinstance(result, Mapping):
        return _failed({}, texts.result_invalid.format(context=context))
    try:
        output: dict[str, Any] = dict(result.items())
    except Exception:
        return _failed({}, texts.result_invalid.format(context=context))
    if not output:
        return _failed({}, texts.result_empty.format(context=context))
    success = coerce_success(output["success"]) if "success" in output else True
    default = texts.result_success if success else texts.result_failure
    message = _message_of(output.get("message")) or default.format(context=context)
    output.update(status="completed" if success else "failed", message=message, success=success)
    return success, output


def _failed(output: dict[str, Any], message: str) -> tuple[bool, dict[str, Any]]:
    output.update(status="failed", message=message, success=False)
    return False, output
