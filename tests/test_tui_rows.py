"""What the dashboard's rows say, read with ``TaskList.row_text``: protocol.format's figures, the server's group rows.

The figures are checked against the server's own state (``GET /tasks``, ``GET
/groups``) run through :mod:`progressista.protocol.format`, the functions the
browser's cards are checked against too.
"""

from __future__ import annotations

import time
from typing import Any

from support import LiveServer
from textual.pilot import Pilot
from tui_support import drive, event, offline, until, watch

from progressista.protocol.format import group_figures, task_figures
from progressista.protocol.groups import aggregate
from progressista.protocol.statuses import column_of
from progressista.tui.app import WatchApp
from progressista.tui.messages import Delta, Snapshot

TASK_FIGURES = ("percent", "amount", "rate", "eta")
GROUP_FIGURES = ("percent", "amount", "unknown", "rate", "eta", "counts")


def card_text(app: WatchApp, task_id: str) -> str:
    status = app.board.tasks[task_id].get("status")
    lines = app.column(column_of(status)).row_text(("task", task_id))
    assert lines is not None, f"no card for {task_id}"
    return "\n".join(lines)


def group_text(app: WatchApp, column: str, prefix: str) -> str | None:
    lines = app.column(column).row_text(("group", prefix))
    return None if lines is None else "\n".join(lines)


def assert_rows_match_the_server(app: WatchApp, server: LiveServer) -> int:
    """Every card and group row holds the figures protocol.format gives for the server's state; returns how many."""
    tasks = server.tasks()
    assert app.board.tasks == tasks
    checked = 0
    for task_id, task in tasks.items():
        figures, text = task_figures(task), card_text(app, task_id)
        for name in TASK_FIGURES:
            assert figures[name] in text, (task_id, name, figures[name], text)
            checked += bool(figures[name])
    served = server.http.get(server.url + "/groups", timeout=5).json()["groups"]
    for prefix, group in served.items():
        figures = group_figures(group)
        columns = {column_of(task["status"]) for task_id, task in tasks.items() if task_id.startswith(prefix + ":")}
        for column in columns:  # a row in each column that holds members, each with the whole group's figures
            text = group_text(app, column, prefix)
            assert text is not None, (prefix, column)
            for name in GROUP_FIGURES:
                assert figures[name] in text, (prefix, name, figures[name], text)
                checked += bool(figures[name])
    return checked


def test_cards_and_group_rows_hold_the_figures_of_protocol_format(server):
    server.post(
        [
            event("etl:extract", desc="Extract", n=803_442, total=1_284_113, rate=2841.0, unit="rows", elapsed=283.0),
            event("etl:load", "start", desc="Load", n=12, total=None, unit="rows"),
            event("etl:report", "close", n=48, total=48, unit="rows", rate=0.51, elapsed=94.0),
            event("run:a", n=30, total=100, rate=2.5, unit="img"),
            event("run:b", "error", n=5, total=50, unit="img", elapsed=12.0),
            event("mix:rows", n=5, total=10, unit="rows", rate=0.5),
            event("mix:bytes", n=1.5, total=6.0, unit="B"),
            event("solo:only", n=0.4, total=1.0, rate=0.01, unit="GB"),
            event("plain", n=7, total=9, rate=0.25),
        ]
    )
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: len(app.board.tasks) == 9 and app.stats.layouts, "nine tasks laid out")
        checked = assert_rows_match_the_server(app, server)
        assert checked > 40  # the figures were there to check, not all empty
        # Whole, even where the column is too narrow to show them uncut.
        assert "803k/1.28M rows · 2.84k rows/s · ETA 02:49 · 04:43 elapsed" in card_text(app, "etl:extract")
        assert "ETA" not in card_text(app, "etl:report") and "01:34 elapsed" in card_text(app, "etl:report")
        assert "mixed units" in (group_text(app, "active", "mix") or "")
        # At the column's own width the line is cut, as on screen.
        active = app.column("active")
        narrow = active.row_text(("task", "etl:extract"), width=30)
        assert narrow is not None and all(len(line) <= 30 for line in narrow) and narrow[2].endswith("…")
        # A row this column does not show.
        assert active.row_text(("task", "etl:report")) is None
        assert app.column("completed").row_text(("group", "mix")) is None
        # A member moves: the rows follow.
        server.post(event("run:a", n=80, total=100, rate=2.5, unit="img"))
        await until(pilot, lambda: "85/150 img" in (group_text(app, "completed", "run") or ""), "the new sum")
        assert_rows_match_the_server(app, server)

    drive(app, scenario)


def test_lost_cards_hold_the_figures_too(start_server):
    server = start_server(lost_seconds=0.3, cleanup_interval=0.05)
    server.post([event("gone:a", n=40, total=100, rate=4.0), event("gone:b", n=3, total=None, rate=0.5)])
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: len(app.column("stale").task_ids) == 2, "both tasks lost")
        await until(pilot, lambda: app.board.tasks == server.tasks(), "the app in step with the server")
        assert_rows_match_the_server(app, server)
        assert "4.00 it/s · no contact for" in card_text(app, "gone:a")
        assert " LOST " in (group_text(app, "stale", "gone") or "")

    drive(app, scenario)


def rows(tasks: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Group rows as a server computes them, with a mark so the test tells them from the board's own."""
    members: dict[str, list[dict[str, Any]]] = {}
    for task_id, task in sorted(tasks.items()):
        members.setdefault(task_id.partition(":")[0], []).append(task)
    return {prefix: {**aggregate(found), "total": 999} for prefix, found in members.items()}


def test_group_rows_are_the_servers_when_the_feed_carries_them():
    app = offline()
    now = time.time()

    def task(n: float, status: str = "update") -> dict[str, Any]:
        return {"status": status, "n": n, "total": 10, "rate": 1.0, "updated_at": now}

    async def scenario(pilot: Pilot[None]) -> None:
        tasks = {"run:a": task(3), "run:b": task(4)}
        app.post_message(Snapshot(tasks, rows(tasks)))
        await until(pilot, lambda: "7/999 it" in (group_text(app, "active", "run") or ""), "the server's row")
        assert app.board.served
        tasks["run:a"] = task(5)
        app.post_message(Delta({"run:a": tasks["run:a"]}, [], rows(tasks), []))
        await until(pilot, lambda: "9/999 it" in (group_text(app, "active", "run") or ""), "the server's new row")
        # A group the server left out still has a row: the board computes it.
        app.post_message(Delta({"solo:x": task(1)}, [], {}, []))
        await until(pilot, lambda: group_text(app, "active", "solo") is not None, "the solo row")
        assert "1/10 it" in (group_text(app, "active", "solo") or "")
        # The server removes a row with its last member.
        app.post_message(Delta({}, ["solo:x"], {}, ["solo"]))
        await until(pilot, lambda: app.column("active").groups == ["run"], "the solo row to go")
        # An older server sends no rows: the board computes them all.
        app.post_message(Delta({"run:b": task(6)}, []))
        await until(pilot, lambda: "11/20 it" in (group_text(app, "active", "run") or ""), "the computed row")
        assert not app.board.served

    drive(app, scenario)


def run_task(run_id: str, status: str = "update", **meta: Any) -> dict[str, Any]:
    """The task ``progressista run`` posts for the program itself (as the client side sends it)."""
    fields = {"desc": "python etl.py --full", "n": 0, "total": None, "meta": {"kind": "run", **meta}}
    return {"task_id": f"{run_id}:run", "status": status, **fields}


def test_a_failed_card_says_why_and_a_card_without_a_reason_says_nothing(server):
    server.post(
        [
            event("etl:load", "error", desc="Load", meta={"error": "KeyError: 'id'"}, host="gpu-1", pid=7),
            event("etl:kill", "error", desc="Kill", meta={"signal": "SIGTERM"}),
            event("etl:bare", "error", desc="Bare"),
            event("etl:fine", "close", desc="Fine", meta={"error": "left over"}),
            event("etl:ansi", "error", desc="Ansi", meta={"error": "ValueError: \x1b[31mred\x1b[0m\nsecond"}),
        ]
    )
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: len(app.column("completed").task_ids) == 5, "five cards")
        # The reason first on the details line, in the error style; then the id and host as before.
        assert card_text(app, "etl:load").splitlines()[3] == "  ▍ KeyError: 'id' · etl:load · gpu-1:7"
        assert card_text(app, "etl:kill").splitlines()[3] == "  ▍ SIGTERM · etl:kill"
        assert card_text(app, "etl:ansi").splitlines()[3] == "  ▍ ValueError: [31mred [0m second · etl:ansi"
        # Negative controls: no reason, nothing said; a closed task's meta is no reason.
        assert card_text(app, "etl:bare").splitlines()[3] == "  ▍ etl:bare"
        assert "left over" not in card_text(app, "etl:fine")
        # A narrow column cuts the line's end, the reason first.
        narrow = app.column("completed").row_text(("task", "etl:load"), width=20)
        assert narrow is not None and narrow[3] == "  ▍ KeyError: 'id' …"

    drive(app, scenario)


def test_a_run_heads_its_group_and_has_no_card_of_its_own(server):
    server.post([event("etl:extract", "close", n=10, total=10), event("etl:load", n=3, total=10), run_task("etl")])
    server.post(event("plain:x"))  # a group without a run task: no head
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: group_text(app, "completed", "etl") is not None, "the etl rows")
        active = group_text(app, "active", "etl") or ""
        assert active.splitlines()[0].startswith("▌ ▾ etl  $ python etl.py --full")
        assert active.splitlines()[3] == "▌ run: running · 2 tasks: 1 active · 1 done"  # the bars are counted
        assert app.column("active").row_text(("task", "etl:run")) is None  # the row is its card
        assert sorted(app.column("active").task_ids) == ["etl:load", "plain:x"]
        assert app.column("active").item(("group", "etl")).size == 1
        assert "etl:run" in app.column("active").members["etl"]  # d on the row removes it with the bars
        assert "run:" not in (group_text(app, "active", "plain") or "x")  # negative control

        server.post(run_task("etl", "error", exit_code=1, error="RuntimeError: boom at 40"))
        await until(pilot, lambda: "exit 1" in (group_text(app, "completed", "etl") or ""), "the failed run")
        for column in ("active", "completed"):  # every row of the group says it
            text = group_text(app, column, "etl") or ""
            assert " ERROR " in text.splitlines()[0]
            assert (
                text.splitlines()[3] == "▌ run: error · exit 1 · 2 tasks: 1 active · 1 done · RuntimeError: boom at 40"
            )
        # A narrow column cuts the reason, last, and keeps the state, the exit code and the counts.
        narrow = app.column("completed").row_text(("group", "etl"), width=52)
        assert narrow is not None and narrow[3] == "▌ run: error · exit 1 · 2 tasks: 1 active · 1 done …"
        assert app.column("completed").row_text(("task", "etl:run")) is None
        assert app.column("completed").task_ids == ["etl:extract"]
        served = server.http.get(server.url + "/groups", timeout=5).json()["groups"]
        assert app.board.aggregate("etl") == served["etl"]  # drawn from the server's row

    drive(app, scenario)


def test_a_run_without_bars_is_a_row_alone():
    app = offline()
    now = time.time()
    run = {**run_task("early"), "updated_at": now}

    async def scenario(pilot: Pilot[None]) -> None:
        app.post_message(Snapshot({"early:run": run}))  # no server rows: the board computes the same
        await until(pilot, lambda: group_text(app, "active", "early") is not None, "the row")
        lines = (group_text(app, "active", "early") or "").splitlines()
        assert lines[0].startswith("▌ ▾ early  $ python etl.py --full") and lines[3] == "▌ run: running"
        assert "mixed units" not in "\n".join(lines) and "0 tasks" not in "\n".join(lines)
        assert app.column("active").task_ids == []

    drive(app, scenario)
