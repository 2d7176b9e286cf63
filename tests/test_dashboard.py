"""The browser dashboard (progressista/static/) in real headless Chromium against a live server.

Playwright's Python package drives Debian's ``chromium`` through ``executable_path``
(never ``playwright install``). Events go in through the real HTTP API; every
assertion on the page auto-waits with ``expect``. Group rows are in
``test_dashboard_groups.py``, the figures' text in ``test_dashboard_figures.py``.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable
from typing import Any

from dashboard_support import (  # noqa: F401 - the fixtures browser and page
    browser_fixture,
    card,
    column,
    count,
    css_colour,
    event,
    expect_rows_match,
    group_rows,
    heartbeat,
    open_dashboard,
    page_fixture,
)
from playwright.sync_api import Browser, Page, expect
from support import LiveServer, free_socket, run_server, wait_until

from progressista.protocol.feed import Backoff, closing

XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


# ---------------------------------------------------------------- columns and values


def test_cards_sit_in_their_column_and_move_when_status_changes(
    page: Page, start_server: Callable[..., LiveServer]
) -> None:
    server = start_server(stale_seconds=1.0, cleanup_interval=0.05)
    open_dashboard(page, server)  # first, so the second it has before job-a goes stale is not spent loading the page
    server.post(event("job-a", "start", total=10))
    expect(column(page, "active").locator(card(page, "job-a"))).to_be_visible()
    expect(count(page, "active")).to_have_text("1")

    # Nothing new from job-a for a second: the server marks it stale.
    expect(column(page, "stale").locator(card(page, "job-a"))).to_be_visible()
    server.post(event("job-b", "update", n=3, total=10))
    expect(column(page, "active").locator(card(page, "job-b"))).to_be_visible()
    expect(count(page, "stale")).to_have_text("1")
    expect(count(page, "active")).to_have_text("1")

    server.post(event("job-a", n=5))  # an update revives it
    expect(column(page, "active").locator(card(page, "job-a"))).to_be_visible()

    server.post([event("job-a", "close", n=10), event("job-b", "error")])
    completed = column(page, "completed")
    expect(completed.get_by_test_id("task-card")).to_have_count(2)
    expect(count(page, "completed")).to_have_text("2")
    expect(count(page, "active")).to_have_text("0")
    failed = card(page, "job-b")
    expect(failed).to_have_attribute("data-status", "error")
    expect(failed.get_by_test_id("task-status")).to_have_text("error")
    expect(card(page, "job-a").get_by_test_id("task-status")).to_have_text("done")
    expect(column(page, "active").locator(".empty")).to_be_visible()


def test_most_recently_updated_first(page: Page, server: LiveServer) -> None:
    server.post([event("first", n=1), event("second", n=1)])
    open_dashboard(page, server)
    cards = column(page, "active").get_by_test_id("task-card")
    expect(cards).to_have_count(2)
    server.post(event("second", n=2))
    expect(cards.first).to_have_attribute("data-task-id", "second")
    server.post(event("first", n=2))
    expect(cards.first).to_have_attribute("data-task-id", "first")
    expect(cards.last).to_have_attribute("data-task-id", "second")


def test_progress_values_update_in_place(page: Page, server: LiveServer) -> None:
    server.post(
        event(
            "train",
            "start",
            desc="Training",
            n=10,
            total=100,
            unit="batch",
            rate=5.0,
            elapsed=2.0,
            postfix="loss=0.91",
            meta={"model": "resnet", "gpu": 0, "job_id": "slurm-7"},
            host="node-3",
            pid=4242,
        )
    )
    open_dashboard(page, server)
    bar = card(page, "train")
    expect(bar.get_by_test_id("task-title")).to_have_text("Training")
    expect(bar.get_by_test_id("task-id")).to_have_text("train")
    expect(bar.get_by_test_id("task-percent")).to_have_text("10%")
    expect(bar.get_by_test_id("task-count")).to_have_text("10/100 batch")
    expect(bar.get_by_test_id("task-rate")).to_have_text("5.00 batch/s")
    expect(bar.get_by_test_id("task-elapsed")).to_have_text("00:02 elapsed")
    expect(bar.get_by_test_id("task-eta")).to_have_text("ETA 00:18")  # 90 left at 5/s
    expect(bar.get_by_test_id("task-postfix")).to_have_text("loss=0.91")
    expect(bar.get_by_test_id("task-meta").locator(".chip")).to_have_text(["modelresnet", "gpu0"])
    expect(bar.get_by_test_id("task-origin")).to_have_text("node-3 · pid 4242 · job slurm-7")
    expect(bar.locator('[role="progressbar"]')).to_have_attribute("aria-valuenow", "10")
    element = bar.element_handle()

    server.post(event("train", n=60, rate=10.0, postfix="loss=0.42"))
    expect(bar.get_by_test_id("task-percent")).to_have_text("60%")
    expect(bar.get_by_test_id("task-count")).to_have_text("60/100 batch")
    expect(bar.get_by_test_id("task-eta")).to_have_text("ETA 00:04")
    expect(bar.get_by_test_id("task-postfix")).to_have_text("loss=0.42")
    assert page.evaluate("el => el.isConnected", element), "the card was rebuilt instead of updated in place"

    # The age keeps ticking without any new event.
    age = bar.get_by_test_id("task-age")
    expect(age).to_have_text(re.compile(r"^(just now|\d+s ago)$"))  # "just now" unless the machine is slow
    expect(age).not_to_have_text(age.inner_text(), timeout=10_000)
    expect(age).to_have_text(re.compile(r"^\d+s ago$"))

    server.post(event("train", "close", n=100))
    expect(bar.get_by_test_id("task-percent")).to_have_text("100%")
    expect(bar.get_by_test_id("task-eta")).to_be_hidden()


def test_unknown_total_is_indeterminate(page: Page, server: LiveServer) -> None:
    server.post(event("stream", n=1234, total=None, unit="docs", rate=0.5))
    open_dashboard(page, server)
    bar = card(page, "stream")
    expect(bar.locator(".bar")).to_have_class("bar bar-indeterminate")
    expect(bar.get_by_test_id("task-count")).to_have_text("1,234 docs")
    expect(bar.get_by_test_id("task-rate")).to_have_text("2.00 s/docs")
    expect(bar.get_by_test_id("task-percent")).to_be_hidden()
    expect(bar.get_by_test_id("task-eta")).to_be_hidden()


def test_lost_task_looks_apart_and_revives_when_heard_from(page: Page, start_server: Callable[..., LiveServer]) -> None:
    server = start_server(lost_seconds=0.3, cleanup_interval=0.05)
    state = event("run-9:worker-7", desc="Crunch numbers", n=3, total=10, rate=1.5)
    server.post([state, event("run-9:merge", "close", n=4, total=4)])
    open_dashboard(page, server)
    lost = card(page, "run-9:worker-7")
    expect(column(page, "stale").locator(lost)).to_be_visible()  # nothing heard for 0.3 s: lost
    expect(lost).to_have_attribute("data-status", "lost")
    expect(count(page, "stale")).to_have_text("1")
    badge = lost.get_by_test_id("task-status")
    expect(badge).to_have_text("lost")
    expect(badge).to_be_visible()
    expect(lost.get_by_test_id("task-age")).to_have_text(re.compile(r"^no contact for \d+s$"))
    expect(lost.get_by_test_id("task-eta")).to_be_hidden()

    # Its own colour, not stale's amber nor error's red, and a dashed outline.
    violet, amber, red = (css_colour(page, f"var(--{name})") for name in ("lost", "warn", "err"))
    assert len({violet, amber, red}) == 3
    expect(badge).to_have_css("background-color", violet)
    expect(lost).to_have_css("border-top-style", "dashed")
    expect(page).to_have_title("1 lost · Progressista")

    # The group takes its worst member's status: a row in each column holding members, both violet.
    rows = group_rows(page, "run-9")
    expect(rows).to_have_count(2)
    for row in (column(page, "stale").locator(rows), column(page, "completed").locator(rows)):
        expect(row).to_have_attribute("data-status", "lost")
        expect(row.locator(".group-bar-fill")).to_have_css("background-color", violet)
        expect(row.get_by_test_id("group-here")).to_have_text("1 of 2 here")
        expect(row.get_by_test_id("group-count")).to_have_text("2 tasks: 1 lost · 1 done")
    expect_rows_match(page, server, "run-9")

    # Heard from again (the same state, no progress): running again, back in Active.
    with heartbeat(server, state):
        expect(column(page, "active").locator(lost)).to_be_visible()
        expect(lost).to_have_attribute("data-status", "update")
        expect(badge).to_be_hidden()
        expect(lost.get_by_test_id("task-age")).not_to_contain_text("no contact")
        expect(count(page, "stale")).to_have_text("0")
        expect(rows.first).to_have_attribute("data-status", "update")
        group = expect_rows_match(page, server, "run-9")
        assert group["counts"]["active"] == 1 and group["status"] == "update"
    # Silent again: lost again.
    expect(column(page, "stale").locator(lost)).to_be_visible()


# ---------------------------------------------------------------- discard and bulk clearing


def test_discard_removes_the_task_on_the_server(page: Page, server: LiveServer) -> None:
    server.post([event("keep"), event("drop/me:1 ?#")])
    open_dashboard(page, server)
    doomed = card(page, "drop/me:1 ?#")
    doomed.get_by_test_id("discard").click()
    expect(doomed).to_have_count(0)
    wait_until(lambda: "drop/me:1 ?#" not in server.tasks(), what="the server to forget the task")
    assert set(server.tasks()) == {"keep"}
    expect(card(page, "keep")).to_be_visible()


def test_clear_completed_and_clear_attention(page: Page, start_server: Callable[..., LiveServer]) -> None:
    server = start_server(stale_seconds=0.3, lost_seconds=0.6, cleanup_interval=0.05)
    server.post(event("gone"))
    wait_until(lambda: server.tasks()["gone"]["status"] == "lost", what="gone to be lost")
    server.post([event("idle"), event("ok", "close"), event("bad", "error")])
    wait_until(lambda: server.tasks()["idle"]["status"] == "stale", what="idle to go stale")
    open_dashboard(page, server)
    expect(count(page, "completed")).to_have_text("2")
    expect(count(page, "stale")).to_have_text("2")  # Needs Attention: stale and lost alike

    page.get_by_test_id("clear-completed").click()
    page.get_by_test_id("confirm-remove").click()  # bulk clears ask first (test_dashboard_roles.py)
    expect(count(page, "completed")).to_have_text("0")
    expect(page.get_by_test_id("messages")).to_contain_text("Removed 2 completed tasks")
    assert set(server.tasks()) == {"gone", "idle"}
    expect(count(page, "stale")).to_have_text("2")

    clear = page.get_by_test_id("clear-stale")
    expect(clear).to_have_text("Clear stale & lost")
    with page.expect_request(lambda request: request.method == "DELETE") as clearing:
        clear.click()
        page.get_by_test_id("confirm-remove").click()
    assert clearing.value.url.endswith("/tasks?status=attention")
    expect(count(page, "stale")).to_have_text("0")
    expect(page.get_by_test_id("messages")).to_contain_text("Removed 2 stale or lost tasks.")
    assert server.tasks() == {}
    expect(page.get_by_test_id("clear-completed")).to_be_disabled()
    expect(clear).to_be_disabled()


def test_rest_failures_are_shown(page: Page, server: LiveServer) -> None:
    server.post([event("done", "close"), event("other", "close")])
    open_dashboard(page, server)
    messages = page.get_by_test_id("messages")

    # A 401 from the API (say the token was rotated while the page was open).
    page.route(
        "**/tasks?status=*",
        lambda route: route.fulfill(
            status=401, content_type="application/json", body='{"detail":"missing or wrong token"}'
        ),
    )
    page.get_by_test_id("clear-completed").click()
    page.get_by_test_id("confirm-remove").click()
    expect(messages).to_contain_text("Could not clear completed tasks: Unauthorized — token rejected (401)")

    # The network is gone.
    page.route("**/tasks?task_id=*", lambda route: route.abort())
    card(page, "done").get_by_test_id("discard").click()
    expect(messages).to_contain_text("Could not discard “done”: network error")
    expect(card(page, "done")).to_be_visible()  # not removed on failure
    assert set(server.tasks()) == {"done", "other"}

    messages.get_by_role("button", name="Dismiss message").first.click()
    expect(messages.get_by_test_id("message")).to_have_count(1)


# ---------------------------------------------------------------- filter


def test_filter_matches_desc_task_id_and_meta(page: Page, server: LiveServer) -> None:
    server.post(
        [
            event("alpha", desc="Download images"),
            event("beta", desc="Train model", meta={"owner": "zoe"}),
            event("gamma", "close", desc="Evaluate"),
        ]
    )
    open_dashboard(page, server)
    cards = page.get_by_test_id("task-card")
    expect(cards).to_have_count(3)
    box = page.get_by_test_id("filter")

    box.fill("download")
    expect(cards).to_have_count(1)
    expect(cards.first).to_have_attribute("data-task-id", "alpha")
    expect(count(page, "active")).to_have_text("1 of 2")

    box.fill("ZOE")  # meta value, any case
    expect(cards).to_have_count(1)
    expect(cards.first).to_have_attribute("data-task-id", "beta")

    box.fill("gamma")  # task_id
    expect(cards).to_have_count(1)
    expect(column(page, "active").locator(".empty")).to_have_text("No active task matches the filter")

    box.fill("nothing-like-this")
    expect(cards).to_have_count(0)
    box.press("Escape")
    expect(cards).to_have_count(3)
    expect(count(page, "active")).to_have_text("2")


# ---------------------------------------------------------------- token


def test_token_from_the_query_is_used_and_hidden(page: Page, start_server: Callable[..., LiveServer]) -> None:
    server = start_server(api_token="s3cret")
    server.post(event("private"), headers={"Authorization": "Bearer s3cret"})
    open_dashboard(page, server, "?token=s3cret")
    expect(card(page, "private")).to_be_visible()
    assert "s3cret" not in page.url
    assert page.url.endswith("/static/index.html")

    assert page.evaluate("document.querySelector('meta[name=referrer]').content") == "no-referrer"

    # REST calls carry it too, as a header rather than in the URL: discarding works against the guarded API.
    with page.expect_request(lambda request: request.method == "DELETE") as deleting:
        card(page, "private").get_by_test_id("discard").click()
    assert deleting.value.headers.get("authorization") == "Bearer s3cret"
    assert "s3cret" not in deleting.value.url
    expect(card(page, "private")).to_have_count(0)
    response = server.http.get(server.url + "/tasks", headers={"Authorization": "Bearer s3cret"}, timeout=5)
    assert response.json()["tasks"] == {}

    # A reload (token no longer in the address bar) still connects.
    page.reload()
    expect(page.get_by_test_id("connection")).to_have_text("Connected")


def test_rejected_token_shows_a_message_and_stops_retrying(page: Page, start_server: Callable[..., LiveServer]) -> None:
    server = start_server(api_token="right")
    server.post(event("hidden"), headers={"Authorization": "Bearer right"})
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.clock.install()
    page.goto(server.url + "/?token=wrong")
    panel = page.get_by_test_id("auth-error")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("Unauthorized — token rejected")
    expect(panel).to_contain_text("missing or wrong token")
    expect(page.get_by_test_id("connection")).to_have_text("Unauthorized")
    expect(page.get_by_test_id("board")).to_be_hidden()
    assert "wrong" not in page.url

    page.clock.run_for(60_000)  # a minute of timers: a retry loop would open more sockets
    expect(page.get_by_test_id("connection")).to_have_text("Unauthorized")
    assert len(sockets) == 1, sockets

    page.get_by_test_id("auth-token").fill("right")
    page.get_by_test_id("auth-submit").click()
    expect(page.get_by_test_id("connection")).to_have_text("Connected")
    expect(card(page, "hidden")).to_be_visible()


def test_missing_token_says_one_is_required(page: Page, start_server: Callable[..., LiveServer]) -> None:
    server = start_server(api_token="right")
    page.goto(server.url + "/")
    expect(page.get_by_test_id("auth-error")).to_contain_text("This server requires a token")


def test_refused_origin_is_explained(page: Page, start_server: Callable[..., LiveServer]) -> None:
    server = start_server(allow_origins=["https://dashboards.example"])
    page.goto(server.url + "/")
    panel = page.get_by_test_id("auth-error")
    expect(panel).to_contain_text("Connection refused by the server")
    expect(panel).to_contain_text("origin not allowed")
    expect(page.get_by_test_id("connection")).to_have_text("Refused")


# ---------------------------------------------------------------- untrusted text


def test_html_in_task_fields_renders_as_text(page: Page, server: LiveServer) -> None:
    short = "<img src=x onerror=window.__pwned=3>"  # units are capped at 64 characters
    assert server.post(
        [
            event(f"x{XSS}", desc=XSS, unit=short, postfix=XSS, host=XSS, meta={XSS: XSS, "job_id": XSS}, n=1, total=2),
            event(f"{XSS}:a"),
            event(f"{XSS}:b"),
        ]
    ).ok
    open_dashboard(page, server)
    payload = card(page, f"x{XSS}")
    expect(payload.get_by_test_id("task-title")).to_have_text(XSS)
    expect(payload.get_by_test_id("task-id")).to_have_text(f"x{XSS}")
    expect(payload.get_by_test_id("task-postfix")).to_have_text(XSS)
    expect(payload.get_by_test_id("task-count")).to_have_text(f"1/2 {short}")
    expect(payload.locator(".chip-key")).to_have_text(XSS[:39] + "…")
    expect(payload.get_by_test_id("task-origin")).to_contain_text(XSS[:40])
    expect(page.get_by_test_id("group")).to_have_count(1)
    expect(page.locator(".group-name")).to_have_text(XSS)  # the prefix before ':'
    page.get_by_test_id("filter").fill("<script>")
    expect(page.get_by_test_id("task-card")).to_have_count(3)
    assert page.locator("#board img, #board script").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_a_failed_card_says_why(page: Page, server: LiveServer) -> None:
    server.post(
        [
            event("load", "error", desc="Loading rows", n=3, total=10, meta={"error": "KeyError: 'id'", "table": "t"}),
            event("kill", "error", desc="Worker 3", n=3, total=10, meta={"signal": "SIGTERM"}),
            event("bare", "error", desc="No reason", n=3, total=10),
            event("alive", desc="Still going", n=3, total=10, meta={"error": "not a failure yet"}),
            event("hostile", "error", meta={"error": XSS + "\nsecond line"}),
        ]
    )
    open_dashboard(page, server)
    failed = card(page, "load")
    reason = failed.get_by_test_id("task-reason")
    expect(reason).to_have_text("KeyError: 'id'")
    expect(reason).to_have_css("color", css_colour(page, "var(--err)"))
    # The reason is said once: no chip repeats it, the other meta stays.
    expect(failed.get_by_test_id("task-meta").locator(".chip")).to_have_text(["tablet"])
    expect(card(page, "kill").get_by_test_id("task-reason")).to_have_text("SIGTERM")  # no exception: the signal
    expect(card(page, "kill").get_by_test_id("task-meta")).to_be_hidden()
    # Negative controls: no reason, no line; an open task's meta is only meta.
    expect(card(page, "bare").get_by_test_id("task-reason")).to_be_hidden()
    expect(card(page, "alive").get_by_test_id("task-reason")).to_be_hidden()
    expect(card(page, "alive").locator(".chip")).to_have_text(["errornot a failure yet"])
    # Text, one line of it, never markup.
    expect(card(page, "hostile").get_by_test_id("task-reason")).to_have_text(XSS + " second line")
    assert page.locator("#board img, #board script").count() == 0
    assert page.evaluate("window.__pwned") is None
    # It comes when the task fails, in place.
    server.post(event("alive", "error", meta={"error": "TimeoutError: read timed out"}))
    expect(card(page, "alive").get_by_test_id("task-reason")).to_have_text("TimeoutError: read timed out")
    expect(card(page, "alive").get_by_test_id("task-meta")).to_be_hidden()


def test_a_long_reason_is_clamped_on_a_narrow_card(page: Page, server: LiveServer) -> None:
    page.set_viewport_size({"width": 360, "height": 800})
    long = "FileNotFoundError: " + "/data/2024/shard-0007/part-00042.csv" * 20  # one long word, as paths are
    server.post(event("read", "error", desc="Reading", meta={"error": long}))
    open_dashboard(page, server)
    page.get_by_role("button", name=re.compile("^Completed")).click()  # one column at a time
    failed = card(page, "read")
    reason = failed.get_by_test_id("task-reason")
    expect(reason).to_have_attribute("title", long[:499] + "…")  # 500 characters at most, as every surface cuts it
    lines = reason.evaluate(
        "(el) => Math.round(el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight))"
    )
    assert lines == 3  # clamped, broken anywhere: the card stays a card
    assert failed.evaluate("(el) => el.scrollWidth <= el.clientWidth")


# ---------------------------------------------------------------- connection


def test_reconnect_backoff_is_protocol_feeds(page: Page, server: LiveServer) -> None:
    """feed.js waits as ``protocol.feed.Backoff`` does: 0.5 s, doubling, capped at 10 s, within ±10 %."""
    page.goto(server.url + "/static/index.html")
    delays = page.evaluate("""async () => {
        const { Backoff, closing } = await import(new URL("js/feed.js", location.href));
        const exact = new Backoff({ jitter: 0 });
        const jittered = new Backoff();
        return {
            exact: Array.from({ length: 12 }, (_, i) => exact.delay(i + 1)),
            jittered: Array.from({ length: 400 }, (_, i) => jittered.delay((i % 12) + 1) / exact.delay((i % 12) + 1)),
            closing: [1000, 1006, 1008, 1012, 1013].map((code) => closing(code)),
        };
    }""")
    assert delays["exact"] == [Backoff(jitter=0).delay(attempt) for attempt in range(1, 13)]
    assert delays["exact"][:3] == [0.5, 1, 2] and delays["exact"][-1] == 10
    assert 0.9 <= min(delays["jittered"]) < 0.97 and 1.03 < max(delays["jittered"]) <= 1.1
    expected = [closing(code, "") for code in (1000, 1006, 1008, 1012, 1013)]
    assert delays["closing"] == [{"refused": c.refused, "atOnce": c.at_once} for c in expected]


def rebind(port: int) -> socket.socket:
    """A new listening socket on ``port``: uvicorn closed the old one when it stopped."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def test_disconnect_and_recovery_on_the_same_port(page: Page) -> None:
    sock = free_socket()
    port = sock.getsockname()[1]
    indicator = page.get_by_test_id("connection")
    with run_server(sock=sock, cleanup_interval=0.05) as first:
        first.post([event("before", n=1), event("survivor", n=1)])
        open_dashboard(page, first)
        expect(card(page, "before")).to_be_visible()
    expect(indicator).to_have_text("Disconnected — retrying…")
    expect(card(page, "before")).to_be_visible()  # the last known state stays on screen

    with run_server(sock=rebind(port), cleanup_interval=0.05) as second:
        second.post([event("survivor", n=7, total=10), event("after")])
        expect(indicator).to_have_text("Connected", timeout=20_000)
        # Resynchronised from the new server's snapshot, not merged with the old state.
        expect(card(page, "after")).to_be_visible()
        expect(card(page, "before")).to_have_count(0)
        expect(card(page, "survivor").get_by_test_id("task-percent")).to_have_text("70%")
        second.post(event("after", n=3))
        expect(card(page, "after").get_by_test_id("task-count")).to_have_text("3 it")


# ---------------------------------------------------------------- layout


def test_narrow_screen_shows_one_column_with_tabs(browser: Browser, server: LiveServer) -> None:
    server.post([event("running"), event("finished", "close")])
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        open_dashboard(page, server)
        expect(column(page, "active")).to_be_visible()
        expect(column(page, "completed")).to_be_hidden()
        page.get_by_test_id("tab-completed").click()
        expect(column(page, "completed")).to_be_visible()
        expect(column(page, "active")).to_be_hidden()
        expect(card(page, "finished")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


def test_colour_scheme_follows_the_system(page: Page, server: LiveServer) -> None:
    background = "getComputedStyle(document.body).backgroundColor"
    page.emulate_media(color_scheme="light")
    open_dashboard(page, server)
    light = page.evaluate(background)
    page.emulate_media(color_scheme="dark")
    dark = page.evaluate(background)
    assert luminance(light) > 0.8 > 0.2 > luminance(dark), (light, dark)


def luminance(css_rgb: str) -> float:
    red, green, blue = (int(part) for part in css_rgb[css_rgb.index("(") + 1 : -1].split(",")[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


# ---------------------------------------------------------------- scale


def test_two_thousand_tasks(page: Page, server: LiveServer) -> None:
    def batch(n: int) -> list[dict[str, Any]]:
        return [
            event(
                f"job-{i // 50}:shard-{i}",
                n=n + i % 7,
                total=1000,
                rate=12.5,
                elapsed=3.0,
                desc=f"Shard {i}",
                postfix=f"loss={i / 5000:.3f}",
                meta={"worker": i % 16},
            )
            for i in range(2000)
        ]

    first = batch(1)  # in halves: one request may create a tenth of the cap (1,000 tasks)
    assert server.post(first[:1000]).ok and server.post(first[1000:]).ok
    started = time.perf_counter()
    page.goto(server.url + "/")
    expect(count(page, "active")).to_have_text("2000", timeout=30_000)
    cards = page.get_by_test_id("task-card")
    expect(cards.first).to_be_visible(timeout=30_000)
    wall = time.perf_counter() - started
    # A column this long draws only the cards in view (windowing.js; tests/test_dashboard_window.py).
    assert cards.count() < 200, "2,000 cards in the DOM: the column was not windowed"
    stats = page.evaluate("window.progressistaDashboard.stats")
    print(
        f"\n2,000 tasks: first full render {wall * 1000:.0f} ms after navigation "
        f"({stats['firstRenderMs']:.0f} ms from snapshot to rendered board)"
    )
    assert wall < 20, "the dashboard took far too long to render 2,000 tasks"

    # Every task updates, ten times over: the page keeps up, updating cards in place.
    page.evaluate("""() => {
        const stats = window.progressistaDashboard.stats;
        stats.renders = 0;
        stats.maxRenderMs = 0;
        window.slowFrames = [];  // frames over 50 ms, style and layout included
        new PerformanceObserver((list) => {
            for (const entry of list.getEntries()) window.slowFrames.push(entry.duration);
        }).observe({type: "long-animation-frame"});
    }""")
    top = str(cards.first.get_attribute("data-task-id"))
    first = cards.first.element_handle()
    for n in range(10, 110, 10):
        assert server.post(batch(n)).ok
    # Each card, off screen or not, shows its last state once drawn: the filter draws one at a time.
    for task_id in ("job-39:shard-1999", "job-0:shard-0", top):
        page.get_by_test_id("filter").fill(task_id)
        shard = int(task_id.rsplit("-", 1)[1])
        expect(card(page, task_id).get_by_test_id("task-count")).to_have_text(f"{100 + shard % 7}/1,000 it")
    assert page.evaluate("el => el.isConnected", first), "cards must be updated in place (drawn again, not rebuilt)"
    page.get_by_test_id("filter").fill("")
    stats = page.evaluate("window.progressistaDashboard.stats")
    frames = page.evaluate("window.slowFrames")
    print(
        f"2,000 live tasks, 10 full updates: {stats['renders']} renders, slowest render "
        f"{stats['maxRenderMs']:.0f} ms, {len(frames)} frames over 50 ms (slowest {max(frames, default=0):.0f} ms)"
    )
    assert stats["maxRenderMs"] < 2000, "an update render of 2,000 cards took far too long"
