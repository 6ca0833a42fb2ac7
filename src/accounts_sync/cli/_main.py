"""The parser and the dispatch: one handler per command, errors as one line and an exit code."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

import sqlalchemy as sa

from .._errors import ConflictError
from .._redaction import describe_error
from ._collect import add_collect_command
from ._instances import add_instance_commands
from ._language import choose_language
from ._ledger import add_ledger_commands
from ._options import database_option, language_option
from ._sessions import add_session_commands
from ._terminal import CliParser, Terminal
from ._texts import Speech

__all__ = ["main"]

Handler = Callable[[argparse.Namespace, Terminal], int]
_DRIVER_HINT = 'pip install "accounts-sync[postgresql]" or "accounts-sync[mysql]"'


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    term = Terminal.for_command(arguments)
    parser = _parser(term)
    args = parser.parse_args(arguments)
    try:
        term.speech = Speech(choose_language(args.lang, os.environ))
    except ValueError as error:
        term.error(error)
        return 2
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    if getattr(args, "quiet", False):
        _quiet_library_logs()
    return _run(handler, args, term)


def _run(handler: Handler, args: argparse.Namespace, term: Terminal) -> int:
    """The handler's exit code; every failure one redacted line, never a traceback."""
    try:
        return handler(args, term)
    except KeyboardInterrupt:
        term.err(f"accounts-sync: {term.speech.texts.interrupted}")
        return 130
    except ConflictError as error:
        session_id = error.extra.get("session_id")
        term.error(term.speech.texts.conflict.format(error=error, session_id=session_id))
        return 3
    except (ValueError, LookupError) as error:
        term.error(error)
        return 2
    except sa.exc.SQLAlchemyError as error:
        # An unreachable or unusable --database: one redacted line, not a traceback.
        term.error(f"database: {describe_error(error)}")
        return 2
    except ImportError as error:
        # A URL whose driver is not installed: name the extra that brings it.
        text = describe_error(error)
        term.error(text if "accounts-sync[" in text else f"{text} ({_DRIVER_HINT})")
        return 2
    except Exception as error:
        term.error(describe_error(error))
        return 2


def _parser(term: Terminal) -> argparse.ArgumentParser:
    parser = CliParser.on(term)(
        prog="accounts-sync",
        description="Orchestrate database-account synchronisation (accounts_sync).",
    )
    database_option(parser, main=True)
    language_option(parser, main=True)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    add_session_commands(commands)
    add_instance_commands(commands)
    add_ledger_commands(commands)
    add_collect_command(commands)
    return parser


def _quiet_library_logs() -> None:
    # Unconfigured, the library's structured events reach logging's last-resort handler as bare
    # event names; the commands on real servers print their own one-line messages instead.
    # A host's config wins.
    library = logging.getLogger("accounts_sync")
    if not logging.getLogger().handlers and not library.handlers:
        library.addHandler(logging.NullHandler())
