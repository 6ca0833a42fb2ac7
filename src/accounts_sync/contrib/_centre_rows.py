"""What the session centre's templates show: sessions and records as display rows, built from
the JSON the endpoints answer (the page's script formats the same JSON the same way)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import attrs

from .._enums import SessionStatus
from .._messages import Messages

__all__ = ["RecordRow", "SessionRow", "script_texts", "status_label"]

_PLACEHOLDER = "-"


@attrs.frozen
class SessionRow:
    """One session as the list and the detail show it."""

    session_id: str
    url: str
    status: str
    status_label: str
    terminal: bool
    category: str
    progress: str
    """The percentage as ``<progress value>`` takes it (never localised: ``45.5``)."""
    progress_text: str
    total: int
    succeeded: int
    failed: int
    cancelled: int
    created_by: str
    created_at: str
    created_at_iso: str
    duration: str
    cancel_requested: bool

    @classmethod
    def from_json(
        cls, data: Mapping[str, Any], *, url: str, texts: Messages, now: dt.datetime
    ) -> SessionRow:
        """The row of one ``SyncSessionInfo.as_dict()``."""
        status = str(data["status"])
        progress = float(data["progress"])
        created_by = data.get("created_by")
        return cls(
            session_id=str(data["session_id"]),
            url=url,
            status=status,
            status_label=status_label(status, texts),
            terminal=SessionStatus(status).is_terminal,
            category=str(data["sync_category"]),
            progress=f"{progress:g}",
            progress_text=f"{int(progress)}%",
            total=int(data["total_instances"]),
            succeeded=int(data["successful_instances"]),
            failed=int(data["failed_instances"]),
            cancelled=int(data["cancelled_instances"]),
            created_by=texts.centre_anonymous if created_by is None else str(created_by),
            created_at=_moment(data.get("created_at")),
            created_at_iso=data.get("created_at") or "",
            duration=_duration(data.get("started_at"), data.get("completed_at"), now, texts),
            cancel_requested=bool(data.get("cancel_requested")),
        )


@attrs.frozen
class RecordRow:
    """One instance's record in the session detail."""

    record_id: int
    instance_name: str
    status: str
    status_label: str
    message: str
    synced: int
    duration: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, texts: Messages, now: dt.datetime) -> RecordRow:
        """The row of one ``SyncRecordInfo.as_dict()``; the message is shown as stored."""
        status = str(data["status"])
        return cls(
            record_id=int(data["record_id"]),
            instance_name=str(data["instance_name"]),
            status=status,
            status_label=status_label(status, texts),
            message=data.get("error_message") or "",
            synced=int(data["items_synced"]),
            duration=_duration(data.get("started_at"), data.get("completed_at"), now, texts),
        )


def status_label(status: str, texts: Messages) -> str:
    """The catalogue's word for a session or record status."""
    label = getattr(texts, f"centre_status_{status}", None)
    return label if isinstance(label, str) else status


def script_texts(texts: Messages) -> str:
    """The texts the page's script needs, as JSON for a ``data-`` attribute."""
    labels = {status.value: status_label(status.value, texts) for status in SessionStatus}
    return json.dumps(
        {
            "labels": labels,
            "anonymous": texts.centre_anonymous,
            "progress": texts.centre_progress,
            "seconds": texts.centre_seconds,
            "runningLink": texts.centre_running_link,
        },
        ensure_ascii=False,
    )


def _moment(iso: object) -> str:
    # The endpoints answer UTC; the page says so rather than guess the reader's zone.
    if not isinstance(iso, str) or not iso:
        return _PLACEHOLDER
    return f"{iso[:19].replace('T', ' ')} UTC"


def _duration(started: object, completed: object, now: dt.datetime, texts: Messages) -> str:
    """Seconds from start to end, or to ``now`` while it runs; ``-`` before it starts."""
    if not isinstance(started, str) or not started:
        return _PLACEHOLDER
    end = dt.datetime.fromisoformat(completed) if isinstance(completed, str) else now
    seconds = max(0.0, (end - dt.datetime.fromisoformat(started)).total_seconds())
    return texts.centre_seconds.format(seconds=f"{seconds:.1f}")
