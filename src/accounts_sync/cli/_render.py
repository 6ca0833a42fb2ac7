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
from ._ledger_texts import LedgerCliTexts, counted
from ._terminal import Terminal
from ._texts import CliTexts

__all__ = [
    "diff_summary",
    "done_share",
    "label",
    "pad",
    "print_accounts",
    "print_changes",
    "print_plan",
    "print_records",
    "print_snapshot",
    "progress_line",
    "progress_status",
    "record_table",
    "session_rows",
    "summary_lines",
    "when",
    "yes",
]

_LISTED = 3  # privileges named one by one in a summary line; more are only counted
_BAR = 30


def when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def yes(flag: object, texts: LedgerCliTexts) -> str:
    return texts.yes if flag else texts.no


def label(instance: SupportsInstance, texts: CliTexts) -> str:
    """``instance 1 (pg-main)``, in the run's language."""
    return texts.instance.format(id=instance.id, name=instance.name)


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
        lines.append(texts.failed_instances.format(count=info.failed_instances))
        lines.extend(
            f"  {r.instance_id:>6}  {r.instance_name:<20} {r.error_message}" for r in failed
        )
    return lines


def print_records(term: Terminal, records: Sequence[SyncRecordInfo]) -> None:
    """One line per record of a ``sync --all`` session, then the account totals."""
    texts = term.speech.texts
    record_table(term, records)
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


def record_table(term: Terminal, records: Sequence[SyncRecordInfo]) -> None:
    """One line per record: instance, status and account counts."""
    term.out("")
    term.table(
        term.speech.texts.records_header,
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


# -- the ledger ----------------------------------------------------------------------------


def print_accounts(term: Terminal, accounts: Sequence[LedgerAccount], *, removed: bool) -> None:
    """The ``accounts list`` table and count; ``removed`` adds the status columns."""
    texts = term.speech.ledger_texts
    headers = list(texts.accounts_header)
    table: list[list[object]] = []
    for account in accounts:
        line: list[object] = [
            account.key,
            account.kind,
            yes(account.is_superuser, texts),
            yes(account.is_locked, texts),
            account.privilege_count,
        ]
        if removed:
            status = texts.active if account.is_active else texts.removed
            line += [status, when(account.deactivated_at)]
        table.append(line)
    if removed:
        headers += texts.removed_header
    term.table(headers, table, right=(4,))
    # The PUBLIC pseudo-role is listed but, as everywhere in the ledger, not counted.
    real = [account for account in accounts if account.kind != "public"]
    active = sum(1 for account in real if account.is_active)
    summary = counted(active, texts.active_accounts)
    if removed:
        summary += texts.removed_count.format(count=len(real) - active)
    term.out(summary)


def print_changes(term: Terminal, changes: Sequence[LedgerChangeEntry]) -> None:
    texts = term.speech.ledger_texts
    term.table(
        texts.changes_header,
        [
            [
                when(c.changed_at),
                c.change_type,
                c.account_key,
                diff_summary(c.change_type, c.diff, texts),
            ]
            for c in changes
        ],
    )


def print_plan(
    term: Terminal, instance: SupportsInstance, plan: LedgerPlan, max_removal_ratio: float
) -> None:
    texts = term.speech.ledger_texts
    term.out(
        texts.plan_summary.format(
            instance=label(instance, term.speech.texts),
            db_type=plan.db_type,
            version=plan.server_version,
            accounts=counted(plan.synced_count, texts.accounts),
            active=plan.active_count,
        )
    )
    if plan.is_empty:
        term.out(texts.up_to_date)
        return
    term.table(
        texts.plan_header,
        [
            [c.change_type.value, c.key, diff_summary(c.change_type.value, c.diff.to_json(), texts)]
            for c in plan.changes
        ],
    )
    term.out(
        texts.plan_totals.format(
            added=plan.added_count, modified=plan.modified_count, removed=plan.removed_count
        )
        + (texts.public_changed if plan.public_changed else "")
    )
    if plan.exceeds(max_removal_ratio):
        term.out(texts.plan_note.format(ratio=f"{max_removal_ratio:.0%}", id=instance.id))


def print_snapshot(term: Terminal, snapshot: ServerSnapshot) -> None:
    texts = term.speech.ledger_texts
    where = (
        texts.snapshot_databases.format(names=", ".join(snapshot.databases))
        if snapshot.databases
        else ""
    )
    term.out(
        texts.snapshot_line.format(
            db_type=snapshot.db_type,
            version=snapshot.server_version,
            where=where,
            accounts=counted(len(snapshot.accounts), texts.accounts),
        )
    )
    if snapshot.accounts:
        term.table(
            texts.snapshot_header,
            [
                [
                    a.key,
                    a.kind.value,
                    yes(a.is_superuser, texts),
                    yes(a.is_locked, texts),
                    len(a.privileges),
                    ", ".join(sorted(m.role for m in a.memberships)) or "-",
                ]
                for a in snapshot.accounts
            ],
            right=(4,),
        )
    if snapshot.public_privileges is not None:
        held = counted(len(snapshot.public_privileges), texts.privileges)
        term.out(texts.public_holds.format(privileges=held))


# -- diffs ---------------------------------------------------------------------------------


def _privilege(data: Mapping[str, Any], texts: LedgerCliTexts) -> str:
    target = ".".join(data["object"])
    text = (
        texts.privilege_on.format(privilege=data["privilege"], scope=data["scope"], target=target)
        if target
        else data["privilege"]
    )
    return text + (texts.grant_option if data["grantable"] else "")


def _privileges(sign: str, items: Sequence[Mapping[str, Any]], texts: LedgerCliTexts) -> list[str]:
    if len(items) > _LISTED:
        return [sign + counted(len(items), texts.privileges)]
    return [sign + _privilege(item, texts) for item in items]


def _value(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _described(change_type: str, diff: Mapping[str, Any], texts: LedgerCliTexts) -> str:
    """An added or removed account: kind, flags, privilege count, memberships."""
    changed: Mapping[str, Mapping[str, Any]] = diff.get("changed") or {}
    added = change_type == "added"
    side = "after" if added else "before"
    privileges = diff.get("granted" if added else "revoked") or []
    memberships = diff.get("memberships_granted" if added else "memberships_revoked") or []
    parts = [str(kind)] if (kind := changed.get("kind", {}).get(side)) else []
    parts += [
        name
        for field, name in (("is_superuser", texts.superuser), ("is_locked", texts.locked))
        if changed.get(field, {}).get(side)
    ]
    parts.append(counted(len(privileges), texts.privileges))
    if memberships:
        parts.append(texts.member_of.format(roles=", ".join(m["role"] for m in memberships)))
    return ", ".join(parts)


def diff_summary(
    change_type: str, diff: Mapping[str, Any], texts: LedgerCliTexts | None = None
) -> str:
    """One line for a change-log diff (``AccountDiff.to_json()`` data), in English unless
    ``texts`` is another catalogue.

    An added or removed account is described (kind, flags, counts); otherwise each granted
    (``+``) or revoked (``-``) privilege and membership and each changed field is listed, more
    than three privileges on one side being counted instead.
    """
    texts = texts or LedgerCliTexts()
    if change_type in ("added", "removed"):
        return _described(change_type, diff, texts)
    changed: Mapping[str, Mapping[str, Any]] = diff.get("changed") or {}
    parts = _privileges("+", diff.get("granted") or [], texts) + _privileges(
        "-", diff.get("revoked") or [], texts
    )
    # Present only when not empty: revoked or restored built-in defaults, and explicit grants
    # that a new ownership makes implicit (``=``: held still).
    for sign, key, note in (
        ("-", "defaults_revoked", texts.builtin_default),
        ("+", "defaults_restored", texts.builtin_default),
        ("=", "implied_by_ownership", texts.implied_by_ownership),
    ):
        parts += [line + note for line in _privileges(sign, diff.get(key) or [], texts)]
    for sign, key in (("+", "memberships_granted"), ("-", "memberships_revoked")):
        parts += [
            sign
            + texts.member_of.format(roles=m["role"])
            + (texts.admin if m["admin_option"] else "")
            for m in diff.get(key) or []
        ]
    parts += [
        texts.field_change.format(
            name=name.removeprefix("attributes."),
            before=_value(values.get("before")),
            after=_value(values.get("after")),
        )
        for name, values in sorted(changed.items())
    ]
    return "; ".join(parts) or texts.no_difference
