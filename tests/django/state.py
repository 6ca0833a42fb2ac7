"""The swappable service and authorize hook behind the test URLconf."""

from __future__ import annotations

from typing import Any

from accounts_sync import AccountsSyncActionsService
from accounts_sync.contrib.django import permission_authorize


class State:
    """``service()`` is the URLconf's service factory; ``authorize`` delegates to ``hook``."""

    def __init__(self) -> None:
        self.current: AccountsSyncActionsService[Any] | None = None
        self.hook: Any = permission_authorize()
        self.notes: list[str] = []

    def service(self) -> AccountsSyncActionsService[Any]:
        assert self.current is not None, "the test did not install a service"
        return self.current

    def authorize(self, request: Any, action: str) -> int | None:
        result: int | None = self.hook(request, action)
        return result

    def reset(self) -> None:
        self.current = None
        self.hook = permission_authorize()
        self.notes = []


STATE = State()
