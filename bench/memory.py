"""Memory benchmark: server RSS growth per task at 1,000,000 tasks.

Run: ``python bench/memory.py [--tasks 1000000] [--rounds 3]``

A fresh server subprocess (memory store, no storage file) is warmed up with a
few hundred tasks, so code paths and caches are loaded, then its RSS
(``/proc/<pid>/status``) is read; ``--tasks`` tasks arrive in batches of 1,000
with what RemoteTqdm sends (desc, n, total, unit, elapsed, rate, postfix,
seq, timestamp, host, pid; the meta of a job: ``{"job": "run-7"}``), each then
updated once more, as running bars are; RSS is read again once it settles.
Baseline: the size of the same tasks as JSON in ``GET /tasks`` (what a client
downloads per task). Best (lowest) of ``--rounds`` fresh servers, with the
highest beside it.

Target (issue 20): <= 1,000 bytes of RSS per task at 1,000,000 tasks. What
keeps it there: tasks of one job share one ``meta`` dict (the ingest validator
hands out the meta it saw last with the same JSON), and the tasks of one
request share its clock readings.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Row, options, print_table, rss_bytes, server  # noqa: E402

TARGET = 1000
WARM_UP = 500


def event(i: int, n: int, status: str = "update") -> dict[str, object]:
    return {
        "task_id": f"job-{i // 100}:worker-{i}",
        "status": status,
        "desc": f"Processing shard {i}",
        "n": n,
        "total": 100_000,
        "unit": "it",
        "elapsed": 12.5 + n,
        "rate": 80.25 + n,
        "postfix": f"loss={(i % 97) / 100:.2f}",
        "seq": n,
        "timestamp": time.time(),
        "host": f"node-{i % 16}",
        "pid": 1000 + i % 5000,
        "meta": {"job": f"run-{i // 1000}"},
    }


def fill(http: requests.Session, url: str, first: int, count: int) -> None:
    for n, status in ((0, "start"), (1, "update")):
        for start in range(first, first + count, 1000):
            body = [event(i, n, status) for i in range(start, min(start + 1000, first + count))]
            http.post(url + "/progress", json=body, timeout=60).raise_for_status()


def settled_rss(pid: int) -> int:
    """RSS once it stops moving (the allocator may lag the last request a little)."""
    last = rss_bytes(pid)
    for _ in range(20):
        time.sleep(0.1)
        now = rss_bytes(pid)
        if now == last:
            return now
        last = now
    return last


def one_round(tasks: int) -> tuple[float, float]:
    """(RSS bytes per task, JSON bytes per task) for one fresh server."""
    with server(PROGRESSISTA_MAX_TASKS=str(tasks + WARM_UP + 1)) as live, requests.Session() as http:
        fill(http, live.url, 0, WARM_UP)
        http.get(live.url + "/tasks", timeout=60).raise_for_status()
        before = settled_rss(live.pid)
        fill(http, live.url, WARM_UP, tasks)
        after = settled_rss(live.pid)
        listing = http.get(live.url + "/tasks", timeout=120)
        listing.raise_for_status()
        count = len(listing.json()["tasks"])
        assert count == tasks + WARM_UP, count
        return (after - before) / tasks, len(listing.content) / count


def run(tasks: int = 100_000, rounds: int = 3) -> list[Row]:
    results = [one_round(tasks) for _ in range(rounds)]
    per_task, json_size = min(results)
    highest = max(per_task for per_task, _ in results)
    return [
        Row(
            f"memory: server RSS growth per task at {tasks:,} tasks (lowest of {rounds}; highest)",
            f"{per_task:,.0f} B ({highest:,.0f} B)",
            f"{json_size:,.0f} B of JSON",
            per_task / json_size,
            f"<= {TARGET:,} B",
            per_task <= TARGET,
        )
    ]


def main() -> None:
    args = options(__doc__, tasks=1_000_000, rounds=3)
    print_table(run(args.tasks, args.rounds))


if __name__ == "__main__":
    main()
