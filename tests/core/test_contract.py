"""The public surface (enumerations, the service, errors, messages) that the flows above rely on."""

from __future__ import annotations

import attrs
import pytest

from accounts_sync import (
    AccountsSyncActionResult,
    AccountsSyncActionsService,
    AccountsSyncBackgroundLaunchResult,
    AccountsSyncBackgroundPreparedSession,
    AccountsSyncError,
    ConflictError,
    FullSyncTask,
    Messages,
    NotFoundError,
    RecordStatus,
    SessionStatus,
    SyncCategory,
    SyncSessionInfo,
    SyncType,
    ThreadLauncher,
    ValidationError,
)
from accounts_sync.memory import InMemoryInstanceRepository, InMemorySyncSessionRepository
from accounts_sync.testing import ScriptedSyncService, in_memory_service, make_instances


@pytest.mark.parametrize(
    ("enum", "values"),
    [
        (SyncType, ["manual_single", "manual_batch", "manual_task", "scheduled_task"]),
        (SyncCategory, ["account", "capacity", "config", "aggregation", "other"]),
        (
            SessionStatus,
            ["pending", "running", "completed", "completed_with_errors", "failed", "cancelled"],
        ),
        (RecordStatus, ["pending", "running", "completed", "failed", "cancelled"]),
    ],
)
def test_enums_are_str_enums_equal_to_their_values(enum: type, values: list[str]) -> None:
    assert [member.value for member in enum] == values
    for member, value in zip(enum, values, strict=True):
        assert isinstance(member, str)
        assert member == value
        assert enum(value) is member
        assert member.name == value.upper()


@pytest.mark.parametrize(
    ("cls", "bases", "status"),
    [
        (ValidationError, (AccountsSyncError, ValueError), 400),
        (NotFoundError, (AccountsSyncError, LookupError), 404),
        (ConflictError, (AccountsSyncError,), 409),
    ],
)
def test_errors(cls: type[AccountsSyncError], bases: tuple[type, ...], status: int) -> None:
    extra = {"session_id": "s"}
    error = cls("消息", extra=extra)
    assert all(isinstance(error, base) for base in bases)
    assert cls.http_status == status
    assert (error.message, str(error), error.extra) == ("消息", "消息", {"session_id": "s"})
    extra["session_id"] = "changed"
    assert error.extra == {"session_id": "s"}
    assert cls("m").extra == {}
    assert issubclass(AccountsSyncError, Exception)


def test_default_texts() -> None:
    texts = Messages()
    assert texts.no_active_instances == "没有找到活跃的数据库实例"
    assert texts.instance_not_found == "实例不存在"
    assert texts.invalid_instance_id == "实例 ID 无效"
    assert texts.full_sync_already_running == "已有账户同步任务正在运行"
    assert texts.session_not_found == "指定的 session_id 不存在"
    assert texts.context_for("db-1") == "实例 db-1 账户同步"
    assert [
        template.format(context="C")
        for template in (
            texts.result_empty,
            texts.result_invalid,
            texts.result_success,
            texts.result_failure,
            texts.instance_timeout,
        )
    ] == ["C返回为空", "C返回格式无效", "C成功", "C失败", "C超时"]
    assert texts.session_interrupted == "同步会话已中断"
    assert texts.background_failed == "后台批量账户同步失败"
    assert texts.background_launched == "批量账户同步任务已在后台启动,请稍后在会话中心查看进度."


def test_service_defaults() -> None:
    instances = InMemoryInstanceRepository(make_instances(1))
    sessions = InMemorySyncSessionRepository()
    sync = ScriptedSyncService()
    service = AccountsSyncActionsService(sync_service=sync, instances=instances, sessions=sessions)
    assert isinstance(service.launcher, ThreadLauncher)
    assert service.messages == Messages()
    assert service.allow_concurrent_full_sync is False
    task = service.sync_task
    assert isinstance(task, FullSyncTask)
    assert (task.instances, task.sessions, task.sync_service) == (instances, sessions, sync)


def test_arguments_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        AccountsSyncActionsService(  # type: ignore[misc]
            ScriptedSyncService(), InMemoryInstanceRepository(), InMemorySyncSessionRepository()
        )
    service = in_memory_service(make_instances(1))
    with pytest.raises(TypeError):
        service.sync_instance_accounts(1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        service.prepare_background_full_sync(1)  # type: ignore[misc]
    prepared = service.prepare_background_full_sync()
    with pytest.raises(TypeError):
        service.launch_background_full_sync(None, prepared)  # type: ignore[misc]
    with pytest.raises(TypeError):
        service.sync_task(True)  # type: ignore[misc]


def test_result_types_are_frozen() -> None:
    for value in (
        AccountsSyncBackgroundPreparedSession("s", 1),
        AccountsSyncBackgroundLaunchResult("s", 1, "t"),
        AccountsSyncActionResult(True, "m", {}),
    ):
        field = attrs.fields(type(value))[0].name
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            setattr(value, field, "x")


@pytest.mark.parametrize(
    ("total", "done", "progress"), [(0, 0, 0.0), (4, 1, 25.0), (3, 3, 100.0), (3, 1, 33.33)]
)
def test_progress(total: int, done: int, progress: float) -> None:
    info = SyncSessionInfo(
        session_id="s",
        sync_type=SyncType.MANUAL_TASK,
        sync_category=SyncCategory.ACCOUNT,
        status=SessionStatus.RUNNING,
        total_instances=total,
        successful_instances=done,
    )
    assert info.progress == pytest.approx(progress, abs=0.01)
