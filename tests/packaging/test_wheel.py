"""The built wheel installs without extras into a fresh virtual environment and runs.

Builds with ``uv build --wheel``, installs with ``uv pip`` (the core dependencies come from uv's
cache or the configured index), then imports the package, runs ``accounts-sync --help`` and a
small demo, and reads ``LICENSE`` and ``py.typed`` out of the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from ..conftest import REQUIRE_SERVICES

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
# Words of uv's errors when the index cannot be reached (and nothing usable is cached).
NETWORK_ERRORS = ("failed to fetch", "network", "dns error", "connect", "offline", "timed out")


def run(args: Sequence[str | Path], *, cwd: Path, timeout: float = 60) -> str:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "NO_COLOR": "1"}
    # The project's own environment must not leak into the fresh one.
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def uv() -> str:
    found = shutil.which("uv")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("uv is not on PATH, and CI must build the wheel")
        pytest.skip("uv is not on PATH: install uv to build and install the wheel")
    return found


@pytest.fixture(scope="module")
def wheel(uv: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run([uv, "build", "--wheel", "--quiet", "--out-dir", out, ROOT], cwd=ROOT, timeout=120)
    (built,) = out.glob("accounts_sync-*.whl")
    return built


@pytest.fixture(scope="module")
def venv_bin(uv: str, wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("venv") / ".venv"
    run([uv, "venv", "--quiet", "--python", sys.executable, venv], cwd=venv.parent)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    install = [uv, "pip", "install", "--quiet", "--python", bin_dir / "python", wheel]
    try:
        run(install, cwd=venv.parent, timeout=120)
    except AssertionError as error:
        if REQUIRE_SERVICES or not any(word in str(error).lower() for word in NETWORK_ERRORS):
            raise
        pytest.skip(
            "the core dependencies are neither cached nor downloadable (no network); "
            "set ACCOUNTS_SYNC_REQUIRE_SERVICES=1 to fail instead"
        )
    return bin_dir


def test_the_wheel_holds_the_license_and_the_typing_marker(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (license_name,) = [name for name in names if name.endswith(".dist-info/licenses/LICENSE")]
        assert "MIT License" in archive.read(license_name).decode()
    assert "accounts_sync/py.typed" in names


def test_the_wheel_holds_the_session_centres_templates_and_static_files(wheel: Path) -> None:
    package = ROOT / "src"
    folders = [
        package / "accounts_sync" / "contrib" / "django" / kind for kind in ("templates", "static")
    ]
    shipped = {
        path.relative_to(package).as_posix()
        for folder in folders
        for path in folder.rglob("*")
        if path.is_file()
    }
    assert "accounts_sync/contrib/django/static/accounts_sync/centre/centre.js" in shipped
    assert "accounts_sync/contrib/django/templates/accounts_sync/centre/session.html" in shipped
    with zipfile.ZipFile(wheel) as archive:
        assert shipped <= set(archive.namelist())


def test_installed_without_extras_it_imports_and_runs(venv_bin: Path, tmp_path: Path) -> None:
    code = "import accounts_sync, importlib.util as u; print(u.find_spec('flask') is None)"
    # No extra was installed: the import must not need one.
    assert run([venv_bin / "python", "-c", code], cwd=tmp_path).strip() == "True"
    assert "demo" in run([venv_bin / "accounts-sync", "--help"], cwd=tmp_path)
    run([venv_bin / "accounts-sync", "demo", "--instances", "20"], cwd=tmp_path)
    assert (tmp_path / "accounts_sync_demo.sqlite3").is_file()
