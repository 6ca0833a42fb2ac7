"""The blueprint on Flask-SQLAlchemy: prepare in ``db.session``, launch after its commit only."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import flask
import pytest
import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from accounts_sync import AccountsSyncActionsService, SessionStatus, ThreadLauncher
from accounts_sync.contrib.flask import init_app
from accounts_sync.sqlalchemy import (
    SqlAlchemyInstanceRepository,
    SqlAlchemySyncSessionRepository,
    configure_sqlite,
    create_all,
    sqlite_url,
)
from accounts_sync.testing import RecordingLauncher, ScriptedSyncService

from .conftest import ADMIN_ID, HEADERS, authorize

pytestmark = pytest.mark.timeout(60)

SECRET = "hunter2"


class Base(DeclarativeBase):
    pass


class Instance(Base):
    __tablename__ = "instances"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    db_type: Mapped[str] = mapped_column(sa.String(20))
    host: Mapped[str] = mapped_column(sa.String(100))
    is_active: Mapped[bool] = mapped_column(default=True)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    sync_count: Mapped[int | None] = mapped_column(default=0)


class Env:
    """A Flask-SQLAlchemy app on a SQLite file, the blueprint bound to ``db.session``."""

    def __init__(
        self, path: Path, *, launcher: Any = None, engine_options: dict[str, Any] | None = None
    ) -> None:
        self.app = flask.Flask(__name__)
        self.app.config["SQLALCHEMY_DATABASE_URI"] = sqlite_url(path / "app.sqlite3")
        self.app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options or {}
        self.db = SQLAlchemy(model_class=Base)
        self.db.init_app(self.app)
        with self.app.app_context():
            self.engine = configure_sqlite(self.db.engine)
            Base.metadata.create_all(self.engine)
            create_all(self.engine)
        self.launcher = launcher or RecordingLauncher()
        self.sync_service = ScriptedSyncService()
        # The background service works on its own connections; the request one on db.session.
        self.background: AccountsSyncActionsService[Any] = AccountsSyncActionsService(
            sync_service=self.sync_service,
            instances=SqlAlchemyInstanceRepository(self.engine, model=Instance),
            sessions=SqlAlchemySyncSessionRepository(self.engine),
            launcher=self.launcher,
        )
        self.request_service: AccountsSyncActionsService[Any] = AccountsSyncActionsService(
            sync_service=self.sync_service,
            instances=SqlAlchemyInstanceRepository.bound(self.db.session, model=Instance),
            sessions=SqlAlchemySyncSessionRepository.bound(self.db.session),
            sync_task=self.background.sync_task,
            launcher=self.launcher,
        )
        init_app(
            self.app,
            self.request_service,
            authorize=authorize,
            db_session=self.db.session,
            background_service=self.background,
        )
        self.client = self.app.test_client()

    def seed(self, count: int) -> None:
        with self.app.app_context():
            for index in range(1, count + 1):
                self.db.session.add(
                    Instance(id=index, name=f"db-{index}", db_type="mysql", host="10.0.0.1")
                )
            self.db.session.commit()

    def post(self, path: str) -> Any:
        return self.client.post(f"/api/v1{path}", headers=HEADERS)

    def get(self, path: str) -> Any:
        return self.client.get(f"/api/v1{path}", headers=HEADERS)

    def sessions(self) -> list[Any]:
        """The committed sessions, read on a fresh connection."""
        return self.background.sessions.list_sessions()

    def on_session_event(self, name: str, listener: Callable[..., None]) -> Callable[[], None]:
        """Listen on db.session's Session class; returns the remover."""
        sa.event.listen(self.db.session, name, listener)
        return lambda: sa.event.remove(self.db.session, name, listener)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    environment = Env(tmp_path)
    environment.seed(3)
    yield environment
    environment.engine.dispose()


def test_launch_happens_only_after_commit(env: Env) -> None:
    at_commit: list[int] = []

    def outermost_commit(session: Any) -> None:
        if not session.in_nested_transaction():  # a SAVEPOINT release fires it too
            at_commit.append(len(env.launcher.jobs))

    remove = env.on_session_event("before_commit", outermost_commit)
    try:
        response = env.post("/instances/actions/sync-accounts")
    finally:
        remove()
    assert response.status_code == 200
    session_id = response.get_json()["data"]["session_id"]
    assert at_commit == [0]  # nothing launched when the commit started
    assert [job.session_id for job in env.launcher.jobs] == [session_id]
    assert env.launcher.jobs[0].created_by == ADMIN_ID
    (committed,) = env.sessions()
    assert committed.session_id == session_id
    assert committed.status is SessionStatus.PENDING


def test_rolled_back_request_launches_nothing(env: Env) -> None:
    def refuse(_: Any) -> None:
        raise RuntimeError(f"disk full: password={SECRET}")

    remove = env.on_session_event("before_commit", refuse)
    try:
        response = env.post("/instances/actions/sync-accounts")
    finally:
        remove()
    assert response.status_code == 500
    assert SECRET not in response.get_data(as_text=True)
    assert env.launcher.jobs == []
    assert env.sessions() == []  # the prepared session was rolled back with the request
    # Nothing is left waiting on the session: the next request launches exactly once.
    assert env.post("/instances/actions/sync-accounts").status_code == 200
    assert len(env.launcher.jobs) == 1


def test_launch_runs_the_job_on_standalone_stores(env: Env) -> None:
    session_id = env.post("/instances/actions/sync-accounts").get_json()["data"]["session_id"]
    assert env.launcher.run_all() == 1
    data = env.get(f"/sync-sessions/{session_id}").get_json()["data"]
    assert data["session"]["status"] == "completed"
    assert data["session"]["progress"] == 100.0
    assert [r["instance_name"] for r in data["records"]] == ["db-1", "db-2", "db-3"]
    with env.app.app_context():
        counts = env.db.session.scalars(sa.select(Instance.sync_count).order_by(Instance.id))
        assert list(counts) == [1, 1, 1]


def test_409_while_pending_and_nothing_written(env: Env) -> None:
    first = env.post("/instances/actions/sync-accounts").get_json()["data"]["session_id"]
    response = env.post("/instances/actions/sync-accounts")
    assert response.status_code == 409
    assert response.get_json()["extra"] == {"session_id": first}
    assert [s.session_id for s in env.sessions()] == [first]
    assert len(env.launcher.jobs) == 1


def test_400_when_nothing_is_active(tmp_path: Path) -> None:
    env = Env(tmp_path)
    response = env.post("/instances/actions/sync-accounts")
    assert response.status_code == 400
    assert response.get_json()["message_code"] == "VALIDATION_ERROR"
    assert env.sessions() == []
    env.engine.dispose()


def test_launcher_failure_after_commit_is_500_and_fails_the_session(env: Env) -> None:
    env.launcher.fail_with = ConnectionError(f"redis://:{SECRET}@broker unreachable")
    response = env.post("/instances/actions/sync-accounts")
    assert response.status_code == 500
    assert response.get_json()["message_code"] == "INTERNAL_ERROR"
    assert SECRET not in response.get_data(as_text=True)
    (session,) = env.sessions()
    assert session.status is SessionStatus.FAILED  # committed, then failed by the background


def test_single_instance_commits_the_sync_count(env: Env) -> None:
    response = env.post("/instances/2/actions/sync-accounts")
    assert response.status_code == 200
    assert env.background.instances.get(2).sync_count == 1  # type: ignore[union-attr]
    assert env.post("/instances/9/actions/sync-accounts").status_code == 404


def test_cancel_commits(env: Env) -> None:
    session_id = env.post("/instances/actions/sync-accounts").get_json()["data"]["session_id"]
    assert env.post(f"/sync-sessions/{session_id}/actions/cancel").status_code == 200
    (session,) = env.sessions()
    assert session.status is SessionStatus.CANCELLED
    env.launcher.run_all()
    assert env.sync_service.calls == []


def test_full_sync_in_a_thread_until_completed(tmp_path: Path) -> None:
    env = Env(tmp_path, launcher=ThreadLauncher())
    env.seed(5)
    env.sync_service = env.background.sync_service  # type: ignore[assignment]
    session_id = env.post("/instances/actions/sync-accounts").get_json()["data"]["session_id"]
    deadline = time.monotonic() + 20
    while True:
        session = env.get(f"/sync-sessions/{session_id}").get_json()["data"]["session"]
        if session["status"] == "completed":
            break
        assert time.monotonic() < deadline, session
        time.sleep(0.02)
    assert session["successful_instances"] == session["total_instances"] == 5
    env.engine.dispose()


def test_background_service_needs_db_session(tmp_path: Path) -> None:
    from accounts_sync.contrib.flask import create_blueprint
    from accounts_sync.testing import in_memory_service

    with pytest.raises(TypeError, match="db_session"):
        create_blueprint(
            in_memory_service(), authorize=authorize, background_service=in_memory_service()
        )


HOSTILE_REQUESTS = [
    ("post", "/instances/9223372036854775808/actions/sync-accounts"),
    ("post", "/instances/100000000000000000000000000/actions/sync-accounts"),
    ("get", "/sync-sessions/a%00b"),
    ("post", "/sync-sessions/a%00b/actions/cancel"),
    ("get", "/sync-sessions/" + "x" * 10_000),
    ("post", "/sync-sessions/%0A%1B/actions/cancel"),
]


@pytest.mark.parametrize(("method", "path"), HOSTILE_REQUESTS)
def test_hostile_ids_on_the_sql_store_are_404(env: Env, method: str, path: str) -> None:
    """On SQLite an id above 2**63-1 overflows the driver: the HTTP layer answers first."""
    response = getattr(env, method)(path)
    assert response.status_code == 404
    body = response.get_json()
    assert body["message_code"] == "RESOURCE_NOT_FOUND"
    expected = "实例不存在" if path.startswith("/instances") else "指定的 session_id 不存在"
    assert body["message"] == expected
    assert env.sessions() == []
