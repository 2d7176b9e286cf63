"""A long column on the dashboard draws only what is in view (issue 20), in real headless Chromium.

A column listing more than a few hundred cards (``windowing.js``'s
``WINDOW_THRESHOLD``, 300) keeps only the cards in view, and a margin, in the
DOM; spacers stand for the rest. Everything else must work as on a small
board: counts, the filter, ``#task=ID`` links, updates, discards, keyboard
focus, groups. Each test checks a card off screen is not in the DOM (the
control), then that the feature brings it in.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from dashboard_support import (  # noqa: F401 - the fixtures browser and page
    browser_fixture,
    card,
    column,
    count,
    event,
    group_rows,
    open_dashboard,
    page_fixture,
)
from playwright.sync_api import Page, expect
from support import LiveServer, wait_until

TASKS = 3_000
#: Far below TASKS: what a 900-pixel-high window holds, with its margins, is a few dozen cards.
MOST_DRAWN = 100
LINKED = re.compile(r"(^|\s)linked(\s|$)")


def post_many(server: LiveServer, events: list[dict[str, Any]]) -> None:
    for first in range(0, len(events), 1000):  # one request may create a tenth of the cap (1,000 tasks)
        assert server.post(events[first : first + 1000]).ok


def newest_first(server: LiveServer) -> list[str]:
    """The ids in the order the page lists them: newest change first, then by id."""
    tasks = server.tasks()
    return sorted(tasks, key=lambda task_id: (-tasks[task_id]["updated_at"], task_id))


def drawn(page: Page, where: str = "") -> int:
    return int(page.locator(f"{where} [data-testid=task-card]".strip()).count())


def scroll(page: Page, name: str, to: str) -> None:
    """Scroll a column's list: ``top``, ``bottom`` or ``middle``."""
    page.get_by_test_id(f"list-{name}").evaluate(
        """(list, to) => {
            list.scrollTop = to === "top" ? 0 : to === "bottom" ? list.scrollHeight : list.scrollHeight / 2;
        }""",
        to,
    )


def long_board(server: LiveServer) -> list[str]:
    """TASKS running tasks (no group: their ids have no prefix) and five completed ones; the active ids in order."""
    post_many(server, [event(f"task-{i:04}", n=i, total=10_000, desc=f"Task {i}") for i in range(TASKS)])
    assert server.post([event(f"done-{i}", "close", n=1, total=1) for i in range(5)]).ok
    return [task_id for task_id in newest_first(server) if task_id.startswith("task-")]


def test_a_long_column_draws_a_window_and_scrolling_moves_it(page: Page, server: LiveServer) -> None:
    order = long_board(server)
    open_dashboard(page, server)
    expect(count(page, "active")).to_have_text(str(TASKS))
    expect(column(page, "active")).to_have_attribute("data-total", str(TASKS))
    first, last = card(page, order[0]), card(page, order[-1])
    expect(first).to_be_visible()
    expect(first).to_have_attribute("aria-posinset", "1")
    expect(first).to_have_attribute("aria-setsize", str(TASKS))
    in_active = drawn(page, "[data-testid=column-active]")
    assert 3 <= in_active <= MOST_DRAWN, f"{in_active} cards drawn for {TASKS} tasks"
    expect(last).to_have_count(0)  # the control: far below, not drawn
    # The spacers keep the scrollbar honest: the list is as long as all its cards.
    height = page.get_by_test_id("list-active").evaluate("list => list.scrollHeight")
    assert height > TASKS * 60, height

    # A short column is drawn whole, exactly as before windowing: no spacer, no positions.
    completed = column(page, "completed")
    expect(completed.get_by_test_id("task-card")).to_have_count(5)
    expect(completed.get_by_test_id("spacer")).to_have_count(0)
    expect(completed.locator("[aria-posinset]")).to_have_count(0)

    scroll(page, "active", "bottom")
    expect(last).to_be_in_viewport()
    expect(last).to_have_attribute("aria-posinset", str(TASKS))
    expect(first).to_have_count(0)
    assert drawn(page, "[data-testid=column-active]") <= MOST_DRAWN

    scroll(page, "active", "middle")
    middle = page.get_by_test_id("list-active").locator("[data-testid=task-card]").first

    def first_drawn() -> int:
        return int(middle.get_attribute("aria-posinset") or 0)

    # The window is drawn again on the next frame after the scroll: wait for it (a busy CI saw the old one).
    wait_until(lambda: TASKS * 0.4 < first_drawn() < TASKS * 0.6, timeout=10, what="the window in the middle")
    position = first_drawn()
    # The card drawn at a position is the task the order puts there: the spacers hold the right height.
    expect(middle).to_have_attribute("data-task-id", order[position - 1])
    expect(last).to_have_count(0)

    scroll(page, "active", "top")
    expect(first).to_be_in_viewport()
    expect(last).to_have_count(0)


def test_updates_show_on_cards_in_view_and_off_screen_ones_when_they_come_in(page: Page, server: LiveServer) -> None:
    order = long_board(server)
    open_dashboard(page, server)
    top = card(page, order[0])
    expect(top.get_by_test_id("task-count")).to_have_text(f"{int(order[0][5:]):,}/10,000 it")
    handle = top.element_handle()
    assert server.post(event(order[0], n=9_999, total=10_000)).ok
    expect(top.get_by_test_id("task-count")).to_have_text("9,999/10,000 it")
    assert page.evaluate("node => node.isConnected", handle), "a card in view is updated in place"

    # An off-screen task that changes moves to the top (newest first), showing its new state.
    low = order[-1]
    expect(card(page, low)).to_have_count(0)
    assert server.post(event(low, "error", n=7, total=10_000, meta={"error": "ValueError: bad row"})).ok
    failed = card(page, low)
    expect(failed).to_be_visible()
    expect(failed.get_by_test_id("task-reason")).to_have_text("ValueError: bad row")
    expect(column(page, "completed").locator(card(page, low))).to_have_count(1)
    expect(count(page, "active")).to_have_text(str(TASKS - 1))
    expect(count(page, "completed")).to_have_text("6")

    # Many off-screen changes at once: the counts follow, the DOM stays a window.
    post_many(server, [event(task_id, "close", n=1, total=1) for task_id in order[1000:2000]])
    expect(count(page, "active")).to_have_text(str(TASKS - 1001))
    expect(count(page, "completed")).to_have_text("1006")
    expect(column(page, "completed")).to_have_attribute("data-total", "1006")
    assert drawn(page) <= 2 * MOST_DRAWN


def test_a_task_link_to_an_off_screen_card_scrolls_to_it_and_lights_it(page: Page, server: LiveServer) -> None:
    order = long_board(server)
    far = order[TASKS * 2 // 3]
    open_dashboard(page, server, "#task=" + quote(far, safe=""))
    target = card(page, far)
    expect(target).to_have_class(LINKED)
    expect(target).to_be_in_viewport()
    expect(card(page, order[0])).to_have_count(0)  # the column scrolled: the top card is out of the window

    # A link followed later, by the hash, to another card far off.
    lit = target.element_handle()
    other = order[-1]
    expect(card(page, other)).to_have_count(0)
    page.evaluate("hash => { location.hash = hash; }", "#task=" + quote(other, safe=""))
    expect(card(page, other)).to_have_class(LINKED)
    expect(card(page, other)).to_be_in_viewport()
    # The first one went out, though out of the window now (its node kept for when it is drawn again).
    assert not page.evaluate("node => node.classList.contains('linked')", lit)


def test_the_filter_finds_an_off_screen_task(page: Page, server: LiveServer) -> None:
    order = long_board(server)
    open_dashboard(page, server)
    wanted = order[-1]
    expect(card(page, wanted)).to_have_count(0)
    page.get_by_test_id("filter").fill(wanted)
    expect(card(page, wanted)).to_be_visible()
    expect(count(page, "active")).to_have_text(f"1 of {TASKS}")
    expect(page.get_by_test_id("spacer")).to_have_count(0)  # one card: the column is drawn whole
    expect(column(page, "active").locator("[aria-posinset]")).to_have_count(0)

    # Words matching many: windowed again, the count says how many match.
    page.get_by_test_id("filter").fill("task-1")
    expect(count(page, "active")).to_have_text(f"1000 of {TASKS}")
    assert drawn(page, "[data-testid=column-active]") <= MOST_DRAWN
    page.get_by_test_id("filter").fill("")
    expect(count(page, "active")).to_have_text(str(TASKS))
    expect(card(page, order[0])).to_be_visible()


def test_the_focused_card_stays_and_a_discard_works(page: Page, server: LiveServer) -> None:
    order = long_board(server)
    open_dashboard(page, server)
    top = card(page, order[0])
    top.get_by_test_id("discard").focus()
    scroll(page, "active", "bottom")
    expect(card(page, order[-1])).to_be_in_viewport()
    # Far out of the window, the focused card is still drawn, so the focus is not lost.
    expect(top).to_be_attached()
    expect(top.get_by_test_id("discard")).to_be_focused()
    expect(card(page, order[1])).to_have_count(0)  # the control: its neighbour is not kept
    page.get_by_test_id("filter").focus()  # the focus leaves it: the next draw may drop it
    scroll(page, "active", "top")
    scroll(page, "active", "bottom")
    wait_until(lambda: card(page, order[0]).count() == 0, what="the unfocused card to leave the window")

    bottom = card(page, order[-1])
    bottom.get_by_test_id("discard").click()
    expect(bottom).to_have_count(0)
    expect(count(page, "active")).to_have_text(str(TASKS - 1))
    wait_until(lambda: order[-1] not in server.tasks(), what="the discard to reach the server")
    expect(card(page, order[-2])).to_be_in_viewport()  # the next one takes its place


def test_a_long_group_is_windowed_inside_its_row(page: Page, server: LiveServer) -> None:
    post_many(server, [event(f"big:{i:04}", n=i, total=10_000) for i in range(2_000)])
    assert server.post([event(f"small:{i}", n=i, total=10) for i in range(3)]).ok
    order = [task_id for task_id in newest_first(server) if task_id.startswith("big:")]
    open_dashboard(page, server)
    row = group_rows(page, "big")
    expect(row.get_by_test_id("group-count")).to_have_text("2000 tasks: 2000 active")
    expect(count(page, "active")).to_have_text("2003")
    expect(card(page, order[0])).to_be_visible()
    assert drawn(page, '[data-testid=group][data-group="big"]') <= MOST_DRAWN
    expect(card(page, order[0])).to_have_attribute("aria-setsize", "2000")
    expect(card(page, order[-1])).to_have_count(0)

    scroll(page, "active", "bottom")
    expect(card(page, order[-1])).to_be_in_viewport()
    expect(card(page, order[-1])).to_have_attribute("aria-posinset", "2000")
    # The row's head is drawn above the members in view, so they stay inside its row.
    expect(row.locator(card(page, order[-1]))).to_have_count(1)

    scroll(page, "active", "top")
    toggle = row.get_by_test_id("group-toggle")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(row.get_by_test_id("task-card")).to_have_count(0)
    # Folded, the column holds two rows and three cards: drawn whole again.
    expect(group_rows(page, "small").get_by_test_id("task-card")).to_have_count(3)
    expect(page.get_by_test_id("spacer")).to_have_count(0)
    toggle.click()
    expect(card(page, order[0])).to_be_visible()
    assert drawn(page, '[data-testid=group][data-group="big"]') <= MOST_DRAWN


def test_a_task_link_on_a_narrow_screen_opens_the_windowed_tab_at_its_card(page: Page, server: LiveServer) -> None:
    # One column at a time: the linked card's column is not the one the page opens on, nor laid out yet.
    page.set_viewport_size({"width": 390, "height": 800})
    post_many(server, [event(f"run-{i:03}", n=i, total=1000) for i in range(400)])
    post_many(server, [event(f"done-{i:03}", "close", n=1, total=1) for i in range(400)])
    done = [task_id for task_id in newest_first(server) if task_id.startswith("done-")]
    wanted = done[-1]  # the bottom of Completed
    open_dashboard(page, server, "#task=" + quote(wanted, safe=""))
    target = card(page, wanted)
    expect(target).to_have_class(LINKED)
    expect(target).to_be_in_viewport()
    expect(page.get_by_test_id("tab-completed")).to_have_attribute("aria-pressed", "true")
    expect(card(page, done[0])).to_have_count(0)  # scrolled, and windowed: the top of the column is not drawn

    page.get_by_test_id("tab-active").click()
    runs = [task_id for task_id in newest_first(server) if task_id.startswith("run-")]
    expect(card(page, runs[0])).to_be_in_viewport()
    assert drawn(page, "[data-testid=column-active]") <= MOST_DRAWN


def test_tab_walks_down_a_long_column_past_the_window(page: Page, server: LiveServer) -> None:
    order = long_board(server)
    open_dashboard(page, server)
    card(page, order[0]).get_by_test_id("discard").focus()
    steps = 60  # past the first window's cards: each Tab scrolls the next card in, which draws the ones after it
    for _ in range(steps):
        page.keyboard.press("Tab")
    focused = page.locator("[data-testid=task-card]:focus-within")
    expect(focused).to_have_attribute("data-task-id", order[steps])
    expect(focused).to_be_in_viewport()
    assert drawn(page, "[data-testid=column-active]") <= MOST_DRAWN
    expect(card(page, order[0])).to_have_count(0)


def test_a_link_to_a_run_far_down_lights_its_row(page: Page, server: LiveServer) -> None:
    # A run (its group's row is its card) first, then 400 newer tasks above it.
    run = event("old:run", desc="python train.py", n=0, total=None, meta={"kind": "run"})
    assert server.post([run, event("old:a", n=1, total=2), event("old:b", n=1, total=2)]).ok
    post_many(server, [event(f"new-{i:03}", n=i, total=1000) for i in range(400)])
    open_dashboard(page, server, "#task=" + quote("old:run", safe=""))
    row = group_rows(page, "old")
    expect(row).to_have_class(LINKED)
    expect(row.get_by_test_id("group-toggle")).to_be_in_viewport()  # its head, not some middle of the row
    expect(row.get_by_test_id("run-command")).to_have_text("python train.py")
    top = newest_first(server)[0]
    assert top.startswith("new-")
    expect(card(page, top)).to_have_count(0)  # the top of the column is out of the window
