"""Fixtures of the Flask suite: an app with the blueprint over in-memory stores."""

from __future__ import annotations

import threading
from typing import Any

import flask
import pytest

from accounts_sync.contrib.http import Action, NotAuthenticated, PermissionDenied
from accounts_sync.testing import RecordingLauncher, ScriptedSyncService, in_memory_service

ADMIN_ID = 7
HEADERS = {"X-Token": "admin"}


def authorize(request: flask.Request, action: str) -> int | None:
    """``admin`` may do everything, ``viewer`` may only view; anything else is anonymous."""
    token = request.headers.get("X-Token")
    if token == "admin":
        return ADMIN_ID
    if token == "viewer":
        if action == Action.VIEW_SESSION:
            return None
        raise PermissionDenied("")
    raise NotAuthenticated("")


class Env:
    """The app, its test client and the fakes behind it."""

    def __init__(self, instances: list[Any]) -> None:
        self.launcher = RecordingLauncher()
        self.sync_service = ScriptedSyncService()
        self.service = in_memory_service(
            instances, sync_service=self.sync_service, launcher=self.launcher
        )
        self.app = flask.Flask(__name__)
        from accounts_sync.contrib.flask import init_app

        init_app(self.app, self.service, authorize=authorize)
        self.client = self.app.test_client()

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.client.post(f"/api/v1{path}", headers=kwargs.pop("headers", HEADERS), **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(f"/api/v1{path}", headers=kwargs.pop("headers", HEADERS), **kwargs)


@pytest.fixture
def env() -> Env:
    from accounts_sync.testing import make_instances

    return Env(make_instances(3))


def race_full_syncs(app: flask.Flask, headers: dict[str, str], racers: int = 8) -> list[Any]:
    """POST the full sync from ``racers`` threads released at once; their responses."""
    start = threading.Barrier(racers)
    responses: list[Any] = []

    def race() -> None:
        client = app.test_client()
        start.wait()
        responses.append(client.post("/api/v1/instances/actions/sync-accounts", headers=headers))

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return responses
