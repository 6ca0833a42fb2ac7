"""Smoke test of ``examples/flask_app``: trigger a full sync and watch it complete."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa

from .conftest import race_full_syncs

pytestmark = pytest.mark.timeout(60)

APP_PATH = Path(__file__).resolve().parents[2] / "examples" / "flask_app" / "app.py"
TOKEN = {"Authorization": "Bearer smoke-token"}


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("accounts_sync_flask_example", APP_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def example_app(tmp_path: Path, **config: Any) -> tuple[ModuleType, Any]:
    """The example module and its app on a SQLite file in ``tmp_path``, with :data:`TOKEN`."""
    example = load_example()
    database = f"sqlite:///{tmp_path / 'example.sqlite3'}"
    app = example.create_app(
        {"SQLALCHEMY_DATABASE_URI": database, "ACCOUNTS_SYNC_TOKEN": "smoke-token", **config}
    )
    return example, app


def test_example_app_full_sync_completes(tmp_path: Path) -> None:
    example, app = example_app(tmp_path, SYNC_LATENCY=0.01, SYNC_SLOW_LATENCY=0.02)
    client = app.test_client()
    wrong = {"Authorization": "Bearer wrong-token"}
    assert client.post("/api/v1/instances/actions/sync-accounts", headers=wrong).status_code == 401
    # A browser's POST (no token) without Flask-WTF's CSRF token never reaches the view.
    assert client.post("/api/v1/instances/actions/sync-accounts").status_code == 400

    response = client.post("/api/v1/instances/actions/sync-accounts", headers=TOKEN)
    assert response.status_code == 200, response.get_json()
    session_id = response.get_json()["data"]["session_id"]

    deadline = time.monotonic() + 30
    while True:
        detail = client.get(f"/api/v1/sync-sessions/{session_id}", headers=TOKEN)
        assert detail.status_code == 200
        session = detail.get_json()["data"]["session"]
        if session["status"] not in ("pending", "running"):
            break
        assert time.monotonic() < deadline, session
        time.sleep(0.05)
    # Every tenth seeded instance is broken: its failure is isolated and reported.
    assert session["status"] == "completed_with_errors"
    assert (session["total_instances"], session["successful_instances"]) == (24, 22)
    assert session["progress"] == 100.0
    records = detail.get_json()["data"]["records"]
    failed = {r["instance_name"]: r["error_message"] for r in records if r["status"] == "failed"}
    assert failed == {
        "sqlserver-broken-010": "cannot connect to 10.0.0.10",
        "mysql-broken-020": "cannot connect to 10.0.0.20",
    }
    assert "retired-001" not in {record["instance_name"] for record in records}

    with app.app_context():
        query = sa.select(example.Instance.name, example.Instance.sync_count)
        counts = {name: count for name, count in example.db.session.execute(query)}
    inactive = {"retired-001", "deleted-001"}
    assert {name: counts[name] for name in inactive} == dict.fromkeys(inactive, 0)
    assert {counts[name] for name in counts if name not in inactive} == {0, 1}
    assert {name for name in counts if counts[name] == 0} == inactive | set(failed)

    # One instance, now; then the index page lists the counts.
    one = client.post("/api/v1/instances/1/actions/sync-accounts", headers=TOKEN)
    assert one.status_code == 200
    assert one.get_json()["data"]["result"]["status"] == "completed"
    index = client.get("/instances").get_json()
    assert any(item["id"] == 1 and item["sync_count"] == 2 for item in index["instances"])
    with app.app_context():
        example.db.engine.dispose()


def test_example_app_racing_full_syncs_get_one_200_and_409s(tmp_path: Path) -> None:
    """The example's SQLite wiring takes the write lock at BEGIN: never ``database is locked``."""
    # The winner still runs while the others race.
    _, app = example_app(tmp_path, SYNC_LATENCY=0.3)
    responses = race_full_syncs(app, TOKEN)
    assert sorted(response.status_code for response in responses) == [200] + [409] * 7
    (winner,) = [r.get_json()["data"]["session_id"] for r in responses if r.status_code == 200]
    _wait_until_finished(app, winner)


def _wait_until_finished(app: Any, session_id: str) -> None:
    client, deadline = app.test_client(), time.monotonic() + 30
    path = f"/api/v1/sync-sessions/{session_id}"
    while client.get(path, headers=TOKEN).get_json()["data"]["session"]["status"] in (
        "pending",
        "running",
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
