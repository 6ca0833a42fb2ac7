"""Nothing secret or hostile reaches the terminal: every line the CLI prints is escaped (control
characters shown, never written) and redacted, including argparse's usage, help and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from accounts_sync.cli import LEDGER_TABLES, main, open_store
from accounts_sync.cli._render import print_plan, print_snapshot
from accounts_sync.cli._terminal import Terminal, escape_controls, secrets_in
from accounts_sync.collectors import (
    AccountSnapshot,
    CollectorRegistry,
    Membership,
    ServerSnapshot,
    StaticCollector,
)
from accounts_sync.ledger import LedgerSyncService
from accounts_sync.sqlalchemy import InstanceRow, sqlite_url
from tests.cli._support import run_cli

HOSTILE = "evil\x1b[31mred\x07\rforged line\nSECOND\x9b2J\u202e"
PASSWORD = "hunter2-s3cret"
# The three forms a password is written in.
SECRET_FORMS = [
    f"postgresql://app:{PASSWORD}@db.internal:5432/app",
    f"postgresql://app@db.internal/app?sslmode=require&password={PASSWORD}",
    f"host=db.internal user=app password={PASSWORD} dbname=app",
]


def _safe(text: str) -> None:
    """No control character but the newlines that end lines, and no password."""
    assert PASSWORD not in text
    assert not any(ch in text for ch in "\x1b\x07\r\x9b\u202e"), repr(text)


@pytest.fixture
def database(tmp_path: Path) -> str:
    return sqlite_url(tmp_path / "out.sqlite3")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code, out, err = run_cli(capsys, *argv)
    _safe(out + err)
    return code, out, err


def test_escape_controls_shows_every_control_character() -> None:
    assert escape_controls("a\x1b[31mb\rc\nd\te\x07f\x85g\u2028") == (
        "a\\u001b[31mb\\rc\\nd\\te\\u0007f\\u0085g\\u2028"
    )
    assert escape_controls("plain 中文 text") == "plain 中文 text"


@pytest.mark.parametrize("form", SECRET_FORMS)
def test_terminal_masks_command_line_passwords_in_every_form(form: str) -> None:
    assert PASSWORD in secrets_in([form])
    term = Terminal.for_command(["collect", form], environ={})
    assert PASSWORD not in term.clean(f"could not connect: {form}", mask=True)
    assert "db.internal" in term.clean(f"could not connect: {form}", mask=True)


def test_a_hostile_instance_name_cannot_forge_lines(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(
        capsys,
        "instances",
        "add",
        HOSTILE,
        "--db-type",
        "postgresql",
        "--host",
        "h\x1b[2J",
        "--database",
        database,
    )
    assert (code, out) == (0, "1\n")
    _, listing, _ = _run(capsys, "instances", "list", "--database", database)
    assert len(listing.splitlines()) == 2  # the header and one row
    assert "evil\\u001b[31mred\\u0007\\rforged line\\nSECOND\\u009b2J\\u202e" in listing
    code, _, err = _run(capsys, "sync", "1", "--database", database)
    assert code == 2
    assert err.count("\n") == 1
    _, out, _ = _run(capsys, "instances", "disable", "1", "--database", database)
    assert out.count("\n") == 1


def test_changes_and_accounts_show_hostile_keys_on_one_line(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(database)
    instance = store.instances.add(name="pg", db_type="postgresql", host="h")
    LEDGER_TABLES.create_all(store.engine)
    diff = {"changed": {"kind": {"before": None, "after": f"user\n{HOSTILE}"}}}
    snapshot = {"privileges": [], "note": HOSTILE}
    with store.engine.begin() as conn:
        conn.execute(
            LEDGER_TABLES.changes.insert().values(
                instance_id=instance,
                account_key=HOSTILE,
                kind="user",
                change_type="added",
                diff=diff,
                changed_at=sa.func.current_timestamp(),
            )
        )
        conn.execute(
            LEDGER_TABLES.accounts.insert().values(
                instance_id=instance,
                account_key=HOSTILE,
                username=HOSTILE,
                kind=f"user{HOSTILE}",
                first_seen_at=sa.func.current_timestamp(),
                last_seen_at=sa.func.current_timestamp(),
                snapshot=snapshot,
                digest="0" * 64,
            )
        )
    store.engine.dispose()
    code, changes, _ = _run(capsys, "changes", "pg", "--database", database)
    assert code == 0
    assert len(changes.splitlines()) == 2
    code, accounts, _ = _run(capsys, "accounts", "list", "pg", "--database", database)
    assert code == 0
    assert len(accounts.splitlines()) == 3  # header, the account, the count


def _snapshot() -> ServerSnapshot:
    return ServerSnapshot(
        db_type="postgresql",
        server_version=f"15{HOSTILE}",
        accounts=[
            AccountSnapshot(
                key=HOSTILE,
                username=HOSTILE,
                memberships=[Membership(f"grp{HOSTILE}")],
            )
        ],
        databases=[f"app{HOSTILE}"],
    )


def test_collect_output_and_json_are_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    term = Terminal()
    print_snapshot(term, _snapshot())
    table = capsys.readouterr().out
    _safe(table)
    assert len(table.splitlines()) == 3  # summary, header, one account
    term.out(_snapshot().canonical_json)
    as_json = capsys.readouterr().out
    _safe(as_json)
    assert json.loads(as_json)["accounts"][0]["key"] == HOSTILE  # still valid JSON


def test_plan_lines_are_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    engine = sa.create_engine(sqlite_url(tmp_path / "plan.sqlite3"))
    LEDGER_TABLES.create_all(engine)
    instance = InstanceRow(1, HOSTILE, "postgresql", "h")
    service = LedgerSyncService[InstanceRow](
        ledger=engine,
        connect=lambda _: engine,
        tables=LEDGER_TABLES,
        collectors=CollectorRegistry({"postgresql": StaticCollector(_snapshot())}),
    )
    print_plan(Terminal(), instance, service.plan(instance), 0.5)
    out = capsys.readouterr().out
    _safe(out)
    assert len(out.splitlines()) == 4  # summary, header, the added account, the totals
    engine.dispose()


@pytest.mark.parametrize("form", SECRET_FORMS)
def test_argparse_errors_never_echo_a_password(
    form: str, database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (
        ["sessions", "list", "--database", database, form],
        ["sync", "1", "--dsn", form, "--workers", "many"],
        ["sessions", "list", "--limit", "x", "--database", form],
    ):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2
        out, err = capsys.readouterr()
        _safe(out + err)
        assert "error:" in err


@pytest.mark.parametrize("form", SECRET_FORMS[:2])
def test_help_shows_the_default_database_redacted(
    form: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ACCOUNTS_SYNC_DATABASE_URL", form)
    for argv in (["sessions", "list", "--help"], ["demo", "--help"], ["--help"]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 0
        out, err = capsys.readouterr()
        _safe(out + err)
        assert "***" in out or argv == ["--help"]


def test_errors_and_database_errors_are_redacted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(
        capsys,
        "sessions",
        "list",
        "--database",
        f"postgresql://app:{PASSWORD}@127.0.0.1:1/none?connect_timeout=1",
    )
    assert code == 2
    assert err.startswith("accounts-sync: error: database: ")
    code, _, err = _run(capsys, "collect", f"oracle://app:{PASSWORD}@h/db")
    assert (code, err.count("\n")) == (2, 1)
