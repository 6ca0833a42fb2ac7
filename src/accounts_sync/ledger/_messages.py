"""User-visible texts of the ledger sync, in one replaceable catalogue."""

from __future__ import annotations

import attrs

from .._messages import check_language

__all__ = ["LedgerMessages"]


@attrs.frozen(kw_only=True)
class LedgerMessages:
    """Result messages and log events of ``LedgerSyncService``.

    ``LedgerMessages()`` is the Chinese default, ``LedgerMessages.english()`` replaces every
    text, ``LedgerMessages.for_language(Messages.language)`` picks the one matching a service's
    catalogue. ``{error}`` is a redacted one-line description of the failure.
    """

    language: str = "zh"

    synced: str = "同步 {count} 个账户"
    added: str = "新增 {count} 个"
    modified: str = "更新 {count} 个"
    removed: str = "移除 {count} 个"
    separator: str = "、"
    unsupported_db_type: str = "不支持的数据库类型: {db_type}"
    connection_failed: str = "连接数据库失败: {error}"
    collection_failed: str = "采集账户失败: {error}"
    collection_incomplete: str = "账户采集不完整, 台账未修改"
    removal_guard: str = (
        "本次同步将移除 {removed}/{active} 个活跃账户, 超过上限 {ratio:.0%}, 台账未修改; "
        "确认无误后请强制同步"
    )
    ledger_failed: str = "写入账户台账失败: {error}"
    sync_finished: str = "账户台账同步完成"
    sync_refused: str = "账户台账同步被拒绝"
    sync_failed: str = "账户台账同步失败"

    def summary(self, *, synced: int, added: int, modified: int, removed: int) -> str:
        """``同步 12 个账户、新增 2 个、更新 1 个、移除 1 个`` (zero counts left out)."""
        parts = [self.synced.format(count=synced)]
        for template, count in (
            (self.added, added),
            (self.modified, modified),
            (self.removed, removed),
        ):
            if count:
                parts.append(template.format(count=count))
        return self.separator.join(parts)

    @classmethod
    def for_language(cls, language: str) -> LedgerMessages:
        """The complete catalogue of ``language`` (``"zh"`` or ``"en"``)."""
        return cls.english() if check_language(language) else cls()

    @classmethod
    def english(cls) -> LedgerMessages:
        """A complete English catalogue."""
        return cls(
            language="en",
            synced="Synced {count} accounts",
            added="{count} added",
            modified="{count} modified",
            removed="{count} removed",
            separator=", ",
            unsupported_db_type="Unsupported database type: {db_type}",
            connection_failed="Could not connect to the database: {error}",
            collection_failed="Could not collect the accounts: {error}",
            collection_incomplete="The collection was incomplete; the ledger was not changed",
            removal_guard=(
                "This sync would remove {removed} of {active} active accounts, more than "
                "{ratio:.0%}; the ledger was not changed. Force the sync if this is intended"
            ),
            ledger_failed="Could not write the account ledger: {error}",
            sync_finished="Account ledger synced",
            sync_refused="Account ledger sync refused",
            sync_failed="Account ledger sync failed",
        )
