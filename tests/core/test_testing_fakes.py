"""``accounts_sync.testing``: the fakes and strategies host applications test with."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hypothesis import Phase, find, settings
from hypothesis import strategies as st

from accounts_sync import (
    FullSyncJob,
    InlineLauncher,
    Launcher,
    SessionStatus,
    SupportsAccountSync,
    normalize_sync_result,
)
from accounts_sync.memory import InMemoryInstanceRepository, InMemorySyncSessionRepository
from accounts_sync.ports import SupportsInstance
from accounts_sync.testing import (
    FakeInstance,
    ManualClock,
    RecordingLauncher,
    ScriptedSyncService,
    SyncCall,
    in_memory_service,
    make_instances,
)
from accounts_sync.testing.strategies import (
    check_normalized,
    hostile_values,
    raw_sync_results,
    snapshot,
)

from .support import WAIT


def test_fake_instances() -> None:
    instance = FakeInstance(id=3, name="db")
    assert isinstance(instance, SupportsInstance)
    assert (
        instance.db_type,
        instance.host,
        instance.is_active,
        instance.deleted_at,
        instance.sync_count,
    ) == ("mysql", "127.0.0.1", True, None, 0)
    made = make_instances(3, prefix="pg", db_type="postgresql")
    assert [(i.id, i.name, i.db_type) for i in made] == [
        (1, "pg-0001", "postgresql"),
        (2, "pg-0002", "postgresql"),
        (3, "pg-0003", "postgresql"),
    ]
    wide = make_instances(12345)
    assert (wide[0].name, wide[-1].name) == ("db-00001", "db-12345")
    assert [i.name for i in wide] == sorted(i.name for i in wide)  # names sort like ids
    assert make_instances(0) == []


def test_scripted_sync_service_answers_as_scripted_and_records_calls() -> None:
    error = ConnectionError("refused")
    sync = ScriptedSyncService()
    assert isinstance(sync, SupportsAccountSync)
    sync.script(2, result={"success": False}).script(3, raises=error)
    sync.script(4, call=lambda instance: {"success": True, "synced_count": instance.id * 10})
    one, two, three, four = make_instances(4)

    assert sync.sync_accounts(one) == {"success": True, "synced_count": 1}
    assert sync.sync_accounts(two, "manual_batch", "sid", 9) == {"success": False}
    with pytest.raises(ConnectionError) as caught:
        sync.sync_accounts(three, sync_type="scheduled_task", session_id="s2", created_by=None)
    assert caught.value is error
    assert sync.sync_accounts(four) == {"success": True, "synced_count": 40}

    name = threading.current_thread().name
    assert sync.calls == [
        SyncCall(1, "manual_single", None, None, name),
        SyncCall(2, "manual_batch", "sid", 9, name),
        SyncCall(3, "scheduled_task", "s2", None, name),
        SyncCall(4, "manual_single", None, None, name),
    ]
    assert sync.called_ids() == [1, 2, 3, 4]


def test_scripted_default_and_delay() -> None:
    sync = ScriptedSyncService(default=None, default_delay=0.001)
    assert sync.sync_accounts(FakeInstance(id=1, name="a")) is None
    sync.script(1, result={"ok": 1}, delay=0.001)
    assert sync.sync_accounts(FakeInstance(id=1, name="a")) == {"ok": 1}


def test_scripted_sync_service_records_calls_from_many_threads() -> None:
    sync = ScriptedSyncService()
    instances = make_instances(8)
    barrier = threading.Barrier(8)

    def hammer(instance: FakeInstance) -> None:
        barrier.wait(WAIT)
        for _ in range(50):
            sync.sync_accounts(instance)

    threads = [threading.Thread(target=hammer, args=(i,), name=f"t{i.id}") for i in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert len(sync.calls) == 400
    assert sorted(sync.called_ids()) == sorted([i.id for i in instances] * 50)
    assert {(c.instance_id, c.thread_name) for c in sync.calls} == {
        (i.id, f"t{i.id}") for i in instances
    }


def test_recording_launcher_records_then_runs_in_order() -> None:
    launcher = RecordingLauncher()
    assert isinstance(launcher, Launcher)
    ran: list[str] = []
    jobs = [FullSyncJob(session_id=f"s{i}", created_by=i) for i in range(3)]

    names = [launcher.launch(job, lambda job: ran.append(job.session_id)) for job in jobs]

    assert names == ["recorded-1", "recorded-2", "recorded-3"]
    assert launcher.jobs == jobs
    assert ran == []
    assert launcher.run_all() == 3
    assert ran == ["s0", "s1", "s2"]
    assert launcher.run_all() == 0
    assert ran == ["s0", "s1", "s2"]
    assert launcher.jobs == jobs


def test_recording_launcher_can_fail() -> None:
    launcher = RecordingLauncher()
    launcher.fail_with = OSError("no")
    with pytest.raises(OSError, match="no"):
        launcher.launch(FullSyncJob(session_id="s"), lambda job: None)
    assert launcher.jobs == []
    assert launcher.run_all() == 0


def test_in_memory_service_wires_fresh_stores_and_launches_inline() -> None:
    clock = ManualClock()
    sync = ScriptedSyncService()
    service = in_memory_service(
        make_instances(2), sync_service=sync, clock=clock, allow_concurrent_full_sync=True
    )
    assert isinstance(service.launcher, InlineLauncher)
    assert isinstance(service.instances, InMemoryInstanceRepository)
    assert isinstance(service.sessions, InMemorySyncSessionRepository)
    assert service.sync_service is sync
    assert service.allow_concurrent_full_sync

    prepared = service.prepare_background_full_sync()
    assert service.sessions.get_session(prepared.session_id).created_at == clock()
    service.launch_background_full_sync(prepared=prepared)
    assert service.sessions.get_session(prepared.session_id).status is SessionStatus.COMPLETED
    assert in_memory_service().sessions is not in_memory_service().sessions


# --- strategies ---------------------------------------------------------------------------------

TRUE_WORDS = ("true", "1", "yes", "y", "ok", "success", "succeeded", "completed")
# A budget far above what any row needs (the rarest took ~1,300 examples on the lowest Hypothesis
# allowed), so reaching a row is a property of the strategy, not of the seed.
FIND = settings(phases=[Phase.generate], database=None, max_examples=20_000)


def _word(value: object) -> str | None:
    return value.strip().lower() if isinstance(value, str) else None


@pytest.mark.parametrize(
    "row",
    [
        lambda raw: raw is None,
        lambda raw: raw == {} and isinstance(raw, dict),
        lambda raw: isinstance(raw, list),
        lambda raw: isinstance(raw, dict) and raw and "success" not in raw,
        lambda raw: isinstance(raw, dict) and _word(raw.get("success")) in TRUE_WORDS,
        lambda raw: (
            isinstance(raw, dict)
            and isinstance(raw.get("success"), str)
            and _word(raw["success"]) not in TRUE_WORDS
        ),
        lambda raw: isinstance(raw, dict) and type(raw.get("message")).__name__ == "_Unprintable",
    ],
)
def test_raw_sync_results_reach_every_row(row: Any) -> None:
    assert row(find(raw_sync_results(), row, settings=FIND))


def test_check_normalized_accepts_the_real_thing_and_rejects_broken_normalizers() -> None:
    raw = {"success": "false", "synced_count": 1, "extra": object()}
    before = snapshot(raw)
    success, result = normalize_sync_result(raw, context="c")
    check_normalized(raw, success, result, context="c", before=before)

    upstream = {**raw, "success": True, "status": "completed", "message": "c成功"}  # bool("false")
    with pytest.raises(AssertionError):
        check_normalized(raw, True, upstream, context="c")
    with pytest.raises(AssertionError):  # inconsistent status
        check_normalized(raw, False, {**result, "status": "completed"}, context="c")
    with pytest.raises((AssertionError, KeyError)):  # a pass-through key lost
        check_normalized(raw, False, {k: v for k, v in result.items() if k != "extra"}, context="c")
    with pytest.raises(AssertionError):  # wrong default message
        check_normalized(
            None, False, {"success": False, "status": "failed", "message": "x"}, context="c"
        )


def test_check_normalized_detects_mutation() -> None:
    raw: dict[str, Any] = {"success": True, "items": [1, 2]}
    before = snapshot(raw)
    success, result = normalize_sync_result(raw, context="c")
    raw["items"].append(3)  # what a mutating normalizer would do
    with pytest.raises(AssertionError, match="mutated"):
        check_normalized(raw, success, result, context="c", before=before)


def test_hostile_values_are_reprable() -> None:
    # Hypothesis prints falsifying examples with repr(): it must never raise.
    value = find(hostile_values(), lambda v: type(v).__name__ == "_Unprintable", settings=FIND)
    assert repr(value)
    with pytest.raises(RuntimeError):
        str(value)
    for sample in find(st.lists(hostile_values(), min_size=20), bool, settings=FIND):
        assert isinstance(repr(sample), str)
