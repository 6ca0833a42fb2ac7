"""Time sources: the default UTC clock and a settable one for tests."""

from __future__ import annotations

import datetime as dt
import threading

__all__ = ["ManualClock", "as_utc", "utc_now"]


def utc_now() -> dt.datetime:
    """The current time as an aware UTC datetime."""
    return dt.datetime.now(dt.timezone.utc)


def as_utc(value: dt.datetime) -> dt.datetime:
    """``value`` as an aware UTC datetime; a naive one (SQLite, MySQL ``DATETIME``, Django
    with ``USE_TZ=False``) is taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


class ManualClock:
    """A clock that moves only when told to, so tests of staleness never sleep."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        now = start or dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        if now.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = now
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, delta: dt.timedelta | float) -> dt.datetime:
        """Move forward by a timedelta or a number of seconds; return the new time."""
        step = delta if isinstance(delta, dt.timedelta) else dt.timedelta(seconds=delta)
        with self._lock:
            self._now += step
            return self._now
