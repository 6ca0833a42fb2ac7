"""Redaction of secrets and conversion to JSON-safe values (SPEC §3.4.7, §8)."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import re
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = [
    "MASK",
    "clean",
    "describe_error",
    "error_text",
    "is_sensitive_key",
    "jsonable",
    "redact",
    "redact_text",
]

MASK = "***"
_SENSITIVE_KEY = re.compile(
    r"password|passwd|pwd|secret|token|credential|api[_-]?key|private[_-]?key", re.IGNORECASE
)
# ``scheme://user:password@host``: the password is everything between the first ``:`` after the
# user and the last ``@`` before the host, so passwords containing ``@`` or ``:`` are covered too.
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)(?P<pw>[^\s/]*)@")


def is_sensitive_key(key: object) -> bool:
    """True when a mapping key names a secret (``password``, ``api_key``, ``DB_TOKEN``…)."""
    return isinstance(key, str) and _SENSITIVE_KEY.search(key) is not None


def redact_text(text: str) -> str:
    """Mask passwords embedded in URLs: ``mysql://u:p@h`` → ``mysql://u:***@h``."""
    if "://" not in text:
        return text
    return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{MASK}@", text)


def redact(value: Any) -> Any:
    """Return a copy of ``value`` with secrets masked at any depth; the input is not changed."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            key: (MASK if is_sensitive_key(key) else redact(item)) for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return [redact(item) for item in _sorted_if_possible(value)]
    return value


def jsonable(value: Any) -> Any:
    """Return ``value`` as JSON-serialisable data: dates → ISO strings, recursively."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, Mapping):
        return {_text(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return [jsonable(item) for item in _sorted_if_possible(value)]
    return _text(value)


def _text(value: object) -> str:
    # A host object whose ``str()`` raises must not turn a finished sync into a crash.
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def _sorted_if_possible(items: Any) -> list[Any]:
    try:
        return sorted(items)
    except TypeError:
        return list(items)


def clean(value: Any) -> Any:
    """Make JSON-safe, then redact: what the library stores, logs and returns.

    In this order an object whose text holds a secret (an exception carrying a DSN, bytes) is
    turned into text first, so that text is redacted too.
    """
    return redact(jsonable(value))


def error_text(error: BaseException) -> str:
    """``str(error)``, redacted; never raises, even for an exception whose ``str()`` does."""
    return redact_text(_text(error))


def describe_error(error: BaseException) -> str:
    """``"{ExceptionType}: {text}"``, redacted and never raising: how failures are recorded."""
    return f"{type(error).__name__}: {error_text(error)}"
