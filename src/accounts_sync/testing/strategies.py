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

from .._messages import Messages
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
    raw: Any,
    success: bool,
    result: Mapping[str, Any],
    *,
    context: str,
    before: Any = None,
    messages: Messages | None = None,
) -> None:
    """Assert that ``(success, result) = normalize_sync_result(raw, context=context,
    messages=messages)`` honours the normalization rules; each failure names the rule broken.
    ``messages`` defaults to the Chinese ``Messages()``, as in ``normalize_sync_result``. Pass
    ``before=copy.deepcopy(raw)`` to also check that the input was not mutated."""
    texts = messages or Messages()
    assert isinstance(success, bool), f"success must be a bool, got {type(success).__name__}"
    assert result["success"] is success, "result['success'] must be the returned success"
    status = "completed" if success else "failed"
    assert result["status"] == status, f"result['status'] must be {status!r} when success={success}"
    text = result["message"]
    assert isinstance(text, str) and text.strip(), "result['message'] must be a non-blank string"
    if before is not None:
        assert _same(raw, before), "normalize_sync_result mutated its input"
    if raw is None or (isinstance(raw, Mapping) and not raw):
        _expect_failure(
            success, text, texts.result_empty.format(context=context), "an empty result"
        )
        return
    if not isinstance(raw, Mapping):
        _expect_failure(
            success, text, texts.result_invalid.format(context=context), "a non-mapping"
        )
        return
    expected = coerce_success(raw["success"]) if "success" in raw else True
    assert success is expected, (
        f"success must be {expected} for raw success {raw.get('success', '<missing>')!r}"
    )
    for key, value in raw.items():
        if key not in ("success", "status", "message"):
            assert result[key] is value, f"result[{key!r}] must be the raw value, unchanged"
    message = raw.get("message")
    if isinstance(message, str) and message.strip():
        assert text == message, "a non-blank raw message must be kept as it is"
    elif message is None or (isinstance(message, str)):
        template = texts.result_success if success else texts.result_failure
        default = template.format(context=context)
        assert text == default, f"a missing or blank message must become {default!r}, got {text!r}"


def _expect_failure(success: bool, text: str, expected: str, what: str) -> None:
    assert not success, f"{what} must normalize to a failure"
    assert text == expected, f"{what} must get the message {expected!r}, got {text!r}"


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
