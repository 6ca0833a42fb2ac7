"""The benchmark figures: each a name, a target and a measuring function."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import statistics
import tempfile
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import attrs
import sqlalchemy as sa
from fan_out_bench import fanout_overhead_ms_per_instance, fanout_speedup_2_workers
from ledger_bench import (
    collect_ms_500_roles_postgresql,
    ledger_apply_ms_10000_accounts_sqlite,
    ledger_noop_ms_10000_accounts_sqlite,
)
from otel_bench import otel_overhead_us_per_instance
from poll_bench import session_poll_ms

from accounts_sync import (
    AccountsSyncActionsService,
    FullSyncJob,
    FullSyncTask,
    SessionStatus,
    SyncCategory,
    SyncType,
    ThreadLauncher,
    normalize_sync_result,
)
from accounts_sync._redaction import redact_text
from accounts_sync.cli import Store, open_store
from accounts_sync.sqlalchemy import (
    InstanceRow,
    sqlite_url,
    sync_tables,
)
from accounts_sync.testing import ScriptedSyncService

REQUIRE_SERVICES = os.environ.get("ACCOUNTS_SYNC_REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get(
    "ACCOUNTS_SYNC_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MYSQL_URL = os.environ.get("ACCOUNTS_SYNC_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/mysql")


@attrs.frozen
class Figure:
    """One benchmark figure; ``at_most`` or ``at_least`` is its target; ``quick_note`` says
    how ``--quick`` shrinks it, when it measures something smaller than its name says."""

    name: str
    measure: Callable[[bool], float | None]
    at_most: float | None = None
    at_least: float | None = None
    quick_note: str | None = None

    def meets(self, value: float) -> bool:
        if self.at_most is not None and value > self.at_most:
            return False
        return self.at_least is None or value >= self.at_least

    def describe_target(self) -> str:
        return f"<= {self.at_most}" if self.at_most is not None else f">= {self.at_least}"


def server_available(url: str, default_port: int) -> bool:
    """True when the server answers; raises when it must (CI) but does not."""
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2
        ):
            return True
    except OSError:
        if REQUIRE_SERVICES:
            raise RuntimeError(redact_text(f"server {url} unreachable")) from None
        return False


def median_of(samples: int, run: Callable[[], float]) -> float:
    return statistics.median(run() for _ in range(samples))


def normalize_us(quick: bool) -> float:
    """Median time of ``normalize_sync_result`` on a 10-key mapping, in microseconds."""
    raw = {f"key_{i}": i for i in range(8)} | {"success": "true", "message": "ok"}
    loops = 2_000
    samples = []
    for _ in range(15 if quick else 51):
        start = time.perf_counter()
        for _ in range(loops):
            normalize_sync_result(raw, context="实例 db 账户同步")
        samples.append((time.perf_counter() - start) / loops * 1e6)
    return statistics.median(samples)


def launch_latency_ms(quick: bool) -> float:
    """Median time for ``ThreadLauncher.launch`` to return, in milliseconds."""
    launcher = ThreadLauncher()
    done = threading.Event()

    def run(job: FullSyncJob) -> None:
        done.set()

    samples = []
    for index in range(50 if quick else 300):
        done.clear()
        start = time.perf_counter()
        launcher.launch(FullSyncJob(session_id=f"bench-{index}"), run)
        samples.append((time.perf_counter() - start) * 1000)
        done.wait(5)
    return statistics.median(samples)


@contextlib.contextmanager
def sqlite_store(count: int) -> Iterator[Store]:
    """A fresh SQLite file with the library's tables and ``count`` ready instances."""
    with tempfile.TemporaryDirectory(prefix="accounts_sync_bench_") as folder:
        store = _populated(sqlite_url(Path(folder) / "bench.sqlite3"), count)
        try:
            yield store
        finally:
            store.engine.dispose()


@contextlib.contextmanager
def postgres_store(count: int) -> Iterator[Store | None]:
    """The same in a fresh PostgreSQL database, dropped afterwards (None when unreachable)."""
    with server_store(POSTGRES_URL, 5432, count) as store:
        yield store


@contextlib.contextmanager
def mariadb_store(count: int) -> Iterator[Store | None]:
    """The same in a fresh MariaDB/MySQL database, dropped afterwards (None when unreachable)."""
    with server_store(MYSQL_URL, 3306, count) as store:
        yield store


@contextlib.contextmanager
def server_store(admin_url: str, port: int, count: int) -> Iterator[Store | None]:
    if not server_available(admin_url, port):
        yield None
        return
    name = f"as_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    force = " WITH (FORCE)" if admin.dialect.name == "postgresql" else ""
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        store = _populated(url, count)
        try:
            yield store
        finally:
            store.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")
        admin.dispose()


def _populated(url: str, count: int) -> Store:
    store = open_store(url)
    width = len(str(count))
    store.instances.upsert(
        InstanceRow(
            id=i, name=f"db-{i:0{width}d}", db_type="mysql", host=f"10.0.{i // 250}.{i % 250}"
        )
        for i in range(1, count + 1)
    )
    return store


def time_full_sync(store: Store, *, latency: float, workers: int) -> float:
    """Seconds for one full sync (no session given: the task creates and claims its own)."""
    task = FullSyncTask(
        instances=store.instances,
        sessions=store.sessions,
        sync_service=ScriptedSyncService(default_delay=latency),
        max_workers=workers,
    )
    start = time.perf_counter()
    summary = task(manual_run=False)
    elapsed = time.perf_counter() - start
    if summary.status is not SessionStatus.COMPLETED:
        raise RuntimeError(f"benchmark full sync ended {summary.status}")
    return elapsed


def _efficiency(store: Store | None, count: int) -> float | None:
    if store is None:
        return None
    latency, workers = 0.020, 32
    ideal = count * latency / workers
    return ideal / time_full_sync(store, latency=latency, workers=workers)


def full_sync_efficiency_sqlite(quick: bool) -> float | None:
    """2,000 instances x 20 ms with 32 workers on a SQLite file: ideal time / measured."""
    count = 2_000
    with sqlite_store(count) as store:
        return _efficiency(store, count)


def full_sync_efficiency_postgresql(quick: bool) -> float | None:
    """The same on PostgreSQL."""
    count = 2_000
    with postgres_store(count) as store:
        return _efficiency(store, count)


def full_sync_efficiency_mariadb(quick: bool) -> float | None:
    """The same on MariaDB/MySQL."""
    count = 2_000
    with mariadb_store(count) as store:
        return _efficiency(store, count)


def full_sync_efficiency_100k_postgresql(quick: bool) -> float | None:
    """100,000 instances x 5 ms with 64 workers on fresh PostgreSQL tables (10,000 quick)."""
    count, latency, workers = (10_000 if quick else 100_000), 0.005, 64
    with postgres_store(count) as store:
        if store is None:
            return None
        return count * latency / workers / time_full_sync(store, latency=latency, workers=workers)


def bookkeeping_growth_100k_postgresql(quick: bool) -> float | None:
    """Per-instance time of a zero-latency full sync of 100,000 ÷ that of 10,000 (1,000 and
    10,000 quick), each on PostgreSQL tables last analysed while they held one small finished
    session, as in a deployment whose fleet grew: 1 when flat."""
    small, large = (1_000, 10_000) if quick else (10_000, 100_000)
    per_instance = []
    for count in (small, large):
        with postgres_store(count) as store:
            if store is None:
                return None
            _analysed_with_a_small_session(store)
            per_instance.append(time_full_sync(store, latency=0.0, workers=4) / count)
    return per_instance[1] / per_instance[0]


def _analysed_with_a_small_session(store: Store) -> None:
    sessions = store.sessions
    info = sessions.create_session(
        sync_type=SyncType.SCHEDULED_TASK, sync_category=SyncCategory.ACCOUNT, created_by=None
    )
    sessions.add_records(info.session_id, [(i, f"db-{i}") for i in range(1, 201)])
    sessions.finish_session(info.session_id, status=SessionStatus.CANCELLED)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


def _bookkeeping_seconds(count: int) -> float:
    with sqlite_store(count) as store:
        return time_full_sync(store, latency=0.0, workers=4)


def bookkeeping_growth_sqlite(quick: bool) -> float:
    """time(10,000) / time(1,000) of a zero-latency full sync: ~10 when linear."""
    small, large = (500, 5_000) if quick else (1_000, 10_000)
    return _bookkeeping_seconds(large) / _bookkeeping_seconds(small)


def bookkeeping_ms_per_instance_sqlite(quick: bool) -> float:
    """Milliseconds of bookkeeping per instance, zero-latency full sync of 10,000."""
    count = 3_000 if quick else 10_000
    return _bookkeeping_seconds(count) * 1000 / count


def prepare_latency_ms_sqlite(quick: bool) -> float:
    """Median prepare with 100,000 instances and 10,000 old sessions on a SQLite file."""
    instances, old_sessions = (100_000, 10_000)
    with sqlite_store(instances) as store:
        _add_old_sessions(store.engine, old_sessions)
        service = AccountsSyncActionsService(
            sync_service=ScriptedSyncService(), instances=store.instances, sessions=store.sessions
        )
        samples = []
        for _ in range(21 if quick else 101):
            start = time.perf_counter()
            prepared = service.prepare_background_full_sync(created_by=1)
            samples.append((time.perf_counter() - start) * 1000)
            store.sessions.finish_session(prepared.session_id, status=SessionStatus.CANCELLED)
        return statistics.median(samples)


def _add_old_sessions(engine: sa.Engine, count: int) -> None:
    old = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    rows = [
        {
            "session_id": str(uuid.uuid4()),
            "sync_type": SyncType.MANUAL_TASK.value,
            "sync_category": SyncCategory.ACCOUNT.value,
            "status": SessionStatus.COMPLETED.value,
            "total_instances": 0,
            "created_at": old,
            "completed_at": old,
        }
        for _ in range(count)
    ]
    with engine.begin() as conn:
        conn.execute(sa.insert(sync_tables.sessions), rows)


def full_sync_peak_mib_sqlite(quick: bool) -> float:
    """Peak traced memory (MiB) of a zero-latency full sync of 100,000 instances."""
    count = 20_000 if quick else 100_000
    with sqlite_store(count) as store:
        tracemalloc.start()
        try:
            time_full_sync(store, latency=0.0, workers=4)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return peak / 2**20


# Log-like lines: prose with look-alike words, and one secret in each format redaction knows.
_REDACT_LINES = (
    "2025-01-01T00:00:00Z INFO sync finished for instance db-{i}: 12 accounts, 3 changed",
    "connecting to postgresql+psycopg://app:s3cr3t-{i}@db-{i}.internal:5432/app",
    "GET /api/v1/items?page={i}&password=hunter{i}&sort=name HTTP/1.1 200",
    "libpq: host=db-{i} port=5432 dbname=app user=app password='a b {i}' sslmode=require",
    "odbc: Driver={{ODBC Driver 18}};Server=db-{i};UID=sa;PWD=Pa55word{i};Encrypt=yes",
    'payload {{"user": "bob", "token": "tok-{i}", "count": {i}, "note": "tokenizer ok"}}',
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload{i}.sig",
    "The password reset succeeded for user {i}; the tokenizer and author fields are fine.",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA{i}\n-----END RSA PRIVATE KEY-----",
    "plain prose about accounts, instances and sessions, nothing secret at all here {i}",
)


def redact_ms_1mib(quick: bool) -> float:
    """Median time of ``redact_text`` on 1 MiB of mixed log text with secrets, in ms."""
    lines: list[str] = []
    size = index = 0
    while size < 2**20:
        lines.append(_REDACT_LINES[index % len(_REDACT_LINES)].format(i=index))
        size += len(lines[-1]) + 1
        index += 1
    text = "\n".join(lines)[: 2**20]
    samples = []
    for _ in range(5 if quick else 21):
        start = time.perf_counter()
        redacted = redact_text(text)
        samples.append((time.perf_counter() - start) * 1000)
    if "hunter1&" in redacted or "MIIEow" in redacted:
        raise RuntimeError("redact_ms_1mib: a secret survived")
    return statistics.median(samples)


def collect_postgresql(quick: bool) -> float | None:
    """``PostgresCollector.collect`` over 500 roles (see ledger_bench), when PostgreSQL is up."""
    if not server_available(POSTGRES_URL, 5432):
        return None
    return collect_ms_500_roles_postgresql(quick)


def session_poll_ms_100k_postgresql(quick: bool) -> float | None:
    """GET session over HTTP during a 100,000-record run on PostgreSQL (see poll_bench)."""
    with postgres_store(0) as store:
        return None if store is None else session_poll_ms(store, quick)


FIGURES: list[Figure] = [
    Figure("full_sync_efficiency_sqlite", full_sync_efficiency_sqlite, at_least=0.92),
    Figure("full_sync_efficiency_postgresql", full_sync_efficiency_postgresql, at_least=0.90),
    Figure("full_sync_efficiency_mariadb", full_sync_efficiency_mariadb, at_least=0.90),
    Figure(
        "full_sync_efficiency_100k_postgresql",
        full_sync_efficiency_100k_postgresql,
        at_least=0.60,
        quick_note="10,000 instances, not 100,000",
    ),
    Figure(
        "bookkeeping_growth_100k_postgresql",
        bookkeeping_growth_100k_postgresql,
        at_most=1.3,
        quick_note="10,000 ÷ 1,000 instances, not 100,000 ÷ 10,000",
    ),
    Figure("bookkeeping_growth_sqlite", bookkeeping_growth_sqlite, at_most=12.0),
    Figure("bookkeeping_ms_per_instance_sqlite", bookkeeping_ms_per_instance_sqlite, at_most=1.5),
    Figure("prepare_latency_ms_sqlite", prepare_latency_ms_sqlite, at_most=5.0),
    Figure("launch_latency_ms", launch_latency_ms, at_most=1.0),
    Figure("normalize_us", normalize_us, at_most=5.0),
    Figure("redact_ms_1mib", redact_ms_1mib, at_most=50.0),
    Figure("full_sync_peak_mib_sqlite", full_sync_peak_mib_sqlite, at_most=150.0),
    Figure("collect_ms_500_roles_postgresql", collect_postgresql, at_most=500.0),
    Figure(
        "ledger_apply_ms_10000_accounts_sqlite",
        ledger_apply_ms_10000_accounts_sqlite,
        at_most=1000.0,
    ),
    Figure(
        "ledger_noop_ms_10000_accounts_sqlite", ledger_noop_ms_10000_accounts_sqlite, at_most=1000.0
    ),
    Figure("session_poll_ms_100k_postgresql", session_poll_ms_100k_postgresql, at_most=20.0),
    Figure("otel_overhead_us_per_instance", otel_overhead_us_per_instance, at_most=50.0),
    Figure("fanout_speedup_2_workers", fanout_speedup_2_workers, at_least=1.6),
    Figure("fanout_overhead_ms_per_instance", fanout_overhead_ms_per_instance, at_most=0.5),
]
