"""Both frameworks' real test clients over one in-memory service, at the same paths: what the
tests run once per framework share (the ``front`` fixture of this folder's conftest)."""

from __future__ import annotations

import json
import sys
import types
from typing import Any

import flask
from django.test import Client
from django.urls import include, path

from accounts_sync import AccountsSyncActionsService, SyncSessionInfo
from accounts_sync.contrib.django import AccountsSyncViews
from accounts_sync.contrib.flask import init_app
from accounts_sync.contrib.http import NotAuthenticated, PermissionDenied
from accounts_sync.testing import (
    RecordingLauncher,
    ScriptedSyncService,
    in_memory_service,
    make_instances,
)

PREFIX = "/api/v1"
USERS = {"alice": 1, "bob": 2, "carol": 3}
URLCONF = "tests.django._parity_urls"


class Front:
    """One framework's test client at ``/api/v1``; answers are ``(status, json body)``."""

    def __init__(self, kind: str, settings: Any) -> None:
        self.kind = kind
        self._settings = settings
        self.launcher = RecordingLauncher()
        self.sync_service = ScriptedSyncService()
        self.service: AccountsSyncActionsService[Any] = in_memory_service(
            make_instances(3), sync_service=self.sync_service, launcher=self.launcher
        )

    def mount(self, authorize: Any) -> Front:
        """Serve the endpoints with this hook (raises what configuration raises)."""
        if self.kind == "flask":
            app = flask.Flask(__name__)
            init_app(app, self.service, authorize=authorize)
            self._flask = app.test_client()
        else:
            views = AccountsSyncViews(self.service, authorize=authorize)
            module = types.ModuleType(URLCONF)
            module.urlpatterns = [path("api/v1/", include(views.urls()))]  # type: ignore[attr-defined]
            sys.modules[URLCONF] = module
            self._settings.ROOT_URLCONF = URLCONF
            self._django = Client()
        return self

    def call(self, method: str, url: str, user: str | None = None) -> tuple[int, dict[str, Any]]:
        headers = {"X-User": user} if user else {}
        if self.kind == "flask":
            reply = getattr(self._flask, method)(PREFIX + url, headers=headers)
            return reply.status_code, reply.get_json()
        response = getattr(self._django, method)(PREFIX + url, headers=headers)
        return response.status_code, json.loads(response.content)

    def page(self, url: str, user: str | None = None) -> tuple[int, str]:
        """``GET`` an HTML page (the session centre's): its status and text."""
        headers = {"X-User": user} if user else {}
        if self.kind == "flask":
            reply = self._flask.get(PREFIX + url, headers=headers)
            return reply.status_code, reply.get_data(as_text=True)
        response = self._django.get(PREFIX + url, headers=headers)
        return response.status_code, response.getvalue().decode()


def user_of(request: Any) -> int:
    """The actor named by the ``X-User`` header; 401 for anyone else."""
    name = request.headers.get("X-User")
    if name not in USERS:
        raise NotAuthenticated("")
    return USERS[name]


def owner_only(request: Any, action: str, target: SyncSessionInfo | int | None) -> int:
    """Anyone logged in may start syncs; only a session's creator may read or cancel it."""
    actor = user_of(request)
    if isinstance(target, SyncSessionInfo) and target.created_by != actor:
        raise PermissionDenied("")
    return actor
