"""`progressista watch`: options reach the app factory; bad URLs and a missing extra are one-line errors;
a dashboard that crashes exits non-zero."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from tui_support import drive, until
from tui_support import watch as tui_watch
from typer.testing import CliRunner

import progressista.tui.app
from progressista.cli import app
from progressista.tui.task_list import TaskList


class FakeApp:
    return_code = 0

    def __init__(self, calls: list[Any], url: str, token: str | None) -> None:
        calls.append((url, token))

    def run(self) -> None:
        pass


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    made: list[Any] = []
    monkeypatch.setattr(progressista.tui.app, "create_app", lambda url, token: FakeApp(made, url, token))
    return made


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(app, ["watch", *args], env=env, catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def test_url_and_token_options(calls):
    assert invoke("--url", "http://host:9000", "--token", "t").exit_code == 0
    assert calls == [("http://host:9000", "t")]


def test_defaults_come_from_the_environment(calls):
    env = {"PROGRESSISTA_SERVER_URL": "https://progress.example.com/progress", "PROGRESSISTA_API_TOKEN": "env"}
    assert invoke(env=env).exit_code == 0
    assert invoke("--token", "flag", env=env).exit_code == 0
    url = "https://progress.example.com/progress"
    assert calls == [(url, "env"), (url, "flag")]


def test_without_settings_it_watches_localhost(calls):
    assert invoke().exit_code == 0
    assert calls == [("http://localhost:8000/progress", None)]


def test_a_token_in_the_url_is_used(calls):
    assert invoke("--url", "wss://host/ws?token=abc").exit_code == 0
    assert calls == [("wss://host/ws?token=abc", "abc")]


def test_a_url_naming_no_server_is_a_usage_error(calls):
    result = invoke("--url", "ftp://host")
    assert result.exit_code == 2 and result.stderr.startswith("Error: --url: unsupported URL scheme")
    assert calls == []


def test_missing_tui_extra_names_it(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "progressista.tui.app", None)  # import now raises ImportError
    result = invoke("--url", "http://host")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: watch needs the terminal UI extra: pip install 'progressista[tui]'")
    assert result.stderr.count("\n") == 1


class Dashboard(App[None]):
    """A real Textual app, run headless, that quits or crashes as soon as it is up."""

    def __init__(self, crash: bool) -> None:
        super().__init__()
        self.crash = crash

    def on_mount(self) -> None:
        if self.crash:
            raise RuntimeError("boom in the dashboard")
        self.exit()

    def run(self, **options: Any) -> None:
        super().run(headless=True, **options)


@pytest.mark.parametrize("crash", [True, False])
def test_a_crashed_dashboard_exits_non_zero(monkeypatch: pytest.MonkeyPatch, crash: bool):
    """Found by the adversarial pass (issue 23): the dashboard crashed and watch exited 0."""
    monkeypatch.setattr(progressista.tui.app, "create_app", lambda url, token: Dashboard(crash))
    result = CliRunner().invoke(app, ["watch", "--url", "http://127.0.0.1:1"], catch_exceptions=False)
    if crash:
        assert result.exit_code == 1
        assert "RuntimeError: boom in the dashboard" in result.stderr  # Textual's own report
        assert result.stderr.endswith("Error: watch stopped on an unexpected error (its traceback is above)\n")
    else:  # the negative control: a quit is a clean exit
        assert result.exit_code == 0 and "Error" not in result.stderr


def test_numbers_at_the_float_limit_do_not_crash_the_dashboard(server):
    """Found by the adversarial pass (issue 23): two tasks with n = 2**1023 crashed watch.

    Their group's sum passes the float range (shown as unknown); each card's figures
    go past what ``Decimal.quantize`` takes (written as JavaScript writes them).
    """
    huge = 2**1023
    events = [{"task_id": f"big:{k}", "n": huge, "total": huge, "rate": 1e-300} for k in range(2)]
    assert server.post([*events, {"task_id": "far", "n": 1e40, "rate": 1.7e308}]).status_code == 200
    app = tui_watch(server)

    async def scenario(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: set(app.board.tasks) == {"big:0", "big:1", "far"}, "the tasks")
        for _ in range(5):  # a few layouts of the figures
            await pilot.pause(0.06)
        assert app.return_code is None, "the dashboard stopped"
        shown = "\n".join(
            column.render_line(y).text for column in app.query(TaskList) for y in range(column.size.height)
        )
        assert "8.988465674311577e+289E" in shown and "1e+22E it" in shown

    drive(app, scenario)
