"""The ledger speaks the language of the actions service it is handed to, unless given its own."""

from __future__ import annotations

import attrs
import pytest
import sqlalchemy as sa

from accounts_sync import Messages
from accounts_sync.collectors import ServerSnapshot
from accounts_sync.ledger import LedgerMessages, LedgerSyncService, build_ledger_tables
from accounts_sync.testing import FakeInstance, in_memory_service
from tests.ledger._support import ScriptedCollector, registry_of

UNSUPPORTED = FakeInstance(id=1, name="db-1", db_type="oracle")


def _ledger(messages: LedgerMessages | None = None) -> LedgerSyncService[FakeInstance]:
    engine = sa.create_engine("sqlite://")
    return LedgerSyncService(
        ledger=engine,
        connect=lambda instance: engine,
        tables=build_ledger_tables(),
        collectors=registry_of(ScriptedCollector(ServerSnapshot(db_type="fake", accounts=[]))),
        messages=messages,
    )


def test_a_ledger_used_by_an_english_service_speaks_english() -> None:
    ledger = _ledger()
    in_memory_service([UNSUPPORTED], sync_service=ledger, messages=Messages.english())
    assert ledger.messages == LedgerMessages.english()
    assert ledger.sync_accounts(UNSUPPORTED)["message"] == "Unsupported database type: oracle"


def test_a_ledger_with_its_own_messages_keeps_them() -> None:
    ledger = _ledger(LedgerMessages())
    in_memory_service([UNSUPPORTED], sync_service=ledger, messages=Messages.english())
    assert ledger.sync_accounts(UNSUPPORTED)["message"] == "不支持的数据库类型: oracle"


def test_a_ledger_alone_speaks_chinese() -> None:
    assert _ledger().messages == LedgerMessages()


def test_a_service_in_a_language_without_a_ledger_catalogue_leaves_the_default() -> None:
    ledger = _ledger()
    custom = attrs.evolve(Messages(), language="fr")
    in_memory_service([UNSUPPORTED], sync_service=ledger, messages=custom)
    assert ledger.messages == LedgerMessages()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_for_language_matches_the_core_catalogue(language: str) -> None:
    assert (
        LedgerMessages.for_language(language).language == Messages.for_language(language).language
    )
    with pytest.raises(ValueError):
        LedgerMessages.for_language("de")


def test_the_english_catalogue_has_no_chinese_text() -> None:
    for value in attrs.asdict(LedgerMessages.english()).values():
        assert not any("\u4e00" <= char <= "\u9fff" for char in value), value
