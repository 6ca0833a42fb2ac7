"""One page: the instances, buttons that call the API, and a live view of the session."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from .models import Instance


@login_required
@ensure_csrf_cookie
def home(request: HttpRequest) -> HttpResponse:
    instances = Instance.objects.filter(deleted_at__isnull=True)
    return render(request, "inventory/home.html", {"instances": instances})
