"""What the browser tests share: Chromium, a fresh page per test, and locators for the dashboard's parts.

Test modules import the fixtures they use (``browser_fixture``, ``page_fixture``: the fixtures
``browser`` and ``page``).
Playwright's Python package drives Debian's ``chromium`` through ``executable_path``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from chromium import launch
from support import LiveServer, require_binary

pytest.importorskip("playwright.sync_api", reason="the dashboard tests need the playwright package")
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright  # noqa: E402

from progressista.protocol.format import group_figures, task_figures  # noqa: E402
from progressista.protocol.statuses import STATUS_LABELS  # noqa: E402

__all__ = [
    "browser_fixture",
    "card",
    "column",
    "count",
    "css_colour",
    "event",
    "expect_card_matches",
    "expect_parts",
    "expect_rows_match",
    "group_rows",
    "heartbeat",
    "open_dashboard",
    "page_fixture",
]


# Registered as "browser" and "page"; test modules import them by these names, so their parameters do not shadow them.
@pytest.fixture(scope="module", name="browser")
def browser_fixture() -> Iterator[Browser]:
    executable = require_binary("chromium", "chromium-browser")
    with sync_playwright() as playwright:
        browser = launch(playwright, executable)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(name="page")
def page_fixture(browser: Browser) -> Iterator[Page]:
    """A fresh context (own storage) and page per test; a JavaScript error on the page fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def event(task_id: str, status: str = "update", **fields: Any) -> dict[str, Any]:
    return {"task_id": task_id, "status": status, **fields}


def open_dashboard(page: Page, server: LiveServer, query: str = "") -> None:
    page.goto(server.url + "/" + query)
    expect(page.get_by_test_id("connection")).to_have_text("Connected")


def card(page: Page, task_id: str) -> Locator:
    quoted = task_id.replace("\\", "\\\\").replace('"', '\\"')
    return page.locator(f'[data-testid="task-card"][data-task-id="{quoted}"]')


def column(page: Page, name: str) -> Locator:
    return page.get_by_test_id(f"column-{name}")


def count(page: Page, name: str) -> Locator:
    return page.get_by_test_id(f"count-{name}")


def group_rows(page: Page, prefix: str) -> Locator:
    """A group's rows: one in each column holding members."""
    return page.locator(f'[data-testid="group"][data-group="{prefix}"]')


def css_colour(page: Page, value: str) -> str:
    """A CSS colour (``var(--err)``) as the page computes it, ``rgb(…)``, to compare with computed styles."""
    script = """(value) => {
        const probe = document.createElement("span");
        probe.style.color = value;
        document.body.append(probe);
        const colour = getComputedStyle(probe).color;
        probe.remove();
        return colour;
    }"""
    return str(page.evaluate(script, value))


@contextmanager
def heartbeat(server: LiveServer, body: dict[str, Any], every: float = 0.05) -> Iterator[None]:
    """Re-post the same state until the block ends, as RemoteTqdm's heartbeat does for an open bar."""
    stop = threading.Event()

    def beat() -> None:
        while True:
            requests.post(server.url + "/progress", json=body, timeout=5).raise_for_status()
            if stop.wait(every):
                return

    thread = threading.Thread(target=beat, daemon=True, name="heartbeat")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)


def expect_parts(root: Locator, expected: dict[str, str], what: str) -> None:
    """Each ``data-testid`` under ``root`` reads its text; ``""`` means the part is hidden."""
    for testid, text in expected.items():
        part = root.get_by_test_id(testid)
        if text:
            expect(part, f"{what} {testid}").to_have_text(text)
        else:
            expect(part, f"{what} {testid}").to_be_hidden()


#: The testid of each of ``task_figures``' figures on a card.
TASK_TESTIDS = {
    "percent": "task-percent",
    "amount": "task-count",
    "rate": "task-rate",
    "elapsed": "task-elapsed",
    "eta": "task-eta",
}
#: How a group row reads its status: running is what the Active column says already.
GROUP_BADGE = {"start": "starting", "update": "", "stale": "stale", "lost": "lost", "close": "done", "error": "error"}


def row_text(group: dict[str, Any]) -> dict[str, str]:
    """What a group row shows for one ``GET /groups`` aggregate: ``group_figures`` by testid, plus status and
    pills, and its run head (``run``: nothing without one)."""
    figures = group_figures(group)
    run = group.get("run") or {}
    return {
        "group-status": GROUP_BADGE[group["status"]],
        **{f"group-{name}": text for name, text in figures.items() if name != "counts"},
        "group-count": figures["counts"],
        **{f"group-{bucket}": f"{k} {bucket}" if k else "" for bucket, k in group["counts"].items()},
        "run-command": run.get("command", ""),
        "run-state": STATUS_LABELS[run["status"]] if run else "",
        "run-exit": run.get("exit", ""),
        "run-reason": run.get("reason", ""),
    }


def expect_rows_match(page: Page, server: LiveServer, prefix: str) -> dict[str, Any]:
    """Every row of the group (one per column holding members) shows GET /groups' figures, as format.py writes them."""
    response = server.http.get(server.url + "/groups", timeout=5)
    response.raise_for_status()
    group: dict[str, Any] = response.json()["groups"][prefix]
    rows = group_rows(page, prefix)
    expect(rows.first).to_be_attached()
    for i in range(rows.count()):
        expect_parts(rows.nth(i), row_text(group), prefix)
    return group


def expect_card_matches(page: Page, server: LiveServer, task_id: str) -> dict[str, Any]:
    """The card shows the server's task as format.py's ``task_figures`` writes it."""
    task: dict[str, Any] = server.tasks()[task_id]
    figures = task_figures(task)
    expect_parts(card(page, task_id), {TASK_TESTIDS[name]: text for name, text in figures.items()}, task_id)
    return task
