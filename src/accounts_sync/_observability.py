"""The logging contract (SPEC §7): every record carries ``action`` and ``context``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ._redaction import clean, error_text

__all__ = ["log_event"]


def log_event(
    logger: logging.Logger,
    level: int,
    event: str,
    *,
    action: str,
    context: Mapping[str, Any],
    error: BaseException | None = None,
    **fields: Any,
) -> None:
    """Emit ``event`` with the structured fields ``action``, ``context`` and any ``fields``.

    With ``error``, the record also carries ``error_type`` and a redacted ``error_message``.
    Every value passes through redaction, so a secret never reaches a handler.
    """
    if not logger.isEnabledFor(level):
        return
    extra: dict[str, Any] = {"action": action, "context": clean(dict(context))}
    if error is not None:
        extra["error_type"] = type(error).__name__
        extra["error_message"] = error_text(error)
    for key, value in fields.items():
        extra[key] = clean(value)
    logger.log(level, event, extra=extra)
