"""Real background threads with real commits: the full sync over HTTP on SQLite and
PostgreSQL, connection hygiene, and single flight under a race."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from django.db import connections, transaction
from django.test import Client
from inventory.models import Instance

from accounts_sync import ConflictError, FullSyncJob, InlineLauncher, SessionStatus
from accounts_sync.contrib.django import (
    CloseConnectionsLauncher,
    DjangoInstanceRepository,
    DjangoSyncSessionRepository,
    DjangoThreadLauncher,
    build_service,
)
from accounts_sync.contrib.django import launchers as django_launchers
from accounts_sync.contrib.django.models import SyncRecord, SyncSession
from accounts_sync.testing import ScriptedSyncService

from .state import State
from .testapp.models import Server

SYNC_ALL = "/api/instances/actions/sync-accounts"


def _wait_for_end(client: Client, session_id: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/sync-sessions/{session_id}")
        assert response.status_code == 200
        data: dict[str, Any] = json.loads(response.content)["data"]
        if data["session"]["status"] not in ("pending", "running"):
            return data
        assert time.monotonic() < deadline, data["session"]
        time.sleep(0.02)


def _join_sync_threads() -> None:
    for thread in threading.enumerate():
        if thread.name == "sync_accounts_manual_batch":
            thread.join(10)


@pytest.fixture
def closed_in(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the threads that closed their connections through our launchers."""
    names: list[str] = []
    original = django_launchers.connections.close_all

    def spy() -> None:
        names.append(threading.current_thread().name)
        original()

    monkeypatch.setattr(django_launchers.connections, "close_all", spy)
    return names


@pytest.mark.django_db(transaction=True)
def test_full_sync_in_a_thread_on_sqlite(
    client: Client,
    operator: Any,
    state: State,
    closed_in: list[str],
) -> None:
    rows = [
        Instance.objects.create(name=f"db-{i:02d}", db_type="mysql", host=f"h{i}")
        for i in range(12)
    ]
    sync = ScriptedSyncService(default_delay=0.01)
    sync.script(rows[3].pk, raises=RuntimeError("unreachable"))
    state.current = build_service(sync_service=sync, instances=Instance)
    assert isinstance(state.current.launcher, DjangoThreadLauncher)
    client.force_login(operator)
    response = client.post(SYNC_ALL)
    assert response.status_code == 200
    data = _wait_for_end(client, json.loads(response.content)["data"]["session_id"])
    _join_sync_threads()
    session = data["session"]
    assert (
        session["status"],
        session["total_instances"],
        session["successful_instances"],
        session["failed_instances"],
        session["progress"],
    ) == ("completed_with_errors", 12, 11, 1, 100.0)
    assert {c.thread_name for c in sync.calls} != {"MainThread"}
    assert sorted(Instance.objects.values_list("sync_count", flat=True)) == [0] + [1] * 11
    assert closed_in == ["sync_accounts_manual_batch"]


@pytest.mark.django_db(transaction=True)
def test_a_job_run_in_the_launching_thread_keeps_its_connection(closed_in: list[str]) -> None:
    ran: list[str] = []
    launcher = CloseConnectionsLauncher(InlineLauncher())
    with transaction.atomic():
        launcher.launch(FullSyncJob(session_id="s"), lambda job: ran.append(job.session_id))
        assert connections["default"].in_atomic_block  # not closed under the request
    assert ran == ["s"] and closed_in == []


@pytest.mark.services
def test_full_sync_over_http_on_postgres(pg_alias: str, state: State, closed_in: list[str]) -> None:
    for i in range(20):
        Server.objects.using(pg_alias).create(
            label=f"srv-{i:02d}", engine="postgresql", address=f"10.1.0.{i}"
        )
    instances = DjangoInstanceRepository(
        Server,
        id_field="server_id",
        name_field="label",
        db_type_field="engine",
        host_field="address",
        active_field="enabled",
        deleted_field="removed_at",
        sync_count_field="syncs",
        using=pg_alias,
    )
    state.current = build_service(
        sync_service=ScriptedSyncService(default_delay=0.005),
        instances=instances,
        sessions=DjangoSyncSessionRepository(using=pg_alias),
    )
    state.hook = lambda request, action: 42  # no default-database user lookups
    client = Client()
    first = client.post(SYNC_ALL)
    assert first.status_code == 200
    session_id = json.loads(first.content)["data"]["session_id"]
    data = _wait_for_end(client, session_id)
    _join_sync_threads()
    assert data["session"]["status"] == "completed"
    assert data["session"]["created_by"] == 42
    assert len(data["records"]) == 20
    assert set(Server.objects.using(pg_alias).values_list("syncs", flat=True)) == {1}
    assert SyncRecord.objects.using(pg_alias).filter(session_id=session_id).count() == 20
    assert closed_in == ["sync_accounts_manual_batch"]
    # The lock is released: the next full sync may start.
    assert client.post(SYNC_ALL).status_code == 200
    _join_sync_threads()


@pytest.mark.services
@pytest.mark.parametrize("in_transaction", [False, True], ids=["autocommit", "atomic"])
def test_sixteen_concurrent_prepares_make_one_session(pg_alias: str, in_transaction: bool) -> None:
    Server.objects.using(pg_alias).create(label="srv", engine="postgresql", address="h")
    service = build_service(
        sync_service=ScriptedSyncService(),
        instances=DjangoInstanceRepository(
            Server,
            id_field="server_id",
            name_field="label",
            db_type_field="engine",
            host_field="address",
            active_field="enabled",
            deleted_field="removed_at",
            sync_count_field="syncs",
            using=pg_alias,
        ),
        sessions=DjangoSyncSessionRepository(using=pg_alias),
    )
    barrier = threading.Barrier(16)
    won: list[str] = []
    refused: list[Any] = []
    errors: list[BaseException] = []

    def prepare() -> None:
        try:
            barrier.wait()
            if in_transaction:
                with transaction.atomic(using=pg_alias):
                    won.append(service.prepare_background_full_sync().session_id)
            else:
                won.append(service.prepare_background_full_sync().session_id)
        except ConflictError as conflict:
            refused.append(conflict.extra.get("session_id"))
        except BaseException as error:  # a raw IntegrityError would land here
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=prepare) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(won) == 1 and len(refused) == 15
    assert set(refused) == set(won)
    sessions = SyncSession.objects.using(pg_alias)
    assert list(sessions.values_list("session_id", "status")) == [
        (won[0], SessionStatus.PENDING.value)
    ]
