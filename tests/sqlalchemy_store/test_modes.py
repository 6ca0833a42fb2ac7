"""The two modes: standalone (each operation commits) and bound to the host's transaction."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from accounts_sync import AccountsSyncActionsService, ConflictError, SessionStatus
from accounts_sync.sqlalchemy import (
    SqlAlchemyInstanceRepository,
    SqlAlchemySyncSessionRepository,
    sync_tables,
)
from accounts_sync.testing import ScriptedSyncService, make_instances


class HostBase(DeclarativeBase):
    pass


class AuditEntry(HostBase):
    """A row of the host's own, written in the same request as the prepare."""

    __tablename__ = "host_audit_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(sa.String(100))


def request_service(session: Session) -> AccountsSyncActionsService[Any]:
    return AccountsSyncActionsService(
        sync_service=ScriptedSyncService(),
        instances=SqlAlchemyInstanceRepository.bound(session),
        sessions=SqlAlchemySyncSessionRepository.bound(session),
    )


def visible_sessions(engine: sa.Engine) -> list[str]:
    """What another connection sees."""
    with engine.connect() as conn:
        return list(conn.execute(sa.select(sync_tables.sessions.c.session_id)).scalars())


@pytest.fixture
def engine(sql_engine: sa.Engine) -> sa.Engine:
    HostBase.metadata.create_all(sql_engine)
    SqlAlchemyInstanceRepository(sql_engine).upsert(make_instances(3))
    return sql_engine


def test_prepared_session_is_invisible_until_the_host_commits(engine: sa.Engine) -> None:
    with Session(engine) as session:
        session.add(AuditEntry(text="sync requested"))
        prepared = request_service(session).prepare_background_full_sync(created_by=1)
        assert prepared.active_instance_count == 3
        # The host's pending object was flushed before the SAVEPOINT, in the same transaction.
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 1
        assert visible_sessions(engine) == []
        session.commit()
    assert visible_sessions(engine) == [prepared.session_id]
    stored = SqlAlchemySyncSessionRepository(engine).get_session(prepared.session_id)
    assert stored is not None
    assert stored.status is SessionStatus.PENDING


def test_host_rollback_discards_the_session(engine: sa.Engine) -> None:
    with Session(engine) as session:
        request_service(session).prepare_background_full_sync(created_by=1)
        session.rollback()
    assert visible_sessions(engine) == []
    assert SqlAlchemySyncSessionRepository(engine).get_active_session("account") is None


def test_conflict_rolls_back_only_its_savepoint(engine: sa.Engine) -> None:
    holder = SqlAlchemySyncSessionRepository(engine).create_session(
        sync_type="manual_task", sync_category="account", created_by=None
    )
    with Session(engine) as session:
        session.add(AuditEntry(text="kept"))
        with pytest.raises(ConflictError) as caught:
            request_service(session).prepare_background_full_sync(created_by=1)
        assert caught.value.extra == {"session_id": holder.session_id}
        session.add(AuditEntry(text="also kept"))
        session.commit()
    with Session(engine) as check:
        assert sorted(check.scalars(sa.select(AuditEntry.text))) == ["also kept", "kept"]
    assert visible_sessions(engine) == [holder.session_id]


def test_reads_see_the_host_transaction(engine: sa.Engine) -> None:
    with Session(engine) as session:
        sessions = SqlAlchemySyncSessionRepository.bound(session)
        info = sessions.create_session(
            sync_type="manual_task", sync_category="account", created_by=None
        )
        assert sessions.get_session(info.session_id) == info
        assert sessions.claim_session(info.session_id)
        running = sessions.get_session(info.session_id)
        assert running is not None
        assert running.status is SessionStatus.RUNNING
        assert SqlAlchemySyncSessionRepository(engine).get_session(info.session_id) is None


def test_a_sessionmaker_repository_commits_every_operation(engine: sa.Engine) -> None:
    factory = sessionmaker(engine)
    sessions = SqlAlchemySyncSessionRepository(factory)
    info = sessions.create_session(sync_type="manual_task", sync_category="account", created_by=1)
    assert visible_sessions(engine) == [info.session_id]
    assert sessions.claim_session(info.session_id)
    assert sessions.get_session(info.session_id) is not None
    instances = SqlAlchemyInstanceRepository(factory)
    assert instances.count_active() == 3
    instances.increment_sync_counts([1, 2])
    assert SqlAlchemyInstanceRepository(engine).sync_count(2) == 1


def test_a_session_is_not_a_standalone_bind(engine: sa.Engine) -> None:
    with Session(engine) as session, pytest.raises(TypeError, match="bound"):
        SqlAlchemySyncSessionRepository(session)  # type: ignore[arg-type]


def test_a_repository_says_whether_it_is_bound(engine: sa.Engine) -> None:
    with Session(engine) as session:
        assert SqlAlchemySyncSessionRepository.bound(session).is_bound
        assert SqlAlchemyInstanceRepository.bound(session).is_bound
    assert not SqlAlchemySyncSessionRepository(engine).is_bound
    assert not SqlAlchemyInstanceRepository(sessionmaker(engine)).is_bound
