"""The store example of "Writing your own store" (docs/stores.md) passes the contract kit."""

from __future__ import annotations

import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_store"
if str(EXAMPLE) not in sys.path:
    sys.path.insert(0, str(EXAMPLE))

# The example's own test module, run as the docs tell a store author to run it.
from test_dict_store import TestAuditedSessions, TestDictInstances  # noqa: E402

__all__ = ["TestAuditedSessions", "TestDictInstances"]
