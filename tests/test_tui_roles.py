"""`progressista watch` and token roles (issue 17), through Textual's pilot against a real server.

A ``read`` token gets no discard or clear keys and "read-only" in the header; an
``admin`` token, an open server and a server older than ``GET /access`` keep them;
an ``ingest`` token is refused the feed, and the header says which token watching needs.
"""

from __future__ import annotations

from typing import Any

import pytest
import support
from starlette.responses import JSONResponse
from support import LiveServer
from textual.pilot import Pilot
from textual.widgets import Input
from tui_support import drive, event, footer_keys, until, watch

from progressista.api import ApiError, ProgressistaApi
from progressista.tui.app import WatchApp
from progressista.tui.widgets import ConfirmScreen

TOKENS = ["read:READ", "admin:ADMIN", "ingest:INGEST"]
DELETING = {"Discard", "Clear completed", "Clear attention"}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, int]]:
    """Every REST request the dashboard makes: ``(method, url, status)`` (status 0: no answer)."""
    calls: list[tuple[str, str, int]] = []
    request = ProgressistaApi._request

    def recording(api: ProgressistaApi, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            answer = request(api, method, url, **kwargs)
        except ApiError as exc:
            calls.append((method, url, exc.status_code or 0))
            raise
        calls.append((method, url, 200))
        return answer

    monkeypatch.setattr(ProgressistaApi, "_request", recording)
    return calls


def role_server(start_server: Any) -> LiveServer:
    server = start_server(api_tokens=TOKENS)
    server.http.headers["Authorization"] = "Bearer ADMIN"
    assert server.post([event("job"), event("done", "close")]).status_code == 200
    return server


def header(app: WatchApp) -> str:
    """The header line as drawn (cut to the screen's width), not the whole text."""
    return app.connection.render_line(0).text


async def shown(pilot: Pilot[None], app: WatchApp) -> None:
    await until(pilot, lambda: app.column("active").task_ids == ["job"], "the active task")
    await until(pilot, lambda: app.column("completed").task_ids == ["done"], "the completed task")
    await until(pilot, lambda: app.can is not None, "the answer of GET /access")
    await until(pilot, lambda: "Filter" in footer_keys(app), "the footer")


async def pressed_in_order(pilot: Pilot[None], app: WatchApp, *keys: str) -> None:
    """Press ``keys``, then ``/``: once the filter opens, every key before it has been handled."""
    await pilot.press(*keys, "slash")
    await until(pilot, lambda: app.query_one("#filter", Input).has_class("-visible"), "the filter to open")
    await pilot.press("escape")


def test_a_read_token_gets_no_discard_or_clear_keys_and_says_read_only(start_server, sent):
    server = role_server(start_server)
    app = watch(server, token="READ")

    async def scenario(pilot: Pilot[None]) -> None:
        await shown(pilot, app)
        assert app.can == {"read"}
        # One look at the footer for both: it is composed again when the keys on offer change, and empty meanwhile.
        reading = {"Fold all", "Filter", "Reconnect", "Quit"}
        await until(
            pilot,
            lambda: reading <= (keys := footer_keys(app)) and not DELETING & keys,
            "the footer to keep the reading keys and drop the deleting ones",
        )
        assert "read-only" in header(app) and "connected" in header(app)

        await pressed_in_order(pilot, app, "d", "c", "s")
        assert not isinstance(app.screen, ConfirmScreen), "no confirmation was asked"
        assert not [worker for worker in app.workers if worker.group == "api"], "no discard or clear started"
        await pressed_in_order(pilot, app, "right", "right", "d")  # on the completed column too
        assert [method for method, _, _ in sent] == ["GET"] * len(sent), sent
        assert any(url.endswith("/access") and status == 200 for _, url, status in sent)
        assert set(server.tasks()) == {"job", "done"}

    drive(app, scenario)


@pytest.mark.parametrize("token", ["ADMIN", None], ids=["admin token", "open server"])
def test_an_admin_token_or_an_open_server_keeps_the_keys_and_discards(start_server, sent, token):
    """The negative control: the same keys delete, as before roles."""
    if token:
        server = role_server(start_server)
    else:
        server = start_server()
        assert server.post([event("job"), event("done", "close")]).status_code == 200
    app = watch(server, token=token)

    async def scenario(pilot: Pilot[None]) -> None:
        await shown(pilot, app)
        assert app.can == {"ingest", "read", "admin"}
        await until(pilot, lambda: DELETING <= footer_keys(app), "the deleting keys in the footer")
        assert "read-only" not in header(app) and "connected" in header(app)
        await pilot.press("d")
        await until(pilot, lambda: set(server.tasks()) == {"done"}, "the discard to reach the server")
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: server.tasks() == {}, "the clear to reach the server")
        assert [method for method, _, _ in sent].count("DELETE") == 2

    drive(app, scenario)


def test_a_server_without_access_is_watched_as_before(monkeypatch, start_server, sent):
    """A server older than roles answers ``GET /access`` with 404: every key stays, and works."""
    create_app = support.create_app

    def older(settings: Any) -> Any:
        app = create_app(settings)

        async def without_access(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope["path"] == "/access":
                await JSONResponse({"detail": "Not Found"}, status_code=404)(scope, receive, send)
            else:
                await app(scope, receive, send)

        return without_access

    monkeypatch.setattr(support, "create_app", older)
    server = start_server()
    assert server.http.get(server.url + "/access", timeout=5).status_code == 404
    assert server.post([event("job"), event("done", "close")]).status_code == 200
    app = watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: app.column("active").task_ids == ["job"], "the active task")
        await until(pilot, lambda: any(url.endswith("/access") for _, url, _ in sent), "the ask of GET /access")
        assert [status for _, url, status in sent if url.endswith("/access")][0] == 404
        assert app.can is None
        await until(pilot, lambda: DELETING <= footer_keys(app), "the deleting keys")
        assert "read-only" not in header(app)
        await pilot.press("d")
        await until(pilot, lambda: set(server.tasks()) == {"done"}, "the discard to reach the server")

    drive(app, scenario)


def test_an_ingest_token_is_told_watching_needs_a_read_or_admin_token(start_server):
    server = role_server(start_server)
    app = watch(server, token="INGEST")

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: app.connection.state == "unauthorized", "the refusal")
        refusal = "this token can only report progress; the live feed needs a read or admin token"
        assert "unauthorized" in header(app) and refusal in header(app)  # drawn, within the screen's width
        await until(pilot, lambda: any(refusal in note.message for note in app._notifications), "the notice")
        await until(pilot, lambda: app.can == {"ingest"}, "the answer of GET /access")
        await until(pilot, lambda: not DELETING & footer_keys(app), "the footer to drop the deleting keys")
        assert "read-only" not in header(app)  # it cannot read either: the refusal says what it can do
        assert app.board.tasks == {}

    drive(app, scenario)
