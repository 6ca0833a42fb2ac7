"""URLs: the admin (for logging in), a small page, and the accounts_sync API under ``api/``."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from inventory import views
from inventory.wiring import authorize, get_service

from accounts_sync.contrib.django import accounts_sync_urls

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", views.home, name="home"),
    path("api/", include(accounts_sync_urls(get_service, authorize=authorize))),
]
