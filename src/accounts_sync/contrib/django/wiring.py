"""One call to build the actions service on the Django stores."""

from __future__ import annotations

from typing import Any

from ..._service import AccountsSyncActionsService
from ...ports import InstanceRepository, Launcher, SupportsAccountSync, SyncSessionRepository
from .launchers import DjangoThreadLauncher
from .repositories import DjangoInstanceRepository, DjangoSyncSessionRepository

__all__ = ["build_service"]


def build_service(
    *,
    sync_service: SupportsAccountSync[Any],
    instances: InstanceRepository[Any] | type[Any],
    sessions: SyncSessionRepository | None = None,
    launcher: Launcher | None = None,
    **options: Any,
) -> AccountsSyncActionsService[Any]:
    """An ``AccountsSyncActionsService`` with Django defaults.

    ``instances`` is an instance repository or the host's model class (then mapped with
    :class:`DjangoInstanceRepository`'s default field names); ``sessions`` defaults to a
    :class:`DjangoSyncSessionRepository`; ``launcher`` to a :class:`DjangoThreadLauncher` (wrap
    another thread-based launcher in :class:`CloseConnectionsLauncher`). ``options`` go to the
    service (``messages``, ``stale_after``, ``sync_task``…).
    """
    if isinstance(instances, type):
        instances = DjangoInstanceRepository(instances)
    return AccountsSyncActionsService(
        sync_service=sync_service,
        instances=instances,
        sessions=sessions or DjangoSyncSessionRepository(),
        launcher=launcher or DjangoThreadLauncher(),
        **options,
    )
