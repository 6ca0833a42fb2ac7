"""Running the CLI in-process in tests."""

from __future__ import annotations

import pytest

from accounts_sync.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``main(argv)``'s exit code, stdout and stderr; never a traceback."""
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err
