"""URLs: the admin (for logging in), the session centre as the home page, the instances page,
and the accounts_sync API and session centre under ``api/``."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path, reverse_lazy
from django.views.generic import RedirectView
from inventory import views
from inventory.wiring import authorize, get_service

from accounts_sync.contrib.django import accounts_sync_urls

urlpatterns = [
    path("admin/", admin.site.urls),
    # The session centre answers 401 to anonymous users; the home page sends them to log in.
    path("", login_required(RedirectView.as_view(url=reverse_lazy("accounts_sync_centre")))),
    path("instances/", views.home, name="home"),
    path("api/", include(accounts_sync_urls(get_service, authorize=authorize))),
]
