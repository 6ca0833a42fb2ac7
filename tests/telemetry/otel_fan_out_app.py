"""The fan-out worker app of ``tests/celery`` with OpenTelemetry on: its spans go to a
JSON-lines file. ``test_fan_out_trace.py`` starts it in real worker processes."""

from __future__ import annotations

from tests.celery.fan_out_app import WORKDIR, app, full_sync
from tests.telemetry.span_file import instrument_to_file

__all__ = ["SPANS", "app", "full_sync"]

SPANS = WORKDIR / "spans.jsonl"

instrument_to_file(SPANS)
