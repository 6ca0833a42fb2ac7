"""Without Hypothesis, ``accounts_sync.testing.strategies`` names the extra that brings it."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

MODULE = "accounts_sync.testing.strategies"


def test_importing_the_strategies_without_hypothesis_names_the_testing_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What an environment without the extra looks like to the import system.
    monkeypatch.setitem(sys.modules, "hypothesis", None)
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    with pytest.raises(ModuleNotFoundError) as caught:
        importlib.import_module(MODULE)
    assert caught.value.name == "hypothesis"
    assert 'pip install "accounts-sync[testing]"' in str(caught.value)


def test_the_test_kit_imports_without_hypothesis() -> None:
    # A fresh interpreter: re-importing the package here would leave twin classes behind.
    code = "import sys; sys.modules['hypothesis'] = None; import accounts_sync.testing"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
