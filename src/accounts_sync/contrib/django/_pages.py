"""Keyset pages of sessions and records for the Django store (``SupportsSessionPages``,
``SupportsRecordPages``)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence

from django.db import DatabaseError, connections, transaction
from django.db.models import Q

from ... import _lifecycle as rules
from ..._enums import RecordStatus, SessionStatus, SyncCategory
from ..._sessions import SyncRecordInfo, SyncSessionInfo
from ...sqlalchemy._missing_tables import explaining_missing_tables
from ...sqlalchemy._pages import SORT_OFF_SQL
from ._rows import MIGRATE, RECORD_FIELDS, SESSION_FIELDS, record_info, to_db
from .models import SyncRecord, SyncSession

__all__ = ["PagedReads"]


@explaining_missing_tables((DatabaseError,), MIGRATE)
class PagedReads:
    """The paged reads of :class:`DjangoSyncSessionRepository`: each page is one query that
    starts after the previous page's last key, never an ``OFFSET``."""

    using: str

    def page_sessions(
        self,
        *,
        limit: int,
        before: tuple[dt.datetime, str] | None = None,
        statuses: Sequence[SessionStatus] | None = None,
        sync_category: SyncCategory | None = None,
    ) -> list[SyncSessionInfo]:
        query = SyncSession.objects.using(self.using)
        if before is not None:
            created_at = to_db(before[0])
            query = query.filter(
                Q(created_at__lt=created_at) | Q(created_at=created_at, session_id__lt=before[1])
            )
        if statuses is not None:
            query = query.filter(status__in=[status.value for status in statuses])
        if sync_category is not None:
            query = query.filter(sync_category=sync_category.value)
        rows = query.order_by("-created_at", "-session_id").values(*SESSION_FIELDS)
        return [SyncSessionInfo.from_row(row) for row in rows[: max(limit, 0)]]

    def page_records(
        self,
        session_id: str,
        *,
        after_record_id: int | None,
        limit: int,
        statuses: Sequence[RecordStatus] | None = None,
    ) -> list[SyncRecordInfo]:
        if not rules.plausible_session_id(session_id):
            return []
        query = SyncRecord.objects.using(self.using).filter(session_id=session_id)
        if after_record_id is not None:
            query = query.filter(id__gt=after_record_id)
        if statuses is not None:
            query = query.filter(status__in=[status.value for status in statuses])
        with _without_sort(self.using):
            rows = list(query.order_by("id").values(*RECORD_FIELDS)[: max(limit, 0)])
        return [record_info(row) for row in rows]


@contextlib.contextmanager
def _without_sort(using: str) -> Iterator[None]:
    """On PostgreSQL, plan the statements inside without sorting, then restore the setting:
    as the SQLAlchemy store does (see its ``_pages``), so a page of a large session just
    filled is read from the index instead of sorting every record."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute(SORT_OFF_SQL)
        (previous, _) = cursor.fetchone()
        try:
            yield
        finally:
            cursor.execute("SELECT set_config('enable_sort', %s, true)", [previous])
