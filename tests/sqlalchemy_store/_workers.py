"""Code that runs in child processes (spawned, so it must be importable by name)."""

from __future__ import annotations

import os
from typing import Any

from accounts_sync import AccountsSyncActionsService, ConflictError, InlineLauncher
from accounts_sync.sqlalchemy import (
    SqlAlchemyInstanceRepository,
    SqlAlchemySyncSessionRepository,
    create_engine_for,
)
from accounts_sync.testing import RecordingLauncher, ScriptedSyncService


def service_for(url: str, **options: Any) -> AccountsSyncActionsService[Any]:
    """A service on standalone SQL repositories (what a background worker or a script uses)."""
    engine = create_engine_for(url)
    return AccountsSyncActionsService(
        sync_service=options.pop("sync_service", ScriptedSyncService()),
        instances=SqlAlchemyInstanceRepository(engine),
        sessions=SqlAlchemySyncSessionRepository(engine),
        launcher=options.pop("launcher", RecordingLauncher()),
        **options,
    )


def warm_up(_: object = None) -> int:
    """Import everything once, so that the race itself starts from warm processes."""
    return os.getpid()


def prepare_when_released(url: str, barrier: Any) -> tuple[str, str | None]:
    """Wait for every racer, then prepare: ``("created", id)`` or ``("conflict", holder)``."""
    service = service_for(url)
    service.instances.count_active()  # open a pooled connection before the start line
    barrier.wait(timeout=60)
    try:
        prepared = service.prepare_background_full_sync(created_by=os.getpid())
    except ConflictError as conflict:
        return "conflict", conflict.extra.get("session_id")
    return "created", prepared.session_id


def run_slow_full_sync(url: str, delay: float) -> None:
    """Prepare and run a full sync in this process, every instance taking ``delay`` seconds."""
    service = service_for(
        url, sync_service=ScriptedSyncService(default_delay=delay), launcher=InlineLauncher()
    )
    prepared = service.prepare_background_full_sync(created_by=1)
    service.launch_background_full_sync(created_by=1, prepared=prepared)


def run_full_sync_then_hang(url: str, quick: int) -> None:
    """A full sync whose first ``quick`` instances finish at once and the rest never return:
    the process is killed while the last counts would still sit in a buffer."""
    import threading

    hang = threading.Event()
    sync = ScriptedSyncService()
    for instance_id in range(quick + 1, quick + 50):
        sync.script(instance_id, call=lambda _instance: hang.wait())
    service = service_for(url, sync_service=sync, launcher=InlineLauncher())
    prepared = service.prepare_background_full_sync(created_by=1)
    service.launch_background_full_sync(prepared=prepared)
