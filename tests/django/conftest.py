"""Django for these tests: the example project's settings plus a test app.

Settings are configured here, when pytest collects this folder, rather than through
``DJANGO_SETTINGS_MODULE``, so the other test folders never load Django. The SQLite test
database is a file, so background threads can share it; PostgreSQL is added as a second alias
(``pg``) on a fresh database per test by the ``pg_alias`` fixture.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
import pytest
import sqlalchemy as sa
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "django_project"
PG_ALIAS = "pg"

_TMP = Path(tempfile.mkdtemp(prefix="accounts_sync_django_"))
atexit.register(shutil.rmtree, _TMP, True)


def _configure() -> None:
    if settings.configured:
        return
    if str(EXAMPLE) not in sys.path:
        sys.path.insert(0, str(EXAMPLE))
    from demo_project import settings as example

    values = {name: getattr(example, name) for name in dir(example) if name.isupper()}
    default = dict(example.DATABASES["default"])
    default["NAME"] = str(_TMP / "never-used.sqlite3")
    default["TEST"] = {"NAME": str(_TMP / "test.sqlite3")}
    values.update(
        DEBUG=False,
        INSTALLED_APPS=[*example.INSTALLED_APPS, "tests.django.testapp"],
        ROOT_URLCONF="tests.django.urls",
        DATABASES={"default": default},
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        # Let records reach caplog (the example sends them to its own handler only).
        LOGGING={"version": 1, "disable_existing_loggers": False},
        DEMO_SYNC_LATENCY=(0.0, 0.01),
        DEMO_SLOW_LATENCY=(0.0, 0.01),
    )
    settings.configure(**values)
    django.setup()


_configure()

# Imported only now: they need configured settings.
from accounts_sync.contrib.django import DEFAULT_PERMISSIONS  # noqa: E402
from accounts_sync.testing import (  # noqa: E402
    ManualClock,
    RecordingLauncher,
    ScriptedSyncService,
)

from .fronts import URLCONF, Front  # noqa: E402
from .state import STATE  # noqa: E402


@pytest.fixture(params=["flask", "django"])
def front(request: pytest.FixtureRequest, settings: Any) -> Iterator[Front]:
    """The endpoints on Flask, then on Django (see ``fronts``)."""
    yield Front(request.param, settings)
    sys.modules.pop(URLCONF, None)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sync_service() -> ScriptedSyncService:
    return ScriptedSyncService()


@pytest.fixture
def launcher() -> RecordingLauncher:
    return RecordingLauncher()


@pytest.fixture
def state() -> Iterator[Any]:
    """The service and hook behind ``tests.django.urls``; reset after each test."""
    yield STATE
    STATE.reset()


def _user(username: str, permissions: list[str]) -> Any:
    from django.contrib.auth.models import Permission, User

    user = User.objects.create_user(username=username, password="pw")
    for dotted in permissions:
        app_label, codename = dotted.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


@pytest.fixture
def operator(db: None) -> Any:
    """A user holding every accounts_sync permission."""
    return _user("operator", sorted(set(DEFAULT_PERMISSIONS.values())))


@pytest.fixture
def viewer(db: None) -> Any:
    """A logged-in user without permissions."""
    return _user("viewer", [])


@pytest.fixture
def pg_alias(postgres_url: str, django_db_blocker: Any) -> Iterator[str]:
    """A ``pg`` database alias on a fresh PostgreSQL database with the app's tables."""
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.migrations.executor import MigrationExecutor

    from .testapp.models import Server

    url = sa.make_url(postgres_url)
    conf = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": url.database,
        "USER": url.username or "",
        "PASSWORD": url.password or "",
        "HOST": url.host or "",
        "PORT": str(url.port or ""),
    }
    connections.settings[PG_ALIAS] = connections.configure_settings(
        {DEFAULT_DB_ALIAS: {}, PG_ALIAS: conf}
    )[PG_ALIAS]
    try:
        with django_db_blocker.unblock():
            connection = connections[PG_ALIAS]
            # The checked-in migrations, as a host's ``migrate`` would run them.
            MigrationExecutor(connection).migrate(
                [("accounts_sync", "0003_syncrecord_page_index"), ("inventory", "0001_initial")]
            )
            with connection.schema_editor() as editor:
                editor.create_model(Server)
            yield PG_ALIAS
    finally:
        connections[PG_ALIAS].close()
        del connections[PG_ALIAS]
        del connections.settings[PG_ALIAS]
