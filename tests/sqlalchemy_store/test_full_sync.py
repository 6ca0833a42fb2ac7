"""The full-sync task end to end on the SQL store, and the shape of its bookkeeping SQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from accounts_sync import FullSyncTask, RecordStatus, SessionStatus
from accounts_sync.ports import RecordOutcome
from accounts_sync.sqlalchemy import SqlAlchemyInstanceRepository, SqlAlchemySyncSessionRepository
from accounts_sync.testing import ScriptedSyncService, make_instances


@contextmanager
def captured(engine: sa.Engine) -> Iterator[list[tuple[str, bool]]]:
    """Every statement sent to the driver, with whether it was an executemany."""
    seen: list[tuple[str, bool]] = []

    def capture(*args: object) -> None:
        statement, executemany = args[2], args[5]
        seen.append((str(statement), bool(executemany)))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def test_a_full_sync_counts_exactly(sql_engine: sa.Engine) -> None:
    instances = SqlAlchemyInstanceRepository(sql_engine)
    instances.upsert(make_instances(40))
    service = ScriptedSyncService()
    service.script(3, raises=RuntimeError("connect to mysql://root:hunter2@db failed"))
    service.script(4, result={"success": False, "message": "denied"})
    service.script(5, result={"success": True, "synced_count": 7, "added_count": 2})
    sessions = SqlAlchemySyncSessionRepository(sql_engine)
    task = FullSyncTask(instances=instances, sessions=sessions, sync_service=service, max_workers=8)

    summary = task()

    assert summary.status is SessionStatus.COMPLETED_WITH_ERRORS
    assert (summary.successful_instances, summary.failed_instances) == (38, 2)
    assert summary.session_id is not None
    info = sessions.get_session(summary.session_id)
    assert info is not None
    assert info.finished_instances == info.total_instances == 40
    by_id = {r.instance_id: r for r in sessions.list_records(summary.session_id)}
    assert by_id[3].error_message == "RuntimeError: connect to mysql://root:***@db failed"
    assert by_id[4].status is RecordStatus.FAILED
    assert (by_id[5].items_synced, by_id[5].items_created) == (7, 2)
    assert instances.sync_count(5) == 1
    assert instances.sync_count(3) == 0
    assert sessions.get_active_session("account") is None


def _claimed_with_records(sessions: SqlAlchemySyncSessionRepository, count: int) -> str:
    session_id = sessions.create_session(
        sync_type="manual_task", sync_category="account", created_by=None
    ).session_id
    sessions.claim_session(session_id)
    sessions.add_records(session_id, [(i, f"db-{i}") for i in range(1, count + 1)])
    return session_id


def test_writing_outcomes_is_a_fixed_number_of_statements(sql_engine: sa.Engine) -> None:
    sessions = SqlAlchemySyncSessionRepository(sql_engine)
    session_id = _claimed_with_records(sessions, 200)
    ids = list(range(1, 201))
    with captured(sql_engine) as small:
        sessions.start_records(session_id, ids[:2])
        sessions.finish_records(
            session_id,
            [RecordOutcome(instance_id=i, status=RecordStatus.COMPLETED) for i in ids[:2]],
        )
    with captured(sql_engine) as large:
        sessions.start_records(session_id, ids[2:])
        sessions.finish_records(
            session_id,
            [RecordOutcome(instance_id=i, status=RecordStatus.COMPLETED) for i in ids[2:150]]
            + [RecordOutcome(instance_id=i, status=RecordStatus.FAILED) for i in ids[150:]],
        )
    # A few statements per batch whatever its size (outcomes go as one statement per status;
    # on PostgreSQL one per 100 outcomes: 150 completed and 50 failed take three), and counters
    # move by increments: nothing is ever recounted.
    assert len(large) <= len(small) + (2 if sql_engine.dialect.name == "postgresql" else 1)
    assert not [sql for sql, _ in small + large if "count(" in sql.lower()]
    # SQLite runs an executemany in C; PostgreSQL and MySQL get one UPDATE joined to the rows.
    assert any(many for _, many in large) is (sql_engine.dialect.name == "sqlite")
    info = sessions.get_session(session_id)
    assert info is not None
    assert (info.successful_instances, info.failed_instances) == (150, 50)


HOSTILE_DETAILS = [
    {"message": "100% done; %s %(p)s ' \" \\ ; -- DROP TABLE x", "nested": {"a": [1, None, True]}},
    {"message": "日本語 ✓ 😀", "count": 2**62, "ratio": 0.5},
    None,
    {"message": "", "empty": {}},
]


def test_a_batch_of_outcomes_is_stored_exactly_as_given(sql_engine: sa.Engine) -> None:
    """The one-statement close (PostgreSQL, MySQL) stores what a row-by-row close would:
    quotes, percent signs, placeholders, astral characters, nested JSON, NULL details, long
    texts."""
    sessions = SqlAlchemySyncSessionRepository(sql_engine)
    session_id = _claimed_with_records(sessions, 8)
    sessions.start_records(session_id, list(range(1, 9)))
    outcomes = [
        RecordOutcome(
            instance_id=i + 1,
            status=RecordStatus.COMPLETED if i % 2 else RecordStatus.FAILED,
            items_synced=i,
            items_created=i * 2,
            items_updated=i * 3,
            items_deleted=i * 4,
            # A long text (MySQL: past what one joined close sends) is stored whole too.
            error_message=None if i % 2 else f"failed: 50% of '{i}' %s \\" + "é" * 4_000 * i,
            details=HOSTILE_DETAILS[i % len(HOSTILE_DETAILS)],
        )
        for i in range(8)
    ]
    sessions.finish_records(session_id, outcomes)
    # A second delivery of the same outcomes finds every record closed: nothing changes.
    sessions.finish_records(session_id, [*outcomes[:3]])
    stored = {r.instance_id: r for r in sessions.list_records(session_id)}
    for outcome in outcomes:
        record = stored[outcome.instance_id]
        written = (
            record.status,
            record.items_synced,
            record.items_created,
            record.items_updated,
            record.items_deleted,
            record.error_message,
            record.details,
        )
        assert written == (
            outcome.status,
            outcome.items_synced,
            outcome.items_created,
            outcome.items_updated,
            outcome.items_deleted,
            outcome.error_message,
            outcome.details,
        )
        assert record.completed_at is not None
    info = sessions.get_session(session_id)
    assert info is not None
    assert (info.successful_instances, info.failed_instances) == (4, 4)


HOSTILE_NAMES = [
    "50% off",
    "%s %(p)s",
    "O'Brien",
    'say "hi"',
    "back\\slash",
    "日本語 😀",
    "x" * 240,
]


def test_records_are_added_with_their_names_exactly(sql_engine: sa.Engine) -> None:
    """The multi-row insert (written out on MySQL/MariaDB) keeps every name as given, across
    more than one statement's worth of records."""
    sessions = SqlAlchemySyncSessionRepository(sql_engine)
    names = {i: HOSTILE_NAMES[i % len(HOSTILE_NAMES)] + f" #{i}" for i in range(1, 2_502)}
    session_id = sessions.create_session(
        sync_type="manual_task", sync_category="account", created_by=None
    ).session_id
    sessions.claim_session(session_id)
    sessions.add_records(session_id, list(names.items()))
    stored = {r.instance_id: r.instance_name for r in sessions.list_records(session_id)}
    assert stored == names
    info = sessions.get_session(session_id)
    assert info is not None
    assert info.total_instances == len(names)


def test_postgresql_closes_a_large_group_a_hundred_at_a_time(sql_engine: sa.Engine) -> None:
    """Batches keep the close linear: the planner may match records and rows by a nested loop."""
    if sql_engine.dialect.name != "postgresql":
        pytest.skip("the batched close is PostgreSQL's")
    sessions = SqlAlchemySyncSessionRepository(sql_engine)
    session_id = _claimed_with_records(sessions, 250)
    sessions.start_records(session_id, list(range(1, 251)))
    done = [RecordOutcome(instance_id=i, status=RecordStatus.COMPLETED) for i in range(1, 251)]
    with captured(sql_engine) as seen:
        sessions.finish_records(session_id, done)
    assert sum("json_to_recordset" in sql for sql, _ in seen) == 3
    info = sessions.get_session(session_id)
    assert info is not None
    assert info.successful_instances == 250
