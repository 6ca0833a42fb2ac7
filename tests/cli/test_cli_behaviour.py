"""The CLI's shape: options anywhere, one-line errors, Rich or plain output, honest progress,
and a demo fleet with realistic names."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest

from accounts_sync import SyncCategory, SyncSessionInfo, SyncType
from accounts_sync.cli import main, open_store
from accounts_sync.cli._demo import demo_instances
from accounts_sync.cli._progress import PlainProgress, RichProgress
from accounts_sync.cli._render import progress_line
from accounts_sync.cli._terminal import PLAIN_ENV, Terminal
from accounts_sync.cli._texts import CliTexts
from accounts_sync.sqlalchemy import sqlite_url
from tests.cli._support import run_cli

PASSWORD = "pw-s3cret-42"
ENGINES = {"pg": ("postgresql", 5432), "mysql": ("mysql", 3306), "mariadb": ("mysql", 3306)}


@pytest.fixture
def database(tmp_path: Path) -> str:
    return sqlite_url(tmp_path / "cli.sqlite3")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code, out, err = run_cli(capsys, *argv)
    assert PASSWORD not in out + err
    return code, out, err


def _info(status: str, *, total: int = 10, ok: int = 0, failed: int = 0, cancelled: int = 0):
    return SyncSessionInfo(
        session_id="s-1",
        sync_type=SyncType.MANUAL_TASK,
        sync_category=SyncCategory.ACCOUNT,
        status=status,
        total_instances=total,
        successful_instances=ok,
        failed_instances=failed,
        cancelled_instances=cancelled,
    )


@pytest.mark.parametrize("where", ["before", "after"])
def test_database_works_before_or_after_the_command(
    where: str, database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--database", database, "--instances", "3", "--latency", "0"]) == 0
    argv = ["--database", database, "sessions", "list"]
    if where == "after":
        argv = ["sessions", "list", "--database", database]
    code, out, _ = _run(capsys, *argv)
    assert code == 0
    assert "manual_task" in out  # the demo's session, in that database


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        f"nosuchdb://app:{PASSWORD}@h/db",
        f"postgresql://app:{PASSWORD}@127.0.0.1:1/none?connect_timeout=1",
    ],
)
def test_a_bad_or_unreachable_database_is_one_redacted_line(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "sessions", "list", "--database", url)
    assert (code, out, err.count("\n")) == (2, "", 1)
    assert err.startswith("accounts-sync: error: ")


def test_a_missing_driver_is_one_redacted_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for module in ("pymysql", "MySQLdb", "mysql", "mysql.connector"):
        monkeypatch.setitem(sys.modules, module, None)  # importing it raises ImportError
    url = f"mysql://app:{PASSWORD}@127.0.0.1:3306/app"
    code, out, err = _run(capsys, "sessions", "list", "--database", url)
    assert (code, out, err.count("\n")) == (2, "", 1)
    assert err.startswith("accounts-sync: error: ")
    assert "accounts-sync[" in err  # names the extra to install


def test_the_conflict_exit_says_error_and_suggests_reap(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    running = open_store(database).sessions.create_session(
        sync_type=SyncType.MANUAL_TASK, sync_category=SyncCategory.ACCOUNT, created_by=None
    )
    code, _, err = _run(capsys, "demo", "--database", database, "--instances", "3")
    assert code == 3
    assert err.startswith("accounts-sync: error: ") and err.count("\n") == 1
    assert running.session_id in err and "accounts-sync reap" in err


def test_rich_is_used_when_installed_unless_plain_is_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Terminal.for_command([], environ={}).rich
    assert not Terminal.for_command([], environ={PLAIN_ENV: "1"}).rich
    monkeypatch.setitem(sys.modules, "rich", None)
    assert not Terminal.for_command([], environ={}).rich


@pytest.mark.parametrize("rich", [True, False])
def test_tables_keep_their_columns_with_or_without_rich(
    rich: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    term = Terminal()
    term.rich = rich
    term.table(["ID", "NAME [b]"], [[1, "[red]x[/red]"], [22, "evil\x1b[31m"]], right=(0,))
    lines = capsys.readouterr().out.splitlines()
    assert [line.split() for line in lines] == [
        ["ID", "NAME", "[b]"],
        ["1", "[red]x[/red]"],  # Rich markup in data is shown, not applied
        ["22", "evil\\u001b[31m"],
    ]
    assert lines[1].index("1") == lines[2].index("2") + 1  # right-aligned ids


def test_the_rich_progress_bar_shows_done_of_total() -> None:
    from rich.console import Console

    stream = io.StringIO()
    display = RichProgress(Terminal(), Console(file=stream, force_terminal=True, width=100))
    display.show(_info("running", ok=3, failed=1))
    display.show(_info("completed", ok=9, failed=1))
    display.close()
    shown = stream.getvalue()
    assert "10/10" in shown and "━" in shown and "ok=9 failed=1" in shown


def test_the_plain_progress_skips_the_pending_zero_of_zero(
    capsys: pytest.CaptureFixture[str],
) -> None:
    display = PlainProgress(Terminal())
    display.show(_info("pending", total=0))
    display.show(_info("running", ok=5))
    display.close()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "5/10" in lines[0]


def test_the_demos_first_progress_line_has_instances(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, err = _run(capsys, "demo", "--database", database, "--instances", "30", "--latency", "1")
    assert "0/0" not in err and "pending" not in err
    assert err.splitlines()[0].split()[2].endswith("/30")


def test_a_cancelled_session_does_not_show_100_percent() -> None:
    line = progress_line(_info("cancelled", ok=3, failed=1, cancelled=6), CliTexts())
    assert " 40.00% " in line and "10/10" in line
    assert "100" not in line


def test_the_demo_fleet_has_consistent_names_and_dsns() -> None:
    fleet = demo_instances(60)
    assert len({item.name for item in fleet}) == 60
    assert fleet[0].name == "pg-orders-01"
    for item in fleet:
        prefix, application, _number = re.fullmatch(
            r"(pg|mysql|mariadb|mssql|oracle)-([a-z]+)-(\d{2})", item.name
        ).groups()  # type: ignore[union-attr]
        assert item.host == f"{item.name}.internal"
        assert item.dsn.endswith(f"@{item.host}:{item.dsn.rsplit(':', 1)[1]}")
        assert item.dsn.endswith(f"/{application}")
        if prefix in ENGINES:
            scheme, port = ENGINES[prefix]
            assert item.dsn.startswith(f"{scheme}://sync:")
            assert f":{port}/" in item.dsn


def test_the_demo_never_prints_a_dsn_password(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = ["demo", "--instances", "20", "--failure-rate", "1", "--latency", "0"]
    _, out, err = _run(capsys, *demo, "--database", database)
    assert "could not connect to" in out
    assert "demo-s3cret" not in out + err
    assert "sync:***@" in out
