"""A small Flask + Flask-SQLAlchemy host of accounts_sync, with the session centre.

Start it (it creates and seeds ``instance/accounts_sync_example.sqlite3`` on first start)::

    uv run flask --app examples/flask_app/app.py run

Open http://127.0.0.1:5000/, log in as ``operator`` / ``operator`` (or ``viewer`` / ``viewer``,
who may only watch) and press "Start full sync". Or call the API with the development token::

    curl -X POST -H "Authorization: Bearer dev-token" \\
        http://127.0.0.1:5000/api/v1/instances/actions/sync-accounts
    curl -H "Authorization: Bearer dev-token" \\
        http://127.0.0.1:5000/api/v1/sync-sessions/<session_id>
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import os
import random
import threading
import time
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask import Flask, Request, jsonify, redirect, render_template_string, request, session
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from accounts_sync import AccountsSyncActionsService, FullSyncTask, Messages, ThreadLauncher
from accounts_sync.contrib.flask import init_app
from accounts_sync.contrib.http import Action, NotAuthenticated, PermissionDenied
from accounts_sync.sqlalchemy import (
    SqlAlchemyInstanceRepository,
    SqlAlchemySyncSessionRepository,
    configure_sqlite,
    create_all,
)

logger = logging.getLogger(__name__)


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Instance(db.Model):  # type: ignore[name-defined,misc]
    """The host's own table of database instances."""

    __tablename__ = "instances"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    db_type: Mapped[str] = mapped_column(sa.String(20))
    host: Mapped[str] = mapped_column(sa.String(100))
    is_active: Mapped[bool] = mapped_column(default=True)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    sync_count: Mapped[int | None] = mapped_column(default=0)


class ToySyncService:
    """Pretends to collect accounts: sleeps ``SYNC_LATENCY`` seconds (± 50 %) per instance,
    ``SYNC_SLOW_LATENCY`` for those named ``*slow*``; those named ``*broken*`` fail.

    The latencies are read from ``config`` on every call, so they can be changed live."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self._random = random.Random(7)
        self._lock = threading.Lock()

    def sync_accounts(
        self,
        instance: Instance,
        sync_type: str = "manual_single",
        session_id: str | None = None,
        created_by: int | None = None,
    ) -> Mapping[str, Any]:
        with self._lock:
            jitter, accounts = self._random.uniform(0.5, 1.5), self._random.randint(3, 40)
        slow = "slow" in instance.name
        time.sleep(self.config["SYNC_SLOW_LATENCY" if slow else "SYNC_LATENCY"] * jitter)
        if "broken" in instance.name:
            return {"success": False, "message": f"cannot connect to {instance.host}"}
        return {
            "success": True,
            "message": f"{instance.name}: {accounts} accounts",
            "synced_count": accounts,
            "added_count": accounts % 3,
        }


def seed(count: int = 24) -> int:
    """Add ``count`` instances (plus a disabled and a soft-deleted one) to an empty table:
    every tenth is ``*-broken-*`` (fails), every twelfth ``*-slow-*``."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Instance)):
        return 0
    engines = ("mysql", "postgresql", "sqlserver", "oracle")
    for index in range(1, count + 1):
        engine = engines[index % len(engines)]
        kind = "broken-" if index % 10 == 0 else "slow-" if index % 12 == 0 else ""
        db.session.add(
            Instance(
                name=f"{engine}-{kind}{index:03d}",
                db_type=engine,
                host=f"10.0.{index // 250}.{index % 250}",
            )
        )
    db.session.add(Instance(name="retired-001", db_type="mysql", host="10.0.9.1", is_active=False))
    db.session.add(
        Instance(
            name="deleted-001",
            db_type="mysql",
            host="10.0.9.2",
            deleted_at=dt.datetime.now(dt.timezone.utc),
        )
    )
    db.session.commit()
    return count + 2


# The demo's users: id, password (a local demo only) and the actions each may take.
USERS: dict[str, tuple[int, str, frozenset[str]]] = {
    "operator": (
        1,
        "operator",
        frozenset(
            {
                Action.SYNC_ALL,
                Action.SYNC_INSTANCE,
                Action.LIST_SESSIONS,
                Action.VIEW_SESSION,
                Action.CANCEL_SESSION,
            }
        ),
    ),
    "viewer": (2, "viewer", frozenset({Action.LIST_SESSIONS, Action.VIEW_SESSION})),
}


def make_authorize(token: str) -> Any:
    """``Authorization: Bearer <token>`` acts as user 1 (scripts); a browser acts as the user
    logged in on ``/login``, with that user's actions."""

    def authorize(request: Request, action: str) -> int:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given, token):
            return 1
        user = USERS.get(session.get("user", ""))
        if user is None:
            raise NotAuthenticated("")
        if action not in user[2]:
            raise PermissionDenied("")
        return user[0]

    return authorize


_LOGIN = """<!doctype html><html lang="en"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Log in</title>
<form method="post" style="max-width:20rem;margin:3rem auto;font:16px system-ui">
<h1>Log in</h1><p>{{ error }}</p>
<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<p><label>User <input name="user" autocomplete="username"></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password">
</label></p><button>Log in</button><p>operator / operator, or viewer / viewer</p></form>"""


def add_login(app: Flask, csrf: CSRFProtect) -> None:
    """A cookie login for the browser, checked against CSRF; the API's token needs none."""

    @app.before_request
    def check_csrf() -> None:
        if "Authorization" not in request.headers:
            csrf.protect()

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        error = ""
        if request.method == "POST":
            user = USERS.get(request.form.get("user", ""))
            if user and hmac.compare_digest(user[1], request.form.get("password", "")):
                session["user"] = request.form["user"]
                return redirect("/")
            error = "Wrong user or password"
        return render_template_string(_LOGIN, error=error)

    @app.get("/")
    def home() -> Any:
        # The session centre, once logged in.
        return redirect("/api/v1/centre/" if session.get("user") else "/login")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: database, seed, accounts_sync wiring."""
    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI="sqlite:///accounts_sync_example.sqlite3",
        ACCOUNTS_SYNC_TOKEN=os.environ.get("ACCOUNTS_SYNC_TOKEN", "dev-token"),
        SYNC_LATENCY=float(os.environ.get("SYNC_LATENCY", "0.15")),
        SYNC_SLOW_LATENCY=float(os.environ.get("SYNC_SLOW_LATENCY", "3")),
        SYNC_WORKERS=8,
        DEMO_INSTANCES=24,
        # The language of the messages and of the session centre: "zh" (default) or "en".
        LANGUAGE=os.environ.get("ACCOUNTS_SYNC_LANGUAGE", "zh"),
        SECRET_KEY=os.environ.get("FLASK_SECRET_KEY", "accounts-sync-demo-only"),
        # Flask-WTF checks CSRF in ``add_login``'s hook, for browser requests only.
        WTF_CSRF_CHECK_DEFAULT=False,
    )
    app.config.update(config or {})
    if os.environ.get("ACCOUNTS_SYNC_OTEL_CONSOLE") == "1":
        # Spans and metrics printed as JSON (needs the otel extra and opentelemetry-sdk).
        from accounts_sync.contrib.otel import instrument_console

        instrument_console()
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Every transaction takes SQLite's write lock at BEGIN (the hook configure_sqlite
        # installs), so racing requests wait for each other and answer 409, never a 500
        # "database is locked" from a read upgraded to a write.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {}).setdefault(
            "execution_options", {"sqlite_begin": "IMMEDIATE"}
        )
    db.init_app(app)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            configure_sqlite(engine)  # WAL: the background thread writes while requests read
        db.create_all()
        create_all(engine)  # the library's sessions and records tables
        seeded = seed(app.config["DEMO_INSTANCES"])
        if seeded:
            logger.info("seeded %d instances", seeded)

    wire(app, engine)
    add_login(app, CSRFProtect(app))
    add_instances_page(app)
    return app


def wire(app: Flask, engine: sa.Engine) -> None:
    """The accounts_sync services, and the blueprint with its session centre."""
    sync_service = ToySyncService(app.config)
    messages = Messages.for_language(app.config["LANGUAGE"])
    # Background work runs on its own connections (standalone stores on the engine) ...
    instances = SqlAlchemyInstanceRepository(engine, model=Instance)
    sessions = SqlAlchemySyncSessionRepository(engine)
    background: AccountsSyncActionsService[Instance] = AccountsSyncActionsService(
        sync_service=sync_service,
        instances=instances,
        sessions=sessions,
        sync_task=FullSyncTask(
            instances=instances,
            sessions=sessions,
            sync_service=sync_service,
            max_workers=app.config["SYNC_WORKERS"],
            instance_timeout=30.0,
        ),
        launcher=ThreadLauncher(),
        messages=messages,
    )
    # ... while requests write in db.session, committed by the view before the launch.
    in_request: AccountsSyncActionsService[Instance] = AccountsSyncActionsService(
        sync_service=sync_service,
        instances=SqlAlchemyInstanceRepository.bound(db.session, model=Instance),
        sessions=SqlAlchemySyncSessionRepository.bound(db.session),
        sync_task=background.sync_task,
        launcher=background.launcher,
        messages=messages,
    )
    init_app(
        app,
        in_request,
        authorize=make_authorize(app.config["ACCOUNTS_SYNC_TOKEN"]),
        db_session=db.session,
        background_service=background,
    )


def add_instances_page(app: Flask) -> None:
    """``GET /instances``: the endpoints and the instances with their ``sync_count``, as JSON."""

    @app.get("/instances")
    def instances_list() -> Any:
        rows = db.session.scalars(sa.select(Instance).order_by(Instance.name))
        return jsonify(
            {
                "endpoints": {
                    "session centre": "GET /api/v1/centre/",
                    "full sync": "POST /api/v1/instances/actions/sync-accounts",
                    "one instance": "POST /api/v1/instances/<id>/actions/sync-accounts",
                    "session": "GET /api/v1/sync-sessions/<session_id>",
                    "cancel": "POST /api/v1/sync-sessions/<session_id>/actions/cancel",
                },
                "auth": "Authorization: Bearer <ACCOUNTS_SYNC_TOKEN> (default dev-token)",
                "instances": [
                    {
                        "id": row.id,
                        "name": row.name,
                        "active": row.is_active and row.deleted_at is None,
                        "sync_count": row.sync_count,
                    }
                    for row in rows
                ],
            }
        )
