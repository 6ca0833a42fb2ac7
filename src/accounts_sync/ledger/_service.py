"""``LedgerSyncService``: collect, diff with the ledger, apply in one transaction."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from .._clock import utc_now
from .._messages import LANGUAGES, Messages
from .._observability import ActionLog
from .._redaction import clean, describe_error, redact_text
from ..collectors._base import Bind, CollectionError, UnsupportedDatabaseError
from ..collectors._registry import CollectorRegistry
from ..collectors._snapshot import PUBLIC_KEY, AccountKind, AccountSnapshot, ServerSnapshot
from ..ports import Clock, SupportsInstance
from ._diff import ChangeType, plan_changes
from ._instrumentation import traced_apply, traced_collect
from ._messages import LedgerMessages
from ._plan import LedgerPlan
from ._tables import LedgerTables, build_ledger_tables
from ._writer import ExistingAccount, LedgerRows

__all__ = ["DEFAULT_MAX_REMOVAL_RATIO", "LedgerSyncService", "describe_error"]

logger = logging.getLogger(__name__)

ACTION = "ledger_sync_accounts"
DEFAULT_MAX_REMOVAL_RATIO = 0.5
_DEFAULT_MESSAGES = LedgerMessages()
_IN_CHUNK = 500  # ids per IN list, well under every backend's parameter limit

InstanceT = TypeVar("InstanceT", bound=SupportsInstance)


class _Failure(Exception):
    """A sync that must end with a failed result and no ledger change."""

    def __init__(
        self, stage: str, message: str, error: BaseException | None = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.stage = stage
        self.message = message
        self.error = error
        self.details = details


class LedgerSyncService(Generic[InstanceT]):
    """A ready ``SupportsAccountSync``: collects an instance's accounts into a ledger.

    ``connect(instance)`` is the host's: it returns a ``Connection`` (closed here afterwards)
    or an ``Engine`` (one connection is opened and closed; the engine stays the host's), so
    credentials never reach the ledger. ``collectors`` maps ``db_type`` to a collector
    (default: PostgreSQL and MySQL/MariaDB). ``ledger`` is the engine of the ledger tables;
    each sync is one transaction on it.

    Guarantees: a failed connection or collection, an incomplete collection, an unsupported
    ``db_type``, or a sync that would remove more than ``max_removal_ratio`` of the active
    accounts (unless ``force``) changes nothing and returns ``success: False`` with a redacted
    message. A sync of an unchanged server writes no row (``touch_last_seen=True`` trades that
    for an up-to-date ``last_seen_at``). Safe to call from several threads at once; syncs of the
    same instance in one process are serialised, and across processes a conflicting write
    fails the later sync instead of duplicating changes.
    """

    def __init__(
        self,
        *,
        ledger: Engine,
        connect: Callable[[InstanceT], Bind],
        tables: LedgerTables | None = None,
        collectors: CollectorRegistry | None = None,
        max_removal_ratio: float = DEFAULT_MAX_REMOVAL_RATIO,
        touch_last_seen: bool = False,
        clock: Clock = utc_now,
        messages: LedgerMessages | None = None,
    ) -> None:
        if not 0.0 <= max_removal_ratio <= 1.0:
            raise ValueError("max_removal_ratio must be between 0 and 1")
        self.ledger = ledger
        self.tables = tables if tables is not None else build_ledger_tables()
        self.collectors = (
            collectors if collectors is not None else CollectorRegistry.with_defaults()
        )
        self.max_removal_ratio = max_removal_ratio
        self.touch_last_seen = touch_last_seen
        # ``None`` means "not chosen": an actions service this is handed to sets its language.
        self.chosen_messages = messages
        self._adopted_messages: LedgerMessages | None = None
        self._connect = connect
        self._clock = clock
        self._locks: dict[int, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    @property
    def messages(self) -> LedgerMessages:
        """The texts of the results: their own, else the service's language, else Chinese."""
        return self.chosen_messages or self._adopted_messages or _DEFAULT_MESSAGES

    def adopt_messages(self, messages: Messages) -> None:
        """Speak the language of ``messages`` unless built with ``messages=``."""
        if messages.language in LANGUAGES:
            self._adopted_messages = LedgerMessages.for_language(messages.language)

    # -- public API ------------------------------------------------------------------------

    def sync_accounts(
        self,
        instance: InstanceT,
        sync_type: str = "manual_single",
        session_id: str | None = None,
        created_by: int | None = None,
        *,
        force: bool = False,
    ) -> dict[str, Any]:
        """Collect ``instance`` and apply the diff to the ledger in one transaction.

        Returns ``success``, ``message``, ``synced_count``, ``added_count`` (reactivations
        included), ``modified_count``, ``removed_count`` and JSON-safe ``details``; on failure
        also ``error``. Never raises for a database or collector failure.
        """
        context = self._context(instance, sync_type=sync_type, session_id=session_id)
        started = time.perf_counter()
        try:
            snapshot = self._collect(instance)
            collected = time.perf_counter()
            with self._instance_lock(instance.id):
                plan = self._apply(instance, snapshot, force, sync_type, session_id, created_by)
        except _Failure as failure:
            return self._failed(instance, failure, context)
        details = self._details(instance, snapshot, plan, force)
        details["collect_ms"] = round((collected - started) * 1000, 1)
        details["apply_ms"] = round((time.perf_counter() - collected) * 1000, 1)
        message = self.messages.summary(
            synced=plan.synced_count,
            added=plan.added_count,
            modified=plan.modified_count,
            removed=plan.removed_count,
        )
        ActionLog(logger, ACTION, context).info(
            self.messages.sync_finished,
            synced_count=plan.synced_count,
            added_count=plan.added_count,
            modified_count=plan.modified_count,
            removed_count=plan.removed_count,
        )
        result = {
            "success": True,
            "message": message,
            "synced_count": plan.synced_count,
            "added_count": plan.added_count,
            "modified_count": plan.modified_count,
            "removed_count": plan.removed_count,
            "details": details,
        }
        return clean(result)  # type: ignore[no-any-return]

    def plan(self, instance: InstanceT) -> LedgerPlan:
        """Dry run: collect and diff, write nothing.

        Raises ``UnsupportedDatabaseError`` or ``CollectionError`` (redacted message, the
        cause chained) where ``sync_accounts`` would return a failed result.
        """
        try:
            snapshot = self._collect(instance)
        except _Failure as failure:
            if failure.stage == "unsupported":
                raise UnsupportedDatabaseError(instance.db_type) from None
            raise CollectionError(
                failure.message, extra={"stage": failure.stage}
            ) from failure.error
        with self.ledger.connect() as conn:
            plan, _ = self._plan(conn, instance, snapshot)
        return plan

    # -- collection ------------------------------------------------------------------------

    @traced_collect
    def _collect(self, instance: InstanceT) -> ServerSnapshot:
        collector = self.collectors.get(instance.db_type)
        if collector is None:
            raise _Failure(
                "unsupported", self.messages.unsupported_db_type.format(db_type=instance.db_type)
            )
        with contextlib.ExitStack() as stack:
            try:
                bind = self._connect(instance)
                conn = stack.enter_context(
                    bind.connect() if isinstance(bind, Engine) else contextlib.closing(bind)
                )
            except Exception as exc:
                raise _Failure(
                    "connect",
                    self.messages.connection_failed.format(error=describe_error(exc)),
                    exc,
                ) from exc
            try:
                snapshot = collector.collect(conn)
            except Exception as exc:
                raise _Failure(
                    "collect",
                    self.messages.collection_failed.format(error=describe_error(exc)),
                    exc,
                ) from exc
        if not snapshot.complete:
            raise _Failure("collect", self.messages.collection_incomplete)
        return snapshot

    # -- diff --------------------------------------------------------------------------------

    def _plan(
        self, conn: Connection, instance: InstanceT, snapshot: ServerSnapshot
    ) -> tuple[LedgerPlan, dict[str, ExistingAccount]]:
        accounts = self.tables.accounts
        rows = conn.execute(
            sa.select(
                accounts.c.id,
                accounts.c.account_key,
                accounts.c.digest,
                accounts.c.is_active,
                accounts.c.kind,
            ).where(accounts.c.instance_id == instance.id)
        ).all()
        existing = {
            row.account_key: ExistingAccount(row.id, row.digest, bool(row.is_active))
            for row in rows
        }
        collected = snapshot.by_key()
        public = snapshot.public_account()
        if public is not None:
            collected[PUBLIC_KEY] = public
        # Digests decide what changed; only those accounts' stored snapshots are read back.
        candidates: dict[str, AccountSnapshot] = {}
        wanted: list[int] = []
        for key, after in collected.items():
            row = existing.get(key)
            if row is None or not row.is_active or row.digest != after.digest:
                candidates[key] = after
                if row is not None:
                    wanted.append(row.row_id)
        wanted += [
            row.row_id for key, row in existing.items() if row.is_active and key not in collected
        ]
        active: dict[str, AccountSnapshot] = {}
        inactive: dict[str, AccountSnapshot] = {}
        for key, before in self._load_snapshots(conn, wanted):
            (active if existing[key].is_active else inactive)[key] = before
        plan = LedgerPlan(
            instance_id=instance.id,
            db_type=snapshot.db_type,
            server_version=snapshot.server_version,
            changes=plan_changes(active, candidates, inactive),
            synced_count=len(snapshot.accounts),
            active_count=sum(
                1 for row in rows if row.is_active and row.kind != AccountKind.PUBLIC.value
            ),
        )
        return plan, existing

    def _load_snapshots(
        self, conn: Connection, row_ids: Sequence[int]
    ) -> Iterator[tuple[str, AccountSnapshot]]:
        accounts = self.tables.accounts
        for start in range(0, len(row_ids), _IN_CHUNK):
            chunk = row_ids[start : start + _IN_CHUNK]
            query = sa.select(accounts.c.account_key, accounts.c.snapshot).where(
                accounts.c.id.in_(chunk)
            )
            for key, data in conn.execute(query):
                yield key, AccountSnapshot.from_json(data)

    # -- apply -------------------------------------------------------------------------------

    @traced_apply
    def _apply(
        self,
        instance: InstanceT,
        snapshot: ServerSnapshot,
        force: bool,
        sync_type: str,
        session_id: str | None,
        created_by: int | None,
    ) -> LedgerPlan:
        try:
            with self.ledger.begin() as conn:
                plan, existing = self._plan(conn, instance, snapshot)
                if plan.exceeds(self.max_removal_ratio) and not force:
                    raise _Failure(
                        "guard",
                        self.messages.removal_guard.format(
                            removed=plan.removed_count,
                            active=plan.active_count,
                            ratio=self.max_removal_ratio,
                        ),
                        removed=plan.removed_count,
                        active=plan.active_count,
                        max_removal_ratio=self.max_removal_ratio,
                    )
                self._write(conn, instance.id, plan, existing, sync_type, session_id, created_by)
        except _Failure:
            raise
        except Exception as exc:
            raise _Failure(
                "ledger", self.messages.ledger_failed.format(error=describe_error(exc)), exc
            ) from exc
        return plan

    def _write(
        self,
        conn: Connection,
        instance_id: int,
        plan: LedgerPlan,
        existing: dict[str, ExistingAccount],
        sync_type: str,
        session_id: str | None,
        created_by: int | None,
    ) -> None:
        rows = LedgerRows.of(
            plan,
            existing,
            instance_id=instance_id,
            now=self._clock(),
            log={"session_id": session_id, "sync_type": sync_type, "created_by": created_by},
        )
        rows.write(conn, self.tables, touch_last_seen=self.touch_last_seen)

    # -- results -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _instance_lock(self, instance_id: int) -> Iterator[None]:
        with self._locks_guard:
            lock = self._locks.setdefault(instance_id, threading.Lock())
        with lock:
            yield

    @staticmethod
    def _context(instance: InstanceT, *, sync_type: str, session_id: str | None) -> dict[str, Any]:
        return {
            "instance_id": instance.id,
            "instance_name": instance.name,
            "db_type": instance.db_type,
            "sync_type": sync_type,
            "session_id": session_id,
        }

    def _details(
        self, instance: InstanceT, snapshot: ServerSnapshot, plan: LedgerPlan, force: bool
    ) -> dict[str, Any]:
        public = snapshot.public_privileges
        return {
            "instance_id": instance.id,
            "db_type": snapshot.db_type,
            "server_version": snapshot.server_version,
            "accounts": plan.synced_count,
            "added": plan.count(ChangeType.ADDED),
            "reactivated": plan.reactivated_count,
            "modified": plan.modified_count,
            "removed": plan.removed_count,
            "unchanged": plan.unchanged_count,
            "active_before": plan.active_count,
            "public_privileges": None if public is None else len(public),
            "public_changed": plan.public_changed,
            # True only when ``force`` let through what the removal guard would have refused.
            "forced": force and plan.exceeds(self.max_removal_ratio),
        }

    def _failed(
        self, instance: InstanceT, failure: _Failure, context: dict[str, Any]
    ) -> dict[str, Any]:
        message = redact_text(failure.message)
        log = ActionLog(logger, ACTION, context)
        if failure.error is not None:
            log.error(self.messages.sync_failed, error=failure.error, stage=failure.stage)
        else:
            log.warning(self.messages.sync_refused, stage=failure.stage, reason=message)
        details: dict[str, Any] = {
            "instance_id": instance.id,
            "db_type": instance.db_type,
            "stage": failure.stage,
            **failure.details,
        }
        if failure.error is not None:
            details["error_type"] = type(failure.error).__name__
        result = {
            "success": False,
            "message": message,
            "error": message,
            "synced_count": 0,
            "added_count": 0,
            "modified_count": 0,
            "removed_count": 0,
            "details": details,
        }
        return clean(result)  # type: ignore[no-any-return]
