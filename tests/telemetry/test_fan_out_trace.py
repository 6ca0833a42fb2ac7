"""One trace from the web request to the chunks of a fan-out full sync, across real Celery
worker processes: the request's trace id is on every chunk's spans."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from accounts_sync import SessionStatus
from accounts_sync.sqlalchemy import sqlite_url
from accounts_sync.telemetry import CHUNK_SPAN, INSTANCE_ID, INSTANCE_SPAN, JOB_SPAN, LAUNCH_SPAN
from tests.celery.fan_out_cluster import cluster, wait_for

from ..conftest import REDIS_URL, require_server
from .conftest import Telemetry
from .span_file import read_spans

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.timeout(180)]

INSTANCES = 6
CHUNK = 2


def test_the_chunks_spans_continue_the_requests_trace(otel: Telemetry, tmp_path: Path) -> None:
    require_server("Redis", REDIS_URL, 6379, variable="ACCOUNTS_SYNC_REDIS_URL")
    with cluster(
        tmp_path,
        broker=REDIS_URL,
        database=sqlite_url(tmp_path / "store.sqlite3"),
        instances=INSTANCES,
        env={"ACCOUNTS_SYNC_FANOUT_CHUNK": str(CHUNK)},
        app="tests.telemetry.otel_fan_out_app",
    ) as made:
        host = otel.tracer_provider.get_tracer("host")
        with host.start_as_current_span("POST /accounts/sync") as request_span:
            prepared = made.service.prepare_background_full_sync(created_by=5)
            made.service.launch_background_full_sync(prepared=prepared)
        session_id = prepared.session_id
        info = made.wait_terminal(session_id)
        assert info.status is SessionStatus.COMPLETED

        def all_spans() -> list[dict[str, Any]]:
            # A chunk's span ends after its instances' spans: wait for both.
            found = read_spans(tmp_path / "spans.jsonl", session_id)
            names = [span["name"] for span in found]
            done = names.count(INSTANCE_SPAN) == INSTANCES and CHUNK_SPAN in names
            parents = {s["parent_id"] for s in found if s["name"] == INSTANCE_SPAN}
            ended = {s["span_id"] for s in found if s["name"] == CHUNK_SPAN}
            return found if done and parents <= ended else []

        spans = wait_for(all_spans, "every chunk's spans")

    trace_id = format(request_span.get_span_context().trace_id, "032x")
    assert {span["trace_id"] for span in spans} == {trace_id}
    instance_spans = [span for span in spans if span["name"] == INSTANCE_SPAN]
    assert sorted(span["attributes"][INSTANCE_ID] for span in instance_spans) == list(
        range(1, INSTANCES + 1)
    )
    # Each chunk's span hangs off the job span of the full sync that sent it, and parents the
    # spans of its instances: one tree, not a trace per chunk.
    (job,) = [span for span in spans if span["name"] == JOB_SPAN]
    assert job["parent_id"] == format(otel.one(LAUNCH_SPAN).context.span_id, "016x")
    chunks = {span["span_id"]: span for span in spans if span["name"] == CHUNK_SPAN}
    assert len(chunks) >= INSTANCES // CHUNK
    assert {span["parent_id"] for span in chunks.values()} == {job["span_id"]}
    assert {span["parent_id"] for span in instance_spans} <= set(chunks)
