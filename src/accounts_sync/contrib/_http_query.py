"""The query parameters of the paged endpoints, and their opaque cursors.

Every parameter is checked before any store sees it: a value that is not exactly what the
contract allows (not a number, out of range, an unknown status, a forged cursor, a NUL, a
megabyte) is a :class:`ValidationError`, which the dispatch answers with the 400 envelope.
An empty value counts as absent, as an HTML form sends it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from typing import TypeVar

import attrs

from .._enums import RecordStatus, SessionStatus, SyncCategory
from .._errors import ValidationError
from .._lifecycle import fits_integer, plausible_session_id
from .._messages import Messages
from .._pages import MAX_RECORDS_PER_PAGE, RECORDS_PER_PAGE, session_key
from .._sessions import SyncRecordInfo, SyncSessionInfo

__all__ = [
    "RECORDS_IN_SESSION",
    "RECORD_PAGE",
    "SESSION_PAGE",
    "RecordQuery",
    "SessionQuery",
    "duration",
    "first_values",
    "record_cursor",
    "record_query",
    "session_cursor",
    "session_query",
]

SESSION_PAGE = (20, 100)
"""The sessions list's default and largest page size."""
RECORD_PAGE = (RECORDS_PER_PAGE, MAX_RECORDS_PER_PAGE)
"""The records endpoint's default and largest page size."""
RECORDS_IN_SESSION = 100
"""The records ``GET sync-sessions/<id>`` answers at most, the first page."""

# Longer than any value the contract allows: refused before it is parsed.
_MAX_VALUE_LENGTH = 200
_RECORDS, _SESSIONS = "r", "s"

_E = TypeVar("_E", bound=Enum)


@attrs.frozen
class SessionQuery:
    """The sessions list's parameters, checked."""

    limit: int
    before: tuple[dt.datetime, str] | None
    statuses: tuple[SessionStatus, ...] | None
    sync_category: SyncCategory | None


@attrs.frozen
class RecordQuery:
    """The records endpoint's parameters, checked."""

    limit: int
    after_record_id: int | None
    statuses: tuple[RecordStatus, ...] | None


def first_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """A framework's query pairs as one value per name: the first, as both adapters read it."""
    query: dict[str, str] = {}
    for name, value in pairs:
        query.setdefault(name, value)
    return query


def session_query(query: Mapping[str, str], messages: Messages) -> SessionQuery:
    """``limit``, ``cursor``, ``status`` and ``category`` of ``GET sync-sessions``."""
    params = _Params(query, messages)
    return SessionQuery(
        limit=params.limit(*SESSION_PAGE),
        before=params.cursor(_SESSIONS, _session_position),
        statuses=params.enums("status", SessionStatus),
        sync_category=params.enum("category", SyncCategory),
    )


def record_query(query: Mapping[str, str], messages: Messages) -> RecordQuery:
    """``limit``, ``cursor`` and ``status`` of ``GET sync-sessions/<id>/records``."""
    params = _Params(query, messages)
    return RecordQuery(
        limit=params.limit(*RECORD_PAGE),
        after_record_id=params.cursor(_RECORDS, _record_position),
        statuses=params.enums("status", RecordStatus),
    )


def session_cursor(info: SyncSessionInfo) -> str:
    """The cursor of the page after ``info`` in the sessions list."""
    created_at, session_id = session_key(info)
    return _encode(_SESSIONS, f"{created_at.isoformat()}|{session_id}")


def record_cursor(record: SyncRecordInfo) -> str:
    """The cursor of the page after ``record`` in its session's records."""
    return _encode(_RECORDS, str(record.record_id))


def duration(info: SyncSessionInfo, now: dt.datetime) -> float | None:
    """Seconds from start to end, or to ``now`` while the session has not ended; ``None``
    before it starts."""
    if info.started_at is None:
        return None
    end = info.completed_at or (None if info.is_terminal else now)
    if end is None:
        return None
    return round(max((end - info.started_at).total_seconds(), 0.0), 3)


def _encode(kind: str, position: str) -> str:
    raw = f"{kind}:{position}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _session_position(text: str) -> tuple[dt.datetime, str] | None:
    stamp, _, session_id = text.partition("|")
    try:
        created_at = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if created_at.utcoffset() is None or not plausible_session_id(session_id):
        return None
    return created_at.astimezone(dt.timezone.utc), session_id


def _record_position(text: str) -> int | None:
    if not (text.isascii() and text.isdigit()):
        return None
    record_id = int(text)
    return record_id if fits_integer(record_id) else None


_P = TypeVar("_P")


class _Params:
    """The request's parameters, each read and checked on demand."""

    def __init__(self, query: Mapping[str, str], messages: Messages) -> None:
        self.query = query
        self.messages = messages

    def raw(self, name: str) -> str | None:
        value = self.query.get(name)
        if not value:
            return None
        if len(value) > _MAX_VALUE_LENGTH or not (value.isascii() and value.isprintable()):
            raise self.invalid(name)
        return value

    def invalid(self, name: str) -> ValidationError:
        return ValidationError(self.messages.invalid_query_parameter.format(name=name))

    def limit(self, default: int, largest: int) -> int:
        value = self.raw("limit")
        if value is None:
            return default
        if not value.isdigit() or len(value) > len(str(largest)):
            raise self.invalid("limit")
        limit = int(value)
        if not 1 <= limit <= largest:
            raise self.invalid("limit")
        return limit

    def enum(self, name: str, kind: type[_E]) -> _E | None:
        value = self.raw(name)
        return None if value is None else self.member(name, kind, value)

    def enums(self, name: str, kind: type[_E]) -> tuple[_E, ...] | None:
        """A comma-separated set of values, in their first order."""
        value = self.raw(name)
        if value is None:
            return None
        members = (self.member(name, kind, part.strip()) for part in value.split(","))
        return tuple(dict.fromkeys(members))

    def member(self, name: str, kind: type[_E], value: str) -> _E:
        try:
            return kind(value)
        except ValueError:
            raise self.invalid(name) from None

    def cursor(self, kind: str, position: Callable[[str], _P | None]) -> _P | None:
        value = self.raw("cursor")
        if value is None:
            return None
        try:
            padded = value + "=" * (-len(value) % 4)
            text = base64.b64decode(padded, altchars=b"-_", validate=True).decode("ascii")
        except (binascii.Error, ValueError):
            raise self.invalid("cursor") from None
        prefix, _, rest = text.partition(":")
        decoded = position(rest) if prefix == kind else None
        if decoded is None:
            raise self.invalid("cursor")
        return decoded
