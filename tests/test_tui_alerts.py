"""`progressista watch` and alerts (issue 16): the header's latest alert and the ``a`` screen, through
Textual's pilot against a real server whose rules notify a real webhook receiver (``tests/receiver.py``).

Every wait is on a condition: first that the server holds the alert record
(``GET /alerts``, nothing left to send), then that the header or the screen shows it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import support
from hostile_text import SHOWN_HOSTILE_ID
from receiver import Receiver, receiving
from rich.style import Style
from starlette.responses import JSONResponse
from support import LiveServer, wait_until
from textual.pilot import Pilot
from tui_support import drive, event, footer_keys, offline, until, watch

from progressista.tui.alerts import AlertsScreen
from progressista.tui.app import WatchApp

pytestmark = pytest.mark.timeout(120)

HOSTILE_ID = "term:\x1b]0;id\x07\u202e"  # hostile_text.HOSTILE_ID: an OSC title sequence and a right-to-left override


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as found:
        yield found


def rules_file(path: Path, *rules: dict[str, Any]) -> Path:
    """An alerts file of ``rules`` (TOML: strings, lists of strings and numbers, as JSON writes them)."""
    lines = []
    for rule in rules:
        lines += ["[[rule]]", *(f"{key} = {json.dumps(value)}" for key, value in rule.items()), ""]
    path.write_text("\n".join(lines))
    return path


def header(app: WatchApp) -> str:
    """The header line as drawn (cut to the screen's width)."""
    return app.connection.render_line(0).text


def alert_style(app: WatchApp) -> Style:
    """The style the header draws its alert segment (from the flag ``⚑`` on) with."""
    text = app.connection.render()
    start = text.plain.index("⚑")
    [style] = {text.get_style_at_offset(app.console, offset) for offset in range(start, start + 3)}
    return style


def tone(app: WatchApp, name: str) -> Style:
    return app.connection.get_component_rich_style(f"connection-bar--alert-{name}")


async def recorded(server: LiveServer, count: int) -> list[dict[str, Any]]:
    """The alert records, once the server holds ``count`` and has nothing left to send (asked off the app's loop)."""

    def ready() -> list[dict[str, Any]] | None:
        answer = server.http.get(server.url + "/alerts", timeout=5).json()
        return answer["alerts"] if answer["pending"] == 0 and len(answer["alerts"]) >= count else None

    records: list[dict[str, Any]] = await asyncio.to_thread(wait_until, ready, 30, 0.02, f"{count} alert records")
    return records


async def opened(pilot: Pilot[None], app: WatchApp, count: int = 0) -> AlertsScreen:
    """Press ``a``; the screen once it lists ``count`` alerts."""
    await pilot.press("a")
    await until(pilot, lambda: isinstance(app.screen, AlertsScreen) and app.screen.listed, "the alerts screen")
    screen = app.screen
    assert isinstance(screen, AlertsScreen)
    await until(pilot, lambda: len(screen.rows()) == count, f"{count} alerts listed")
    return screen


async def closed(pilot: Pilot[None], app: WatchApp) -> None:
    await pilot.press("escape")
    await until(pilot, lambda: not isinstance(app.screen, AlertsScreen), "the alerts screen to close")


def test_the_screen_lists_what_the_app_holds_as_soon_as_it_opens():
    """No answer from a server needed: the records the app already holds are listed on opening
    (before, the screen stayed empty until the next answer, up to 30 s later)."""
    app = offline()
    app.alerts, app.alert_rules, app.alerts_answered = [{"state": "error", "subject": "etl:load", "rule": "r"}], 1, True

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AlertsScreen) and app.screen.is_mounted, "the screen")
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        await until(pilot, lambda: screen.listed, "the records listed", timeout=5)
        [row] = screen.rows()
        assert "error" in row and "etl:load" in row

    drive(app, scenario)


def test_a_server_without_rules_shows_no_alert(start_server):
    """The negative control: an error, and no rule to alert on it: no segment, no notice, and ``a`` says why."""
    server = start_server()
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: app.alerts_answered, "the answer of GET /alerts")
        assert server.post([event("nightly:load"), event("nightly:load", "error", meta={"error": "boom"})]).ok
        await until(pilot, lambda: app.column("completed").task_ids == ["nightly:load"], "the failed task")
        assert (app.alert_rules, app.alerts) == (0, [])
        assert app.connection.alert is None
        assert "⚑" not in header(app) and "connected" in header(app)
        # The footer is composed again when the keys on offer change: its keys, once it has drawn them.
        await until(pilot, lambda: "Alerts" in footer_keys(app), "the Alerts key in the footer")
        screen = await opened(pilot, app)
        assert "no rules" in screen.title_text and screen.rows() == []
        await pilot.press("d", "c")  # the board's keys do nothing behind the list
        await closed(pilot, app)
        assert set(server.tasks()) == {"nightly:load"} and not [w for w in app.workers if w.group == "api"]
        await until(pilot, lambda: {"Discard", "Alerts"} <= footer_keys(app), "the board's keys back in the footer")
        assert not app._notifications, "no error noise"

    drive(app, scenario)


def test_an_error_shows_in_the_header_and_the_alerts_screen_lists_its_targets(start_server, tmp_path, receiver):
    receiver.status["/down"] = 500
    rules = rules_file(
        tmp_path / "alerts.toml",
        {"name": "failures", "on": ["error"], "notify": [receiver.url("/up"), receiver.url("/down")]},
        {"name": "endings", "on": ["close"], "notify": [receiver.url("/up")]},
    )
    server = start_server(alerts_file=rules, alerts_retry_seconds=0.05)
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: app.alerts_answered and app.connection.state == "connected", "the first answer")
        assert (app.alert_rules, app.alerts) == (2, [])
        assert "⚑" not in header(app), "no alert yet: no segment"

        assert server.post([event("nightly:load"), event("nightly:load", "error", meta={"error": "boom"})]).ok
        [record] = await recorded(server, 1)
        assert (record["state"], record["subject"]) == ("error", "nightly:load")
        await until(pilot, lambda: "⚑ error: nightly:load" in header(app), "the alert in the header")
        assert "(1 today)" in header(app) and "connected" in header(app)
        assert alert_style(app) == tone(app, "bad") != tone(app, "good")

        screen = await opened(pilot, app, 1)
        [row] = screen.rows()
        assert "error" in row and "nightly:load" in row and "failures" in row
        where = f"json://127.0.0.1:{receiver.port}/…"
        assert f"{where} sent" in row
        assert f"{where} failed: " in row and "(3 tries)" in row, row
        await closed(pilot, app)

        # A second state change inside the debounce window still comes through, newest first, in green.
        assert server.post(event("nightly:report", "close")).ok
        await recorded(server, 2)
        await until(pilot, lambda: "⚑ close: nightly:report" in header(app), "the newer alert in the header")
        assert "(2 today)" in header(app)
        assert alert_style(app) == tone(app, "good")
        screen = await opened(pilot, app, 2)
        assert [row.split("  ")[1:4] for row in screen.rows()] == [
            ["close", "nightly:report", "endings"],
            ["error", "nightly:load", "failures"],
        ]
        await closed(pilot, app)
        assert len(receiver.at("/up")) == 2
        assert not app._notifications, "no error noise"

    drive(app, scenario)


def test_a_hostile_id_is_shown_escaped_in_the_header_and_the_screen(start_server, tmp_path, receiver):
    rules = rules_file(tmp_path / "alerts.toml", {"name": "failures", "on": ["error"], "notify": [receiver.url("/x")]})
    server = start_server(alerts_file=rules)
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: app.alerts_answered, "the answer of GET /alerts")
        assert server.post(event(HOSTILE_ID, "error")).ok
        [record] = await recorded(server, 1)
        assert record["subject"] == HOSTILE_ID  # the record keeps what was sent
        await until(pilot, lambda: SHOWN_HOSTILE_ID in header(app), "the escaped id in the header")
        assert f"⚑ error: {SHOWN_HOSTILE_ID}" in header(app)
        screen = await opened(pilot, app, 1)
        [row] = screen.rows()
        assert SHOWN_HOSTILE_ID in row
        for drawn in (header(app), app.connection.text, row):
            assert not {"\x1b", "\x07", "\u202e"} & set(drawn), repr(drawn)
        await closed(pilot, app)

    drive(app, scenario)


def test_a_server_older_than_alerts_shows_nothing_and_says_nothing(monkeypatch, start_server, receiver):
    """``GET /alerts`` answers 404: no segment, no notice, and ``a`` says the server does not send alerts."""
    create_app = support.create_app

    def older(settings: Any) -> Any:
        app = create_app(settings)

        async def without_alerts(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope["path"].startswith("/alerts"):
                await JSONResponse({"detail": "Not Found"}, status_code=404)(scope, receive, send)
            else:
                await app(scope, receive, send)

        return without_alerts

    monkeypatch.setattr(support, "create_app", older)
    server = start_server()
    assert server.http.get(server.url + "/alerts", timeout=5).status_code == 404
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: app.alerts_answered, "the answer of GET /alerts")
        assert server.post(event("job", "error")).ok
        await until(pilot, lambda: app.column("completed").task_ids == ["job"], "the failed task")
        assert app.alert_rules is None and app.connection.alert is None
        assert "⚑" not in header(app)
        screen = await opened(pilot, app)
        assert "does not send them" in screen.title_text and screen.rows() == []
        await closed(pilot, app)
        assert not app._notifications, "no error noise"

    drive(app, scenario)
