"""The trace header of a Celery task: added beside the host's headers, read back defensively."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from accounts_sync.contrib._celery_trace import TRACE_HEADER, request_trace, with_trace

TRACEPARENT = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}


def test_the_trace_joins_the_hosts_own_headers() -> None:
    options = {"queue": "sync", "headers": {"tenant": "a"}}
    sent = with_trace(options, TRACEPARENT)
    assert sent == {"queue": "sync", "headers": {"tenant": "a", TRACE_HEADER: TRACEPARENT}}
    assert options == {"queue": "sync", "headers": {"tenant": "a"}}  # the launcher's, untouched
    assert with_trace(options, {}) == options


def test_a_worker_reads_the_header_from_the_request_or_its_headers() -> None:
    worker = SimpleNamespace(request=SimpleNamespace(**{TRACE_HEADER: TRACEPARENT}))
    eager = SimpleNamespace(request=SimpleNamespace(headers={TRACE_HEADER: TRACEPARENT}))
    assert request_trace(worker) == TRACEPARENT
    assert request_trace(eager) == TRACEPARENT
    assert request_trace(SimpleNamespace(request=SimpleNamespace(headers=None))) is None


@pytest.mark.parametrize(
    "hostile",
    [
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ["traceparent"],
        {f"k{index}": "v" for index in range(50)},
        {"traceparent": "x" * 10_000},
        {"traceparent": 42},
        {"traceparent": "line\nbreak"},
    ],
)
def test_a_malformed_header_is_ignored(hostile: Any) -> None:
    task = SimpleNamespace(request=SimpleNamespace(**{TRACE_HEADER: hostile}))
    assert request_trace(task) is None
