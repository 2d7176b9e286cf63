"""``enlighten`` counters under the capture: real enlighten, real programs, a live server."""

from __future__ import annotations

import textwrap
from pathlib import Path

import enlighten
import pytest
from capture_support import (
    HEADERS,
    REPORTING,
    changed_names,
    checked_program,
    class_attributes,
    final_tasks,
    installed_in_process,
    summary,
)
from clientkit import client_env, python
from support import LiveServer

COUNTERS = """
    import enlighten

    manager = enlighten.get_manager()  # stdout is no terminal: enlighten draws nothing, the counters still count
    files = manager.counter(total=20, desc="Counting", unit="files")
    for _ in range(20):
        files.update()
    files.close()
    assigned = manager.counter(total=50, desc="Assigned")
    assigned.count = 35
    assigned.close()
    try:
        with manager.counter(total=9, desc="Failing") as failing:
            failing.update(4)
            raise KeyError("id")
    except KeyError as exc:
        print("caught", exc)
    solo = enlighten.Counter(total=4, desc="Solo")
    solo.update(4)
    solo.close()
    left = manager.counter(desc="Left open")  # no total: a plain counter, never closed (it ends at exit)
    left.update(3)
    status = manager.status_bar("Status bars are no counters")
    manager.stop()
    """


@pytest.mark.parametrize("how", REPORTING)
def test_enlighten_counters_report(server: LiveServer, tmp_path: Path, how: str) -> None:
    tasks = checked_program(server, tmp_path, COUNTERS, how, "Counting", "Assigned", "Failing", "Solo", "Left open")
    assert summary(tasks["Counting"]) == (20, 20, "close", None) and tasks["Counting"]["unit"] == "files"
    assert summary(tasks["Assigned"]) == (35, 50, "close", None)
    assert summary(tasks["Failing"]) == (4, 9, "error", "KeyError: 'id'")
    assert summary(tasks["Solo"]) == (4, 4, "close", None)
    assert summary(tasks["Left open"]) == (3, None, "close", None)
    bars = {task["desc"] for task in server.tasks().values() if task["meta"].get("kind") != "run"}
    assert bars == {"Counting", "Assigned", "Failing", "Solo", "Left open"}  # not the status bar


def test_a_counter_open_when_the_program_dies_ends_as_error(server: LiveServer) -> None:
    code = """
        import enlighten
        counter = enlighten.get_manager().counter(total=10, desc="Crashed")
        counter.update(6)
        raise RuntimeError("died at 6")
        """
    done = python(HEADERS["patch"] + textwrap.dedent(code), env=client_env(server))
    assert done.returncode == 1 and "RuntimeError: died at 6" in done.stderr
    assert summary(final_tasks(server, "Crashed")["Crashed"]) == (6, 10, "error", "RuntimeError: died at 6")


def test_uninstall_restores_every_method_exactly() -> None:
    counter, printable = enlighten._counter.Counter, enlighten._basecounter.PrintableCounter
    before = class_attributes(counter, printable)
    with installed_in_process():
        assert changed_names(before, counter, printable) == {
            (counter, "__init__"),
            (counter, "reset"),
            (printable, "count"),
            (printable, "close"),
            (printable, "__exit__"),
        }
    assert changed_names(before, counter, printable) == set()
