"""One server change at a time through the ledger: the logged diff, the plan, the re-sync."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from accounts_sync.collectors import Collector, Privilege, ServerSnapshot, sorted_privileges
from tests.ledger._support import Setup, ledger_setup, sqlite_ledger_in


class Admin(Protocol):
    url: str

    def run(self, *statements: str) -> None: ...


def synced(admin: Admin, directory: Path, db_type: str, collector: Collector) -> Iterator[Setup]:
    """A SQLite ledger in ``directory`` after a first sync of the server (for a fixture)."""
    ledgers = sqlite_ledger_in(directory)
    setup = ledger_setup(next(ledgers), admin.url, db_type, collector)
    assert setup.sync()["success"]
    yield setup
    setup.source.dispose()
    next(ledgers, None)


def diff(**parts: Any) -> dict[str, Any]:
    """A change-log diff: the given parts, the rest empty."""
    return {
        "granted": [],
        "revoked": [],
        "memberships_granted": [],
        "memberships_revoked": [],
        "changed": {},
        **parts,
    }


def privileges(*items: Privilege) -> list[dict[str, Any]]:
    return [p.to_json() for p in sorted_privileges(items)]


def one_change(
    admin: Admin, setup: Setup, statements: list[str], expected: dict[str, dict[str, Any]]
) -> None:
    """Run ``statements``; the sync must log exactly ``expected`` (key: diff), as planned."""
    admin.run(*statements)
    mark = setup.mark()
    plan = setup.service.plan(setup.instance)
    result = setup.sync()
    assert result["success"], result["message"]
    rows = setup.changes_since(mark)
    assert {row["account_key"]: row["diff"] for row in rows} == expected
    assert {c.key: c.diff.to_json() for c in plan.changes} == expected
    before = setup.dump()
    assert setup.sync()["success"]
    assert setup.dump() == before  # the re-sync of an unchanged server writes nothing


def same_under_settings(
    url: str, collector: Collector, settings: list[str], probe: str
) -> ServerSnapshot:
    """Collect once, then in sessions with each of ``settings``: every collection must give
    the same canonical text, and leave the session's ``probe`` value as it found it."""
    engine = sa.create_engine(url)
    try:
        reference = collector.collect(engine)
        for statement in settings:
            with engine.connect() as conn:
                conn.exec_driver_sql(statement)
                conn.commit()
                before = conn.exec_driver_sql(probe).scalar()
                assert collector.collect(conn).canonical_json == reference.canonical_json
                assert conn.exec_driver_sql(probe).scalar() == before
    finally:
        engine.dispose()
    return reference
