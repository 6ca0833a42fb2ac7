"""Every Python block of README.md and docs/*.md runs as written.

The convention, for authors of the docs:

- a block whose first line starts with ``# fragment`` is a visible fragment (it names things the
  reader supplies, or shows one file of a project): it is not run;
- a block that only includes a file (``--8<-- "examples/…"``) is not run here: the included
  file is tested where it lives (``examples/custom_store``);
- every other ``python`` block is run as a script of its own, in a fresh interpreter and an
  empty temporary directory; then each top-level ``test_*`` function it defines is called;
- a block that names ``AccountsSyncActionsService[...]`` is a typed example: it must also pass
  ``mypy --strict``.

No runnable block needs a database server today; one that does must use the test suite's
server fixtures, and is skipped (with the variable to set) only when the server is unreachable.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python[^\n]*\n(?P<code>.*?)^```", re.MULTILINE | re.DOTALL)

# Runs the block, then its test functions, as pytest would call them.
RUNNER = textwrap.dedent(
    """
    import runpy, sys
    namespace = runpy.run_path(sys.argv[1], run_name="__main__")
    for name, value in list(namespace.items()):
        if name.startswith("test_") and callable(value):
            value()
    """
)


def _blocks() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append((f"{page.relative_to(ROOT)}:{line}", match.group("code")))
    return found


RUNNABLE = {
    where: code
    for where, code in _blocks()
    if not code.startswith("# fragment") and "--8<--" not in code
}


def test_the_docs_have_runnable_blocks() -> None:
    pages = {where.partition(":")[0] for where in RUNNABLE}
    assert {"README.md", "docs/quickstart.md", "docs/testing.md", "docs/operations.md"} <= pages


def _run(tmp_path: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=150)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("where", sorted(RUNNABLE))
def test_a_runnable_block_runs_as_written(where: str, tmp_path: Path) -> None:
    code = RUNNABLE[where]
    script = tmp_path / "block.py"
    script.write_text(code, encoding="utf-8")
    done = _run(tmp_path, sys.executable, "-c", RUNNER, str(script))
    assert done.returncode == 0, done.stderr
    if "AccountsSyncActionsService[" in code:
        checked = _run(tmp_path, sys.executable, "-m", "mypy", "--strict", str(script))
        assert checked.returncode == 0, checked.stdout
