"""What the commands show: session summaries, progress, records, plans, snapshots, diffs.

Every function here builds text; a ``Terminal`` prints it.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from .._enums import RecordStatus, SessionStatus
from .._sessions import SyncRecordInfo, SyncSessionInfo
from ..collectors import ServerSnapshot
from ..ledger import LedgerAccount, LedgerChangeEntry, LedgerPlan
from ..ports import SupportsInstance
from ._terminal import Terminal
from ._texts import CliTexts

__all__ = [
    "diff_summary",
    "done_share",
    "label",
    "pad",
    "plural",
    "print_accounts",
    "print_changes",
    "print_plan",
    "print_records",
    "print_snapshot",
    "progress_line",
    "progress_status",
    "session_rows",
    "summary_lines",
    "when",
    "yes",
]

_LISTED = 3  # privileges named one by one in a summary line; more are only counted
_BAR = 30


def when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def yes(flag: object) -> str:
    return "yes" if flag else "no"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def label(instance: SupportsInstance) -> str:
    return f"instance {instance.id} ({instance.name})"


# -- sessions ------------------------------------------------------------------------------


def done_share(info: SyncSessionInfo) -> float:
    """The percentage shown: a cancelled session's cancelled records were never synced."""
    if info.status is SessionStatus.CANCELLED and info.total_instances > 0:
        synced = info.successful_instances + info.failed_instances
        return round(100.0 * min(synced, info.total_instances) / info.total_instances, 2)
    return info.progress


def progress_status(info: SyncSessionInfo, texts: CliTexts) -> str:
    """The counters and status after the bar."""
    return texts.progress.format(
        ok=info.successful_instances,
        failed=info.failed_instances,
        cancelled=info.cancelled_instances,
        status=info.status.value,
    )


def progress_line(info: SyncSessionInfo, texts: CliTexts) -> str:
    share = done_share(info)
    filled = int(_BAR * share / 100)
    return (
        f"[{'#' * filled}{'.' * (_BAR - filled)}] {share:6.2f}% "
        f"{info.finished_instances}/{info.total_instances} {progress_status(info, texts)}"
    )


def session_rows(term: Terminal, rows: Sequence[SyncSessionInfo]) -> None:
    """The ``sessions list`` table, newest first."""
    term.table(
        term.speech.texts.list_header,
        [
            [
                info.session_id,
                info.sync_type.value,
                info.status.value,
                f"{done_share(info):.2f}%",
                info.successful_instances,
                info.failed_instances,
                info.cancelled_instances,
                info.total_instances,
                when(info.created_at),
            ]
            for info in rows
        ],
        right=(3, 4, 5, 6, 7),
    )


def pad(label: str, width: int = 13) -> str:
    """``label`` padded to ``width`` columns, a CJK character taking two."""
    columns = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in label)
    return label + " " * max(1, width - columns)


def summary_lines(
    info: SyncSessionInfo, records: Sequence[SyncRecordInfo], texts: CliTexts
) -> list[str]:
    """A session's counters, progress and failed records (out of ``records``)."""
    duration = (
        f"{(info.completed_at - info.started_at).total_seconds():.2f} s"
        if info.completed_at and info.started_at
        else "-"
    )
    adds_up = info.finished_instances == info.total_instances
    check = (
        f"{info.successful_instances} + {info.failed_instances} + "
        f"{info.cancelled_instances} = {info.finished_instances} {texts.of} "
        f"{info.total_instances}"
        + (texts.adds_up if adds_up else "" if not info.is_terminal else texts.mismatch)
    )
    fields = [
        (texts.session, info.session_id),
        (texts.type, info.sync_type.value),
        (texts.status, info.status.value),
        (texts.percent, f"{done_share(info):.2f}%"),
        (texts.total, info.total_instances),
        (texts.successful, info.successful_instances),
        (texts.failed, info.failed_instances),
        (texts.cancelled, info.cancelled_instances),
        (texts.created, when(info.created_at)),
        (texts.duration, duration),
        (texts.check, check),
    ]
    if info.error_message:
        fields.append((texts.error, info.error_message))
    lines = [f"{pad(name)}{value}" for name, value in fields]
    failed = [r for r in records if r.status is RecordStatus.FAILED]
    if failed:
        lines.append("")
        lines.append(texts.failed_instances.format(count=len(failed)))
        lines.extend(
            f"  {r.instance_id:>6}  {r.instance_name:<20} {r.error_message}" for r in failed
        )
    return lines


def print_records(term: Terminal, records: Sequence[SyncRecordInfo]) -> None:
    """One line per record of a ``sync --all`` session, then the account totals."""
    texts = term.speech.texts
    term.out("")
    term.table(
        texts.records_header,
        [
            [
                r.instance_id,
                r.instance_name,
                r.status.value,
                r.items_synced,
                r.items_created,
                r.items_updated,
                r.items_deleted,
            ]
            for r in records
        ],
        right=(0, 3, 4, 5, 6),
    )
    totals = (
        sum(r.items_synced for r in records),
        sum(r.items_created for r in records),
        sum(r.items_updated for r in records),
        sum(r.items_deleted for r in records),
    )
    counts = ", ".join(
        f"{name} {count}" for name, count in zip(texts.counters, totals, strict=True)
    )
    term.out(f"{pad(texts.totals)}{counts}")


# -- the ledger ----------------------------------------------------------------------------


def print_accounts(term: Terminal, accounts: Sequence[LedgerAccount], *, removed: bool) -> None:
    """The ``accounts list`` table and count; ``removed`` adds the status columns."""
    headers = ["KEY", "KIND", "SUPERUSER", "LOCKED", "PRIVILEGES"]
    table: list[list[object]] = []
    for account in accounts:
        line: list[object] = [
            account.key,
            account.kind,
            yes(account.is_superuser),
            yes(account.is_locked),
            account.privilege_count,
        ]
        if removed:
            line += ["active" if account.is_active else "removed", when(account.deactivated_at)]
        table.append(line)
    if removed:
        headers += ["STATUS", "REMOVED AT"]
    term.table(headers, table, right=(4,))
    # The PUBLIC pseudo-role is listed but, as everywhere in the ledger, not counted.
    real = [account for account in accounts if account.kind != "public"]
    active = sum(1 for account in real if account.is_active)
    summary = plural(active, "active account")
    if removed:
        summary += f", {len(real) - active} removed"
    term.out(summary)


def print_changes(term: Terminal, changes: Sequence[LedgerChangeEntry]) -> None:
    term.table(
        ["TIME (UTC)", "TYPE", "KEY", "CHANGE"],
        [
            [when(c.changed_at), c.change_type, c.account_key, diff_summary(c.change_type, c.diff)]
            for c in changes
        ],
    )


def print_plan(
    term: Terminal, instance: SupportsInstance, plan: LedgerPlan, max_removal_ratio: float
) -> None:
    term.out(
        f"{label(instance)}, {plan.db_type} {plan.server_version}: "
        f"{plural(plan.synced_count, 'account')} on the server, "
        f"{plan.active_count} active in the ledger"
    )
    if plan.is_empty:
        term.out("up to date: a sync would change nothing")
        return
    term.table(
        ["CHANGE", "KEY", "WHAT"],
        [
            [c.change_type.value, c.key, diff_summary(c.change_type.value, c.diff.to_json())]
            for c in plan.changes
        ],
    )
    term.out(
        f"a sync would add {plan.added_count}, modify {plan.modified_count}, remove "
        f"{plan.removed_count}" + (" and change PUBLIC" if plan.public_changed else "")
    )
    if plan.exceeds(max_removal_ratio):
        term.out(
            f"note: that removes more than {max_removal_ratio:.0%} of the active accounts; "
            f"`accounts-sync sync {instance.id}` refuses it without --force"
        )


def print_snapshot(term: Terminal, snapshot: ServerSnapshot) -> None:
    where = f" (database {', '.join(snapshot.databases)})" if snapshot.databases else ""
    term.out(
        f"{snapshot.db_type} {snapshot.server_version}{where}: "
        f"{plural(len(snapshot.accounts), 'account')}"
    )
    if snapshot.accounts:
        term.table(
            ["KEY", "KIND", "SUPERUSER", "LOCKED", "PRIVILEGES", "MEMBER OF"],
            [
                [
                    a.key,
                    a.kind.value,
                    yes(a.is_superuser),
                    yes(a.is_locked),
                    len(a.privileges),
                    ", ".join(sorted(m.role for m in a.memberships)) or "-",
                ]
                for a in snapshot.accounts
            ],
            right=(4,),
        )
    if snapshot.public_privileges is not None:
        term.out(f"PUBLIC holds {plural(len(snapshot.public_privileges), 'privilege')}")


# -- diffs ---------------------------------------------------------------------------------


def _privilege(data: Mapping[str, Any]) -> str:
    target = ".".join(data["object"])
    text = f"{data['privilege']} on {data['scope']} {target}" if target else data["privilege"]
    return text + (" with grant option" if data["grantable"] else "")


def _privileges(sign: str, items: Sequence[Mapping[str, Any]]) -> list[str]:
    if len(items) > _LISTED:
        return [f"{sign}{len(items)} privileges"]
    return [sign + _privilege(item) for item in items]


def _value(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _described(change_type: str, diff: Mapping[str, Any]) -> str:
    """An added or removed account: kind, flags, privilege count, memberships."""
    changed: Mapping[str, Mapping[str, Any]] = diff.get("changed") or {}
    added = change_type == "added"
    side = "after" if added else "before"
    privileges = diff.get("granted" if added else "revoked") or []
    memberships = diff.get("memberships_granted" if added else "memberships_revoked") or []
    parts = [str(kind)] if (kind := changed.get("kind", {}).get(side)) else []
    parts += [
        name
        for field, name in (("is_superuser", "superuser"), ("is_locked", "locked"))
        if changed.get(field, {}).get(side)
    ]
    parts.append(plural(len(privileges), "privilege"))
    if memberships:
        parts.append("member of " + ", ".join(m["role"] for m in memberships))
    return ", ".join(parts)


def diff_summary(change_type: str, diff: Mapping[str, Any]) -> str:
    """One line for a change-log diff (``AccountDiff.to_json()`` data).

    An added or removed account is described (kind, flags, counts); otherwise each granted
    (``+``) or revoked (``-``) privilege and membership and each changed field is listed, more
    than three privileges on one side being counted instead.
    """
    if change_type in ("added", "removed"):
        return _described(change_type, diff)
    changed: Mapping[str, Mapping[str, Any]] = diff.get("changed") or {}
    parts = _privileges("+", diff.get("granted") or []) + _privileges(
        "-", diff.get("revoked") or []
    )
    for sign, key in (("+", "memberships_granted"), ("-", "memberships_revoked")):
        parts += [
            f"{sign}member of {m['role']}" + (" (admin)" if m["admin_option"] else "")
            for m in diff.get(key) or []
        ]
    parts += [
        f"{name.removeprefix('attributes.')}: {_value(values.get('before'))} -> "
        f"{_value(values.get('after'))}"
        for name, values in sorted(changed.items())
    ]
    return "; ".join(parts) or "no difference"
