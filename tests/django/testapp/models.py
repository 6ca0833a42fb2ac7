"""A host model mapped through DjangoInstanceRepository's field names (no migrations: syncdb)."""

from __future__ import annotations

from django.db import models


class Server(models.Model):
    server_id = models.AutoField(primary_key=True)
    label = models.CharField(max_length=200)
    engine = models.CharField(max_length=20)
    address = models.CharField(max_length=200)
    enabled = models.BooleanField(default=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    syncs = models.PositiveIntegerField(null=True, blank=True)
    password = models.CharField(max_length=100, default="")

    def describe(self) -> str:
        return f"{self.engine}://{self.address}"
