"""``SqlAlchemyInstanceRepository`` mapped onto a host's own model or table."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from accounts_sync.sqlalchemy import InstanceColumns, InstanceRow, SqlAlchemyInstanceRepository

REMOVED = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)


class HostBase(DeclarativeBase):
    pass


class Server(HostBase):
    """A host model whose attribute and column names differ from the library's."""

    __tablename__ = "host_servers"
    pk: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(sa.String(255))
    engine: Mapped[str] = mapped_column(sa.String(32))
    address: Mapped[str] = mapped_column(sa.String(255))
    enabled: Mapped[bool | None] = mapped_column("is_enabled", sa.Boolean, nullable=True)
    removed_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    syncs: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    password: Mapped[str] = mapped_column(sa.String(64), default="never read")


SERVER_COLUMNS = InstanceColumns(
    id="pk",
    name="label",
    db_type="engine",
    host="address",
    is_active="enabled",
    deleted_at="removed_at",
    sync_count="syncs",
)

PLAIN = sa.Table(
    "host_plain_instances",
    HostBase.metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(255)),
    sa.Column("db_type", sa.String(32)),
    sa.Column("host", sa.String(255)),
)


@pytest.fixture
def engine(sqlite_engine: sa.Engine) -> sa.Engine:
    HostBase.metadata.create_all(sqlite_engine)
    with Session(sqlite_engine) as session, session.begin():
        session.add_all(
            [
                Server(pk=1, label="b", engine="mysql", address="h1", enabled=True, syncs=None),
                Server(pk=2, label="a", engine="postgresql", address="h2", enabled=True, syncs=4),
                Server(pk=3, label="c", engine="mysql", address="h3", enabled=False),
                Server(pk=4, label="d", engine="mysql", address="h4", enabled=None),
                Server(
                    pk=5, label="e", engine="mysql", address="h5", enabled=True, removed_at=REMOVED
                ),
            ]
        )
        session.execute(
            sa.insert(PLAIN), [{"id": 1, "name": "x", "db_type": "oracle", "host": "hx"}]
        )
    return sqlite_engine


def test_a_model_returns_the_hosts_own_objects(engine: sa.Engine) -> None:
    repo = SqlAlchemyInstanceRepository(engine, model=Server, columns=SERVER_COLUMNS)
    assert repo.table.name == "host_servers"
    assert repo.count_active() == 2
    active = repo.list_active()
    assert [type(s) for s in active] == [Server, Server]
    assert [(s.pk, s.label) for s in active] == [(2, "a"), (1, "b")]
    assert active[0].address == "h2"  # loaded, usable after the session closed
    disabled = repo.get(3)
    assert disabled is not None
    assert disabled.label == "c"
    assert repo.get(5) is None


def test_a_model_counts_syncs_from_null(engine: sa.Engine) -> None:
    repo = SqlAlchemyInstanceRepository(engine, model=Server, columns=SERVER_COLUMNS)
    repo.increment_sync_count(1)
    repo.increment_sync_counts([2, 2])
    assert (repo.sync_count(1), repo.sync_count(2)) == (1, 6)


def test_count_active_agrees_with_list_active_on_every_dialect_path(engine: sa.Engine) -> None:
    repo = SqlAlchemyInstanceRepository(engine, model=Server, columns=SERVER_COLUMNS)
    # A nullable boolean: NULL is not enabled, on the SQLite fast path as in plain SQL.
    assert repo.count_active() == len(repo.list_active()) == 2


def test_a_table_without_optional_columns(engine: sa.Engine) -> None:
    repo = SqlAlchemyInstanceRepository(
        engine,
        table=PLAIN,
        columns=InstanceColumns(is_active=None, deleted_at=None, sync_count=None),
    )
    assert repo.count_active() == 1
    assert repo.list_active() == [InstanceRow(1, "x", "oracle", "hx", True, 0)]
    repo.increment_sync_count(1)  # no counter column: nothing to do
    assert repo.sync_count(1) == 0


def test_bound_to_the_hosts_session(engine: sa.Engine) -> None:
    with Session(engine) as session:
        session.add(Server(pk=9, label="0-new", engine="mysql", address="h9", enabled=True))
        repo = SqlAlchemyInstanceRepository.bound(session, model=Server, columns=SERVER_COLUMNS)
        assert repo.count_active() == 3  # the host's pending object is flushed and counted
        assert repo.list_active()[0] is session.get(Server, 9)
        repo.increment_sync_count(9)
        session.rollback()
    assert SqlAlchemyInstanceRepository(engine, model=Server, columns=SERVER_COLUMNS).get(9) is None


def test_upsert_onto_a_host_model(engine: sa.Engine) -> None:
    repo = SqlAlchemyInstanceRepository(engine, model=Server, columns=SERVER_COLUMNS)
    repo.upsert(
        [InstanceRow(2, "renamed", "mysql", "h2b", True, 0), InstanceRow(7, "g", "mysql", "h7")]
    )
    renamed = repo.get(2)
    assert renamed is not None
    assert (renamed.label, renamed.address, renamed.syncs) == ("renamed", "h2b", 4)
    assert repo.get(7) is not None


def test_model_and_table_are_exclusive(engine: sa.Engine) -> None:
    with pytest.raises(TypeError, match="either"):
        SqlAlchemyInstanceRepository(engine, model=Server, table=PLAIN)  # type: ignore[call-overload]
