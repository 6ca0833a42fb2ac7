"""The benchmark figures: each a name, a target and a measuring function."""

from __future__ import annotations

import os
import socket
import statistics
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import attrs

from accounts_sync import FullSyncJob, ThreadLauncher, normalize_sync_result

REQUIRE_SERVICES = os.environ.get("ACCOUNTS_SYNC_REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get(
    "ACCOUNTS_SYNC_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@attrs.frozen
class Figure:
    """One benchmark figure; ``at_most`` or ``at_least`` is its target."""

    name: str
    measure: Callable[[bool], float | None]
    at_most: float | None = None
    at_least: float | None = None

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
            raise RuntimeError(f"server {parts.netloc} unreachable") from None
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


FIGURES: list[Figure] = [
    Figure("normalize_us", normalize_us, at_most=5.0),
    Figure("launch_latency_ms", launch_latency_ms, at_most=1.0),
]
