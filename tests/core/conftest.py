"""Fixtures of the core suite: a manual clock and the library's log records."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from accounts_sync.testing import ManualClock

from .support import LIBRARY_LOGGER, library_records


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def lib_logs(caplog: pytest.LogCaptureFixture) -> Callable[[], list[logging.LogRecord]]:
    """Capture everything the ``accounts_sync`` tree logs; call the fixture to read the records."""
    caplog.set_level(logging.DEBUG, logger=LIBRARY_LOGGER)
    return lambda: library_records(caplog.records)
