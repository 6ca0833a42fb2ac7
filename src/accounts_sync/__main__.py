"""``python -m accounts_sync``: the same CLI as ``accounts-sync``."""

from accounts_sync.cli import main

raise SystemExit(main())
