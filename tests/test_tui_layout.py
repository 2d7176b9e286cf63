"""`progressista watch` at 80×24 and 200×50: a layout that fits, the ``?`` keys screen, the window title.

Through Textual's pilot against a real server on loopback (helpers: tui_support).
"What is on screen" is the screen's rendered lines (the compositor's strips, the
text an SVG export would draw), checked by structure, not against a golden file.
"""

from __future__ import annotations

from typing import Any

import pytest
from hostile_text import ESCAPES, HOSTILE_ID
from textual.binding import Binding, BindingsMap
from textual.pilot import Pilot
from textual.widgets._footer import FooterKey
from tui_support import drive, event, until, watch

from progressista.protocol.statuses import COLUMNS
from progressista.tui.app import WatchApp
from progressista.tui.help import HelpScreen
from progressista.tui.task_list import TaskList
from progressista.tui.title import POP_TITLE, PUSH_TITLE, osc_title
from progressista.tui.widgets import WIDE_FROM, KeyFooter

NARROW, WIDE = (80, 24), (200, 50)
LONG = {  # descriptions of 40 characters, one per column
    "train": "Training the large model, epoch 3 of 10",
    "crash": "Crashed while loading the nightly export",
    "done": "Finished copying every shard to storage.",
}


def screen_lines(app: WatchApp) -> list[str]:
    """The whole screen as drawn, one string a line (modal screens over the board included)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def all_bindings() -> list[Binding]:
    """Every binding of the board: a column's (the focused widget's) and the app's, one per key."""
    return [
        bound[0]
        for bindings in (TaskList.BINDINGS, WatchApp.BINDINGS)
        for bound in BindingsMap(bindings).key_to_bindings.values()
    ]


def visible_footer_keys(app: WatchApp) -> dict[str, str]:
    """``{key: description}`` of the footer keys drawn whole within the screen's width."""
    width = app.size.width
    return {
        key.key: key.description
        for key in app.query_one(KeyFooter).query(FooterKey)
        if key.display and key.region.width and key.region.right <= width
    }


def shown(app: WatchApp, column: str) -> bool:
    box = app.column(column).parent
    assert box is not None
    return bool(box.display and app.column(column).region.width)


def loaded(server: Any) -> None:
    server.post(
        [
            event("train", desc=LONG["train"]),
            event("other", desc="Second active task"),
            event("crash", "error", desc=LONG["crash"], meta={"error": "disk full"}),
            event("done", "close", desc=LONG["done"]),
        ]
    )


async def ready(pilot: Pilot[None], app: WatchApp, count: int = 4) -> None:
    await until(pilot, lambda: len(app.board.tasks) == count and app.connection.state == "connected", "the tasks")
    await until(pilot, lambda: app.stats.layouts and len(app.column("active").task_ids) == 2, "the layout")
    # The keys on offer follow the server's answer to GET /access, and the footer is composed again (empty
    # meanwhile) when they change: the footer as it stays, once that answer is in.
    await until(pilot, lambda: app.can is not None and "question_mark" in visible_footer_keys(app), "the footer")
    await pilot.pause()


# ---------------------------------------------------------------- keys


@pytest.mark.parametrize("size", [NARROW, WIDE], ids=["80x24", "200x50"])
def test_every_key_is_in_the_footer_or_the_help_screen(server, size):
    loaded(server)
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await ready(pilot, app)
        footer = visible_footer_keys(app)
        assert footer["question_mark"] == "Help"  # the way to the rest is always in sight
        assert "q" in footer
        if size == WIDE:  # everything the footer shows fits
            assert {b.key for b in all_bindings() if b.show} <= set(footer)
        else:
            assert "c" not in footer and "s" not in footer  # left for the ? screen, not cut mid-word
            assert set(footer) == {key.key for key in app.query(FooterKey)}  # every key it shows drawn whole
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
        await pilot.pause()
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        listed = {key: row for row in help_screen.rows for key in row.keys}
        for binding in all_bindings():  # each binding of the app appears, by the key a user presses
            name = app.get_key_display(Binding(binding.key, binding.action))
            assert name in listed, f"{binding.key} is not in the help"
            assert listed[name].text == (binding.tooltip or binding.description)
        drawn = "\n".join(screen_lines(app))
        for row in help_screen.rows:  # drawn, not only listed: the screen fits (or scrolls) at 80×24
            assert f"{' '.join(row.keys)}  " in drawn and row.text in drawn, row
        await pilot.press("d")  # the board's keys do nothing behind it
        assert isinstance(app.screen, HelpScreen) and len(server.tasks()) == 4
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen), "escape to close it")
        assert isinstance(app.focused, TaskList)

    drive(app, scenario, size)


def test_a_read_only_token_sees_its_deleting_keys_marked_in_the_help(start_server):
    server = start_server(api_tokens=["read:READ", "admin:ADMIN"])
    server.http.headers["Authorization"] = "Bearer ADMIN"
    server.post(event("job"))
    app = watch(server, token="READ")

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: app.can == {"read"}, "the answer of GET /access")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
        assert isinstance(app.screen, HelpScreen)
        marked = {row.keys[0] for row in app.screen.rows if not row.enabled}
        assert marked == {"d", "c", "s"}
        assert any("(not with this token)" in line for line in app.screen.lines)

    drive(app, scenario, NARROW)


# ---------------------------------------------------------------- layout


def test_descriptions_are_whole_at_80_columns_in_every_column(server):
    loaded(server)
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await ready(pilot, app)
        for key, column, task_id in (("1", "active", "train"), ("3", "completed", "crash"), ("3", "completed", "done")):
            await pilot.press(key)
            await until(pilot, lambda c=column: shown(app, c), f"{column} shown")
            await pilot.pause()
            title = next(line for line in screen_lines(app) if LONG[task_id][:20] in line)
            assert LONG[task_id] in title, title  # 40 characters, whole (issue 22: cut to 8 before)

    drive(app, scenario, NARROW)


def test_the_narrow_layout_shows_one_column_and_switches_by_key_arrow_and_click(server):
    loaded(server)
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await ready(pilot, app)
        assert app.narrow and app.screen.has_class("-narrow")
        assert [name for name in COLUMNS if shown(app, name)] == ["active"]
        assert app.tabs.display and app.tabs.current == "active"
        assert app.tabs.text.split() == "1 Active 2 2 Needs attention 0 3 Completed 2 · 1 failed".split()
        for key, column in (("3", "completed"), ("2", "stale"), ("right", "completed"), ("right", "active")):
            await pilot.press(key)
            await until(pilot, lambda c=column: [n for n in COLUMNS if shown(app, n)] == [c], f"{key} to show {column}")
            assert app.focused is app.column(column) and app.tabs.current == column
        await pilot.press("left")
        await until(pilot, lambda: shown(app, "completed"), "left to wrap round to completed")
        drawn = "\n".join(screen_lines(app))
        assert LONG["crash"] in drawn and LONG["train"] not in drawn and "Nothing needs attention" not in drawn
        start = app.tabs.text.index("2 Needs")
        await pilot.click("#tabs", offset=(start + 2, 0))  # a click on a tab shows its column
        await until(pilot, lambda: [n for n in COLUMNS if shown(app, n)] == ["stale"], "the click")
        assert "Nothing needs attention" in "\n".join(screen_lines(app))

    drive(app, scenario, NARROW)


def test_the_wide_layout_shows_three_columns_and_no_tabs(server):
    loaded(server)
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await ready(pilot, app)
        assert not app.narrow and app.screen.has_class("-wide")
        assert all(shown(app, name) for name in COLUMNS)
        regions = [app.column(name).region for name in COLUMNS]
        assert regions[0].x < regions[1].x < regions[2].x and len({r.y for r in regions}) == 1  # side by side
        assert not app.tabs.display
        await pilot.press("3")  # the keys still move between columns; none is hidden
        await until(pilot, lambda: app.focused is app.column("completed"), "3 to focus completed")
        assert all(shown(app, name) for name in COLUMNS)

    drive(app, scenario, WIDE)


def test_a_resize_across_the_breakpoint_changes_the_layout_and_the_footer(server):
    loaded(server)
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await ready(pilot, app)
        assert "c" not in visible_footer_keys(app)
        await pilot.press("3")
        await pilot.resize_terminal(WIDE_FROM, 30)
        await until(pilot, lambda: all(shown(app, name) for name in COLUMNS), "three columns")
        await until(pilot, lambda: "c" in visible_footer_keys(app), "the whole footer")
        assert app.focused is app.column("completed")
        await pilot.resize_terminal(WIDE_FROM - 1, 30)
        await until(pilot, lambda: [n for n in COLUMNS if shown(app, n)] == ["completed"], "the shown column kept")
        await until(pilot, lambda: "c" not in visible_footer_keys(app), "the narrow footer")

    drive(app, scenario, NARROW)


# ---------------------------------------------------------------- header


def test_the_unauthorized_header_keeps_its_remedy_at_80_columns(start_server):
    server = start_server(api_token="t")
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: app.connection.state == "unauthorized", "the refusal")
        await until(pilot, lambda: app.connection.region.height >= 2, "the bar to wrap")
        lines = screen_lines(app)[: app.connection.region.height]
        assert all(len(line) <= NARROW[0] for line in lines)
        said = " ".join(line.strip() for line in lines)
        assert "unauthorized" in said and "missing or wrong token" in said
        assert "pass --token or set PROGRESSISTA_API_TOKEN; r retries" in said  # the remedy, whole
        assert "…" not in said
        await until(pilot, lambda: app.terminal_title.startswith("⚠ "), "the title to say the feed is down")

    drive(app, scenario, NARROW)


def test_a_connected_header_fits_80_columns(server):
    loaded(server)
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await ready(pilot, app)
        assert app.connection.region.height == 1
        header = screen_lines(app)[0]
        assert "● connected" in header and "last message" in header and "…" not in header

    drive(app, scenario, NARROW)


# ---------------------------------------------------------------- title


def test_the_terminal_title_holds_the_counts_and_never_task_text(server):
    loaded(server)
    app = watch(server)
    written: list[str] = []

    async def scenario(pilot: Pilot[None]) -> None:
        await ready(pilot, app)
        assert app.terminal_title == app.title == "(1 failed) 2 active · Progressista"
        assert app._driver is not None
        app._driver.write = written.append  # type: ignore[method-assign]  # the headless driver writes nothing
        server.post([event(HOSTILE_ID, desc=ESCAPES), event("late", "error", desc=ESCAPES)])
        expected = "(2 failed) 3 active · Progressista"
        await until(pilot, lambda: app.terminal_title == expected, "the new counts")
        assert osc_title(expected) in written

    drive(app, scenario, WIDE)
    # The recorder sees the screen's repaints too (task text shown escaped); the titles are their own writes.
    titles = [chunk for chunk in written if "\x1b]0;" in chunk]
    assert titles and all(chunk == osc_title(chunk[4:-1]) and chunk.count("\x1b") == 1 for chunk in titles)
    assert not any("pwned" in chunk or "evil" in chunk for chunk in titles)
    assert POP_TITLE in written[written.index(titles[-1]) :]  # the terminal's own title back at exit
    assert PUSH_TITLE not in written  # saved once, at start (before the recorder)


# ---------------------------------------------------------------- screens


def test_the_screen_at_80x24_is_one_column_under_a_tab_bar(server):
    loaded(server)
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await ready(pilot, app)
        lines = screen_lines(app)
        assert len(lines) == 24 and all(len(line) == 80 for line in lines)
        assert lines[0].startswith(" Progressista ") and "● connected" in lines[0]
        tabs = lines[1]
        assert tabs.index("1 Active 2") < tabs.index("2 Needs attention 0") < tabs.index("3 Completed 2")
        board = lines[2:-1]
        assert not any("▕" in line for line in board)  # no column borders: one column
        assert not any("Completed" in line or "Nothing needs attention" in line for line in board)
        assert sum(LONG["train"] in line for line in board) == 1 and any("Second active task" in line for line in board)
        assert any("━" in line and "30%" in line for line in board)  # the bar, full width
        footer = lines[-1]
        for words in ("? Help", "←→ Column", "d Discard", "/ Filter", "a Alerts", "q Quit"):
            assert words in footer
        assert not footer.rstrip().endswith(("…", "Clear comple"))

    drive(app, scenario, NARROW)


def test_the_screen_at_200x50_is_three_columns_side_by_side(server):
    loaded(server)
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await ready(pilot, app)
        lines = screen_lines(app)
        assert len(lines) == 50 and all(len(line) == 200 for line in lines)
        assert lines[0].startswith(" Progressista ") and "● connected" in lines[0]
        headers = lines[1]
        assert headers.index("Active  2") < headers.index("Needs attention  0") < headers.index("Completed  2")
        assert "1 Active" not in headers  # no tab bar
        board = lines[2:-1]
        assert sum("▕" in line for line in board) == len(board)  # the column borders run down the board
        active, completed = ("Second active task", LONG["train"]), (LONG["crash"], LONG["done"])
        assert any(any(a in line for a in active) and any(c in line for c in completed) for line in board)  # one line
        assert any("Nothing needs attention" in line for line in board)
        footer = lines[-1]
        for binding in all_bindings():
            if binding.show:
                assert binding.description in footer
        assert app.export_screenshot().count("Progressista") >= 1  # the SVG export draws the same screen

    drive(app, scenario, WIDE)
