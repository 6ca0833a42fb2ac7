"""``collect``: a live server's accounts, printed, nothing stored."""

from __future__ import annotations

import argparse

import sqlalchemy as sa

from .._errors import AccountsSyncError
from .._redaction import describe_error
from ..collectors.dsn import driver_url, engine_family
from ._connect import collectors, server_engine
from ._options import Commands, include_option, language_option
from ._render import print_snapshot
from ._terminal import Terminal

__all__ = ["add_collect_command"]


def add_collect_command(commands: Commands) -> None:
    """Register ``collect``."""
    collect = commands.add_parser(
        "collect",
        help="print a live server's accounts (no ledger)",
        description="Collect a server's accounts and print them; nothing is stored.",
    )
    collect.add_argument("url", metavar="URL", help="e.g. postgresql://user:password@host/db")
    collect.add_argument("--json", action="store_true", help="the snapshot as canonical JSON")
    include_option(collect)
    language_option(collect)
    collect.set_defaults(handler=_collect, quiet=True)


def _collect(args: argparse.Namespace, term: Terminal) -> int:
    texts = term.speech.ledger_texts
    url = driver_url(args.url, source="URL")
    backend = url.get_backend_name()
    if engine_family(backend) is None:
        raise ValueError(texts.not_a_server_url.format(backend=backend))
    collector = collectors(args.include).require(backend)
    shown = url.render_as_string(hide_password=True)
    try:
        engine = server_engine(url)
    except (ImportError, sa.exc.NoSuchModuleError):
        raise ValueError(texts.no_driver.format(driver=url.drivername)) from None
    try:
        snapshot = collector.collect(engine)
    except (sa.exc.SQLAlchemyError, AccountsSyncError) as error:
        term.error(texts.cannot_collect.format(url=shown, error=describe_error(error)))
        return 1
    finally:
        engine.dispose()
    if not snapshot.complete:
        term.error(texts.cannot_collect.format(url=shown, error=texts.incomplete))
        return 1
    if args.json:
        term.out(snapshot.canonical_json)
    else:
        print_snapshot(term, snapshot)
    return 0
