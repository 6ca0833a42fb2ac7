"""Without Chromium the browser tests skip with a reason that says what to install, and fail
when services are required (CI installs it)."""

from __future__ import annotations

import pytest

from . import conftest


@pytest.mark.parametrize("required", [False, True])
def test_a_missing_chromium_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, required: bool
) -> None:
    monkeypatch.setattr(conftest, "CHROMIUM", "/nowhere/chromium")
    monkeypatch.setattr(conftest, "CHROMEDRIVER", "/nowhere/chromedriver")
    monkeypatch.setattr(conftest, "REQUIRE_SERVICES", required)
    outcome = pytest.fail.Exception if required else pytest.skip.Exception
    with pytest.raises(outcome) as caught:
        conftest._require_chromium()
    reason = str(caught.value)
    assert "/nowhere/chromium and /nowhere/chromedriver not found" in reason
    assert "apt-get install chromium chromium-driver" in reason
    assert ("ACCOUNTS_SYNC_REQUIRE_SERVICES=1" in reason) is required
