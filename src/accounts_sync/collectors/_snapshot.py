"""Canonical, hashable snapshots of database accounts and their privileges.

Two collections of an unchanged server are equal, and so are their canonical JSON texts and
digests, byte for byte: sets are sorted, attribute values are typed scalars, times are UTC.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

from .._enums import StrEnum

__all__ = [
    "OWNER",
    "PUBLIC_KEY",
    "AccountKind",
    "AccountSnapshot",
    "AttributeValue",
    "Attributes",
    "Membership",
    "Privilege",
    "PrivilegeScope",
    "ServerSnapshot",
    "canonical_json",
    "sorted_memberships",
    "sorted_privileges",
]

PUBLIC_KEY = "public"
"""Ledger key of the PUBLIC pseudo-role (a reserved role name in PostgreSQL)."""


class AccountKind(StrEnum):
    """``user`` can log in, ``role`` cannot; ``public`` is PostgreSQL's PUBLIC pseudo-role."""

    USER = "user"
    ROLE = "role"
    PUBLIC = "public"


class PrivilegeScope(StrEnum):
    """What a privilege applies to; ``Privilege.object`` holds one name per level below global."""

    GLOBAL = "global"
    DATABASE = "database"
    SCHEMA = "schema"
    TABLE = "table"
    COLUMN = "column"
    ROUTINE = "routine"
    DEFAULT = "default"
    PROXY = "proxy"


OWNER = "OWNER"
"""The privilege name of ownership: the owner holds every privilege on the object implicitly."""


def canonical_json(value: Any) -> str:
    """The one text form of JSON data: sorted keys, no spaces, UTF-8 characters kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _digest(value: Any) -> str:
    return _sha256(canonical_json(value))


def _names(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _privileges(value: Iterable[Privilege]) -> frozenset[Privilege]:
    return frozenset(value)


def _memberships(value: Iterable[Membership]) -> frozenset[Membership]:
    return frozenset(value)


@attrs.frozen(order=True)
class Privilege:
    """One privilege on one object, e.g. ``("table", ("app", "public", "orders"), "SELECT")``.

    ``object`` is a tuple of names from the outermost level: ``()`` for global,
    ``(database,)``, ``(database, schema)``, ``(database, schema, table)``, and a column adds
    its name. A PostgreSQL routine is ``(database, schema, "name(arg types)")``; a MySQL one
    ``(database, "FUNCTION" | "PROCEDURE", name)``. A PostgreSQL default privilege is
    ``(database, schema or "", object type, creating role)``; a MySQL proxy grant
    ``(proxied user@host,)``. Names are kept exactly as the server stores them (never
    case-folded). ``grantable`` means held WITH GRANT OPTION; the privilege ``OWNER`` is
    ownership.
    """

    scope: PrivilegeScope = attrs.field(converter=PrivilegeScope)
    object: tuple[str, ...] = attrs.field(converter=_names)
    privilege: str
    grantable: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope.value,
            "object": list(self.object),
            "privilege": self.privilege,
            "grantable": self.grantable,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Privilege:
        return cls(data["scope"], tuple(data["object"]), data["privilege"], bool(data["grantable"]))


@functools.total_ordering
@attrs.frozen(order=False)
class Membership:
    """A direct membership in ``role`` (the role's account key), held WITH ADMIN OPTION or not.

    ``grantor`` (PostgreSQL: who granted it) and PostgreSQL 16's ``inherit_option`` and
    ``set_option`` are ``None`` where the engine or version has no such thing; ``None`` values
    are left out of the JSON.
    """

    role: str
    admin_option: bool = False
    grantor: str | None = None
    inherit_option: bool | None = None
    set_option: bool | None = None

    def sort_key(self) -> tuple[str, bool, str, int, int]:
        return (
            self.role,
            self.admin_option,
            self.grantor or "",
            _tristate(self.inherit_option),
            _tristate(self.set_option),
        )

    def __lt__(self, other: object) -> bool:
        # By the sort key: unset (None) options sort first instead of failing to compare.
        if not isinstance(other, Membership):
            return NotImplemented
        return self.sort_key() < other.sort_key()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"role": self.role, "admin_option": self.admin_option}
        for name in ("grantor", "inherit_option", "set_option"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Membership:
        return cls(
            data["role"],
            bool(data["admin_option"]),
            data.get("grantor"),
            data.get("inherit_option"),
            data.get("set_option"),
        )


def _tristate(value: bool | None) -> int:
    return -1 if value is None else int(value)


AttributeValue = str | int | bool | tuple[str, ...]
"""An engine-specific attribute: a string, an int, a bool or a tuple of strings."""


def _check_attribute(name: str, value: object) -> AttributeValue:
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise TypeError(f"attribute {name!r} must be str, int, bool or a sequence of str")


class Attributes(Mapping[str, AttributeValue]):
    """An immutable, hashable, sorted mapping of engine attributes.

    ``None`` values are dropped (absent and ``None`` mean the same). Equality is typed, so
    ``True`` and ``1`` differ here exactly as they do in the canonical JSON.
    """

    __slots__ = ("_items",)
    _items: tuple[tuple[str, AttributeValue], ...]

    def __init__(self, data: Mapping[str, object] | Iterable[tuple[str, object]] = ()) -> None:
        pairs = data.items() if isinstance(data, Mapping) else data
        items = {str(k): _check_attribute(str(k), v) for k, v in pairs if v is not None}
        object.__setattr__(self, "_items", tuple(sorted(items.items())))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Attributes is immutable")

    def __getitem__(self, key: str) -> AttributeValue:
        for name, value in self._items:
            if name == key:
                return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> tuple[tuple[str, AttributeValue], ...]:  # type: ignore[override]
        # The stored pairs themselves: the Mapping mixin would look each key up again.
        return self._items

    def _typed(self) -> tuple[tuple[str, str, AttributeValue], ...]:
        return tuple((name, type(value).__name__, value) for name, value in self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Attributes):
            return self._typed() == other._typed()
        if isinstance(other, Mapping):
            try:
                return self._typed() == Attributes(other)._typed()
            except TypeError:
                return False
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._typed())

    def __repr__(self) -> str:
        return f"Attributes({dict(self._items)!r})"

    def to_json(self) -> dict[str, Any]:
        return {name: list(v) if isinstance(v, tuple) else v for name, v in self._items}


def _attributes(value: Mapping[str, object] | Attributes | None) -> Attributes:
    if isinstance(value, Attributes):
        return value
    return Attributes(value or {})


def _utc(value: dt.datetime | str | None) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        raise ValueError("valid_until must be timezone-aware")
    return value.astimezone(dt.timezone.utc)


def sorted_privileges(items: Iterable[Privilege]) -> list[Privilege]:
    """Privileges in canonical order (scope, object, privilege, grantable)."""
    # Plain tuples as keys: attrs' generated ``__lt__`` is several times slower.
    return sorted(items, key=lambda p: (p.scope.value, p.object, p.privilege, p.grantable))


def sorted_memberships(items: Iterable[Membership]) -> list[Membership]:
    """Memberships in canonical order (role, admin option, grantor, options)."""
    return sorted(items, key=Membership.sort_key)


@attrs.frozen(kw_only=True)
class AccountSnapshot:
    """Everything collected about one account, in a canonical, hashable form.

    ``key`` identifies the account on its server: the role name on PostgreSQL, ``user@host``
    (host lower-cased) on MySQL/MariaDB. ``memberships`` are direct only. ``revoked_defaults``
    are built-in default privileges revoked from the account (e.g. PUBLIC's EXECUTE on a
    ``pg_catalog`` function): left out of the JSON when empty. Digest and JSON text are computed
    once and cached.
    """

    key: str
    username: str
    host: str | None = None
    kind: AccountKind = attrs.field(default=AccountKind.USER, converter=AccountKind)
    is_superuser: bool = False
    is_locked: bool = False
    valid_until: dt.datetime | None = attrs.field(default=None, converter=_utc)
    attributes: Attributes = attrs.field(factory=Attributes, converter=_attributes)
    memberships: frozenset[Membership] = attrs.field(factory=frozenset, converter=_memberships)
    privileges: frozenset[Privilege] = attrs.field(factory=frozenset, converter=_privileges)
    revoked_defaults: frozenset[Privilege] = attrs.field(factory=frozenset, converter=_privileges)

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON data (lists sorted, times as ISO 8601 UTC)."""
        data: dict[str, Any] = {
            "key": self.key,
            "username": self.username,
            "host": self.host,
            "kind": self.kind.value,
            "is_superuser": self.is_superuser,
            "is_locked": self.is_locked,
            "valid_until": None if self.valid_until is None else self.valid_until.isoformat(),
            "attributes": self.attributes.to_json(),
            "memberships": [m.to_json() for m in sorted_memberships(self.memberships)],
            "privileges": [p.to_json() for p in sorted_privileges(self.privileges)],
        }
        if self.revoked_defaults:
            data["revoked_defaults"] = [
                p.to_json() for p in sorted_privileges(self.revoked_defaults)
            ]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AccountSnapshot:
        """Rebuild a snapshot from ``to_json()`` data (e.g. read back from the ledger)."""
        return cls(
            key=data["key"],
            username=data["username"],
            host=data.get("host"),
            kind=data["kind"],
            is_superuser=bool(data["is_superuser"]),
            is_locked=bool(data["is_locked"]),
            valid_until=data.get("valid_until"),
            attributes=data.get("attributes") or {},
            memberships=(Membership.from_json(m) for m in data.get("memberships") or ()),
            privileges=(Privilege.from_json(p) for p in data.get("privileges") or ()),
            revoked_defaults=(Privilege.from_json(p) for p in data.get("revoked_defaults") or ()),
        )

    @functools.cached_property
    def canonical_json(self) -> str:
        """``to_json()`` as canonical text: equal snapshots give equal bytes."""
        return canonical_json(self.to_json())

    @functools.cached_property
    def digest(self) -> str:
        """SHA-256 (hex) of the canonical JSON text."""
        return _sha256(self.canonical_json)


def _sorted_accounts(accounts: Iterable[AccountSnapshot]) -> tuple[AccountSnapshot, ...]:
    return tuple(sorted(accounts, key=lambda account: account.key))


def _unique_keys(
    instance: ServerSnapshot, attribute: attrs.Attribute[Any], value: tuple[AccountSnapshot, ...]
) -> None:
    for before, after in itertools.pairwise(value):
        if before.key == after.key:
            raise ValueError(f"duplicate account key {after.key!r}")
    for account in value:
        if account.kind is AccountKind.PUBLIC:
            raise ValueError("the PUBLIC pseudo-role goes in public_privileges, not accounts")


def _optional_privileges(value: Iterable[Privilege] | None) -> frozenset[Privilege] | None:
    return None if value is None else frozenset(value)


@attrs.frozen(kw_only=True)
class ServerSnapshot:
    """One complete collection of a server's accounts.

    ``accounts`` are sorted by key (keys are unique). ``public_privileges`` holds what is granted
    to PUBLIC, apart from every role's own privileges; ``None`` when the engine has no PUBLIC.
    ``public_revoked_defaults`` are the built-in defaults revoked from PUBLIC.
    ``complete`` is False when a collector could only gather part of the server: the ledger
    then refuses to apply it.
    """

    db_type: str
    server_version: str = ""
    accounts: tuple[AccountSnapshot, ...] = attrs.field(
        default=(), converter=_sorted_accounts, validator=_unique_keys
    )
    public_privileges: frozenset[Privilege] | None = attrs.field(
        default=None, converter=_optional_privileges
    )
    public_revoked_defaults: frozenset[Privilege] = attrs.field(
        factory=frozenset, converter=_privileges
    )
    databases: tuple[str, ...] = attrs.field(default=(), converter=_names)
    complete: bool = True

    def __attrs_post_init__(self) -> None:
        if self.public_privileges is not None and any(
            account.key == PUBLIC_KEY for account in self.accounts
        ):
            raise ValueError(f"an account key {PUBLIC_KEY!r} clashes with the PUBLIC pseudo-role")

    def by_key(self) -> dict[str, AccountSnapshot]:
        return {account.key: account for account in self.accounts}

    def public_account(self) -> AccountSnapshot | None:
        """PUBLIC as a pseudo-account (key ``public``), or ``None`` without a PUBLIC."""
        if self.public_privileges is None:
            return None
        return AccountSnapshot(
            key=PUBLIC_KEY,
            username=PUBLIC_KEY,
            kind=AccountKind.PUBLIC,
            privileges=self.public_privileges,
            revoked_defaults=self.public_revoked_defaults,
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "db_type": self.db_type,
            "server_version": self.server_version,
            "databases": list(self.databases),
            "complete": self.complete,
            "accounts": [account.to_json() for account in self.accounts],
            "public_privileges": (
                None
                if self.public_privileges is None
                else [p.to_json() for p in sorted_privileges(self.public_privileges)]
            ),
        }
        if self.public_revoked_defaults:
            data["public_revoked_defaults"] = [
                p.to_json() for p in sorted_privileges(self.public_revoked_defaults)
            ]
        return data

    @property
    def canonical_json(self) -> str:
        return canonical_json(self.to_json())

    @property
    def digest(self) -> str:
        return _digest(self.to_json())
