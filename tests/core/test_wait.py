"""``AccountsSyncActionsService.wait``: the final session, or a clear error."""

from __future__ import annotations

import time

import pytest

from accounts_sync import NotFoundError, SessionStatus, ThreadLauncher
from accounts_sync.testing import RecordingLauncher, in_memory_service, make_instances


def test_wait_returns_the_finished_session() -> None:
    service = in_memory_service(make_instances(3), launcher=ThreadLauncher())
    prepared = service.prepare_background_full_sync(created_by=1)
    service.launch_background_full_sync(created_by=1, prepared=prepared)
    final = service.wait(prepared.session_id, timeout=10, interval=0.01)
    assert final.session_id == prepared.session_id
    assert final.status is SessionStatus.COMPLETED
    assert final.successful_instances == 3


def test_wait_on_an_unknown_session_is_not_found() -> None:
    with pytest.raises(NotFoundError, match="指定的 session_id 不存在"):
        in_memory_service(make_instances(1)).wait("no-such-session", timeout=1)


def test_wait_gives_up_after_the_timeout() -> None:
    service = in_memory_service(make_instances(1), launcher=RecordingLauncher())
    prepared = service.prepare_background_full_sync(created_by=1)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"still pending after 0\.2 s"):
        service.wait(prepared.session_id, timeout=0.2, interval=0.05)
    assert 0.2 <= time.monotonic() - started < 2
