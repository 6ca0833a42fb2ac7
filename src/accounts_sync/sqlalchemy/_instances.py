"""The SQL ``InstanceRepository``, mapped onto the host's own model or table."""

from __future__ import annotations

import collections
import itertools
from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar, cast, overload

import attrs
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from .._lifecycle import IN_BATCH, batched, fits_integer
from ._missing_tables import explain_missing_tables
from ._scopes import Bind, BoundSession, Scope, as_scope, bound_scope, is_bound, same_engine
from ._tables import instances_table

__all__ = ["InstanceColumns", "InstanceRow", "SqlAlchemyInstanceRepository"]

InstanceT = TypeVar("InstanceT")
ModelT = TypeVar("ModelT")

# Ids per IN list, and rows per upsert batch.
_UPSERT_BATCH = 5_000


@attrs.frozen(kw_only=True)
class InstanceColumns:
    """Which attributes of the host's model (or columns of its table) mean what.

    ``is_active`` names a boolean column; ``is_active``, ``deleted_at`` and ``sync_count`` may
    be None when the host has no such column (every row is then enabled, never deleted, and
    ``increment_sync_count`` does nothing). The defaults match the ready instances table.
    """

    id: str = "id"
    name: str = "name"
    db_type: str = "db_type"
    host: str = "host"
    is_active: str | None = "is_active"
    deleted_at: str | None = "deleted_at"
    sync_count: str | None = "sync_count"


@attrs.frozen
class InstanceRow:
    """An instance read from a table (no ORM object): what ``get`` and ``list_active`` return
    when the repository maps a ``Table`` rather than a model."""

    id: int
    name: str
    db_type: str
    host: str
    is_active: bool = True
    sync_count: int = 0


@attrs.frozen
class _Resolved:
    """``InstanceColumns`` resolved to the columns of one table."""

    table: sa.Table
    id: sa.ColumnElement[Any]
    name: sa.ColumnElement[Any]
    db_type: sa.ColumnElement[Any]
    host: sa.ColumnElement[Any]
    is_active: sa.ColumnElement[Any] | None
    deleted_at: sa.ColumnElement[Any] | None
    sync_count: sa.ColumnElement[Any] | None

    @classmethod
    def resolve(
        cls, model: type[Any] | None, table: sa.Table | None, names: InstanceColumns
    ) -> _Resolved:
        if model is not None:
            if table is not None:
                raise TypeError("give either model= or table=, not both")
            mapper = sa.inspect(model)
            if not isinstance(mapper.local_table, sa.Table):
                raise TypeError(f"{model.__name__} is not mapped to a single table")
            table, columns = mapper.local_table, mapper.columns
        else:
            table = instances_table if table is None else table
            columns = table.c

        def column(key: str | None) -> sa.ColumnElement[Any] | None:
            return None if key is None else cast(sa.ColumnElement[Any], columns[key])

        return cls(
            table=table,
            id=columns[names.id],
            name=columns[names.name],
            db_type=columns[names.db_type],
            host=columns[names.host],
            is_active=column(names.is_active),
            deleted_at=column(names.deleted_at),
            sync_count=column(names.sync_count),
        )

    def not_deleted(self) -> sa.ColumnElement[bool]:
        return sa.true() if self.deleted_at is None else self.deleted_at.is_(None)

    def active(self) -> sa.ColumnElement[bool]:
        enabled = sa.true() if self.is_active is None else self.is_active == sa.true()
        return sa.and_(enabled, self.not_deleted())

    def inactive_parts(self) -> list[sa.ColumnElement[bool]]:
        """Disjoint conditions that together select exactly the rows that are not active."""
        active, deleted = self.is_active, self.deleted_at
        if active is None:
            return [] if deleted is None else [deleted.is_not(None)]
        parts = [active == sa.false()]
        if cast(sa.Column[Any], active).nullable:
            parts.append(active.is_(None))
        if deleted is not None:
            parts.append(sa.and_(active == sa.true(), deleted.is_not(None)))
        return parts


@explain_missing_tables
class SqlAlchemyInstanceRepository(Generic[InstanceT]):
    """Instances read from the host's model or table (the ready instances table by default).

    With ``model=``, ``get`` and ``list_active`` return the host's own ORM objects (loaded, and
    detached in standalone mode); with a ``table=`` they return small frozen ``InstanceRow``
    values. Standalone on an Engine or sessionmaker, or bound to the host's Session with
    :meth:`bound`, as for the session repository.
    """

    @overload
    def __init__(
        self: SqlAlchemyInstanceRepository[InstanceRow],
        bind: Bind | Scope,
        *,
        table: sa.Table | None = None,
        columns: InstanceColumns = ...,
    ) -> None: ...

    @overload
    def __init__(
        self: SqlAlchemyInstanceRepository[ModelT],
        bind: Bind | Scope,
        *,
        model: type[ModelT],
        columns: InstanceColumns = ...,
    ) -> None: ...

    def __init__(
        self,
        bind: Bind | Scope,
        *,
        model: type[Any] | None = None,
        table: sa.Table | None = None,
        columns: InstanceColumns = InstanceColumns(),
    ) -> None:
        self._model = model
        self._map = _Resolved.resolve(model, table, columns)
        self._scope = as_scope(bind, self._map.table)
        # Built once: the full-sync loop runs these per batch, and building costs more than
        # running them.
        m = self._map
        some_ids = m.id.in_(sa.bindparam("p_ids", expanding=True))
        self._lock_in_order = sa.select(m.id).where(some_ids).order_by(m.id).with_for_update()
        # PostgreSQL: the ids as one array, so the text is the same for every batch and driver
        # and server parse it once (an expanded IN list is new text each time). The primary
        # key finds them whatever the plan.
        self._lock_in_order_pg = (
            sa.select(m.id)
            .where(m.id == sa.any_(sa.bindparam("p_ids", type_=postgresql.ARRAY(m.id.type))))
            .order_by(m.id)
            .with_for_update()
        )
        bump = {
            m.sync_count: sa.func.coalesce(m.sync_count, 0) + sa.bindparam("p_step", sa.Integer)
        }
        self._increment = (
            None if m.sync_count is None else sa.update(m.table).where(some_ids).values(bump)
        )
        # PostgreSQL updates rows in heap order: this one locks them in id order first, in the
        # same statement (MySQL refuses a subquery on the updated table; it locks in key order).
        self._increment_in_order = (
            None
            if m.sync_count is None
            else sa.update(m.table)
            .where(m.id.in_(self._lock_in_order_pg.scalar_subquery()))
            .values(bump)
        )

    @property
    def is_bound(self) -> bool:
        """True for a repository writing in the host's session (``.bound(session)``)."""
        return is_bound(self._scope)

    @overload
    @classmethod
    def bound(
        cls,
        session: BoundSession,
        *,
        table: sa.Table | None = None,
        columns: InstanceColumns = ...,
    ) -> SqlAlchemyInstanceRepository[InstanceRow]: ...

    @overload
    @classmethod
    def bound(
        cls, session: BoundSession, *, model: type[ModelT], columns: InstanceColumns = ...
    ) -> SqlAlchemyInstanceRepository[ModelT]: ...

    @classmethod
    def bound(
        cls,
        session: BoundSession,
        *,
        model: type[Any] | None = None,
        table: sa.Table | None = None,
        columns: InstanceColumns = InstanceColumns(),
    ) -> SqlAlchemyInstanceRepository[Any]:
        """A repository that reads and writes in ``session``'s transaction; the host commits."""
        scope = bound_scope(session, _Resolved.resolve(model, table, columns).table)
        if model is not None:
            return cls(scope, model=model, columns=columns)
        return cls(scope, table=table, columns=columns)

    @property
    def table(self) -> sa.Table:
        """The table the instances live in."""
        return self._map.table

    def count_active(self) -> int:
        m = self._map
        counted = sa.select(sa.func.count()).select_from(m.table)
        with self._scope.read() as conn:
            if conn.dialect.name != "sqlite" or (
                m.is_active is not None and not isinstance(m.is_active.type, sa.Boolean)
            ):
                return int(conn.scalar(counted.where(m.active())) or 0)
            # SQLite counts a whole table from its b-tree pages, far faster than it walks
            # 100,000 index entries; the inactive rows are few, and found through an index.
            total = int(conn.scalar(counted) or 0)
            inactive = sum(
                int(conn.scalar(counted.where(part)) or 0) for part in m.inactive_parts()
            )
        return total - inactive

    def get(self, instance_id: int) -> InstanceT | None:
        if not fits_integer(instance_id, bits=_id_bits(self._map.id)):
            return None  # no row can have it; asking would be a database error, not an answer
        found = self._fetch(sa.and_(self._map.id == instance_id, self._map.not_deleted()))
        return found[0] if found else None

    def get_many(self, instance_ids: Sequence[int]) -> list[InstanceT]:
        """``get`` for many ids, in id order; missing and soft-deleted ones left out."""
        bits = _id_bits(self._map.id)
        ids = sorted({i for i in instance_ids if fits_integer(i, bits=bits)})
        found: list[InstanceT] = []
        for part in batched(ids):
            found += self._fetch(
                sa.and_(self._map.id.in_(part), self._map.not_deleted()), self._map.id
            )
        return found

    def list_active(self) -> list[InstanceT]:
        """Active instances ordered by name, then id (in the name column's collation)."""
        return self._fetch(self._map.active(), self._map.name, self._map.id)

    def list_all(self) -> list[InstanceT]:
        """Every instance not deleted, enabled or not, in id order."""
        return self._fetch(self._map.not_deleted(), self._map.id)

    def find(self, ref: str) -> list[InstanceT]:
        """The instances (not deleted) whose id is ``ref`` when it is all digits, else whose name
        is exactly ``ref``; surrounding whitespace is ignored. Several when a name is shared."""
        ref = ref.strip()
        m = self._map
        if not (ref.isascii() and ref.isdigit()):
            return self._fetch(sa.and_(m.name == ref, m.not_deleted()), m.id)
        if not fits_integer(int(ref), bits=_id_bits(m.id)):
            return []  # no row can have it; binding it would overflow the column
        return self._fetch(sa.and_(m.id == int(ref), m.not_deleted()), m.id)

    def add(self, *, name: str, db_type: str, host: str) -> int:
        """Insert an enabled instance with a database-assigned id; return that id."""
        m = self._map
        values: dict[str, Any] = {_key(m.name): name, _key(m.db_type): db_type, _key(m.host): host}
        if m.is_active is not None:
            values[_key(m.is_active)] = True
        if m.sync_count is not None:
            values[_key(m.sync_count)] = 0
        with self._scope.write() as conn:
            (new_id,) = conn.execute(sa.insert(m.table).values(values)).inserted_primary_key or (
                None,
            )
        if new_id is None:
            raise RuntimeError("the database returned no id for the new instance")
        return int(new_id)

    def set_active(self, instance_id: int, active: bool) -> bool:
        """Enable or disable an instance (not deleted); False when there is no such instance.

        Raises ``TypeError`` when the mapping has no ``is_active`` column.
        """
        m = self._map
        if m.is_active is None:
            raise TypeError("the instances have no is_active column to set")
        update = sa.update(m.table).where(m.id == instance_id, m.not_deleted())
        with self._scope.write() as conn:
            return conn.execute(update.values({_key(m.is_active): active})).rowcount > 0

    def delete_after(self, instance_id: int) -> int:
        """Delete (for good, not soft) every instance whose id is above ``instance_id``; return
        how many. For fleets rebuilt by ids ``1..n``, such as the CLI's simulated one."""
        m = self._map
        with self._scope.write() as conn:
            return int(conn.execute(sa.delete(m.table).where(m.id > instance_id)).rowcount)

    def increment_sync_count(self, instance_id: int) -> None:
        self.increment_sync_counts([instance_id])

    def increment_sync_counts(self, instance_ids: Sequence[int]) -> None:
        """Add one to ``sync_count`` per occurrence of each id, in one transaction and one
        ``UPDATE`` per batch of ids (usually one in all)."""
        if self._increment is None or not instance_ids:
            return
        with self._scope.write() as conn:
            self.increment_in(conn, instance_ids)

    def increment_in(self, conn: sa.Connection, instance_ids: Sequence[int]) -> None:
        """``increment_sync_counts`` inside the caller's transaction on ``conn`` (a store that
        writes the counts with its records uses it)."""
        increment = self._increment
        if increment is None or not instance_ids:
            return
        counts = collections.Counter(instance_ids)
        by_step: dict[int, list[int]] = collections.defaultdict(list)
        for instance_id, times in counts.items():
            by_step[times].append(instance_id)
        # Two transactions must lock shared rows in the same order or they deadlock. SQLite
        # locks the whole file. One UPDATE per step: the statement locks in id order by itself
        # (InnoDB walks the key; PostgreSQL through the ordered subquery). Several statements
        # (several steps, or batches): lock every row in id order first.
        dialect = conn.dialect.name
        if dialect != "sqlite" and len(counts) > 1 and (len(by_step) > 1 or len(counts) > IN_BATCH):
            lock = self._lock_in_order_pg if dialect == "postgresql" else self._lock_in_order
            for chunk in batched(sorted(counts)):
                conn.execute(lock, {"p_ids": list(chunk)})
        elif dialect == "postgresql" and self._increment_in_order is not None:
            increment = self._increment_in_order
        for step, ids in by_step.items():
            for chunk in batched(sorted(ids)):
                conn.execute(increment, {"p_ids": list(chunk), "p_step": step})

    @property
    def counts_syncs(self) -> bool:
        """True when the mapping has a ``sync_count`` column to increment."""
        return self._increment is not None

    def shares_engine_with(self, scope: Scope) -> bool:
        """True when this repository writes through the same standalone engine as ``scope``."""
        return same_engine(self._scope, scope)

    def sync_count(self, instance_id: int) -> int:
        """The stored ``sync_count`` of an instance (0 when missing, NULL or not mapped)."""
        m = self._map
        if m.sync_count is None:
            return 0
        with self._scope.read() as conn:
            value = conn.scalar(sa.select(m.sync_count).where(m.id == instance_id))
        return int(value or 0)

    def upsert(self, instances: Iterable[Any], *, batch_size: int = _UPSERT_BATCH) -> int:
        """Insert instances, or update those whose id exists, in one transaction; return how many.

        Reads ``id``, ``name``, ``db_type``, ``host`` and, when present, ``is_active``,
        ``deleted_at`` and ``sync_count`` from each object (an ``InstanceRow``, a host object,
        a test fake). An existing row keeps its ``sync_count``. Fast enough to load 100,000 rows
        in a few seconds: one multi-row statement per batch.
        """
        iterator = iter(instances)
        written = 0
        with self._scope.write() as conn:
            statement = self._upsert_statement(conn.dialect.name)
            while batch := [self._values(item) for item in itertools.islice(iterator, batch_size)]:
                conn.execute(statement, batch)
                written += len(batch)
        return written

    def _fetch(self, condition: sa.ColumnElement[bool], *order: Any) -> list[InstanceT]:
        m = self._map
        if self._model is not None:
            with self._scope.orm() as session:
                query = sa.select(self._model).where(condition).order_by(*order)
                return list(session.scalars(query))
        wanted = [m.id, m.name, m.db_type, m.host]
        active_at = sync_at = None
        if m.is_active is not None:
            active_at = len(wanted)
            wanted.append(m.is_active)
        if m.sync_count is not None:
            sync_at = len(wanted)
            wanted.append(m.sync_count)
        query = sa.select(*wanted).where(condition).order_by(*order)
        with self._scope.read() as conn:
            rows = [
                InstanceRow(
                    row[0],
                    row[1],
                    row[2],
                    row[3],
                    True if active_at is None else bool(row[active_at]),
                    0 if sync_at is None else int(row[sync_at] or 0),
                )
                for row in conn.execute(query)
            ]
        return cast(list[InstanceT], rows)

    def _values(self, item: Any) -> dict[str, Any]:
        m = self._map
        values = {
            _key(m.id): item.id,
            _key(m.name): item.name,
            _key(m.db_type): item.db_type,
            _key(m.host): item.host,
        }
        if m.is_active is not None:
            values[_key(m.is_active)] = bool(getattr(item, "is_active", True))
        if m.deleted_at is not None:
            values[_key(m.deleted_at)] = getattr(item, "deleted_at", None)
        if m.sync_count is not None:
            values[_key(m.sync_count)] = getattr(item, "sync_count", 0) or 0
        return values

    def _upsert_statement(self, dialect: str) -> sa.Insert:
        m = self._map
        updated = [
            _key(column)
            for column in (m.name, m.db_type, m.host, m.is_active, m.deleted_at)
            if column is not None
        ]
        if dialect in ("postgresql", "sqlite"):
            module = postgresql if dialect == "postgresql" else sqlite
            insert = module.insert(m.table)
            return cast(
                sa.Insert,
                insert.on_conflict_do_update(
                    index_elements=[m.id], set_={key: insert.excluded[key] for key in updated}
                ),
            )
        if dialect == "mysql":
            upsert = mysql.insert(m.table)
            return upsert.on_duplicate_key_update({key: upsert.inserted[key] for key in updated})
        raise NotImplementedError(f"upsert is not implemented for the {dialect} dialect")


def _key(column: sa.ColumnElement[Any]) -> str:
    return cast(sa.Column[Any], column).key


def _id_bits(column: sa.ColumnElement[Any]) -> int:
    """How many bits the host's id column holds (64 unless it is a plain or small INTEGER)."""
    kind = column.type
    if isinstance(kind, sa.SmallInteger):
        return 16
    if isinstance(kind, sa.Integer) and not isinstance(kind, sa.BigInteger):
        return 32
    return 64
