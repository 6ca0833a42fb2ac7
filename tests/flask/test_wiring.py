"""Wiring mistakes refused when the blueprint is built, and racing requests on SQLite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from accounts_sync import AccountsSyncActionsService, FullSyncTask
from accounts_sync.contrib.flask import create_blueprint
from accounts_sync.sqlalchemy import SqlAlchemyInstanceRepository, SqlAlchemySyncSessionRepository
from accounts_sync.testing import RecordingLauncher, ScriptedSyncService

from .conftest import HEADERS, authorize, race_full_syncs
from .test_flask_sqlalchemy import Env, Instance

pytestmark = pytest.mark.timeout(60)

IMMEDIATE = {"execution_options": {"sqlite_begin": "IMMEDIATE"}}


def bound_service(env: Env, **options: Any) -> AccountsSyncActionsService[Any]:
    return AccountsSyncActionsService(
        sync_service=ScriptedSyncService(),
        instances=SqlAlchemyInstanceRepository.bound(env.db.session, model=Instance),
        sessions=SqlAlchemySyncSessionRepository.bound(env.db.session),
        launcher=RecordingLauncher(),
        **options,
    )


def test_bound_stores_without_db_session_are_refused(tmp_path: Path) -> None:
    env = Env(tmp_path)
    with pytest.raises(ValueError, match=r"pass db_session=db\.session"):
        create_blueprint(bound_service(env), authorize=authorize, name="other")
    env.engine.dispose()


def test_background_work_on_bound_stores_is_refused(tmp_path: Path) -> None:
    env = Env(tmp_path)
    with pytest.raises(TypeError, match="pass background_service="):
        create_blueprint(
            bound_service(env), authorize=authorize, db_session=env.db.session, name="other"
        )
    env.engine.dispose()


def test_a_bound_background_service_is_refused(tmp_path: Path) -> None:
    env = Env(tmp_path)
    with pytest.raises(TypeError, match="standalone"):
        create_blueprint(
            env.request_service,
            authorize=authorize,
            db_session=env.db.session,
            background_service=bound_service(env),
            name="other",
        )
    env.engine.dispose()


def test_bound_request_stores_with_standalone_background_work_are_accepted(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path)
    sessions = SqlAlchemySyncSessionRepository(env.engine)
    task = FullSyncTask(
        instances=SqlAlchemyInstanceRepository(env.engine, model=Instance),
        sessions=sessions,
        sync_service=ScriptedSyncService(),
    )
    service = bound_service(env, background_sessions=sessions, sync_task=task)
    create_blueprint(service, authorize=authorize, db_session=env.db.session, name="other")
    env.engine.dispose()


def test_racing_full_syncs_on_sqlite_get_one_200_and_409s(tmp_path: Path) -> None:
    """With the documented immediate-begin option, never a 500 ``database is locked``."""
    env = Env(tmp_path, engine_options=IMMEDIATE)
    env.seed(3)
    statuses = sorted(response.status_code for response in race_full_syncs(env.app, HEADERS))
    assert statuses == [200] + [409] * 7
    assert len(env.sessions()) == 1
    env.engine.dispose()
