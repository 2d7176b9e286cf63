"""Regenerate ``docs/watch.svg``: ``progressista watch`` against a real server holding realistic tasks.

Usage::

    python scripts/watch_screenshot.py                       # docs/watch.svg, 160x42
    python scripts/watch_screenshot.py --size 120x36 --out /tmp/watch.svg

Needs the ``server`` and ``tui`` extras. Tasks that went idle, lost contact or
finished a while ago come from a storage snapshot (``PROGRESSISTA_STORAGE_PATH``)
the server loads at start, so their ages are real; running tasks are posted live
through ``POST /progress``. The picture shows groups: ``train-resnet50`` (two
ranks running, one lost: its row is in Active and in Needs attention, in the
lost colour) and ``etl-nightly`` (folded in Completed). The server listens on
port 8000 when it is free, so the header shows the default URL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from demo_server import serve

from progressista.api import ProgressistaApi
from progressista.server import Settings
from progressista.tui.app import create_app as create_watch_app

ROOT = Path(__file__).resolve().parent.parent


def past_tasks(now: float) -> dict[str, dict[str, Any]]:
    """Idle and finished tasks, as the storage snapshot holds them (ages in seconds)."""

    def task(task_id: str, status: str, age: float, run: float, **fields: Any) -> dict[str, Any]:
        return {
            "task_id": task_id,
            "status": status,
            "created_at": now - age - run,
            "updated_at": now - age,
            "seen_at": now - age,
            "unit": "it",
            "meta": {},
            **fields,
        }

    # Demo data, one task to a few lines: left as written.
    # fmt: off
    tasks = [
        # Its process died: no progress for 4 minutes, no contact (not even a heartbeat) for 3.
        task("train-resnet50:rank-2", "lost", 4 * 60, 120, seen_at=now - 3 * 60, desc="Epoch 7/20 · rank 2",
             n=352, total=782, unit="batch", rate=5.29, elapsed=66.5, postfix="loss=0.426, acc=0.863",
             host="gpu-node-02", pid=40213),
        # Stale: alive (its heartbeat came seconds ago), no progress for a while.
        task("scrape:catalogue-eu", "stale", 14 * 60, 3000, seen_at=now - 4, desc="Crawling catalogue pages",
             n=3412, total=None, unit="pages", rate=1.9, elapsed=1796, host="crawler-2", pid=7781,
             postfix="queue=1,208"),
        task("backup-s3", "stale", 42 * 60, 900, seen_at=now - 9, desc="Uploading nightly backup", n=61.2,
             total=148.0, unit="GB", rate=0.071, elapsed=862, host="db-01", pid=3321),
        task("etl-nightly:extract", "close", 2 * 60, 412, desc="Extract orders from Postgres", n=1_284_113,
             total=1_284_113, unit="rows", rate=3116.8, elapsed=412, host="etl-01", pid=9182),
        task("report-weekly", "close", 6 * 60, 95, desc="Render weekly PDF reports", n=48, total=48,
             unit="reports", rate=0.51, elapsed=94, host="etl-01", pid=9240),
        task("train-bert:eval", "error", 11 * 60, 300, desc="Evaluate BERT on dev set", n=1830, total=4000,
             unit="batch", rate=6.1, elapsed=300, postfix="CUDA out of memory", host="gpu-node-03", pid=51007),
        task("thumbnails", "close", 65 * 60, 1300, desc="Generate thumbnails", n=92_410, total=92_410,
             unit="img", rate=71.1, elapsed=1299, host="media-1", pid=2210),
    ]
    # fmt: on
    return {t["task_id"]: t for t in tasks}


def live_events() -> list[dict[str, Any]]:
    """Running tasks, posted through the API like RemoteTqdm would."""
    events: list[dict[str, Any]] = []
    # Demo data, one task to a few lines: left as written.
    # fmt: off
    for rank, (n, rate) in enumerate([(611, 5.42), (598, 5.31)]):
        events.append({
            "task_id": f"train-resnet50:rank-{rank}", "status": "update", "desc": f"Epoch 7/20 · rank {rank}",
            "n": n, "total": 782, "unit": "batch", "elapsed": n / rate, "rate": rate,
            "postfix": f"loss={0.412 + rank * 0.007:.3f}, acc={0.871 - rank * 0.004:.3f}",
            "host": f"gpu-node-0{rank // 2 + 1}", "pid": 40211 + rank,
        })
    events += [
        {"task_id": "etl-nightly:transform", "status": "update", "desc": "Join orders with customers",
         "n": 803_442, "total": 1_284_113, "unit": "rows", "rate": 2841.0, "elapsed": 283, "host": "etl-01",
         "pid": 9190},
        {"task_id": "etl-nightly:load", "status": "start", "desc": "Load into the warehouse", "n": 0,
         "total": None, "unit": "rows", "host": "etl-02", "pid": 9311},
        {"task_id": "embed-docs", "status": "update", "desc": "Embedding support articles", "n": 45_120,
         "total": 120_000, "unit": "docs", "rate": 812.4, "elapsed": 55.5, "postfix": "model=all-MiniLM-L6",
         "host": "gpu-node-04", "pid": 6120},
    ]
    # fmt: on
    return events


async def shoot(url: str, out: Path, size: tuple[int, int], expected: int) -> None:
    app = create_watch_app(url, refresh_interval=0.05)
    async with app.run_test(size=size) as pilot:
        deadline = time.monotonic() + 15
        while len(app.board.tasks) < expected or app.stats.layouts == 0:
            if time.monotonic() > deadline:
                raise SystemExit(f"the dashboard showed {len(app.board.tasks)} of {expected} tasks")
            await pilot.pause(0.05)
        await pilot.pause(0.2)  # one more layout and repaint
        # Fold etl-nightly's row in Completed, the way a person would: select it, press enter.
        completed = app.column("completed")
        completed.focus()
        completed.select(("group", "etl-nightly"))
        await pilot.press("enter")
        app.column("active").focus()
        await pilot.pause(0.2)
        app.save_screenshot(out.name, str(out.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "watch.svg")
    parser.add_argument("--size", default="160x42", help="terminal COLUMNSxLINES")
    args = parser.parse_args()
    columns, lines = (int(part) for part in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory() as folder:
        snapshot = Path(folder) / "tasks.json"
        past = past_tasks(time.time())
        snapshot.write_text(json.dumps({"version": 1, "tasks": past}))
        settings = Settings(storage_path=snapshot, stale_seconds=300, cleanup_interval=1)
        with serve(settings, preferred_port=8000) as url:
            live = live_events()
            with ProgressistaApi(url) as api:
                api.post_events(live)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            asyncio.run(shoot(url, args.out.resolve(), (columns, lines), len(past) + len(live)))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
