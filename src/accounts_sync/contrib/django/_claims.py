"""Record claims for fan-out full syncs (``SupportsRecordClaims``) on the Django session store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, transaction

from ... import _lifecycle as rules
from ..._clock import as_utc
from ..._enums import RecordStatus, SessionStatus
from ..._sessions import RecordClaim
from ...sqlalchemy._missing_tables import explaining_missing_tables
from ._rows import MIGRATE

__all__ = ["RecordClaims"]

_RUNNING = RecordStatus.RUNNING.value
_PENDING = RecordStatus.PENDING.value


@explaining_missing_tables((DatabaseError,), MIGRATE)
class RecordClaims:
    """Mixed into ``DjangoSyncSessionRepository``: each call is one ``atomic()`` block that
    first locks the session row, as every writer of its records does, so the rows it reads
    cannot change before its compare-and-set ``UPDATE`` lands."""

    using: str

    if TYPE_CHECKING:

        def _records(self, session_id: str) -> Any: ...
        def _sessions(self) -> Any: ...
        def _now(self) -> dt.datetime: ...
        def _lock_session(self, session_id: str, **conditions: Any) -> bool: ...

    def claim_records(
        self, session_id: str, instance_ids: Sequence[int], *, lease: dt.timedelta
    ) -> RecordClaim | None:
        if not rules.plausible_session_id(session_id):
            return None
        claimed: list[int] = []
        held: list[int] = []
        starts: list[dt.datetime | None] = []
        with transaction.atomic(using=self.using):
            running = {"status": SessionStatus.RUNNING.value, "cancel_requested": False}
            if not self._lock_session(session_id, **running):
                return None
            now = self._now()
            heartbeat = _utc(
                self._sessions()
                .filter(session_id=session_id)
                .values_list("heartbeat_at", flat=True)
                .first()
            )
            cutoff = rules.claim_cutoff(as_utc(now), lease, heartbeat)
            for part in rules.batched(list(dict.fromkeys(instance_ids))):
                rows = self._records(session_id).filter(
                    instance_id__in=part, status__in=(_PENDING, _RUNNING)
                )
                taken = []
                for instance_id, status, started_at in rows.values_list(
                    "instance_id", "status", "started_at"
                ):
                    if rules.claimable(RecordStatus(status), _utc(started_at), cutoff):
                        taken.append(instance_id)
                    else:
                        held.append(instance_id)
                        starts.append(_utc(started_at))
                if taken:
                    self._records(session_id).filter(instance_id__in=taken).update(
                        status=_RUNNING, started_at=now
                    )
                    claimed += taken
        until = rules.lease_end(starts, heartbeat, lease)
        return RecordClaim(claimed=tuple(claimed), held=tuple(held), held_until=until)

    def release_records(self, session_id: str, instance_ids: Sequence[int]) -> int:
        if not rules.plausible_session_id(session_id):
            return 0
        released = 0
        with transaction.atomic(using=self.using):
            if not self._lock_session(session_id, status=SessionStatus.RUNNING.value):
                return 0
            for part in rules.batched(list(dict.fromkeys(instance_ids))):
                released += (
                    self._records(session_id)
                    .filter(instance_id__in=part, status=_RUNNING)
                    .update(status=_PENDING, started_at=None)
                )
        return released

    def count_running(self, session_id: str) -> int:
        if not rules.plausible_session_id(session_id):
            return 0
        return int(self._records(session_id).filter(status=_RUNNING).count())


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else as_utc(value)
