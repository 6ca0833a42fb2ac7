"""The test URLconf: the API under ``api/`` and a host view that fails after ours succeeded."""

from __future__ import annotations

from typing import Any

from django.urls import include, path

from accounts_sync.contrib.django import AccountsSyncViews

from .state import STATE

views = AccountsSyncViews(STATE.service, authorize=STATE.authorize)


def sync_all_then_fail(request: Any) -> Any:
    """A host view that starts a full sync, then fails: its request must roll back."""
    views.sync_all(request)
    raise RuntimeError("the host's view failed after starting the sync")


urlpatterns = [
    path("api/", include(views.urls())),
    path("host/sync-then-fail", sync_all_then_fail),
]
