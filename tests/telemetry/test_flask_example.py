"""``examples/flask_app`` prints its spans with one setting: ``ACCOUNTS_SYNC_OTEL_CONSOLE=1``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from accounts_sync.contrib.otel import OpenTelemetryRecorder
from accounts_sync.telemetry import SINGLE_SPAN, get_recorder, set_recorder
from tests.flask.test_example_app import TOKEN, example_app

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def console(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ACCOUNTS_SYNC_OTEL_CONSOLE", "1")
    yield
    recorder = get_recorder()
    set_recorder(None)
    if isinstance(recorder, OpenTelemetryRecorder):
        recorder.meter_provider.shutdown()


def _spans(printed: str) -> list[dict[str, object]]:
    """The JSON objects the console exporter printed that are spans."""
    decoder, spans, index = json.JSONDecoder(), [], printed.find("{")
    while index >= 0:
        item, end = decoder.raw_decode(printed, index)
        if isinstance(item, dict) and "context" in item:
            spans.append(item)
        index = printed.find("{", end)
    return spans


def test_the_flask_example_prints_its_spans_with_one_setting(
    console: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example, app = example_app(tmp_path, SYNC_LATENCY=0.0)
    assert isinstance(get_recorder(), OpenTelemetryRecorder)

    response = app.test_client().post("/api/v1/instances/1/actions/sync-accounts", headers=TOKEN)

    assert response.status_code == 200
    (span,) = [span for span in _spans(capsys.readouterr().out) if span["name"] == SINGLE_SPAN]
    assert span["attributes"]["accounts_sync.outcome"] == "completed"  # type: ignore[index]
    with app.app_context():
        example.db.engine.dispose()
