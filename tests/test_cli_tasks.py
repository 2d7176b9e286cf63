"""`progressista tasks ls` and `progressista tasks rm` against a real server: every option and error."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from clientkit import CLI
from support import LiveServer, free_port, wait_until
from terminal_support import Terminal
from typer.testing import CliRunner

from progressista.board import newest_first
from progressista.cli import app
from progressista.cli import tasks as tasks_cli
from progressista.cli.task_table import HEADERS, STATUS_STYLES, task_table

WIDE = {"COLUMNS": "160"}


def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(app, list(args), input=input, env={**WIDE, **(env or {})}, catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def event(task_id: str, status: str = "update", **fields: Any) -> dict[str, Any]:
    return {"task_id": task_id, "status": status, "n": 3, "total": 10, **fields}


def one_line_error(result: Any, code: int, *fragments: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


@pytest.fixture
def secured(start_server) -> LiveServer:
    server = start_server(api_token="t")
    server.http.headers["Authorization"] = "Bearer t"
    return server


# ---------------------------------------------------------------- ls


def test_ls_shows_a_table_newest_first(server):
    server.post(event("older", "close", desc="Finished job", n=10))
    server.post(event("etl:extract", desc="Extracting rows", n=420, total=1000, rate=35.0, unit="rows"))
    server.post(event("broken", "error", desc="Crashed"))
    result = invoke("tasks", "ls", "--url", server.url)
    assert result.exit_code == 0, result.stdout
    out = result.stdout
    assert out.index("broken") < out.index("etl:extract") < out.index("older")
    assert "3 tasks on " + server.url in out
    for header in ("Status", "Description", "Progress", "Done", "Rate", "ETA", "Updated", "Task ID"):
        assert header in out
    row = next(line for line in out.splitlines() if "etl:extract" in line)
    for cell in ("running", "Extracting rows", "42%", "420/1,000 rows", "35.0 rows/s", "00:17", "━"):
        assert cell in row, (cell, row)
    assert re.search(r"just now|\b\d+s ago", row), row  # "just now" unless the machine is slow
    assert "error" in next(line for line in out.splitlines() if "broken" in line)
    assert "done" in next(line for line in out.splitlines() if "older" in line)
    assert "\x1b[" not in out  # not a terminal: no colour codes


def test_ls_status_filters(server):
    server.post([event("run"), event("fin", "close"), event("bad", "error"), event("new", "start")])
    completed = invoke("tasks", "ls", "--status", "completed", "--url", server.url)
    assert "2 completed tasks" in completed.stdout
    assert "fin" in completed.stdout and "bad" in completed.stdout and "run " not in completed.stdout
    active = invoke("tasks", "ls", "--status", "start,error", "--url", server.url)
    assert {"new", "bad"} <= set(active.stdout.split()) and "fin" not in active.stdout.split()
    empty = invoke("tasks", "ls", "--status", "stale", "--url", server.url)
    assert empty.exit_code == 0 and empty.stdout == "No stale tasks.\n"


@pytest.fixture
def heartbeats(start_server):
    """A server where ``gone`` goes lost, ``idle`` stale (its heartbeat resends the same state) and ``alive`` runs."""
    server = start_server(stale_seconds=0.3, lost_seconds=0.6, cleanup_interval=0.05)
    server.post(
        [
            event("gone", desc="Vanished worker"),
            event("idle", desc="Waiting on a lock"),
            event("alive", desc="Busy", n=0, rate=5.0),
            event("fin", "close", desc="Finished"),
        ]
    )
    stop = threading.Event()

    def beat() -> None:
        step = 0
        while not stop.wait(0.05):
            step += 1
            server.post([event("idle", desc="Waiting on a lock"), event("alive", desc="Busy", n=step, rate=5.0)])

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    wait_until(
        lambda: (
            {t: task["status"] for t, task in server.tasks().items()}
            == {"gone": "lost", "idle": "stale", "alive": "update", "fin": "close"}
        ),
        10,
        what="lost and stale",
    )
    yield server
    stop.set()
    thread.join(5)


def test_ls_shows_lost_apart_from_stale_and_filters_them(heartbeats):
    server = heartbeats
    lost = invoke("tasks", "ls", "--status", "lost", "--url", server.url)
    assert lost.exit_code == 0 and "1 lost task on" in lost.stdout
    row = next(line for line in lost.stdout.splitlines() if "gone" in line)
    assert "⚠ lost" in row and "Vanished worker" in row and re.search(r"no contact \ds", row)
    assert "idle" not in lost.stdout.split() and "alive" not in lost.stdout
    attention = invoke("tasks", "ls", "--status", "attention", "--url", server.url)
    assert "2 attention tasks on" in attention.stdout
    idle = next(line for line in attention.stdout.splitlines() if "Waiting on a lock" in line)
    assert "stale" in idle and re.search(r"idle \ds", idle) and "lost" not in idle
    assert "⚠ lost" in attention.stdout and "alive" not in attention.stdout and "fin" not in attention.stdout
    both = invoke("tasks", "ls", "--status", "lost,close", "--json", "--url", server.url)
    assert sorted(json.loads(both.stdout)["tasks"]) == ["fin", "gone"]
    everything = invoke("tasks", "ls", "--url", server.url)
    assert all(word in everything.stdout for word in ("⚠ lost", "stale", "running", "done"))


def test_lost_has_a_colour_of_its_own_in_the_table(heartbeats):
    tasks = heartbeats.tasks()
    table = task_table(tasks, time.time(), width=160)
    order = newest_first(tasks)
    status = dict(zip(order, table.columns[0]._cells, strict=True))
    eta = dict(zip(order, table.columns[HEADERS.index("ETA")]._cells, strict=True))
    assert status["gone"].style == STATUS_STYLES["lost"] and status["gone"].plain == "⚠ lost"
    assert len({STATUS_STYLES[name] for name in ("lost", "stale", "error", "update")}) == 4
    assert status["idle"].style == STATUS_STYLES["stale"]
    assert eta["gone"].plain.startswith("no contact ") and eta["gone"].style == STATUS_STYLES["lost"]
    assert eta["alive"].plain.startswith("00:")


def test_ls_on_an_empty_server(server):
    result = invoke("tasks", "ls", "--url", server.url)
    assert result.exit_code == 0 and result.stdout == "No tasks.\n"


def test_ls_json_is_the_server_answer_without_markup(server):
    server.post([event("a", desc="[bold]not markup[/bold]"), event("b", "close")])
    result = invoke("tasks", "ls", "--json", "--url", server.url)
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout
    assert json.loads(result.stdout) == {"tasks": server.tasks()}
    closed = json.loads(invoke("tasks", "ls", "--json", "--status", "close", "--url", server.url).stdout)
    assert list(closed["tasks"]) == ["b"]


def test_ls_prints_task_text_as_text(server):
    server.post(event("[bold]id[/bold]", desc="[red]not red[/red]", unit="[i]u"))
    result = invoke("tasks", "ls", "--url", server.url)
    assert "[red]not red[/red]" in result.stdout and "[bold]id[/bold]" in result.stdout and "3/10 [i]u" in result.stdout


def test_ls_fits_80_columns_and_keeps_the_description(server):
    server.post(
        [
            event(
                "etl:extract",
                desc="A description that is long enough to be cut short",
                n=803_442,
                total=1_280_000,
                unit="B",
                rate=1.5e6,
            ),
            event("etl:load", "start", total=None),
        ]
    )
    fits = invoke("tasks", "ls", "--url", server.url, env={"COLUMNS": "80"})
    assert all(len(line) <= 80 for line in fits.stdout.splitlines()), fits.stdout
    assert re.search(r"A description t[^\n]*… ", fits.stdout) and "cut short" not in fits.stdout  # cut, not wrapped
    assert "803k/1.28M B" in fits.stdout and "62%" in fits.stdout and "Rate" not in fits.stdout
    assert "etl:extract" in fits.stdout and "prints ids whole" not in fits.stdout  # short ids: whole
    server.post(event("pipeline:extract-2024-shard7-of-the-yearly-backfill"))
    crowded = invoke("tasks", "ls", "--url", server.url, env={"COLUMNS": "80"})
    assert all(len(line) <= 80 for line in crowded.stdout.splitlines()), crowded.stdout
    assert "Description" in crowded.stdout and "A description" in crowded.stdout  # the id made room
    cut = next(line for line in crowded.stdout.splitlines() if "pipel" in line).split()[-1]
    assert cut.startswith("pipel") and cut.endswith("kfill") and len(cut) >= 12, cut  # cut in its middle
    assert "tasks ls --json prints ids whole" in crowded.stdout


#: What ``progressista run train.py`` names its bars now, and a 57-character id of the old format.
RUN_BAR = "train-0605-1430-9f3a:gpu-node-07-2n9ckq7x-12"
OLD_ID = "train-20260605-143012-9f3a:gpu-node-07-1780000000000-123456-1"


@pytest.mark.parametrize("columns", [80, 140])
def test_ls_keeps_descriptions_with_run_ids(server, columns):
    server.post(
        [
            event(RUN_BAR, desc="Epoch 3/10 of the model", n=3, total=10),
            event(OLD_ID, desc="Loading the warehouse", n=3, total=10),
            event("etl:load", desc="Short one"),
        ]
    )
    out = ls_in_a_subprocess(server, columns=columns)
    lines = out.splitlines()
    assert all(len(line) <= columns for line in lines), out
    assert "Description" in out
    for row_of, desc in ((RUN_BAR, "Epoch 3/10"), (OLD_ID, "Loading the"), ("etl:load", "Short one")):
        row = next(line for line in lines if desc in line)  # every task's row shows its description
        assert row.rstrip().endswith(row_of[-8:]), row  # and the end of its id
    assert "etl:load" in out  # a short id stays whole
    old = next(line for line in lines if "Loading the" in line).split()[-1]
    assert "…" in old and old.startswith("train-") and old.endswith("-123456-1"), old
    if columns >= 140:  # without the old id, those run makes now fit whole beside their description
        assert invoke("tasks", "rm", OLD_ID, "--url", server.url).exit_code == 0
        out = ls_in_a_subprocess(server, columns=columns)
        assert RUN_BAR in out and "Epoch 3/10 of the model" in out and "…" not in out


def test_ls_cuts_no_id_when_there_is_room(server):
    """The negative control: wide enough, every id and description whole, no caption."""
    server.post([event(RUN_BAR, desc="Epoch 3/10 of the model"), event(OLD_ID, desc="Loading the warehouse")])
    out = ls_in_a_subprocess(server, columns=200)
    assert RUN_BAR in out and OLD_ID in out and "Epoch 3/10 of the model" in out and "Loading the warehouse" in out
    assert "…" not in out and "prints ids whole" not in out


def ls_in_a_subprocess(server: LiveServer, *options: str, columns: int = 160) -> str:
    """``progressista tasks ls`` as a user runs it (piped: no colours), ``columns`` wide."""
    env = {**os.environ, "COLUMNS": str(columns)}
    done = subprocess.run(
        [*CLI, "tasks", "ls", *options, "--url", server.url], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return done.stdout


def under(out: str, task_id: str) -> str:
    """What the lines under a task's row say (its Status cell left blank), joined: ``""`` for none."""
    lines = out.splitlines()
    index = next(i for i, line in enumerate(lines) if line.rstrip().endswith(" " + task_id))
    below = []
    for line in lines[index + 1 :]:
        if not line.startswith(" ") or not line.strip():
            break
        below.append(line.strip())
    return " ".join(below)


def unwrapped(text: str) -> str:
    return "".join(text.split())


def test_ls_says_why_a_task_failed_on_a_line_of_its_own(server):
    server.post(
        [
            event("etl:load", "error", desc="Loading rows", meta={"error": "KeyError: 'id'"}),
            event("etl:kill", "error", desc="Killed", meta={"signal": "SIGTERM"}),
            event("etl:bare", "error", desc="No reason"),
            event("etl:fine", "close", desc="Closed", meta={"error": "left over"}),
            event("etl:markup", "error", meta={"error": "ValueError: [red]not red[/red]\nsecond line"}),
            {
                "task_id": "etl:run",
                "status": "error",
                "desc": "python etl.py --full",
                "meta": {"kind": "run", "exit_code": 1, "error": "RuntimeError: boom at 40"},
            },
        ]
    )
    out = ls_in_a_subprocess(server)
    assert under(out, "etl:load") == "↳ KeyError: 'id'"
    assert under(out, "etl:kill") == "↳ SIGTERM"  # the signal, when there is no exception
    assert under(out, "etl:markup") == "↳ ValueError: [red]not red[/red] second line"  # text; breaks are spaces
    assert under(out, "etl:run") == "↳ RuntimeError: boom at 40"  # the run task is listed like any task
    assert "python etl.py --full" in out
    # Negative controls: no reason, no line; a closed task's meta is no reason.
    assert "↳" not in under(out, "etl:bare") and "↳" not in under(out, "etl:fine")
    assert out.count("↳") == 4 and "left over" not in out
    # --json keeps meta as it is.
    assert json.loads(ls_in_a_subprocess(server, "--json"))["tasks"]["etl:load"]["meta"] == {"error": "KeyError: 'id'"}


def test_ls_wraps_a_long_reason_on_a_narrow_terminal(server):
    long = "FileNotFoundError: [Errno 2] No such file or directory: '/data/2024/shard-0007/part-00042.csv'"
    server.post([event("etl:read", "error", desc="Reading", meta={"error": long}), event("etl:next")])
    out = ls_in_a_subprocess(server, columns=80)
    assert all(len(line) <= 80 for line in out.splitlines()), out
    assert unwrapped(under(out, "etl:read")) == unwrapped("↳ " + long)  # whole, not cut
    assert under(out, "etl:next") == ""


def watch_ls(server: LiveServer, *options: str) -> subprocess.Popen[str]:
    """``progressista tasks ls --watch`` refreshing every 0.1 s, in a subprocess (Ctrl-C is a real SIGINT)."""
    command = ["tasks", "ls", "--watch", *options, "--interval", "0.1", "--url", server.url]
    return subprocess.Popen(
        [sys.executable, "-c", "from progressista.cli import main; main()", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_ls_watch_refreshes_until_ctrl_c(server):
    proc = watch_ls(server)
    lines = _reader(proc)
    try:
        seen: list[str] = []
        wait_until(lambda: _drain(lines, seen) and any("No tasks yet" in line for line in seen), 15, what="empty")
        server.post(event("appeared", desc="Late arrival"))
        wait_until(lambda: _drain(lines, seen) and any("appeared" in line for line in seen), 15, what="refresh")
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=15)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr


def test_ls_watch_json_prints_one_document_per_refresh(server):
    server.post(event("job"))
    proc = watch_ls(server, "--json")
    lines = _reader(proc)
    try:
        seen: list[str] = []
        wait_until(lambda: _drain(lines, seen) and len(seen) >= 2, 15, what="two refreshes")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)
    assert proc.returncode == 0
    for line in seen[:2]:
        assert list(json.loads(line)["tasks"]) == ["job"]


def _reader(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _drain(lines: queue.Queue[str], seen: list[str]) -> bool:
    while not lines.empty():
        seen.append(lines.get_nowait())
    return True


# ---------------------------------------------------------------- rm


def test_rm_by_id_prints_what_went_and_fails_on_missing_ones(server):
    server.post([event("a"), event("b"), event(".."), event("keep")])
    result = invoke("tasks", "rm", "a", "..", "--url", server.url)
    assert result.exit_code == 0
    assert result.stdout == "Removed 2 tasks:\n  a\n  ..\n"
    assert set(server.tasks()) == {"b", "keep"}
    partly = invoke("tasks", "rm", "b", "ghost", "--url", server.url)
    assert partly.exit_code == 5
    assert partly.stdout == "Removed 1 task:\n  b\n"
    assert partly.stderr == "Error: no task 'ghost'\n"
    assert set(server.tasks()) == {"keep"}


def test_rm_by_status_and_age(server):
    server.post([event("run"), event("fin", "close"), event("bad", "error"), event("idle", "start")])
    result = invoke("tasks", "rm", "--status", "close", "--url", server.url)
    assert result.exit_code == 0 and result.stdout == "Removed 1 task:\n  fin\n"
    too_young = invoke("tasks", "rm", "--status", "active", "--older-than", "3600", "--url", server.url)
    assert too_young.exit_code == 0 and too_young.stdout == "No matching tasks; nothing removed.\n"
    assert set(server.tasks()) == {"run", "bad", "idle"}
    by_age = invoke("tasks", "rm", "--status", "active", "--older-than", "0", "--url", server.url)
    assert by_age.exit_code == 0 and set(by_age.stdout.split()[3:]) == {"run", "idle"}
    assert set(server.tasks()) == {"bad"}
    completed = invoke("tasks", "rm", "--status", "completed", "--url", server.url)
    assert completed.stdout == "Removed 1 task:\n  bad\n"


def test_rm_older_than_alone_and_all(server):
    server.post([event("a"), event("b", "close")])
    assert invoke("tasks", "rm", "--older-than", "3600", "--url", server.url).stdout.startswith("No matching")
    result = invoke("tasks", "rm", "--all", "--url", server.url)
    assert result.exit_code == 0 and set(result.stdout.split()[3:]) == {"a", "b"}
    assert server.tasks() == {}
    again = invoke("tasks", "rm", "--all", "--url", server.url)
    assert again.exit_code == 0 and again.stdout == "No matching tasks; nothing removed.\n"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ((), "nothing to remove"),
        (("a", "--status", "close"), "not several"),
        (("a", "--all"), "not several"),
        (("--all", "--status", "close"), "--all removes every task"),
        (("--status", "closed"), "unknown status 'closed'"),
        (("--status", ","), "--status"),
    ],
)
def test_rm_usage_errors(server, args, fragment):
    server.post(event("a"))
    one_line_error(invoke("tasks", "rm", *args, "--url", server.url), 2, fragment)
    assert set(server.tasks()) == {"a"}


def test_rm_rejects_a_negative_age(server):
    result = invoke("tasks", "rm", "--older-than", "-1", "--url", server.url)
    assert result.exit_code == 2


def test_bulk_rm_asks_on_a_terminal(server, monkeypatch):
    monkeypatch.setattr(tasks_cli, "_interactive", lambda: True)
    server.post([event(f"done-{i:02d}", "close") for i in range(12)] + [event("running")])
    declined = invoke("tasks", "rm", "--status", "completed", "--url", server.url, input="n\n")
    assert declined.exit_code == 1
    assert "  done-00" in declined.stdout and "… and 2 more" in declined.stdout
    assert "Remove 12 tasks? [y/N]" in declined.stdout
    assert "Aborted; nothing removed." in declined.stderr
    assert len(server.tasks()) == 13
    accepted = invoke("tasks", "rm", "--status", "completed", "--url", server.url, input="y\n")
    assert accepted.exit_code == 0 and "Removed 12 tasks:" in accepted.stdout
    assert set(server.tasks()) == {"running"}
    nothing = invoke("tasks", "rm", "--status", "stale", "--url", server.url, input="")
    assert nothing.exit_code == 0 and nothing.stdout == "No matching tasks; nothing removed.\n"
    everything = invoke("tasks", "rm", "--all", "--url", server.url, input="y\n")
    assert "Remove all 1 task? [y/N]" in everything.stdout and server.tasks() == {}


def test_yes_skips_the_question(server, monkeypatch):
    monkeypatch.setattr(tasks_cli, "_interactive", lambda: True)
    server.post([event("a", "close")])
    result = invoke("tasks", "rm", "--status", "close", "--yes", "--url", server.url)
    assert result.exit_code == 0 and result.stdout == "Removed 1 task:\n  a\n"


def test_rm_by_id_never_asks(server, monkeypatch):
    monkeypatch.setattr(tasks_cli, "_interactive", lambda: True)
    server.post(event("a"))
    assert invoke("tasks", "rm", "a", "--url", server.url).stdout == "Removed 1 task:\n  a\n"


# ---------------------------------------------------------------- server, url, token


@pytest.mark.parametrize("command", [("ls",), ("ls", "--json"), ("rm", "x"), ("rm", "--all", "--yes")])
def test_unreachable_server(command):
    result = invoke("tasks", *command, "--url", f"http://127.0.0.1:{free_port()}")
    one_line_error(result, 3, "cannot reach http://127.0.0.1:")


@pytest.mark.parametrize("command", [("ls",), ("rm", "x"), ("rm", "--status", "close")])
def test_missing_or_wrong_token(secured, command):
    secured.post(event("x"))
    missing = invoke("tasks", *command, "--url", secured.url)
    one_line_error(missing, 4, "the server needs a token (HTTP 401)", "--token", "PROGRESSISTA_API_TOKEN")
    wrong = invoke("tasks", *command, "--url", secured.url, "--token", "nope")
    one_line_error(wrong, 4, "the server refused the token (HTTP 401)")
    assert "x" in secured.tasks()


def test_token_and_url_from_the_environment(secured):
    secured.post(event("x"))
    env = {"PROGRESSISTA_SERVER_URL": secured.url + "/progress", "PROGRESSISTA_API_TOKEN": "t"}
    assert "x" in json.loads(invoke("tasks", "ls", "--json", env=env).stdout)["tasks"]
    assert invoke("tasks", "rm", "x", env=env).exit_code == 0


@pytest.mark.parametrize("form", ["{ws}", "{ws}?token=t", "{url}/progress", "{url}/?token=t"])
def test_every_url_form(secured, form):
    secured.post(event("x"))
    url = form.format(url=secured.url, ws=secured.ws_url)
    token = [] if "token=" in url else ["--token", "t"]
    result = invoke("tasks", "ls", "--json", "--url", url, *token)
    assert result.exit_code == 0, result.stderr
    assert list(json.loads(result.stdout)["tasks"]) == ["x"]


def test_a_url_naming_no_server():
    one_line_error(invoke("tasks", "ls", "--url", "ftp://example.com"), 2, "--url", "unsupported URL scheme")


def test_bad_status_is_a_usage_error_before_any_request():
    port = free_port()  # nothing listens: a request would be exit code 3
    one_line_error(
        invoke("tasks", "ls", "--status", "closed", "--url", f"http://127.0.0.1:{port}"),
        2,
        "--status: unknown status 'closed'; choose from start, update, stale,",
    )


def test_tasks_help_documents_the_exit_codes():
    result = invoke("tasks", "--help")
    assert result.exit_code == 0 and "3 server unreachable" in result.stdout


# ---------------------------------------------------------------- on a real terminal


def test_ls_watch_on_a_terminal_redraws_in_place(server):
    server.post(event("first", desc="First job"))
    terminal = Terminal("tasks", "ls", "--watch", "--interval", "0.1", "--url", server.url)
    terminal.wait_for("First job")
    server.post(event("second", desc="Second job"))
    terminal.wait_for("Second job")
    assert terminal.finish(interrupt=True) == 0
    assert "\x1b[" in terminal.screen  # colours and cursor moves: a live display, not a scroll of tables
    assert "Traceback" not in terminal.screen


def test_bulk_rm_on_a_terminal_asks_first(server):
    server.post([event("done", "close"), event("running")])
    declined = Terminal("tasks", "rm", "--status", "close", "--url", server.url)
    declined.wait_for("Remove 1 task? [y/N]")
    declined.type("n\n")
    declined.wait_for("Aborted; nothing removed.")
    assert declined.finish() == 1
    assert "done" in server.tasks()
    accepted = Terminal("tasks", "rm", "--status", "close", "--url", server.url)
    accepted.wait_for("Remove 1 task? [y/N]")
    accepted.type("y\n")
    accepted.wait_for("Removed 1 task:")
    assert accepted.finish() == 0
    assert set(server.tasks()) == {"running"}
