"""A run of a program: its id, its task, the check before it starts, and what its processes inherit.

``progressista run`` (a Python program, in this process: :mod:`progressista.run`)
and ``progressista exec`` (any program, as a child: :mod:`progressista.exec`)
both wrap the program in a :class:`Run`:

>>> run = Run("train.py", "python train.py --epochs 3")  # doctest: +SKIP
>>> run.begin()           # run id, environment, the server checked, the run task opened  # doctest: +SKIP
>>> run.end(1, {"error": "RuntimeError: boom at 40"})  # open bars and the run task end  # doctest: +SKIP
>>> run.restore()         # the environment as it was  # doctest: +SKIP

:meth:`Run.begin`:

- sets ``PROGRESSISTA_RUN_ID`` (kept when set already, unless an id is given;
  else ``{name}-{date}-{time}-{4 hex}``), so the bars of every process of the run
  form one group;
- puts :data:`progressista.children.BOOT_DIR` first on ``PYTHONPATH`` and the
  client options in ``PROGRESSISTA_*``, so every Python child reports too;
- checks the server as the bars will post to it, and says in one line on stderr
  when the token is refused or the server cannot be reached
  (:mod:`progressista.notices`); the program runs all the same;
- opens the run task, ``{run_id}:run`` (:mod:`progressista.client.run_task`),
  unless ``run_task=False`` or this run is inside another run's process tree
  (that one's task covers it).

A fatal signal (:mod:`progressista.signals`) ends the run task as ``error`` with
``meta.signal`` and exit code 128 + the signal's number.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping
from typing import Any

from . import notices, signals
from .children import ENV_PYTHONPATH, child_environment
from .client import RemoteTqdm, finish_open_bars
from .client.routes import route_for
from .client.run_task import RunTask
from .config import (
    ENV_PUSH_INTERVAL,
    ENV_REQUEST_TIMEOUT,
    ENV_RUN_ID,
    ENV_RUN_TASK,
    ENV_SAID,
    ENV_SERVER_URL,
    ClientOptions,
    clean_run_id,
    new_run_id,
)

__all__ = ["MAX_COMMAND", "Run", "RunOptions", "shorten"]

#: Characters of the command kept as the run task's ``desc``.
MAX_COMMAND = 200

_SAVED = (ENV_RUN_ID, ENV_PYTHONPATH, ENV_SAID, ENV_RUN_TASK, ENV_SERVER_URL, ENV_PUSH_INTERVAL, ENV_REQUEST_TIMEOUT)
_EXPORTED = {"server_url": ENV_SERVER_URL, "push_every": ENV_PUSH_INTERVAL, "request_timeout": ENV_REQUEST_TIMEOUT}


class RunOptions(ClientOptions, total=False):
    """What a run takes (``run_path``, ``run_module``, ``execute``): the client options, and these."""

    run_id: str | None
    """The run's id (``PROGRESSISTA_RUN_ID`` for the program); default: the one set, else a fresh one."""
    run_task: bool
    """Post the run task, ``{run_id}:run`` (default ``True``)."""
    command: str | None
    """The run task's ``desc``: the command as typed (cut to :data:`MAX_COMMAND` characters)."""


def _nothing() -> None:
    pass


def shorten(command: str, limit: int = MAX_COMMAND) -> str:
    """``command`` cut to ``limit`` characters, an ellipsis saying so.

    >>> shorten("python train.py --epochs 3"), shorten("x" * 10, 6)
    ('python train.py --epochs 3', 'xxxxx…')
    """
    return command if len(command) <= limit else command[: limit - 1] + "…"


class Run:
    """One run of a program: ``name`` names a fresh run id, ``command`` is the run task's ``desc``."""

    def __init__(
        self,
        name: str,
        command: str,
        run_id: str | None = None,
        run_task: bool = True,
        options: ClientOptions | None = None,
    ) -> None:
        self.name = name
        self.command = shorten(command)
        self.given_id = run_id
        self.want_task = run_task
        self.options: ClientOptions = dict(options or {})  # type: ignore[assignment]
        self.task: RunTask | None = None
        self.run_id = ""
        self._saved: dict[str, str | None] = {}
        self._forget_signal: Callable[[], None] = _nothing

    def begin(self) -> None:
        """Set the environment, check the server, open the run task."""
        self._saved = {name: os.environ.get(name) for name in _SAVED}
        if self.given_id is not None:
            os.environ[ENV_RUN_ID] = clean_run_id(self.given_id) or new_run_id()
        elif clean_run_id(os.environ.get(ENV_RUN_ID)) is None:
            os.environ[ENV_RUN_ID] = new_run_id(self.name)
        self.run_id = clean_run_id(os.environ[ENV_RUN_ID]) or new_run_id()
        for option, name in _EXPORTED.items():
            value = self.options.get(option)
            if value is not None:
                os.environ[name] = str(value)
        os.environ[ENV_PYTHONPATH] = child_environment(os.environ)[ENV_PYTHONPATH]
        self.check_server()
        nested = bool(self._saved[ENV_RUN_TASK])
        if self.want_task and not nested:
            self.task = RunTask(self.run_id, self.command, self.options)
            self.task.start()
            os.environ[ENV_RUN_TASK] = self.task.task_id
        self._forget_signal = signals.before_death(self._killed)

    def check_server(self) -> None:
        """Post nothing to the server as the bars will; one line on stderr if they would not show."""
        options = self.options
        route, _ = route_for(
            RemoteTqdm,
            {},
            options.get("server_url"),
            options.get("push_every"),
            options.get("request_timeout"),
            options.get("headers"),
        )
        notice = notices.check_server(route.url, dict(route.headers), route.timeout)
        if notice is not None:
            notices.say(*notice, tell_children=True)

    def end(self, exit_code: int, reason: Mapping[str, Any] | None = None) -> None:
        """The program ended with ``exit_code``: its open bars end (``close`` on 0, else ``error``), then the run task.

        ``reason`` (``{"error": ...}`` or ``{"signal": ...}``) goes into their
        final meta. Nothing is flushed here: the caller does, or the exit hook.
        """
        self._forget_signal()
        finish_open_bars("close" if exit_code == 0 else "error", reason)
        if self.task is not None:
            self.task.end(exit_code, reason)

    def restore(self) -> None:
        """Put the environment back as :meth:`begin` found it."""
        self._forget_signal()
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def _killed(self, signum: int) -> None:
        if self.task is not None:
            self.task.end(128 + signum, {"signal": signal.Signals(signum).name})
