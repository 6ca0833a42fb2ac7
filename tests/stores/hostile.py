"""Hostile sync results, and the run that checks a store survives one: shared by the store tests.

One instance of three returns (or raises) something hostile; the session must end, only that
instance's record may fail, every stored value must be within the documented bounds, and the
seeded secret must be stored nowhere.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

from accounts_sync import (
    AccountsSyncActionsService,
    RecordStatus,
    SessionStatus,
    SyncCategory,
    SyncType,
)
from accounts_sync._bounds import COUNT_MAX, DETAILS_BYTES, DETAILS_DEPTH, MESSAGE_LIMIT, NAME_LIMIT
from accounts_sync._full_sync import FullSyncTask
from accounts_sync.cli._sessions import print_summary
from accounts_sync.cli._terminal import Terminal
from accounts_sync.contrib.http import ROUTES, Action, HttpDispatch
from accounts_sync.memory import InMemoryInstanceRepository
from accounts_sync.ports import RecordOutcome, SyncSessionRepository
from accounts_sync.testing import FakeInstance, ScriptedSyncService

SECRET = "s3cr3t"
HOSTILE_ID = 2
# A name too long for its column, with a NUL byte and a lone surrogate in it.
HOSTILE_NAME = "n\x00\ud800" + "x" * 300
_SECRET_FORMS = [f"postgresql://u:{SECRET}@h/db", f"password={SECRET}"]

_junk = st.text(alphabet=st.characters(codec=None), max_size=20) | st.sampled_from(
    ["\x00", "\ud800", "\udfff", "z" * 70_000]
)


@st.composite
def _message(draw: st.DrawFn) -> str:
    form = draw(st.sampled_from(_SECRET_FORMS))
    return f"{draw(_junk)} {form} {draw(_junk)}"


def deep(levels: int) -> list[Any]:
    """Lists nested ``levels`` deep."""
    top: list[Any] = []
    current = top
    for _ in range(levels):
        current.append([])
        current = current[0]
    return top


def self_referencing() -> dict[str, Any]:
    """A mapping holding itself, directly and inside lists."""
    loop: dict[str, Any] = {"name": "loop"}
    loop["self"] = loop
    loop["list"] = [loop, [loop]]
    return loop


_details = st.one_of(
    st.builds(deep, st.sampled_from([33, 5_000])),
    st.builds(self_referencing),
    st.just({"password": SECRET, "list": list(range(100_000))}),
    st.builds(lambda message: {"conn": message, "\x00key\ud800": "v"}, _message()),
    _junk,
)
_counts = st.integers() | st.sampled_from([2**31, 2**63, -(2**31) - 1]) | st.text(max_size=3)


@st.composite
def _result(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "success": draw(st.booleans()),
        "message": draw(_message()),
        "details": draw(_details),
        "synced_count": draw(_counts),
        "added_count": draw(_counts),
        draw(_junk): draw(_details),
    }


# (returns, raises): a mapping, a non-mapping, or an exception.
hostile_outcomes = st.one_of(
    st.tuples(_result(), st.none()),
    st.tuples(_message(), st.none()),
    st.tuples(st.none(), st.builds(RuntimeError, _message())),
)


def run_hostile(sessions: SyncSessionRepository, outcome: tuple[Any, BaseException | None]) -> None:
    """Run a full sync of three instances where the second is hostile; check what was stored."""
    returns, raises = outcome
    instances = [
        FakeInstance(id=1, name="db-1"),
        FakeInstance(id=HOSTILE_ID, name=HOSTILE_NAME),
        FakeInstance(id=3, name="db-3"),
    ]
    sync = ScriptedSyncService()
    if raises is not None:
        sync.script(HOSTILE_ID, raises=raises)
    else:
        sync.script(HOSTILE_ID, result=returns)
    task = FullSyncTask(
        instances=InMemoryInstanceRepository(instances), sessions=sessions, sync_service=sync
    )
    session_id = sessions.create_session(
        sync_type=SyncType.MANUAL_TASK, sync_category=SyncCategory.ACCOUNT, created_by=None
    ).session_id
    with captured_logs() as logs:
        summary = task(session_id=session_id)
    for record in logs:
        assert SECRET not in json.dumps({**vars(record), "text": record.getMessage()}, default=str)
    assert SECRET not in json.dumps(http_body(task, session_id))
    assert SECRET not in cli_output(sessions, session_id)
    info = sessions.get_session(session_id)
    assert summary.status is not None and info is not None
    assert info.is_terminal
    assert info.status is not SessionStatus.FAILED
    succeeds = isinstance(returns, dict) and returns["success"] is True
    for record in sessions.list_records(session_id):
        if record.instance_id == HOSTILE_ID:
            expected = RecordStatus.COMPLETED if succeeds else RecordStatus.FAILED
            assert record.status is expected, record.error_message
        else:
            assert record.status is RecordStatus.COMPLETED
        assert_within_bounds(record.as_dict())
    assert SECRET not in json.dumps(info.as_dict())


@contextlib.contextmanager
def captured_logs() -> Iterator[list[logging.LogRecord]]:
    """Every record the library's loggers emit inside the block, at any level."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    library, handler = logging.getLogger("accounts_sync"), Keep(logging.DEBUG)
    level = library.level
    library.addHandler(handler)
    library.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        library.removeHandler(handler)
        library.setLevel(level)


def http_body(task: FullSyncTask[Any], session_id: str) -> dict[str, Any]:
    """The JSON body of ``GET sync-sessions/<id>``, through the HTTP layer both frameworks use."""
    service = AccountsSyncActionsService(
        sync_service=task.sync_service, instances=task.instances, sessions=task.sessions
    )
    view = next(route for route in ROUTES if route.action == Action.VIEW_SESSION)
    dispatch = HttpDispatch(service, authorize=lambda request, action: 1, refusal=lambda _: None)
    response = dispatch.handle(view, None, {"session_id": session_id}, _no_transaction)
    assert response.status == 200, response.body
    return response.body


def _no_transaction(service: object) -> Any:
    raise AssertionError("viewing a session needs no transaction")


def cli_output(sessions: SyncSessionRepository, session_id: str) -> str:
    """What ``accounts-sync sessions show`` prints for the session."""
    info = sessions.get_session(session_id)
    assert info is not None
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_summary(Terminal(), sessions, info)
    return out.getvalue()


def assert_within_bounds(record: dict[str, Any]) -> None:
    assert SECRET not in json.dumps(record)
    assert len(record["instance_name"]) <= NAME_LIMIT
    assert len(record["error_message"] or "") <= MESSAGE_LIMIT
    for counter in ("items_synced", "items_created", "items_updated", "items_deleted"):
        assert 0 <= record[counter] <= COUNT_MAX
    details = record["details"]
    assert len(json.dumps(details)) <= DETAILS_BYTES
    assert depth_of(details) <= DETAILS_DEPTH
    for text in [record["instance_name"], record["error_message"] or "", json.dumps(details)]:
        assert "\x00" not in text and "\\u0000" not in text


def depth_of(value: Any) -> int:
    """Nesting levels of JSON data (a scalar is 0)."""
    if isinstance(value, dict):
        return 1 + max((depth_of(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(item) for item in value), default=0)
    return 0


def run_refused(
    sessions: SyncSessionRepository, refused: RecordOutcome, error_type: str, *, advance: bool
) -> None:
    """Write a batch holding ``refused`` (instance 2), which the database will not store: it
    alone must fail, as ``"{error_type}: value could not be stored"`` without details."""
    session_id = sessions.create_session(
        sync_type=SyncType.MANUAL_TASK, sync_category=SyncCategory.ACCOUNT, created_by=None
    ).session_id
    sessions.claim_session(session_id)
    sessions.add_records(session_id, [(1, "db-1"), (2, "db-2"), (3, "db-3"), (4, "db-4")])
    sessions.start_records(session_id, [1, 2, 3])
    outcomes = [
        RecordOutcome(instance_id=1, status=RecordStatus.COMPLETED, items_synced=5),
        refused,
        RecordOutcome(instance_id=3, status=RecordStatus.FAILED, error_message="down"),
    ]
    if advance:
        assert sessions.advance_records(session_id, outcomes, [4])  # type: ignore[attr-defined]
    else:
        sessions.finish_records(session_id, outcomes)

    first, second, third, fourth = sessions.list_records(session_id)
    assert (first.status, first.items_synced) == (RecordStatus.COMPLETED, 5)
    assert (third.status, third.error_message) == (RecordStatus.FAILED, "down")
    # Only the driver's error type: no SQL, no parameters.
    assert second.status is RecordStatus.FAILED
    assert second.error_message == f"{error_type}: value could not be stored"
    assert (second.details, second.items_synced) == (None, 0)
    assert fourth.status is (RecordStatus.RUNNING if advance else RecordStatus.PENDING)
    info = sessions.get_session(session_id)
    assert info is not None
    assert (info.successful_instances, info.failed_instances) == (1, 2)
