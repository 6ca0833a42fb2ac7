"""The CLI's own texts in both languages (the ledger commands' are in ``_ledger_texts``).

A run picks one catalogue with the library's ``Messages`` and ``LedgerMessages`` of the same
language, so no screen mixes languages. Enum values (``completed_with_errors``) and the
``error:`` marker are identifiers, the same in both.
"""

from __future__ import annotations

import attrs

from .._messages import Messages
from ..ledger import LedgerMessages
from ._ledger_texts import LedgerCliTexts

__all__ = ["CliTexts", "Speech"]


@attrs.frozen(kw_only=True)
class CliTexts:
    """Labels and lines of ``demo``, ``sessions``, ``reap`` and the progress display."""

    launched: str = "session {session_id}: {instances} instances, {workers} workers"
    database: str = ", database {url}"
    progress: str = "ok={ok} failed={failed} cancelled={cancelled} {status}"
    session: str = "session"
    type: str = "type"
    status: str = "status"
    percent: str = "progress"
    total: str = "total"
    successful: str = "successful"
    failed: str = "failed"
    cancelled: str = "cancelled"
    created: str = "created"
    duration: str = "duration"
    check: str = "check"
    error: str = "error"
    adds_up: str = " (adds up)"
    mismatch: str = " (MISMATCH)"
    of: str = "of"
    failed_instances: str = "failed instances ({count}):"
    more_records: str = "more records: run it again with --after {after}"
    list_header: tuple[str, ...] = (
        "SESSION",
        "TYPE",
        "STATUS",
        "PROGRESS",
        "OK",
        "FAILED",
        "CANC",
        "TOTAL",
        "CREATED",
    )
    no_sessions: str = "no sessions"
    reaped: str = "reaped {session_id}"
    reaped_count: str = "{count} stale session(s) reaped"
    interrupted: str = "interrupted (Ctrl-C)"
    conflict: str = "{error} (session {session_id}); if its worker died, run `accounts-sync reap`"
    instance: str = "instance {id} ({name})"
    sync_failed: str = "{instance}: sync failed: {message}"
    force_hint: str = "if the accounts were really removed: accounts-sync sync {id} --force"
    server: str = "server"
    counters: tuple[str, str, str, str] = ("synced", "added", "modified", "removed")
    records_header: tuple[str, ...] = (
        "ID",
        "INSTANCE",
        "STATUS",
        "SYNCED",
        "ADDED",
        "MODIFIED",
        "REMOVED",
    )
    totals: str = "accounts"
    demo_unreachable: str = "could not connect to {host}: {dsn}"
    demo_refused: str = "permission denied for {name}"
    demo_synced: str = "synced {accounts} accounts, {added} added"

    @classmethod
    def chinese(cls) -> CliTexts:
        """The Chinese catalogue."""
        return cls(
            launched="会话 {session_id}: {instances} 个实例, {workers} 个工作线程",
            database=", 数据库 {url}",
            progress="成功={ok} 失败={failed} 已取消={cancelled} {status}",
            session="会话",
            type="类型",
            status="状态",
            percent="进度",
            total="总数",
            successful="成功",
            failed="失败",
            cancelled="已取消",
            created="创建时间",
            duration="耗时",
            check="核对",
            error="错误",
            adds_up=" (一致)",
            mismatch=" (不一致)",
            of="/",
            failed_instances="失败的实例 ({count}):",
            more_records="还有更多记录: 加上 --after {after} 再运行一次",
            list_header=(
                "会话",
                "类型",
                "状态",
                "进度",
                "成功",
                "失败",
                "取消",
                "总数",
                "创建时间",
            ),
            no_sessions="没有同步会话",
            reaped="已回收 {session_id}",
            reaped_count="已回收 {count} 个中断的会话",
            interrupted="已中断 (Ctrl-C)",
            conflict=(
                "{error} (会话 {session_id}); 如果其工作进程已退出, 请运行 `accounts-sync reap`"
            ),
            instance="实例 {id} ({name})",
            sync_failed="{instance}: 同步失败: {message}",
            force_hint="如果这些账户确实已被移除: accounts-sync sync {id} --force",
            server="服务器",
            counters=("同步", "新增", "更新", "移除"),
            records_header=("ID", "实例", "状态", "同步", "新增", "更新", "移除"),
            totals="账户",
            demo_unreachable="无法连接 {host}: {dsn}",
            demo_refused="权限不足: {name}",
            demo_synced="同步 {accounts} 个账户、新增 {added} 个",
        )


@attrs.frozen
class Speech:
    """Every catalogue of one run, all in ``language``."""

    language: str

    @property
    def texts(self) -> CliTexts:
        return CliTexts.chinese() if self.language == "zh" else CliTexts()

    @property
    def ledger_texts(self) -> LedgerCliTexts:
        """The texts of ``instances``, ``accounts``, ``changes``, ``plan`` and ``collect``."""
        return LedgerCliTexts.chinese() if self.language == "zh" else LedgerCliTexts()

    @property
    def messages(self) -> Messages:
        return Messages.for_language(self.language)

    @property
    def ledger(self) -> LedgerMessages:
        return LedgerMessages.for_language(self.language)
