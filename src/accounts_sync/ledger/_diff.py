"""The pure diff rule between ledger states and collected snapshots.

``plan_changes`` decides what happens to every account; ``diff_snapshots`` says exactly what
changed in one; ``apply_changes`` replays changes, so ``apply_changes(a, plan_changes(a, b))``
is ``b``. Nothing here touches a database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from .._enums import StrEnum
from ..collectors._snapshot import (
    OWNER,
    AccountKind,
    AccountSnapshot,
    Membership,
    Privilege,
    _memberships,
    _privileges,
    canonical_json,
    sorted_memberships,
    sorted_privileges,
)

__all__ = [
    "AccountChange",
    "AccountDiff",
    "ChangeType",
    "FieldChange",
    "FieldValue",
    "apply_changes",
    "apply_diff",
    "diff_snapshots",
    "plan_changes",
    "snapshot_fields",
]

FieldValue = str | int | bool | tuple[str, ...] | dt.datetime
"""The value of one compared field: a top-level snapshot field or an engine attribute."""

_ATTRIBUTE = "attributes."
_TOP_LEVEL = ("username", "host", "kind", "is_superuser", "is_locked", "valid_until")


class ChangeType(StrEnum):
    """What a sync did to one ledger account."""

    ADDED = "added"
    MODIFIED = "modified"
    REMOVED = "removed"
    REACTIVATED = "reactivated"


def _json_value(value: FieldValue | None) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def _field_value(field: str, value: Any) -> FieldValue | None:
    if value is None:
        return None
    if field == "valid_until" and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, (str, int, bool, tuple, dt.datetime)):
        return value
    raise TypeError(f"unsupported value for field {field!r}: {type(value).__name__}")


def _same(left: object, right: object) -> bool:
    # Typed: True and 1 are different values in the canonical JSON, so they differ here too.
    return type(left) is type(right) and left == right


@attrs.frozen
class FieldChange:
    """One field that changed; ``None`` stands for absent."""

    field: str
    before: FieldValue | None
    after: FieldValue | None

    def to_json(self) -> dict[str, Any]:
        return {"before": _json_value(self.before), "after": _json_value(self.after)}


def _field_changes(value: Iterable[FieldChange]) -> tuple[FieldChange, ...]:
    return tuple(sorted(value, key=lambda change: change.field))


@attrs.frozen(kw_only=True)
class AccountDiff:
    """What changed in one account: privileges and memberships granted or revoked, and fields.

    A privilege whose grant option changed shows up as revoked (old form) and granted (new
    form), which keeps the diff exactly invertible. Explicit grants that a newly gained
    ownership (privilege ``OWNER``) now implies are ``implied_by_ownership``, not revoked.
    ``defaults_revoked`` and ``defaults_restored`` are built-in default privileges revoked
    from the account, or given back. The three are left out of the JSON when empty.
    """

    granted: frozenset[Privilege] = attrs.field(factory=frozenset, converter=_privileges)
    revoked: frozenset[Privilege] = attrs.field(factory=frozenset, converter=_privileges)
    memberships_granted: frozenset[Membership] = attrs.field(
        factory=frozenset, converter=_memberships
    )
    memberships_revoked: frozenset[Membership] = attrs.field(
        factory=frozenset, converter=_memberships
    )
    changed: tuple[FieldChange, ...] = attrs.field(default=(), converter=_field_changes)
    implied_by_ownership: frozenset[Privilege] = attrs.field(
        factory=frozenset, converter=_privileges
    )
    defaults_revoked: frozenset[Privilege] = attrs.field(factory=frozenset, converter=_privileges)
    defaults_restored: frozenset[Privilege] = attrs.field(factory=frozenset, converter=_privileges)

    @property
    def is_empty(self) -> bool:
        return not (
            self.granted
            or self.revoked
            or self.memberships_granted
            or self.memberships_revoked
            or self.changed
            or self.implied_by_ownership
            or self.defaults_revoked
            or self.defaults_restored
        )

    def to_json(self) -> dict[str, Any]:
        """JSON data for the change log, every list sorted."""
        return {
            "granted": [p.to_json() for p in sorted_privileges(self.granted)],
            "revoked": [p.to_json() for p in sorted_privileges(self.revoked)],
            "memberships_granted": [
                m.to_json() for m in sorted_memberships(self.memberships_granted)
            ],
            "memberships_revoked": [
                m.to_json() for m in sorted_memberships(self.memberships_revoked)
            ],
            "changed": {change.field: change.to_json() for change in self.changed},
            **self._labelled_json(),
        }

    def _labelled_json(self) -> dict[str, Any]:
        if not (self.implied_by_ownership or self.defaults_revoked or self.defaults_restored):
            return {}
        labelled = {
            "implied_by_ownership": self.implied_by_ownership,
            "defaults_revoked": self.defaults_revoked,
            "defaults_restored": self.defaults_restored,
        }
        return {
            name: [p.to_json() for p in sorted_privileges(items)]
            for name, items in labelled.items()
            if items
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AccountDiff:
        return cls(
            granted=(Privilege.from_json(p) for p in data.get("granted", ())),
            revoked=(Privilege.from_json(p) for p in data.get("revoked", ())),
            memberships_granted=(
                Membership.from_json(m) for m in data.get("memberships_granted", ())
            ),
            memberships_revoked=(
                Membership.from_json(m) for m in data.get("memberships_revoked", ())
            ),
            changed=(
                FieldChange(
                    name,
                    _field_value(name, values.get("before")),
                    _field_value(name, values.get("after")),
                )
                for name, values in (data.get("changed") or {}).items()
            ),
            implied_by_ownership=_privilege_list(data, "implied_by_ownership"),
            defaults_revoked=_privilege_list(data, "defaults_revoked"),
            defaults_restored=_privilege_list(data, "defaults_restored"),
        )


def _privilege_list(data: Mapping[str, Any], name: str) -> Iterable[Privilege]:
    return (Privilege.from_json(p) for p in data.get(name) or ())


def _implied(privilege: Privilege, owned: frozenset[tuple[str, tuple[str, ...]]]) -> bool:
    """Whether ownership of an object in ``owned`` implies ``privilege`` (its columns too)."""
    if (privilege.scope.value, privilege.object) in owned:
        return True
    return privilege.scope.value == "column" and ("table", privilege.object[:-1]) in owned


def snapshot_fields(snapshot: AccountSnapshot | None) -> dict[str, FieldValue]:
    """The compared fields of a snapshot (absent ones left out); engine attributes are
    ``attributes.<name>``."""
    if snapshot is None:
        return {}
    fields: dict[str, FieldValue] = {
        "username": snapshot.username,
        "kind": snapshot.kind.value,
        "is_superuser": snapshot.is_superuser,
        "is_locked": snapshot.is_locked,
    }
    if snapshot.host is not None:
        fields["host"] = snapshot.host
    if snapshot.valid_until is not None:
        fields["valid_until"] = snapshot.valid_until
    for name, value in snapshot.attributes.items():
        fields[_ATTRIBUTE + name] = value
    return fields


def diff_snapshots(before: AccountSnapshot | None, after: AccountSnapshot | None) -> AccountDiff:
    """Exactly what turns ``before`` into ``after`` (``None``: the account does not exist)."""
    old, new = snapshot_fields(before), snapshot_fields(after)
    changed = [
        FieldChange(name, old.get(name), new.get(name))
        for name in old.keys() | new.keys()
        if not _same(old.get(name), new.get(name))
    ]
    old_privileges = before.privileges if before else frozenset()
    new_privileges = after.privileges if after else frozenset()
    old_memberships = before.memberships if before else frozenset()
    new_memberships = after.memberships if after else frozenset()
    old_defaults = before.revoked_defaults if before else frozenset()
    new_defaults = after.revoked_defaults if after else frozenset()
    granted = new_privileges - old_privileges
    revoked = old_privileges - new_privileges
    owned = frozenset((p.scope.value, p.object) for p in granted if p.privilege == OWNER)
    implied = frozenset(p for p in revoked if owned and _implied(p, owned))
    return AccountDiff(
        granted=granted,
        revoked=revoked - implied,
        memberships_granted=new_memberships - old_memberships,
        memberships_revoked=old_memberships - new_memberships,
        changed=changed,
        implied_by_ownership=implied,
        defaults_revoked=new_defaults - old_defaults,
        defaults_restored=old_defaults - new_defaults,
    )


def apply_diff(
    before: AccountSnapshot | None, diff: AccountDiff, key: str
) -> AccountSnapshot | None:
    """Replay ``diff`` on ``before``; ``None`` when the result has no fields (removed)."""
    fields: dict[str, Any] = snapshot_fields(before)
    for change in diff.changed:
        if change.after is None:
            fields.pop(change.field, None)
        else:
            fields[change.field] = change.after
    if not fields:
        return None
    old_privileges = before.privileges if before else frozenset()
    privileges = (old_privileges - diff.revoked - diff.implied_by_ownership) | diff.granted
    defaults = (
        (before.revoked_defaults if before else frozenset()) - diff.defaults_restored
    ) | diff.defaults_revoked
    memberships = (
        (before.memberships if before else frozenset()) - diff.memberships_revoked
    ) | diff.memberships_granted
    attributes = {
        name[len(_ATTRIBUTE) :]: value
        for name, value in fields.items()
        if name.startswith(_ATTRIBUTE)
    }
    return AccountSnapshot(
        key=key,
        username=fields["username"],
        host=fields.get("host"),
        kind=AccountKind(fields["kind"]),
        is_superuser=fields["is_superuser"],
        is_locked=fields["is_locked"],
        valid_until=fields.get("valid_until"),
        attributes=attributes,
        memberships=memberships,
        privileges=privileges,
        revoked_defaults=defaults,
    )


@attrs.frozen(kw_only=True)
class AccountChange:
    """What a sync does to one account, with the states on both sides and the exact diff.

    ``diff`` is ``diff_snapshots(before, after)``: computed on its first read when not given,
    so a plan of many new accounts, whose change log is written from their snapshots, never
    builds one. Two changes are equal when their type, key and states are.
    """

    change_type: ChangeType = attrs.field(converter=ChangeType)
    key: str
    before: AccountSnapshot | None
    after: AccountSnapshot | None
    _diff: AccountDiff | None = attrs.field(default=None, alias="diff", eq=False, repr=False)

    @property
    def diff(self) -> AccountDiff:
        diff = self._diff
        if diff is None:
            diff = diff_snapshots(self.before, self.after)
            # Frozen, but the diff is a pure function of the states: cache it like a property.
            object.__setattr__(self, "_diff", diff)
        return diff

    @property
    def kind(self) -> AccountKind:
        snapshot = self.after or self.before
        return snapshot.kind if snapshot is not None else AccountKind.USER

    def diff_text(self) -> str:
        """``canonical_json(diff.to_json())``: for a new account, cut from the canonical text
        of its snapshot (cached, and stored as it is) instead of being encoded again."""
        if self.before is not None or self.after is None:
            return canonical_json(self.diff.to_json())
        return _added_diff_text(self.after)

    def to_json(self) -> dict[str, Any]:
        return {
            "change_type": self.change_type.value,
            "key": self.key,
            "kind": self.kind.value,
            "diff": self.diff.to_json(),
        }


_MEMBERSHIPS, _PRIVILEGES, _DEFAULTS = ',"memberships":', ',"privileges":', ',"revoked_defaults":'


def _added_diff_text(after: AccountSnapshot) -> str:
    """The canonical text of a new account's diff, its lists sliced out of the snapshot's.

    The snapshot's text has sorted keys, so its top level ends ``"memberships":[…],
    "privileges":[…],("revoked_defaults":[…],)"username":…,"valid_until":…}``. A quoted key
    with its colon appears unescaped only as a key, and the memberships and privileges in
    those lists have none of these keys: searched from the right, each is the top level's.
    """
    text = after.canonical_json
    memberships = text.rindex(_MEMBERSHIPS)
    privileges = text.index(_PRIVILEGES, memberships)
    username = text.index(',"username":', privileges)
    defaults = text.find(_DEFAULTS, privileges, username)
    changed = {
        name: {"before": None, "after": _json_value(value)}
        for name, value in snapshot_fields(after).items()
    }
    parts = ['{"changed":', canonical_json(changed)]
    if defaults != -1:
        parts += [',"defaults_revoked":', text[defaults + len(_DEFAULTS) : username]]
    parts += [
        ',"granted":',
        text[privileges + len(_PRIVILEGES) : username if defaults == -1 else defaults],
        ',"memberships_granted":',
        text[memberships + len(_MEMBERSHIPS) : privileges],
        ',"memberships_revoked":[],"revoked":[]}',
    ]
    return "".join(parts)


def plan_changes(
    active: Mapping[str, AccountSnapshot],
    collected: Mapping[str, AccountSnapshot],
    inactive: Mapping[str, AccountSnapshot] | None = None,
) -> tuple[AccountChange, ...]:
    """The changes that turn the ledger's ``active`` accounts into ``collected``.

    A key only collected is ``added``, or ``reactivated`` when the ledger still holds it as
    ``inactive`` (diffed against its last snapshot); a key in both whose snapshot differs is
    ``modified``; an active key not collected is ``removed``. Unchanged accounts give nothing.
    Sorted by key.
    """
    inactive = inactive or {}
    changes: list[AccountChange] = []
    for key, after in collected.items():
        before = active.get(key)
        if before is not None:
            if before != after:
                changes.append(
                    AccountChange(
                        change_type=ChangeType.MODIFIED,
                        key=key,
                        before=before,
                        after=after,
                    )
                )
            continue
        previous = inactive.get(key)
        change_type = ChangeType.ADDED if previous is None else ChangeType.REACTIVATED
        changes.append(
            AccountChange(
                change_type=change_type,
                key=key,
                before=previous,
                after=after,
            )
        )
    for key, before in active.items():
        if key not in collected:
            changes.append(
                AccountChange(
                    change_type=ChangeType.REMOVED,
                    key=key,
                    before=before,
                    after=None,
                )
            )
    changes.sort(key=lambda change: change.key)
    return tuple(changes)


def apply_changes(
    active: Mapping[str, AccountSnapshot],
    changes: Iterable[AccountChange],
    inactive: Mapping[str, AccountSnapshot] | None = None,
) -> dict[str, AccountSnapshot]:
    """Replay ``changes`` (their diffs only) on ``active``: the active accounts afterwards."""
    inactive = inactive or {}
    result = dict(active)
    for change in changes:
        base = active.get(change.key) if change.key in active else inactive.get(change.key)
        after = apply_diff(base, change.diff, change.key)
        if change.change_type is ChangeType.REMOVED or after is None:
            result.pop(change.key, None)
        else:
            result[change.key] = after
    return result
