"""``manage.py demo``: migrate, seed, create the demo user and serve — one command to try it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import BaseCommand

DEMO_USER = "demo"
DEMO_PASSWORD = "demo"  # a local demo only
DEMO_PERMISSIONS = (
    ("accounts_sync", "sync_accounts"),
    ("accounts_sync", "view_syncsession"),
    ("accounts_sync", "cancel_syncsession"),
    ("inventory", "view_instance"),
)


class Command(BaseCommand):
    help = "Migrate, seed demo instances, create the demo user and run the development server."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--no-serve", action="store_true", help="set up, then exit")

    def handle(self, *args: Any, addrport: str, no_serve: bool, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_instances", stdout=self.stdout)
        ensure_demo_user()
        self.stdout.write(
            f"Log in as {DEMO_USER} / {DEMO_PASSWORD} at http://{addrport}/ "
            "(the session centre: start a full sync and watch it live)."
        )
        if not no_serve:
            call_command("runserver", addrport, use_reloader=False)


def ensure_demo_user() -> Any:
    """A staff user (so it can use the admin login page) holding the sync permissions."""
    user, _ = get_user_model().objects.get_or_create(
        username=DEMO_USER, defaults={"is_staff": True}
    )
    user.is_staff = True
    user.set_password(DEMO_PASSWORD)
    user.save()
    for app_label, codename in DEMO_PERMISSIONS:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user
