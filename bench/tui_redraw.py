"""Redraw benchmark for ``progressista watch``: cost of one live update with 2,000 and 10,000 tasks vs 20.

Run: ``python bench/tui_redraw.py [--rounds 40] [--changed 20]``

The app runs headless (Textual's ``run_test``, 160x50). Its feed points at a
closed port, so the only data is what this script posts as Messages: a
snapshot of N tasks, then rounds of deltas where ``--changed`` tasks move
(they become the newest, so the column order changes every round). A round is
measured in CPU time (``time.process_time``, so the test pilot's idle waits do
not count) from posting the delta to the screen being repainted: message
handling, the board layout, rendering the visible lines (group rows compute
their aggregates then) and Textual's compositing. Also printed per round: the
lines the task lists rendered and the cards and group rows they rebuilt.

Cases: tasks spread over 37 groups (``job7:task-…``), expanded and all folded
(``g``); and all the tasks in one group, where every change invalidates that
group's aggregate, an O(members) sum.

Target: 2,000 tasks cost at most 3x the 20-task baseline per update in every
case, and the lines rendered per update do not grow with the task count; 10,000
tasks are measured and reported (issue 20), without a target.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from progressista.tui.app import WatchApp, create_app
from progressista.tui.messages import Delta, Snapshot
from progressista.tui.task_list import TaskList

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Row  # noqa: E402


def tasks(count: int, now: float, groups: int = 37) -> dict[str, dict[str, Any]]:
    statuses = ("update", "update", "update", "stale", "lost", "update", "close", "error")
    return {
        f"job{i % groups}:task-{i}": {
            "task_id": f"job{i % groups}:task-{i}",
            "status": statuses[i % len(statuses)],
            "desc": f"Task number {i}",
            "n": i % 100,
            "total": 100,
            "rate": 3.5,
            "unit": "it",
            "postfix": f"loss={i % 7 / 10:.2f}",
            "host": f"node-{i % 8}",
            "pid": 1000 + i,
            "updated_at": now - i,
            "seen_at": now - i / 2,
            "created_at": now - 3600,
        }
        for i in range(count)
    }


async def measure(count: int, rounds: int, changed: int, groups: int = 37, fold: bool = False) -> dict[str, float]:
    app: WatchApp = create_app("http://127.0.0.1:9", refresh_interval=3600)  # flushed by hand below
    now = time.time()
    board = tasks(count, now, groups)
    ids = list(board)
    async with app.run_test(size=(160, 50)) as pilot:
        app.post_message(Snapshot(board))
        await pilot.pause()
        if fold:
            app.fold_all = True
        started = time.process_time()
        app.flush()
        await pilot.pause()
        first = time.process_time() - started
        lists = list(app.query(TaskList))
        times, lines, cards = [], [], []
        for r in range(rounds):
            moved = {
                ids[(r * changed + k) % count]: {
                    **board[ids[(r * changed + k) % count]],
                    "n": r,
                    "updated_at": now + r + 1,
                }
                for k in range(changed)
            }
            lines_before = sum(lst.lines_rendered for lst in lists)
            cards_before = sum(lst.cards_built for lst in lists)
            started = time.process_time()
            app.post_message(Delta(moved, []))
            await pilot.pause()
            app.flush()
            await pilot.pause()
            times.append(time.process_time() - started)
            lines.append(sum(lst.lines_rendered for lst in lists) - lines_before)
            cards.append(sum(lst.cards_built for lst in lists) - cards_before)
        return {
            "first_ms": first * 1000,
            "update_ms": statistics.median(times) * 1000,
            "layout_ms": app.stats.total_ms / max(1, app.stats.layouts),
            "lines": statistics.median(lines),
            "cards": statistics.median(cards),
        }


def run(rounds: int = 40, changed: int = 20, sizes: tuple[int, ...] = (2_000, 10_000)) -> list[Row]:
    """Rows for each size: the first against the 3x target, larger ones measured and reported."""
    small = asyncio.run(measure(20, rounds, changed))
    rows: list[Row] = []
    for index, tasks_ in enumerate(sizes):
        big = asyncio.run(measure(tasks_, rounds, changed))
        # The worst case for group rows: every change invalidates one aggregate of every task.
        one = asyncio.run(measure(tasks_, rounds, changed, groups=1))
        target = "<= 3x" if index == 0 else ""
        for label, found in ((f"{tasks_:,} tasks", big), (f"{tasks_:,} tasks in one group", one)):
            ratio = found["update_ms"] / small["update_ms"]
            rows.append(
                Row(
                    f"watch TUI: one live update, {label} (CPU, median of {rounds})",
                    f"{found['update_ms']:.1f} ms",
                    f"20 tasks {small['update_ms']:.1f} ms",
                    ratio,
                    target,
                    ratio <= 3 if target else None,
                )
            )
        rows.append(
            Row(
                f"watch TUI: lines rendered per update, {tasks_:,} tasks",
                f"{big['lines']:.0f}",
                f"20 tasks {small['lines']:.0f}",
                big["lines"] / small["lines"] if small["lines"] else None,
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--changed", type=int, default=20)
    parser.add_argument("--tasks", type=int, default=10_000)
    args = parser.parse_args()
    big = args.tasks
    cases = {
        "20 tasks, 37 groups": (20, 37, False),
        f"{big:,} tasks, 37 groups": (big, 37, False),
        f"{big:,} tasks, 37 groups folded": (big, 37, True),
        f"{big:,} tasks, 1 group": (big, 1, False),
    }
    results = {
        name: asyncio.run(measure(count, args.rounds, args.changed, groups, fold))
        for name, (count, groups, fold) in cases.items()
    }
    for name, result in results.items():
        print(
            f"{name:>30}: first paint {result['first_ms']:6.1f} ms CPU, "
            f"update {result['update_ms']:5.1f} ms CPU (layout {result['layout_ms']:4.1f} ms), "
            f"{result['lines']:.0f} lines and "
            f"{result['cards']:.0f} rows rendered per update"
        )
    base = results["20 tasks, 37 groups"]
    for name, result in list(results.items())[1:]:
        print(
            f"update cost, {name} vs 20 tasks: {result['update_ms'] / base['update_ms']:.2f}x (target <= 3x); "
            f"lines per update {result['lines']:.0f} vs {base['lines']:.0f}"
        )


if __name__ == "__main__":
    main()
