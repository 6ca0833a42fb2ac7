"""The test URLconf: the API under ``api/`` and host views that call ours."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.urls import include, path

from accounts_sync.contrib.django import AccountsSyncViews

from .state import STATE

views = AccountsSyncViews(STATE.service, authorize=STATE.authorize)


def sync_all_then_fail(request: Any) -> Any:
    """A host view that starts a full sync, then fails: its request must roll back."""
    views.sync_all(request)
    raise RuntimeError("the host's view failed after starting the sync")


def sync_all_then_note(request: Any) -> Any:
    """A host view that starts a full sync, then registers an on-commit callback of its own."""
    response = views.sync_all(request)
    transaction.on_commit(lambda: STATE.notes.append("host view committed"))
    return response


urlpatterns = [
    path("api/", include(views.urls())),
    path("host/sync-then-fail", sync_all_then_fail),
    path("host/sync-then-note", sync_all_then_note),
]
