"""The logging contract: every record carries ``action`` and ``context``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import attrs

from ._redaction import clean, error_text
from ._telemetry import note_error

__all__ = ["ActionLog", "log_event"]


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

    With ``error``, the record also carries ``error_type`` and a redacted ``error_message``,
    and its text reads ``event: ErrorType: message``, so a plain ``logging.basicConfig()`` shows
    what failed and why. Every value passes through redaction, so a secret never reaches a
    handler. An error logged inside a telemetry span is also recorded on it (see
    :func:`~accounts_sync._telemetry.note_error`).
    """
    if error is not None:
        note_error(error, fatal=level >= logging.ERROR)
    if not logger.isEnabledFor(level):
        return
    extra: dict[str, Any] = {"action": action, "context": clean(dict(context))}
    text = event
    if error is not None:
        extra["error_type"] = type(error).__name__
        extra["error_message"] = error_text(error)
        text = f"{event}: {extra['error_type']}: {extra['error_message']}"
    for key, value in fields.items():
        extra[key] = clean(value)
    # No args: a ``%`` in the text is never taken for a placeholder.
    logger.log(level, text, extra=extra)


@attrs.frozen
class ActionLog:
    """A logger bound to one action and its context, so each event is one short call."""

    logger: logging.Logger
    action: str
    context: Mapping[str, Any] = attrs.field(factory=dict)

    def bind(self, **context: Any) -> ActionLog:
        """The same log with more context."""
        return attrs.evolve(self, context={**self.context, **context})

    def info(self, event: str, **fields: Any) -> None:
        self.log(logging.INFO, event, **fields)

    def warning(self, event: str, *, error: BaseException | None = None, **fields: Any) -> None:
        self.log(logging.WARNING, event, error=error, **fields)

    def error(self, event: str, *, error: BaseException | None = None, **fields: Any) -> None:
        self.log(logging.ERROR, event, error=error, **fields)

    def log(
        self, level: int, event: str, *, error: BaseException | None = None, **fields: Any
    ) -> None:
        log_event(
            self.logger,
            level,
            event,
            action=self.action,
            context=self.context,
            error=error,
            **fields,
        )
