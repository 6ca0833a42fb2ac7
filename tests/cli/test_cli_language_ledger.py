"""The ledger commands speak the run's language: ``instances``, ``accounts list``, ``changes``,
``plan`` and ``collect``'s table. The ledger is a SQLite file filled from static snapshots."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from accounts_sync.cli import LEDGER_TABLES, diff_summary, open_store
from accounts_sync.cli._language import LANG_ENV
from accounts_sync.cli._ledger_texts import LedgerCliTexts
from accounts_sync.cli._render import print_plan, print_snapshot
from accounts_sync.cli._terminal import Terminal
from accounts_sync.cli._texts import Speech
from accounts_sync.collectors import (
    AccountSnapshot,
    CollectorRegistry,
    Membership,
    Privilege,
    ServerSnapshot,
    StaticCollector,
)
from accounts_sync.ledger import LedgerSyncService
from accounts_sync.sqlalchemy import InstanceRow, sqlite_url
from tests.cli._support import run_cli

CJK = re.compile("[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
SELECT = Privilege("table", ("app", "public", "orders"), "SELECT")
INSERT = Privilege("table", ("app", "public", "orders"), "INSERT")


def _snapshot(*accounts: AccountSnapshot) -> ServerSnapshot:
    return ServerSnapshot(
        db_type="postgresql",
        server_version="16.2",
        accounts=accounts,
        databases=["app"],
        public_privileges=frozenset(),
    )


FIRST = _snapshot(
    AccountSnapshot(key="admin", username="admin", is_superuser=True),
    AccountSnapshot(
        key="reader", username="reader", privileges=[SELECT], memberships=[Membership("grp")]
    ),
    AccountSnapshot(key="old", username="old", is_locked=True),
)
# reader gains INSERT, old is removed.
SECOND = _snapshot(
    AccountSnapshot(key="admin", username="admin", is_superuser=True),
    AccountSnapshot(
        key="reader",
        username="reader",
        privileges=[SELECT, INSERT],
        memberships=[Membership("grp")],
    ),
)
# What `plan` would see next: admin removed, a new account added.
THIRD = _snapshot(
    AccountSnapshot(key="reader", username="reader", privileges=[SELECT]),
    AccountSnapshot(key="fresh", username="fresh", privileges=[SELECT, INSERT]),
)


def _service(engine: sa.Engine, snapshot: ServerSnapshot) -> LedgerSyncService[InstanceRow]:
    return LedgerSyncService[InstanceRow](
        ledger=engine,
        connect=lambda _: engine,
        tables=LEDGER_TABLES,
        collectors=CollectorRegistry({"postgresql": StaticCollector(snapshot)}),
    )


@pytest.fixture(autouse=True)
def no_language_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (LANG_ENV, "LC_ALL", "LANG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[tuple[str, InstanceRow]]:
    """A ledger database with instance 1 (``pg``) synced twice: additions, a change, a removal."""
    database = sqlite_url(tmp_path / "ledger.sqlite3")
    store = open_store(database)
    LEDGER_TABLES.create_all(store.engine)
    instance_id = store.instances.add(name="pg", db_type="postgresql", host="h")
    instance = InstanceRow(instance_id, "pg", "postgresql", "h")
    for snapshot in (FIRST, SECOND):
        assert _service(store.engine, snapshot).sync_accounts(instance)["success"]
    try:
        yield database, instance
    finally:
        store.engine.dispose()


def _outputs(capsys: pytest.CaptureFixture[str], database: str, lang: str) -> dict[str, str]:
    """Every ledger command's stdout and stderr, by command."""
    outputs: dict[str, str] = {}
    for name, argv in (
        ("instances", ["instances", "list"]),
        ("disable", ["instances", "disable", "pg"]),
        ("enable", ["instances", "enable", "1"]),
        ("accounts", ["accounts", "list", "pg", "--all"]),
        ("changes", ["changes", "pg"]),
    ):
        code, out, err = run_cli(capsys, *argv, "--database", database, "--lang", lang)
        assert code == 0, err
        outputs[name] = out + err
    return outputs


def _printed(capsys: pytest.CaptureFixture[str], database: str, lang: str) -> dict[str, str]:
    """``plan`` (on a static collector) and ``collect``'s table, printed in ``lang``."""
    term = Terminal(speech=Speech(lang))
    engine = sa.create_engine(database)
    try:
        instance = InstanceRow(1, "pg", "postgresql", "h")
        capsys.readouterr()
        print_plan(term, instance, _service(engine, THIRD).plan(instance), 0.3)
        plan = capsys.readouterr().out
    finally:
        engine.dispose()
    print_snapshot(term, FIRST)
    return {"plan": plan, "collect": capsys.readouterr().out}


ENGLISH = {
    "instances": ["NAME", "HOST", "ACTIVE", "SYNCS", "DSN FROM", "yes"],
    "disable": ["instance 1", "disabled"],
    "enable": ["instance 1", "enabled"],
    "accounts": ["KEY", "KIND", "SUPERUSER", "LOCKED", "PRIVILEGES", "REMOVED AT", "active"],
    "changes": ["TIME (UTC)", "CHANGE", "privilege", "member of", "superuser", "locked"],
    "plan": ["instance 1", "on the server", "active in the ledger", "a sync would", "note:"],
    "collect": ["MEMBER OF", "SUPERUSER", "PUBLIC holds", "database app", "accounts"],
}
CHINESE = {
    "instances": ["名称", "主机", "启用", "同步次数", "是"],
    "disable": ["实例 1 (pg) 已停用"],
    "enable": ["实例 1 (pg) 已启用"],
    "accounts": ["账户", "超级用户", "锁定", "移除时间", "个有效账户", "个已移除", "有效"],
    "changes": ["时间 (UTC)", "变更", "项权限", "属于 grp", "超级用户", "已锁定"],
    "plan": ["实例 1 (pg)", "服务器上", "台账中", "同步将新增", "注意"],
    "collect": ["所属角色", "超级用户", "PUBLIC 拥有", "数据库 app", "个账户"],
}


def test_chinese_runs_print_chinese_labels(
    ledger: tuple[str, InstanceRow], capsys: pytest.CaptureFixture[str]
) -> None:
    database, _ = ledger
    outputs = _outputs(capsys, database, "zh") | _printed(capsys, database, "zh")
    for command, output in outputs.items():
        for chinese in CHINESE[command]:
            assert chinese in output, (command, chinese, output)
        for english in ENGLISH[command]:
            assert not re.search(rf"\b{re.escape(english)}\b", output), (command, english, output)
    # Identifiers stay: change types, privilege and scope names, keys, object names.
    assert "removed" in outputs["changes"] and "modified" in outputs["changes"]
    assert "+table app.public.orders 上的 INSERT" in outputs["changes"]
    assert "fresh" in outputs["plan"] and "added" in outputs["plan"]


def test_english_runs_print_no_chinese(
    ledger: tuple[str, InstanceRow], capsys: pytest.CaptureFixture[str]
) -> None:
    database, _ = ledger
    outputs = _outputs(capsys, database, "en") | _printed(capsys, database, "en")
    for command, output in outputs.items():
        assert not CJK.search(output), (command, CJK.findall(output))
        for english in ENGLISH[command]:
            assert english in output, (command, english, output)
    assert "2 active accounts, 1 removed" in outputs["accounts"]
    assert "+INSERT on table app.public.orders" in outputs["changes"]


def test_every_text_has_a_chinese_translation() -> None:
    english, chinese = LedgerCliTexts(), LedgerCliTexts.chinese()
    same = {"field_change", "snapshot_line", "instances_header"}
    for field in LedgerCliTexts.__attrs_attrs__:
        if field.name not in same:
            assert getattr(chinese, field.name) != getattr(english, field.name), field.name
    assert diff_summary("reactivated", {}, chinese) == "没有差异"
    assert diff_summary("reactivated", {}) == "no difference"
