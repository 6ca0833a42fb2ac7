"""One language switch: what a service is built with reaches every part handed to it."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from accounts_sync import AccountsSyncActionsService, FullSyncTask, Messages
from accounts_sync.contrib.http import ROUTES, Action, HttpDispatch
from accounts_sync.memory import InMemoryInstanceRepository, InMemorySyncSessionRepository
from accounts_sync.testing import InlineLauncher, ScriptedSyncService, make_instances

ENGLISH = Messages.english()


def _service(task_messages: Messages | None, service_messages: Messages | None) -> Any:
    instances = InMemoryInstanceRepository(make_instances(2))
    sessions = InMemorySyncSessionRepository()
    sync_service = ScriptedSyncService().script(1, result={"success": False})
    task = FullSyncTask(
        instances=instances, sessions=sessions, sync_service=sync_service, messages=task_messages
    )
    return AccountsSyncActionsService(
        sync_service=sync_service,
        instances=instances,
        sessions=sessions,
        sync_task=task,
        launcher=InlineLauncher(),
        messages=service_messages,
    )


def _failed_message(service: Any) -> str:
    prepared = service.prepare_background_full_sync()
    service.launch_background_full_sync(prepared=prepared)
    records = service.sessions.list_records(prepared.session_id)
    return str(next(r.error_message for r in records if r.instance_id == 1))


def test_a_task_without_messages_speaks_its_services_language() -> None:
    service = _service(None, ENGLISH)
    assert service.sync_task.messages is ENGLISH
    assert service.sync_task.chosen_messages is None
    assert _failed_message(service) == "Account sync of instance db-0001 failed"


def test_a_task_with_its_own_messages_keeps_them() -> None:
    service = _service(Messages(), ENGLISH)
    assert _failed_message(service) == "实例 db-0001 账户同步失败"


def test_the_default_stays_chinese() -> None:
    service = _service(None, None)
    assert _failed_message(service) == "实例 db-0001 账户同步失败"
    assert (
        FullSyncTask(
            instances=InMemoryInstanceRepository(),
            sessions=InMemorySyncSessionRepository(),
            sync_service=ScriptedSyncService(),
        ).messages
        == Messages()
    )


@pytest.mark.parametrize("language", ["zh", "en"])
def test_for_language_picks_a_complete_catalogue(language: str) -> None:
    messages = Messages.for_language(language)
    assert messages.language == language
    assert messages == (ENGLISH if language == "en" else Messages())


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="zh, en"):
        Messages.for_language("fr")


def test_the_english_catalogue_has_no_chinese_text() -> None:
    for value in attrs.asdict(ENGLISH).values():
        assert not any("\u4e00" <= char <= "\u9fff" for char in value), value


def test_a_failing_service_factory_answers_in_the_last_services_language() -> None:
    service = _service(None, ENGLISH)
    answers: list[Any] = [service, RuntimeError("factory down")]

    def factory() -> Any:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    dispatch = HttpDispatch(factory, authorize=lambda request, action: 1, refusal=lambda _: None)
    view = next(route for route in ROUTES if route.action == Action.VIEW_SESSION)
    first = dispatch.handle(view, None, {"session_id": "missing"}, lambda s: None)  # type: ignore[arg-type,return-value]
    assert first.status in (400, 404) and "session" in first.body["message"].lower()
    failed = dispatch.handle(view, None, {"session_id": "missing"}, lambda s: None)  # type: ignore[arg-type,return-value]
    assert failed.status == 500
    assert failed.body["message"] == ENGLISH.internal_error


def test_a_fixed_services_factory_failure_cannot_happen_but_its_language_is_known() -> None:
    service = _service(None, ENGLISH)
    dispatch = HttpDispatch(service, authorize=lambda request, action: 1, refusal=lambda _: None)
    assert dispatch.messages is ENGLISH
