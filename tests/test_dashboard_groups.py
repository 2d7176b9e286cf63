"""Group rows on the dashboard: tasks sharing a ``prefix:``, drawn from the server's aggregates.

The server computes every group (``/ws`` ``groups``, the rows of ``GET /groups``);
the page only draws them, with ``format.js``' ``groupFigures``. These tests
compare every row with ``GET /groups`` as ``protocol/format.py`` writes it.
"""

from __future__ import annotations

import json
import re

from dashboard_support import (  # noqa: F401 - the fixtures browser and page
    browser_fixture,
    card,
    column,
    css_colour,
    event,
    expect_parts,
    expect_rows_match,
    group_rows,
    open_dashboard,
    page_fixture,
)
from playwright.sync_api import Page, WebSocketRoute, expect
from support import JSON, LiveServer

from progressista.protocol.reasons import reason_text


def test_tasks_sharing_a_prefix_are_grouped_and_collapsible(page: Page, server: LiveServer) -> None:
    server.post([event(f"run-42:rank-{rank}", n=rank, total=10) for rank in range(4)] + [event("solo:only")])
    open_dashboard(page, server)
    group = group_rows(page, "run-42")
    expect(group.get_by_test_id("task-card")).to_have_count(4)
    expect(group.get_by_test_id("group-count")).to_have_text("4 tasks: 4 active")
    expect(group.get_by_test_id("group-active")).to_have_text("4 active")
    expect(group.get_by_test_id("group-here")).to_be_hidden()  # all of the group is in this column
    expect(group.get_by_test_id("group-percent")).to_have_text("15%")  # 6/40
    # A prefix nobody shares is a group too (as in GET /groups and the terminal): a row of one.
    solo = group_rows(page, "solo")
    expect(solo).to_have_count(1)
    expect(solo.locator(card(page, "solo:only"))).to_be_visible()
    expect(solo.get_by_test_id("group-count")).to_have_text("1 task: 1 active")
    expect_rows_match(page, server, "solo")

    toggle = group.get_by_test_id("group-toggle")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(group.get_by_test_id("task-card")).to_have_count(0)
    server.post(event("run-42:rank-0", n=9, total=10))  # updates still land while collapsed
    expect(page.get_by_test_id("count-active")).to_have_text("5")
    expect(group.get_by_test_id("group-percent")).to_have_text("37%")  # 15/40, the row keeps its figures
    expect_rows_match(page, server, "run-42")

    page.reload()  # the choice is remembered
    expect(page.get_by_test_id("connection")).to_have_text("Connected")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(group.get_by_test_id("group-amount")).to_have_text("15/40 it")
    toggle.click()
    expect(group.get_by_test_id("task-card")).to_have_count(4)
    expect(card(page, "run-42:rank-0").get_by_test_id("task-percent")).to_have_text("90%")


def test_group_rows_show_the_same_aggregates_as_get_groups(page: Page, server: LiveServer) -> None:
    server.post(
        [
            event("run-7:a", n=30, total=100, rate=3.0),
            event("run-7:b", "close", n=100, total=100, rate=4.0),
            event("run-7:c", n=5, total=None, rate=0.5),  # an unknown total: summed without it, and no ETA
            event("run-7:d", "error", n=10, total=50),
            event("mixed:rows", n=50, total=200, unit="rows", rate=10.0),
            event("mixed:bytes", n=3000, total=4000, unit="B", rate=100.0),  # mixed units: mean of fractions
            event("etl:x", n=20, total=100, rate=2.0),
            event("etl:y", n=40, total=100, rate=0.5),
        ]
    )
    open_dashboard(page, server)
    expect(page.get_by_test_id("task-card")).to_have_count(8)

    run = expect_rows_match(page, server, "run-7")
    assert (run["n"], run["total"], run["rate"], run["eta"], run["unknown_totals"]) == (140, 250, 3.5, None, 1)
    mixed = expect_rows_match(page, server, "mixed")
    assert (mixed["unit"], mixed["progress"]) == (None, 0.5)
    etl = expect_rows_match(page, server, "etl")
    assert etl["eta"] == 56  # 140 left at 2.5 it/s
    expect(group_rows(page, "etl").get_by_test_id("group-rate")).to_have_text("2.50 it/s")

    # A group spread over two columns: a row in each, the whole group's figures in both,
    # each with only its own column's cards under it.
    rows = group_rows(page, "run-7")
    expect(rows).to_have_count(2)
    active, completed = column(page, "active").locator(rows), column(page, "completed").locator(rows)
    expect(active.get_by_test_id("task-card")).to_have_count(2)
    expect(completed.get_by_test_id("task-card")).to_have_count(2)
    expect(active.get_by_test_id("group-here")).to_have_text("2 of 4 here")
    expect(completed.get_by_test_id("group-here")).to_have_text("2 of 4 here")
    for row in (active, completed):  # the whole group's counts in both
        expect(row.get_by_test_id("group-count")).to_have_text("4 tasks: 2 active · 1 done · 1 error")
    expect(group_rows(page, "etl").get_by_test_id("group-count")).to_have_text("2 tasks: 2 active")
    expect(group_rows(page, "etl").get_by_test_id("group-here")).to_be_hidden()

    # Worst member status as the colour: an error member makes both rows error-red, like the error card.
    red = css_colour(page, "var(--err)")
    expect(card(page, "run-7:d").locator(".bar-fill")).to_have_css("background-color", red)
    for row in (active, completed):
        expect(row).to_have_attribute("data-status", "error")
        expect(row.locator(".group-bar-fill")).to_have_css("background-color", red)
        expect(row.get_by_test_id("group-status")).to_have_css("background-color", red)
    blue = css_colour(page, "var(--accent)")
    expect(group_rows(page, "etl")).to_have_attribute("data-status", "update")
    expect(group_rows(page, "etl").locator(".group-bar-fill")).to_have_css("background-color", blue)

    # Live: progress and a finished member move the figures; the filter hides cards, not figures.
    server.post([event("etl:x", n=80, total=100, rate=2.0), event("run-7:c", "close", n=8)])
    expect(group_rows(page, "etl").get_by_test_id("group-amount")).to_have_text("120/200 it")
    expect_rows_match(page, server, "etl")
    expect(active.get_by_test_id("group-here")).to_have_text("1 of 4 here")
    expect(completed.get_by_test_id("group-here")).to_have_text("3 of 4 here")
    run = expect_rows_match(page, server, "run-7")
    assert run["eta"] == 110 / 3  # the member without a total is closed, so an ETA: 110 left at 3 it/s
    page.get_by_test_id("filter").fill("etl:y")
    expect(page.get_by_test_id("task-card")).to_have_count(1)
    expect(group_rows(page, "etl").get_by_test_id("group-amount")).to_have_text("120/200 it")


def test_rows_come_and_go_with_the_feed(page: Page, server: LiveServer) -> None:
    open_dashboard(page, server)
    server.post(event("late:a", n=1, total=4))
    rows = group_rows(page, "late")
    expect(rows.get_by_test_id("group-count")).to_have_text("1 task: 1 active")
    server.post(event("late:b", "close", n=4, total=4))
    expect(rows).to_have_count(2)  # one in Active, one in Completed
    expect(rows.first.get_by_test_id("group-count")).to_have_text("2 tasks: 1 active · 1 done")
    expect_rows_match(page, server, "late")

    server.http.delete(server.url + "/tasks", params={"task_id": "late:a"}, headers=JSON, timeout=5).raise_for_status()
    expect(rows).to_have_count(1)
    expect(column(page, "completed").locator(rows).get_by_test_id("group-count")).to_have_text("1 task: 1 done")
    server.http.delete(server.url + "/tasks", params={"task_id": "late:b"}, headers=JSON, timeout=5).raise_for_status()
    expect(rows).to_have_count(0)
    expect(page.get_by_test_id("task-card")).to_have_count(0)


def test_the_page_draws_the_servers_figures_and_computes_none(page: Page, server: LiveServer) -> None:
    """The feed's aggregate is drawn as it comes, even one that disagrees with the member cards."""
    server.post([event("run-5:a", n=1, total=10), event("run-5:b", n=2, total=10)])
    invented = {
        "members": 7,
        "counts": {"active": 5, "stale": 0, "lost": 1, "done": 1, "error": 0},
        "status": "lost",
        "n": 123,
        "total": 456,
        "unit": "it",
        "progress": 123 / 456,
        "rate": 9.0,
        "eta": 37.0,
        "unknown_totals": 0,
        "updated_at": 0,
    }

    def rewrite(message: str | bytes) -> str | bytes:
        body = json.loads(message)
        if isinstance(body.get("groups"), dict) and "run-5" in body["groups"]:
            body["groups"]["run-5"] = invented
        return json.dumps(body)

    def relay(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()
        upstream.on_message(lambda message: ws.send(rewrite(message)))

    page.route_web_socket(re.compile(r"/ws\b"), relay)
    open_dashboard(page, server)
    row = group_rows(page, "run-5")
    figures = {
        "group-count": "7 tasks: 5 active · 1 lost · 1 done",
        "group-amount": "123/456 it",
        "group-rate": "9.00 it/s",
        "group-eta": "ETA 00:37",
        "group-here": "2 of 7 here",
    }
    expect_parts(row, figures, "run-5")
    expect(row).to_have_attribute("data-status", "lost")
    expect(row.get_by_test_id("task-card")).to_have_count(2)


# ---------------------------------------------------------------- the run at the head


def run_task(run_id: str, status: str = "update", **meta: object) -> dict[str, object]:
    """The task ``progressista run`` posts for the program itself (as the client side sends it)."""
    return event(
        f"{run_id}:run", status, desc="python train.py --epochs 3", n=0, total=None, meta={"kind": "run", **meta}
    )


def test_a_run_heads_its_group_with_its_command_state_and_exit_code(page: Page, server: LiveServer) -> None:
    server.post(
        [
            event("job-1:load", "close", n=10, total=10),
            event("job-1:train", n=3, total=10, rate=1.0),
            run_task("job-1"),
            event("plain:x", n=1, total=2),  # a group without a run: no head
        ]
    )
    open_dashboard(page, server)
    rows = group_rows(page, "job-1")
    expect(rows).to_have_count(2)  # Active (the run, job-1:train) and Completed (job-1:load)
    active = column(page, "active").locator(rows)
    head = active.get_by_test_id("group-run")
    expect(head.get_by_test_id("run-command")).to_have_text("python train.py --epochs 3")
    expect(head.get_by_test_id("run-state")).to_have_text("running")
    expect(head.get_by_test_id("run-exit")).to_be_hidden()  # no exit code while it runs
    expect(head.get_by_test_id("run-reason")).to_be_hidden()
    # The run task is the row, not a card; the counts and figures are the bars'.
    expect(card(page, "job-1:run")).to_have_count(0)
    expect(active.get_by_test_id("task-card")).to_have_count(1)
    expect(active.get_by_test_id("group-count")).to_have_text("2 tasks: 1 active · 1 done")
    expect(active.get_by_test_id("group-here")).to_have_text("1 of 2 here")
    group = expect_rows_match(page, server, "job-1")
    assert group["run"]["task_id"] == "job-1:run" and group["members"] == 2
    assert (group["n"], group["total"], group["unknown_totals"]) == (13, 20, 0)  # the run has no progress to sum
    expect(page.get_by_test_id("count-active")).to_have_text("3")  # it is still a task of the column
    # Negative control: a group without a run task has no head, and all its members are cards.
    plain = group_rows(page, "plain")
    expect(plain.get_by_test_id("group-run")).to_be_hidden()
    expect(plain.locator(card(page, "plain:x"))).to_be_visible()
    expect_rows_match(page, server, "plain")

    # The program fails: every row of the group says so, with its exit code and reason.
    server.post(run_task("job-1", "error", exit_code=1, error="RuntimeError: boom at 40"))
    completed = column(page, "completed").locator(rows)
    for row in (active, completed):
        expect(row.get_by_test_id("run-state")).to_have_text("error")
        expect(row.get_by_test_id("run-exit")).to_have_text("exit 1")
        expect(row.get_by_test_id("run-reason")).to_have_text("RuntimeError: boom at 40")
        expect(row).to_have_attribute("data-status", "error")  # a failed run makes its group error
    expect(card(page, "job-1:run")).to_have_count(0)
    expect(completed.get_by_test_id("task-card")).to_have_count(1)  # job-1:load only
    expect(completed.get_by_test_id("group-here")).to_have_text("1 of 2 here")
    expect_rows_match(page, server, "job-1")


def test_a_run_without_bars_yet_is_a_row_alone(page: Page, server: LiveServer) -> None:
    server.post(run_task("early"))
    open_dashboard(page, server)
    row = group_rows(page, "early")
    expect(row.get_by_test_id("run-command")).to_have_text("python train.py --epochs 3")
    for hidden in ("group-count", "group-here", "group-amount", "group-percent", "task-card"):
        expect(row.get_by_test_id(hidden)).to_be_hidden()  # nothing to count or sum: no "0 tasks", no "mixed units"
    expect_rows_match(page, server, "early")
    # The filter finds the run by its command; its row stays without a card.
    page.get_by_test_id("filter").fill("train.py")
    expect(row).to_have_count(1)
    page.get_by_test_id("filter").fill("no such thing")
    expect(row).to_have_count(0)
    # A signal, with no exception text: the signal is the reason; a raw exit code is shown as it came.
    page.get_by_test_id("filter").fill("")
    server.post(run_task("early", "error", exit_code=143, signal="SIGTERM"))
    expect(row.get_by_test_id("run-exit")).to_have_text("exit 143")
    expect(row.get_by_test_id("run-reason")).to_have_text("SIGTERM")
    expect(column(page, "completed").locator(row)).to_have_count(1)


def test_run_text_is_text_and_long_text_is_cut_on_a_narrow_page(page: Page, server: LiveServer) -> None:
    page.set_viewport_size({"width": 420, "height": 900})  # one column a screen
    command = "python -m pipeline.main --input /data/" + "very/long/" * 20 + "file.csv"
    hostile = '<img src=x onerror="window.pwned=1">' + " and more" * 80
    server.post(
        {**run_task("x"), "status": "error", "desc": command, "meta": {"kind": "run", "exit_code": 1, "error": hostile}}
    )
    open_dashboard(page, server)
    page.get_by_role("button", name="Completed 1").click()  # a narrow page shows one column at a time
    row = group_rows(page, "x")
    reason = row.get_by_test_id("run-reason")
    expect(reason).to_contain_text('<img src=x onerror="window.pwned=1">')  # shown as text, never parsed
    expect(row.locator("img")).to_have_count(0)
    assert page.evaluate("window.pwned") is None
    expect(reason).to_have_attribute("title", reason_text(hostile))  # whole in the tooltip (500 characters at most)
    head = row.get_by_test_id("group-toggle")
    fits = head.evaluate("(el) => el.scrollWidth <= el.clientWidth")
    lines = reason.evaluate(
        "(el) => Math.round(el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight))"
    )
    assert fits and lines == 2  # clamped: the row stays a row
    command_node = row.get_by_test_id("run-command")
    assert command_node.evaluate("(el) => el.scrollWidth > el.clientWidth")  # cut with an ellipsis, not wrapped
    expect(command_node).to_have_attribute("title", command)
