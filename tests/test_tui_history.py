"""`progressista watch` and history (issue 18): a card says how long its task usually takes, and marks
one that runs slower than usual, through Textual's pilot against a real server with a real SQLite history.

A key gets history once a run of it closes; the runs posted here close at once, so
their usual duration is a few milliseconds and a new run of the key is slower than
usual within a second: the tests wait on the card's text, never on fixed sleeps.
"""

from __future__ import annotations

from typing import Any

import pytest
from support import LiveServer, wait_until
from textual.pilot import Pilot
from tui_support import drive, until, watch

from progressista.cards import SLOW_MARK, SLOW_TONE, USUAL_LABEL, is_slow, task_row, usual_figure
from progressista.protocol.history import SLOW_FACTOR, USUAL_FIELD
from progressista.tui.app import WatchApp
from progressista.tui.rows import CARD_HEIGHT
from progressista.tui.task_list import TaskList

pytestmark = pytest.mark.timeout(120)

NOW = 1000.0


def running(**fields: Any) -> dict[str, Any]:
    """A running task, started 100 s before ``NOW``, that usually takes a minute."""
    return {
        "status": "update",
        "n": 40,
        "total": 100,
        "rate": 4.0,
        "elapsed": 100.0,
        "created_at": NOW - 100,
        "updated_at": NOW - 1,
        USUAL_FIELD: 60.0,
        **fields,
    }


# ---------------------------------------------------------------- the card's text, pure


def test_the_usual_duration_is_written_as_elapsed_and_eta_are():
    assert usual_figure({USUAL_FIELD: 743.2}) == "usual 12:23"
    assert usual_figure({USUAL_FIELD: 42}) == "usual 00:42"
    assert usual_figure({USUAL_FIELD: 3 * 86400}) == "usual 3d 0h"
    assert usual_figure({USUAL_FIELD: 0.004}) == "usual 00:00"  # a run that closed at once
    # Negative controls: no history, and values no server sends.
    for fields in ({}, {USUAL_FIELD: None}, {USUAL_FIELD: True}, {USUAL_FIELD: "60"}, {USUAL_FIELD: -1.0}):
        assert usual_figure(fields) == "", fields


def test_slower_than_usual_is_past_one_and_a_half_times_the_usual_and_only_while_open():
    task = running(created_at=NOW - SLOW_FACTOR * 60)
    assert not is_slow(task, NOW)  # exactly 1.5 times: not yet
    assert is_slow(task, NOW + 0.01)
    assert is_slow({**task, "status": "stale"}, NOW + 1) and is_slow({**task, "status": "start"}, NOW + 1)
    for status in ("close", "error", "lost"):
        assert not is_slow({**task, "status": status}, NOW + 1), status
    assert not is_slow({**task, USUAL_FIELD: True}, NOW + 1)  # a bool is no duration
    assert not is_slow({key: value for key, value in task.items() if key != USUAL_FIELD}, NOW + 1)


def test_a_card_says_usual_beside_its_eta_and_marks_slower_than_usual_in_a_tone_of_its_own():
    usual = task_row("nightly-2:load", running(created_at=NOW - 60), NOW)  # as long as usual: not slow
    assert usual.plain[2] == "▍ 40/100 it · 4.00 it/s · ETA 00:15 · usual 01:00 · 01:40 elapsed"
    assert usual.lead == ("▍ ", "gutter-active") and usual.bar == "bar-done"
    assert SLOW_MARK not in "\n".join(usual.plain)

    slow = task_row("nightly-2:load", running(), NOW)  # 100 s of a usual 60: past 90
    assert slow.plain[2] == "▍ 40/100 it · 4.00 it/s · ETA 00:15 · usual 01:00 · slower than usual · 01:40 elapsed"
    assert (SLOW_MARK, SLOW_TONE) in slow.numbers
    assert slow.lead == ("▍ ", "gutter-slow") and slow.bar == "gutter-slow"

    # A stale card keeps the colour that says it needs a look, with the mark still said.
    stale = task_row("nightly-2:load", running(status="stale"), NOW)
    assert stale.lead == ("▍ ", "gutter-stale") and (SLOW_MARK, SLOW_TONE) in stale.numbers
    assert "idle 1s · usual 01:00 · slower than usual" in stale.plain[2]

    # Negative controls: no history, no usual and no mark; a closed run is no longer slow.
    plain = task_row("other-1:thing", running(**{USUAL_FIELD: None}), NOW)
    assert USUAL_LABEL.strip() not in "\n".join(plain.plain) and plain.lead[1] == "gutter-active"
    closed = task_row("nightly-2:load", running(status="close"), NOW)
    assert SLOW_MARK not in "\n".join(closed.plain) and closed.lead[1] == "gutter-done"


# ---------------------------------------------------------------- the dashboard, live


def one_run(server: LiveServer, task_id: str) -> None:
    """A run of ``task_id`` that opens and closes at once, recorded once ``GET /history`` lists it."""
    assert server.post({"task_id": task_id, "n": 0, "total": 10}).ok
    assert server.post({"task_id": task_id, "n": 10, "status": "close"}).ok

    def listed() -> bool:
        answer = server.http.get(server.url + "/history", params={"key": "nightly:load"}, timeout=5).json()
        return any(run["task_id"] == task_id for run in answer["runs"])

    wait_until(listed, what=f"{task_id} in the history")


def painted(tasks: TaskList, key: tuple[str, str]) -> list[str]:
    """The row's lines as drawn on screen (the cached strips, not a fresh build); [] when not on show."""
    rows = [(item.kind, item.key) for item in tasks.items]
    if key not in rows:
        return []
    start = rows.index(key) * CARD_HEIGHT - tasks.scroll_offset.y
    return [tasks.render_line(start + offset).text.rstrip() for offset in range(CARD_HEIGHT - 1)]


def colour(tasks: TaskList, name: str) -> Any:
    return tasks.get_component_rich_style(f"task-list--{name}").color


def gutter(tasks: TaskList, key: tuple[str, str]) -> set[Any]:
    """The colours the row's gutter (``▍``) is drawn in, on each of its lines."""
    rows = [(item.kind, item.key) for item in tasks.items]
    start = rows.index(key) * CARD_HEIGHT - tasks.scroll_offset.y
    return {
        segment.style.color
        for offset in range(CARD_HEIGHT - 1)
        for segment in tasks.render_line(start + offset)
        if "▍" in segment.text and segment.style is not None
    }


def card_text(app: WatchApp, column: str, task_id: str) -> str:
    return "\n".join(painted(app.column(column), ("task", task_id)))


def test_a_card_with_history_says_usual_turns_slower_than_usual_and_loses_the_mark_when_it_closes(
    start_server, tmp_path
):
    server = start_server(history_path=tmp_path / "h.sqlite")
    one_run(server, "nightly-1:load")
    app = watch(server)
    active = app.column("active")

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: "nightly-1:load" in app.column("completed").task_ids, "the recorded run")
        assert server.post(
            [{"task_id": "nightly-2:load", "n": 3, "total": 10}, {"task_id": "other-1:thing", "n": 3, "total": 10}]
        ).ok
        assert USUAL_FIELD in server.tasks()["nightly-2:load"] and USUAL_FIELD not in server.tasks()["other-1:thing"]
        await until(pilot, lambda: "usual 00:00" in card_text(app, "active", "nightly-2:load"), "usual on the card")
        # Its usual is milliseconds: within a second the card is slower than usual, without another event.
        await until(pilot, lambda: SLOW_MARK in card_text(app, "active", "nightly-2:load"), "the slow mark")
        text = card_text(app, "active", "nightly-2:load")
        assert "3/10 it · usual 00:00 · slower than usual" in text, text
        slow = colour(active, "gutter-slow")
        others = {colour(active, f"gutter-{name}") for name in ("active", "stale", "lost", "error", "done")}
        assert slow not in others and len(others) == 5 and colour(active, "slow") == slow
        assert gutter(active, ("task", "nightly-2:load")) == {slow}

        # Negative controls: a task without history says no usual and keeps the running colour...
        other = card_text(app, "active", "other-1:thing")
        assert other and "usual" not in other and SLOW_MARK not in other, other
        assert gutter(active, ("task", "other-1:thing")) == {colour(active, "gutter-active")}
        # ... and the closed run of the key says neither.
        assert "usual" not in card_text(app, "completed", "nightly-1:load")

        # It closes: done, not slow, its usual gone with the open task's field.
        assert server.post({"task_id": "nightly-2:load", "n": 10, "status": "close"}).ok
        await until(pilot, lambda: "nightly-2:load" in app.column("completed").task_ids, "the closed run")
        done = card_text(app, "completed", "nightly-2:load")
        assert done.startswith("  ▍ ✓") and SLOW_MARK not in done and "usual" not in done, done
        completed = app.column("completed")
        assert gutter(completed, ("task", "nightly-2:load")) == {colour(completed, "gutter-done")}

    drive(app, scenario)


def test_a_card_turns_slower_than_usual_on_the_tick_without_an_event(start_server, tmp_path):
    """The mark comes with the clock: the card painted before is repainted by the tick alone.

    The dashboard's clock is frozen, then set forward once: its age reads "just now" at both
    times, so only the slow mark can make the painted card change.
    """
    server = start_server(history_path=tmp_path / "h.sqlite")
    one_run(server, "nightly-1:load")
    assert server.post({"task_id": "nightly-2:load", "n": 3, "total": 10}).ok
    task = server.tasks()["nightly-2:load"]
    started, usual = task["created_at"], task[USUAL_FIELD]
    assert usual < 0.5, "a run that closed at once"
    now = [started - 10.0]  # before the run started: not slow
    app = watch(server, clock=lambda: now[0])
    active = app.column("active")

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: "usual 00:00" in card_text(app, "active", "nightly-2:load"), "usual on the card")
        assert SLOW_MARK not in card_text(app, "active", "nightly-2:load")
        assert gutter(active, ("task", "nightly-2:load")) == {colour(active, "gutter-active")}
        messages = app.stats.messages
        now[0] = started + max(1.0, 2 * SLOW_FACTOR * usual)  # past 1.5 times the usual, still "just now"
        assert is_slow(app.board.tasks["nightly-2:load"], now[0])
        await until(pilot, lambda: SLOW_MARK in card_text(app, "active", "nightly-2:load"), "the mark on the tick")
        assert "just now" in card_text(app, "active", "nightly-2:load")
        assert gutter(active, ("task", "nightly-2:load")) == {colour(active, "gutter-slow")}
        assert app.stats.messages == messages, "no event brought the mark"

    drive(app, scenario)
