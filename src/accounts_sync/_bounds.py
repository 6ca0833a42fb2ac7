"""The limits every stored value is fitted to, so one bad value can fail one record, not a batch.

Each function is pure, never raises and is idempotent; docs/operations.md ("Bounds") gives
each limit's reason.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from ._enums import RecordStatus
from ._redaction import MASK, clean, describe_error, is_sensitive_key, jsonable, redact_text
from ._sessions import RecordOutcome

__all__ = [
    "COUNT_MAX",
    "DETAILS_BYTES",
    "DETAILS_DEPTH",
    "KEY_LIMIT",
    "MESSAGE_LIMIT",
    "NAME_LIMIT",
    "fit_count",
    "fit_details",
    "fit_name",
    "fit_text",
    "storable_details",
    "storable_error",
    "unstorable",
]

MESSAGE_LIMIT = 8_192
"""Characters in a message (and in any string inside details): at most 32 KiB of UTF-8, well
under MariaDB's 64 KiB ``TEXT``."""
NAME_LIMIT = 255
"""Characters in an instance name: the ``VARCHAR(255)`` column."""
KEY_LIMIT = 256
"""Characters in a key of details."""
COUNT_MAX = 2**31 - 1
"""The largest counter: the ``INTEGER`` columns are signed 32-bit on every backend."""
DETAILS_DEPTH = 16
"""Nesting levels of details (the top mapping is level 1): half MariaDB's JSON limit of 32."""
DETAILS_BYTES = 65_536
"""Characters of details as JSON (``json.dumps``, ASCII-escaped, so also its UTF-8 bytes)."""

# Before redaction texts are cut to a wider window only, so that no cut splits a secret out of
# recognition; the final cut, after redaction, drops whatever straddles the window's edge.
_WINDOW = 2

_UNSAFE = re.compile("[\x00\ud800-\udfff]")
_REPLACEMENT = "\ufffd"
_DEEP = f"[nested deeper than {DETAILS_DEPTH} levels]"
_RECURSIVE = "[recursive reference]"
_UNPRINTABLE = "[unprintable]"
_BIG_INT = "[integer out of the 64-bit range]"
_INT64 = 2**63
# The keys a result always has (see ``normalize_sync_result``): kept when details are too big.
_SUMMARY_KEYS = {"status": 64, "success": 64, "message": MESSAGE_LIMIT}
_TOO_BIG = "details_truncated"


def fit_text(value: object, limit: int = MESSAGE_LIMIT) -> str:
    """``value`` as text without NUL bytes or lone surrogates (each becomes U+FFFD), cut to
    ``limit`` characters with a visible ``… [truncated N chars]`` marker."""
    text = value if isinstance(value, str) else _text(value)
    if len(text) > limit:
        text = _cut(text, limit)
    return _UNSAFE.sub(_REPLACEMENT, text)


def _cut(text: str, limit: int) -> str:
    dropped = len(text) - limit
    while True:  # the marker's own length changes how much must go
        marker = f"… [truncated {dropped} chars]"
        keep = max(limit - len(marker), 0)
        if len(text) - keep == dropped or keep == 0:
            return (text[:keep] + marker)[:limit]
        dropped = len(text) - keep


def fit_name(value: object) -> str:
    """An instance name that fits its ``VARCHAR(255)`` column."""
    return fit_text(value, NAME_LIMIT)


def fit_count(value: object) -> int:
    """A counter within ``0..COUNT_MAX``; anything not an integer counts 0.

    Clamped rather than refused: the sync itself succeeded, and a counter is a report of it.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return min(max(value, 0), COUNT_MAX)


class _TooBig(Exception):
    """Details grew past the size limit while being fitted."""


class _Fitter:
    """One walk over details: JSON-safe, clean texts, bounded depth, cycles cut. It stops as
    soon as its estimate of the JSON size (strings exact, structure approximate) passes
    ``size_limit``, so a huge input costs no more than a fitting one."""

    def __init__(self, text_limit: int, key_limit: int, size_limit: int) -> None:
        self.text_limit = text_limit
        self.key_limit = key_limit
        self.size_limit = size_limit
        self.size = 0
        self.path: set[int] = set()

    def value(self, item: Any, depth: int) -> Any:
        if isinstance(item, (Mapping, list, tuple, set, frozenset)):
            return self.container(item, depth + 1)
        if isinstance(item, str):
            return self.text(item, self.text_limit)
        if item is None or isinstance(item, (bool, float)):
            return self.grow(jsonable(item), 24)  # NaN and the infinities become None
        if isinstance(item, int):
            if -_INT64 <= item < _INT64:
                return self.grow(int(item), 20)
            return self.text(_BIG_INT, len(_BIG_INT))
        return self.value(_leaf(item), depth)

    def container(self, item: Any, depth: int) -> Any:
        if depth > DETAILS_DEPTH:
            return self.text(_DEEP, len(_DEEP))
        if id(item) in self.path:
            return self.text(_RECURSIVE, len(_RECURSIVE))
        self.grow(None, 2)
        self.path.add(id(item))
        try:
            if isinstance(item, Mapping):
                return {
                    self.text(_text(key), self.key_limit): self.value(entry, depth)
                    for key, entry in item.items()
                }
            return [self.value(entry, depth) for entry in _ordered(item)]
        finally:
            self.path.discard(id(item))

    def text(self, item: str, limit: int) -> str:
        fitted = fit_text(item, limit)
        # An estimate (escapes make JSON up to 6x longer): enough to stop a runaway walk, and
        # far cheaper than encoding each string; the exact size is checked once, at the end.
        self.grow(None, len(fitted) + 2)
        return fitted

    def grow(self, item: Any, size: int) -> Any:
        self.size += size
        if self.size > self.size_limit:
            raise _TooBig
        return item


def fit_details(
    value: object, *, text_limit: int = MESSAGE_LIMIT, size_limit: int = DETAILS_BYTES
) -> dict[str, Any]:
    """Details as a JSON-safe mapping within the bounds: strings fitted, keys as text,
    containers past ``DETAILS_DEPTH`` levels or referring to themselves replaced by markers.

    Details bigger than ``size_limit`` as JSON keep only their status, success and message,
    with a ``details_truncated`` note. Anything not a mapping is wrapped as ``{"value": …}``.
    """
    source = value if isinstance(value, Mapping) else {"value": value}
    try:
        key_limit = KEY_LIMIT * text_limit // MESSAGE_LIMIT  # widened with the window
        fitted = _Fitter(text_limit, key_limit, 2 * size_limit).container(source, 1)
        size = len(json.dumps(fitted))
    except _TooBig:
        size = -1
    except Exception:  # a hostile mapping whose items() raises
        fitted, size = {"value": _UNPRINTABLE}, 0
    if 0 <= size <= size_limit:
        return fitted  # type: ignore[no-any-return]
    return _summary(source, text_limit)


def _summary(source: Mapping[Any, Any], text_limit: int) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, limit in _SUMMARY_KEYS.items():
        try:
            entry = source.get(key)
        except Exception:
            entry = None
        if entry is not None:
            kept[key] = (
                entry if isinstance(entry, bool) else fit_text(entry, min(limit, text_limit))
            )
    kept[_TOO_BIG] = f"[details over {DETAILS_BYTES} characters of JSON were dropped]"
    return kept


def storable_details(result: object) -> dict[str, Any]:
    """Redact (``clean``) and fit a sync result: what a record's ``details`` may hold."""
    flat = _flat_details(result)
    return _walked_details(result) if flat is None else flat


def _walked_details(result: object) -> dict[str, Any]:
    window = fit_details(
        result, text_limit=_WINDOW * MESSAGE_LIMIT, size_limit=_WINDOW * DETAILS_BYTES
    )
    return fit_details(clean(window))


# Characters of JSON one character may take: ``\ud83d\ude00`` for an astral one.
_ESCAPED = 12
_SCALAR_JSON = 24  # the longest JSON of an int64, a finite float, true, false or null


def _flat_details(result: object) -> dict[str, Any] | None:
    """``_walked_details(result)`` in one pass for the common result, a plain dict of text keys
    and scalar values that no bound cuts; None for anything else (which takes the walk).

    Every check here is one the walk makes and would act on; ``worst`` bounds the JSON of both
    the input and the output, so neither size check of the walk can fail.
    """
    if type(result) is not dict:
        return None
    fitted: dict[str, Any] = {}
    worst = 2
    for key, item in result.items():
        if type(key) is not str or len(key) > KEY_LIMIT or not _safe(key):
            return None
        kind = type(item)
        if kind is str:
            if len(item) > MESSAGE_LIMIT or not _safe(item):
                return None
            stored = MASK if is_sensitive_key(key) else redact_text(item)
            if len(stored) > MESSAGE_LIMIT:
                return None
            size = _ESCAPED * max(len(item), len(stored)) + 2
        elif _storable_scalar(item, kind):
            stored, size = MASK if is_sensitive_key(key) else item, _SCALAR_JSON
        else:
            return None
        fitted[key] = stored
        worst += _ESCAPED * len(key) + 6 + size  # the key's quotes, ``": "`` and ``", "``
    return fitted if worst <= DETAILS_BYTES else None


def _storable_scalar(item: object, kind: type) -> bool:
    if item is None or kind is bool:
        return True
    if kind is int:
        return -_INT64 <= item < _INT64  # type: ignore[operator]
    return kind is float and math.isfinite(item)  # type: ignore[arg-type]


def _safe(text: str) -> bool:
    """True when ``fit_text`` would leave ``text``'s characters as they are."""
    return (text.isascii() and "\x00" not in text) or _UNSAFE.search(text) is None


def storable_error(error: BaseException) -> str:
    """``describe_error``, fitted (it may hold a NUL byte or a lone surrogate)."""
    return fit_text(describe_error(error))


def _leaf(item: object) -> str | int | float | None:
    """A value of another type as ``jsonable`` shows it (dates as ISO text…), else its text."""
    try:
        converted = jsonable(item)
    except Exception:  # e.g. an enum whose value nests too deep for jsonable's recursion
        return _UNPRINTABLE
    if converted is None or isinstance(converted, (str, int, float)):
        return converted
    return _text(converted)


def _ordered(items: Any) -> Any:
    if not isinstance(items, (set, frozenset)):
        return items
    try:
        return sorted(items)
    except TypeError:
        return list(items)


def _text(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return _UNPRINTABLE


def unstorable(outcome: RecordOutcome, error: BaseException) -> RecordOutcome:
    """What a store writes when the database refused ``outcome`` on its own: a failed record
    naming only the error's type (never the SQL or its parameters), without details."""
    original = getattr(error, "orig", None)  # SQLAlchemy's and Django's wrappers keep the driver's
    source = original if isinstance(original, BaseException) else error
    return RecordOutcome(
        instance_id=outcome.instance_id,
        status=RecordStatus.FAILED,
        error_message=f"{type(source).__name__}: value could not be stored",
    )
