"""The background job and the one wrapper every launcher runs it through (SPEC §3.2)."""

from __future__ import annotations

import logging

from ._enums import SessionStatus
from ._messages import Messages
from ._observability import log_event
from ._redaction import describe_error
from ._sessions import FullSyncJob
from .ports import SyncSessionRepository, SyncTask

__all__ = ["FullSyncJob", "run_full_sync_job"]

logger = logging.getLogger(__name__)

BACKGROUND_ACTION = "sync_all_accounts_background"


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
