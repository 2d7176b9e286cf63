"""Helpers for the capture tests: one program run with and without the capture, against a live server."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from clientkit import CLI, Finished, client_env, run, script
from support import LiveServer, wait_until

from progressista import capture

#: How a program is made to report: the line put before it, or ``progressista run``.
HEADERS = {
    "none": "",  # the negative control: nothing reports
    "capture": "import progressista.capture\nprogressista.capture.install({})\n",
    "patch": "import progressista.patch\nprogressista.patch.install()\n",
}
#: The ways the libraries' bars must reach the server.
REPORTING = ["patch", "run"]
RUN_ID = "capture-test"


def run_program(server: LiveServer, folder: Path, code: str, how: str) -> Finished:
    """Run ``code`` (dedented) as a script in a fresh interpreter, made to report ``how`` (see :data:`HEADERS`).

    No terminal, 80 columns. ``run`` is ``progressista run --run-id capture-test``.
    """
    env = client_env(None if how == "run" else server, COLUMNS="80", LINES="24", TERM="dumb")
    if how == "run":
        path = script(folder, "job.py", code)
        done = run([*CLI, "run", "--run-id", RUN_ID, "--url", server.url, str(path)], env, cwd=folder)
    else:
        path = script(folder, f"job_{how}.py", HEADERS[how] + textwrap.dedent(code))
        done = run([sys.executable, str(path)], env, cwd=folder)
    assert done.returncode == 0, done.stderr
    return done


def final_tasks(server: LiveServer, *descs: str, timeout: float = 10) -> dict[str, dict[str, Any]]:
    """Wait until a task with each of ``descs`` has ended (close or error); the tasks by desc."""

    def ended() -> dict[str, dict[str, Any]] | None:
        tasks = {task["desc"]: task for task in server.tasks().values() if task["status"] in ("close", "error")}
        return tasks if set(descs) <= set(tasks) else None

    return wait_until(ended, timeout=timeout, what=f"tasks {descs} to end")


def checked_program(server: LiveServer, folder: Path, code: str, how: str, *descs: str) -> dict[str, dict[str, Any]]:
    """Run ``code`` first as it is (nothing reaches the server), then reporting ``how``: its output is unchanged.

    Returns the tasks of ``descs``, ended, by desc; under ``run`` they are of the run's group.
    """
    plain = run_program(server, folder, code, "none")
    assert server.tasks() == {}, "without the capture nothing reports"
    reporting = run_program(server, folder, code, how)
    assert (reporting.stdout, reporting.stderr) == (plain.stdout, plain.stderr)
    tasks = final_tasks(server, *descs)
    for task in tasks.values():
        assert task["host"] and task["pid"] and task["unit"]
        if how == "run":
            assert task["task_id"].startswith(f"{RUN_ID}:"), task["task_id"]
    return tasks


def summary(task: dict[str, Any]) -> tuple[Any, ...]:
    """What a test checks of a task: ``(n, total, status, meta.error)``."""
    return task["n"], task["total"], task["status"], (task["meta"] or {}).get("error")


@contextmanager
def installed_in_process() -> Iterator[None]:
    """The capture installed in this process (posting nowhere), for as long as the block runs."""
    capture.install({"server_url": "http://127.0.0.1:1"})
    try:
        yield
    finally:
        capture.uninstall()


def class_attributes(*classes: type[Any]) -> dict[tuple[type[Any], str], Any]:
    """Every attribute the classes define themselves, by (class, name)."""
    return {(cls, name): value for cls in classes for name, value in vars(cls).items()}


def changed_names(before: dict[tuple[type[Any], str], Any], *classes: type[Any]) -> set[tuple[type[Any], str]]:
    """The (class, name) whose value is no longer the very object of ``before`` (or is new)."""
    now = class_attributes(*classes)
    return {key for key, value in now.items() if before.get(key) is not value} | (before.keys() - now.keys())
