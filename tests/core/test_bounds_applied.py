"""The bounds applied: the single-instance action returns and logs fitted values, once."""

from __future__ import annotations

import json
import logging
import tracemalloc
from collections.abc import Callable

import pytest

from accounts_sync._bounds import DETAILS_BYTES, MESSAGE_LIMIT
from accounts_sync.testing import FakeInstance, ScriptedSyncService, in_memory_service

Logs = Callable[[], list[logging.LogRecord]]
HUGE = 100 * 1024 * 1024  # characters


@pytest.mark.parametrize("success", [True, False])
def test_a_100_mb_message_is_cut_once_before_logging_or_returning(
    success: bool, lib_logs: Logs
) -> None:
    message = "password=s3cr3t " + "x" * HUGE
    sync = ScriptedSyncService()
    sync.script(1, result={"success": success, "message": message, "rows": [message] * 3})
    service = in_memory_service([FakeInstance(id=1, name="db-1")], sync_service=sync)

    tracemalloc.start()
    try:
        outcome = service.sync_instance_accounts(instance_id=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # A copy of the message would be 100 MB; everything kept is a few windows of 16 KiB.
    assert peak < 20 * 1024 * 1024
    assert outcome.success is success
    assert len(outcome.message) == MESSAGE_LIMIT
    assert outcome.message.startswith("password=***")
    assert outcome.result["message"] == outcome.message
    assert len(json.dumps(outcome.result)) <= DETAILS_BYTES
    for record in lib_logs():
        assert len(record.getMessage()) + len(repr(record.__dict__)) < 4 * DETAILS_BYTES
        assert "s3cr3t" not in repr(record.__dict__)


def test_hostile_values_come_back_clean_and_within_bounds() -> None:
    loop: dict[str, object] = {}
    loop["self"] = loop
    sync = ScriptedSyncService()
    sync.script(
        1,
        result={"message": "a\x00b\ud800", "loop": loop, "synced_count": 2**40, 7: b"\x00"},
    )
    service = in_memory_service([FakeInstance(id=1, name="db-1")], sync_service=sync)

    outcome = service.sync_instance_accounts(instance_id=1)

    assert outcome.message == "a\ufffdb\ufffd"
    assert outcome.result["loop"] == {"self": "[recursive reference]"}
    assert outcome.result["7"] == "\ufffd"
    json.dumps(outcome.result).encode("utf-8")
