"""The paged reads — the sessions list, the bounded session, the records pages — through both
frameworks' real test clients, one test for both (see ``test_http_parity``)."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest

from accounts_sync import (
    Messages,
    RecordStatus,
    SessionStatus,
    SyncCategory,
    SyncSessionInfo,
    SyncType,
)
from accounts_sync._pages import session_key
from accounts_sync.contrib.http import Action, NotAuthenticated, PermissionDenied
from accounts_sync.ports import RecordOutcome
from accounts_sync.testing import ManualClock, in_memory_service, make_instances

from .fronts import Front, owner_only

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = Messages()


def seeded(front: Front, records: int, *, created_by: int = 1, category: str = "account") -> str:
    """A running session of ``records`` pending records (instance ids 1…n)."""
    sessions = front.service.sessions
    info = sessions.create_session(
        sync_type=SyncType.MANUAL_TASK,
        sync_category=category,
        created_by=created_by,
        exclusive=False,
    )
    assert sessions.claim_session(info.session_id)
    sessions.add_records(info.session_id, [(n, f"db-{n}") for n in range(1, records + 1)])
    return info.session_id


def settle(front: Front, session_id: str, failed: list[int], completed: list[int]) -> None:
    sessions = front.service.sessions
    assert sessions.start_records(session_id, [*failed, *completed])
    outcomes = [
        *(RecordOutcome(instance_id=i, status=RecordStatus.FAILED) for i in failed),
        *(RecordOutcome(instance_id=i, status=RecordStatus.COMPLETED) for i in completed),
    ]
    sessions.finish_records(session_id, outcomes)


def records_of(front: Front, session_id: str) -> list[dict[str, Any]]:
    return [record.as_dict() for record in front.service.sessions.list_records(session_id)]


def invalid(name: str) -> tuple[int, dict[str, Any]]:
    return 400, {
        "success": False,
        "error": True,
        "message_code": "VALIDATION_ERROR",
        "message": MESSAGES.invalid_query_parameter.format(name=name),
    }


def walk(front: Front, url: str, key: str) -> list[list[dict[str, Any]]]:
    """Every page of ``url``, following ``next_cursor``."""
    pages, cursor = [], None
    while True:
        separator = "&" if "?" in url else "?"
        status, reply = front.call("get", url + (f"{separator}cursor={cursor}" if cursor else ""))
        assert status == 200, reply
        pages.append(reply["data"][key])
        cursor = reply["data"]["next_cursor"]
        if cursor is None:
            return pages


# -- GET sync-sessions/<id>: bounded ----------------------------------------------------------


@pytest.mark.parametrize("count", [0, 3, 100])
def test_a_session_of_up_to_100_records_answers_as_before(front: Front, count: int) -> None:
    front.mount(lambda request, action: 1)
    session_id = seeded(front, count)
    status, reply = front.call("get", f"/sync-sessions/{session_id}")
    assert status == 200
    info = front.service.sessions.get_session(session_id)
    assert info is not None
    assert reply["data"] == {"session": info.as_dict(), "records": records_of(front, session_id)}


def test_a_larger_session_answers_its_first_100_records_and_a_cursor(front: Front) -> None:
    front.mount(lambda request, action: 1)
    session_id = seeded(front, 250)
    every = records_of(front, session_id)
    status, reply = front.call("get", f"/sync-sessions/{session_id}")
    assert status == 200
    assert set(reply["data"]) == {"session", "records", "next_cursor"}
    assert reply["data"]["session"]["total_instances"] == 250
    assert reply["data"]["records"] == every[:100]
    cursor = reply["data"]["next_cursor"]
    status, rest = front.call(
        "get", f"/sync-sessions/{session_id}/records?limit=500&cursor={cursor}"
    )
    assert status == 200
    assert rest["data"] == {"records": every[100:], "next_cursor": None}


# -- GET sync-sessions/<id>/records -----------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "sizes"),
    [
        ("", [100, 100, 50]),
        ("?limit=500", [250]),
        ("?limit=1", [1] * 250),
        ("?limit=120", [120, 120, 10]),
    ],
)
def test_records_pages_walk_every_record_once(front: Front, query: str, sizes: list[int]) -> None:
    front.mount(lambda request, action: 1)
    session_id = seeded(front, 250)
    pages = walk(front, f"/sync-sessions/{session_id}/records{query}", "records")
    assert [len(page) for page in pages] == sizes
    assert [record for page in pages for record in page] == records_of(front, session_id)


def test_records_are_filtered_by_status(front: Front) -> None:
    front.mount(lambda request, action: 1)
    session_id = seeded(front, 150)
    failed = [2, 50, 120, 149]
    settle(front, session_id, failed=failed, completed=[1, 3, 121])
    url = f"/sync-sessions/{session_id}/records"
    pages = walk(front, f"{url}?status=failed&limit=3", "records")
    assert [[r["instance_id"] for r in page] for page in pages] == [[2, 50, 120], [149]]
    assert all(r["status"] == "failed" for page in pages for r in page)
    status, reply = front.call("get", f"{url}?status=completed,failed,completed&limit=500")
    assert status == 200
    assert [r["instance_id"] for r in reply["data"]["records"]] == [1, 2, 3, 50, 120, 121, 149]
    status, reply = front.call("get", f"{url}?status=cancelled")
    assert (status, reply["data"]) == (200, {"records": [], "next_cursor": None})


def test_a_records_cursor_holds_while_the_session_runs(front: Front) -> None:
    front.mount(lambda request, action: 1)
    session_id = seeded(front, 40)
    url = f"/sync-sessions/{session_id}/records?limit=10"
    first = front.call("get", url)[1]["data"]
    assert [r["instance_id"] for r in first["records"]] == list(range(1, 11))
    # Between two polls the run moves on: records of both pages change status.
    settle(front, session_id, failed=[3, 12], completed=[1, 2, 11, 13, 14])
    second = front.call("get", f"{url}&cursor={first['next_cursor']}")[1]["data"]
    assert [r["instance_id"] for r in second["records"]] == list(range(11, 21))
    assert [r["status"] for r in second["records"][:5]] == [
        "completed",
        "failed",
        "completed",
        "completed",
        "pending",
    ]
    # A filtered walk started before the changes still visits each record at most once.
    failed_only = walk(
        front, f"/sync-sessions/{session_id}/records?status=failed&limit=1", "records"
    )
    assert [r["instance_id"] for page in failed_only for r in page] == [3, 12]


# -- GET sync-sessions --------------------------------------------------------------------------


def test_sessions_are_listed_most_recent_first_with_durations(front: Front) -> None:
    clock = ManualClock()
    front.service = in_memory_service(make_instances(3), clock=clock)
    front.mount(lambda request, action: 1)
    done = seeded(front, 2)
    clock.advance(dt.timedelta(seconds=30))
    assert front.service.sessions.finish_session(done, status=SessionStatus.COMPLETED)
    clock.advance(dt.timedelta(seconds=1))
    running = seeded(front, 1, category="config")
    clock.advance(dt.timedelta(seconds=1))
    pending = front.service.sessions.create_session(
        sync_type=SyncType.MANUAL_TASK, sync_category=SyncCategory.OTHER, created_by=9
    )
    clock.advance(dt.timedelta(seconds=4.5))
    status, reply = front.call("get", "/sync-sessions")
    assert status == 200
    items = reply["data"]["sessions"]
    assert reply["data"]["next_cursor"] is None
    assert [item["session_id"] for item in items] == [pending.session_id, running, done]
    assert [item["duration_seconds"] for item in items] == [None, 5.5, 30.0]
    for item in items:
        info = front.service.sessions.get_session(item.pop("session_id"))
        assert info is not None
        expected = info.as_dict()
        expected.pop("session_id")
        item.pop("duration_seconds")
        assert item == expected


def test_the_sessions_list_pages_and_filters(front: Front) -> None:
    front.mount(lambda request, action: 1)
    made = [seeded(front, 1, category="account" if n % 2 else "config") for n in range(7)]
    settle(front, made[0], failed=[], completed=[1])
    assert front.service.sessions.finish_session(made[0], status=SessionStatus.COMPLETED)
    every = front.service.sessions.list_sessions(limit=100)
    newest_first = [info.session_id for info in sorted(every, key=session_key, reverse=True)]
    pages = walk(front, "/sync-sessions?limit=3", "sessions")
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [item["session_id"] for page in pages for item in page] == newest_first
    reply = front.call("get", "/sync-sessions?status=completed")[1]
    assert [item["session_id"] for item in reply["data"]["sessions"]] == [made[0]]
    reply = front.call("get", "/sync-sessions?category=account&status=running,pending")[1]
    assert [item["session_id"] for item in reply["data"]["sessions"]] == [
        s for s in newest_first if s in made[1::2]
    ]
    reply = front.call("get", "/sync-sessions?limit=100&unknown=x")[1]
    assert len(reply["data"]["sessions"]) == 7


def test_the_default_page_is_20_sessions(front: Front) -> None:
    front.mount(lambda request, action: 1)
    for _ in range(25):
        seeded(front, 0)
    status, reply = front.call("get", "/sync-sessions")
    assert status == 200 and len(reply["data"]["sessions"]) == 20
    assert reply["data"]["next_cursor"]
    status, reply = front.call("get", f"/sync-sessions?cursor={reply['data']['next_cursor']}")
    assert len(reply["data"]["sessions"]) == 5 and reply["data"]["next_cursor"] is None


# -- hostile parameters ---------------------------------------------------------------------------


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


HOSTILE = [
    ("limit=0", "limit"),
    ("limit=-1", "limit"),
    ("limit=1.5", "limit"),
    ("limit=abc", "limit"),
    ("limit=%00", "limit"),
    ("limit=1%00", "limit"),
    ("limit=%EF%BC%91", "limit"),  # a full-width digit
    ("limit=" + "9" * 5000, "limit"),
    ("limit=0001", "limit"),
    ("status=nope", "status"),
    ("status=failed,%00", "status"),
    ("status=failed,", "status"),
    ("status=" + ",".join(["failed"] * 500), "status"),
    ("cursor=%00", "cursor"),
    ("cursor=***", "cursor"),
    ("cursor=" + "A" * 100_000, "cursor"),
    ("cursor=" + _cursor("x:1"), "cursor"),
    ("cursor=" + _cursor("r:-1"), "cursor"),
    ("cursor=" + _cursor("r:" + "9" * 30), "cursor"),
    ("cursor=" + _cursor("s:yesterday|x"), "cursor"),
    ("cursor=" + _cursor("s:2026-01-01T00:00:00|abc"), "cursor"),  # no zone
    ("cursor=" + _cursor("s:2026-01-01T00:00:00+00:00|a\x00b"), "cursor"),
]


LIST_ONLY = [
    ("limit=101", "limit"),
    ("category=nope", "category"),
    ("category=account,config", "category"),
    ("cursor=" + _cursor("r:1"), "cursor"),  # a records cursor
]


@pytest.mark.parametrize(("query", "name"), [*HOSTILE, *LIST_ONLY])
def test_hostile_list_parameters_are_a_400_envelope(front: Front, query: str, name: str) -> None:
    front.mount(lambda request, action: 1)
    seeded(front, 1)
    assert front.call("get", f"/sync-sessions?{query}") == invalid(name)


@pytest.mark.parametrize(("query", "name"), [*HOSTILE, ("limit=501", "limit")])
def test_hostile_records_parameters_are_a_400_envelope(front: Front, query: str, name: str) -> None:
    front.mount(lambda request, action: 1)
    session_id = seeded(front, 3)
    assert front.call("get", f"/sync-sessions/{session_id}/records?{query}") == invalid(name)


def test_a_session_cursor_is_no_records_cursor(front: Front) -> None:
    front.mount(lambda request, action: 1)
    session_id = seeded(front, 1)
    seeded(front, 1)
    sessions_cursor = front.call("get", "/sync-sessions?limit=1")[1]["data"]["next_cursor"]
    url = f"/sync-sessions/{session_id}/records?cursor={sessions_cursor}"
    assert front.call("get", url) == invalid("cursor")


# -- authorization ----------------------------------------------------------------------------


def test_the_hook_sees_the_new_actions_and_their_targets(front: Front) -> None:
    seen: list[tuple[str, Any]] = []

    def recording(request: Any, action: str, target: Any) -> int:
        seen.append((action, target))
        return 1

    front.mount(recording)
    session_id = seeded(front, 2)
    front.call("get", "/sync-sessions?category=account")
    front.call("get", f"/sync-sessions/{session_id}/records")
    assert [action for action, _ in seen] == [Action.LIST_SESSIONS, Action.VIEW_SESSION]
    assert Action.LIST_SESSIONS == "list_sync_sessions"
    assert seen[0][1] is None
    assert isinstance(seen[1][1], SyncSessionInfo) and seen[1][1].session_id == session_id


def test_records_are_allowed_object_by_object(front: Front) -> None:
    front.mount(owner_only)
    session_id = seeded(front, 2, created_by=1)  # alice's
    url = f"/sync-sessions/{session_id}/records"
    assert front.call("get", url)[0] == 401
    assert front.call("get", url, "bob")[0] == 403
    assert front.call("get", f"{url}?limit=0", "bob")[0] == 403  # refused before it is checked
    assert front.call("get", url, "alice")[0] == 200
    status, reply = front.call("get", "/sync-sessions/nope/records", "alice")
    assert (status, reply["message_code"]) == (404, "RESOURCE_NOT_FOUND")


def test_the_list_is_refused_before_its_parameters_are_read(front: Front) -> None:
    def hook(request: Any, action: str) -> int:
        user = request.headers.get("X-User")
        if user is None:
            raise NotAuthenticated("")
        if action == Action.LIST_SESSIONS and user != "alice":
            raise PermissionDenied("")
        return 1

    front.mount(hook)
    assert front.call("get", "/sync-sessions?limit=abc")[0] == 401
    assert front.call("get", "/sync-sessions?limit=abc", "bob")[0] == 403
    assert front.call("get", "/sync-sessions?limit=abc", "alice") == invalid("limit")
    assert front.call("get", "/sync-sessions", "alice")[0] == 200
