"""Django integration: models, stores, views and URL patterns.

Add ``"accounts_sync.contrib.django"`` to ``INSTALLED_APPS`` (app label ``accounts_sync``) and
run ``migrate``. The names below are imported lazily, on first use, so that Django can import
this package while it is still loading apps.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .._extras import require

require("django", extra="django", integration=__name__)

if TYPE_CHECKING:
    from .auth import DEFAULT_PERMISSIONS, permission_authorize
    from .launchers import CloseConnectionsLauncher, DjangoThreadLauncher
    from .repositories import (
        DjangoInstanceRepository,
        DjangoSyncSessionRepository,
        MappedInstance,
    )
    from .views import AccountsSyncViews, ServiceSource, accounts_sync_urls
    from .wiring import build_service

__all__ = [
    "DEFAULT_PERMISSIONS",
    "AccountsSyncViews",
    "CloseConnectionsLauncher",
    "DjangoInstanceRepository",
    "DjangoSyncSessionRepository",
    "DjangoThreadLauncher",
    "MappedInstance",
    "ServiceSource",
    "accounts_sync_urls",
    "build_service",
    "permission_authorize",
]

_HOMES = {
    "DEFAULT_PERMISSIONS": "auth",
    "permission_authorize": "auth",
    "CloseConnectionsLauncher": "launchers",
    "DjangoThreadLauncher": "launchers",
    "DjangoInstanceRepository": "repositories",
    "DjangoSyncSessionRepository": "repositories",
    "MappedInstance": "repositories",
    "AccountsSyncViews": "views",
    "ServiceSource": "views",
    "accounts_sync_urls": "views",
    "build_service": "wiring",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
