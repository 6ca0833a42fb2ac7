"""DjangoInstanceRepository on the host's own models: the example's Instance (default field
names) and the test app's Server (every field renamed)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.db import connections
from django.utils import timezone
from inventory.models import Instance

from accounts_sync import InstanceRepository
from accounts_sync.contrib.django import DjangoInstanceRepository, MappedInstance
from accounts_sync.ports import SupportsBulkSyncCount

from .testapp.models import Server

pytestmark = pytest.mark.django_db


def _instances() -> dict[str, Any]:
    rows = {
        "b": Instance.objects.create(name="b", db_type="mysql", host="h1"),
        "a2": Instance.objects.create(name="a", db_type="postgresql", host="h2", sync_count=None),
        "a1": Instance.objects.create(name="a", db_type="mysql", host="h3"),
        "off": Instance.objects.create(name="off", db_type="mysql", host="h4", is_active=False),
        "gone": Instance.objects.create(
            name="gone", db_type="mysql", host="h5", deleted_at=timezone.now()
        ),
    }
    return rows


def test_default_mapping_returns_the_host_objects_unchanged() -> None:
    rows = _instances()
    repo = DjangoInstanceRepository(Instance)
    assert isinstance(repo, InstanceRepository) and isinstance(repo, SupportsBulkSyncCount)
    assert repo.count_active() == 3
    active = repo.list_active()
    assert all(isinstance(item, Instance) for item in active)
    # Ordered by name, then id ("a" twice: the older row first).
    assert [item.pk for item in active] == [rows["a2"].pk, rows["a1"].pk, rows["b"].pk]
    assert repo.get(rows["off"].pk) == rows["off"]  # disabled: still syncable by hand
    assert repo.get(rows["gone"].pk) is None  # soft-deleted
    assert repo.get(10**9) is None


def test_increment_sync_count_is_one_update_and_counts_null_as_zero(
    django_assert_num_queries: Any,
) -> None:
    rows = _instances()
    repo = DjangoInstanceRepository(Instance)
    with django_assert_num_queries(1) as captured:
        repo.increment_sync_count(rows["a2"].pk)
    sql = captured.captured_queries[0]["sql"].upper()
    assert sql.startswith("UPDATE") and "COALESCE" in sql
    repo.increment_sync_count(rows["a2"].pk)
    repo.increment_sync_count(rows["b"].pk)
    counts = dict(Instance.objects.values_list("host", "sync_count"))
    assert counts["h2"] == 2 and counts["h1"] == 1 and counts["h3"] == 0


def test_bulk_increment_counts_each_occurrence(django_assert_max_num_queries: Any) -> None:
    rows = _instances()
    repo = DjangoInstanceRepository(Instance)
    ids = [rows["a1"].pk, rows["a2"].pk, rows["a1"].pk, rows["b"].pk]
    with django_assert_max_num_queries(4):  # savepoint, two UPDATEs (x1, x2), release
        repo.increment_sync_counts(ids)
    repo.increment_sync_counts([])
    counts = {i.pk: i.sync_count for i in Instance.objects.all()}
    assert counts[rows["a1"].pk] == 2 and counts[rows["a2"].pk] == 1 and counts[rows["b"].pk] == 1


def _servers() -> dict[str, Server]:
    return {
        "web": Server.objects.create(
            label="web", engine="mysql", address="10.0.0.1", password="s3cret"
        ),
        "api": Server.objects.create(label="api", engine="postgresql", address="10.0.0.2"),
        "old": Server.objects.create(
            label="old", engine="mysql", address="10.0.0.3", enabled=False, syncs=4
        ),
        "rm": Server.objects.create(
            label="rm", engine="mysql", address="10.0.0.4", removed_at=timezone.now()
        ),
    }


def _server_repo(**kwargs: Any) -> DjangoInstanceRepository:
    options: dict[str, Any] = {
        "id_field": "server_id",
        "name_field": "label",
        "db_type_field": "engine",
        "host_field": "address",
        "active_field": "enabled",
        "deleted_field": "removed_at",
        "sync_count_field": "syncs",
    }
    return DjangoInstanceRepository(Server, **{**options, **kwargs})


def test_a_renamed_model_is_seen_through_mapped_instances() -> None:
    rows = _servers()
    repo = _server_repo()
    active = repo.list_active()
    assert [(i.id, i.name, i.db_type, i.host) for i in active] == [
        (rows["api"].pk, "api", "postgresql", "10.0.0.2"),
        (rows["web"].pk, "web", "mysql", "10.0.0.1"),
    ]
    item = active[1]
    assert isinstance(item, MappedInstance) and item.obj == rows["web"]
    assert item.describe() == "mysql://10.0.0.1"  # everything else comes from the model
    assert item.label == "web"
    assert repo.count_active() == 2
    assert repo.get(rows["old"].pk) is not None and repo.get(rows["rm"].pk) is None
    repo.increment_sync_count(rows["old"].pk)  # a PositiveIntegerField column
    repo.increment_sync_counts([rows["web"].pk, rows["web"].pk])
    assert dict(Server.objects.values_list("label", "syncs")) == {
        "web": 2,
        "api": None,
        "old": 5,
        "rm": None,
    }


def test_optional_columns_may_be_absent() -> None:
    rows = _servers()
    repo = _server_repo(active_field=None, deleted_field=None, sync_count_field=None)
    assert repo.count_active() == 4
    assert repo.get(rows["rm"].pk) is not None
    repo.increment_sync_count(rows["web"].pk)
    repo.increment_sync_counts([rows["web"].pk])
    assert Server.objects.get(pk=rows["web"].pk).syncs is None


def test_a_wrong_field_name_fails_at_configuration_time() -> None:
    with pytest.raises(FieldDoesNotExist):
        DjangoInstanceRepository(Instance, sync_count_field="syncs")


@pytest.mark.services
def test_concurrent_increments_lose_nothing_on_postgres(pg_alias: str) -> None:
    server = Server.objects.using(pg_alias).create(label="x", engine="mysql", address="h")
    repo = _server_repo(using=pg_alias)
    barrier = threading.Barrier(8)

    def bump() -> None:
        try:
            barrier.wait()
            for _ in range(25):
                repo.increment_sync_count(server.pk)
            repo.increment_sync_counts([server.pk] * 5)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Server.objects.using(pg_alias).get(pk=server.pk).syncs == 8 * 30
