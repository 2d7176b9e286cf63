"""Task text cannot drive the operator's terminal (issue 21, item 2): every terminal output, as raw pty bytes.

A real server holds a task whose id, desc, unit, postfix, host, meta and reason
carry escape sequences (window title, clear screen, OSC 52 clipboard, C1
controls) and a right-to-left override, beside look-alikes of ``etl:load`` and
the plain ``etl:load`` itself. ``tasks ls`` (and ``--watch``), ``tasks rm``
(its question and its summary) and ``wait`` run on a pseudo-terminal; none of
the payload's sequences may reach it, and the plain task reads as it was sent.
With ``TERM=dumb`` the programs write no escape sequence of their own, so there
not one ESC byte may appear. ``watch`` is checked through Textual's pilot in
``test_tui.py``, the server's log in ``test_server_log_text`` below.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_text import (
    ESCAPES,
    HOSTILE_ID,
    LOOK_ALIKES,
    PLAIN_DESC,
    PLAIN_ID,
    SHOWN_HOSTILE_ID,
    hostile_tasks,
    obeyed,
)
from support import LiveServer
from terminal_support import Terminal

DUMB = {"TERM": "dumb", "NO_COLOR": "1"}


@pytest.fixture
def hostile(server: LiveServer) -> LiveServer:
    response = server.post(hostile_tasks())
    assert response.ok, response.text
    assert server.tasks()[HOSTILE_ID]["desc"] == ESCAPES  # the stored task keeps what was sent
    return server


def run(*args: str, env: dict[str, str] | None = None) -> Terminal:
    terminal = Terminal(*args, env=env)
    terminal.finish()
    return terminal


def test_the_check_sees_a_payload_written_as_it_is() -> None:
    """Negative control: the same pseudo-terminal shows a program that does print the payload raw."""
    terminal = Terminal.__new__(Terminal)  # not the CLI: a program that writes the desc as it came
    printer = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.stdout.write({ESCAPES!r})"], capture_output=True, timeout=30
    )
    terminal.raw = printer.stdout
    assert obeyed(terminal.raw)[:2] == [b"\x1b]", b"\x1b[2J"]


def test_ls_shows_the_payloads_as_markers(hostile: LiveServer) -> None:
    for env in (DUMB, None):
        terminal = run("tasks", "ls", "--url", hostile.url, env=env)
        assert terminal.proc.returncode == 0, terminal.screen
        assert obeyed(terminal.raw) == [], terminal.screen
        screen = terminal.screen
        assert SHOWN_HOSTILE_ID in screen and "evil<U+001B>]0;pwned<U+0007>" in screen
        assert "rows<U+001B>[2J" in screen  # the unit, in Done
        assert all(shown in screen for shown in LOOK_ALIKES.values())
        assert PLAIN_DESC in screen and f" {PLAIN_ID} " in screen  # the control: plain text as sent
    dumb = run("tasks", "ls", "--url", hostile.url, env=DUMB)
    assert b"\x1b" not in dumb.raw, dumb.screen  # no colours there: any ESC would be the payload's


def test_ls_watch_shows_the_payloads_as_markers(hostile: LiveServer) -> None:
    terminal = Terminal("tasks", "ls", "--watch", "--interval", "0.1", "--url", hostile.url)
    terminal.wait_for(SHOWN_HOSTILE_ID)
    terminal.wait_for(PLAIN_DESC)
    assert terminal.finish(interrupt=True) == 0
    assert b"\x1b[" in terminal.raw  # its own cursor moves and colours: a live display
    assert obeyed(terminal.raw) == [], terminal.screen


def test_rm_asks_and_reports_with_markers(hostile: LiveServer) -> None:
    terminal = Terminal("tasks", "rm", "--status", "error,update", "--url", hostile.url, env=DUMB)
    terminal.wait_for("Remove")
    terminal.type("y\n")
    assert terminal.finish() == 0
    question, _, summary = terminal.screen.partition("Removed ")
    for shown in (SHOWN_HOSTILE_ID, *LOOK_ALIKES.values()):
        assert f"  {shown}\r\n" in question and f"  {shown}\r\n" in summary
    assert f"  {PLAIN_ID}\r\n" in summary
    assert b"\x1b" not in terminal.raw and obeyed(terminal.raw) == [], terminal.screen
    missing = run("tasks", "rm", HOSTILE_ID, "--url", hostile.url, env=DUMB)
    assert f"Error: no task '{SHOWN_HOSTILE_ID}'" in missing.screen and b"\x1b" not in missing.raw


def test_wait_names_the_failed_task_with_markers(hostile: LiveServer) -> None:
    terminal = run("wait", "--group", "term", "--timeout", "10", "--url", hostile.url, env=DUMB)
    assert terminal.proc.returncode == 1, terminal.screen
    assert f"{SHOWN_HOSTILE_ID} ended error: evil ]0;pwned" in terminal.screen
    assert b"\x1b" not in terminal.raw and obeyed(terminal.raw) == [], terminal.screen
    plain = run("wait", PLAIN_ID, *LOOK_ALIKES, "--timeout", "0", "--url", hostile.url, env=DUMB)
    assert plain.proc.returncode == 2 and "timed out after 0 s: 4 of 4 tasks still open" in plain.screen


def test_server_log_text(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The server's one log line that names tasks (a malformed task skipped from the storage file) escapes them."""
    import json

    from progressista.server.store_json import JsonFile

    path = tmp_path / "tasks.json"
    path.write_text(json.dumps({"version": 1, "tasks": {HOSTILE_ID: {"status": ESCAPES}, "fine": {"status": "bogus"}}}))
    with caplog.at_level(logging.WARNING, logger="progressista.server"):
        JsonFile(path).load()
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "skipped 2 malformed task(s)" in text and "'fine'" in text  # the control: a plain id as it is
    assert not obeyed(text.encode()) and "\x1b" not in text
