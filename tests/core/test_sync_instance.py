"""sync_instance_accounts, step by step (docs: Concepts)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from accounts_sync import AccountsSyncActionResult, Messages, NotFoundError, ValidationError
from accounts_sync.testing import FakeInstance, ScriptedSyncService, in_memory_service
from accounts_sync.testing.strategies import raw_sync_results

from .support import WAIT, assert_log_contract, assert_secret_absent

Logs = Callable[[], list[logging.LogRecord]]
DELETED = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def one_instance(**kwargs: Any) -> FakeInstance:
    return FakeInstance(id=kwargs.pop("id", 1), name=kwargs.pop("name", "db-1"), **kwargs)


class HostError(Exception):
    """Something the host's sync service raises."""


@pytest.mark.parametrize("instance_id", ["1", 1.0, None, True, False, 0, -1, -100, [1], b"1"])
def test_invalid_instance_ids(instance_id: Any) -> None:
    sync = ScriptedSyncService()
    service = in_memory_service([one_instance()], sync_service=sync)
    with pytest.raises(ValidationError) as caught:
        service.sync_instance_accounts(instance_id=instance_id)
    assert caught.value.message == "实例 ID 无效"
    assert isinstance(caught.value, ValueError)
    assert caught.value.http_status == 400
    assert sync.calls == []


@pytest.mark.parametrize("instance_id", [2, 99])
def test_missing_instance_is_not_found(instance_id: int) -> None:
    sync = ScriptedSyncService()
    service = in_memory_service(
        [one_instance(), one_instance(id=2, name="gone", deleted_at=DELETED)], sync_service=sync
    )
    with pytest.raises(NotFoundError) as caught:
        service.sync_instance_accounts(instance_id=instance_id)
    assert caught.value.message == "实例不存在"
    assert isinstance(caught.value, LookupError)
    assert caught.value.http_status == 404
    assert sync.calls == []


def test_a_disabled_instance_can_be_synced_manually() -> None:
    instance = one_instance(is_active=False, sync_count=4)
    sync = ScriptedSyncService()
    service = in_memory_service([instance], sync_service=sync)

    outcome = service.sync_instance_accounts(instance_id=1, actor_id=8)

    assert outcome.success
    assert sync.called_ids() == [1]
    assert instance.sync_count == 5


def test_success_passes_the_instance_unchanged_and_normalizes(lib_logs: Logs) -> None:
    instance = one_instance(db_type="postgresql", host="10.0.0.5")
    seen: list[Any] = []

    def call(received: Any) -> dict[str, Any]:
        seen.append(received)
        return {"success": "yes", "synced_count": 12, "added_count": 2, "message": "同步 12 个账户"}

    sync = ScriptedSyncService().script(1, call=call)
    service = in_memory_service([instance], sync_service=sync)

    outcome = service.sync_instance_accounts(instance_id=1, actor_id=8)

    assert seen == [instance]
    assert seen[0] is instance
    assert [(c.sync_type, c.session_id, c.created_by) for c in sync.calls] == [
        ("manual_single", None, None),
    ]
    assert isinstance(outcome, AccountsSyncActionResult)
    assert outcome == AccountsSyncActionResult(
        True,
        "同步 12 个账户",
        {
            "success": True,
            "synced_count": 12,
            "added_count": 2,
            "message": "同步 12 个账户",
            "status": "completed",
        },
    )
    assert instance.sync_count == 1

    records = lib_logs()
    assert_log_contract(records)
    context = {
        "actor_id": 8,
        "instance_id": 1,
        "instance_name": "db-1",
        "db_type": "postgresql",
        "host": "10.0.0.5",
    }
    assert [(r.levelno, r.action, r.context) for r in records] == [
        (logging.INFO, "sync_instance_accounts", context),
        (logging.INFO, "sync_instance_accounts", context),
    ]
    assert records[1].synced_count == 12


def test_sync_type_is_passed_through() -> None:
    sync = ScriptedSyncService()
    service = in_memory_service([one_instance()], sync_service=sync)
    service.sync_instance_accounts(instance_id=1, sync_type="manual_batch")
    assert [c.sync_type for c in sync.calls] == ["manual_batch"]


def test_a_result_without_message_gets_the_instance_context() -> None:
    sync = ScriptedSyncService(default={"synced_count": 0})
    service = in_memory_service([one_instance(name="生产库")], sync_service=sync)
    assert service.sync_instance_accounts(instance_id=1).message == "实例 生产库 账户同步成功"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "实例 db-1 账户同步返回为空"),
        ({}, "实例 db-1 账户同步返回为空"),
        ([], "实例 db-1 账户同步返回格式无效"),
        ("ok", "实例 db-1 账户同步返回格式无效"),
        (42, "实例 db-1 账户同步返回格式无效"),
        ({"success": "false"}, "实例 db-1 账户同步失败"),
        ({"success": False, "message": "权限不足"}, "权限不足"),
    ],
)
def test_failed_results(raw: Any, message: str, lib_logs: Logs) -> None:
    instance = one_instance(sync_count=3)
    service = in_memory_service([instance], sync_service=ScriptedSyncService(default=raw))

    outcome = service.sync_instance_accounts(instance_id=1)

    assert outcome.success is False
    assert outcome.message == message
    assert outcome.result["status"] == "failed"
    assert outcome.result["success"] is False
    assert instance.sync_count == 3  # only a success counts
    errors = [r for r in lib_logs() if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].action == "sync_instance_accounts"
    assert errors[0].error_message == message
    assert_log_contract(lib_logs())


def test_host_exceptions_propagate_unchanged_after_an_error_log(lib_logs: Logs) -> None:
    error = HostError("connection to mysql://admin:hunter2@db refused")
    instance = one_instance(sync_count=2)
    service = in_memory_service(
        [instance], sync_service=ScriptedSyncService(default=None).script(1, raises=error)
    )

    with pytest.raises(HostError) as caught:
        service.sync_instance_accounts(instance_id=1, actor_id=3)

    assert caught.value is error
    assert instance.sync_count == 2
    errors = [r for r in lib_logs() if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].action == "sync_instance_accounts"
    assert errors[0].error_type == "HostError"
    assert errors[0].error_message == "connection to mysql://admin:***@db refused"
    assert errors[0].context["actor_id"] == 3
    assert_log_contract(lib_logs())


@pytest.mark.parametrize("start", [None, 0, 7])
def test_sync_count_increments_on_success_and_treats_none_as_zero(start: int | None) -> None:
    instance = one_instance(sync_count=start)
    service = in_memory_service([instance])
    service.sync_instance_accounts(instance_id=1)
    assert instance.sync_count == (start or 0) + 1
    service.sync_instance_accounts(instance_id=1)
    assert instance.sync_count == (start or 0) + 2


@pytest.mark.timeout(30)
def test_concurrent_syncs_lose_no_increment() -> None:
    instance = one_instance(sync_count=None)
    service = in_memory_service([instance])
    barrier = threading.Barrier(16)

    def sync_many() -> None:
        barrier.wait(WAIT)
        for _ in range(25):
            service.sync_instance_accounts(instance_id=1)

    threads = [threading.Thread(target=sync_many) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert instance.sync_count == 16 * 25


def test_returned_results_are_redacted_and_json_safe() -> None:
    secret = "hunter2"
    raw = {
        "success": True,
        "message": f"synced via mysql://root:{secret}@db:3306",
        "password": secret,
        "details": {"accounts": [{"user": "app", "Api_Key": secret}], "at": dt.date(2026, 1, 2)},
    }
    service = in_memory_service([one_instance()], sync_service=ScriptedSyncService(default=raw))

    outcome = service.sync_instance_accounts(instance_id=1)

    assert_secret_absent(outcome.message, secret)
    assert_secret_absent(outcome.result, secret)
    assert outcome.message == "synced via mysql://root:***@db:3306"
    assert outcome.result["password"] == "***"
    assert outcome.result["details"] == {
        "accounts": [{"user": "app", "Api_Key": "***"}],
        "at": "2026-01-02",
    }
    assert raw["password"] == secret  # the host's own object is untouched


def test_english_catalogue() -> None:
    english = Messages.english()
    service = in_memory_service(
        [one_instance()], messages=english, sync_service=ScriptedSyncService(default=None)
    )
    assert service.sync_instance_accounts(instance_id=1).message == (
        "Account sync of instance db-1 returned nothing"
    )
    with pytest.raises(ValidationError, match=r"^Invalid instance ID$"):
        service.sync_instance_accounts(instance_id=0)
    with pytest.raises(NotFoundError, match=r"^Instance not found$"):
        service.sync_instance_accounts(instance_id=5)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(raw_sync_results())
def test_whatever_the_host_returns_the_caller_gets_a_clean_result(raw: Any) -> None:
    instance = one_instance(sync_count=0)
    service = in_memory_service([instance], sync_service=ScriptedSyncService(default=raw))

    outcome = service.sync_instance_accounts(instance_id=1)

    assert isinstance(outcome.success, bool)
    assert outcome.result["success"] is outcome.success
    assert outcome.result["status"] == ("completed" if outcome.success else "failed")
    assert outcome.message == outcome.result["message"]
    assert outcome.message.strip()
    json.dumps(outcome.result, allow_nan=False)
    assert instance.sync_count == (1 if outcome.success else 0)
