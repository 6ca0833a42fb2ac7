"""Benchmarks (the figures of docs/performance.md): one ``name value`` line per figure.

    uv run python benchmarks/run.py            # full sizes, as docs/performance.md states them
    uv run python benchmarks/run.py --quick    # smaller sizes for CI
    uv run python benchmarks/run.py --only normalize_us launch_latency_ms

Figures that need a server print ``name skipped`` when it is unreachable (``nan`` never
appears); with ``ACCOUNTS_SYNC_REQUIRE_SERVICES=1`` an unreachable server is an error.
``--check`` exits 1 when a figure misses its target.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures import FIGURES, Figure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for CI")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--only", nargs="*", metavar="NAME", help="run only these figures")
    parser.add_argument("--targets", action="store_true", help="print each target too")
    args = parser.parse_args(argv)
    chosen = [f for f in FIGURES if not args.only or f.name in args.only]
    missed: list[str] = []
    for figure in chosen:
        value = figure.measure(args.quick)
        if value is None:
            print(f"{figure.name} skipped", flush=True)
            continue
        ok = figure.meets(value)
        suffix = f"  # target {figure.describe_target()} {'ok' if ok else 'MISSED'}"
        if args.quick and figure.quick_note:
            suffix = f"  # quick: {figure.quick_note}" + (suffix if args.targets else "")
        elif not args.targets:
            suffix = ""
        print(f"{figure.name} {value:.4g}{suffix}", flush=True)
        if not ok:
            missed.append(figure.name)
    if args.check and missed:
        print(f"missed targets: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


__all__ = ["Figure", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
