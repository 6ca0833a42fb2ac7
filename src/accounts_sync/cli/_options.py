"""The options several commands share: ``--database``, ``--dsn``, ``--include``, ``INSTANCE``."""

from __future__ import annotations

import argparse
import os
from typing import TypeAlias

from ..sqlalchemy import DEFAULT_DEMO_URL
from ._language import LANG_ENV, LANGUAGES
from ._terminal import DATABASE_ENV, CliParser

__all__ = [
    "Commands",
    "database_option",
    "dsn_option",
    "include_option",
    "instance_argument",
    "language_option",
]

# A string: argparse's class is not subscriptable at run time.
Commands: TypeAlias = "argparse._SubParsersAction[CliParser]"


def database_option(parser: argparse.ArgumentParser, *, main: bool = False) -> None:
    """``--database`` (and ``--lang``): on the main parser with the default, on a command
    without one, so the options work before or after the command and the command's value wins.
    """
    default = os.environ.get(DATABASE_ENV, DEFAULT_DEMO_URL)
    parser.add_argument(
        "--database",
        metavar="URL",
        default=default if main else argparse.SUPPRESS,
        help=(
            f"SQLAlchemy database URL, before or after the command "
            f"(default: ${DATABASE_ENV}, else {default.replace('%', '%%')})"
        ),
    )
    if not main:
        language_option(parser)


def language_option(parser: argparse.ArgumentParser, *, main: bool = False) -> None:
    """``--lang``, before or after the command, like ``--database``."""
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=None if main else argparse.SUPPRESS,
        help=(
            f"language of every line printed (default: ${LANG_ENV}, else the locale: "
            "LC_ALL, then LANG, starting with zh means zh, anything else en)"
        ),
    )


def dsn_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dsn",
        metavar="URL",
        help=(
            "the server's URL, instead of the ACCOUNTS_SYNC_DSN_<ID> / ACCOUNTS_SYNC_DSN_<NAME> "
            "variable (visible in the process list: prefer the variable)"
        ),
    )


def include_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--include",
        action="append",
        metavar="GLOB",
        help=(
            "collect only accounts whose name matches GLOB (case-sensitive; repeatable). "
            "Use the same patterns on every sync and plan of an instance"
        ),
    )


def instance_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("instance", metavar="INSTANCE", help="instance id or name")
