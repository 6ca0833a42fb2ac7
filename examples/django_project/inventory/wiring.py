"""How the host wires accounts_sync: one service for the process, and an authorization hook."""

from __future__ import annotations

from functools import cache
from typing import Any

from accounts_sync import AccountsSyncActionsService
from accounts_sync.contrib.django import build_service, permission_authorize

from .models import Instance
from .sync import ToySyncService


@cache
def get_service() -> AccountsSyncActionsService[Any]:
    """The actions service: Django stores, the toy sync, a background thread per full sync."""
    return build_service(sync_service=ToySyncService(), instances=Instance)


# 401 for anonymous users, 403 unless the user holds the action's permission
# (accounts_sync.sync_accounts, accounts_sync.view_syncsession, accounts_sync.cancel_syncsession).
authorize = permission_authorize()
