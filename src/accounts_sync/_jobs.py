"""The background job and the one wrapper every launcher runs it through (SPEC §3.2)."""

from __future__ import annotations

import logging

from ._enums import SessionStatus
from ._messages import Messages
from ._observability import ActionLog
from ._redaction import describe_error
from ._sessions import FullSyncJob
from .ports import SyncSessionRepository, SyncTask

__all__ = ["FullSyncJob", "fail_session", "run_full_sync_job"]

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
    log = ActionLog(
        logger, BACKGROUND_ACTION, {"created_by": job.created_by, "session_id": job.session_id}
    )
    try:
        sync_task(manual_run=job.manual_run, created_by=job.created_by, session_id=job.session_id)
    except Exception as error:
        log.error(texts.background_failed, error=error)
        # Only a session nobody has claimed is this job's to end. A running one belongs to the
        # worker that claimed it (``FullSyncTask`` fails its own session on error): a duplicate
        # delivery that fails, e.g. on a database blip, must not kill that run.
        fail_session(sessions, job.session_id, error, log=log, messages=texts, only_pending=True)


def fail_session(
    sessions: SyncSessionRepository,
    session_id: str,
    error: BaseException,
    *,
    log: ActionLog,
    messages: Messages,
    only_pending: bool = False,
) -> None:
    """Mark the session ``failed`` with ``error``'s description, else log a warning.

    Never raises: when the store itself is down, the reaper ends the session later. With
    ``only_pending``, a session that is no longer pending is left alone.
    """
    try:
        if only_pending:
            current = sessions.get_session(session_id)
            if current is None or current.status is not SessionStatus.PENDING:
                return
        sessions.finish_session(
            session_id, status=SessionStatus.FAILED, error_message=describe_error(error)
        )
    except Exception as store_error:
        log.warning(messages.session_not_marked_failed, error=store_error)
