"""History in the browser dashboard (issue 18), in real headless Chromium against a live server with a SQLite history.

A card whose key has history says ``usual …`` after its ETA, and ``slower than usual`` once it has run
1.5 times that: on the page's ticking clock, with no new event; a card without history, or a finished
one, says neither. A card's History link opens ``#history=KEY``: the key's runs (outcome, duration,
n/total, host, error) newest first, a sparkline with one point per run and the usual duration, also
for a read token; Esc closes it.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from dashboard_support import (  # noqa: F401 - the fixtures browser and page
    browser_fixture,
    card,
    css_colour,
    event,
    open_dashboard,
    page_fixture,
)
from playwright.sync_api import Page, expect
from support import LiveServer, run_server, wait_until

from progressista.protocol.format import format_duration

pytestmark = pytest.mark.timeout(120)

READ, ADMIN = "read-t0ken", "admin-t0ken"
TOKENS = [f"read:{READ}", f"admin:{ADMIN}"]
SLOW = "slower than usual"


def history(server: LiveServer, **params: str) -> dict:
    response = server.http.get(server.url + "/history", params=params, timeout=5)
    response.raise_for_status()
    return response.json()


def one_run(server: LiveServer, task_id: str, status: str = "close", **fields: object) -> None:
    """A run that starts and ends at once (a few ms: a tiny usual duration)."""
    assert server.post(event(task_id, n=0, total=10, **fields)).ok
    assert server.post(event(task_id, status, n=10 if status == "close" else 4)).ok


def recorded(server: LiveServer, count: int, **params: str) -> dict:
    return wait_until(
        lambda: len((answer := history(server, **params))["runs"]) >= count and answer, what=f"{count} runs recorded"
    )


@contextmanager
def moving(server: LiveServer, *task_ids: str) -> Iterator[None]:
    """Tasks that keep making progress until the block ends (so a short stale_seconds leaves them running)."""
    stop = threading.Event()

    def beat() -> None:
        n = 1
        while not stop.wait(0.1):
            n += 1
            server.http.post(server.url + "/progress", json=[event(i, n=n, total=10**6) for i in task_ids], timeout=5)

    thread = threading.Thread(target=beat, daemon=True, name="moving")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)


def test_a_card_with_history_says_its_usual_and_slower_and_one_without_says_neither(
    page: Page, start_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = start_server(history_path=tmp_path / "h.sqlite", stale_seconds=0.5)
    one_run(server, "nightly-1:load")
    one_run(server, "etl-1:parse")
    recorded(server, 2)
    assert server.post([event("nightly-2:load", n=1, total=10**6), event("other-1:thing", n=1, total=10**6)]).ok
    assert server.post(event("etl-2:parse", n=1, total=10)).ok
    with moving(server, "nightly-2:load", "other-1:thing"):
        wait_until(lambda: server.tasks()["etl-2:parse"]["status"] == "stale", what="etl-2:parse to go stale")
        running_and_stale(page, server)


def running_and_stale(page: Page, server: LiveServer) -> None:
    with_history = server.tasks()["nightly-2:load"]
    usual = "usual " + format_duration(with_history["usual_duration"])
    assert usual == "usual 00:00"  # a run of a few ms

    open_dashboard(page, server)
    running = card(page, "nightly-2:load")
    expect(running.get_by_test_id("task-usual")).to_have_text(usual)
    expect(running.get_by_test_id("task-slow")).to_have_text(SLOW)
    # After the ETA, in the order the terminal writes them.
    order = running.locator(".card-stats > :visible").evaluate_all("nodes => nodes.map(n => n.dataset.testid)")
    assert order[-2:] == ["task-usual", "task-slow"], order
    slow, stale = css_colour(page, "var(--slow)"), css_colour(page, "var(--warn)")
    assert running.get_by_test_id("task-slow").evaluate("n => getComputedStyle(n).color") == slow
    stripe = "n => getComputedStyle(n, '::before').backgroundColor"
    assert running.evaluate(stripe) == slow
    # A stale card says it too, and keeps its stale colour.
    idle = card(page, "etl-2:parse")
    expect(idle.get_by_test_id("task-usual")).to_have_text(usual)
    expect(idle.get_by_test_id("task-slow")).to_have_text(SLOW)
    assert idle.evaluate(stripe) == stale != slow
    # Negative controls: no history, no usual; a finished run of the key says neither.
    for task_id in ("other-1:thing", "nightly-1:load"):
        expect(card(page, task_id)).to_be_visible()
        expect(card(page, task_id).get_by_test_id("task-usual")).to_be_hidden()
        expect(card(page, task_id).get_by_test_id("task-slow")).to_be_hidden()
    assert card(page, "other-1:thing").evaluate(stripe) != slow


def test_slower_than_usual_comes_with_the_clock_without_a_new_event(
    page: Page, start_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    path = tmp_path / "h.sqlite"
    with run_server(history_path=path) as first:
        one_run(first, "nightly-1:load")
        recorded(first, 1)
    # The run took a few ms; make it 2 s in the file the next server reads at start, so a new run is not
    # slow at once but after 3 s (as tests/test_history.py sets durations apart).
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE runs SET created_at = ended_at - 2, duration = 2")
    server = start_server(history_path=path)
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: frames.append(str(frame))))
    open_dashboard(page, server)
    assert server.post(event("nightly-2:load", n=3, total=10)).ok
    running = card(page, "nightly-2:load")
    expect(running.get_by_test_id("task-usual")).to_have_text("usual 00:02")
    expect(running.get_by_test_id("task-slow")).to_be_hidden()  # not yet: 1.5 × 2 s
    seen = sum("nightly-2:load" in frame for frame in frames)
    assert seen == 1, frames
    expect(running.get_by_test_id("task-slow")).to_have_text(SLOW, timeout=15_000)
    assert sum("nightly-2:load" in frame for frame in frames) == seen  # nothing new came: the clock did it
    assert server.tasks()["nightly-2:load"]["status"] == "update"


def test_the_history_view_lists_the_runs_and_draws_one_point_per_run(
    page: Page, start_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = start_server(history_path=tmp_path / "h.sqlite", api_tokens=TOKENS)
    server.http.headers["Authorization"] = f"Bearer {ADMIN}"
    one_run(server, "nightly-1:load", host="w1", pid=11, unit="rows")
    one_run(server, "nightly-2:load", "error", host="w2", meta={"error": "KeyError: 'id'\x1b[2J\u202e"})
    one_run(server, "nightly-3:load", host="w3", unit="rows")
    one_run(server, "other-1:thing")
    recorded(server, 4)
    assert server.post(event("nightly-4:load", n=1, total=10)).ok

    open_dashboard(page, server, f"static/index.html?token={READ}")  # a read token is enough
    expect(page.locator("body")).to_have_attribute("data-access", "read-only")
    link = card(page, "nightly-4:load").get_by_test_id("task-history")
    expect(link).to_be_visible()
    expect(link).to_have_attribute("href", "#history=" + quote("nightly:load", safe=""))
    link.click()
    view = page.get_by_test_id("history")
    expect(view).to_be_visible()
    expect(page.get_by_test_id("history-title")).to_have_text("History · nightly:load")
    assert page.evaluate("location.hash") == "#history=nightly%3Aload"
    rows = view.get_by_test_id("history-run")
    expect(rows).to_have_count(3)  # this key's runs only, newest first
    expect(view.get_by_test_id("history-outcome")).to_have_text(["done", "error", "done"])
    expect(rows.nth(0).locator("td")).to_have_text(
        [
            re.compile(r"^(just now|\d+s ago)$"),  # "just now" unless the machine is slow
            "done",
            "00:00",
            "10/10 rows",
            "w3",
            "",
        ]
    )
    expect(rows.nth(1).locator(".run-host")).to_have_text("w2")
    expect(rows.nth(1).locator(".run-error")).to_have_text("KeyError: 'id' [2J<U+202E>")  # as a card's reason
    expect(rows.nth(2).locator(".run-host")).to_have_text("w1 · pid 11")
    runs = history(server, key="nightly:load")
    usual = runs["usual"]["nightly:load"]
    expect(view.get_by_test_id("history-usual")).to_contain_text(
        f"usual {format_duration(usual['duration'])} · median of the last 2 successful runs"
    )
    points = view.get_by_test_id("history-sparkline").locator("circle")
    expect(points).to_have_count(3)
    # Oldest left: the failed run is the middle point, and every point sits inside the drawing.
    classes = points.evaluate_all("nodes => nodes.map(n => n.getAttribute('class'))")
    assert classes == ["spark-point spark-close", "spark-point spark-error", "spark-point spark-close"]
    xs = points.evaluate_all("nodes => nodes.map(n => Number(n.getAttribute('cx')))")
    assert xs == sorted(xs) and len(set(xs)) == 3

    page.keyboard.press("Escape")
    expect(view).to_be_hidden()
    # The dialog's "close" event, which clears the address, comes a task after it hides.
    page.wait_for_function("location.hash === ''", timeout=5_000)
    expect(card(page, "nightly-4:load")).to_be_visible()
    # Reopened straight from the address, the key's table is there again; the close button closes it.
    page.goto(server.url + f"/static/index.html?token={READ}#history=" + quote("other:thing", safe=""))
    expect(view.get_by_test_id("history-run")).to_have_count(1)
    expect(view.get_by_test_id("history-sparkline").locator("circle")).to_have_count(1)
    page.get_by_test_id("history-close").click()
    expect(view).to_be_hidden()


def test_every_key_gets_a_table_and_a_server_without_history_gets_no_links(
    page: Page, start_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = start_server(history_path=tmp_path / "h.sqlite")
    one_run(server, "nightly-1:load")
    one_run(server, "nightly-2:load")
    one_run(server, "other-1:thing", "error")
    recorded(server, 3)
    page.goto(server.url + "/static/index.html#history=")
    view = page.get_by_test_id("history")
    keys = view.get_by_test_id("history-key")
    expect(keys).to_have_count(2)
    assert keys.evaluate_all("nodes => nodes.map(n => n.dataset.key)") == ["other:thing", "nightly:load"]
    expect(keys.nth(0).get_by_test_id("history-usual")).to_have_text("No successful run yet: no usual duration.")
    expect(keys.nth(1).locator("circle")).to_have_count(2)
    page.keyboard.press("Escape")
    expect(view).to_be_hidden()

    plain = start_server()  # no history kept: no link on a card
    assert plain.post(event("nightly-5:load", n=1, total=10)).ok
    open_dashboard(page, plain)
    expect(card(page, "nightly-5:load")).to_be_visible()
    assert page.evaluate("fetch('../history').then(r => r.json()).then(a => a.enabled)") is False
    expect(card(page, "nightly-5:load").get_by_test_id("task-history")).to_be_hidden()
    assert json.loads(page.evaluate("JSON.stringify(document.body.classList.contains('history-on'))")) is False
