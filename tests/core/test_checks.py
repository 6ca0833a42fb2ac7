"""The configuration checks: integers with a floor, durations in seconds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accounts_sync import ValidationError
from accounts_sync._checks import at_least, seconds

anything = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=3))


@given(anything, st.integers(-3, 3))
def test_at_least_takes_only_ints_from_the_floor_up(value: object, minimum: int) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    if ok:
        assert at_least("n", value, minimum) == value
    else:
        with pytest.raises(ValidationError, match=f"n must be an integer >= {minimum}"):
            at_least("n", value, minimum)


@given(anything, st.booleans(), st.booleans())
def test_seconds_takes_positive_numbers_and_none_only_when_optional(
    value: object, optional: bool, zero: bool
) -> None:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = (value is None and optional) or (number and (value >= 0 if zero else value > 0))  # type: ignore[operator]
    if ok:
        assert seconds("t", value, optional=optional, zero=zero) == value  # type: ignore[arg-type]
    else:
        with pytest.raises(ValidationError, match="t must be"):
            seconds("t", value, optional=optional, zero=zero)  # type: ignore[arg-type]
