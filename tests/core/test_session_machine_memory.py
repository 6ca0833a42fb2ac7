"""The session state machine (tests/core/session_machine.py) on the in-memory store."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from accounts_sync.memory import InMemorySyncSessionRepository

from .session_machine import make_session_machine

MemorySessionMachine = make_session_machine(
    lambda clock: InMemorySyncSessionRepository(clock=clock)
)

TestMemorySessionMachine = MemorySessionMachine.TestCase
TestMemorySessionMachine.settings = settings(
    max_examples=300,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
