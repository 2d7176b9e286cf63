"""Run every benchmark and print one table: measure / value / baseline / ratio / target / pass.

Run: ``python bench/run_all.py`` (or ``python -m bench``) from the repository root;
``--only fanout,memory`` runs some; ``--quick`` shortens every run (for a smoke
test, not for figures); ``--out FILE`` also writes the table as Markdown.
Needs Debian's ``wrk`` and ``redis-server``.

Each benchmark measures its own baseline in the same run. The machine has two
cores shared with other work, so every figure is a best-of-N (throughput,
client overhead, fan-out p99) or a median (startup, CPU, bytes); each module's
docstring says which. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import alerts  # noqa: E402
import browser_render  # noqa: E402
import client_instructions  # noqa: E402
import client_overhead  # noqa: E402
import fanout  # noqa: E402
import health  # noqa: E402
import history  # noqa: E402
import ingest  # noqa: E402
import limits  # noqa: E402
import memory  # noqa: E402
import pipe  # noqa: E402
import redis_latency  # noqa: E402
import scale_out  # noqa: E402
import snapshot_storm  # noqa: E402
import startup  # noqa: E402
import tui_redraw  # noqa: E402
from common import Row, print_table  # noqa: E402

BENCHMARKS: dict[str, tuple[Callable[[], list[Row]], Callable[[], list[Row]]]] = {
    # name: (full run, quick run)
    "client": (lambda: client_overhead.run(repeat=7), lambda: client_overhead.run(repeat=1)),
    "client_instructions": (client_instructions.run, lambda: client_instructions.run(bars=5, displays=50)),
    "ingest": (lambda: ingest.run(seconds=3, rounds=5), lambda: ingest.run(seconds=1, rounds=1)),
    "fanout": (
        lambda: fanout.run(seconds=8, rounds=3),
        lambda: fanout.run(seconds=2, rounds=1, dashboards=10, tasks=1_000, rate=500),
    ),
    "snapshot_storm": (
        lambda: snapshot_storm.run(seconds=8, rounds=3),
        lambda: snapshot_storm.run(seconds=2, rounds=1, dashboards_=10, tasks=2_000),
    ),
    "memory": (lambda: memory.run(tasks=1_000_000, rounds=3), lambda: memory.run(tasks=10_000, rounds=1)),
    "startup": (lambda: startup.run(repeat=25), lambda: startup.run(repeat=3)),
    "scale_out": (lambda: scale_out.run(seconds=4), lambda: scale_out.run(seconds=1)),
    "tui": (lambda: tui_redraw.run(rounds=40), lambda: tui_redraw.run(rounds=5, sizes=(2_000,))),
    "limits": (lambda: limits.run(posts=20, clients=60), lambda: limits.run(posts=2, clients=5)),
    "health": (lambda: health.run(probes=200, rounds=5), lambda: health.run(probes=20, rounds=1, flood_seconds=0.5)),
    "pipe": (lambda: pipe.run(lines=5_000_000, rounds=5), lambda: pipe.run(lines=1_000_000, rounds=1, copies=1)),
    "redis_latency": (
        lambda: redis_latency.run(seconds=4, rounds=3),
        lambda: redis_latency.run(seconds=1, rounds=1, start_rtt_ms=200),
    ),
    "alerts": (lambda: alerts.run(seconds=2, rounds=10), lambda: alerts.run(seconds=1, rounds=1)),
    "history": (
        lambda: history.run(seconds=3, rounds=5),
        lambda: history.run(seconds=1, rounds=1, rows=10_000, requests_=50, starts=1),
    ),
    "browser": (
        lambda: browser_render.run(tasks=10_000, seconds=5, rounds=3),
        lambda: browser_render.run(tasks=2_000, seconds=2, rounds=1),
    ),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma separated: " + ", ".join(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="short runs: checks the benchmarks work, no figures")
    parser.add_argument("--out", type=Path, help="also write the table (Markdown) to this file")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    rows: list[Row] = []
    failed: list[str] = []
    began = time.monotonic()
    for name in names:
        started = time.monotonic()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            rows += BENCHMARKS[name][1 if args.quick else 0]()
        except Exception:
            traceback.print_exc()
            failed.append(name)
            rows.append(Row(f"{name}: FAILED to run", "see the traceback", passed=False))
        print(f"  {name} took {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)

    table = io.StringIO()
    print_table(rows, table)
    missed = [r.measure for r in rows if r.passed is False]
    footer = (
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{time.monotonic() - began:.0f} s in all{' (--quick: not figures)' if args.quick else ''}; "
        f"{len(missed)} target(s) missed"
    )
    print(table.getvalue() + "\n" + footer)
    if args.out:
        args.out.write_text(table.getvalue() + "\n" + footer + "\n")
    return 1 if missed or failed else 0


if __name__ == "__main__":
    sys.exit(main())
