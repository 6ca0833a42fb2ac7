"""``launch_after_commit``: launch once the outermost transaction commits, never on rollback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from accounts_sync import (
    AccountsSyncActionsService,
    AccountsSyncBackgroundPreparedSession,
    SessionStatus,
)
from accounts_sync.sqlalchemy import (
    SqlAlchemyInstanceRepository,
    SqlAlchemySyncSessionRepository,
    launch_after_commit,
)
from accounts_sync.testing import RecordingLauncher, ScriptedSyncService, make_instances


@pytest.fixture
def launcher() -> RecordingLauncher:
    return RecordingLauncher()


@pytest.fixture
def background(
    sqlite_engine: sa.Engine, launcher: RecordingLauncher
) -> AccountsSyncActionsService[Any]:
    """The standalone service that launches (what runs after the commit)."""
    SqlAlchemyInstanceRepository(sqlite_engine).upsert(make_instances(3))
    return AccountsSyncActionsService(
        sync_service=ScriptedSyncService(),
        instances=SqlAlchemyInstanceRepository(sqlite_engine),
        sessions=SqlAlchemySyncSessionRepository(sqlite_engine),
        launcher=launcher,
    )


@pytest.fixture
def session(sqlite_engine: sa.Engine) -> Iterator[Session]:
    with Session(sqlite_engine) as host_session:
        yield host_session


def prepare(
    session: Session, background: AccountsSyncActionsService[Any]
) -> AccountsSyncBackgroundPreparedSession:
    """Prepare inside the host's session, as a request does."""
    request_service = AccountsSyncActionsService(
        sync_service=background.sync_service,
        instances=SqlAlchemyInstanceRepository.bound(session),
        sessions=SqlAlchemySyncSessionRepository.bound(session),
    )
    return request_service.prepare_background_full_sync(created_by=5)


def launched_ids(launcher: RecordingLauncher) -> list[str]:
    return [job.session_id for job in launcher.jobs]


def test_commit_launches_exactly_once(
    session: Session, background: AccountsSyncActionsService[Any], launcher: RecordingLauncher
) -> None:
    prepared = prepare(session, background)
    launch = launch_after_commit(session, background, prepared, created_by=5)
    assert (launch.state, launcher.jobs) == ("pending", [])
    session.commit()
    assert launched_ids(launcher) == [prepared.session_id]
    assert launcher.jobs[0].created_by == 5
    assert launch.state == "launched"
    assert launch.result is not None
    assert launch.result.session_id == prepared.session_id
    session.execute(sa.text("SELECT 1"))
    session.commit()  # a later transaction of the same session launches nothing more
    assert len(launcher.jobs) == 1


def test_rollback_launches_nothing(
    session: Session, background: AccountsSyncActionsService[Any], launcher: RecordingLauncher
) -> None:
    prepared = prepare(session, background)
    launch = launch_after_commit(session, background, prepared, created_by=5)
    session.rollback()
    assert launch.state == "dropped"
    assert background.sessions.get_session(prepared.session_id) is None
    session.execute(sa.text("SELECT 1"))
    session.commit()
    assert launcher.jobs == []


def test_a_released_savepoint_does_not_launch_early(
    session: Session, background: AccountsSyncActionsService[Any], launcher: RecordingLauncher
) -> None:
    prepared = prepare(session, background)
    launch = launch_after_commit(session, background, prepared, created_by=5)
    with session.begin_nested():
        session.execute(sa.text("SELECT 1"))
    nested = session.begin_nested()
    nested.rollback()  # an unrelated savepoint rolling back does not undo the prepare
    assert (launch.state, launcher.jobs) == ("pending", [])
    session.commit()
    assert launched_ids(launcher) == [prepared.session_id]


def test_prepared_inside_a_savepoint_that_rolls_back(
    session: Session, background: AccountsSyncActionsService[Any], launcher: RecordingLauncher
) -> None:
    savepoint = session.begin_nested()
    prepared = prepare(session, background)
    launch = launch_after_commit(session, background, prepared, created_by=5)
    savepoint.rollback()
    assert launch.state == "dropped"
    session.commit()
    assert launcher.jobs == []
    assert background.sessions.get_session(prepared.session_id) is None


def test_closing_without_commit_launches_nothing(
    sqlite_engine: sa.Engine,
    background: AccountsSyncActionsService[Any],
    launcher: RecordingLauncher,
) -> None:
    session = Session(sqlite_engine)
    prepared = prepare(session, background)
    launch = launch_after_commit(session, background, prepared, created_by=5)
    session.close()
    assert launch.state == "dropped"
    session.execute(sa.text("SELECT 1"))
    session.commit()
    assert launcher.jobs == []


def test_outside_a_transaction_it_launches_at_once(
    session: Session, background: AccountsSyncActionsService[Any], launcher: RecordingLauncher
) -> None:
    prepared = prepare(session, background)
    session.commit()
    launch = launch_after_commit(session, background, prepared, created_by=5)
    assert launch.state == "launched"
    assert launched_ids(launcher) == [prepared.session_id]


def test_a_failing_launcher_does_not_break_the_commit(
    session: Session, background: AccountsSyncActionsService[Any], launcher: RecordingLauncher
) -> None:
    launcher.fail_with = RuntimeError("broker down")
    prepared = prepare(session, background)
    launch = launch_after_commit(session, background, prepared, created_by=5)
    session.commit()
    assert launch.state == "failed"
    assert isinstance(launch.error, RuntimeError)
    info = background.sessions.get_session(prepared.session_id)
    assert info is not None
    assert info.status is SessionStatus.FAILED


def test_a_scoped_session_is_resolved(
    sqlite_engine: sa.Engine,
    background: AccountsSyncActionsService[Any],
    launcher: RecordingLauncher,
) -> None:
    registry = scoped_session(sessionmaker(sqlite_engine))
    try:
        request_service = AccountsSyncActionsService(
            sync_service=background.sync_service,
            instances=SqlAlchemyInstanceRepository.bound(registry),
            sessions=SqlAlchemySyncSessionRepository.bound(registry),
        )
        prepared = request_service.prepare_background_full_sync(created_by=5)
        launch_after_commit(registry, background, prepared, created_by=5)
        assert launcher.jobs == []
        registry.commit()
        assert launched_ids(launcher) == [prepared.session_id]
    finally:
        registry.remove()
