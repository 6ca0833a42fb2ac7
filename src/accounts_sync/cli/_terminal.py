"""The one way out to the terminal: every line is escaped and redacted.

A role or instance name is data from a server or a user: its control characters (ESC, CR, BEL,
other C0/C1, newlines, bidirectional overrides) are shown as escapes, so it can neither colour
the screen nor forge a line. Passwords in URLs are masked by ``redact_text``; on stderr and in
argparse's usage, help and errors, so is every password the command line or the DSN variables
hold, in whatever form it appears.

Tables (and the progress display) come from Rich when it is installed (the ``cli`` extra),
plain aligned text otherwise or with ``ACCOUNTS_SYNC_PLAIN=1``; the cells are cleaned either
way, and Rich's markup is never interpreted.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from types import ModuleType
from typing import Any, ClassVar, NoReturn, Protocol, TextIO

import sqlalchemy as sa

from .._redaction import MASK, is_sensitive_key, redact_text
from ..collectors.dsn import DSN_ENV_PREFIX
from ._texts import Speech

__all__ = [
    "DATABASE_ENV",
    "PLAIN_ENV",
    "CliParser",
    "Terminal",
    "Writable",
    "escape_controls",
    "rich_module",
    "secrets_in",
]

DATABASE_ENV = "ACCOUNTS_SYNC_DATABASE_URL"
PLAIN_ENV = "ACCOUNTS_SYNC_PLAIN"
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Valid JSON escapes too, so ``collect --json`` stays parseable.
_KEY_VALUE = re.compile(r"(?P<key>[A-Za-z_][\w.-]*)=(?P<value>[^\s&;]+)")
_URL_PASSWORD = re.compile(r"://[^\s:/@]*:(?P<value>[^\s/]+)@")
# Shorter values would mask ordinary text everywhere; redact_text still covers them in URLs.
_MIN_SECRET = 4


class Writable(Protocol):
    """Where lines go: a text stream, or anything with its ``write``."""

    def write(self, text: str, /) -> object: ...


def escape_controls(text: str) -> str:
    """``text`` with every control character shown as ``\\n``, ``\\r``, ``\\t`` or ``\\u001b``."""
    return _CONTROL.sub(lambda m: _SHORT.get(m.group(), f"\\u{ord(m.group()):04x}"), text)


def secrets_in(values: Iterable[str]) -> frozenset[str]:
    """The passwords in ``values``: of URLs (``u:p@``, ``?password=``) and ``key=value`` DSNs."""
    found: set[str] = set()
    for value in values:
        found.update(m.group("value") for m in _URL_PASSWORD.finditer(value))
        found.update(
            m.group("value") for m in _KEY_VALUE.finditer(value) if is_sensitive_key(m.group("key"))
        )
        try:
            password = sa.make_url(value.strip()).password
        except (sa.exc.ArgumentError, ValueError):
            continue
        if password:
            found.add(str(password))
    return frozenset(secret for secret in found if len(secret) >= _MIN_SECRET)


def _environment_secrets(environ: Mapping[str, str]) -> frozenset[str]:
    return secrets_in(
        value
        for name, value in environ.items()
        if name == DATABASE_ENV or name.startswith(DSN_ENV_PREFIX)
    )


def rich_module(environ: Mapping[str, str] | None = None) -> ModuleType | None:
    """``rich`` if it is installed and ``ACCOUNTS_SYNC_PLAIN`` is not set, else ``None``."""
    environ = os.environ if environ is None else environ
    if environ.get(PLAIN_ENV, "").strip() not in ("", "0"):
        return None
    try:
        return importlib.import_module("rich")
    except ImportError:
        return None


class Terminal:
    """stdout and stderr of one command run, through :meth:`clean`, in one language."""

    def __init__(self, secrets: Iterable[str] = (), *, speech: Speech | None = None) -> None:
        # Longest first: a secret that contains another is masked whole.
        self._secrets = sorted(set(secrets), key=len, reverse=True)
        self.speech = speech or Speech("en")
        self.rich = rich_module() is not None

    @classmethod
    def for_command(cls, argv: Sequence[str], environ: Mapping[str, str] | None = None) -> Terminal:
        """A terminal that masks the passwords of ``argv`` and of the CLI's variables."""
        environ = os.environ if environ is None else environ
        terminal = cls(secrets_in(argv) | _environment_secrets(environ))
        terminal.rich = rich_module(environ) is not None
        return terminal

    def clean(self, text: object, *, mask: bool = False) -> str:
        """One line, safe to print: escaped, then redacted; with ``mask``, the known secrets
        masked too (not on stdout's data, where a password equal to an account name would
        hide that name)."""
        line = redact_text(escape_controls(str(text)))
        for secret in self._secrets if mask else ():
            line = line.replace(secret, MASK)
        return line

    @property
    def stdout(self) -> TextIO:
        return sys.stdout

    @property
    def stderr(self) -> TextIO:
        return sys.stderr

    def out(self, *lines: object) -> None:
        """Print each of ``lines`` on stdout."""
        self.write(self.stdout, lines)

    def err(self, *lines: object) -> None:
        """Print each of ``lines`` on stderr, known secrets masked."""
        self.write(self.stderr, lines, mask=True)

    def error(self, text: object) -> None:
        """The CLI's one-line error on stderr."""
        self.err(f"accounts-sync: error: {text}")

    def write(
        self, stream: Writable, lines: Iterable[object], *, end: str = "\n", mask: bool = False
    ) -> None:
        for line in lines:
            stream.write(self.clean(line, mask=mask) + end)
        flush = getattr(stream, "flush", None)
        if flush is not None:
            flush()

    def block(self, stream: Writable, text: str) -> None:
        """Print a multi-line text (help, usage, argparse errors) line by line, secrets masked."""
        self.write(stream, text.splitlines(), mask=True)

    def table(
        self, headers: Sequence[str], rows: Iterable[Sequence[object]], *, right: Sequence[int] = ()
    ) -> None:
        """Print ``rows`` under ``headers`` in aligned columns; ``right`` columns right-aligned."""
        cells = [[self.clean(cell) for cell in row] for row in rows]
        if self.rich:
            self._rich_table(headers, cells, right)
            return
        widths = [
            max([len(header)] + [len(row[i]) for row in cells]) for i, header in enumerate(headers)
        ]

        def line(values: Sequence[str]) -> str:
            padded = [
                value.rjust(widths[i]) if i in right else value.ljust(widths[i])
                for i, value in enumerate(values)
            ]
            return "  ".join(padded).rstrip()

        self.out(line(headers), *(line(row) for row in cells))

    def _rich_table(
        self, headers: Sequence[str], cells: Sequence[Sequence[str]], right: Sequence[int]
    ) -> None:
        from rich.table import Table
        from rich.text import Text

        # No box on a pipe: the columns stay whitespace-separated for scripts.
        table = Table(box=None, pad_edge=False, header_style="bold")
        for index, header in enumerate(headers):
            table.add_column(header, justify="right" if index in right else "left", no_wrap=True)
        for row in cells:
            table.add_row(*(Text(cell) for cell in row))  # Text: no markup in data
        self.console(self.stdout).print(table)

    def console(self, stream: TextIO) -> Any:
        """A Rich console on ``stream``; as wide as needed when it is not a terminal."""
        from rich.console import Console

        live = stream.isatty()
        return Console(
            file=stream,
            width=None if live else 10_000,
            highlight=False,
            markup=False,
            emoji=False,
            color_system="auto" if live else None,
        )


class CliParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage, help and errors go through a ``Terminal``.

    So an error that echoes an argument, or a help text that shows the default
    ``--database``, never prints a password. Sub-parsers inherit the class, hence the terminal.
    """

    terminal: ClassVar[Terminal] = Terminal()

    @classmethod
    def on(cls, terminal: Terminal) -> type[CliParser]:
        """This class bound to ``terminal``."""
        return type(cls.__name__, (cls,), {"terminal": terminal})

    def print_usage(self, file: Writable | None = None) -> None:
        self.terminal.block(file or self.terminal.stdout, self.format_usage())

    def print_help(self, file: Writable | None = None) -> None:
        self.terminal.block(file or self.terminal.stdout, self.format_help())

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self.terminal.block(self.terminal.stderr, message)
        sys.exit(status)

    def error(self, message: str) -> NoReturn:
        self.print_usage(self.terminal.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")
