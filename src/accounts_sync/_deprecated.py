"""Old import paths that still work, with a ``DeprecationWarning``, until the next minor release.

Two kinds of move are covered: a module that became private (``accounts_sync.service`` is now
``accounts_sync._service``; import from the package instead) and a name that left the package
root (``accounts_sync.RecordOutcome`` now lives in ``accounts_sync.ports``).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType
from typing import Any

__all__ = ["MOVED_MODULES", "install", "moved_name"]

_PRIVATE = {
    "": (
        "clock enums errors full_sync jobs launchers messages normalize observability "
        "redaction service sessions"
    ),
    "sqlalchemy.": "after_commit engine instances scopes sessions tables types",
    "ledger.": "diff messages service tables",
    "collectors.": "base mysql postgres snapshot",
}

MOVED_MODULES: dict[str, str] = {
    f"accounts_sync.{package}{name}": f"accounts_sync.{package}_{name}"
    for package, names in _PRIVATE.items()
    for name in names.split()
}
"""Old module path → the private module that holds its code now."""


def _warn(old: str, new: str, stacklevel: int) -> None:
    warnings.warn(f"{old} is deprecated; use {new}", DeprecationWarning, stacklevel=stacklevel)


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        public = spec.name.rpartition(".")[0]
        _warn(f"module {spec.name}", f"the names exported by {public}", 2)
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        """The target module is already executed."""


class _MovedModuleFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Any = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        moved_to = MOVED_MODULES.get(fullname)
        if moved_to is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(moved_to))


def install() -> None:
    """Let the old module paths resolve (idempotent)."""
    if not any(isinstance(finder, _MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedModuleFinder())


def moved_name(module: str, name: str, moves: dict[str, str]) -> Any:
    """Resolve ``module.name`` through ``moves``, warning; else fail as Python would.

    ``moves`` maps a name to its new module, or to ``"module:new_name"`` when it was renamed.
    """
    target = moves.get(name)
    if target is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    new_module, _, new_name = target.partition(":")
    new_name = new_name or name
    # stacklevel 4: past this function and the module's ``__getattr__``, to the caller.
    _warn(f"{module}.{name}", f"{new_module}.{new_name}", 4)
    return getattr(importlib.import_module(new_module), new_name)
