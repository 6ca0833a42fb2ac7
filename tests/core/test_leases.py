"""The lease rules of fan-out claims (``_lifecycle``), for any times: a held claim is free
exactly when its lease ends, and a heartbeat renews it."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from accounts_sync import RecordStatus
from accounts_sync import _lifecycle as rules

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
seconds = st.integers(min_value=0, max_value=10_000).map(lambda s: dt.timedelta(seconds=s))
leases = st.integers(min_value=1, max_value=3_600).map(lambda s: dt.timedelta(seconds=s))


@given(claimed=seconds, beat=st.none() | seconds, now=seconds, lease=leases)
def test_a_running_claim_is_free_exactly_once_its_lease_has_ended(
    claimed: dt.timedelta, beat: dt.timedelta | None, now: dt.timedelta, lease: dt.timedelta
) -> None:
    started, heartbeat = T0 + claimed, None if beat is None else T0 + beat
    cutoff = rules.claim_cutoff(T0 + now, lease, heartbeat)
    free = rules.claimable(RecordStatus.RUNNING, started, cutoff)
    end = rules.lease_end([started], heartbeat, lease)
    assert end is not None
    assert free == (T0 + now > end)
    assert rules.claimable(RecordStatus.PENDING, None, cutoff)
    assert not rules.claimable(RecordStatus.COMPLETED, started, cutoff)


@given(lease=leases, heartbeat=st.floats(min_value=0.1, max_value=600.0))
def test_the_default_lease_fits_and_the_reaper_waits_a_whole_lease(
    lease: dt.timedelta, heartbeat: float
) -> None:
    stale_after = rules.default_lease(lease * 2) * 2
    assert stale_after == lease * 2
    fits = rules.lease_fits(lease, heartbeat_interval=heartbeat, stale_after=stale_after)
    assert fits == (lease >= dt.timedelta(seconds=heartbeat * rules.LEASE_HEARTBEATS))
    assert not rules.lease_fits(
        lease, heartbeat_interval=heartbeat, stale_after=stale_after - dt.timedelta(seconds=1)
    )
