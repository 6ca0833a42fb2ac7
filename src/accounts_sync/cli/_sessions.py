"""``demo``, ``sessions list``/``show`` and ``reap``, and the live progress of a session."""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Sequence

from .._enums import RecordStatus, SessionStatus
from .._full_sync import DEFAULT_STALE_AFTER, FullSyncTask
from .._launchers import ThreadLauncher
from .._pages import MAX_RECORDS_PER_PAGE, RECORDS_PER_PAGE, page_records
from .._service import AccountsSyncActionsService
from .._sessions import SyncSessionInfo
from ..ports import SyncSessionRepository
from ..sqlalchemy import InstanceRow
from ._demo import DemoOptions, SimulatedSyncService, demo_instances
from ._options import Commands, database_option
from ._progress import progress_display
from ._render import record_table, session_rows, summary_lines
from ._store import open_store
from ._terminal import Terminal

__all__ = ["add_session_commands", "print_summary", "watch"]
# The demo's own sessions: a killed demo must not block the next one for long.
DEMO_HEARTBEAT_SECONDS = 2.0
DEMO_STALE_AFTER = dt.timedelta(seconds=30)


def add_session_commands(commands: Commands) -> None:
    """Register ``demo``, ``sessions`` and ``reap``."""
    _add_demo(commands)
    sessions = commands.add_parser("sessions", help="list sync sessions or show one")
    actions = sessions.add_subparsers(title="actions", metavar="ACTION")
    listing = actions.add_parser("list", help="the most recent sessions, newest first")
    database_option(listing)
    listing.add_argument("--limit", type=int, default=20, help="how many (default: %(default)s)")
    listing.set_defaults(handler=_sessions_list)
    show = actions.add_parser(
        "show",
        help="one session: counters, progress, failed records",
        description=(
            "Print a session's counters and progress, then one page of its failed records "
            "(or of the records of --status), in creation order; when there are more, the "
            "last line says which --after continues."
        ),
    )
    database_option(show)
    show.add_argument("session_id", metavar="ID")
    show.add_argument(
        "--status",
        type=_record_statuses,
        metavar="STATUS[,STATUS]",
        help="list the records of these statuses instead of the failed ones "
        f"({', '.join(status.value for status in RecordStatus)})",
    )
    show.add_argument(
        "--limit",
        type=_page_size,
        default=RECORDS_PER_PAGE,
        metavar="N",
        help=f"records per page, 1-{MAX_RECORDS_PER_PAGE} (default: %(default)s)",
    )
    show.add_argument(
        "--after", type=int, metavar="RECORD_ID", help="start after this record (see the hint)"
    )
    show.set_defaults(handler=_sessions_show)
    reap = commands.add_parser(
        "reap",
        help="fail sessions whose worker died (no heartbeat for --stale-after minutes)",
        description="Mark stale pending/running sessions failed, with their unfinished records.",
    )
    database_option(reap)
    reap.add_argument(
        "--stale-after",
        type=float,
        default=DEFAULT_STALE_AFTER.total_seconds() / 60,
        metavar="MINUTES",
        help="minutes without a heartbeat after which a session is stale (default: %(default)s)",
    )
    reap.set_defaults(handler=_reap)


def _add_demo(commands: Commands) -> None:
    demo = commands.add_parser(
        "demo",
        help="run a background full sync of a simulated fleet and print the summary",
        description=(
            "Run a full background sync of simulated instances with latency, a few failures "
            "and one timeout, show live progress, then print the session summary and the "
            "failed instances. The simulated instances replace the rows of the ready "
            "instances table of --database."
        ),
    )
    defaults = DemoOptions()
    database_option(demo)
    for flag, kind, default, metavar, text in (
        ("--instances", int, defaults.instances, "N", "number of simulated instances"),
        (
            "--latency",
            float,
            defaults.latency_ms,
            "MS",
            "mean simulated sync latency in milliseconds",
        ),
        (
            "--failure-rate",
            float,
            defaults.failure_rate,
            "RATE",
            "share of instances that fail, 0-1",
        ),
        ("--workers", int, defaults.workers, "N", "instances synced at once"),
        ("--timeout", float, defaults.timeout, "SECONDS", "per-instance timeout in seconds"),
        ("--seed", int, defaults.seed, None, "random seed of the simulation"),
    ):
        demo.add_argument(
            flag, type=kind, default=default, metavar=metavar, help=f"{text} (default: %(default)s)"
        )
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace, term: Terminal) -> int:
    options = DemoOptions(
        instances=args.instances,
        latency_ms=args.latency,
        failure_rate=args.failure_rate,
        workers=args.workers,
        timeout=args.timeout,
        seed=args.seed,
    )
    fleet = demo_instances(options.instances)
    store = open_store(args.database)
    store.instances.delete_after(options.instances)
    store.instances.upsert(
        InstanceRow(id=index, name=item.name, db_type=item.db_type, host=item.host)
        for index, item in enumerate(fleet, 1)
    )
    sync_service = SimulatedSyncService(options, fleet, term.speech.texts)
    task = FullSyncTask(
        instances=store.instances,
        sessions=store.sessions,
        sync_service=sync_service,
        max_workers=options.workers,
        instance_timeout=options.timeout,
        heartbeat_interval=DEMO_HEARTBEAT_SECONDS,
        stale_after=DEMO_STALE_AFTER,
    )
    service = AccountsSyncActionsService(
        sync_service=sync_service,
        instances=store.instances,
        sessions=store.sessions,
        sync_task=task,
        launcher=ThreadLauncher(),
        stale_after=DEMO_STALE_AFTER,
        messages=term.speech.messages,
    )
    prepared = service.prepare_background_full_sync(created_by=None)
    launched = service.launch_background_full_sync(created_by=None, prepared=prepared)
    texts = term.speech.texts
    term.out(
        texts.launched.format(
            session_id=launched.session_id,
            instances=launched.active_instance_count,
            workers=options.workers,
        )
        + texts.database.format(url=store.engine.url.render_as_string())
    )
    final = watch(store.sessions, launched.session_id, term=term, cancel_on_interrupt=True)
    print_summary(term, store.sessions, final)
    store.engine.dispose()
    return 0 if final.finished_instances == final.total_instances else 1


def _sessions_list(args: argparse.Namespace, term: Terminal) -> int:
    rows = open_store(args.database).sessions.list_sessions(limit=args.limit)
    if rows:
        session_rows(term, rows)
    else:
        term.out(term.speech.texts.no_sessions)
    return 0


def _record_statuses(text: str) -> tuple[RecordStatus, ...]:
    try:
        return tuple(dict.fromkeys(RecordStatus(part.strip()) for part in text.split(",")))
    except ValueError:
        raise argparse.ArgumentTypeError(f"unknown record status in {text!r}") from None


def _page_size(text: str) -> int:
    size = int(text)
    if not 1 <= size <= MAX_RECORDS_PER_PAGE:
        raise argparse.ArgumentTypeError(f"must be 1-{MAX_RECORDS_PER_PAGE}, not {size}")
    return size


def _sessions_show(args: argparse.Namespace, term: Terminal) -> int:
    store = open_store(args.database)
    info = store.sessions.get_session(args.session_id)
    if info is None:
        raise LookupError(f"{term.speech.messages.session_not_found}: {args.session_id}")
    print_summary(
        term, store.sessions, info, statuses=args.status, limit=args.limit, after=args.after
    )
    return 0


def _reap(args: argparse.Namespace, term: Terminal) -> int:
    if args.stale_after < 0:
        raise ValueError("--stale-after must be >= 0")
    store = open_store(args.database)
    texts = term.speech.texts
    reaped = store.sessions.reap_stale(
        stale_after=dt.timedelta(minutes=args.stale_after),
        message=term.speech.messages.session_interrupted,
    )
    term.out(*(texts.reaped.format(session_id=session_id) for session_id in reaped))
    term.out(texts.reaped_count.format(count=len(reaped)))
    return 0


def print_summary(
    term: Terminal,
    sessions: SyncSessionRepository,
    info: SyncSessionInfo,
    *,
    statuses: Sequence[RecordStatus] | None = None,
    limit: int = RECORDS_PER_PAGE,
    after: int | None = None,
) -> None:
    """Print a session's counters and progress, then one page of its failed records (a table of
    the records of ``statuses`` when given) after record ``after``, and the ``--after`` that
    continues when there are more: a session of any size prints in bounded time."""
    texts = term.speech.texts
    page = page_records(
        sessions,
        info.session_id,
        after_record_id=after,
        limit=limit + 1,
        statuses=statuses or (RecordStatus.FAILED,),
    )
    shown = page[:limit]
    term.out(*summary_lines(info, [] if statuses else shown, texts))
    if statuses:
        record_table(term, shown)
    if len(page) > limit:
        term.out("", texts.more_records.format(after=shown[-1].record_id))


def watch(
    sessions: SyncSessionRepository,
    session_id: str,
    *,
    term: Terminal,
    interval: float = 0.1,
    cancel_on_interrupt: bool = False,
) -> SyncSessionInfo:
    """Render progress on stderr until the session is terminal; return its final state.

    With ``cancel_on_interrupt`` (the session runs in this process, whose daemon threads die
    with it), Ctrl-C cancels the session before re-raising, so it does not block the next run.
    """
    display = progress_display(term)
    try:
        while True:
            info = sessions.get_session(session_id)
            if info is None:
                raise LookupError(f"{term.speech.messages.session_not_found}: {session_id}")
            display.show(info)
            if info.is_terminal:
                return info
            time.sleep(interval)
    except KeyboardInterrupt:
        if cancel_on_interrupt:
            sessions.finish_session(
                session_id,
                status=SessionStatus.CANCELLED,
                error_message=term.speech.texts.interrupted,
            )
        raise
    finally:
        display.close()
