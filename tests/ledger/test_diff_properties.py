"""Property tests of the pure diff rule (no database)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts_sync.collectors import (
    AccountKind,
    AccountSnapshot,
    Membership,
    Privilege,
    PrivilegeScope,
    canonical_json,
)
from accounts_sync.ledger import AccountChange, AccountDiff, ChangeType
from accounts_sync.ledger import _diff as diff_module
from accounts_sync.ledger._diff import apply_changes, apply_diff, diff_snapshots, plan_changes

names = st.text(alphabet="ab'%@_用", max_size=3)
privileges = st.builds(
    Privilege,
    st.sampled_from(list(PrivilegeScope)),
    st.lists(names, max_size=3).map(tuple),
    # OWNER makes the explicit grants on the same object implied (not revoked) in a diff.
    st.sampled_from(["SELECT", "INSERT", "USAGE", "EXECUTE", "OWNER"]),
    st.booleans(),
)
memberships = st.builds(
    Membership,
    st.sampled_from(["r1", "r2", "r3@"]),
    st.booleans(),
    grantor=st.none() | st.sampled_from(["g1", "g2"]),
    inherit_option=st.none() | st.booleans(),
    set_option=st.none() | st.booleans(),
)
attribute_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    names,
    st.lists(names, max_size=2).map(tuple),
)
attributes = st.dictionaries(
    st.sampled_from(["plugin", "limit", "flag", "roles"]), attribute_values
)
times = st.none() | st.datetimes(
    min_value=dt.datetime(1990, 1, 1),
    max_value=dt.datetime(2100, 1, 1),
    timezones=st.just(dt.timezone.utc),
)


def snapshots(key: str) -> st.SearchStrategy[AccountSnapshot]:
    return st.builds(
        AccountSnapshot,
        key=st.just(key),
        username=names,
        host=st.none() | names,
        kind=st.sampled_from([AccountKind.USER, AccountKind.ROLE]),
        is_superuser=st.booleans(),
        is_locked=st.booleans(),
        valid_until=times,
        attributes=attributes,
        memberships=st.frozensets(memberships, max_size=3),
        privileges=st.frozensets(privileges, max_size=4),
        revoked_defaults=st.frozensets(privileges, max_size=2),
    )


KEYS = st.sampled_from("abcdef")


@st.composite
def states(draw: st.DrawFn, keys: st.SearchStrategy[str] = KEYS) -> dict[str, AccountSnapshot]:
    chosen = draw(st.sets(keys, max_size=6))
    return {key: draw(snapshots(key)) for key in sorted(chosen)}


@settings(max_examples=150, deadline=None)
@given(states())
def test_nothing_changes_between_equal_states(state: dict[str, AccountSnapshot]) -> None:
    assert plan_changes(state, state) == ()
    for snapshot in state.values():
        assert diff_snapshots(snapshot, snapshot).is_empty


@settings(max_examples=150, deadline=None)
@given(st.sampled_from("xy").flatmap(lambda key: st.tuples(snapshots(key), snapshots(key))))
def test_applying_a_diff_gives_the_target(pair: tuple[AccountSnapshot, AccountSnapshot]) -> None:
    before, after = pair
    diff = diff_snapshots(before, after)
    assert apply_diff(before, diff, before.key) == after
    assert apply_diff(None, diff_snapshots(None, after), after.key) == after
    assert apply_diff(before, diff_snapshots(before, None), before.key) is None
    assert diff.is_empty == (before == after) == (before.digest == after.digest)
    # The change log's JSON form loses nothing.
    assert AccountDiff.from_json(json.loads(json.dumps(diff.to_json()))) == diff


@settings(max_examples=200, deadline=None)
@given(states(), states(), states(st.sampled_from("defgh")))
def test_plan_partitions_and_replays_exactly(
    active: dict[str, AccountSnapshot],
    collected: dict[str, AccountSnapshot],
    inactive: dict[str, AccountSnapshot],
) -> None:
    inactive = {key: value for key, value in inactive.items() if key not in active}
    changes = plan_changes(active, collected, inactive)
    keys = [change.key for change in changes]
    assert keys == sorted(set(keys))  # each account once, in key order
    by_type = {kind: {c.key for c in changes if c.change_type is kind} for kind in ChangeType}
    assert by_type[ChangeType.REMOVED] == active.keys() - collected.keys()
    assert by_type[ChangeType.REACTIVATED] == (collected.keys() - active.keys()) & inactive.keys()
    assert by_type[ChangeType.ADDED] == collected.keys() - active.keys() - inactive.keys()
    assert by_type[ChangeType.MODIFIED] == {
        key for key in active.keys() & collected.keys() if active[key] != collected[key]
    }
    assert apply_changes(active, changes, inactive) == collected
    for change in changes:
        assert change.before is (active.get(change.key) or inactive.get(change.key))
        assert change.after is collected.get(change.key)


@settings(max_examples=200, deadline=None)
@given(states(), states(), states(st.sampled_from("defgh")))
def test_the_change_logs_diff_text_is_the_diffs_own(
    active: dict[str, AccountSnapshot],
    collected: dict[str, AccountSnapshot],
    inactive: dict[str, AccountSnapshot],
) -> None:
    # An added account's diff text is cut from its snapshot's text: the same canonical text.
    inactive = {key: value for key, value in inactive.items() if key not in active}
    for change in plan_changes(active, collected, inactive):
        assert change.diff_text() == canonical_json(change.diff.to_json())


@settings(max_examples=200, deadline=None)
@given(snapshots("k"))
def test_attribute_items_are_the_mappings_own(snapshot: AccountSnapshot) -> None:
    attributes = snapshot.attributes
    assert list(attributes.items()) == [(name, attributes[name]) for name in attributes]


def test_a_new_ownership_implies_the_grants_on_the_object_and_its_columns() -> None:
    table, other = ("db", "s", "t"), ("db", "s", "u")
    explicit = {
        Privilege("table", table, "SELECT"),
        Privilege("column", (*table, "c"), "UPDATE"),
        Privilege("table", other, "SELECT"),
    }
    before = AccountSnapshot(key="a", username="a", privileges=explicit)
    after = AccountSnapshot(key="a", username="a", privileges={Privilege("table", table, "OWNER")})
    diff = diff_snapshots(before, after)
    assert diff.granted == {Privilege("table", table, "OWNER")}
    assert diff.implied_by_ownership == explicit - {Privilege("table", other, "SELECT")}
    assert diff.revoked == {Privilege("table", other, "SELECT")}
    assert apply_diff(before, diff, "a") == after
    # Giving the object away implies nothing: the ownership itself is revoked.
    back = diff_snapshots(after, before)
    assert back.revoked == {Privilege("table", table, "OWNER")}
    assert not back.implied_by_ownership
    assert "implied_by_ownership" in diff.to_json() and "implied_by_ownership" not in back.to_json()


# Texts that look like the keys a new account's diff text is cut at.
_LOOKALIKES = st.sampled_from(
    ['"memberships":[', ',"privileges":[', ',"revoked_defaults":', ',"username":"', '"}]', "\\"]
)
_HOSTILE_TEXT = st.lists(_LOOKALIKES | st.text(max_size=4), max_size=4).map("".join)
_HOSTILE_NAMES = st.sampled_from(
    ["a", "memberships", "privileges", "revoked_defaults", "username", "valid_until", "plugin"]
)


@settings(max_examples=300, deadline=None)
@given(
    snapshots("k")
    | st.builds(
        AccountSnapshot,
        key=_HOSTILE_TEXT,
        username=_HOSTILE_TEXT,
        host=st.none() | _HOSTILE_TEXT,
        attributes=st.dictionaries(_HOSTILE_NAMES, st.none() | _HOSTILE_TEXT),
        memberships=st.frozensets(st.builds(Membership, _HOSTILE_TEXT, st.booleans())),
        privileges=st.frozensets(
            st.builds(Privilege, st.just("table"), st.tuples(_HOSTILE_TEXT), _HOSTILE_TEXT)
        ),
        revoked_defaults=st.frozensets(
            st.builds(Privilege, st.just("database"), st.tuples(_HOSTILE_TEXT), _HOSTILE_TEXT)
        ),
    )
)
def test_a_new_accounts_diff_text_is_its_diffs_canonical_json(snapshot: AccountSnapshot) -> None:
    # Cut from the snapshot's text: equal to the diff encoded on its own, whatever the
    # attribute names (even ``memberships`` or ``username``) and texts hold.
    (change,) = plan_changes({}, {snapshot.key: snapshot})
    assert change.diff_text() == canonical_json(change.diff.to_json())
    assert json.loads(change.diff_text()) == change.diff.to_json()


def test_a_change_builds_its_diff_on_first_read_and_keeps_it() -> None:
    after = AccountSnapshot(key="a@%", username="a", privileges=[Privilege("global", (), "SUPER")])
    (change,) = plan_changes({}, {"a@%": after})
    first = change.diff
    assert first == diff_snapshots(None, after)
    assert change.diff is first
    given_diff = AccountChange(
        change_type=ChangeType.ADDED, key="a@%", before=None, after=after, diff=first
    )
    assert given_diff == change
    assert given_diff.diff is first


def test_a_first_sync_builds_no_diff(monkeypatch: pytest.MonkeyPatch) -> None:
    """New accounts' changes and their change-log texts come without diffing anything."""
    collected = {
        key: AccountSnapshot(key=key, username=key, privileges=[Privilege("global", (), "USAGE")])
        for key in ("a", "b")
    }

    def no_diff(*args: object) -> AccountDiff:
        raise AssertionError("a diff was built")

    monkeypatch.setattr(diff_module, "diff_snapshots", no_diff)
    changes = plan_changes({}, collected)
    assert [json.loads(change.diff_text())["granted"][0]["privilege"] for change in changes] == [
        "USAGE",
        "USAGE",
    ]
