"""The Django store before the migration: it says to run it, not raw SQL."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts_sync import SyncCategory
from accounts_sync.contrib.django import DjangoSyncSessionRepository
from accounts_sync.sqlalchemy import SchemaMissingError


@pytest.mark.django_db
def test_a_missing_table_says_to_migrate() -> None:
    with connection.cursor() as cursor:  # undone with the test's transaction
        cursor.execute("ALTER TABLE accounts_sync_session RENAME TO accounts_sync_session_gone")
    with pytest.raises(SchemaMissingError) as caught:
        DjangoSyncSessionRepository().get_active_session(SyncCategory.ACCOUNT)
    assert str(caught.value) == (
        "table accounts_sync_session does not exist: run the accounts_sync app's migration "
        "(python manage.py migrate accounts_sync)"
    )
