"""A card's figures are ``protocol/format.py``'s ``task_figures`` of the server's task, to the letter.

``test_format_js.py`` checks ``format.js`` function by function; this checks that
the page draws with it: each figure in its own ``data-testid`` node, holding
exactly the text the terminal dashboard shows for the same task.
"""

from __future__ import annotations

import pytest
from dashboard_support import (  # noqa: F401 - the fixtures browser and page
    browser_fixture,
    card,
    event,
    expect_card_matches,
    open_dashboard,
    page_fixture,
)
from playwright.sync_api import Page, expect
from support import LiveServer

TASKS = [
    event("bar", n=480, total=1000, rate=12.3, elapsed=39.0),
    event("no-rate", n=50, total=200, elapsed=10.0, unit="files"),  # rate falls back to n / elapsed
    event("gigabytes", n=61.2, total=148, rate=0.25, elapsed=3600, unit="GB"),  # a fraction: one style for both
    event("rows", n=803_442, total=1_280_000, rate=4267.1, elapsed=188.3, unit="rows"),
    event("stream", n=1234, total=None, rate=0.5, unit="docs"),
    event("over", n=1500, total=1000, rate=100, elapsed=15),
    event("starting", "start", n=0, total=100, elapsed=0),
    event("finished", "close", n=200, total=200, rate=7.5, elapsed=26.7),
    event("failed", "error", n=3, total=10, rate=0.5, elapsed=120),
    event("bare", n=7),
]


@pytest.fixture
def board(page: Page, server: LiveServer) -> Page:
    assert server.post(TASKS).ok
    open_dashboard(page, server)
    expect(page.get_by_test_id("task-card")).to_have_count(len(TASKS))
    return page


def test_card_figures_are_task_figures(board: Page, server: LiveServer) -> None:
    for task in TASKS:
        expect_card_matches(board, server, task["task_id"])


def test_what_the_browser_used_to_write_differently(board: Page) -> None:
    """The cases where the page once disagreed with the terminal, spelt out."""
    no_rate = card(board, "no-rate")
    expect(no_rate.get_by_test_id("task-rate")).to_have_text("5.00 files/s")  # 50 in 10 s
    expect(no_rate.get_by_test_id("task-eta")).to_have_text("ETA 00:30")  # 150 left at 5/s
    expect(card(board, "gigabytes").get_by_test_id("task-count")).to_have_text("61.2/148 GB")  # not 61.20/148
    expect(card(board, "rows").get_by_test_id("task-count")).to_have_text("803k/1.28M rows")
    over = card(board, "over")
    expect(over.get_by_test_id("task-percent")).to_have_text("100%")
    expect(over.get_by_test_id("task-eta")).to_have_text("ETA 00:00")


def test_figures_follow_updates(board: Page, server: LiveServer) -> None:
    assert server.post(event("no-rate", n=150, elapsed=20.0)).ok
    expect(card(board, "no-rate").get_by_test_id("task-count")).to_have_text("150/200 files")
    expect_card_matches(board, server, "no-rate")
