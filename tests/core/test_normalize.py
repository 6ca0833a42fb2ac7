"""Normalization: every row and rule of ``normalize_sync_result``, as properties."""

from __future__ import annotations

import collections
import datetime as dt
import decimal
import fractions
import types
from collections.abc import Iterator, Mapping
from typing import Any

import attrs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from accounts_sync import Messages, normalize_sync_result
from accounts_sync.testing.strategies import (
    check_normalized,
    hostile_values,
    messages,
    raw_sync_results,
    snapshot,
    success_values,
)

CONTEXT = "实例 db-1 账户同步"
OUTPUT_KEYS = {"status", "message", "success"}
TRUE_WORDS = ("true", "1", "yes", "y", "ok", "success", "succeeded", "completed")


# --- The spec, written out independently of the implementation -------------------------------


def spec_success(value: object) -> bool:
    """The coercion table of the normalization rules."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in TRUE_WORDS
    return False


def spec_message(value: object, default: str) -> str:
    """ "Its message": a str with content; else the str() of a non-None value with content."""
    if isinstance(value, str):
        return value if value.strip() else default
    if value is None:
        return default
    try:
        text = str(value)
    except Exception:
        return default
    return text if text.strip() else default


def expected_row(raw: object, texts: Messages | None = None) -> tuple[bool, str]:
    """(success, message) for ``raw`` under the decision table."""
    texts = texts or Messages()
    if raw is None or (isinstance(raw, Mapping) and len(raw) == 0):
        return False, texts.result_empty.format(context=CONTEXT)
    if not isinstance(raw, Mapping):
        return False, texts.result_invalid.format(context=CONTEXT)
    success = spec_success(raw["success"]) if "success" in raw else True
    template = texts.result_success if success else texts.result_failure
    return success, spec_message(raw.get("message"), template.format(context=CONTEXT))


def fingerprint(value: Any) -> Any:
    """Identity and shape of containers, recursively: any in-place mutation changes it."""
    if isinstance(value, dict):
        return ("dict", id(value), [(id(k), fingerprint(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", id(value), [fingerprint(v) for v in value])
    return ("value", id(value))


def assert_consistent(success: object, result: object) -> None:
    assert isinstance(success, bool)
    assert isinstance(result, dict)
    assert set(result) >= OUTPUT_KEYS
    assert result["success"] is success
    assert result["status"] == ("completed" if success else "failed")
    assert isinstance(result["message"], str)
    assert result["message"].strip()


# --- Properties over everything a sync service may return ------------------------------------


@settings(deadline=None)
@given(raw_sync_results())
def test_every_row_of_the_decision_table(raw: Any) -> None:
    before_shape = fingerprint(raw)
    before = snapshot(raw)
    success, result = normalize_sync_result(raw, context=CONTEXT)

    assert_consistent(success, result)
    check_normalized(raw, success, result, context=CONTEXT, before=before)
    assert (success, result["message"]) == expected_row(raw)
    assert fingerprint(raw) == before_shape, "the input was mutated"
    if isinstance(raw, Mapping):
        assert set(result) == set(raw) | OUTPUT_KEYS
        for key, value in raw.items():
            if key not in OUTPUT_KEYS:
                assert result[key] is value
    else:
        assert set(result) == OUTPUT_KEYS


@settings(deadline=None)
@given(raw_sync_results())
def test_normalizing_a_normalized_result_changes_nothing(raw: Any) -> None:
    success, result = normalize_sync_result(raw, context=CONTEXT)
    again_success, again = normalize_sync_result(result, context=CONTEXT)

    assert again_success is success
    assert set(again) == set(result)
    for key, value in result.items():
        if key in OUTPUT_KEYS:
            assert again[key] == value
        else:
            assert again[key] is value


@settings(deadline=None)
@given(st.one_of(st.from_type(object), hostile_values(), st.from_type(type).flatmap(st.from_type)))
def test_never_raises_for_any_object(raw: Any) -> None:
    success, result = normalize_sync_result(raw, context=CONTEXT)
    assert_consistent(success, result)
    if not isinstance(raw, Mapping):
        assert not success
        expected = f"{CONTEXT}返回为空" if raw is None else f"{CONTEXT}返回格式无效"
        assert result["message"] == expected


def _is_hashable(value: object) -> bool:
    try:
        hash(value)
    except Exception:
        return False
    return True


@settings(deadline=None)
@given(
    st.dictionaries(
        st.one_of(
            st.sampled_from(["success", "message", "status"]),
            st.from_type(object).filter(_is_hashable),
        ),
        st.from_type(object),
        max_size=4,
    )
)
def test_mappings_with_any_keys_and_values(raw: dict[Any, Any]) -> None:
    before = fingerprint(raw)
    success, result = normalize_sync_result(raw, context=CONTEXT)
    assert_consistent(success, result)
    assert (success, result["message"]) == expected_row(raw)
    assert fingerprint(raw) == before


# --- Coercion of ``success`` --------------------------------------------------------------------


@settings(deadline=None)
@given(st.one_of(success_values(), st.from_type(object)))
def test_success_coercion_follows_the_table(flag: Any) -> None:
    success, result = normalize_sync_result({"success": flag}, context=CONTEXT)
    assert success is spec_success(flag)
    assert result["status"] == ("completed" if success else "failed")


@settings(deadline=None)
@given(
    st.sampled_from(TRUE_WORDS),
    st.lists(st.booleans(), min_size=20, max_size=20),
    st.text(alphabet=" \t\n\r\u3000", max_size=3),
    st.text(alphabet=" \t\n\r\u3000", max_size=3),
)
def test_true_words_in_any_case_and_padding(
    word: str, upper: list[bool], left: str, right: str
) -> None:
    noisy = (
        left
        + "".join(c.upper() if up else c for c, up in zip(word, upper[: len(word)], strict=True))
        + right
    )
    assert normalize_sync_result({"success": noisy}, context=CONTEXT)[0] is True


@settings(deadline=None)
@given(st.text())
def test_any_other_string_fails_closed(flag: str) -> None:
    assume(flag.strip().lower() not in TRUE_WORDS)
    success, result = normalize_sync_result({"success": flag}, context=CONTEXT)
    assert success is False
    assert result["status"] == "failed"


@settings(deadline=None)
@given(st.one_of(st.integers(), st.floats(allow_nan=True, allow_infinity=True)))
def test_numbers_mean_not_zero(flag: float) -> None:
    assert normalize_sync_result({"success": flag}, context=CONTEXT)[0] is (flag != 0)


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        (True, True),
        (False, False),
        (None, False),
        (1, True),
        (0, False),
        (-3, True),
        (0.0, False),
        (0.5, True),
        ("true", True),
        (" True ", True),
        ("YES", True),
        ("y", True),
        ("ok", True),
        ("Success", True),
        ("succeeded", True),
        ("COMPLETED\n", True),
        ("1", True),
        ("false", False),  # upstream's bool("false") made this a success
        ("False", False),
        ("0", False),
        ("no", False),
        ("", False),
        ("   ", False),
        ("2", False),
        ("truee", False),
        ("t rue", False),
        (b"true", False),
        (["true"], False),
        ({"ok": True}, False),
        (decimal.Decimal(1), False),
        (fractions.Fraction(1, 2), False),
        (object(), False),
    ],
)
def test_success_coercion_examples(flag: object, expected: bool) -> None:
    success, result = normalize_sync_result({"success": flag, "n": 1}, context=CONTEXT)
    assert success is expected
    assert result["success"] is expected
    assert result["message"] == (f"{CONTEXT}成功" if expected else f"{CONTEXT}失败")


# --- "Its message" ------------------------------------------------------------------------------


@settings(deadline=None)
@given(success_values(), messages())
def test_its_message_rule(flag: Any, message: Any) -> None:
    success, result = normalize_sync_result({"success": flag, "message": message}, context=CONTEXT)
    default = f"{CONTEXT}成功" if success else f"{CONTEXT}失败"
    assert result["message"] == spec_message(message, default)


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("done", "done"),
        ("  padded  ", "  padded  "),
        ("", f"{CONTEXT}成功"),
        (" \n\t", f"{CONTEXT}成功"),
        (None, f"{CONTEXT}成功"),
        (42, "42"),
        (0, "0"),
        (False, "False"),
        (["a"], "['a']"),
        (_Unprintable(), f"{CONTEXT}成功"),
    ],
)
def test_its_message_examples(message: object, expected: str) -> None:
    assert normalize_sync_result({"message": message}, context=CONTEXT)[1]["message"] == expected


# --- Rows, by example ---------------------------------------------------------------------------


class _MappingOf(Mapping[Any, Any]):
    """A read-only mapping that is not a dict."""

    def __init__(self, data: dict[Any, Any]) -> None:
        self._data = data

    def __getitem__(self, key: Any) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class _BrokenMapping(_MappingOf):
    def __iter__(self) -> Iterator[Any]:
        raise RuntimeError("cannot iterate")

    def items(self) -> Any:
        raise RuntimeError("cannot iterate")


@pytest.mark.parametrize(
    ("raw", "success", "message"),
    [
        (None, False, f"{CONTEXT}返回为空"),
        ({}, False, f"{CONTEXT}返回为空"),
        (collections.OrderedDict(), False, f"{CONTEXT}返回为空"),
        (types.MappingProxyType({}), False, f"{CONTEXT}返回为空"),
        (_MappingOf({}), False, f"{CONTEXT}返回为空"),
        ([], False, f"{CONTEXT}返回格式无效"),
        ([("success", True)], False, f"{CONTEXT}返回格式无效"),
        ("success", False, f"{CONTEXT}返回格式无效"),
        ("", False, f"{CONTEXT}返回格式无效"),
        (0, False, f"{CONTEXT}返回格式无效"),
        (1, False, f"{CONTEXT}返回格式无效"),
        (True, False, f"{CONTEXT}返回格式无效"),
        (object(), False, f"{CONTEXT}返回格式无效"),
        (dt.date(2026, 1, 1), False, f"{CONTEXT}返回格式无效"),
        (_BrokenMapping({"success": True}), False, f"{CONTEXT}返回格式无效"),
        ({"synced_count": 3}, True, f"{CONTEXT}成功"),
        (types.MappingProxyType({"synced_count": 3}), True, f"{CONTEXT}成功"),
        (_MappingOf({"success": "ok"}), True, f"{CONTEXT}成功"),
        ({"success": True, "message": "同步 3 个账户"}, True, "同步 3 个账户"),
        ({"success": "false"}, False, f"{CONTEXT}失败"),
        ({"success": False, "message": "boom"}, False, "boom"),
        ({"success": False, "message": "   "}, False, f"{CONTEXT}失败"),
        ({"success": None, "error": "x"}, False, f"{CONTEXT}失败"),
        ({"status": "completed", "success": 0}, False, f"{CONTEXT}失败"),
        ({"status": "failed"}, True, f"{CONTEXT}成功"),
    ],
)
def test_decision_table_examples(raw: object, success: bool, message: str) -> None:
    got_success, result = normalize_sync_result(raw, context=CONTEXT)
    assert got_success is success
    assert result["message"] == message
    assert_consistent(got_success, result)


def test_other_keys_pass_through_untouched_and_output_is_a_new_dict() -> None:
    details = {"accounts": [1, 2]}
    raw = {"success": True, "synced_count": 3, "details": details, "error": None}
    success, result = normalize_sync_result(raw, context=CONTEXT)
    assert success
    assert result is not raw
    assert result["details"] is details
    assert result == {**raw, "status": "completed", "message": f"{CONTEXT}成功"}
    assert raw == {"success": True, "synced_count": 3, "details": details, "error": None}


def test_a_mapping_subclass_gives_a_plain_dict() -> None:
    raw = types.MappingProxyType({"success": "yes", "synced_count": 1})
    _, result = normalize_sync_result(raw, context=CONTEXT)
    assert type(result) is dict
    assert result["synced_count"] == 1


def test_context_is_used_literally() -> None:
    context = "实例 {name} {0} 账户同步"
    assert normalize_sync_result(None, context=context)[1]["message"] == f"{context}返回为空"
    assert normalize_sync_result({}, context=context)[1]["message"] == f"{context}返回为空"
    assert normalize_sync_result([], context=context)[1]["message"] == f"{context}返回格式无效"


# --- Catalogues ---------------------------------------------------------------------------------


def test_english_catalogue_gives_english_texts() -> None:
    english = Messages.english()
    context = english.context_for("db-1")
    assert context == "Account sync of instance db-1"

    def message(raw: object) -> str:
        return normalize_sync_result(raw, context=context, messages=english)[1]["message"]

    assert message(None) == f"{context} returned nothing"
    assert message({}) == f"{context} returned nothing"
    assert message([1]) == f"{context} returned an invalid result"
    assert message({"n": 1}) == f"{context} succeeded"
    assert message({"success": "no"}) == f"{context} failed"
    assert message({"success": "no", "message": "denied"}) == "denied"


@settings(deadline=None)
@given(raw_sync_results())
def test_any_catalogue_is_honoured(raw: Any) -> None:
    english = Messages.english()
    success, result = normalize_sync_result(raw, context=CONTEXT, messages=english)
    assert (success, result["message"]) == expected_row(raw, english)


def test_default_catalogue_is_the_chinese_one() -> None:
    explicit = normalize_sync_result({"success": 0}, context=CONTEXT, messages=Messages())
    assert normalize_sync_result({"success": 0}, context=CONTEXT) == explicit
    assert explicit[1]["message"] == f"{CONTEXT}失败"


def test_english_replaces_every_text() -> None:
    default, english = Messages(), Messages.english()
    for field in attrs.fields(Messages):
        assert getattr(english, field.name) != getattr(default, field.name), field.name
        assert getattr(english, field.name).isascii(), field.name


@settings(deadline=None, max_examples=150)
@given(raw=raw_sync_results())
def test_check_normalized_follows_the_given_messages(raw: Any) -> None:
    english = Messages.english()
    before = snapshot(raw)
    success, result = normalize_sync_result(raw, context=CONTEXT, messages=english)
    check_normalized(raw, success, result, context=CONTEXT, before=before, messages=english)


@pytest.mark.parametrize(
    ("raw", "success", "result", "rule"),
    [
        (None, False, {"success": False, "status": "failed", "message": "x"}, "empty result"),
        (5, False, {"success": False, "status": "failed", "message": "x"}, "non-mapping"),
        ({}, True, {"success": True, "status": "completed", "message": "x"}, "failure"),
        ({"a": 1}, True, {"success": True, "status": "failed", "message": "m"}, "'completed'"),
        (
            {"a": [1]},
            True,
            {"success": True, "status": "completed", "message": "m", "a": [1]},
            "raw value",
        ),
        (
            {"a": 1},
            True,
            {"success": True, "status": "completed", "message": "x", "a": 1},
            "missing or blank message",
        ),
    ],
)
def test_check_normalized_says_which_rule_was_broken(
    raw: Any, success: bool, result: dict[str, Any], rule: str
) -> None:
    with pytest.raises(AssertionError, match=rule):
        check_normalized(raw, success, result, context=CONTEXT, messages=Messages.english())
