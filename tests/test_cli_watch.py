"""`progressista watch`: options reach the app factory; bad URLs and a missing extra are one-line errors."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from typer.testing import CliRunner

import progressista.tui.app
from progressista.cli import app


class FakeApp:
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
