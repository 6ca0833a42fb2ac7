"""``instances add``/``list``/``disable``/``enable``: the instances a ledger syncs."""

from __future__ import annotations

import argparse
import os

from ..collectors.dsn import DSN_ENV_PREFIX, dsn_example, dsn_variables
from ..sqlalchemy import InstanceRow
from ._options import Commands, database_option, instance_argument
from ._render import label, yes
from ._store import find_instance, opened
from ._terminal import Terminal

__all__ = ["DB_TYPES", "add_instance_commands"]

DB_TYPES = ("postgresql", "mysql", "mariadb")


def add_instance_commands(commands: Commands) -> None:
    """Register ``instances`` and its actions."""
    instances = commands.add_parser("instances", help="register, list, disable or enable instances")
    actions = instances.add_subparsers(title="actions", metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="register an instance and print its id",
        description="Register a database server; its credentials go in ACCOUNTS_SYNC_DSN_<ID>.",
    )
    database_option(add)
    add.add_argument("name", metavar="NAME", help="unique name (not a number)")
    add.add_argument("--db-type", required=True, choices=DB_TYPES, help="the server's engine")
    add.add_argument("--host", required=True, metavar="HOST", help="where it runs (shown only)")
    add.set_defaults(handler=_add)
    listing = actions.add_parser("list", help="every instance, enabled or not")
    database_option(listing)
    listing.set_defaults(handler=_list)
    for action, active in (("disable", False), ("enable", True)):
        toggle = actions.add_parser(
            action,
            help=f"{action} an instance ({'included in' if active else 'skipped by'} sync --all)",
        )
        database_option(toggle)
        instance_argument(toggle)
        toggle.set_defaults(handler=_set_active, active=active)


def _add(args: argparse.Namespace, term: Terminal) -> int:
    texts = term.speech.ledger_texts
    name, host = args.name.strip(), args.host.strip()
    if not name or not host:
        raise ValueError(texts.empty_name)
    if name.isdigit():
        raise ValueError(texts.numeric_name)
    with opened(args.database) as store:
        variable = dsn_variables(InstanceRow(0, name, args.db_type, host))[1]
        for row in store.instances.list_all():
            if row.name == name:
                raise ValueError(texts.name_taken.format(name=repr(name), id=row.id))
            if dsn_variables(row)[1] == variable:
                shown = label(row, term.speech.texts)
                raise ValueError(texts.variable_taken.format(instance=shown, variable=variable))
        new_id = store.instances.add(name=name, db_type=args.db_type, host=host)
    # Only the id on stdout, so that scripts can capture it.
    term.out(new_id)
    # Not as ``VAR='URL'``: the redaction masks a DSN assignment whole, placeholder or not.
    term.err(
        texts.dsn_hint.format(
            variable=f"{DSN_ENV_PREFIX}{new_id}", example=dsn_example(args.db_type, host)
        )
    )
    return 0


def _list(args: argparse.Namespace, term: Terminal) -> int:
    texts = term.speech.ledger_texts
    with opened(args.database) as store:
        rows = store.instances.list_all()
    if not rows:
        term.out(texts.no_instances)
        return 0
    table = []
    for row in rows:
        variable = next(
            (name for name in dsn_variables(row) if os.environ.get(name, "").strip()), "-"
        )
        table.append(
            [
                row.id,
                row.name,
                row.db_type,
                row.host,
                yes(row.is_active, texts),
                row.sync_count,
                variable,
            ]
        )
    term.table(texts.instances_header, table, right=(0, 5))
    return 0


def _set_active(args: argparse.Namespace, term: Terminal) -> int:
    texts = term.speech.ledger_texts
    with opened(args.database) as store:
        instance = find_instance(store, args.instance)
        store.instances.set_active(instance.id, args.active)
    line = texts.enabled if args.active else texts.disabled
    term.out(line.format(instance=label(instance, term.speech.texts)))
    return 0
