"""``sync``, ``accounts list``, ``changes`` and ``plan``: an instance's accounts in the ledger.

Credentials never enter the database: an instance's DSN comes from ``--dsn URL`` or from
``ACCOUNTS_SYNC_DSN_<ID>``/``<NAME>`` (see ``accounts_sync.collectors.dsn``).
"""

from __future__ import annotations

import argparse

from .._enums import SessionStatus
from .._full_sync import FullSyncTask
from .._launchers import ThreadLauncher
from .._service import AccountsSyncActionsService
from ..collectors import CollectionError, canonical_json
from ..collectors.dsn import DSN_ENV_PREFIX, resolve_dsn
from ._connect import Connector, Forced, ledger_service
from ._options import Commands, database_option, dsn_option, include_option, instance_argument
from ._render import label, pad, print_accounts, print_changes, print_plan, print_records
from ._sessions import print_summary, watch
from ._store import find_instance, opened
from ._terminal import Terminal

__all__ = ["add_ledger_commands"]

DEFAULT_WORKERS = 4
DEFAULT_TIMEOUT = 120.0
DEFAULT_CHANGES_LIMIT = 50
_COUNTER_KEYS = ("synced_count", "added_count", "modified_count", "removed_count")


def add_ledger_commands(commands: Commands) -> None:
    """Register ``sync``, ``accounts``, ``changes`` and ``plan``."""
    _add_sync(commands)
    accounts = commands.add_parser("accounts", help="the ledger's accounts of an instance")
    actions = accounts.add_subparsers(title="actions", metavar="ACTION")
    listing = actions.add_parser("list", help="active accounts (--all: removed ones too)")
    database_option(listing)
    instance_argument(listing)
    listing.add_argument("--all", action="store_true", help="include removed accounts")
    listing.set_defaults(handler=_accounts_list)
    changes = commands.add_parser("changes", help="an instance's change log, newest first")
    database_option(changes)
    instance_argument(changes)
    changes.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_CHANGES_LIMIT,
        metavar="N",
        help="how many (default: %(default)s)",
    )
    changes.set_defaults(handler=_changes)
    plan = commands.add_parser(
        "plan",
        help="dry run: what a sync would change (exit 1 when the ledger is out of date)",
        description=(
            "Collect an instance and diff it with the ledger without writing anything. "
            "Exit 0 when the ledger is up to date, 1 when a sync would change it, 2 on errors."
        ),
    )
    database_option(plan)
    instance_argument(plan)
    dsn_option(plan)
    include_option(plan)
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.set_defaults(handler=_plan, quiet=True)


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
    database_option(sync)
    sync.add_argument("instance", nargs="?", metavar="INSTANCE", help="instance id or name")
    sync.add_argument("--all", action="store_true", help="every active instance, in the background")
    dsn_option(sync)
    include_option(sync)
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
    sync.set_defaults(handler=_sync, quiet=True)


def _sync(args: argparse.Namespace, term: Terminal) -> int:
    if args.all == (args.instance is not None):
        raise ValueError("give either INSTANCE or --all")
    if args.all:
        return _sync_all(args, term)
    if args.workers is not None or args.timeout is not None:
        raise ValueError("--workers and --timeout apply to --all only")
    return _sync_one(args, term)


def _sync_one(args: argparse.Namespace, term: Terminal) -> int:
    with opened(args.database) as store:
        instance = find_instance(store, args.instance)
        url = resolve_dsn(instance, explicit=args.dsn, option_hint=True)
        connector = Connector({instance.id: url})
        service = ledger_service(store, connector, args.include, term.speech.ledger)
        actions = AccountsSyncActionsService(
            sync_service=Forced(service) if args.force else service,
            instances=store.instances,
            sessions=store.sessions,
            messages=term.speech.messages,
        )
        try:
            outcome = actions.sync_instance_accounts(instance_id=instance.id)
        finally:
            connector.dispose()
    texts = term.speech.texts
    result = outcome.result
    details = result.get("details") or {}
    shown = texts.instance.format(id=instance.id, name=instance.name)
    if not outcome.success:
        # A failed sync changed nothing: its error line, no counters.
        term.error(texts.sync_failed.format(instance=shown, message=outcome.message))
        if details.get("stage") == "guard":
            term.err(texts.force_hint.format(id=instance.id))
        return 1
    term.out(f"{shown}: {outcome.message}")
    if details.get("server_version"):
        term.out(f"{pad(texts.server, 11)}{details.get('db_type')} {details['server_version']}")
    term.out(
        *(
            f"{pad(name, 11)}{int(result.get(key) or 0)}"
            for name, key in zip(texts.counters, _COUNTER_KEYS, strict=True)
        )
    )
    return 0


def _sync_all(args: argparse.Namespace, term: Terminal) -> int:
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
    with opened(args.database) as store:
        for instance in store.instances.list_active():
            # Such an instance fails alone, with this message; the others still sync.
            try:
                resolve_dsn(instance)
            except (LookupError, ValueError) as error:
                term.err(f"accounts-sync: warning: {error}")
        connector = Connector()
        service = ledger_service(store, connector, args.include)
        actions = AccountsSyncActionsService(
            sync_service=service,
            instances=store.instances,
            sessions=store.sessions,
            messages=term.speech.messages,
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
            term.out(
                term.speech.texts.launched.format(
                    session_id=launched.session_id,
                    instances=launched.active_instance_count,
                    workers=workers,
                )
            )
            final = watch(store.sessions, launched.session_id, term=term, cancel_on_interrupt=True)
        finally:
            connector.dispose()
        print_summary(term, store.sessions, final)
        if final.status is not SessionStatus.FAILED:  # a failed run has no results to list
            print_records(term, store.sessions.list_records(final.session_id))
    return 0 if final.status is SessionStatus.COMPLETED else 1


def _accounts_list(args: argparse.Namespace, term: Terminal) -> int:
    with opened(args.database) as store:
        instance = find_instance(store, args.instance)
        accounts = store.ledger.accounts(instance.id, include_removed=args.all)
    if not accounts:
        shown = label(instance, term.speech.texts)
        term.out(term.speech.ledger_texts.no_accounts.format(instance=shown, id=instance.id))
        return 0
    print_accounts(term, accounts, removed=args.all)
    return 0


def _changes(args: argparse.Namespace, term: Terminal) -> int:
    texts = term.speech.ledger_texts
    if args.limit < 1:
        raise ValueError(texts.limit_min)
    with opened(args.database) as store:
        instance = find_instance(store, args.instance)
        changes = store.ledger.changes(instance.id, limit=args.limit)
    if not changes:
        term.out(texts.no_changes.format(instance=label(instance, term.speech.texts)))
        return 0
    print_changes(term, changes)
    return 0


def _plan(args: argparse.Namespace, term: Terminal) -> int:
    with opened(args.database) as store:
        instance = find_instance(store, args.instance)
        url = resolve_dsn(instance, explicit=args.dsn, option_hint=True)
        connector = Connector({instance.id: url})
        service = ledger_service(store, connector, args.include, term.speech.ledger)
        try:
            plan = service.plan(instance)
        except CollectionError as error:
            term.error(f"{label(instance, term.speech.texts)}: {error}")
            return 2
        finally:
            connector.dispose()
    if args.json:
        term.out(canonical_json(plan.to_json()))
    else:
        print_plan(term, instance, plan, service.max_removal_ratio)
    return 0 if plan.is_empty else 1
