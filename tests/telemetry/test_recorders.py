"""Telemetry off costs no import; a host's own recorder plugs in through the same interface."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any

import pytest

from accounts_sync import FullSyncJob
from accounts_sync.telemetry import (
    INSTANCE_SPAN,
    INSTANCE_SYNCS,
    JOB_SPAN,
    LAUNCH_SPAN,
    PREPARE_SPAN,
    RUN_SPAN,
    Attributes,
    Metric,
    NoopRecorder,
    Recorder,
    SpanHandle,
    get_recorder,
    set_recorder,
)
from accounts_sync.testing import in_memory_service, make_instances

_FULL_SYNC = """
    import sys
    import accounts_sync, accounts_sync.telemetry
    from accounts_sync.testing import in_memory_service, make_instances

    service = in_memory_service(make_instances(3))
    prepared = service.prepare_background_full_sync()
    service.launch_background_full_sync(prepared=prepared)
    assert service.wait(prepared.session_id).successful_instances == 3
    service.sync_instance_accounts(instance_id=1)
    print(sorted(name for name in sys.modules if name.startswith("opentelemetry")))
"""

# As if the extra were not installed: every ``opentelemetry`` import fails.
_WITHOUT_THE_EXTRA = """
    import importlib.abc, sys

    class NoOpenTelemetry(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] == "opentelemetry":
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoOpenTelemetry())
"""


def _run(*parts: str) -> str:
    script = "\n".join(textwrap.dedent(part) for part in parts)
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def test_telemetry_off_a_full_sync_imports_no_opentelemetry() -> None:
    assert _run(_FULL_SYNC) == "[]"


def test_without_the_extra_the_library_runs_and_the_plug_in_names_the_extra() -> None:
    plug_in = """
        try:
            import accounts_sync.contrib.otel
        except ImportError as error:
            print(error)
    """
    printed = _run(_WITHOUT_THE_EXTRA, _FULL_SYNC, plug_in).splitlines()
    assert printed[0] == "[]"
    assert printed[1].endswith('pip install "accounts-sync[otel]"')


class _Span:
    def __init__(self, calls: list[tuple[Any, ...]], name: str) -> None:
        self.calls = calls
        self.name = name

    def set_attributes(self, attributes: Attributes) -> None:
        self.calls.append(("attributes", self.name, dict(attributes)))

    def add_event(self, name: str, attributes: Attributes) -> None:
        self.calls.append(("event", self.name, name))

    def set_error(self, error_type: str, message: str) -> None:
        self.calls.append(("error", self.name, error_type))


class ListRecorder:
    """A host's recorder that lists what it is told."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    @contextlib.contextmanager
    def span(
        self, name: str, attributes: Attributes, parent: SpanHandle | None = None
    ) -> Iterator[SpanHandle]:
        parent_name = parent.name if isinstance(parent, _Span) else None
        self.calls.append(("start", name, parent_name))
        yield _Span(self.calls, name)
        self.calls.append(("end", name))

    def measure(self, metric: Metric, value: float, attributes: Attributes) -> None:
        self.calls.append(("measure", metric.name, value))

    def capture_context(self) -> dict[str, str]:
        return {"trace": "from-the-request"}

    def attach_context(self, carrier: Mapping[str, str]) -> AbstractContextManager[object]:
        self.calls.append(("attach", dict(carrier)))
        return contextlib.nullcontext()


@pytest.fixture
def recorder() -> Iterator[ListRecorder]:
    recorder = ListRecorder()
    set_recorder(recorder)
    yield recorder
    set_recorder(None)


def test_a_hosts_recorder_gets_the_spans_the_context_and_the_metrics(
    recorder: ListRecorder,
) -> None:
    assert isinstance(recorder, Recorder)
    service = in_memory_service(make_instances(2))
    service.launch_background_full_sync(prepared=service.prepare_background_full_sync())

    starts = [call[1:] for call in recorder.calls if call[0] == "start"]
    assert starts[:4] == [
        (PREPARE_SPAN, None),
        (LAUNCH_SPAN, None),
        (JOB_SPAN, None),
        (RUN_SPAN, None),
    ]
    assert starts[4:] == [(INSTANCE_SPAN, RUN_SPAN)] * 2  # the run's span, handed explicitly
    assert ("attach", {"trace": "from-the-request"}) in recorder.calls
    assert ("measure", INSTANCE_SYNCS.name, 2) in recorder.calls


def test_set_recorder_none_goes_back_to_the_no_op() -> None:
    set_recorder(None)
    assert isinstance(get_recorder(), NoopRecorder)


def test_a_jobs_trace_context_changes_neither_its_payload_nor_its_identity() -> None:
    plain = FullSyncJob(session_id="s-1", created_by=3)
    traced = FullSyncJob(session_id="s-1", created_by=3, trace_context={"traceparent": "00-…"})
    assert (
        traced.as_dict()
        == plain.as_dict()
        == {
            "session_id": "s-1",
            "created_by": 3,
            "manual_run": True,
        }
    )
    assert traced == plain and hash(traced) == hash(plain)
    assert FullSyncJob.from_dict(traced.as_dict()).trace_context == {}
