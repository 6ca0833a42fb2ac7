"""The worker app of ``tests/celery`` with OpenTelemetry on: its spans go to a JSON-lines file.

``test_celery_trace.py`` starts it in a real worker process and reads the file back.
"""

from __future__ import annotations

from tests.celery.worker_app import WORKDIR, app, full_sync
from tests.telemetry.span_file import instrument_to_file

__all__ = ["SPANS", "app", "full_sync"]

SPANS = WORKDIR / "spans.jsonl"

instrument_to_file(SPANS)
