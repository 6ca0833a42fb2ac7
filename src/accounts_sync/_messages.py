"""Every user-visible text of the library, in one replaceable catalogue."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import attrs

__all__ = ["LANGUAGES", "AdoptsMessages", "Messages", "check_language", "hand_messages"]

LANGUAGES = ("zh", "en")
"""The languages with a complete catalogue: Chinese (the default) and English."""


def check_language(language: str) -> bool:
    """True for English, False for Chinese; ``ValueError`` for any other code."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    return language == "en"


@attrs.frozen(kw_only=True)
class Messages:
    """User-visible texts: error messages, result messages, contexts and log events.

    ``Messages()`` is the Chinese default; ``Messages.english()`` replaces every text;
    ``Messages.for_language("en")`` picks one by code. Override single texts with
    ``attrs.evolve(Messages(), no_active_instances="...")``. Templates use ``{context}``
    (result texts) and ``{name}`` (``instance_context``). ``language`` names the catalogue's
    language, so parts with their own catalogue (the ledger's) can speak the same one.
    """

    language: str = "zh"

    # Errors raised to callers.
    no_active_instances: str = "没有找到活跃的数据库实例"
    instance_not_found: str = "实例不存在"
    invalid_instance_id: str = "实例 ID 无效"
    full_sync_already_running: str = "已有账户同步任务正在运行"
    session_not_found: str = "指定的 session_id 不存在"
    # Normalized results; ``{context}`` is e.g. ``实例 db-1 账户同步``.
    instance_context: str = "实例 {name} 账户同步"
    result_empty: str = "{context}返回为空"
    result_invalid: str = "{context}返回格式无效"
    result_success: str = "{context}成功"
    result_failure: str = "{context}失败"
    instance_timeout: str = "{context}超时"
    session_interrupted: str = "同步会话已中断"
    cancel_grace_expired: str = "{context}在取消后未按时结束"
    no_worker_left: str = "{context}未执行: 卡住的线程已达上限"
    too_many_stuck_calls: str = "{context}未执行: 超时仍未结束的同步过多,请稍后重试"
    # Messages for HTTP callers.
    background_launched: str = "批量账户同步任务已在后台启动,请稍后在会话中心查看进度."
    internal_error: str = "服务器内部错误,请稍后重试"
    method_not_allowed: str = "不支持该请求方法"
    invalid_query_parameter: str = "查询参数 {name} 无效"
    session_cancelled: str = "会话已取消"
    session_not_cancellable: str = "取消会话失败,会话不存在或已结束"
    authentication_required: str = "请先登录"
    permission_required: str = "没有执行该操作的权限"
    # The session centre page (contrib: Flask blueprint, Django URL patterns).
    centre_title: str = "同步会话中心"
    centre_sessions: str = "最近的同步会话"
    centre_session: str = "同步会话"
    centre_start: str = "开始全量同步"
    centre_cancel: str = "取消会话"
    centre_running_link: str = "查看正在运行的会话"
    centre_back: str = "返回会话列表"
    centre_status: str = "状态"
    centre_category: str = "类别"
    centre_progress: str = "进度"
    centre_total: str = "实例总数"
    centre_succeeded: str = "成功"
    centre_failed: str = "失败"
    centre_cancelled: str = "已取消"
    centre_created_by: str = "发起人"
    centre_created_at: str = "开始于"
    centre_duration: str = "耗时"
    centre_instance: str = "实例"
    centre_message: str = "消息"
    centre_synced: str = "同步账户数"
    centre_records: str = "实例记录"
    centre_all_records: str = "全部记录"
    centre_failed_records: str = "仅失败记录"
    centre_no_sessions: str = "暂无同步会话"
    centre_no_records: str = "没有记录"
    centre_next_page: str = "下一页"
    centre_anonymous: str = "系统"
    centre_seconds: str = "{seconds} 秒"
    centre_live: str = "页面每隔几秒自动更新"
    centre_status_pending: str = "等待中"
    centre_status_running: str = "运行中"
    centre_status_completed: str = "已完成"
    centre_status_completed_with_errors: str = "部分失败"
    centre_status_failed: str = "失败"
    centre_status_cancelled: str = "已取消"
    # Log events.
    background_failed: str = "后台批量账户同步失败"
    background_launch_failed: str = "后台批量账户同步启动失败"
    session_not_marked_failed: str = "无法将同步会话标记为失败"
    final_write_retried: str = "写入同步会话结果失败, 重试"
    session_settled: str = "已结束记录全部完成的同步会话"
    instance_sync_started: str = "开始同步实例账户"
    instance_sync_succeeded: str = "实例账户同步成功"
    instance_sync_failed: str = "实例账户同步失败"
    instance_sync_error: str = "实例账户同步异常"
    full_sync_prepared: str = "已创建账户同步会话"
    full_sync_started: str = "开始同步账户信息"
    full_sync_finished: str = "账户同步任务完成"
    full_sync_skipped: str = "同步会话不是待处理状态, 跳过"
    full_sync_aborted: str = "账户同步任务失败"
    full_sync_no_instances: str = "没有找到启用的数据库实例"
    sessions_reaped: str = "已回收中断的同步会话"

    def context_for(self, name: str) -> str:
        """The normalization context of one instance, e.g. ``实例 db-1 账户同步``."""
        return self.instance_context.format(name=name)

    @classmethod
    def for_language(cls, language: str) -> Messages:
        """The complete catalogue of ``language`` (``"zh"`` or ``"en"``)."""
        return cls.english() if check_language(language) else cls()

    @classmethod
    def english(cls) -> Messages:
        """A complete English catalogue."""
        return cls(
            language="en",
            no_active_instances="No active database instances found",
            instance_not_found="Instance not found",
            invalid_instance_id="Invalid instance ID",
            full_sync_already_running="An account sync is already running",
            session_not_found="The given session_id does not exist",
            instance_context="Account sync of instance {name}",
            result_empty="{context} returned nothing",
            result_invalid="{context} returned an invalid result",
            result_success="{context} succeeded",
            result_failure="{context} failed",
            instance_timeout="{context} timed out",
            session_interrupted="Sync session interrupted",
            cancel_grace_expired="{context} did not stop within the cancel grace period",
            no_worker_left="{context} not run: too many stuck threads",
            too_many_stuck_calls="{context} not run: too many timed-out syncs are still running, "
            "try again later",
            background_launched=(
                "The account sync has started in the background; follow its progress in the "
                "session centre."
            ),
            internal_error="Internal server error, please retry later",
            method_not_allowed="Method not allowed",
            invalid_query_parameter="Invalid query parameter {name}",
            session_cancelled="Session cancelled",
            session_not_cancellable="Cannot cancel: the session does not exist or has finished",
            authentication_required="Please log in",
            permission_required="You are not allowed to do this",
            centre_title="Session centre",
            centre_sessions="Recent sync sessions",
            centre_session="Sync session",
            centre_start="Start full sync",
            centre_cancel="Cancel session",
            centre_running_link="Open the running session",
            centre_back="Back to the sessions",
            centre_status="Status",
            centre_category="Category",
            centre_progress="Progress",
            centre_total="Instances",
            centre_succeeded="Succeeded",
            centre_failed="Failed",
            centre_cancelled="Cancelled",
            centre_created_by="Started by",
            centre_created_at="Started at",
            centre_duration="Duration",
            centre_instance="Instance",
            centre_message="Message",
            centre_synced="Accounts synced",
            centre_records="Instance records",
            centre_all_records="All records",
            centre_failed_records="Failed records only",
            centre_no_sessions="No sync sessions yet",
            centre_no_records="No records",
            centre_next_page="Next page",
            centre_anonymous="system",
            centre_seconds="{seconds} s",
            centre_live="This page updates itself every few seconds",
            centre_status_pending="pending",
            centre_status_running="running",
            centre_status_completed="completed",
            centre_status_completed_with_errors="completed with errors",
            centre_status_failed="failed",
            centre_status_cancelled="cancelled",
            background_failed="Background account sync failed",
            background_launch_failed="Background account sync could not be launched",
            session_not_marked_failed="Could not mark the sync session failed",
            final_write_retried="Could not write the sync session's result, retrying",
            session_settled="Sync session whose records were all done finished",
            instance_sync_started="Instance account sync started",
            instance_sync_succeeded="Instance account sync succeeded",
            instance_sync_failed="Instance account sync failed",
            instance_sync_error="Instance account sync raised an error",
            full_sync_prepared="Account sync session prepared",
            full_sync_started="Account sync started",
            full_sync_finished="Account sync finished",
            full_sync_skipped="Sync session is not pending, skipping",
            full_sync_aborted="Account sync task failed",
            full_sync_no_instances="No enabled database instances found",
            sessions_reaped="Interrupted sync sessions reaped",
        )


@runtime_checkable
class AdoptsMessages(Protocol):
    """A part that speaks the language of the service it is handed to, unless given its own."""

    def adopt_messages(self, messages: Messages) -> None:
        """Use ``messages`` (or its language) where no catalogue was chosen for this part."""


def hand_messages(part: object, messages: Messages) -> None:
    """Let ``part`` adopt ``messages`` if it can: the one language switch reaches it."""
    if isinstance(part, AdoptsMessages):
        part.adopt_messages(messages)
