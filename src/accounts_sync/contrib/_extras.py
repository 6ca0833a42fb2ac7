"""The framework an integration needs, checked on import with the extra that installs it."""

from __future__ import annotations

import importlib

__all__ = ["missing_extra", "require"]


def missing_extra(error: ImportError, *, extra: str, integration: str) -> ImportError:
    """The ``ImportError`` to raise instead of ``error``: it names the extra to install.

    Without it, a missing framework surfaces as a bare ``No module named …`` from deep inside
    the integration, with no hint of the extra that brings it.
    """
    module = error.name or extra
    return ImportError(
        f"{integration} needs {module}, which is not installed: "
        f'pip install "accounts-sync[{extra}]"',
        name=module,
    )


def require(module: str, *, extra: str, integration: str) -> None:
    """Import ``module``, or raise :func:`missing_extra`'s error."""
    try:
        importlib.import_module(module)
    except ImportError as error:
        raise missing_extra(error, extra=extra, integration=integration) from error
