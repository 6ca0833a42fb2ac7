"""The cost of polling a large session over HTTP (docs: Performance, HTTP endpoints).

``benchmarks/run.py`` calls :func:`session_poll_ms` with a fresh PostgreSQL store.
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

import flask
import sqlalchemy as sa

from accounts_sync import AccountsSyncActionsService, RecordStatus, SyncCategory, SyncType
from accounts_sync.cli import Store
from accounts_sync.contrib.flask import init_app
from accounts_sync.testing import ScriptedSyncService

__all__ = ["session_poll_ms"]


def session_poll_ms(store: Store, quick: bool) -> float:
    """Median milliseconds of ``GET {prefix}/sync-sessions/<id>`` through Flask's test client
    for a running session of 100,000 records (10,000 with ``quick``) on tables filled just
    before (no ANALYZE), 40% of them settled."""
    count = 10_000 if quick else 100_000
    if quick:
        print(f"# session_poll_ms_100k_postgresql: quick mode, {count:,} records", file=sys.stderr)
    session_id = _running_session(store, count)
    service: AccountsSyncActionsService[Any] = AccountsSyncActionsService(
        sync_service=ScriptedSyncService(), instances=store.instances, sessions=store.sessions
    )
    app = flask.Flask(__name__)
    init_app(app, service, authorize=lambda request, action: 1)
    client = app.test_client()
    url = f"/api/v1/sync-sessions/{session_id}"
    samples = []
    for _ in range(25 if quick else 101):
        start = time.perf_counter()
        reply = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        data = reply.get_json()["data"]
        if reply.status_code != 200 or len(data["records"]) != 100 or not data["next_cursor"]:
            raise RuntimeError(f"session_poll_ms: unexpected answer {reply.status_code}")
    return statistics.median(samples[5:])  # the first polls warm the connection pool


def _running_session(store: Store, count: int) -> str:
    sessions = store.sessions
    info = sessions.create_session(
        sync_type=SyncType.MANUAL_TASK, sync_category=SyncCategory.ACCOUNT, created_by=1
    )
    sessions.claim_session(info.session_id)
    sessions.add_records(info.session_id, [(i, f"db-{i}") for i in range(1, count + 1)])
    records = sessions.tables.records
    settled = sa.and_(records.c.session_id == info.session_id, records.c.instance_id <= count * 0.4)
    with store.engine.begin() as conn:
        conn.execute(sa.update(records).where(settled).values(status=RecordStatus.COMPLETED.value))
    return info.session_id
