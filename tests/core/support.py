"""Helpers shared by the core tests: waiting on threads, log and secret checks, a failing store."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from accounts_sync import (
    RecordStatus,
    SessionStatus,
    SyncCategory,
    SyncSessionInfo,
    SyncSessionRepository,
    SyncType,
)
from accounts_sync.memory import InMemorySyncSessionRepository

LIBRARY_LOGGER = "accounts_sync"
WAIT = 5.0  # seconds: an upper bound for events that normally happen within milliseconds
TERMINAL_SESSION = {
    SessionStatus.COMPLETED,
    SessionStatus.COMPLETED_WITH_ERRORS,
    SessionStatus.FAILED,
    SessionStatus.CANCELLED,
}


def wait_until(predicate: Callable[[], bool], *, timeout: float = WAIT) -> None:
    """Poll ``predicate`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.002)


def wait_started(sessions: SyncSessionRepository, session_id: str, index: int) -> None:
    """Until the session's record at ``index`` is running: the task hands an instance out
    before its start commits, and a cancel requested in between cancels its record."""
    wait_until(lambda: sessions.list_records(session_id)[index].status is RecordStatus.RUNNING)


def library_records(records: Iterable[logging.LogRecord]) -> list[logging.LogRecord]:
    """The records emitted by the ``accounts_sync`` logger tree."""
    return [
        r for r in records if r.name == LIBRARY_LOGGER or r.name.startswith(LIBRARY_LOGGER + ".")
    ]


def assert_log_contract(records: Iterable[logging.LogRecord]) -> None:
    """Logging: ``action`` (str) and ``context`` (dict) on every record; ERROR adds the error."""
    for record in records:
        assert isinstance(getattr(record, "action", None), str), record
        assert record.action  # type: ignore[attr-defined]
        assert isinstance(getattr(record, "context", None), dict), record
        json.dumps(record.context)  # type: ignore[attr-defined]
        if record.levelno >= logging.ERROR:
            assert isinstance(getattr(record, "error_type", None), str), record
            assert isinstance(getattr(record, "error_message", None), str), record


def assert_secret_absent(value: Any, secret: str) -> None:
    """``secret`` appears nowhere in ``value`` (walked recursively, keys included)."""
    if isinstance(value, str):
        assert secret not in value, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            assert_secret_absent(key, secret)
            assert_secret_absent(item, secret)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            assert_secret_absent(item, secret)
    elif isinstance(value, BaseException):
        assert secret not in str(value), value
    elif value is not None and not isinstance(value, (bool, int, float)):
        assert secret not in repr(value), value


def assert_record_free_of(record: logging.LogRecord, secret: str) -> None:
    """No attribute of the log record (message, args, extras, exc_info…) holds ``secret``."""
    assert secret not in record.getMessage()
    for name, value in vars(record).items():
        assert_secret_absent(name, secret)
        assert_secret_absent(value, secret)


def assert_counters_add_up(info: SyncSessionInfo) -> None:
    """Counters: finished ≤ total, with equality once the session is terminal."""
    counters = (info.successful_instances, info.failed_instances, info.cancelled_instances)
    assert all(count >= 0 for count in counters)
    finished = sum(counters)
    assert finished <= info.total_instances
    if info.status in TERMINAL_SESSION:
        assert finished == info.total_instances


class Gate:
    """A scripted ``call`` that blocks inside the host's sync until released.

    ``entered`` is set when the sync starts, ``left`` when it returns; ``thread`` is the thread
    that ran it. The wait is bounded so a failing test never leaves a thread behind for long.
    """

    def __init__(self, result: Any = None) -> None:
        self.result = {"success": True, "synced_count": 1} if result is None else result
        self.entered = threading.Event()
        self.release = threading.Event()
        self.left = threading.Event()
        self.thread: threading.Thread | None = None

    def __call__(self, instance: Any) -> Any:
        self.thread = threading.current_thread()
        self.entered.set()
        try:
            self.release.wait(WAIT)
            return self.result
        finally:
            self.left.set()


class StoreDown(RuntimeError):
    """The error a failing store raises."""


class FailingFinishRecords(InMemorySyncSessionRepository):
    """The in-memory store whose ``finish_records`` raises from its ``fail_on``-th call on."""

    def __init__(self, *, fail_on: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fail_on = fail_on
        self.finish_calls = 0

    def finish_records(self, session_id: str, outcomes: Any) -> None:
        self.finish_calls += 1
        if self.finish_calls >= self.fail_on:
            raise StoreDown("store down")
        super().finish_records(session_id, outcomes)


class FailingStore(FailingFinishRecords):
    """A store that also cannot finish a session: the task must keep the first error."""

    def finish_session(self, session_id: str, **kwargs: Any) -> bool:
        if self.finish_calls >= self.fail_on:
            raise StoreDown("still down")
        return super().finish_session(session_id, **kwargs)


def running_session(sessions: SyncSessionRepository, ids: list[int]) -> str:
    """A claimed session with ``ids`` recorded and started."""
    session_id = sessions.create_session(
        sync_type=SyncType.MANUAL_TASK,
        sync_category=SyncCategory.ACCOUNT,
        created_by=None,
        exclusive=False,
    ).session_id
    assert sessions.claim_session(session_id)
    sessions.add_records(session_id, [(i, f"db-{i}") for i in ids])
    assert sessions.start_records(session_id, ids)
    return session_id
