"""`progressista watch` through Textual's pilot, against a real server on loopback (helpers: tui_support)."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from support import LiveServer, free_socket, run_server
from textual.pilot import Pilot
from tui_support import FAST, drive, event, offline, until, watch

from progressista.protocol.feed import Backoff
from progressista.protocol.groups import groups
from progressista.tui.app import WatchApp, create_app
from progressista.tui.messages import Snapshot
from progressista.tui.rows import CARD_HEIGHT
from progressista.tui.task_list import TaskList
from progressista.tui.widgets import ConfirmScreen, ConnectionBar


def ids(app: WatchApp, column: str) -> list[str]:
    return app.column(column).task_ids


def bar(app: WatchApp) -> ConnectionBar:
    return app.query_one(ConnectionBar)


def screen_text(task_list: TaskList) -> str:
    return "\n".join(task_list.render_line(y).text for y in range(task_list.size.height))


def retry_shown(text: str) -> int:
    """The seconds left that the connection bar's "reconnecting in Ns" shows (0 when it shows none)."""
    shown = re.search(r"reconnecting in (\d+)s", text)
    return int(shown.group(1)) if shown else 0


def notifications(app: WatchApp) -> list[str]:
    return [note.message for note in app._notifications]


def rebind(port: int) -> socket.socket:
    """A new listening socket on ``port``: uvicorn closed the old one when it stopped."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


# ---------------------------------------------------------------- columns


def test_tasks_land_in_their_columns_and_move_when_the_status_changes(start_server):
    server = start_server(stale_seconds=0.4, cleanup_interval=0.05)
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        # Connected first, so a slow start (a loaded CI machine) does not eat the 0.4 s before b goes stale.
        await until(pilot, lambda: bar(app).state == "connected", "the connection")
        server.post([event("a", desc="Alpha"), event("b", "start")])
        await until(pilot, lambda: set(app.board.tasks) == {"a", "b"}, "the tasks")
        server.post(event("a", "close"))
        await until(pilot, lambda: ids(app, "completed") == ["a"], "a completed")
        server.post(event("crash", "error", desc="Crashed job"))
        await until(pilot, lambda: ids(app, "completed") == ["crash", "a"], "newest completed first")
        await until(pilot, lambda: ids(app, "stale") == ["b"], "idle b to need attention")
        assert ids(app, "active") == []
        server.post(event("b", n=5))
        await until(pilot, lambda: ids(app, "active") == ["b"] and ids(app, "stale") == [], "b revived")
        assert app.query_one("#completed-header").label == "Completed  2"

        completed = app.column("completed")
        text = screen_text(completed)
        assert "✗ Crashed job" in text and "✓ Alpha" in text
        error_colour = completed.get_component_rich_style("task-list--error").color
        title_line = completed.render_line(0)
        assert any(
            seg.style is not None and seg.style.color == error_colour and "Crashed" in seg.text for seg in title_line
        ), "an error's title is drawn in the error colour"

    drive(app, scenario)


def test_cards_show_bar_numbers_rate_eta_postfix_and_age(server):
    server.post(
        [
            event(
                "etl:extract",
                desc="Extracting rows",
                n=420,
                total=1000,
                rate=35.0,
                unit="rows",
                postfix="shard=3",
                host="node-1",
                pid=12,
            ),
            event("etl:load", "start", desc="Loading", n=12, total=None),
            event("solo:job", desc="Alone"),
        ]
    )
    posted = time.time()
    app = watch(server, clock=lambda: posted)  # "just now" however long a loaded machine takes to start the app

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: len(ids(app, "active")) == 3, "three active tasks")
        await pilot.pause()
        text = screen_text(app.column("active"))
        assert "▾ etl" in text and "2 tasks: 2 active" in text  # a prefix: a group row, then its tasks
        assert "▾ solo" in text and "1 task: 1 active" in text  # alone, still a group, as in GET /groups
        assert "420/1,000 rows · 35.0 rows/s · ETA 00:17" in text
        assert "42%" in text and "━" in text
        assert "shard=3 · etl:extract · node-1:12" in text
        assert "╍╍╍" in text and "12 it" in text  # unknown total: indeterminate bar
        assert "just now" in text
        assert server.url in bar(app).text and "last message" in bar(app).text

    drive(app, scenario)


# ---------------------------------------------------------------- keys


def test_footer_lists_the_keys_and_arrows_and_tab_move_between_columns(server):
    server.post([event("one"), event("two", "close")])
    server.post(event("three"))
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: ids(app, "active") == ["three", "one"], "two active tasks")
        active = app.column("active")
        assert active.selected == "three"
        await pilot.click("#active", offset=(5, CARD_HEIGHT + 1))  # a click selects the card under it
        assert active.selected == "one"
        await pilot.press("up")
        assert active.selected == "three"
        await pilot.press("end")
        assert active.selected == "one"
        shown = {b.binding.key for b in app.screen.active_bindings.values() if b.binding.show}
        assert {"d", "c", "s", "slash", "r", "q", "left", "up"} <= shown
        assert app.focused is app.column("active")
        await pilot.press("right")
        assert app.focused is app.column("stale")
        await pilot.press("tab")
        assert app.focused is app.column("completed")
        await pilot.press("right")
        assert app.focused is app.column("active")
        await pilot.press("left")
        assert app.focused is app.column("completed")
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, "q to quit")

    drive(app, scenario)


def test_d_discards_the_selected_task_on_the_server(server):
    server.post(event("older"))
    server.post(event("newer"))
    server.post(event(".."))  # an id a URL path cannot carry
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: len(ids(app, "active")) == 3, "three tasks")
        active = app.column("active")
        assert active.selected == ids(app, "active")[0] == ".."
        await pilot.press("d")
        await until(pilot, lambda: ".." not in server.tasks(), "'..' removed on the server")
        await until(pilot, lambda: ids(app, "active") == ["newer", "older"], "the card to go")
        await pilot.press("down")
        assert active.selected == "older"
        await pilot.press("d")
        await until(pilot, lambda: set(server.tasks()) == {"newer"}, "older removed on the server")
        await until(pilot, lambda: ids(app, "active") == ["newer"], "the card to go")
        assert active.selected == "newer"  # the cursor stays in the column
        assert any("Discarded older" in note for note in notifications(app))

    drive(app, scenario)


def test_c_clears_completed_after_confirmation(server):
    server.post([event("running"), event("done", "close"), event("failed", "error")])
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: len(ids(app, "completed")) == 2, "two completed")
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert "Remove all 2 completed tasks" in app.screen.question
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the dialog to close")
        assert set(server.tasks()) == {"running", "done", "failed"}
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: set(server.tasks()) == {"running"}, "completed removed on the server")
        await until(pilot, lambda: ids(app, "completed") == [], "the column to empty")
        assert "No completed tasks" in screen_text(app.column("completed"))
        await pilot.press("c")  # nothing left: no dialog
        assert not isinstance(app.screen, ConfirmScreen)
        assert "No completed tasks to clear" in notifications(app)

    drive(app, scenario)


def test_s_clears_stale_after_confirmation(start_server):
    server = start_server(stale_seconds=0.2, cleanup_interval=0.05)
    server.post(event("idle"))
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: ids(app, "stale") == ["idle"], "the task to go stale")
        server.post(event("done", "close"))  # never goes stale
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert app.screen.question == "Remove all 1 task needing attention (1 stale) from the server?"
        await pilot.press("y")
        await until(pilot, lambda: "idle" not in server.tasks(), "stale removed on the server")
        assert "done" in server.tasks()
        await until(pilot, lambda: ids(app, "stale") == [], "the column to empty")
        await pilot.press("s")  # nothing left: no dialog
        assert not isinstance(app.screen, ConfirmScreen)
        assert "Nothing needs attention" in notifications(app)

    drive(app, scenario)


def test_slash_filters_and_escape_clears(server):
    server.post([event("etl:extract"), event("etl:load", "close"), event("train", desc="Training squad")])
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: len(app.board.tasks) == 3, "three tasks")
        await pilot.press("slash")
        await pilot.press(*"squad")  # letters that are also keys (s, q, d) go to the filter
        assert ids(app, "active") == ["train"]
        assert ids(app, "completed") == []
        assert app.query_one("#active-header").label == "Active  1 of 2"
        assert app.is_running and set(server.tasks()) == {"etl:extract", "etl:load", "train"}
        await pilot.press("enter")  # keep the filter, back to the columns
        assert isinstance(app.focused, TaskList)
        assert ids(app, "active") == ["train"]
        await pilot.press("escape")
        assert sorted(ids(app, "active")) == ["etl:extract", "train"]
        assert ids(app, "completed") == ["etl:load"]

    drive(app, scenario)


# ---------------------------------------------------------------- connection


def test_a_refused_token_says_unauthorized_and_does_not_spin(start_server):
    server = start_server(api_token="t")
    server.http.headers["Authorization"] = "Bearer t"
    server.post(event("secret"))
    for token in (None, "wrong"):
        app = watch(server, token=token)

        async def scenario(pilot: Pilot[None], app: WatchApp = app) -> None:
            await until(pilot, lambda: bar(app).state == "unauthorized", "the unauthorized state")
            assert "refused" in bar(app).text and "--token" in bar(app).text
            attempts = app.feed.attempts
            await pilot.pause(20 * FAST.first)  # long enough for several retries, were it retrying
            assert app.feed.attempts == attempts and bar(app).state == "unauthorized"
            assert app.board.tasks == {}
            await pilot.press("r")  # retry on request: refused again
            await until(pilot, lambda: app.feed.attempts == attempts + 1, "one more attempt")
            await until(pilot, lambda: bar(app).state == "unauthorized", "unauthorized again")

        drive(app, scenario)


def test_the_right_token_connects_and_discards(start_server):
    server = start_server(api_token="t")
    server.http.headers["Authorization"] = "Bearer t"
    server.post(event("job"))
    app = create_app(server.url + "/?token=t", refresh_interval=0.05)  # the dashboard link form

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: ids(app, "active") == ["job"], "the task")
        assert bar(app).state == "connected"
        await pilot.press("d")
        await until(pilot, lambda: server.tasks() == {}, "the discard to reach the server")

    drive(app, scenario)


def test_resyncs_after_the_server_restarts_on_the_same_port():
    sock = free_socket()
    port = sock.getsockname()[1]
    with run_server(sock=sock, cleanup_interval=0.05) as first:
        first.post([event("before"), event("survivor", n=1)])
        app = watch(first)

        async def scenario(pilot: Pilot[None]) -> None:
            await until(pilot, lambda: sorted(ids(app, "active")) == ["before", "survivor"], "first tasks")
            first.server.should_exit = True
            await until(pilot, lambda: bar(app).state == "reconnecting", "the reconnecting state")
            assert sorted(ids(app, "active")) == ["before", "survivor"]  # the last known state stays
            await pilot.press("d")  # the REST call fails: a notification says why
            await until(pilot, lambda: any("Could not discard" in n for n in notifications(app)), "an error")
            with run_server(sock=rebind(port), cleanup_interval=0.05) as second:
                second.post([event("survivor", n=7), event("after")])
                await until(pilot, lambda: bar(app).state == "connected", "the reconnection", timeout=15)
                # Resynchronised from the new server's snapshot, not merged with the old state.
                await until(pilot, lambda: sorted(ids(app, "active")) == ["after", "survivor"], "resync")
                assert app.board.tasks["survivor"]["n"] == 7

        drive(app, scenario)


def test_r_reconnects_at_once_instead_of_waiting_out_the_backoff():
    sock = free_socket()
    port = sock.getsockname()[1]
    with run_server(sock=sock, cleanup_interval=0.05) as first:
        app = watch(first, backoff=Backoff(first=60, limit=60, jitter=0))

        async def scenario(pilot: Pilot[None]) -> None:
            await until(pilot, lambda: bar(app).state == "connected", "connected")
            first.server.should_exit = True
            await until(pilot, lambda: bar(app).state == "reconnecting", "disconnected")
            # The countdown, read whenever the poll comes round: "in 60s" only within its first half second.
            await until(pilot, lambda: retry_shown(bar(app).text) > 30, "the backoff shown")
            with run_server(sock=rebind(port), cleanup_interval=0.05) as second:
                second.post(event("fresh"))
                await pilot.press("r")
                await until(pilot, lambda: ids(app, "active") == ["fresh"], "reconnected well before 60 s")

        drive(app, scenario)


# ---------------------------------------------------------------- scale


def test_redraw_cost_with_2000_tasks_follows_the_screen_not_the_task_count(start_server):
    server = start_server(max_tasks=5000)
    for start in range(0, 2000, 500):
        server.post([event(f"job{i // 100}:task-{i}", n=i % 10, rate=2.0) for i in range(start, start + 500)])
    app = watch(server, refresh_interval=0.1)

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: len(ids(app, "active")) == 2000, "2000 tasks on the board", timeout=30)
        await pilot.pause()
        lists = [app.column(name) for name in ("active", "stale", "completed")]
        lines_before = sum(lst.lines_rendered for lst in lists)
        cards_before = sum(lst.cards_built for lst in lists)
        layouts_before = app.stats.layouts
        # 50 tasks change (order changes: they become the newest), 20 close.
        server.post([event(f"job{i // 100}:task-{i}", n=9) for i in range(0, 2000, 40)])
        server.post([event(f"job{i // 100}:task-{i}", "close", n=10) for i in range(1, 2000, 100)])
        await until(pilot, lambda: len(ids(app, "completed")) == 20, "the closed tasks to move")
        await pilot.pause()
        layouts = app.stats.layouts - layouts_before
        lines = sum(lst.lines_rendered for lst in lists) - lines_before
        cards = sum(lst.cards_built for lst in lists) - cards_before
        visible_lines = sum(lst.size.height for lst in lists)
        # Every repaint renders at most the visible lines of each column, whatever the task count.
        assert lines <= visible_lines * (layouts + 3), (lines, visible_lines, layouts)
        assert cards <= 3 * (visible_lines // CARD_HEIGHT + 2) * (layouts + 1), cards
        assert app.stats.max_ms < 1000, app.stats  # one layout of 2,000 tasks, generous for slow CI

    drive(app, scenario)


@pytest.mark.parametrize("url", ["ftp://host", ""])
def test_the_factory_refuses_a_url_that_names_no_server(url):
    with pytest.raises(ValueError):
        create_app(url)


def test_lost_and_stale_read_apart():
    now = time.time()
    app = offline(clock=lambda: now)  # "idle 30s" stays 30s however slow the machine

    async def scenario(pilot: Pilot[None]) -> None:
        app.post_message(
            Snapshot(
                {
                    "gone": {
                        "status": "lost",
                        "desc": "Vanished worker",
                        "n": 5,
                        "total": 10,
                        "updated_at": now - 120,
                        "seen_at": now - 180,
                    },
                    "slow": {
                        "status": "stale",
                        "desc": "Idle worker",
                        "n": 1,
                        "total": 10,
                        "updated_at": now - 30,
                        "seen_at": now - 1,
                    },
                }
            )
        )
        await until(pilot, lambda: ids(app, "stale") == ["slow", "gone"], "both in Needs attention")
        stale = app.column("stale")
        text = screen_text(stale)
        # "no contact" counts from seen_at (3m), the age from updated_at (2m).
        assert "⚠ LOST  Vanished worker" in text and "no contact for 3m" in text and "2m ago" in text
        assert "idle 30s" in text and "30s ago" in text and "LOST  Idle" not in text
        lost, idle = colour(stale, "gutter-lost"), colour(stale, "gutter-stale")
        assert lost != idle
        assert colours_of(stale, CARD_HEIGHT, "▍") == {lost}  # the lost card's gutter
        assert colours_of(stale, 0, "▍") == {idle}

    drive(app, scenario)


def colour(task_list: TaskList, name: str) -> Any:
    return task_list.get_component_rich_style(f"task-list--{name}").color


def colours_of(task_list: TaskList, y: int, text: str) -> set[Any]:
    """The colours of the segments of line ``y`` that contain ``text``."""
    return {seg.style.color for seg in task_list.render_line(y) if text in seg.text and seg.style is not None}


def heartbeat(server: LiveServer, body: Any, every: float = 0.1) -> Callable[[], None]:
    """Post ``body`` again at most every ``every`` seconds when called: what RemoteTqdm's heartbeat does."""
    last = [0.0]

    def beat() -> None:
        if time.monotonic() - last[0] >= every:
            server.post(body).raise_for_status()
            last[0] = time.monotonic()

    return beat


def test_a_lost_task_needs_attention_and_revives_on_contact(start_server):
    server = start_server(lost_seconds=0.3, cleanup_interval=0.05)
    beat = event("worker", desc="Worker", rate=1.0)
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: bar(app).state == "connected", "the connection")  # before the 0.3 s start
        server.post(beat)
        await until(pilot, lambda: "worker" in app.board.tasks, "the task")
        changed_at = app.board.tasks["worker"]["updated_at"]
        await until(pilot, lambda: ids(app, "stale") == ["worker"], "silence to make it lost")
        assert app.board.tasks["worker"]["status"] == "lost" and ids(app, "active") == []
        text = screen_text(app.column("stale"))
        assert "⚠ LOST  Worker" in text and re.search(r"no contact for \ds", text), text
        assert "Needs attention  1" in app.query_one("#stale-header").label
        await pilot.press("s")  # clearing the column says what it holds
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert "1 task needing attention (1 lost)" in app.screen.question
        await pilot.press("n")
        # The same state again: contact, no progress. It revives (and stays, while the heartbeat goes on).
        send = heartbeat(server, beat)

        def revived() -> bool:
            send()
            return ids(app, "active") == ["worker"] and ids(app, "stale") == []

        await until(pilot, revived, "contact to revive it")
        task = app.board.tasks["worker"]
        assert task["status"] == "update"
        assert task["updated_at"] == changed_at and task["seen_at"] > changed_at  # contact is not progress
        assert "LOST" not in screen_text(app.column("active"))

    drive(app, scenario)


# ---------------------------------------------------------------- groups


def group_rows(app: WatchApp, column: str) -> list[str]:
    return app.column(column).groups


def test_group_rows_show_the_aggregate_of_groups_in_every_column_that_holds_members(server):
    server.post(
        [
            # known totals, one unknown, members in Active and Completed
            event("run:a", n=30, total=100, rate=2.5, unit="img"),
            event("run:b", n=7, total=None, rate=1.25, unit="img"),
            event("run:c", "close", n=100, total=100, unit="img"),
            event("run:d", "error", n=5, total=50, unit="img"),
            # mixed units: no sum, progress is the mean of the fractions
            event("mix:rows", n=5, total=10, unit="rows", rate=0.5),
            event("mix:bytes", n=1.5, total=6.0, unit="B"),
            # every member has a total: an ETA
            event("etl:x", n=40, total=100, rate=4.0),
            event("etl:y", n=10, total=50, rate=1.0),
        ]
    )
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: len(app.board.tasks) == 8 and app.column("active").task_ids, "eight tasks")
        await until(pilot, lambda: sorted(group_rows(app, "active")) == ["etl", "mix", "run"], "three group rows")
        served = server.http.get(server.url + "/groups", timeout=5).json()["groups"]
        assert app.board.groups() == served == groups(server.tasks())
        assert group_rows(app, "completed") == ["run"]  # the same group, a row in each column it has tasks in
        active, completed = app.column("active"), app.column("completed")
        text = screen_text(active)
        assert "▾ run" in text and " ERROR " in text
        assert "135/250 img · 1 without total · 3.75 img/s" in text  # no ETA: a running task has no total
        assert "4 tasks: 2 active · 1 done · 1 error" in text
        assert "mixed units · 1 without total" not in text and "mixed units" in text
        assert "2 tasks: 2 active" in text and "37%" in text
        assert "50/150 it · 5.00 it/s · ETA 00:20" in text and "33%" in text
        # The whole group's aggregate, in every column that holds some of its tasks.
        assert "4 tasks: 2 active · 1 done · 1 error" in screen_text(completed)
        # Row colour: the worst member status.
        assert colours_of(active, row_line(active, "run"), "run") == {colour(active, "gutter-error")}
        assert colours_of(active, row_line(active, "mix"), "mix") == {colour(active, "gutter-active")}
        assert colours_of(completed, row_line(completed, "run"), "run") == {colour(completed, "gutter-error")}
        # A member changes: the rows follow, in both columns.
        server.post(event("run:a", n=80, total=100, rate=2.5, unit="img"))
        await until(pilot, lambda: "185/250 img" in screen_text(completed), "the new sum in Completed")
        assert "185/250 img" in screen_text(active)
        assert app.board.aggregate("run") == groups(server.tasks())["run"]

    drive(app, scenario)


def row_line(task_list: TaskList, prefix: str) -> int:
    return next(i for i, item in enumerate(task_list.items) if (item.kind, item.key) == ("group", prefix)) * CARD_HEIGHT


def test_a_group_takes_the_colour_of_its_worst_member():
    app = offline()
    now = time.time()

    def member(status: str) -> dict[str, Any]:
        return {"status": status, "n": 1, "total": 2, "updated_at": now}

    async def scenario(pilot: Pilot[None]) -> None:
        app.post_message(
            Snapshot(
                {
                    "ok:a": member("update"),
                    "ok:b": member("start"),
                    "ok:c": member("close"),
                    "idle:a": member("update"),
                    "idle:b": member("stale"),
                    "gone:a": member("stale"),
                    "gone:b": member("lost"),
                    "gone:c": member("update"),
                    "bad:a": member("lost"),
                    "bad:b": member("error"),
                    "done:a": member("close"),
                    "done:b": member("close"),
                }
            )
        )
        await until(pilot, lambda: group_rows(app, "completed") == ["bad", "done", "ok"], "the group rows")
        expected = {
            "ok": ("active", "gutter-active", None),
            "idle": ("active", "gutter-stale", " STALE "),
            "gone": ("stale", "gutter-lost", " LOST "),
            "bad": ("stale", "gutter-error", " ERROR "),
            "done": ("completed", "gutter-done", None),
        }
        for prefix, (column, tone, badge) in expected.items():
            task_list = app.column(column)
            line = row_line(task_list, prefix)
            assert colours_of(task_list, line, prefix) == {colour(task_list, tone)}, prefix
            assert colours_of(task_list, line, "▌") == {colour(task_list, tone)}, prefix
            title = task_list.render_line(line).text
            assert (badge in title) if badge else not any(b in title for b in (" STALE ", " LOST ", " ERROR "))

    drive(app, scenario)


def test_enter_space_and_g_fold_groups_and_d_on_a_group_row_removes_its_tasks_there(server):
    server.post([event("run:a"), event("run:b"), event("run:c", "close")])
    server.post(event("solo"))
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: ids(app, "active") == ["solo", "run:a", "run:b"], "the tasks")
        shown = {b.binding.key for b in app.screen.active_bindings.values() if b.binding.show}
        assert {"enter", "g"} <= shown  # in the footer
        active = app.column("active")
        await pilot.press("down")
        assert active.selected_group == "run" and active.selected is None
        await pilot.press("enter")
        assert ids(app, "active") == ["solo"] and group_rows(app, "active") == ["run"]
        assert "▸ run" in screen_text(active) and "Run" not in screen_text(active)
        assert ids(app, "completed") == ["run:c"]  # folded in this column only
        assert active.selected_group == "run"
        await pilot.press("space")
        assert ids(app, "active") == ["solo", "run:a", "run:b"] and "▾ run" in screen_text(active)
        await pilot.press("down")
        assert active.selected == "run:a"
        await pilot.press("enter")  # on a task of a group: folds its group, the cursor goes to the row
        assert ids(app, "active") == ["solo"] and active.selected_group == "run"
        await pilot.click("#active", offset=(5, CARD_HEIGHT))  # a click on a group's title unfolds it
        assert ids(app, "active") == ["solo", "run:a", "run:b"]
        await pilot.press("g")  # every group, every column
        assert ids(app, "active") == ["solo"] and ids(app, "completed") == []
        server.post(event("new:one"))  # a group that appears now starts folded too
        await until(pilot, lambda: "new" in group_rows(app, "active"), "the new group")
        assert "new:one" not in ids(app, "active")
        await pilot.press("g")
        assert sorted(ids(app, "active")) == ["new:one", "run:a", "run:b", "solo"]
        assert ids(app, "completed") == ["run:c"]
        active.select(("task", "solo"))
        await pilot.press("enter")  # on a task of no group: nothing happens
        assert len(ids(app, "active")) == 4
        # d on a group row: its tasks in this column, after a confirmation.
        active.select(("group", "run"))
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert app.screen.question == "Remove the 2 tasks of run in Active from the server?"
        await pilot.press("y")
        await until(pilot, lambda: set(server.tasks()) == {"run:c", "solo", "new:one"}, "run's active tasks gone")
        await until(pilot, lambda: any("Discarded 2 tasks of run" in n for n in notifications(app)), "a note")
        await until(pilot, lambda: group_rows(app, "active") == ["new"], "the row to go from Active")
        assert group_rows(app, "completed") == ["run"]

    drive(app, scenario)


# ---------------------------------------------------------------- task text


def test_task_text_is_drawn_with_markers_never_as_escape_sequences(server):
    """Issue 21: Textual's ``Content`` (as Rich's ``Text``) lets ESC, C1 and bidi overrides through; cards do not."""
    from hostile_text import LOOK_ALIKES, OBEYED, PLAIN_DESC, PLAIN_ID, SHOWN_HOSTILE_ID, hostile_tasks

    assert server.post(hostile_tasks()).ok
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: len(ids(app, "active")) == 4 and ids(app, "completed"), "every task")
        await pilot.pause()
        active, completed = screen_text(app.column("active")), screen_text(app.column("completed"))
        assert all(shown in active for shown in LOOK_ALIKES.values())
        assert PLAIN_DESC in active and PLAIN_ID in active  # the control: plain text as sent
        card = "\n".join(app.column("completed").row_text(("task", ids(app, "completed")[0])) or [])
        assert "evil<U+001B>]0;pwned<U+0007>" in card and "rows<U+001B>[2J" in card
        assert "loss<U+001B>]0;x<U+0007>" in card and "node<U+001B>]52;c;aGVsbG8=<U+0007>" in card
        assert SHOWN_HOSTILE_ID in card and "evil ]0;pwned" in card  # the id, and the reason
        assert "▾ term" in completed
        for text in (active, completed, card):
            assert not [seq for seq in OBEYED if seq.decode("utf-8") in text] and "\x1b" not in text

    drive(app, scenario)
