"""SqlAlchemyInstanceRepository's administration methods: add, list_all, find, set_active,
delete_after (what the CLI's ``instances`` commands and ``demo`` run), on every backend."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from accounts_sync.sqlalchemy import (
    InstanceColumns,
    InstanceRow,
    SqlAlchemyInstanceRepository,
    instances_table,
)


@pytest.fixture
def repository(sql_engine: sa.Engine) -> SqlAlchemyInstanceRepository[InstanceRow]:
    return SqlAlchemyInstanceRepository(sql_engine, table=instances_table)


def test_add_assigns_ids_and_list_all_includes_disabled_but_not_deleted(
    repository: SqlAlchemyInstanceRepository[InstanceRow], sql_engine: sa.Engine
) -> None:
    first = repository.add(name="pg-main", db_type="postgresql", host="db1")
    second = repository.add(name="maria", db_type="mariadb", host="db2")
    third = repository.add(name="gone", db_type="mysql", host="db3")
    assert first < second < third
    assert repository.set_active(second, False)
    with sql_engine.begin() as conn:
        conn.execute(
            sa.update(instances_table)
            .where(instances_table.c.id == third)
            .values(deleted_at=sa.func.now())
        )
    assert repository.list_all() == [
        InstanceRow(first, "pg-main", "postgresql", "db1", True, 0),
        InstanceRow(second, "maria", "mariadb", "db2", False, 0),
    ]
    assert [row.id for row in repository.list_active()] == [first]


def test_find_by_id_or_exact_name(repository: SqlAlchemyInstanceRepository[InstanceRow]) -> None:
    first = repository.add(name="pg-main", db_type="postgresql", host="db1")
    twin = repository.add(name="twin", db_type="mysql", host="a")
    twin_too = repository.add(name="twin", db_type="mysql", host="b")
    assert [row.name for row in repository.find(str(first))] == ["pg-main"]
    assert [row.id for row in repository.find(" pg-main ")] == [first]
    assert [row.id for row in repository.find("twin")] == [twin, twin_too]
    assert repository.find("999") == []
    assert repository.find(str(2**64)) == []  # out of the column's range: not found
    assert repository.find("²") == []  # a digit, but not an id
    assert repository.find("nope") == []


def test_set_active_toggles_and_reports_unknown_ids(
    repository: SqlAlchemyInstanceRepository[InstanceRow],
) -> None:
    instance = repository.add(name="pg-main", db_type="postgresql", host="db1")
    assert repository.set_active(instance, False)
    assert repository.list_active() == []
    assert repository.set_active(instance, False)  # already disabled: still found
    assert repository.set_active(instance, True)
    assert [row.id for row in repository.list_active()] == [instance]
    assert not repository.set_active(instance + 100, True)


def test_set_active_needs_an_is_active_column(sql_engine: sa.Engine) -> None:
    repository = SqlAlchemyInstanceRepository(
        sql_engine, table=instances_table, columns=InstanceColumns(is_active=None)
    )
    with pytest.raises(TypeError, match="is_active"):
        repository.set_active(1, True)


def test_delete_after_removes_only_higher_ids(
    repository: SqlAlchemyInstanceRepository[InstanceRow],
) -> None:
    repository.upsert(InstanceRow(i, f"db-{i}", "mysql", "h") for i in range(1, 6))
    assert repository.delete_after(3) == 2
    assert [row.id for row in repository.list_all()] == [1, 2, 3]
    assert repository.delete_after(3) == 0
