"""Importing an integration without its framework names the extra to install (Flask, Django
and Celery alike: the check lives in ``accounts_sync.contrib._extras``)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


@pytest.mark.parametrize(
    ("module", "framework", "extra"),
    [
        ("accounts_sync.contrib.flask", "flask", "flask"),
        ("accounts_sync.contrib.django", "django", "django"),
        ("accounts_sync.contrib.celery", "celery", "celery"),
    ],
)
def test_a_missing_framework_names_its_extra(module: str, framework: str, extra: str) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules[{framework!r}] = None  # as if it were not installed
        try:
            import {module}
        except ImportError as error:
            print(error.name)
            print(error)
        else:
            raise SystemExit("imported without {framework}")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    name, message = done.stdout.splitlines()
    assert name == framework
    assert message == (
        f'{module} needs {framework}, which is not installed: pip install "accounts-sync[{extra}]"'
    )
