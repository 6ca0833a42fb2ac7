"""A small Flask + Flask-SQLAlchemy host of accounts_sync.

Start it (it creates and seeds ``instance/accounts_sync_example.sqlite3`` on first start)::

    uv run flask --app examples/flask_app/app.py run

Then, with the development token::

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
from flask import Flask, Request, jsonify
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from accounts_sync import AccountsSyncActionsService, FullSyncTask, ThreadLauncher
from accounts_sync.contrib.flask import init_app
from accounts_sync.contrib.http import NotAuthenticated
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
    """Pretends to collect accounts: sleeps ``latency`` seconds (± 50 %) per instance."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
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
        time.sleep(self.latency * jitter)
        return {
            "success": True,
            "message": f"{instance.name}: {accounts} accounts",
            "synced_count": accounts,
            "added_count": accounts % 3,
        }


def seed(count: int = 24) -> int:
    """Add ``count`` instances (plus a disabled and a soft-deleted one) to an empty table."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Instance)):
        return 0
    engines = ("mysql", "postgresql", "sqlserver", "oracle")
    for index in range(1, count + 1):
        engine = engines[index % len(engines)]
        db.session.add(
            Instance(name=f"{engine}-{index:03d}", db_type=engine, host=f"10.0.0.{index}")
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


def make_authorize(token: str) -> Any:
    """A header-token check: ``Authorization: Bearer <token>`` acts as user 1."""

    def authorize(request: Request, action: str) -> int:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given, token):
            raise NotAuthenticated("")
        return 1

    return authorize


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: database, seed, accounts_sync wiring."""
    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI="sqlite:///accounts_sync_example.sqlite3",
        ACCOUNTS_SYNC_TOKEN=os.environ.get("ACCOUNTS_SYNC_TOKEN", "dev-token"),
        SYNC_LATENCY=float(os.environ.get("SYNC_LATENCY", "0.15")),
        SYNC_WORKERS=8,
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
        seeded = seed()
        if seeded:
            logger.info("seeded %d instances", seeded)

    sync_service = ToySyncService(app.config["SYNC_LATENCY"])
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
    )
    # ... while requests write in db.session, committed by the view before the launch.
    in_request: AccountsSyncActionsService[Instance] = AccountsSyncActionsService(
        sync_service=sync_service,
        instances=SqlAlchemyInstanceRepository.bound(db.session, model=Instance),
        sessions=SqlAlchemySyncSessionRepository.bound(db.session),
        sync_task=background.sync_task,
        launcher=background.launcher,
    )
    init_app(
        app,
        in_request,
        authorize=make_authorize(app.config["ACCOUNTS_SYNC_TOKEN"]),
        db_session=db.session,
        background_service=background,
    )

    @app.get("/")
    def index() -> Any:
        rows = db.session.scalars(sa.select(Instance).order_by(Instance.name))
        return jsonify(
            {
                "endpoints": {
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

    return app
