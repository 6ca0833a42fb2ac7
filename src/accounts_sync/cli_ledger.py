"""``accounts-sync`` on real servers: instances, sync, accounts, changes, plan, collect.

Credentials never enter the database: an instance's DSN comes from ``--dsn URL`` or from the
environment variable ``ACCOUNTS_SYNC_DSN_<ID>``, else ``ACCOUNTS_SYNC_DSN_<NAME>`` (see
:func:`dsn_variables`). The ledger tables live in the ``--database`` of the other commands.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeAlias

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from ._enums import SessionStatus
from ._errors import AccountsSyncError, MissingDsnError
from ._full_sync import FullSyncTask
from ._launchers import ThreadLauncher
from ._service import AccountsSyncActionsService
from ._sessions import SyncRecordInfo
from .cli import Store, _database_option, _when, open_store, print_summary, watch
from .collectors import (
    CollectionError,
    CollectorRegistry,
    MySQLCollector,
    NameFilter,
    PostgresCollector,
    ServerSnapshot,
    canonical_json,
)
from .ledger import LedgerPlan, LedgerSyncService, build_ledger_tables, describe_error
from .ports import SupportsInstance
from .sqlalchemy import InstanceRow, instances_table

__all__ = [
    "DSN_ENV_PREFIX",
    "LEDGER_TABLES",
    "MissingDsnError",
    "add_ledger_commands",
    "diff_summary",
    "driver_url",
    "dsn_variables",
    "find_instance",
    "resolve_dsn",
]

DSN_ENV_PREFIX = "ACCOUNTS_SYNC_DSN_"
LEDGER_TABLES = build_ledger_tables()
"""The ledger tables the CLI keeps in ``--database`` (default prefix ``accounts_sync_``)."""

DB_TYPES = ("postgresql", "mysql", "mariadb")
CONNECT_TIMEOUT = 10  # seconds; the collectors time out each statement themselves
DEFAULT_WORKERS = 4
DEFAULT_TIMEOUT = 120.0
DEFAULT_CHANGES_LIMIT = 50

# The engine family of a db_type or URL backend, and the driver a bare scheme maps to.
_FAMILIES = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
}
_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}
_URL_EXAMPLES = {
    "postgresql": "postgresql://USER:PASSWORD@{host}:5432/DBNAME",
    "mysql": "mysql://USER:PASSWORD@{host}:3306/mysql",
}
_LISTED = 3  # privileges named one by one in a summary line; more are only counted

# A string: argparse's class is not subscriptable at run time.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


# -- credentials ---------------------------------------------------------------------------


def dsn_variables(instance: SupportsInstance) -> tuple[str, str]:
    """The variables that may hold an instance's DSN, in the order they are read.

    ``ACCOUNTS_SYNC_DSN_<ID>`` and ``ACCOUNTS_SYNC_DSN_<NAME>``, the name upper-cased with every
    character other than ``A-Z`` and ``0-9`` replaced by ``_``.
    """
    name = re.sub(r"[^A-Z0-9]", "_", instance.name.upper())
    return f"{DSN_ENV_PREFIX}{instance.id}", f"{DSN_ENV_PREFIX}{name}"


def driver_url(dsn: str, *, source: str = "the DSN") -> sa.URL:
    """Parse a DSN; a bare ``postgresql://``/``postgres://``/``mysql://``/``mariadb://`` gets
    the installed driver (psycopg, PyMySQL). ``source`` names the DSN in errors (never its text).
    """
    try:
        url = sa.make_url(dsn.strip())
    except (sa.exc.ArgumentError, ValueError):
        # The text may hold a password that the URL redaction cannot recognise: never echo it.
        example = _URL_EXAMPLES["postgresql"].format(host="HOST")
        raise ValueError(f"{source} is not a database URL (e.g. {example})") from None
    if url.drivername in _DRIVERS:
        url = url.set(drivername=_DRIVERS[url.drivername])
    return url


def resolve_dsn(
    instance: SupportsInstance,
    *,
    explicit: str | None = None,
    environ: Mapping[str, str] | None = None,
    option_hint: bool = False,
) -> sa.URL:
    """The driver URL of an instance: ``explicit`` (``--dsn``), else its first variable set.

    Raises ``MissingDsnError`` naming the variables to set, or ``ValueError`` when the DSN is
    not a URL or not of the instance's engine.
    """
    environ = os.environ if environ is None else environ
    if explicit is not None:
        source, dsn = "--dsn", explicit
    else:
        variables = dsn_variables(instance)
        found = next(
            ((name, environ[name]) for name in variables if environ.get(name, "").strip()), None
        )
        if found is None:
            hint = " (or pass --dsn URL)" if option_hint else ""
            raise MissingDsnError(
                f"no DSN for {_label(instance)}: set {variables[0]} or {variables[1]}{hint}",
                extra={"instance_id": instance.id, "variables": list(variables)},
            )
        source, dsn = found
    url = driver_url(dsn, source=source)
    family = _FAMILIES.get(url.get_backend_name())
    if family is None or family != _FAMILIES.get(instance.db_type.strip().lower()):
        raise ValueError(
            f"{source} is a {url.get_backend_name()} URL but {_label(instance)} "
            f"is {instance.db_type}"
        )
    return url


def _server_engine(url: sa.URL) -> sa.Engine:
    options: dict[str, Any] = {"poolclass": NullPool}
    if _FAMILIES.get(url.get_backend_name()) and "connect_timeout" not in url.query:
        options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
    return sa.create_engine(url, **options)


class _Connector:
    """``LedgerSyncService``'s ``connect``: one engine per instance, from its DSN on first use.

    A missing or bad DSN raises here, so the sync of that instance alone fails, with the
    message naming the variables to set.
    """

    def __init__(self, urls: Mapping[int, sa.URL] | None = None) -> None:
        self._urls = dict(urls or {})
        self._engines: dict[int, sa.Engine] = {}
        self._lock = threading.Lock()

    def __call__(self, instance: InstanceRow) -> sa.Engine:
        with self._lock:
            engine = self._engines.get(instance.id)
            if engine is None:
                url = self._urls.get(instance.id) or resolve_dsn(instance)
                engine = self._engines[instance.id] = _server_engine(url)
            return engine

    def dispose(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()


def _name_filter(patterns: Sequence[str]) -> NameFilter:
    def include(name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)

    return include


def _collectors(patterns: Sequence[str] | None) -> CollectorRegistry:
    if not patterns:
        return CollectorRegistry.with_defaults()
    include = _name_filter(patterns)
    postgres, mysql = PostgresCollector(include=include), MySQLCollector(include=include)
    return CollectorRegistry(
        {"postgresql": postgres, "postgres": postgres, "mysql": mysql, "mariadb": mysql}
    )


# -- the store -----------------------------------------------------------------------------


@contextlib.contextmanager
def _opened(url: str) -> Iterator[Store]:
    store = open_store(url)
    try:
        LEDGER_TABLES.create_all(store.engine)
        yield store
    finally:
        store.engine.dispose()


def _ledger_service(
    store: Store, connector: _Connector, patterns: Sequence[str] | None
) -> LedgerSyncService[InstanceRow]:
    ledger = store.engine
    if ledger.dialect.name == "sqlite":
        # Concurrent syncs read then write the ledger in one transaction: on SQLite a deferred
        # BEGIN would fail the later writer at once instead of waiting for the lock.
        ledger = ledger.execution_options(sqlite_begin="IMMEDIATE")
    return LedgerSyncService(
        ledger=ledger, connect=connector, tables=LEDGER_TABLES, collectors=_collectors(patterns)
    )


class _Forced:
    """A sync service that overrides the removal guard (``sync --force``)."""

    def __init__(self, inner: LedgerSyncService[InstanceRow]) -> None:
        self.inner = inner

    def sync_accounts(
        self,
        instance: InstanceRow,
        sync_type: str = "manual_single",
        session_id: str | None = None,
        created_by: int | None = None,
    ) -> dict[str, Any]:
        return self.inner.sync_accounts(instance, sync_type, session_id, created_by, force=True)


def _instance_rows(engine: sa.Engine, *conditions: sa.ColumnElement[bool]) -> list[InstanceRow]:
    t = instances_table
    query = (
        sa.select(t.c.id, t.c.name, t.c.db_type, t.c.host, t.c.is_active, t.c.sync_count)
        .where(t.c.deleted_at.is_(None), *conditions)
        .order_by(t.c.id)
    )
    with engine.connect() as conn:
        return [
            InstanceRow(
                int(r.id), r.name, r.db_type, r.host, bool(r.is_active), int(r.sync_count or 0)
            )
            for r in conn.execute(query)
        ]


def find_instance(engine: sa.Engine, ref: str) -> InstanceRow:
    """The instance whose id (all digits) or exact name is ``ref``; ``LookupError`` if none."""
    t = instances_table
    ref = ref.strip()
    condition = t.c.id == int(ref) if ref.isdigit() else t.c.name == ref
    rows = _instance_rows(engine, condition)
    if not rows:
        raise LookupError(f"no instance {ref!r} (see `accounts-sync instances list`)")
    if len(rows) > 1:
        ids = ", ".join(str(row.id) for row in rows)
        raise LookupError(f"several instances are named {ref!r} (ids {ids}): give the id")
    return rows[0]


def _label(instance: SupportsInstance) -> str:
    return f"instance {instance.id} ({instance.name})"


def _quiet_library_logs() -> None:
    # Unconfigured, the library's structured events reach logging's last-resort handler as bare
    # event names; the CLI prints its own one-line messages instead. A host's config wins.
    library = logging.getLogger("accounts_sync")
    if not logging.getLogger().handlers and not library.handlers:
        library.addHandler(logging.NullHandler())


def _error(text: str) -> None:
    print(f"accounts-sync: error: {text}", file=sys.stderr)


# -- output --------------------------------------------------------------------------------


def _print_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], *, right: Sequence[int] = ()
) -> None:
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [
        max([len(header)] + [len(row[i]) for row in cells]) for i, header in enumerate(headers)
    ]

    def line(values: Sequence[str]) -> str:
        padded = [
            value.rjust(widths[i]) if i in right else value.ljust(widths[i])
            for i, value in enumerate(values)
        ]
        return "  ".join(padded).rstrip()

    print(line(headers))
    for row in cells:
        print(line(row))


def _yes(flag: object) -> str:
    return "yes" if flag else "no"


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


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def diff_summary(change_type: str, diff: Mapping[str, Any]) -> str:
    """One line for a change-log diff (``AccountDiff.to_json()`` data).

    An added or removed account is described (kind, flags, counts); otherwise each granted
    (``+``) or revoked (``-``) privilege and membership and each changed field is listed, more
    than three privileges on one side being counted instead.
    """
    granted, revoked = diff.get("granted") or [], diff.get("revoked") or []
    joined, left = diff.get("memberships_granted") or [], diff.get("memberships_revoked") or []
    changed: Mapping[str, Mapping[str, Any]] = diff.get("changed") or {}
    if change_type in ("added", "removed"):
        side = "after" if change_type == "added" else "before"
        privileges, memberships = (granted, joined) if change_type == "added" else (revoked, left)
        parts = [str(kind)] if (kind := changed.get("kind", {}).get(side)) else []
        parts += [
            label
            for field, label in (("is_superuser", "superuser"), ("is_locked", "locked"))
            if changed.get(field, {}).get(side)
        ]
        parts.append(_plural(len(privileges), "privilege"))
        if memberships:
            parts.append("member of " + ", ".join(m["role"] for m in memberships))
        return ", ".join(parts)
    parts = _privileges("+", granted) + _privileges("-", revoked)
    for sign, items in (("+", joined), ("-", left)):
        parts += [
            f"{sign}member of {m['role']}" + (" (admin)" if m["admin_option"] else "")
            for m in items
        ]
    parts += [
        f"{name.removeprefix('attributes.')}: {_value(values.get('before'))} -> "
        f"{_value(values.get('after'))}"
        for name, values in sorted(changed.items())
    ]
    return "; ".join(parts) or "no difference"


# -- parsers -------------------------------------------------------------------------------


def _include_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--include",
        action="append",
        metavar="GLOB",
        help=(
            "collect only accounts whose name matches GLOB (case-sensitive; repeatable). "
            "Use the same patterns on every sync and plan of an instance"
        ),
    )


def _dsn_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dsn",
        metavar="URL",
        help=(
            "the server's URL, instead of the ACCOUNTS_SYNC_DSN_<ID> / ACCOUNTS_SYNC_DSN_<NAME> "
            "variable (visible in the process list: prefer the variable)"
        ),
    )


def add_ledger_commands(commands: Commands) -> None:
    """Register ``instances``, ``sync``, ``accounts``, ``changes``, ``plan`` and ``collect``."""
    _add_instances(commands)
    _add_sync(commands)
    _add_accounts(commands)
    _add_changes(commands)
    _add_plan(commands)
    _add_collect(commands)


def _add_instances(commands: Commands) -> None:
    instances = commands.add_parser("instances", help="register, list, disable or enable instances")
    actions = instances.add_subparsers(title="actions", metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="register an instance and print its id",
        description="Register a database server; its credentials go in ACCOUNTS_SYNC_DSN_<ID>.",
    )
    _database_option(add)
    add.add_argument("name", metavar="NAME", help="unique name (not a number)")
    add.add_argument("--db-type", required=True, choices=DB_TYPES, help="the server's engine")
    add.add_argument("--host", required=True, metavar="HOST", help="where it runs (shown only)")
    add.set_defaults(handler=_instances_add)
    listing = actions.add_parser("list", help="every instance, enabled or not")
    _database_option(listing)
    listing.set_defaults(handler=_instances_list)
    for action, active in (("disable", False), ("enable", True)):
        toggle = actions.add_parser(
            action,
            help=f"{action} an instance ({'included in' if active else 'skipped by'} sync --all)",
        )
        _database_option(toggle)
        toggle.add_argument("instance", metavar="INSTANCE", help="instance id or name")
        toggle.set_defaults(handler=_instances_set_active, active=active)


def _add_sync(commands: Commands) -> None:
    sync = commands.add_parser(
        "sync",
        help="sync an instance's accounts into the ledger, or every active one (--all)",
        description=(
            "Collect the accounts of one instance and apply the changes to the ledger "
            "(exit 1 when the sync failed), or with --all run a background full sync of every "
            "active instance with live progress (exit 1 when an instance failed)."
        ),
    )
    _database_option(sync)
    sync.add_argument("instance", nargs="?", metavar="INSTANCE", help="instance id or name")
    sync.add_argument("--all", action="store_true", help="every active instance, in the background")
    _dsn_option(sync)
    _include_option(sync)
    sync.add_argument(
        "--force",
        action="store_true",
        help="apply even when more than half of the active accounts would be removed",
    )
    sync.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help=f"with --all: instances synced at once (default: {DEFAULT_WORKERS})",
    )
    sync.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help=f"with --all: per-instance timeout (default: {DEFAULT_TIMEOUT:g})",
    )
    sync.set_defaults(handler=_sync)


def _add_accounts(commands: Commands) -> None:
    accounts = commands.add_parser("accounts", help="the ledger's accounts of an instance")
    actions = accounts.add_subparsers(title="actions", metavar="ACTION")
    listing = actions.add_parser("list", help="active accounts (--all: removed ones too)")
    _database_option(listing)
    listing.add_argument("instance", metavar="INSTANCE", help="instance id or name")
    listing.add_argument("--all", action="store_true", help="include removed accounts")
    listing.set_defaults(handler=_accounts_list)


def _add_changes(commands: Commands) -> None:
    changes = commands.add_parser("changes", help="an instance's change log, newest first")
    _database_option(changes)
    changes.add_argument("instance", metavar="INSTANCE", help="instance id or name")
    changes.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_CHANGES_LIMIT,
        metavar="N",
        help="how many (default: %(default)s)",
    )
    changes.set_defaults(handler=_changes)


def _add_plan(commands: Commands) -> None:
    plan = commands.add_parser(
        "plan",
        help="dry run: what a sync would change (exit 1 when the ledger is out of date)",
        description=(
            "Collect an instance and diff it with the ledger without writing anything. "
            "Exit 0 when the ledger is up to date, 1 when a sync would change it, 2 on errors."
        ),
    )
    _database_option(plan)
    plan.add_argument("instance", metavar="INSTANCE", help="instance id or name")
    _dsn_option(plan)
    _include_option(plan)
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.set_defaults(handler=_plan)


def _add_collect(commands: Commands) -> None:
    collect = commands.add_parser(
        "collect",
        help="print a live server's accounts (no ledger)",
        description="Collect a server's accounts and print them; nothing is stored.",
    )
    collect.add_argument("url", metavar="URL", help="e.g. postgresql://user:password@host/db")
    collect.add_argument("--json", action="store_true", help="the snapshot as canonical JSON")
    _include_option(collect)
    collect.set_defaults(handler=_collect)


# -- instances -----------------------------------------------------------------------------


def _instances_add(args: argparse.Namespace) -> int:
    name, host = args.name.strip(), args.host.strip()
    if not name or not host:
        raise ValueError("NAME and --host must not be empty")
    if name.isdigit():
        raise ValueError("an instance name must not be a number (it would read as an id)")
    with _opened(args.database) as store:
        variable = dsn_variables(InstanceRow(0, name, args.db_type, host))[1]
        for row in _instance_rows(store.engine):
            if row.name == name:
                raise ValueError(f"an instance named {name!r} already exists (id {row.id})")
            if dsn_variables(row)[1] == variable:
                raise ValueError(
                    f"{_label(row)} already uses the variable {variable}: choose another name"
                )
        with store.engine.begin() as conn:
            result = conn.execute(
                instances_table.insert().values(
                    name=name, db_type=args.db_type, host=host, is_active=True, sync_count=0
                )
            )
            (new_id,) = result.inserted_primary_key or (None,)
        if new_id is None:
            raise RuntimeError("the database returned no id for the new instance")
    # Only the id on stdout, so that scripts can capture it.
    print(new_id)
    example = _URL_EXAMPLES[_FAMILIES[args.db_type]].format(host=host)
    print(
        f"set its DSN before syncing: export {DSN_ENV_PREFIX}{new_id}='{example}'", file=sys.stderr
    )
    return 0


def _instances_list(args: argparse.Namespace) -> int:
    with _opened(args.database) as store:
        rows = _instance_rows(store.engine)
    if not rows:
        print("no instances (add one with `accounts-sync instances add`)")
        return 0
    table = []
    for row in rows:
        variable = next(
            (name for name in dsn_variables(row) if os.environ.get(name, "").strip()), "-"
        )
        table.append(
            [row.id, row.name, row.db_type, row.host, _yes(row.is_active), row.sync_count, variable]
        )
    _print_table(["ID", "NAME", "TYPE", "HOST", "ACTIVE", "SYNCS", "DSN FROM"], table, right=(0, 5))
    return 0


def _instances_set_active(args: argparse.Namespace) -> int:
    with _opened(args.database) as store:
        instance = find_instance(store.engine, args.instance)
        with store.engine.begin() as conn:
            conn.execute(
                sa.update(instances_table)
                .where(instances_table.c.id == instance.id)
                .values(is_active=args.active)
            )
    print(f"{_label(instance)} {'enabled' if args.active else 'disabled'}")
    return 0


# -- sync ----------------------------------------------------------------------------------


def _sync(args: argparse.Namespace) -> int:
    _quiet_library_logs()
    if args.all == (args.instance is not None):
        raise ValueError("give either INSTANCE or --all")
    if args.all:
        return _sync_all(args)
    if args.workers is not None or args.timeout is not None:
        raise ValueError("--workers and --timeout apply to --all only")
    return _sync_one(args)


def _sync_one(args: argparse.Namespace) -> int:
    with _opened(args.database) as store:
        instance = find_instance(store.engine, args.instance)
        url = resolve_dsn(instance, explicit=args.dsn, option_hint=True)
        connector = _Connector({instance.id: url})
        service = _ledger_service(store, connector, args.include)
        actions = AccountsSyncActionsService(
            sync_service=_Forced(service) if args.force else service,
            instances=store.instances,
            sessions=store.sessions,
        )
        try:
            outcome = actions.sync_instance_accounts(instance_id=instance.id)
        finally:
            connector.dispose()
    result = outcome.result
    details = result.get("details") or {}
    if outcome.success:
        print(f"{_label(instance)}: {outcome.message}")
    else:
        _error(f"{_label(instance)}: sync failed: {outcome.message}")
        if details.get("stage") == "guard":
            print(
                f"if the accounts were really removed: accounts-sync sync {instance.id} --force",
                file=sys.stderr,
            )
    if details.get("server_version"):
        print(f"server     {details.get('db_type')} {details['server_version']}")
    for label, key in (
        ("synced", "synced_count"),
        ("added", "added_count"),
        ("modified", "modified_count"),
        ("removed", "removed_count"),
    ):
        print(f"{label:<10} {int(result.get(key) or 0)}")
    return 0 if outcome.success else 1


def _sync_all(args: argparse.Namespace) -> int:
    if args.dsn is not None:
        raise ValueError(f"--dsn is for one instance; with --all set {DSN_ENV_PREFIX}<ID> for each")
    if args.force:
        raise ValueError("--force is for one instance: `accounts-sync sync ID --force`")
    workers = DEFAULT_WORKERS if args.workers is None else args.workers
    timeout = DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    if workers < 1:
        raise ValueError("--workers must be >= 1")
    if not timeout > 0:
        raise ValueError("--timeout must be > 0")
    with _opened(args.database) as store:
        for instance in store.instances.list_active():
            # Such an instance fails alone, with this message; the others still sync.
            try:
                resolve_dsn(instance)
            except (LookupError, ValueError) as error:
                print(f"accounts-sync: warning: {error}", file=sys.stderr)
        connector = _Connector()
        service = _ledger_service(store, connector, args.include)
        actions = AccountsSyncActionsService(
            sync_service=service,
            instances=store.instances,
            sessions=store.sessions,
            sync_task=FullSyncTask(
                instances=store.instances,
                sessions=store.sessions,
                sync_service=service,
                max_workers=workers,
                instance_timeout=timeout,
            ),
            launcher=ThreadLauncher(),
        )
        try:
            prepared = actions.prepare_background_full_sync(created_by=None)
            launched = actions.launch_background_full_sync(created_by=None, prepared=prepared)
            print(
                f"session {launched.session_id}: {launched.active_instance_count} instances, "
                f"{workers} workers"
            )
            final = watch(
                store.sessions, launched.session_id, out=sys.stderr, cancel_on_interrupt=True
            )
        finally:
            connector.dispose()
        print_summary(store.sessions, final, out=sys.stdout)
        _print_records(store.sessions.list_records(final.session_id))
    return 0 if final.status is SessionStatus.COMPLETED else 1


def _print_records(records: Sequence[SyncRecordInfo]) -> None:
    print()
    _print_table(
        ["ID", "INSTANCE", "STATUS", "SYNCED", "ADDED", "MODIFIED", "REMOVED"],
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
    print(
        f"accounts     synced {sum(r.items_synced for r in records)}, "
        f"added {sum(r.items_created for r in records)}, "
        f"modified {sum(r.items_updated for r in records)}, "
        f"removed {sum(r.items_deleted for r in records)}"
    )


# -- ledger views --------------------------------------------------------------------------


def _accounts_list(args: argparse.Namespace) -> int:
    accounts = LEDGER_TABLES.accounts
    with _opened(args.database) as store:
        instance = find_instance(store.engine, args.instance)
        query = (
            sa.select(
                accounts.c.account_key,
                accounts.c.kind,
                accounts.c.is_superuser,
                accounts.c.is_locked,
                accounts.c.is_active,
                accounts.c.deactivated_at,
                accounts.c.snapshot,
            )
            .where(accounts.c.instance_id == instance.id)
            .order_by(accounts.c.account_key)
        )
        if not args.all:
            query = query.where(accounts.c.is_active.is_(True))
        with store.engine.connect() as conn:
            rows = conn.execute(query).all()
    if not rows:
        print(
            f"no accounts in the ledger of {_label(instance)} "
            f"(run `accounts-sync sync {instance.id}`)"
        )
        return 0
    headers = ["KEY", "KIND", "SUPERUSER", "LOCKED", "PRIVILEGES"]
    table: list[list[object]] = []
    for row in rows:
        line: list[object] = [
            row.account_key,
            row.kind,
            _yes(row.is_superuser),
            _yes(row.is_locked),
            len(row.snapshot.get("privileges") or ()),
        ]
        if args.all:
            line += ["active" if row.is_active else "removed", _when(row.deactivated_at)]
        table.append(line)
    if args.all:
        headers += ["STATUS", "REMOVED AT"]
    _print_table(headers, table, right=(4,))
    # The PUBLIC pseudo-role is listed but, as everywhere in the ledger, not counted.
    real = [row for row in rows if row.kind != "public"]
    active = sum(1 for row in real if row.is_active)
    summary = f"{_plural(active, 'active account')}"
    if args.all:
        summary += f", {len(real) - active} removed"
    print(summary)
    return 0


def _changes(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise ValueError("--limit must be >= 1")
    changes = LEDGER_TABLES.changes
    with _opened(args.database) as store:
        instance = find_instance(store.engine, args.instance)
        query = (
            sa.select(
                changes.c.changed_at, changes.c.change_type, changes.c.account_key, changes.c.diff
            )
            .where(changes.c.instance_id == instance.id)
            .order_by(changes.c.changed_at.desc(), changes.c.id.desc())
            .limit(args.limit)
        )
        with store.engine.connect() as conn:
            rows = conn.execute(query).all()
    if not rows:
        print(f"no changes recorded for {_label(instance)}")
        return 0
    _print_table(
        ["TIME (UTC)", "TYPE", "KEY", "CHANGE"],
        [
            [
                _when(row.changed_at),
                row.change_type,
                row.account_key,
                diff_summary(row.change_type, row.diff),
            ]
            for row in rows
        ],
    )
    return 0


# -- plan and collect ----------------------------------------------------------------------


def _plan(args: argparse.Namespace) -> int:
    _quiet_library_logs()
    with _opened(args.database) as store:
        instance = find_instance(store.engine, args.instance)
        url = resolve_dsn(instance, explicit=args.dsn, option_hint=True)
        connector = _Connector({instance.id: url})
        service = _ledger_service(store, connector, args.include)
        try:
            plan = service.plan(instance)
        except CollectionError as error:
            _error(f"{_label(instance)}: {error}")
            return 2
        finally:
            connector.dispose()
    if args.json:
        print(canonical_json(plan.to_json()))
    else:
        _print_plan(instance, plan, service.max_removal_ratio)
    return 0 if plan.is_empty else 1


def _print_plan(instance: InstanceRow, plan: LedgerPlan, max_removal_ratio: float) -> None:
    print(
        f"{_label(instance)}, {plan.db_type} {plan.server_version}: "
        f"{_plural(plan.synced_count, 'account')} on the server, "
        f"{plan.active_count} active in the ledger"
    )
    if plan.is_empty:
        print("up to date: a sync would change nothing")
        return
    _print_table(
        ["CHANGE", "KEY", "WHAT"],
        [
            [c.change_type.value, c.key, diff_summary(c.change_type.value, c.diff.to_json())]
            for c in plan.changes
        ],
    )
    print(
        f"a sync would add {plan.added_count}, modify {plan.modified_count}, remove "
        f"{plan.removed_count}" + (" and change PUBLIC" if plan.public_changed else "")
    )
    if plan.exceeds(max_removal_ratio):
        print(
            f"note: that removes more than {max_removal_ratio:.0%} of the active accounts; "
            f"`accounts-sync sync {instance.id}` refuses it without --force"
        )


def _collect(args: argparse.Namespace) -> int:
    _quiet_library_logs()
    url = driver_url(args.url, source="URL")
    backend = url.get_backend_name()
    if backend not in _FAMILIES:
        raise ValueError(f"URL must be a PostgreSQL or MySQL/MariaDB URL, not {backend}")
    collector = _collectors(args.include).require(backend)
    shown = url.render_as_string(hide_password=True)
    try:
        engine = _server_engine(url)
    except (ImportError, sa.exc.NoSuchModuleError):
        raise ValueError(f"no installed driver for {url.drivername}") from None
    try:
        snapshot = collector.collect(engine)
    except (sa.exc.SQLAlchemyError, AccountsSyncError) as error:
        _error(f"cannot collect {shown}: {describe_error(error)}")
        return 1
    finally:
        engine.dispose()
    if not snapshot.complete:
        _error(f"cannot collect {shown}: the collection was incomplete")
        return 1
    if args.json:
        print(snapshot.canonical_json)
    else:
        _print_snapshot(snapshot)
    return 0


def _print_snapshot(snapshot: ServerSnapshot) -> None:
    where = f" (database {', '.join(snapshot.databases)})" if snapshot.databases else ""
    print(
        f"{snapshot.db_type} {snapshot.server_version}{where}: "
        f"{_plural(len(snapshot.accounts), 'account')}"
    )
    if snapshot.accounts:
        _print_table(
            ["KEY", "KIND", "SUPERUSER", "LOCKED", "PRIVILEGES", "MEMBER OF"],
            [
                [
                    a.key,
                    a.kind.value,
                    _yes(a.is_superuser),
                    _yes(a.is_locked),
                    len(a.privileges),
                    ", ".join(sorted(m.role for m in a.memberships)) or "-",
                ]
                for a in snapshot.accounts
            ],
            right=(4,),
        )
    if snapshot.public_privileges is not None:
        print(f"PUBLIC holds {_plural(len(snapshot.public_privileges), 'privilege')}")
