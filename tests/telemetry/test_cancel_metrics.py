"""A pending session cancelled through the API ends there, and is counted there."""

from __future__ import annotations

from accounts_sync.telemetry import SESSION_STATUS, SESSIONS_FINISHED, SESSIONS_RUNNING
from accounts_sync.testing import make_instances
from tests.flask.conftest import Env

from .conftest import Telemetry


def test_a_pending_session_cancelled_through_the_api_counts_as_cancelled_once(
    otel: Telemetry,
) -> None:
    env = Env(make_instances(3))
    session_id = env.post("/instances/actions/sync-accounts").get_json()["data"]["session_id"]

    assert env.post(f"/sync-sessions/{session_id}/actions/cancel").status_code == 200
    env.launcher.run_all()  # the launched job finds it cancelled, runs nothing, counts nothing
    assert env.post(f"/sync-sessions/{session_id}/actions/cancel").status_code == 409

    assert env.sync_service.calls == []
    assert otel.values(SESSIONS_FINISHED.name) == {((SESSION_STATUS, "cancelled"),): 1}
    assert otel.values(SESSIONS_RUNNING.name) in ({}, {(): 0})


def test_a_running_session_cancelled_through_the_api_is_counted_by_its_run_alone(
    otel: Telemetry,
) -> None:
    env = Env(make_instances(3))
    session_id = env.post("/instances/actions/sync-accounts").get_json()["data"]["session_id"]
    assert env.service.sessions.claim_session(session_id)

    assert env.post(f"/sync-sessions/{session_id}/actions/cancel").status_code == 200

    info = env.service.sessions.get_session(session_id)
    assert info is not None and info.status.value == "running" and info.cancel_requested
    assert otel.values(SESSIONS_FINISHED.name) == {}
