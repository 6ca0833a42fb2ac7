"""Contract tests for your own stores: the suites and the state machine this project runs on
its own.

Subclass :class:`SessionRepositoryContract` and :class:`InstanceRepositoryContract` in a test
module, as ``Test…`` classes, and give them a factory fixture; run the state machine alone with
:func:`make_session_machine` or a :class:`SessionMachine` subclass. Needs ``pytest`` and
``hypothesis`` (the ``testing`` extra); see "Writing your own store" in the docs.
"""

from __future__ import annotations

from ._instances import InstanceRepositoryContract
from ._machine import SessionMachine, make_session_machine
from ._sessions import SessionRepositoryContract
from ._support import InstanceFactory, SessionFactory, SyncCountReader

__all__ = [
    "InstanceFactory",
    "InstanceRepositoryContract",
    "SessionFactory",
    "SessionMachine",
    "SessionRepositoryContract",
    "SyncCountReader",
    "make_session_machine",
]
