"""Settings of the accounts_sync example project: a SQLite file, Django's auth, the sync app.

Not for production: the secret key and DEBUG are demo values (override them with
``DJANGO_SECRET_KEY`` / ``DJANGO_DEBUG=0``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import django

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-insecure-accounts-sync-demo-only")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "accounts_sync.contrib.django",
    "inventory",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "demo_project.urls"
WSGI_APPLICATION = "demo_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _sqlite_options() -> dict[str, Any]:
    # The full sync writes from a background thread while requests write too: wait for the
    # lock instead of failing, and (Django >= 5.1) take it at BEGIN so two writers never
    # deadlock on a read-then-write upgrade.
    options: dict[str, Any] = {"timeout": 20}
    if django.VERSION >= (5, 1):
        options["transaction_mode"] = "IMMEDIATE"
        options["init_command"] = "PRAGMA journal_mode=WAL;"
    return options


DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("ACCOUNTS_SYNC_DEMO_DB", str(BASE_DIR / "db.sqlite3")),
        "OPTIONS": _sqlite_options(),
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
STATIC_URL = "static/"
LOGIN_URL = "admin:login"

# The toy sync service sleeps this many seconds (min, max) per instance.
DEMO_SYNC_LATENCY = (0.2, 0.8)
# ... and this many for the instances named ``*slow*``.
DEMO_SLOW_LATENCY = (3.0, 4.0)

# Every record of the library's loggers carries ``action`` and ``context``.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "structured": {
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s "
            "action=%(action)s context=%(context)s",
        },
    },
    "handlers": {
        "accounts_sync": {"class": "logging.StreamHandler", "formatter": "structured"},
    },
    "loggers": {
        "accounts_sync": {"handlers": ["accounts_sync"], "level": "INFO", "propagate": False},
    },
}
