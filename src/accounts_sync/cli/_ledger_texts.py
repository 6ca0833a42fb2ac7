"""The CLI's texts for ``instances``, ``accounts``, ``changes``, ``plan`` and ``collect``.

Beside ``CliTexts`` and chosen with it: one language per run. Counted nouns are pairs (one,
many), each a template with ``{count}``. Enum values, privilege and scope names, account keys
and object names are identifiers and are never translated.
"""

from __future__ import annotations

import attrs

__all__ = ["LedgerCliTexts", "counted"]


def counted(count: int, forms: tuple[str, str]) -> str:
    """``forms[0]`` for one, ``forms[1]`` otherwise, with ``{count}`` filled in."""
    return forms[0 if count == 1 else 1].format(count=count)


@attrs.frozen(kw_only=True)
class LedgerCliTexts:
    """Labels and lines of the ledger commands and of the diff summaries."""

    # -- common
    yes: str = "yes"
    no: str = "no"
    accounts: tuple[str, str] = ("{count} account", "{count} accounts")
    privileges: tuple[str, str] = ("{count} privilege", "{count} privileges")
    # -- instances
    instances_header: tuple[str, ...] = (
        "ID",
        "NAME",
        "TYPE",
        "HOST",
        "ACTIVE",
        "SYNCS",
        "DSN FROM",
    )
    no_instances: str = "no instances (add one with `accounts-sync instances add`)"
    dsn_hint: str = "set its DSN before syncing in the variable {variable}, for example {example}"
    enabled: str = "{instance} enabled"
    disabled: str = "{instance} disabled"
    empty_name: str = "NAME and --host must not be empty"
    numeric_name: str = "an instance name must not be a number (it would read as an id)"
    name_taken: str = "an instance named {name} already exists (id {id})"
    variable_taken: str = "{instance} already uses the variable {variable}: choose another name"
    # -- accounts list
    accounts_header: tuple[str, ...] = ("KEY", "KIND", "SUPERUSER", "LOCKED", "PRIVILEGES")
    removed_header: tuple[str, ...] = ("STATUS", "REMOVED AT")
    active: str = "active"
    removed: str = "removed"
    active_accounts: tuple[str, str] = ("{count} active account", "{count} active accounts")
    removed_count: str = ", {count} removed"
    no_accounts: str = "no accounts in the ledger of {instance} (run `accounts-sync sync {id}`)"
    # -- changes
    changes_header: tuple[str, ...] = ("TIME (UTC)", "TYPE", "KEY", "CHANGE")
    no_changes: str = "no changes recorded for {instance}"
    limit_min: str = "--limit must be >= 1"
    # -- plan
    plan_summary: str = (
        "{instance}, {db_type} {version}: {accounts} on the server, {active} active in the ledger"
    )
    up_to_date: str = "up to date: a sync would change nothing"
    plan_header: tuple[str, ...] = ("CHANGE", "KEY", "WHAT")
    plan_totals: str = "a sync would add {added}, modify {modified}, remove {removed}"
    public_changed: str = " and change PUBLIC"
    plan_note: str = (
        "note: that removes more than {ratio} of the active accounts; "
        "`accounts-sync sync {id}` refuses it without --force"
    )
    # -- collect
    snapshot_line: str = "{db_type} {version}{where}: {accounts}"
    snapshot_databases: str = " (database {names})"
    snapshot_header: tuple[str, ...] = (
        "KEY",
        "KIND",
        "SUPERUSER",
        "LOCKED",
        "PRIVILEGES",
        "MEMBER OF",
    )
    public_holds: str = "PUBLIC holds {privileges}"
    not_a_server_url: str = "URL must be a PostgreSQL or MySQL/MariaDB URL, not {backend}"
    no_driver: str = "no installed driver for {driver}"
    cannot_collect: str = "cannot collect {url}: {error}"
    incomplete: str = "the collection was incomplete"
    # -- diffs
    privilege_on: str = "{privilege} on {scope} {target}"
    grant_option: str = " with grant option"
    superuser: str = "superuser"
    locked: str = "locked"
    member_of: str = "member of {roles}"
    admin: str = " (admin)"
    builtin_default: str = " (built-in default)"
    implied_by_ownership: str = " (implied by ownership)"
    field_change: str = "{name}: {before} -> {after}"
    no_difference: str = "no difference"

    @classmethod
    def chinese(cls) -> LedgerCliTexts:
        """The Chinese catalogue."""
        return cls(
            yes="是",
            no="否",
            accounts=("{count} 个账户", "{count} 个账户"),
            privileges=("{count} 项权限", "{count} 项权限"),
            instances_header=("ID", "名称", "类型", "主机", "启用", "同步次数", "DSN 来源"),
            no_instances="没有实例 (用 `accounts-sync instances add` 添加)",
            dsn_hint="同步前请在变量 {variable} 中设置其 DSN, 例如 {example}",
            enabled="{instance} 已启用",
            disabled="{instance} 已停用",
            empty_name="NAME 和 --host 不能为空",
            numeric_name="实例名称不能是数字 (会被当作 ID)",
            name_taken="名为 {name} 的实例已存在 (ID {id})",
            variable_taken="{instance} 已使用变量 {variable}: 请换一个名称",
            accounts_header=("账户", "类别", "超级用户", "锁定", "权限数"),
            removed_header=("状态", "移除时间"),
            active="有效",
            removed="已移除",
            active_accounts=("{count} 个有效账户", "{count} 个有效账户"),
            removed_count=", {count} 个已移除",
            no_accounts="{instance} 的台账中没有账户 (请运行 `accounts-sync sync {id}`)",
            changes_header=("时间 (UTC)", "类型", "账户", "变更"),
            no_changes="{instance} 没有变更记录",
            limit_min="--limit 必须 >= 1",
            plan_summary=(
                "{instance}, {db_type} {version}: 服务器上 {accounts}, 台账中 {active} 个有效"
            ),
            up_to_date="已是最新: 同步不会改变任何内容",
            plan_header=("变更", "账户", "内容"),
            plan_totals="同步将新增 {added} 个、更新 {modified} 个、移除 {removed} 个",
            public_changed=", 并变更 PUBLIC",
            plan_note=(
                "注意: 这将移除超过 {ratio} 的有效账户; "
                "`accounts-sync sync {id}` 不加 --force 会拒绝执行"
            ),
            snapshot_line="{db_type} {version}{where}: {accounts}",
            snapshot_databases=" (数据库 {names})",
            snapshot_header=("账户", "类别", "超级用户", "锁定", "权限数", "所属角色"),
            public_holds="PUBLIC 拥有 {privileges}",
            not_a_server_url="URL 必须是 PostgreSQL 或 MySQL/MariaDB 的 URL, 而不是 {backend}",
            no_driver="没有安装 {driver} 的驱动",
            cannot_collect="无法采集 {url}: {error}",
            incomplete="采集不完整",
            privilege_on="{scope} {target} 上的 {privilege}",
            grant_option=" (可授予)",
            superuser="超级用户",
            locked="已锁定",
            member_of="属于 {roles}",
            admin=" (管理)",
            builtin_default=" (内置默认权限)",
            implied_by_ownership=" (属主已隐含)",
            field_change="{name}: {before} -> {after}",
            no_difference="没有差异",
        )
