"""Smoke tests of examples/django_project: its documented commands, and a full sync through
its own URLconf, page, auth hook and background thread."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from inventory.management.commands.demo import DEMO_PASSWORD, DEMO_USER, ensure_demo_user

from accounts_sync import SessionStatus, SyncCategory, SyncType
from accounts_sync.contrib.django import DjangoSyncSessionRepository
from accounts_sync.ports import utc_now

from .conftest import EXAMPLE


def _manage(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["ACCOUNTS_SYNC_DEMO_DB"] = str(db)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_documented_commands_work(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite3"
    setup = _manage("demo", "--no-serve", db=db)
    assert setup.returncode == 0, setup.stderr
    assert "14 active" in setup.stdout and f"{DEMO_USER} / {DEMO_PASSWORD}" in setup.stdout
    again = _manage("demo", "--no-serve", db=db)  # idempotent
    assert again.returncode == 0, again.stderr
    # The checked-in migrations match the models (ours and the example's).
    check = _manage("makemigrations", "--check", "--dry-run", db=db)
    assert check.returncode == 0, check.stdout + check.stderr
    system = _manage("check", "--fail-level", "WARNING", db=db)
    assert system.returncode == 0, system.stdout + system.stderr


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("demo_project.urls")
def test_a_full_sync_through_the_example() -> None:
    call_command("seed_instances", count=5, stdout=io.StringIO())
    ensure_demo_user()
    client = Client(enforce_csrf_checks=True)
    assert client.get("/").status_code == 302  # the page needs a login
    assert client.login(username=DEMO_USER, password=DEMO_PASSWORD)
    assert client.get("/")["Location"] == "/api/centre/"  # the home page is the session centre
    page = client.get("/instances/")
    assert page.status_code == 200 and b"mysql-broken" in page.content
    token = client.cookies["csrftoken"].value
    response = client.post("/api/instances/actions/sync-accounts", headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.content
    session_id = json.loads(response.content)["data"]["session_id"]
    deadline = time.monotonic() + 20
    while True:
        data = json.loads(client.get(f"/api/sync-sessions/{session_id}").content)["data"]
        if data["session"]["status"] not in ("pending", "running"):
            break
        assert time.monotonic() < deadline
        time.sleep(0.02)
    for thread in threading.enumerate():
        if thread.name == "sync_accounts_manual_batch":
            thread.join(10)
    session = data["session"]
    assert (session["status"], session["total_instances"], session["failed_instances"]) == (
        "completed_with_errors",
        7,
        1,
    )
    broken = next(r for r in data["records"] if r["instance_name"] == "mysql-broken")
    assert broken["status"] == "failed" and broken["error_message"] == "cannot connect to 10.0.9.1"
    one = client.post(
        f"/api/instances/{broken['instance_id']}/actions/sync-accounts",
        headers={"X-CSRFToken": token},
    )
    assert one.status_code == 400 and json.loads(one.content)["message_code"] == "INVALID_REQUEST"


@pytest.mark.django_db
def test_the_reap_command_fails_stale_sessions() -> None:
    an_hour_ago = utc_now() - dt.timedelta(hours=1)
    old = DjangoSyncSessionRepository(clock=lambda: an_hour_ago)
    stale = old.create_session(
        sync_type=SyncType.MANUAL_TASK, sync_category=SyncCategory.ACCOUNT, created_by=None
    )
    fresh = DjangoSyncSessionRepository().create_session(
        sync_type=SyncType.SCHEDULED_TASK, sync_category=SyncCategory.CAPACITY, created_by=None
    )
    out, err = io.StringIO(), io.StringIO()
    call_command("accounts_sync_reap", "--stale-after", "30", stdout=out, stderr=err)
    assert out.getvalue().split() == [stale.session_id]
    assert "reaped 1" in err.getvalue()
    repo = DjangoSyncSessionRepository()
    assert repo.get_session(stale.session_id).status is SessionStatus.FAILED  # type: ignore[union-attr]
    assert repo.get_session(fresh.session_id).status is SessionStatus.PENDING  # type: ignore[union-attr]


def test_the_example_wiring_is_typed_for_the_library(settings: Any) -> None:
    from inventory.wiring import get_service

    from accounts_sync.contrib.django import DjangoThreadLauncher

    service = get_service()
    assert service is get_service()  # one service per process
    assert isinstance(service.launcher, DjangoThreadLauncher)
