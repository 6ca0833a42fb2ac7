"""The paged reads through the Flask blueprint on the SQL stores: SQLite, PostgreSQL, MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask
import pytest

from accounts_sync import AccountsSyncActionsService, RecordStatus, SyncCategory, SyncType
from accounts_sync.contrib.flask import init_app
from accounts_sync.ports import RecordOutcome
from accounts_sync.sqlalchemy import (
    SqlAlchemyInstanceRepository,
    SqlAlchemySyncSessionRepository,
    create_all,
    create_engine_for,
    instances_table,
    sqlite_url,
)
from accounts_sync.testing import ScriptedSyncService

BACKENDS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.services),
    pytest.param("mariadb", marks=pytest.mark.services),
]


@pytest.fixture(params=BACKENDS)
def service(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[AccountsSyncActionsService[Any]]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "pages.sqlite3")
    else:
        url = request.getfixturevalue(
            {"postgresql": "postgres_url", "mariadb": "mysql_url"}[request.param]
        )
    engine = create_engine_for(url)
    create_all(engine, instances=instances_table)
    yield AccountsSyncActionsService(
        sync_service=ScriptedSyncService(),
        instances=SqlAlchemyInstanceRepository(engine),
        sessions=SqlAlchemySyncSessionRepository(engine),
    )
    engine.dispose()


def test_a_running_session_is_bounded_and_paged_while_it_changes(
    service: AccountsSyncActionsService[Any],
) -> None:
    sessions = service.sessions
    info = sessions.create_session(
        sync_type=SyncType.MANUAL_TASK, sync_category=SyncCategory.ACCOUNT, created_by=7
    )
    assert sessions.claim_session(info.session_id)
    sessions.add_records(info.session_id, [(n, f"db-{n}") for n in range(1, 251)])
    app = flask.Flask(__name__)
    init_app(app, service, authorize=lambda request, action: 1)
    client = app.test_client()
    url = f"/api/v1/sync-sessions/{info.session_id}"

    first = client.get(url).get_json()["data"]
    assert [r["instance_id"] for r in first["records"]] == list(range(1, 101))
    # The run goes on: records on both sides of the cursor settle.
    assert sessions.start_records(info.session_id, [5, 101, 102, 200])
    sessions.finish_records(
        info.session_id,
        [
            RecordOutcome(instance_id=5, status=RecordStatus.COMPLETED),
            RecordOutcome(instance_id=101, status=RecordStatus.FAILED, error_message="refused"),
            RecordOutcome(instance_id=200, status=RecordStatus.FAILED, error_message="timeout"),
        ],
    )
    rest = client.get(f"{url}/records?limit=500&cursor={first['next_cursor']}").get_json()["data"]
    assert [r["instance_id"] for r in rest["records"]] == list(range(101, 251))
    assert rest["next_cursor"] is None
    assert [r["status"] for r in rest["records"][:3]] == ["failed", "running", "pending"]
    failed = client.get(f"{url}/records?status=failed").get_json()["data"]
    assert [(r["instance_id"], r["error_message"]) for r in failed["records"]] == [
        (101, "refused"),
        (200, "timeout"),
    ]
    listed = client.get("/api/v1/sync-sessions?status=running").get_json()["data"]
    assert [s["session_id"] for s in listed["sessions"]] == [info.session_id]
    assert listed["sessions"][0]["successful_instances"] == 1
    assert client.get(f"{url}/records?cursor=bm9wZQ").status_code == 400
