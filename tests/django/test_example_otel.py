"""``examples/django_project`` turns on console telemetry with one setting."""

from __future__ import annotations

import pytest
from django.apps import apps

from accounts_sync.contrib.otel import OpenTelemetryRecorder
from accounts_sync.telemetry import get_recorder, set_recorder


def test_the_setting_turns_on_console_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    config = apps.get_app_config("inventory")
    config.ready()
    assert not isinstance(get_recorder(), OpenTelemetryRecorder)  # off by default

    monkeypatch.setenv("ACCOUNTS_SYNC_OTEL_CONSOLE", "1")
    config.ready()
    recorder = get_recorder()
    try:
        assert isinstance(recorder, OpenTelemetryRecorder)
    finally:
        set_recorder(None)
        if isinstance(recorder, OpenTelemetryRecorder):
            recorder.meter_provider.shutdown()
