"""The skip (or failure) of a server test never prints a password and names the variable to set."""

from __future__ import annotations

import pytest

from . import conftest

URL = "postgresql+psycopg://app:s3cret-pw@db.invalid:5432/postgres"


@pytest.mark.parametrize("required", [False, True])
def test_an_unreachable_server_names_the_variable_and_hides_the_password(
    monkeypatch: pytest.MonkeyPatch, required: bool
) -> None:
    monkeypatch.setattr(conftest, "_reachable", lambda url, port: False)
    monkeypatch.setattr(conftest, "REQUIRE_SERVICES", required)
    outcome = pytest.fail.Exception if required else pytest.skip.Exception
    with pytest.raises(outcome) as caught:
        conftest.require_server("PostgreSQL", URL, 5432, variable="ACCOUNTS_SYNC_POSTGRES_URL")
    reason = str(caught.value)
    assert "s3cret-pw" not in reason
    assert "db.invalid:5432" in reason
    assert "set ACCOUNTS_SYNC_POSTGRES_URL" in reason
    assert '-m "not services"' in reason


def test_a_reachable_server_is_not_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "_reachable", lambda url, port: True)
    conftest.require_server("PostgreSQL", URL, 5432, variable="ACCOUNTS_SYNC_POSTGRES_URL")
