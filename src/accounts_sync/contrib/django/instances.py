"""The Django ``InstanceRepository``: the host's own instance model, seen through a field map."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from django.db import models, router, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce

from ... import _lifecycle as rules

__all__ = ["DjangoInstanceRepository", "MappedInstance"]


class MappedInstance:
    """A host model object seen through a field mapping.

    ``id``, ``name``, ``db_type`` and ``host`` come from the mapped fields; any other attribute
    is read from ``obj``, the model instance itself.
    """

    __slots__ = ("db_type", "host", "id", "name", "obj")

    def __init__(self, obj: Any, *, id: int, name: str, db_type: str, host: str) -> None:
        self.obj = obj
        self.id = id
        self.name = name
        self.db_type = db_type
        self.host = host

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.obj, attribute)

    def __repr__(self) -> str:
        return f"MappedInstance(id={self.id!r}, name={self.name!r}, obj={self.obj!r})"


class DjangoInstanceRepository:
    """An ``InstanceRepository`` over the host's own instance model.

    The keyword arguments name the model's fields. ``active_field``, ``deleted_field`` and
    ``sync_count_field`` may be ``None`` when the model has no such column (every instance is
    then enabled / never deleted / not counted). When the id, name, db_type and host fields are
    named ``id``, ``name``, ``db_type`` and ``host``, the model objects are returned unchanged;
    otherwise they are wrapped in :class:`MappedInstance`. ``using`` pins a database alias
    (default: Django's routers).
    """

    def __init__(
        self,
        model: type[Any],
        *,
        id_field: str = "id",
        name_field: str = "name",
        db_type_field: str = "db_type",
        host_field: str = "host",
        active_field: str | None = "is_active",
        deleted_field: str | None = "deleted_at",
        sync_count_field: str | None = "sync_count",
        using: str | None = None,
    ) -> None:
        for field in (
            id_field,
            name_field,
            db_type_field,
            host_field,
            active_field,
            deleted_field,
            sync_count_field,
        ):
            if field is not None:
                model._meta.get_field(field)  # FieldDoesNotExist now, not mid-sync
        self.model = model
        self.id_field = id_field
        self.name_field = name_field
        self.db_type_field = db_type_field
        self.host_field = host_field
        self.active_field = active_field
        self.deleted_field = deleted_field
        self.sync_count_field = sync_count_field
        self.using = using
        self._mapped = (id_field, name_field, db_type_field, host_field) != (
            "id",
            "name",
            "db_type",
            "host",
        )

    def count_active(self) -> int:
        return int(self._query().filter(self._active()).count())

    def get(self, instance_id: int) -> Any:
        """The instance, enabled or not; ``None`` if missing or soft-deleted."""
        item = self._not_deleted().filter(**{self.id_field: instance_id}).first()
        return None if item is None else self._present(item)

    def get_many(self, instance_ids: Sequence[int]) -> list[Any]:
        """``get`` for many ids, in id order; missing and soft-deleted ones left out."""
        found: list[Any] = []
        ids = sorted({i for i in instance_ids if rules.fits_integer(i)})
        for part in rules.batched(ids):
            query = self._not_deleted().filter(**{f"{self.id_field}__in": part})
            found += [self._present(item) for item in query.order_by(self.id_field)]
        return found

    def _not_deleted(self) -> Any:
        query = self._query()
        if self.deleted_field is not None:
            query = query.filter(**{f"{self.deleted_field}__isnull": True})
        return query

    def list_active(self) -> list[Any]:
        """Enabled, not deleted instances, ordered by name, then id."""
        query = self._query().filter(self._active()).order_by(self.name_field, self.id_field)
        return [self._present(item) for item in query]

    def increment_sync_count(self, instance_id: int) -> None:
        """One ``UPDATE … SET sync_count = COALESCE(sync_count, 0) + 1``."""
        if self.sync_count_field is None:
            return
        self._writer().filter(**{self.id_field: instance_id}).update(**self._bump(1))

    def increment_sync_counts(self, instance_ids: Sequence[int]) -> None:
        """Count each id once per occurrence: one UPDATE per distinct multiplicity (and chunk)."""
        if self.sync_count_field is None or not instance_ids:
            return
        by_times: dict[int, list[int]] = {}
        for instance_id, times in Counter(instance_ids).items():
            by_times.setdefault(times, []).append(instance_id)
        writer = self._writer()
        with transaction.atomic(using=writer.db):
            for times, ids in by_times.items():
                for chunk in rules.batched(ids):
                    writer.filter(**{f"{self.id_field}__in": chunk}).update(**self._bump(times))

    def _query(self) -> Any:
        query = self.model._default_manager.all()
        return query.using(self.using) if self.using else query

    @property
    def write_alias(self) -> str:
        """The database alias the counts are written to."""
        return self.using or str(router.db_for_write(self.model))

    def _writer(self) -> Any:
        return self.model._default_manager.using(self.write_alias)

    def _active(self) -> Q:
        condition = Q()
        if self.active_field is not None:
            condition &= Q(**{self.active_field: True})
        if self.deleted_field is not None:
            condition &= Q(**{f"{self.deleted_field}__isnull": True})
        return condition

    def _bump(self, times: int) -> dict[str, Any]:
        field = self.sync_count_field
        assert field is not None
        # An explicit output field: the host's column may be Positive/Big/SmallIntegerField.
        current = Coalesce(F(field), Value(0), output_field=models.BigIntegerField())
        return {field: current + Value(times)}

    def _present(self, item: Any) -> Any:
        if not self._mapped:
            return item
        return MappedInstance(
            item,
            id=getattr(item, self.id_field),
            name=getattr(item, self.name_field),
            db_type=getattr(item, self.db_type_field),
            host=getattr(item, self.host_field),
        )
