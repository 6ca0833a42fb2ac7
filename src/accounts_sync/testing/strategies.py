"""Hypothesis strategies for raw sync results, and a checker for the normalization rules.

Property-test your own sync service: draw inputs, run your service or its result through
``normalize_sync_result`` and assert with :func:`check_normalized`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

try:
    from hypothesis import strategies as st
except ModuleNotFoundError as error:
    if error.name != "hypothesis":
        raise
    # Hypothesis is an optional dependency: say which extra brings it.
    raise ModuleNotFoundError(
        'accounts_sync.testing.strategies needs Hypothesis: pip install "accounts-sync[testing]"',
        name="hypothesis",
    ) from error

from .._normalize import coerce_success

__all__ = [
    "check_normalized",
    "hostile_values",
    "messages",
    "raw_sync_results",
    "snapshot",
    "success_values",
]

TRUE_WORDS = ("true", "1", "yes", "y", "ok", "success", "succeeded", "completed")


class _Unprintable:
    """An object whose ``str()`` raises."""

    def __str__(self) -> str:
        raise RuntimeError("unprintable")

    def __repr__(self) -> str:
        # A readable repr, so Hypothesis can report a falsifying example that contains one.
        return "<Unprintable>"


class _BlankText:
    def __str__(self) -> str:
        return "   "


def hostile_values() -> st.SearchStrategy[Any]:
    """Values a careless service might return anywhere: odd types, blanks, unprintables."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True),
        st.text(max_size=12),
        st.binary(max_size=8),
        st.just(_Unprintable()),
        st.just(_BlankText()),
        st.lists(st.integers(), max_size=3),
        st.just(object()),
    )


def success_values() -> st.SearchStrategy[Any]:
    """Every kind of ``success`` flag: bools, numbers, true/false words with noise, junk."""
    words = st.sampled_from((*TRUE_WORDS, "false", "0", "no", "n", "failed", "", "maybe"))
    noisy = st.builds(
        lambda word, upper, pad: (" " * pad) + (word.upper() if upper else word) + (" " * pad),
        words,
        st.booleans(),
        st.integers(0, 2),
    )
    return st.one_of(
        st.booleans(), st.none(), st.integers(-2, 2), st.floats(), noisy, hostile_values()
    )


def messages() -> st.SearchStrategy[Any]:
    """``message`` values: real text, blanks, non-strings, unprintables."""
    return st.one_of(st.text(max_size=20), st.sampled_from(("", "  ", "\n")), hostile_values())


_OTHER_KEYS = st.sampled_from(
    (
        "synced_count",
        "added_count",
        "modified_count",
        "removed_count",
        "error",
        "details",
        "extra",
    )
)


@st.composite
def _mappings(draw: st.DrawFn) -> dict[Any, Any]:
    result: dict[Any, Any] = draw(st.dictionaries(_OTHER_KEYS, hostile_values(), max_size=4))
    if draw(st.booleans()):
        result["success"] = draw(success_values())
    if draw(st.booleans()):
        result["message"] = draw(messages())
    if draw(st.booleans()):
        result["status"] = draw(st.sampled_from(("completed", "failed", "weird")))
    return result


def raw_sync_results() -> st.SearchStrategy[Any]:
    """Anything a sync service may return: each normalization rule plus hostile values."""
    return st.one_of(
        st.none(),
        st.just({}),
        _mappings(),
        st.lists(st.integers(), max_size=3),
        st.text(max_size=10),
        st.integers(),
        hostile_values(),
    )


def check_normalized(
    raw: Any, success: bool, result: Mapping[str, Any], *, context: str, before: Any = None
) -> None:
    """Assert that ``(success, result) = normalize_sync_result(raw, context=context)`` honours
    the normalization rules with the default (Chinese) messages. Pass
    ``before=copy.deepcopy(raw)`` to also check that the input was not mutated."""
    assert isinstance(success, bool)
    assert result["success"] is success
    assert result["status"] == ("completed" if success else "failed")
    assert isinstance(result["message"], str) and result["message"].strip()
    if before is not None:
        assert _same(raw, before), "normalize_sync_result mutated its input"
    if raw is None or (isinstance(raw, Mapping) and not raw):
        assert not success and result["message"] == f"{context}返回为空"
        return
    if not isinstance(raw, Mapping):
        assert not success and result["message"] == f"{context}返回格式无效"
        return
    expected = coerce_success(raw["success"]) if "success" in raw else True
    assert success is expected
    for key, value in raw.items():
        if key not in ("success", "status", "message"):
            assert result[key] is value
    message = raw.get("message")
    if isinstance(message, str) and message.strip():
        assert result["message"] == message
    elif message is None or (isinstance(message, str)):
        assert result["message"] == f"{context}{'成功' if success else '失败'}"


def _same(a: Any, b: Any) -> bool:
    try:
        if a is b or bool(a == b):
            return True
    except Exception:
        pass
    # A deep copy of an object without value equality (``object()``, ``NaN`` inside a list…) is
    # never ``==`` to the original: compare the shape of containers and scalar values instead.
    return bool(_shape(a) == _shape(b))


def _shape(value: Any) -> Any:
    if isinstance(value, Mapping):
        try:
            return ("mapping", type(value), [(_shape(k), _shape(v)) for k, v in value.items()])
        except Exception:
            return ("mapping", type(value))
    if isinstance(value, (list, tuple)):
        return (type(value), [_shape(item) for item in value])
    if isinstance(value, float) and value != value:
        return (float, "nan")
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return (type(value), value)
    return (type(value), "?")  # no value equality to compare: only its type can be checked


def snapshot(value: Any) -> Any:
    """A deep copy for mutation checks; values that cannot be copied are returned as they are."""
    try:
        return copy.deepcopy(value)
    except Exception:
        return value
