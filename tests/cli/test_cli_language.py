"""One language per run: ``--lang``, ``ACCOUNTS_SYNC_LANG``, else the locale; never mixed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accounts_sync.cli import main
from accounts_sync.cli._language import LANG_ENV, choose_language, language_from_locale
from accounts_sync.sqlalchemy import sqlite_url
from tests.cli._support import run_cli

CJK = re.compile("[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
LOCALES = st.one_of(
    st.sampled_from(["", "C", "C.UTF-8", "POSIX", "en_US.UTF-8", "zh_CN.UTF-8", "zh_TW", "zh"]),
    st.text(max_size=12),
)
# The demo's instance 13 hangs past the timeout: a timeout message in every run.
DEMO = ["--instances", "20", "--latency", "1", "--failure-rate", "0.5", "--timeout", "0.2"]


@pytest.fixture(autouse=True)
def no_language_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (LANG_ENV, "LC_ALL", "LANG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def database(tmp_path: Path) -> str:
    return sqlite_url(tmp_path / "lang.sqlite3")


@given(lc_all=LOCALES, lang=LOCALES)
def test_the_locale_rule(lc_all: str, lang: str) -> None:
    chosen = language_from_locale({"LC_ALL": lc_all, "LANG": lang})
    deciding = lc_all or lang  # LC_ALL wins when it is set at all
    assert chosen == ("zh" if deciding.strip().lower().startswith("zh") else "en")
    assert chosen in ("zh", "en")


@given(flag=st.sampled_from([None, "zh", "en"]), env=st.sampled_from(["", "zh", "en", " EN "]))
def test_the_flag_wins_then_the_variable_then_the_locale(flag: str | None, env: str) -> None:
    environ = {LANG_ENV: env, "LANG": "zh_CN.UTF-8"}
    expected = flag or env.strip().lower() or "zh"
    assert choose_language(flag, environ) == expected


def test_an_unknown_variable_value_is_one_error_line(
    monkeypatch: pytest.MonkeyPatch, database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(LANG_ENV, "fr")
    assert main(["sessions", "list", "--database", database]) == 2
    err = capsys.readouterr().err
    assert err.startswith("accounts-sync: error: ACCOUNTS_SYNC_LANG must be one of zh, en")
    assert err.count("\n") == 1


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code, out, err = run_cli(capsys, *argv)
    return code, out + err


@pytest.mark.parametrize("where", ["before", "after"])
def test_english_runs_print_no_chinese(
    where: str, database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lang = ["--lang", "en"]
    demo = [*lang, "demo", "--database", database, *DEMO]
    if where == "after":
        demo = ["demo", "--database", database, *DEMO, *lang]
    code, output = _run(capsys, *demo)
    assert code == 0  # every record finished, some failed
    assert "timed out" in output and "permission denied" in output
    session_id = output.split()[1].rstrip(":")
    for argv in (["sessions", "list"], ["sessions", "show", session_id], ["reap"]):
        code, shown = _run(capsys, *argv, "--database", database, *lang)
        assert code == 0
        output += shown
    assert not CJK.search(output), CJK.findall(output)


def test_the_c_locale_speaks_english(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, output = _run(capsys, "demo", "--database", database, *DEMO)
    assert not CJK.search(output)


@pytest.mark.parametrize("setting", ["flag", "variable", "LANG", "LC_ALL"])
def test_chinese_runs_print_the_librarys_chinese_messages(
    setting: str, database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    flag: list[str] = []
    if setting == "flag":
        flag = ["--lang", "zh"]
    elif setting == "variable":
        monkeypatch.setenv(LANG_ENV, "zh")
    else:
        monkeypatch.setenv("LANG", "en_US.UTF-8" if setting == "LC_ALL" else "zh_CN.UTF-8")
        if setting == "LC_ALL":
            monkeypatch.setenv("LC_ALL", "zh_CN.UTF-8")
    code, output = _run(capsys, *flag, "demo", "--database", database, *DEMO)
    assert code == 0
    assert "账户同步超时" in output  # the library's timeout message
    assert "权限不足" in output
    assert "失败的实例" in output and "timed out" not in output
    assert "failed instances" not in output
