"""The background job and the one wrapper every launcher runs it through."""

from __future__ import annotations

import datetime as dt
import logging

from . import _lifecycle as rules
from ._enums import SessionStatus, SyncCategory
from ._instrumentation import job_span, sessions_ended, sessions_reaped
from ._messages import Messages
from ._observability import ActionLog
from ._redaction import describe_error
from ._sessions import FullSyncJob
from .ports import SyncSessionRepository, SyncTask

__all__ = ["FullSyncJob", "fail_session", "reap", "run_full_sync_job", "settle_sessions"]

logger = logging.getLogger(__name__)

BACKGROUND_ACTION = "sync_all_accounts_background"
_SETTLE_SCAN = 20  # recent sessions checked for a lost final write; older ones are the reaper's


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
    running one whose records are all done (only the final write failed) is finished with the
    status its counters imply; any other was already ended by its task, or is left to the reaper.
    """
    texts = messages or Messages()
    log = ActionLog(
        logger, BACKGROUND_ACTION, {"created_by": job.created_by, "session_id": job.session_id}
    )
    with job_span(job):
        try:
            sync_task(
                manual_run=job.manual_run, created_by=job.created_by, session_id=job.session_id
            )
        except Exception as error:
            log.error(texts.background_failed, error=error)
            # Only a session nobody has claimed is this job's to end. A running one belongs to
            # the worker that claimed it (``FullSyncTask`` fails its own session on error): a
            # duplicate delivery that fails, e.g. on a database blip, must not kill that run.
            fail_session(
                sessions, job.session_id, error, log=log, messages=texts, only_pending=True
            )
            settle_sessions(sessions, [job.session_id], log=log, messages=texts)


def settle_sessions(
    sessions: SyncSessionRepository,
    session_ids: list[str],
    *,
    log: ActionLog,
    messages: Messages,
) -> list[str]:
    """Finish each running session whose records are all terminal (see
    :func:`~accounts_sync._lifecycle.settled_status`); return the ids finished. Never raises."""
    settled = []
    for session_id in session_ids:
        try:
            current = sessions.get_session(session_id)
            status = rules.settled_status(current) if current is not None else None
            if status is not None and sessions.finish_session(session_id, status=status):
                settled.append(session_id)
                sessions_ended(status)
        except Exception as store_error:
            log.warning(messages.session_not_marked_failed, error=store_error)
    if settled:
        log.bind(session_ids=settled).warning(messages.session_settled)
    return settled


def reap(
    sessions: SyncSessionRepository,
    stale_after: dt.timedelta,
    stalled_after: dt.timedelta | None,
    messages: Messages,
    *,
    log: ActionLog | None = None,
) -> list[str]:
    """Before a new run: settle running sessions that lost only their final write, then fail
    stale ones and, with ``stalled_after``, running ones that made no progress for that long."""
    log = log or ActionLog(logger, BACKGROUND_ACTION, {})
    running = [
        info.session_id
        for info in sessions.list_sessions(limit=_SETTLE_SCAN, sync_category=SyncCategory.ACCOUNT)
        if info.status is SessionStatus.RUNNING
    ]
    settle_sessions(sessions, running, log=log, messages=messages)
    if stalled_after is None:
        reaped = sessions.reap_stale(stale_after=stale_after, message=messages.session_interrupted)
    else:
        reaped = sessions.reap_stale(
            stale_after=stale_after,
            message=messages.session_interrupted,
            stalled_after=stalled_after,
        )
    return sessions_reaped(reaped)


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
        if sessions.finish_session(
            session_id, status=SessionStatus.FAILED, error_message=describe_error(error)
        ):
            sessions_ended(SessionStatus.FAILED)
    except Exception as store_error:
        log.warning(messages.session_not_marked_failed, error=store_error)
