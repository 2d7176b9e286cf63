"""Helpers for the client tests: real Python subprocesses that report to a live server."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support import LiveServer, wait_until

#: Runs the CLI without relying on the console script being on PATH.
CLI = [sys.executable, "-c", "from progressista.cli import main; main()"]


@dataclass
class Finished:
    """A finished subprocess, with how long it ran."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    ended: float
    """``time.time()`` when it ended."""


def client_env(server: LiveServer | None = None, **extra: str) -> dict[str, str]:
    """This environment without PROGRESSISTA_*, pointing at ``server``, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PROGRESSISTA_")}
    env["PYTHONUNBUFFERED"] = "1"
    if server is not None:
        env["PROGRESSISTA_SERVER_URL"] = server.url
    env.update(extra)
    return env


def run(argv: Sequence[str], env: dict[str, str], cwd: Path | str | None = None, timeout: float = 60) -> Finished:
    started = time.monotonic()
    done = subprocess.run(list(argv), capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)
    return Finished(done.returncode, done.stdout, done.stderr, time.monotonic() - started, time.time())


def python(code: str, *args: str, env: dict[str, str], cwd: Path | str | None = None, timeout: float = 60) -> Finished:
    """Run ``code`` (dedented) in a fresh interpreter."""
    return run([sys.executable, "-c", textwrap.dedent(code), *args], env, cwd, timeout)


def script(folder: Path, name: str, code: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(code))
    return path


def final_task(server: LiveServer, task_id: str, timeout: float = 10, **params: Any) -> dict[str, Any]:
    """Wait until ``task_id`` is closed or errored on ``server``; return it."""

    def done() -> dict[str, Any] | None:
        task = server.tasks(**params).get(task_id)
        return task if task and task["status"] in ("close", "error") else None

    return wait_until(done, timeout=timeout, what=f"task {task_id!r} to finish")


def metric(server: LiveServer, name: str) -> float:
    """One value from ``/metrics`` (``name`` as exposed, e.g. ``progressista_events_accepted_total``)."""
    text = server.http.get(server.url + "/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no metric {name} in /metrics")
