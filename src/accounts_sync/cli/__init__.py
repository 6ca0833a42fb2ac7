"""The ``accounts-sync`` command line (also ``python -m accounts_sync``).

Every command but ``collect`` works on a database given by ``--database URL`` (default: the
environment variable ``ACCOUNTS_SYNC_DATABASE_URL``, else a SQLite file in the current
directory). The commands only parse, call the library and print; all they print goes through
one ``Terminal`` that escapes control characters and masks secrets.
"""

from __future__ import annotations

from ._main import main
from ._render import diff_summary
from ._store import LEDGER_TABLES, Store, open_store

__all__ = ["LEDGER_TABLES", "Store", "diff_summary", "main", "open_store"]
