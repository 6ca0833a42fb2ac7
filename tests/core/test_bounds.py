"""The bounds every stored value is fitted to: never raising, within bounds, idempotent."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from accounts_sync._bounds import (
    COUNT_MAX,
    DETAILS_BYTES,
    DETAILS_DEPTH,
    KEY_LIMIT,
    MESSAGE_LIMIT,
    NAME_LIMIT,
    _flat_details,
    _walked_details,
    fit_count,
    fit_details,
    fit_name,
    fit_text,
    storable_details,
    storable_error,
    unstorable,
)
from accounts_sync._enums import RecordStatus
from accounts_sync._sessions import RecordOutcome
from tests.stores.hostile import deep, depth_of, self_referencing

# Texts with what databases refuse: NUL bytes and lone surrogates (any code point, then).
hostile_text = st.text(alphabet=st.characters(codec=None), max_size=50) | st.sampled_from(
    ["\x00", "a\ud800b", "\udfff", "x" * (MESSAGE_LIMIT + 7), "é" * (3 * MESSAGE_LIMIT)]
)
leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | hostile_text
    | st.binary(max_size=20)
    | st.datetimes()
)
nested = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(hostile_text | st.integers(), inner, max_size=4)
    ),
    max_leaves=30,
)


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in [key, *strings_in(item)]]
    if isinstance(value, list):
        return [text for item in value for text in strings_in(item)]
    return []


def clean_text(text: str) -> bool:
    return "\x00" not in text and not any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def assert_fitted(details: dict[str, Any]) -> None:
    assert len(json.dumps(details)) <= DETAILS_BYTES
    json.dumps(details, allow_nan=False)  # strictly JSON, and encodable as UTF-8
    json.dumps(details, ensure_ascii=False).encode("utf-8")
    assert depth_of(details) <= DETAILS_DEPTH
    for text in strings_in(details):
        assert len(text) <= MESSAGE_LIMIT
        assert clean_text(text)


@given(hostile_text | st.integers() | st.none(), st.integers(min_value=40, max_value=20_000))
def test_fit_text_is_clean_bounded_and_idempotent(value: object, limit: int) -> None:
    fitted = fit_text(value, limit)
    assert len(fitted) <= limit
    assert clean_text(fitted)
    assert fit_text(fitted, limit) == fitted
    if isinstance(value, str) and len(value) <= limit:
        assert len(fitted) == len(value)  # only NUL and lone surrogates were replaced


def test_a_cut_text_says_how_much_it_dropped() -> None:
    fitted = fit_text("x" * 10_000)
    assert len(fitted) == MESSAGE_LIMIT
    dropped = 10_000 - fitted.count("x")
    assert fitted.endswith(f"… [truncated {dropped} chars]")


@given(hostile_text | st.integers())
def test_fit_name_fits_the_column(value: object) -> None:
    name = fit_name(value)
    assert len(name) <= NAME_LIMIT
    assert clean_text(name)
    assert fit_name(name) == name


@given(st.integers() | st.booleans() | st.floats() | st.none() | st.text(max_size=5))
def test_fit_count_clamps_to_the_integer_column(value: object) -> None:
    count = fit_count(value)
    assert 0 <= count <= COUNT_MAX
    assert fit_count(count) == count
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= COUNT_MAX:
        assert count == value


@settings(max_examples=300)
@given(nested)
def test_fit_details_never_raises_is_bounded_and_idempotent(value: object) -> None:
    details = fit_details(value)
    assert_fitted(details)
    assert fit_details(details) == details


@given(st.integers(min_value=DETAILS_DEPTH, max_value=5_000))
def test_deep_details_are_cut_at_the_depth_limit(levels: int) -> None:
    details = fit_details({"deep": deep(levels)})
    assert_fitted(details)
    assert depth_of(details) == DETAILS_DEPTH
    assert f"[nested deeper than {DETAILS_DEPTH} levels]" in json.dumps(details)


def test_recursive_details_are_cut_where_they_refer_to_themselves() -> None:
    details = fit_details({"loop": self_referencing()})
    assert_fitted(details)
    assert details["loop"]["self"] == "[recursive reference]"
    assert details["loop"]["list"] == ["[recursive reference]", ["[recursive reference]"]]
    assert fit_details(details) == details


@given(st.sampled_from(["wide", "long", "keys"]))
def test_huge_details_keep_their_status_and_message(shape: str) -> None:
    huge = {
        "wide": list(range(200_000)),
        "long": ["y" * MESSAGE_LIMIT] * 50,
        "keys": {f"k{i}": i for i in range(100_000)},
    }[shape]
    details = fit_details({"status": "failed", "success": False, "message": "m", "x": huge})
    assert_fitted(details)
    assert details["status"] == "failed"
    assert details["success"] is False
    assert details["message"] == "m"
    assert "details_truncated" in details
    assert fit_details(details) == details


def test_keys_become_bounded_text() -> None:
    details = fit_details({1: "a", "k" * 1_000: "b", "\x00": "c"})
    assert set(details) == {"1", fit_text("k" * 1_000, KEY_LIMIT), "\ufffd"}


def test_values_databases_refuse_become_storable() -> None:
    details = fit_details({"big": 10**400, "nan": float("nan"), "enum": RecordStatus.FAILED})
    assert details == {
        "big": "[integer out of the 64-bit range]",
        "nan": None,
        "enum": "failed",
    }


def test_storable_details_redacts_before_cutting() -> None:
    # The secret straddles the cut: redaction sees it whole, the cut then drops the rest.
    message = "y" * (MESSAGE_LIMIT - 20) + " postgresql://u:s3cr3t@h/db password=s3cr3t"
    details = storable_details({"message": message, "nested": {"token": "s3cr3t"}})
    assert_fitted(details)
    assert "s3cr" not in json.dumps(details)
    assert details["nested"] == {"token": "***"}


@settings(max_examples=50)
@given(nested)
def test_storable_details_are_fitted(value: object) -> None:
    assert_fitted(storable_details(value))


def test_storable_details_take_a_5000_deep_or_recursive_result() -> None:
    assert_fitted(storable_details({"deep": deep(5_000), "loop": self_referencing()}))


def test_storable_error_is_clean() -> None:
    text = storable_error(RuntimeError("bad\x00\ud800 password=s3cr3t"))
    assert clean_text(text)
    assert "s3cr3t" not in text


def test_unstorable_names_only_the_error_type() -> None:
    class DataError(Exception):
        pass

    class Wrapper(Exception):
        orig = DataError("INSERT ... 's3cr3t'")

    outcome = RecordOutcome(
        instance_id=7, status=RecordStatus.COMPLETED, items_synced=3, details={"a": 1}
    )
    assert unstorable(outcome, Wrapper("[SQL: UPDATE ...]")) == RecordOutcome(
        instance_id=7,
        status=RecordStatus.FAILED,
        error_message="DataError: value could not be stored",
    )


# Flat results as sync services return them, with the keys that get masked and the texts that
# hold secrets, plus everything the one-pass fitting must hand to the walk.
flat_keys = (
    hostile_text
    | st.sampled_from(["status", "message", "password", "apiKey", "x-auth", "k" * (KEY_LIMIT + 1)])
    | st.integers()
)
flat_values = (
    leaves
    | st.sampled_from(
        [
            "postgresql://u:hunter2@db:5432/x",
            "token=abc&x=1",
            "Authorization: Bearer abcdefghijklmnopqrstu",
            "a=b" * 3_000,
            "\U0001f600" * MESSAGE_LIMIT,
            2**63,
            -(2**63),
            2**63 - 1,
            float("nan"),
        ]
    )
    | st.lists(st.integers(), max_size=2)
)


@settings(max_examples=500)
@given(st.dictionaries(flat_keys, flat_values, max_size=8))
def test_flat_details_fit_exactly_as_the_walk_does(result: dict[Any, Any]) -> None:
    flat = _flat_details(result)
    if flat is not None:
        assert flat == _walked_details(result)
        assert json.dumps(flat) == json.dumps(_walked_details(result))
    assert storable_details(result) == _walked_details(result)


@given(st.integers(min_value=1, max_value=200), st.sampled_from(["é", "\U0001f600", "a", "\x01"]))
def test_flat_details_near_the_size_limit_fit_as_the_walk_does(keys: int, char: str) -> None:
    result = {f"key{index}": char * (MESSAGE_LIMIT // 4) for index in range(keys)}
    assert storable_details(result) == _walked_details(result)


def test_a_plain_result_takes_the_one_pass_fitting() -> None:
    result = {"success": True, "synced_count": 3, "status": "completed", "message": "ok"}
    result["token"] = 1
    assert _flat_details(result) == {**result, "token": "***"}
