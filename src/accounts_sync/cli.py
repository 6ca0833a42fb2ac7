"""The ``accounts-sync`` command line (also ``python -m accounts_sync``).

Every command but ``collect`` works on a database given by ``--database URL`` (default: the
environment variable ``ACCOUNTS_SYNC_DATABASE_URL``, else a SQLite file in the current
directory). The commands on real servers live in ``cli_ledger``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import TextIO

import attrs
import sqlalchemy as sa

from ._enums import RecordStatus, SessionStatus
from ._errors import ConflictError
from ._full_sync import DEFAULT_STALE_AFTER, FullSyncTask
from ._launchers import ThreadLauncher
from ._messages import Messages
from ._service import AccountsSyncActionsService
from ._sessions import SyncSessionInfo
from .demo import DemoOptions, SimulatedSyncService, demo_instance_names
from .ledger import describe_error
from .ports import SyncSessionRepository
from .sqlalchemy import (
    DEFAULT_DEMO_URL,
    InstanceRow,
    SqlAlchemyInstanceRepository,
    SqlAlchemySyncSessionRepository,
    create_all,
    create_engine_for,
    instances_table,
)

__all__ = ["Store", "main", "open_store", "print_summary", "watch"]

DATABASE_ENV = "ACCOUNTS_SYNC_DATABASE_URL"
INTERRUPTED = "interrupted (Ctrl-C)"
# The demo's own sessions: a killed demo must not block the next one for long.
DEMO_HEARTBEAT_SECONDS = 2.0
DEMO_STALE_AFTER = dt.timedelta(seconds=30)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args)
    except (ValueError, LookupError) as error:
        print(f"accounts-sync: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"accounts-sync: {INTERRUPTED}", file=sys.stderr)
        return 130
    except ConflictError as error:
        print(f"accounts-sync: {error} (session {error.extra.get('session_id')})", file=sys.stderr)
        return 3
    except sa.exc.SQLAlchemyError as error:
        # An unreachable or unusable --database: one redacted line, not a traceback.
        print(f"accounts-sync: database error: {describe_error(error)}", file=sys.stderr)
        return 2


@attrs.frozen
class Store:
    """The CLI's database: the library's tables plus the ready instances table."""

    engine: sa.Engine
    instances: SqlAlchemyInstanceRepository[InstanceRow]
    sessions: SqlAlchemySyncSessionRepository


def open_store(url: str) -> Store:
    """Connect, create missing tables, and return the repositories."""
    engine = create_engine_for(url)
    create_all(engine, instances=instances_table)
    return Store(
        engine=engine,
        instances=SqlAlchemyInstanceRepository(engine, table=instances_table),
        sessions=SqlAlchemySyncSessionRepository(engine),
    )


def _database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        metavar="URL",
        default=os.environ.get(DATABASE_ENV, DEFAULT_DEMO_URL),
        help=f"SQLAlchemy database URL (default: ${DATABASE_ENV}, else %(default)s)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="accounts-sync",
        description="Orchestrate database-account synchronisation (accounts_sync).",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_demo(commands)
    _add_sessions(commands)
    reap = commands.add_parser(
        "reap",
        help="fail sessions whose worker died (no heartbeat for --stale-after minutes)",
        description="Mark stale pending/running sessions failed, with their unfinished records.",
    )
    _database_option(reap)
    reap.add_argument(
        "--stale-after",
        type=float,
        default=DEFAULT_STALE_AFTER.total_seconds() / 60,
        metavar="MINUTES",
        help="minutes without a heartbeat after which a session is stale (default: %(default)s)",
    )
    reap.set_defaults(handler=_reap)
    # Imported here: cli_ledger builds on this module's helpers.
    from .cli_ledger import add_ledger_commands

    add_ledger_commands(commands)
    return parser


def _add_demo(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    _database_option(demo)
    demo.add_argument(
        "--instances",
        type=int,
        default=defaults.instances,
        metavar="N",
        help="number of simulated instances (default: %(default)s)",
    )
    demo.add_argument(
        "--latency",
        type=float,
        default=defaults.latency_ms,
        metavar="MS",
        help="mean simulated sync latency in milliseconds (default: %(default)s)",
    )
    demo.add_argument(
        "--failure-rate",
        type=float,
        default=defaults.failure_rate,
        metavar="RATE",
        help="share of instances that fail, 0-1 (default: %(default)s)",
    )
    demo.add_argument(
        "--workers",
        type=int,
        default=defaults.workers,
        metavar="N",
        help="instances synced at once (default: %(default)s)",
    )
    demo.add_argument(
        "--timeout",
        type=float,
        default=defaults.timeout,
        metavar="SECONDS",
        help="per-instance timeout in seconds (default: %(default)s)",
    )
    demo.add_argument(
        "--seed",
        type=int,
        default=defaults.seed,
        help="random seed of the simulation (default: %(default)s)",
    )
    demo.set_defaults(handler=_demo)


def _add_sessions(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sessions = commands.add_parser("sessions", help="list sync sessions or show one")
    actions = sessions.add_subparsers(title="actions", metavar="ACTION")
    listing = actions.add_parser("list", help="the most recent sessions, newest first")
    _database_option(listing)
    listing.add_argument("--limit", type=int, default=20, help="how many (default: %(default)s)")
    listing.set_defaults(handler=_sessions_list)
    show = actions.add_parser("show", help="one session: counters, progress, failed records")
    _database_option(show)
    show.add_argument("session_id", metavar="ID")
    show.set_defaults(handler=_sessions_show)


def _demo(args: argparse.Namespace) -> int:
    options = DemoOptions(
        instances=args.instances,
        latency_ms=args.latency,
        failure_rate=args.failure_rate,
        workers=args.workers,
        timeout=args.timeout,
        seed=args.seed,
    )
    store = open_store(args.database)
    with store.engine.begin() as conn:
        conn.execute(sa.delete(instances_table).where(instances_table.c.id > options.instances))
    store.instances.upsert(
        InstanceRow(id=index, name=name, db_type=db_type, host=host)
        for index, (name, db_type, host) in enumerate(demo_instance_names(options.instances), 1)
    )
    sync_service = SimulatedSyncService(options)
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
    )
    prepared = service.prepare_background_full_sync(created_by=None)
    launched = service.launch_background_full_sync(created_by=None, prepared=prepared)
    print(
        f"session {launched.session_id}: {launched.active_instance_count} instances, "
        f"{options.workers} workers, database {store.engine.url.render_as_string()}"
    )
    final = watch(store.sessions, launched.session_id, out=sys.stderr, cancel_on_interrupt=True)
    print_summary(store.sessions, final, out=sys.stdout)
    store.engine.dispose()
    return 0 if final.finished_instances == final.total_instances else 1


def _sessions_list(args: argparse.Namespace) -> int:
    store = open_store(args.database)
    rows = store.sessions.list_sessions(limit=args.limit)
    if not rows:
        print("no sessions")
        return 0
    print(
        f"{'SESSION':36}  {'TYPE':14}  {'STATUS':21}  {'PROGRESS':>8}  "
        f"{'OK':>6}  {'FAILED':>6}  {'CANC':>5}  {'TOTAL':>6}  CREATED"
    )
    for info in rows:
        print(
            f"{info.session_id:36}  {info.sync_type.value:14}  {info.status.value:21}  "
            f"{info.progress:7.2f}%  {info.successful_instances:>6}  {info.failed_instances:>6}"
            f"  {info.cancelled_instances:>5}  {info.total_instances:>6}  "
            f"{_when(info.created_at)}"
        )
    return 0


def _sessions_show(args: argparse.Namespace) -> int:
    store = open_store(args.database)
    info = store.sessions.get_session(args.session_id)
    if info is None:
        raise LookupError(f"{Messages().session_not_found}: {args.session_id}")
    print_summary(store.sessions, info, out=sys.stdout)
    return 0


def _reap(args: argparse.Namespace) -> int:
    if args.stale_after < 0:
        raise ValueError("--stale-after must be >= 0")
    store = open_store(args.database)
    reaped = store.sessions.reap_stale(stale_after=dt.timedelta(minutes=args.stale_after))
    for session_id in reaped:
        print(f"reaped {session_id}")
    print(f"{len(reaped)} stale session(s) reaped")
    return 0


def watch(
    sessions: SyncSessionRepository,
    session_id: str,
    *,
    out: TextIO,
    interval: float = 0.1,
    cancel_on_interrupt: bool = False,
) -> SyncSessionInfo:
    """Render progress until the session is terminal; return its final state.

    With ``cancel_on_interrupt`` (the session runs in this process, whose daemon threads die
    with it), Ctrl-C cancels the session before re-raising, so it does not block the next run.
    """
    try:
        return _watch(sessions, session_id, out=out, interval=interval)
    except KeyboardInterrupt:
        if cancel_on_interrupt:
            sessions.finish_session(
                session_id, status=SessionStatus.CANCELLED, error_message=INTERRUPTED
            )
        raise


def _watch(
    sessions: SyncSessionRepository, session_id: str, *, out: TextIO, interval: float
) -> SyncSessionInfo:
    live = out.isatty()
    last_shown = -1
    while True:
        info = sessions.get_session(session_id)
        if info is None:
            raise LookupError(f"session {session_id} does not exist")
        step = int(info.progress // 25)
        if live:
            out.write("\r" + _progress_line(info))
            out.flush()
        elif step != last_shown or info.is_terminal:
            out.write(_progress_line(info) + "\n")
            last_shown = step
        if info.is_terminal:
            if live:
                out.write("\n")
            return info
        time.sleep(interval)


def _progress_line(info: SyncSessionInfo) -> str:
    width = 30
    filled = int(width * info.progress / 100)
    return (
        f"[{'#' * filled}{'.' * (width - filled)}] {info.progress:6.2f}% "
        f"{info.finished_instances}/{info.total_instances} "
        f"ok={info.successful_instances} failed={info.failed_instances} "
        f"cancelled={info.cancelled_instances} {info.status.value}"
    )


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def print_summary(sessions: SyncSessionRepository, info: SyncSessionInfo, *, out: TextIO) -> None:
    """Print a session's counters, progress and failed records."""
    duration = (
        f"{(info.completed_at - info.started_at).total_seconds():.2f} s"
        if info.completed_at and info.started_at
        else "-"
    )
    adds_up = info.finished_instances == info.total_instances
    lines = [
        f"session      {info.session_id}",
        f"type         {info.sync_type.value}",
        f"status       {info.status.value}",
        f"progress     {info.progress:.2f}%",
        f"total        {info.total_instances}",
        f"successful   {info.successful_instances}",
        f"failed       {info.failed_instances}",
        f"cancelled    {info.cancelled_instances}",
        f"created      {_when(info.created_at)}",
        f"duration     {duration}",
        f"check        {info.successful_instances} + {info.failed_instances} + "
        f"{info.cancelled_instances} = {info.finished_instances} of {info.total_instances}"
        + (" (adds up)" if adds_up else "" if not info.is_terminal else " (MISMATCH)"),
    ]
    if info.error_message:
        lines.append(f"error        {info.error_message}")
    failed = [r for r in sessions.list_records(info.session_id) if r.status is RecordStatus.FAILED]
    if failed:
        lines.append("")
        lines.append(f"failed instances ({len(failed)}):")
        lines.extend(
            f"  {r.instance_id:>6}  {r.instance_name:<20} {r.error_message}" for r in failed
        )
    out.write("\n".join(lines) + "\n")
