"""The ``accounts-sync`` command line (also ``python -m accounts_sync``)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from .demo import DemoOptions, SimulatedSyncService, demo_instance_names
from .full_sync import FullSyncTask
from .launchers import ThreadLauncher
from .memory import InMemoryInstanceRepository, InMemorySyncSessionRepository
from .ports import SyncSessionRepository
from .service import AccountsSyncActionsService
from .sessions import SyncSessionInfo
from .testing import FakeInstance

__all__ = ["main"]


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
    except ValueError as error:
        parser.error(str(error))
    return 2  # pragma: no cover - parser.error exits


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="accounts-sync",
        description="Orchestrate database-account synchronisation (accounts_sync).",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="run a background full sync of a simulated fleet and print the summary",
        description=(
            "Run a full background sync of simulated instances with latency, a few failures "
            "and one timeout, show live progress, then print the session summary and the "
            "failed instances."
        ),
    )
    defaults = DemoOptions()
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
    return parser


def _demo(args: argparse.Namespace) -> int:
    options = DemoOptions(
        instances=args.instances,
        latency_ms=args.latency,
        failure_rate=args.failure_rate,
        workers=args.workers,
        timeout=args.timeout,
        seed=args.seed,
    )
    instances = InMemoryInstanceRepository(
        FakeInstance(id=index, name=name, db_type=db_type, host=host)
        for index, (name, db_type, host) in enumerate(demo_instance_names(options.instances), 1)
    )
    sessions = InMemorySyncSessionRepository()
    sync_service = SimulatedSyncService(options)
    task = FullSyncTask(
        instances=instances,
        sessions=sessions,
        sync_service=sync_service,
        max_workers=options.workers,
        instance_timeout=options.timeout,
    )
    service = AccountsSyncActionsService(
        sync_service=sync_service,
        instances=instances,
        sessions=sessions,
        sync_task=task,
        launcher=ThreadLauncher(),
    )
    prepared = service.prepare_background_full_sync(created_by=None)
    launched = service.launch_background_full_sync(created_by=None, prepared=prepared)
    print(
        f"session {launched.session_id}: {launched.active_instance_count} instances, "
        f"{options.workers} workers, running in thread {launched.thread_name!r}"
    )
    final = watch(sessions, launched.session_id, out=sys.stderr)
    print_summary(sessions, final, out=sys.stdout)
    return 0 if final.finished_instances == final.total_instances else 1


def watch(
    sessions: SyncSessionRepository, session_id: str, *, out: TextIO, interval: float = 0.1
) -> SyncSessionInfo:
    """Render progress until the session is terminal; return its final state."""
    live = out.isatty()
    last_shown = -1
    while True:
        info = sessions.get_session(session_id)
        if info is None:
            raise ValueError(f"session {session_id} does not exist")
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


def print_summary(sessions: SyncSessionRepository, info: SyncSessionInfo, *, out: TextIO) -> None:
    """Print the session's counters and its failed records."""
    duration = (
        (info.completed_at - info.started_at).total_seconds()
        if info.completed_at and info.started_at
        else 0.0
    )
    lines = [
        f"session      {info.session_id}",
        f"status       {info.status.value}",
        f"total        {info.total_instances}",
        f"successful   {info.successful_instances}",
        f"failed       {info.failed_instances}",
        f"cancelled    {info.cancelled_instances}",
        f"duration     {duration:.2f} s",
        f"check        {info.successful_instances} + {info.failed_instances} + "
        f"{info.cancelled_instances} = {info.finished_instances} "
        f"({'adds up' if info.finished_instances == info.total_instances else 'MISMATCH'})",
    ]
    failed = [r for r in sessions.list_records(info.session_id) if r.status.value == "failed"]
    if failed:
        lines.append("")
        lines.append(f"failed instances ({len(failed)}):")
        lines.extend(
            f"  {r.instance_id:>6}  {r.instance_name:<20} {r.error_message}" for r in failed
        )
    out.write("\n".join(lines) + "\n")
