"""The ledger's JSON column takes canonical text as it is, and data as any JSON column does."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from accounts_sync.ledger import build_ledger_tables
from accounts_sync.ledger._tables import EncodedJson

DATA = {"b": [1, "ü"], "a": None}
TEXT = EncodedJson(json.dumps(DATA, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


def _as_text(bound: Any) -> str:
    # psycopg wraps JSON in Jsonb, whose dumps gives the text it will send.
    if hasattr(bound, "obj"):
        return str((bound.dumps or json.dumps)(bound.obj))
    return bound if isinstance(bound, str) else json.dumps(bound)


@pytest.mark.parametrize(
    "dialect",
    [
        sqlite.dialect(),
        mysql.pymysql.dialect(),
        postgresql.psycopg.dialect(),
        postgresql.psycopg2.dialect(),
    ],
    ids=lambda d: f"{d.name}+{d.driver}",
)
def test_encoded_text_is_sent_as_is_and_data_is_encoded(dialect: sa.Dialect) -> None:
    column = build_ledger_tables().accounts.c.snapshot
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    assert json.loads(_as_text(process(TEXT))) == DATA
    assert json.loads(_as_text(process(DATA))) == DATA
    if dialect.name != "postgresql" or dialect.driver == "psycopg":
        assert _as_text(process(TEXT)) == TEXT  # not decoded and encoded again
