"""``manage.py seed_instances``: demo instances (idempotent: matched by name)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from inventory.models import Instance

_TYPES = ("mysql", "postgresql", "sqlserver", "oracle")


class Command(BaseCommand):
    help = (
        "Create demo database instances: active ones, a disabled and a deleted one, broken ones "
        "(they fail) and a slow one."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--count", type=int, default=12, help="active healthy instances")
        parser.add_argument("--broken", type=int, default=1, help="active instances that fail")

    def handle(self, *args: Any, count: int, broken: int = 1, **options: Any) -> None:
        rows: list[dict[str, Any]] = [
            {
                "name": f"{_TYPES[i % len(_TYPES)]}-{i + 1:02d}",
                "db_type": _TYPES[i % len(_TYPES)],
                "host": f"10.0.0.{i + 1}",
                "is_active": True,
                "deleted_at": None,
            }
            for i in range(count)
        ]
        rows += [
            {
                "name": "mysql-broken" if i == 1 else f"mysql-broken-{i:02d}",
                "db_type": "mysql",
                "host": "10.0.9.1" if i == 1 else f"10.0.10.{i}",
                "is_active": True,
                "deleted_at": None,
            }
            for i in range(1, broken + 1)
        ]
        rows += [
            {
                "name": "postgresql-slow",
                "db_type": "postgresql",
                "host": "10.0.9.4",
                "is_active": True,
                "deleted_at": None,
            },
            {
                "name": "mysql-legacy",
                "db_type": "mysql",
                "host": "10.0.9.2",
                "is_active": False,
                "deleted_at": None,
            },
            {
                "name": "postgresql-retired",
                "db_type": "postgresql",
                "host": "10.0.9.3",
                "is_active": True,
                "deleted_at": timezone.now(),
            },
        ]
        for row in rows:
            Instance.objects.update_or_create(name=row.pop("name"), defaults=row)
        active = Instance.objects.filter(is_active=True, deleted_at__isnull=True).count()
        self.stdout.write(f"{len(rows)} instances seeded, {active} active")
