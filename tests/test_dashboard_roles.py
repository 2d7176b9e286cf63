"""Roles in the browser dashboard (issue 17), in real headless Chromium against a live server.

A read token gets no discard or clear controls and a "read-only" marker (the
page asks ``GET /access``), and the server still refuses a DELETE made from the
page's own API module. An admin token's bulk clears ask first and can be
cancelled; a single discard can be undone (the page re-posts the task's last
state); ``#task=ID`` links scroll to a card and light it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from dashboard_support import (  # noqa: F401 - the fixtures browser and page
    browser_fixture,
    card,
    count,
    event,
    open_dashboard,
    page_fixture,
)
from playwright.sync_api import Page, expect
from support import LiveServer, wait_until

from progressista.protocol.task import EVENT_FIELDS

READ, ADMIN, INGEST = "read-t0ken", "admin-t0ken", "ingest-t0ken"
TOKENS = [f"read:{READ}", f"admin:{ADMIN}", f"ingest:{INGEST}"]
#: An id a URL must encode: a space, a colon (a group prefix), a non-ASCII letter, a slash.
ODD_ID = "run 1:épreuve/2"
XSS_ID = '<img src=x onerror="window.__pwned=1">'
LINKED = re.compile(r"(^|\s)linked(\s|$)")

# The page's own API module (the same instance the page uses, so the page's token): what a DELETE gets.
DELETE_FROM_THE_PAGE = """async () => {
    const { request } = await import(new URL("js/api.js", location.href));
    try {
        await request("DELETE", "tasks?status=completed");
        return { status: 200, detail: "" };
    } catch (err) {
        return { status: err.status, detail: err.detail };
    }
}"""


@pytest.fixture
def guarded(start_server: Callable[..., LiveServer]) -> LiveServer:
    """A server with a token of each role; the test's own requests use the admin one."""
    server = start_server(api_tokens=TOKENS)
    server.http.headers["Authorization"] = f"Bearer {ADMIN}"
    return server


def open_as(page: Page, server: LiveServer, token: str, access: str, fragment: str = "") -> None:
    """Open the dashboard with ``token`` and wait until it knows what the token may do (``access``)."""
    open_dashboard(page, server, f"static/index.html?token={token}{fragment}")
    expect(page.locator("body")).to_have_attribute("data-access", access)


def test_a_read_token_sees_no_discard_or_clear_controls(page: Page, guarded: LiveServer) -> None:
    assert guarded.post([event("live"), event("ok", "close"), event("bad", "error")]).ok
    open_as(page, guarded, READ, "read-only")
    expect(page.get_by_test_id("task-card")).to_have_count(3)
    marker = page.get_by_test_id("read-only")
    expect(marker).to_be_visible()
    expect(marker).to_have_text("read-only")
    expect(page.get_by_test_id("clear-completed")).to_be_hidden()
    expect(page.get_by_test_id("clear-stale")).to_be_hidden()
    discards = page.get_by_test_id("discard")
    expect(discards).to_have_count(3)  # built with the cards, but none shown
    for i in range(3):
        expect(discards.nth(i)).to_be_hidden()
    card(page, "live").hover()
    expect(card(page, "live").get_by_test_id("discard")).to_be_hidden()

    # What the page would send, from its own context and with its own token, is refused anyway.
    refused = page.evaluate(DELETE_FROM_THE_PAGE)
    assert refused["status"] == 403, refused
    assert "admin" in refused["detail"], refused
    assert set(guarded.tasks()) == {"live", "ok", "bad"}


def test_a_read_token_entered_in_the_panel_is_read_only_too(page: Page, guarded: LiveServer) -> None:
    """The page asks again when a token is entered (the first ask, without one, was refused)."""
    assert guarded.post(event("ok", "close")).ok
    page.goto(guarded.url + "/static/index.html")
    expect(page.get_by_test_id("auth-error")).to_contain_text("This server requires a token")
    page.get_by_test_id("auth-token").fill(READ)
    page.get_by_test_id("auth-submit").click()
    expect(page.get_by_test_id("connection")).to_have_text("Connected")
    expect(page.get_by_test_id("read-only")).to_be_visible()
    expect(card(page, "ok")).to_be_visible()
    expect(card(page, "ok").get_by_test_id("discard")).to_be_hidden()
    expect(page.get_by_test_id("clear-completed")).to_be_hidden()


def test_an_admin_token_sees_every_control_and_no_marker(page: Page, guarded: LiveServer) -> None:
    """The control for the test above: the same page and tasks, with an admin token."""
    assert guarded.post([event("live"), event("ok", "close"), event("bad", "error")]).ok
    open_as(page, guarded, ADMIN, "admin")
    expect(page.get_by_test_id("task-card")).to_have_count(3)
    expect(page.get_by_test_id("read-only")).to_be_hidden()
    expect(page.get_by_test_id("clear-completed")).to_be_visible()
    expect(page.get_by_test_id("clear-stale")).to_be_visible()
    for task_id in ("live", "ok", "bad"):
        expect(card(page, task_id).get_by_test_id("discard")).to_be_visible()


def test_without_access_the_page_offers_everything_as_before(page: Page, guarded: LiveServer) -> None:
    """An older server (no /access) with a read token: controls as before; the server refuses them."""
    assert guarded.post(event("ok", "close")).ok
    page.route(
        "**/access",
        lambda route: route.fulfill(status=404, content_type="application/json", body='{"detail":"Not Found"}'),
    )
    open_as(page, guarded, READ, "unknown")
    expect(page.get_by_test_id("read-only")).to_be_hidden()
    expect(page.get_by_test_id("clear-completed")).to_be_visible()
    card(page, "ok").get_by_test_id("discard").click()
    expect(page.get_by_test_id("messages")).to_contain_text(
        "Could not discard “ok”: this token can only read; deleting needs an admin token (403)"
    )
    expect(card(page, "ok")).to_be_visible()
    assert set(guarded.tasks()) == {"ok"}


def test_bulk_clear_asks_first_and_cancel_removes_nothing(page: Page, start_server: Callable[..., LiveServer]) -> None:
    server = start_server(api_tokens=TOKENS, stale_seconds=0.3)
    server.http.headers["Authorization"] = f"Bearer {ADMIN}"
    assert server.post(event("idle")).ok
    wait_until(lambda: server.tasks()["idle"]["status"] == "stale", what="idle to go stale")
    assert server.post([event(f"done-{i}", "close") for i in range(3)] + [event("bad", "error")]).ok
    everything = {"idle", "done-0", "done-1", "done-2", "bad"}
    deletes: list[str] = []
    page.on("request", lambda request: deletes.append(request.url) if request.method == "DELETE" else None)
    open_as(page, server, ADMIN, "admin")
    expect(count(page, "completed")).to_have_text("4")
    expect(count(page, "stale")).to_have_text("1")
    dialog = page.get_by_test_id("confirm")
    expect(dialog).to_be_hidden()
    clear = page.get_by_test_id("clear-completed")

    clear.click()
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("confirm-title")).to_have_text("Remove 4 completed tasks?")
    expect(page.get_by_test_id("confirm-detail")).to_have_text("This removes them for everyone watching this server.")
    expect(page.get_by_test_id("confirm-cancel")).to_be_focused()
    page.get_by_test_id("confirm-cancel").click()
    expect(dialog).to_be_hidden()
    assert set(server.tasks()) == everything

    clear.click()  # Esc is Cancel too
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    clear.click()  # and so is Enter, Cancel having the focus
    expect(page.get_by_test_id("confirm-cancel")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(count(page, "completed")).to_have_text("4")
    assert set(server.tasks()) == everything
    assert deletes == []

    clear.click()
    page.get_by_test_id("confirm-remove").click()
    expect(count(page, "completed")).to_have_text("0")
    expect(page.get_by_test_id("messages")).to_contain_text("Removed 4 completed tasks.")
    assert set(server.tasks()) == {"idle"}
    assert [url.rsplit("/", 1)[-1] for url in deletes] == ["tasks?status=completed"]

    page.get_by_test_id("clear-stale").click()
    expect(page.get_by_test_id("confirm-title")).to_have_text("Remove 1 stale or lost task?")
    expect(page.get_by_test_id("confirm-detail")).to_have_text("This removes it for everyone watching this server.")
    page.get_by_test_id("confirm-remove").click()
    expect(count(page, "stale")).to_have_text("0")
    assert server.tasks() == {}


def test_undo_brings_a_discarded_task_back(page: Page, guarded: LiveServer) -> None:
    fields: dict[str, Any] = {
        "desc": "Épreuve",
        "n": 3,
        "total": 10,
        "unit": "img",
        "postfix": "loss=0.5",
        "meta": {"gpu": 1, "owner": "zoe"},
        "host": "node-7",
        "pid": 42,
        "seq": 5,
        "elapsed": 2.5,
        "rate": 1.2,
    }
    assert guarded.post([event(ODD_ID, "start", **fields), event("keep")]).ok
    before = guarded.tasks()[ODD_ID]
    open_as(page, guarded, ADMIN, "admin")
    doomed = card(page, ODD_ID)
    doomed.get_by_test_id("discard").click()
    expect(doomed).to_have_count(0)
    assert ODD_ID not in guarded.tasks()

    toast = page.get_by_test_id("message").filter(has_text="Discarded")
    expect(toast).to_have_text(re.compile(f"^Discarded “{re.escape(ODD_ID)}”Undo"))
    with page.expect_request(lambda request: request.method == "POST") as posting:
        toast.get_by_role("button", name="Undo").click()
    sent = posting.value
    assert sent.url.endswith("/progress")
    assert sent.headers["content-type"] == "application/json"
    body = sent.post_data_json
    assert isinstance(body, dict), body
    assert set(body) <= set(EVENT_FIELDS), body  # never the server's created_at, updated_at, seen_at
    assert body["task_id"] == ODD_ID

    expect(doomed).to_be_visible()
    expect(toast).to_have_count(0)
    wait_until(lambda: ODD_ID in guarded.tasks(), what="the task to come back")
    after = guarded.tasks()[ODD_ID]
    for key in ("status", *fields):
        assert after[key] == before[key], key
    assert set(guarded.tasks()) == {ODD_ID, "keep"}


def test_a_discard_not_undone_stays_discarded(page: Page, guarded: LiveServer) -> None:
    """The control for undo: left alone, the offer goes after a few seconds and nothing comes back."""
    assert guarded.post([event(XSS_ID, desc="hostile"), event("keep")]).ok
    open_as(page, guarded, ADMIN, "admin")
    card(page, XSS_ID).get_by_test_id("discard").click()
    toast = page.get_by_test_id("message").filter(has_text="Discarded")
    expect(toast).to_contain_text(f"Discarded “{XSS_ID}”")  # as text: no element made of it
    expect(page.get_by_test_id("messages").locator("img")).to_have_count(0)
    expect(toast).to_have_count(0, timeout=15_000)
    expect(card(page, XSS_ID)).to_have_count(0)
    assert set(guarded.tasks()) == {"keep"}
    assert page.evaluate("window.__pwned") is None


def test_a_task_link_opens_the_page_at_its_card(page: Page, guarded: LiveServer) -> None:
    # The linked task first, then forty newer ones above it: it starts far below the fold.
    assert guarded.post(event(ODD_ID, n=1, total=10)).ok
    assert guarded.post([event(f"filler-{i:02}", n=i, total=100) for i in range(40)]).ok
    open_as(page, guarded, ADMIN, "admin", "#task=" + quote(ODD_ID, safe=""))
    target = card(page, ODD_ID)
    expect(target).to_have_class(LINKED)
    expect(target).to_be_in_viewport()
    assert target.evaluate("node => getComputedStyle(node).outlineStyle") == "solid"
    top = card(page, "filler-00")  # one batch, one updated_at: in id order, first
    expect(top).not_to_have_class(LINKED)
    assert top.evaluate("node => getComputedStyle(node).outlineStyle") == "none"
    expect(top).not_to_be_in_viewport()  # the page did scroll
    target.click()
    expect(target).not_to_have_class(LINKED)


def test_a_task_link_follows_the_hash_and_waits_for_its_task(page: Page, guarded: LiveServer) -> None:
    assert guarded.post(event(ODD_ID, n=1, total=10)).ok
    assert guarded.post([event(f"filler-{i:02}", n=i, total=100) for i in range(40)]).ok
    open_as(page, guarded, ADMIN, "admin")
    target = card(page, ODD_ID)
    expect(target).to_be_attached()
    expect(target).not_to_be_in_viewport()  # the control: without a link, the page starts at the top
    expect(target).not_to_have_class(LINKED)

    page.evaluate("hash => { location.hash = hash; }", "#task=" + quote(ODD_ID, safe=""))
    expect(target).to_have_class(LINKED)
    expect(target).to_be_in_viewport()

    # A link to a task not there yet lights it when it arrives; the previous one goes out.
    late = "late one:ü?#&"
    page.evaluate("hash => { location.hash = hash; }", "#task=" + quote(late, safe=""))
    assert guarded.post(event(late, "close")).ok
    arrived = card(page, late)
    expect(arrived).to_have_class(LINKED)
    expect(arrived).to_be_in_viewport()
    expect(target).not_to_have_class(LINKED)
    expect(arrived).not_to_have_class(LINKED, timeout=15_000)  # a few seconds, then it goes by itself
