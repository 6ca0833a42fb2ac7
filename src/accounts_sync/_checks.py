"""Checks of the numbers a host configures (workers, timeouts, bounds), written once."""

from __future__ import annotations

from ._errors import ValidationError

__all__ = ["at_least", "seconds"]


def at_least(name: str, value: object, minimum: int) -> int:
    """``value`` as an int (not a bool) of at least ``minimum``; ``ValidationError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValidationError(f"{name} must be an integer >= {minimum}")
    return value


def seconds(
    name: str, value: float | None, *, optional: bool = False, zero: bool = False
) -> float | None:
    """A duration in seconds: > 0 (>= 0 with ``zero``), or ``None`` when ``optional``."""
    if value is None and optional:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (value >= 0 if zero else value > 0)
    ):
        bound = ">= 0" if zero else "> 0"
        raise ValidationError(f"{name} must be {'None or ' if optional else ''}{bound} seconds")
    return value
