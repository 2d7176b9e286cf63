"""The browser and the terminal dashboard, fed the same tasks, show the same rows and the same numbers.

One server, one set of tasks (groups with one and several members, mixed units,
a task without a rate, fractional and large amounts, every status, failures with
and without a reason, a run at the head of its group); the page in headless
Chromium and ``progressista watch`` under Textual's pilot both connect to it.
Where each column has a group row, and every figure, reason and run head on
every card and group row, must read the same in both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dashboard_support import (  # noqa: F401 - the fixtures browser and page
    TASK_TESTIDS,
    browser_fixture,
    card,
    event,
    open_dashboard,
    page_fixture,
)
from playwright.sync_api import Locator, Page, expect
from support import LiveServer, wait_until
from textual.pilot import Pilot
from tui_support import drive, until, watch

from progressista.protocol.statuses import COLUMNS, column_of

TASKS = [
    event("etl:extract", n=480, total=1000, rate=12.3, elapsed=39.0, unit="rows"),
    event("etl:load", "close", n=1000, total=1000, rate=25.0, elapsed=40.0, unit="rows"),
    event("etl:audit", "error", n=3, total=10, rate=0.5, elapsed=120, unit="rows", meta={"error": "KeyError: 'id'"}),
    RUN := event(
        "etl:run",
        "error",
        desc="python etl.py --full",
        n=0,
        total=None,
        meta={"kind": "run", "exit_code": 3, "error": "RuntimeError: boom at 40"},
    ),
    event("solo:only", n=61.2, total=148, rate=0.25, elapsed=3600, unit="GB"),  # a group of one
    event("mix:files", n=50, total=200, elapsed=10.0, unit="files"),  # no rate: n / elapsed
    event("mix:bytes", n=803_442, total=1_280_000, rate=4267.1, elapsed=188.3, unit="B"),
    event("stream", n=1234, total=None, rate=0.5, unit="docs"),
    event("over", n=1500, total=1000, rate=100, elapsed=15),
    event("done", "close", n=200, total=200, rate=7.5, elapsed=26.7),
    event("killed", "error", n=7, total=10, meta={"signal": "SIGTERM"}),
]
#: A key with history (a run of a few ms, so a tiny usual duration): its open task says "usual 00:00" and,
#: past 1.5 times that, "slower than usual"; the finished run says neither.
PAST_RUN = [event("hist-1:step", n=0, total=10), event("hist-1:step", "close", n=10, total=10)]
SLOW_TASK = event("hist-2:step", n=3, total=10, unit="rows")
#: The tasks drawn as cards: a run task is drawn as its group's row.
CARDS = [task for task in TASKS if task is not RUN] + [PAST_RUN[-1], SLOW_TASK]
PREFIXES = ("etl", "solo", "mix")
#: What a card says, by testid: its figures and why it failed.
CARD_TESTIDS = (*TASK_TESTIDS.values(), "task-usual", "task-slow", "task-reason")
#: A group row's figures and its run head, by their testid on the page.
GROUP_TESTIDS = ("group-percent", "group-amount", "group-unknown", "group-rate", "group-eta", "group-count")
RUN_TESTIDS = ("run-command", "run-state", "run-exit", "run-reason")


def texts(root: Locator, testids: Any) -> list[str]:
    """The text of each part as written (``""`` for a hidden one; CSS may upper-case a badge), in order."""
    found = []
    for testid in testids:
        part = root.get_by_test_id(testid)
        found.append((part.text_content() or "").strip() if part.count() and part.first.is_visible() else "")
    return found


def in_the_browser(page: Page, server: LiveServer) -> dict[str, Any]:
    """Every card's and every group row's figures, and which columns hold a row of which group."""
    open_dashboard(page, server)
    expect(page.get_by_test_id("task-card")).to_have_count(len(CARDS))
    expect(page.locator('[data-testid="run-reason"]:visible')).to_have_count(2)  # etl's rows: Active, Completed
    cards = {task["task_id"]: texts(card(page, task["task_id"]), CARD_TESTIDS) for task in CARDS}
    rows: dict[tuple[str, str], list[str]] = {}
    for name in COLUMNS:
        column = page.get_by_test_id(f"column-{name}")
        for prefix in PREFIXES:
            row = column.locator(f'[data-testid="group"][data-group="{prefix}"]')
            if row.count():
                rows[name, prefix] = texts(row.get_by_test_id("group-toggle"), (*GROUP_TESTIDS, *RUN_TESTIDS))
    return {"cards": cards, "rows": rows}


def in_the_terminal(server: LiveServer) -> dict[str, Any]:
    """The plain text of every task's card and of every group row, per column."""
    app = watch(server)
    seen: dict[str, Any] = {}

    async def scenario(pilot: Pilot[None]) -> None:
        def laid_out() -> bool:
            return all(
                app.column(column_of(task["status"])).row_text(("task", task["task_id"])) is not None for task in CARDS
            ) and "exit 3" in "\n".join(app.column("completed").row_text(("group", "etl")) or [])

        await until(pilot, laid_out, "every task on the board")
        seen["cards"] = {
            task["task_id"]: "\n".join(app.column(column_of(task["status"])).row_text(("task", task["task_id"])) or [])
            for task in CARDS
        }
        seen["run card"] = app.column("completed").row_text(("task", RUN["task_id"]))
        seen["rows"] = {
            (name, prefix): "\n".join(text)
            for name in COLUMNS
            for prefix in PREFIXES
            if (text := app.column(name).row_text(("group", prefix))) is not None
        }

    # Playwright's sync API keeps an event loop running in this thread: the pilot gets a thread of its own.
    failures: list[BaseException] = []

    def run() -> None:
        try:
            drive(app, scenario, size=(200, 60))
        except BaseException as exc:  # handed to the test below
            failures.append(exc)

    thread = threading.Thread(target=run, name="pilot")
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the terminal dashboard did not finish within 60 s"
    if failures:
        raise failures[0]
    return seen


@pytest.fixture
def server(start_server: Callable[..., LiveServer], tmp_path: Path) -> LiveServer:
    """A server that keeps history, holding one past run of ``hist:step``."""
    server = start_server(history_path=tmp_path / "h.sqlite")
    for body in PAST_RUN:
        assert server.post(body).ok
    wait_until(lambda: server.http.get(server.url + "/history", timeout=5).json()["runs"], what="the past run")
    return server


@pytest.fixture
def both(page: Page, server: LiveServer) -> tuple[dict[str, Any], dict[str, Any]]:
    assert server.post([*TASKS, SLOW_TASK]).ok
    browser = in_the_browser(page, server)
    return browser, in_the_terminal(server)


def test_both_show_the_same_group_rows(both: tuple[dict[str, Any], dict[str, Any]]) -> None:
    browser, terminal = both
    assert set(browser["rows"]) == set(terminal["rows"])
    # A lone "solo:only" is a group in both; a group spread over three columns has a row in each.
    assert ("active", "solo") in browser["rows"]
    assert {name for name, prefix in browser["rows"] if prefix == "etl"} == set(COLUMNS) - {"stale"}


def test_both_show_the_same_numbers(both: tuple[dict[str, Any], dict[str, Any]]) -> None:
    browser, terminal = both
    for task_id, figures in browser["cards"].items():
        shown = [text for text in figures if text]
        assert len(shown) >= 2, (task_id, figures)
        missing = [text for text in shown if text not in terminal["cards"][task_id]]
        assert not missing, f"{task_id}: the terminal does not show {missing}:\n{terminal['cards'][task_id]}"
    for key, figures in browser["rows"].items():
        missing = [text for text in figures if text and text not in terminal["rows"][key]]
        assert not missing, f"{key}: the terminal does not show {missing}:\n{terminal['rows'][key]}"


def test_both_say_why_a_task_failed_and_head_a_group_with_its_run(both: tuple[dict[str, Any], dict[str, Any]]) -> None:
    browser, terminal = both
    reason = CARD_TESTIDS.index("task-reason")
    assert (
        browser["cards"]["etl:audit"][reason] == "KeyError: 'id'" and "KeyError: 'id'" in terminal["cards"]["etl:audit"]
    )
    assert browser["cards"]["killed"][reason] == "SIGTERM" and "SIGTERM" in terminal["cards"]["killed"]
    # Negative control: a card without a reason says none, in either.
    assert browser["cards"]["etl:load"][reason] == "" and "Error" not in terminal["cards"]["etl:load"]
    run = [browser["rows"]["completed", "etl"][len(GROUP_TESTIDS) + i] for i in range(len(RUN_TESTIDS))]
    assert run == ["python etl.py --full", "error", "exit 3", "RuntimeError: boom at 40"]
    assert browser["rows"]["active", "etl"][len(GROUP_TESTIDS) :] == run  # every row of the group
    assert terminal["run card"] is None  # a row, not a card, in both
    assert not any(text for text in browser["rows"]["active", "mix"][len(GROUP_TESTIDS) :])  # no run, no head
    assert "run:" not in terminal["rows"]["active", "mix"]


def test_both_say_how_long_a_task_usually_takes_and_that_it_is_slower(
    both: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    browser, terminal = both
    usual, slow = CARD_TESTIDS.index("task-usual"), CARD_TESTIDS.index("task-slow")
    shown = browser["cards"]["hist-2:step"]
    assert (shown[usual], shown[slow]) == ("usual 00:00", "slower than usual")
    assert "usual 00:00" in terminal["cards"]["hist-2:step"] and "slower than usual" in terminal["cards"]["hist-2:step"]
    # Negative control: the finished run of the key, and a task of a key without history, say neither, in either.
    for task_id in ("hist-1:step", "etl:extract"):
        assert (browser["cards"][task_id][usual], browser["cards"][task_id][slow]) == ("", "")
        assert "usual" not in terminal["cards"][task_id]


def test_the_comparison_would_notice_a_difference(both: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """Negative control: one task's figures are not found on another task's card, nor the old browser's text."""
    browser, terminal = both
    assert any(text not in terminal["cards"]["solo:only"] for text in browser["cards"]["etl:extract"] if text)
    assert "61.20/148 GB" not in terminal["cards"]["solo:only"]
    assert "61.2/148 GB" in terminal["cards"]["solo:only"]
