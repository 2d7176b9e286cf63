"""Alerts in the browser dashboard (issue 16), in real headless Chromium against a live server.

The page shows a desktop notification when the feed says a task entered ``error`` or
``lost``, once the header's "Notify me" button is on (remembered across reloads); never
for a task already in that state when the page loads; a burst is one summary. Its tab
title counts failed tasks.

The notifications are caught at the browser's API boundary: an init script wraps
``window.Notification`` in a subclass that records each construction (and the object,
to click it) and otherwise is the browser's own; the permission is Playwright's grant,
or headless Chromium's own refusal when nothing was granted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from dashboard_support import (  # noqa: F401 - the fixtures browser and page
    browser_fixture,
    card,
    column,
    event,
    open_dashboard,
    page_fixture,
)
from playwright.sync_api import Page, expect
from support import LiveServer, wait_until

#: Records every notification the page constructs, then lets the browser make it as usual.
RECORD_NOTIFICATIONS = """(() => {
    const Browser = window.Notification;
    const shown = [];
    const made = [];
    class Recorded extends Browser {
        constructor(title, options = {}) {
            super(title, options);
            shown.push({ title, body: options.body ?? "", tag: options.tag ?? "" });
            made.push(this);
        }
    }
    window.Notification = Recorded;
    Object.defineProperty(window, "__notifications", { value: shown });
    Object.defineProperty(window, "__notificationObjects", { value: made });
})();"""

#: An id the page must show with a visible marker (a zero-width space), never as it came.
ZWSP_ID = "etl-lo\u200bad"
ZWSP_SHOWN = "etl-lo<U+200B>ad"


def record(page: Page, server: LiveServer, grant: bool = True) -> None:
    """Before the first navigation: record notifications, and grant the permission unless told not to."""
    if grant:
        page.context.grant_permissions(["notifications"], origin=server.url)
    page.context.add_init_script(RECORD_NOTIFICATIONS)


def shown(page: Page) -> list[dict[str, str]]:
    return list(page.evaluate("window.__notifications"))


def wait_for_count(page: Page, n: int) -> list[dict[str, str]]:
    """Wait until the page made at least ``n`` notifications; all it made so far."""
    page.wait_for_function("n => window.__notifications.length >= n", arg=n, timeout=10_000)
    return shown(page)


def turn_on(page: Page) -> None:
    button = page.get_by_test_id("notify")
    expect(button).to_have_text("Notify me")
    expect(button).to_have_attribute("aria-pressed", "false")
    button.click()
    expect(button).to_have_text("Notifications on")
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(button).to_have_attribute("data-state", "on")


def fail(server: LiveServer, task_id: str, **fields: Any) -> None:
    """Post a running task, wait until the server has it, then its failure (two deltas, update → error)."""
    assert server.post(event(task_id, n=1, total=10, **fields)).ok
    wait_until(lambda: task_id in server.tasks(), what=f"{task_id} to arrive")
    assert server.post(event(task_id, "error", n=1, total=10, **fields)).ok


def test_with_the_toggle_off_a_failure_notifies_nothing(page: Page, server: LiveServer) -> None:
    """The negative control: permission granted, button never pressed; then pressed, only later failures ring."""
    record(page, server)
    open_dashboard(page, server)
    expect(page.get_by_test_id("notify")).to_have_text("Notify me")
    fail(server, "quiet", meta={"error": "nobody asked"})
    expect(card(page, "quiet")).to_have_attribute("data-status", "error")

    turn_on(page)
    fail(server, "loud", meta={"error": "boom"})
    # Anything the first failure had queued would have come before this one (a burst waits one second).
    notes = wait_for_count(page, 1)
    expect(card(page, "loud")).to_have_attribute("data-status", "error")
    assert [note["title"] for note in notes] == ["error: loud"], notes
    assert page.evaluate("localStorage.getItem('progressista.notify')") == "on"


def test_an_update_then_error_notifies_once_and_the_click_opens_the_task(page: Page, server: LiveServer) -> None:
    record(page, server)
    open_dashboard(page, server)
    turn_on(page)
    fail(server, ZWSP_ID, desc="Load\u202ewarehouse", meta={"error": "disk\nfull"})
    notes = wait_for_count(page, 1)
    # The id and desc as every dashboard shows them (text.js), the reason on one line (protocol.js reasonOf).
    assert notes == [
        {
            "title": f"error: {ZWSP_SHOWN}",
            "body": "disk full\nLoad<U+202E>warehouse",
            "tag": f"progressista:error:{ZWSP_ID}",
        }
    ]

    # The same failure back again (discarded, then undone: the page re-posts it) is no new failure; the next is.
    failed = card(page, ZWSP_ID)
    failed.get_by_test_id("discard").click()
    expect(failed).to_have_count(0)
    page.get_by_test_id("message").filter(has_text="Discarded").get_by_role("button", name="Undo").click()
    expect(failed).to_have_attribute("data-status", "error")
    wait_until(lambda: ZWSP_ID in server.tasks(), what="the task to come back")
    fail(server, "marker")
    notes = wait_for_count(page, 2)
    assert [note["title"] for note in notes] == [f"error: {ZWSP_SHOWN}", "error: marker"], notes

    # Clicking the notification opens the task's #task= link: its card is lit.
    page.evaluate("window.__notificationObjects[0].dispatchEvent(new Event('click'))")
    expect(page).to_have_url(re.compile(re.escape("#task=etl-lo%E2%80%8Bad") + "$"))
    expect(card(page, ZWSP_ID)).to_have_class(re.compile(r"(^|\s)linked(\s|$)"))


def test_a_task_the_server_marks_lost_notifies(page: Page, start_server: Callable[..., LiveServer]) -> None:
    server = start_server(lost_seconds=1)
    record(page, server)
    open_dashboard(page, server)
    turn_on(page)
    assert server.post(event("worker-7", desc="Crunch numbers", n=3, total=10)).ok
    expect(card(page, "worker-7")).to_have_attribute("data-status", "update")
    notes = wait_for_count(page, 1)  # a second without contact, then the next lifecycle pass
    expect(card(page, "worker-7")).to_have_attribute("data-status", "lost")
    assert notes == [
        {
            "title": "lost: worker-7",
            "body": "No contact from its process\nCrunch numbers",
            "tag": "progressista:lost:worker-7",
        }
    ]


def test_tasks_failed_or_lost_before_the_page_loaded_notify_nothing(
    page: Page, start_server: Callable[..., LiveServer]
) -> None:
    server = start_server(lost_seconds=0.5)
    record(page, server)
    open_dashboard(page, server)
    turn_on(page)
    page.goto("about:blank")  # the page goes; the choice stays

    fail(server, "old-bad", meta={"error": "before you looked"})
    assert server.post(event("old-gone", n=1, total=2)).ok
    wait_until(lambda: server.tasks().get("old-gone", {}).get("status") == "lost", what="old-gone to be lost")

    open_dashboard(page, server)
    expect(page.get_by_test_id("notify")).to_have_text("Notifications on")
    expect(card(page, "old-bad")).to_have_attribute("data-status", "error")
    expect(card(page, "old-gone")).to_have_attribute("data-status", "lost")
    fail(server, "new-bad")  # the positive control, after which anything about the old ones would have come
    notes = wait_for_count(page, 1)
    assert [note["title"] for note in notes] == ["error: new-bad"], notes


def test_a_burst_of_failures_is_one_summary(page: Page, server: LiveServer) -> None:
    record(page, server)
    open_dashboard(page, server)
    turn_on(page)
    ids = [f"shard-{i}" for i in range(7)]
    assert server.post([event(task_id, n=1, total=10) for task_id in ids]).ok
    for task_id in ids:
        expect(card(page, task_id)).to_be_visible()
    assert server.post([event(task_id, "error", meta={"error": "oom"}) for task_id in ids]).ok
    notes = wait_for_count(page, 1)
    expect(column(page, "completed").get_by_test_id("task-card")).to_have_count(7)
    fail(server, "after")  # a later window: one notification of its own
    notes = wait_for_count(page, 2)
    assert notes[0] == {
        "title": "7 tasks failed",
        "body": "shard-0, shard-1, shard-2 and 4 more",
        "tag": "progressista:summary",
    }
    assert [note["title"] for note in notes[1:]] == ["error: after"], notes


def test_the_choice_survives_a_reload_and_can_be_undone(page: Page, server: LiveServer) -> None:
    record(page, server)
    open_dashboard(page, server)
    turn_on(page)
    page.reload()
    expect(page.get_by_test_id("connection")).to_have_text("Connected")
    button = page.get_by_test_id("notify")
    expect(button).to_have_text("Notifications on")
    fail(server, "after-reload")
    assert [note["title"] for note in wait_for_count(page, 1)] == ["error: after-reload"]

    button.click()
    expect(button).to_have_text("Notify me")
    page.reload()
    expect(page.get_by_test_id("connection")).to_have_text("Connected")
    expect(button).to_have_text("Notify me")
    expect(button).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("localStorage.getItem('progressista.notify')") == "off"


def test_a_refused_permission_says_blocked_and_stays_off(page: Page, server: LiveServer) -> None:
    record(page, server, grant=False)  # nothing granted: headless Chromium answers the request "denied"
    open_dashboard(page, server)
    button = page.get_by_test_id("notify")
    expect(button).to_have_text("Notify me")
    button.click()
    expect(button).to_have_text("Notifications blocked")
    expect(button).to_have_attribute("data-state", "blocked")
    expect(button).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("localStorage.getItem('progressista.notify')") == "off"
    # Allowed later in the site settings: the next click turns them on, and they ring.
    page.context.grant_permissions(["notifications"], origin=server.url)
    button.click()
    expect(button).to_have_text("Notifications on")
    fail(server, "now-allowed")
    assert [note["title"] for note in wait_for_count(page, 1)] == ["error: now-allowed"]


@pytest.mark.parametrize("on", [False, True], ids=["notify-off", "notify-on"])
def test_the_tab_title_counts_failed_tasks(page: Page, server: LiveServer, on: bool) -> None:
    record(page, server)
    assert server.post([event("live"), event("bad-1", "error"), event("bad-2", "error"), event("ok", "close")]).ok
    open_dashboard(page, server)
    if on:
        turn_on(page)
    expect(page).to_have_title("(2 failed) 1 active · Progressista")
    fail(server, "bad-3")
    expect(page).to_have_title("(3 failed) 1 active · Progressista")
    card(page, "bad-1").get_by_test_id("discard").click()
    expect(page).to_have_title("(2 failed) 1 active · Progressista")
    for task_id in ("bad-2", "bad-3"):
        card(page, task_id).get_by_test_id("discard").click()
    expect(page).to_have_title("1 active · Progressista")
    assert "bad-1" not in server.tasks()
    if on:  # the title counts either way; only the live failure rings, and only when asked
        assert [note["title"] for note in wait_for_count(page, 1)] == ["error: bad-3"]
    else:
        assert shown(page) == []
