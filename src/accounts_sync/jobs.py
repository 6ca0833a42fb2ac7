"""The background job and the one wrapper every launcher runs it through (SPEC §3.2)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import attrs

from .enums import SessionStatus
from .messages import Messages
from .observability import log_event
from .ports import SyncSessionRepository, SyncTask
from .redaction import describe_error

__all__ = ["FullSyncJob", "run_full_sync_job"]

logger = logging.getLogger(__name__)

BACKGROUND_ACTION = "sync_all_accounts_background"


@attrs.frozen(kw_only=True)
class FullSyncJob:
    """Plain, serialisable description of one background full sync."""

    session_id: str
    created_by: int | None = None
    manual_run: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "created_by": self.created_by,
            "manual_run": self.manual_run,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FullSyncJob:
        created_by = data.get("created_by")
        return cls(
            session_id=str(data["session_id"]),
            created_by=None if created_by is None else int(created_by),
            manual_run=bool(data.get("manual_run", True)),
        )


def run_full_sync_job(
    job: FullSyncJob,
    *,
    sync_task: SyncTask,
    sessions: SyncSessionRepository,
    messages: Messages | None = None,
) -> None:
    """Run ``job`` through ``sync_task``; nothing escapes.

    Any ``Exception`` is logged once at ERROR (action ``sync_all_accounts_background``) and a
    session the task never claimed (still ``pending``) is marked ``failed`` with the error; a
    claimed one was already ended by its task, or is left to the reaper.
    """
    texts = messages or Messages()
    try:
        sync_task(manual_run=job.manual_run, created_by=job.created_by, session_id=job.session_id)
    except Exception as error:
        log_event(
            logger,
            logging.ERROR,
            texts.background_failed,
            action=BACKGROUND_ACTION,
            context={"created_by": job.created_by, "session_id": job.session_id},
            error=error,
        )
        try:
            # Only a session nobody has claimed is this job's to end. A running one belongs to
            # the worker that claimed it (``FullSyncTask`` fails its own session on error): a
            # duplicate delivery that fails, e.g. on a database blip, must not kill that run.
            current = sessions.get_session(job.session_id)
            if current is not None and current.status is SessionStatus.PENDING:
                sessions.finish_session(
                    job.session_id,
                    status=SessionStatus.FAILED,
                    error_message=describe_error(error),
                )
        except Exception as store_error:
            # The store itself is down: the reaper will fail the session later.
            log_event(
                logger,
                logging.WARNING,
                texts.session_not_marked_failed,
                action=BACKGROUND_ACTION,
                context={"created_by": job.created_by, "session_id": job.session_id},
                error=store_error,
            )
