"""Fakes for host applications' own tests: instances, a scriptable sync service, a launcher.

Hypothesis strategies for raw sync results live in ``accounts_sync.testing.strategies``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from .._clock import ManualClock
from .._jobs import FullSyncJob
from .._launchers import InlineLauncher
from .._service import AccountsSyncActionsService
from ..memory import InMemoryInstanceRepository, InMemorySyncSessionRepository
from ..ports import Clock, Launcher

__all__ = [
    "FakeInstance",
    "ManualClock",
    "RecordingLauncher",
    "ScriptedSyncService",
    "SyncCall",
    "in_memory_service",
    "make_instances",
]


@attrs.define
class FakeInstance:
    """A host instance with the attributes the library and the in-memory store read."""

    id: int
    name: str
    db_type: str = "mysql"
    host: str = "127.0.0.1"
    is_active: bool = True
    deleted_at: dt.datetime | None = None
    sync_count: int | None = 0


def make_instances(count: int, *, prefix: str = "db", db_type: str = "mysql") -> list[FakeInstance]:
    """``count`` active instances named ``{prefix}-0001`` … with ids 1…count."""
    width = max(4, len(str(count)))
    return [
        FakeInstance(id=index, name=f"{prefix}-{index:0{width}d}", db_type=db_type)
        for index in range(1, count + 1)
    ]


@attrs.frozen
class SyncCall:
    """One recorded call of ``ScriptedSyncService.sync_accounts``."""

    instance_id: int
    sync_type: str
    session_id: str | None
    created_by: int | None
    thread_name: str


@attrs.frozen
class _Script:
    result: Any = None
    raises: BaseException | None = None
    delay: float = 0.0
    call: Callable[[Any], Any] | None = None


_DEFAULT_RESULT: Mapping[str, Any] = {"success": True, "synced_count": 1}


class ScriptedSyncService:
    """A ``SupportsAccountSync`` whose answer per instance id is scripted, and which records calls.

    Unscripted instances return ``default`` (a success with ``synced_count=1``) after
    ``default_delay`` seconds. Thread-safe; ``calls`` lists what was asked, in call order.
    """

    def __init__(self, *, default: Any = _DEFAULT_RESULT, default_delay: float = 0.0) -> None:
        self._default = _Script(result=default, delay=default_delay)
        self._scripts: dict[int, _Script] = {}
        self._lock = threading.Lock()
        self.calls: list[SyncCall] = []

    def script(
        self,
        instance_id: int,
        *,
        result: Any = _DEFAULT_RESULT,
        raises: BaseException | None = None,
        delay: float = 0.0,
        call: Callable[[Any], Any] | None = None,
    ) -> ScriptedSyncService:
        """Script one instance: return ``result``, raise ``raises``, or ``call(instance)``,
        after sleeping ``delay`` seconds."""
        self._scripts[instance_id] = _Script(result=result, raises=raises, delay=delay, call=call)
        return self

    def sync_accounts(
        self,
        instance: Any,
        sync_type: str = "manual_single",
        session_id: str | None = None,
        created_by: int | None = None,
    ) -> Any:
        script = self._scripts.get(instance.id, self._default)
        with self._lock:
            self.calls.append(
                SyncCall(
                    instance.id,
                    sync_type,
                    session_id,
                    created_by,
                    threading.current_thread().name,
                )
            )
        if script.delay:
            time.sleep(script.delay)
        if script.raises is not None:
            raise script.raises
        if script.call is not None:
            return script.call(instance)
        return script.result

    def called_ids(self) -> list[int]:
        with self._lock:
            return [call.instance_id for call in self.calls]


class RecordingLauncher:
    """Records launched jobs without running them; ``run_all()`` runs them later, in order.

    Use it to assert *that* and *when* a launch happened (e.g. only after commit).
    """

    def __init__(self) -> None:
        self.jobs: list[FullSyncJob] = []
        self._pending: list[tuple[FullSyncJob, Callable[[FullSyncJob], None]]] = []
        self._names = itertools.count(1)
        self.fail_with: BaseException | None = None

    def launch(self, job: FullSyncJob, run: Callable[[FullSyncJob], None]) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        self.jobs.append(job)
        self._pending.append((job, run))
        return f"recorded-{next(self._names)}"

    def run_all(self) -> int:
        """Run every recorded job not yet run; return how many ran."""
        pending, self._pending = self._pending, []
        for job, run in pending:
            run(job)
        return len(pending)


def in_memory_service(
    instances: Iterable[Any] = (),
    *,
    sync_service: Any | None = None,
    launcher: Launcher | None = None,
    clock: Clock | None = None,
    **options: Any,
) -> AccountsSyncActionsService[Any]:
    """A service on fresh in-memory stores; launches inline unless told otherwise."""
    return AccountsSyncActionsService(
        sync_service=sync_service or ScriptedSyncService(),
        instances=InMemoryInstanceRepository(instances),
        sessions=InMemorySyncSessionRepository(clock=clock),
        launcher=launcher or InlineLauncher(),
        **options,
    )
