"""One phrasing per failure across the CLI: unreachable server, missing or refused token, not found, plurals."""

from __future__ import annotations

from typing import Any

import pytest
from clientkit import CLI, client_env, run
from support import LiveServer, free_port
from typer.testing import CliRunner

from progressista.cli import app

#: The commands that talk to a server, each with what it needs besides --url and --token.
REMOTE = [
    ("tasks", "ls"),
    ("tasks", "ls", "--json"),
    ("tasks", "rm", "x"),
    ("history",),
    ("alerts", "ls"),
    ("alerts", "test"),
]
UNREACHABLE = "connection refused: is the server running?"


def invoke(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"}, catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def only_line(result: Any) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("command", REMOTE, ids=" ".join)
def test_an_unreachable_server_reads_the_same_everywhere(command):
    url = f"http://127.0.0.1:{free_port()}"
    result = invoke(*command, "--url", url)
    assert result.exit_code == 3
    assert only_line(result) == f"Error: cannot reach {url} ({UNREACHABLE})"


def test_wait_says_it_the_same_way():
    url = f"http://127.0.0.1:{free_port()}"
    done = run([*CLI, "wait", "x", "--url", url, "--timeout", "0.5"], client_env(None))
    assert done.returncode == 3
    assert done.stderr.strip().splitlines()[-1] == f"Error: cannot reach {url} ({UNREACHABLE}; tried for 0.5 s)"


def test_an_unknown_host_names_the_host_problem():
    result = invoke("tasks", "ls", "--url", "http://no-such-host.invalid:8000")
    assert result.exit_code == 3
    assert only_line(result).startswith("Error: cannot reach http://no-such-host.invalid:8000 (cannot resolve the host")
    assert "ConnectionError" not in result.stderr


@pytest.mark.parametrize("command", [c for c in REMOTE if c[0] != "alerts"], ids=" ".join)
def test_a_missing_or_refused_token_reads_the_same_everywhere(start_server, command):
    server: LiveServer = start_server(api_token="t")
    missing = invoke(*command, "--url", server.url)
    assert missing.exit_code == 4
    assert only_line(missing) == (
        "Error: the server needs a token (HTTP 401); pass --token or set PROGRESSISTA_API_TOKEN"
    )
    wrong = invoke(*command, "--url", server.url, "--token", "nope")
    assert wrong.exit_code == 4
    assert only_line(wrong) == (
        "Error: the server refused the token (HTTP 401); check --token or PROGRESSISTA_API_TOKEN"
    )


def test_wait_words_a_refused_token_the_same_way(start_server):
    server: LiveServer = start_server(api_token="t")
    done = run([*CLI, "wait", "x", "--url", server.url, "--token", "nope", "--timeout", "5"], client_env(None))
    assert done.returncode == 4
    assert done.stderr.strip().startswith("Error: the server refused the token (")
    assert done.stderr.strip().endswith("); check --token or PROGRESSISTA_API_TOKEN")


def test_a_token_of_another_role_names_the_role_needed(start_server):
    server: LiveServer = start_server(api_tokens=["read:r"])
    result = invoke("tasks", "rm", "--all", "--yes", "--url", server.url, "--token", "r")
    assert result.exit_code == 4
    line = only_line(result)
    assert line.startswith("Error: this token can only read") and line.endswith(
        "(HTTP 403); pass --token with a token that may"
    )


def test_a_missing_task_is_not_found(server):
    result = invoke("tasks", "rm", "nope", "--url", server.url)
    assert result.exit_code == 5 and only_line(result) == "Error: no task 'nope'"


@pytest.mark.parametrize(
    ("tasks", "status", "title"),
    [
        (1, "active,attention", "1 active or attention task on "),
        (2, "active,attention", "2 active or attention tasks on "),
        (1, "active", "1 active task on "),
        (2, None, "2 tasks on "),
    ],
)
def test_the_listing_title_reads_as_english(server, tasks, status, title):
    server.post([{"task_id": f"t{i}", "status": "update", "n": 1, "total": 2} for i in range(tasks)])
    result = invoke("tasks", "ls", *(["--status", status] if status else []), "--url", server.url)
    assert result.exit_code == 0 and title + server.url in result.stdout, result.stdout
    assert "active,attention" not in result.stdout


def test_an_empty_listing_reads_as_english(server):
    result = invoke("tasks", "ls", "--status", "stale,lost", "--url", server.url)
    assert result.stdout == "No stale or lost tasks.\n"
