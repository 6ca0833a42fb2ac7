"""The ``accounts-sync`` command line, run in-process on a SQLite file and as a subprocess."""

from __future__ import annotations

import datetime as dt
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from accounts_sync import SessionStatus, SyncCategory, SyncType
from accounts_sync.cli import main, open_store
from accounts_sync.sqlalchemy import SqlAlchemySyncSessionRepository, sqlite_url
from accounts_sync.testing import ManualClock


@pytest.fixture
def database(tmp_path: Path) -> str:
    return sqlite_url(tmp_path / "cli.sqlite3")


def _demo(database: str, *extra: str) -> int:
    return main(
        [
            "demo",
            "--database",
            database,
            "--instances",
            "40",
            "--latency",
            "2",
            "--workers",
            "8",
            "--timeout",
            "0.3",
            *extra,
        ]
    )


def _counter(output: str, name: str) -> int:
    match = re.search(rf"^{name}\s+(\d+)$", output, re.MULTILINE)
    assert match, f"no {name!r} line in:\n{output}"
    return int(match.group(1))


def test_demo_runs_a_full_sync_whose_counters_add_up(database: str, capsys) -> None:
    assert _demo(database, "--failure-rate", "0.2") == 0
    out = capsys.readouterr().out
    total, ok, failed, cancelled = (
        _counter(out, name) for name in ("total", "successful", "failed", "cancelled")
    )
    assert total == 40
    assert ok + failed + cancelled == total
    assert failed >= 1  # the failure rate and the hanging instance guarantee some
    assert "(adds up)" in out
    assert "hunter2" not in out  # the simulated connection error's password is redacted


def test_demo_twice_reuses_the_database_and_keeps_history(database: str, capsys) -> None:
    assert _demo(database) == 0
    assert main(["demo", "--database", database, "--instances", "10", "--latency", "1"]) == 0
    capsys.readouterr()
    assert main(["sessions", "list", "--database", database]) == 0
    listing = capsys.readouterr().out
    assert len(re.findall(r"^[0-9a-f-]{36}\s", listing, re.MULTILINE)) == 2
    latest = open_store(database).sessions.list_sessions(limit=1)[0]
    assert latest.total_instances == 10  # the second demo replaced the simulated fleet


def test_sessions_show_prints_counters_progress_and_failed_records(database: str, capsys) -> None:
    _demo(database, "--failure-rate", "0.5")
    capsys.readouterr()
    session = open_store(database).sessions.list_sessions(limit=1)[0]
    assert main(["sessions", "show", "--database", database, session.session_id]) == 0
    out = capsys.readouterr().out
    assert f"session      {session.session_id}" in out
    assert "progress     100.00%" in out
    assert f"failed instances ({session.failed_instances}):" in out


def _failed_lines(output: str) -> list[int]:
    return [int(m) for m in re.findall(r"^  +(\d+)  db-", output, re.MULTILINE)]


def test_sessions_show_pages_the_records(database: str, capsys) -> None:
    sessions = open_store(database).sessions
    info = sessions.create_session(
        sync_type=SyncType.MANUAL_TASK, sync_category=SyncCategory.ACCOUNT, created_by=None
    )
    assert sessions.claim_session(info.session_id)
    sessions.add_records(info.session_id, [(n, f"db-{n}") for n in range(1, 301)])
    sessions.finish_session(info.session_id, status=SessionStatus.FAILED, error_message="gone")
    show = ["sessions", "show", "--database", database, info.session_id]
    assert main(show) == 0
    first = capsys.readouterr().out
    assert "failed instances (300):" in first
    assert _failed_lines(first) == list(range(1, 101))
    records = sessions.list_records(info.session_id)
    after = records[99].record_id
    assert first.rstrip().endswith(f"more records: run it again with --after {after}")
    assert main([*show, "--after", str(after), "--limit", "500"]) == 0
    rest = capsys.readouterr().out
    assert _failed_lines(rest) == list(range(101, 301))
    assert "more records" not in rest
    # Another status: a table of those records, empty here.
    assert main([*show, "--status", "completed,pending"]) == 0
    # No record row (the session id itself may hold "db-": it is hex with dashes).
    assert not re.search(r"^ *\d+ +db-\d+", capsys.readouterr().out, re.MULTILINE)
    assert main([*show, "--status", "failed", "--limit", "2"]) == 0
    table = capsys.readouterr().out
    assert re.search(r"^ *2 +db-2 +failed", table, re.MULTILINE)
    assert f"--after {records[1].record_id}" in table


@pytest.mark.parametrize("bad", [["--limit", "0"], ["--limit", "501"], ["--status", "nope"]])
def test_sessions_show_rejects_bad_page_options(database: str, bad: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["sessions", "show", "--database", database, "some-id", *bad])
    assert exit_.value.code == 2
    assert f"argument {bad[0]}" in capsys.readouterr().err


def test_sessions_show_unknown_id_is_an_error(database: str, capsys) -> None:
    assert main(["sessions", "show", "--database", database, "nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_reap_fails_sessions_without_heartbeat(database: str, capsys) -> None:
    store = open_store(database)
    past = ManualClock(dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))
    old = SqlAlchemySyncSessionRepository(store.engine, clock=past)
    info = old.create_session(
        sync_type=SyncType.MANUAL_TASK, sync_category=SyncCategory.ACCOUNT, created_by=None
    )
    assert old.claim_session(info.session_id)
    old.add_records(info.session_id, [(1, "db-1"), (2, "db-2")])
    assert main(["reap", "--database", database, "--stale-after", "30"]) == 0
    assert f"reaped {info.session_id}" in capsys.readouterr().out
    reaped = store.sessions.get_session(info.session_id)
    assert reaped is not None
    assert reaped.status is SessionStatus.FAILED
    assert reaped.error_message == "Sync session interrupted"  # the C locale speaks English
    assert reaped.failed_instances == reaped.total_instances == 2


def test_demo_refuses_while_another_full_sync_is_running(database: str, capsys) -> None:
    store = open_store(database)
    running = store.sessions.create_session(
        sync_type=SyncType.MANUAL_TASK, sync_category=SyncCategory.ACCOUNT, created_by=None
    )
    assert _demo(database) == 3
    assert running.session_id in capsys.readouterr().err


@pytest.mark.parametrize("bad", [["--instances", "0"], ["--failure-rate", "2"], ["--workers", "0"]])
def test_demo_rejects_bad_options(database: str, bad: list[str], capsys) -> None:
    assert main(["demo", "--database", database, *bad]) == 2
    assert "must be" in capsys.readouterr().err


def test_console_script_help_documents_every_demo_option() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "accounts_sync", "demo", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    for option in (
        "--instances",
        "--latency",
        "--failure-rate",
        "--workers",
        "--timeout",
        "--database",
        "--seed",
    ):
        assert option in result.stdout


def test_ctrl_c_cancels_the_demo_session_so_the_next_demo_can_run(database: str) -> None:
    command = [
        sys.executable,
        "-m",
        "accounts_sync",
        "demo",
        "--database",
        database,
        "--instances",
        "400",
        "--latency",
        "50",
        "--workers",
        "4",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("session ")  # launched, now running
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "interrupted" in err
    session = open_store(database).sessions.list_sessions(limit=1)[0]
    assert session.status is SessionStatus.CANCELLED
    assert session.finished_instances == session.total_instances == 400
    assert _demo(database) == 0  # nothing is left holding the single-flight lock
