"""The host's instance model: the library reads id, name, db_type and host, and bumps sync_count."""

from __future__ import annotations

from django.db import models


class Instance(models.Model):
    """A database server whose accounts the app keeps track of."""

    name = models.CharField(max_length=200)
    db_type = models.CharField(max_length=20)
    host = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    sync_count = models.IntegerField(null=True, blank=True, default=0)

    class Meta:
        ordering = ("name", "id")

    def __str__(self) -> str:
        return self.name
