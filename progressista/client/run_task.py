"""The run task: the program itself, as one task of its run's group.

``progressista run`` and ``progressista exec`` post it (see
:mod:`progressista.protocol.runs` for its id and meta): it opens when the
program starts, keeps its heartbeat while the process lives, so a run killed
with SIGKILL turns ``lost`` like any bar, and ends with the program: ``close``
with ``meta.exit_code = 0``, else ``error`` with the exit code and the reason.

>>> task = RunTask("nightly-42", "etl.py --day 2026-12-03", {"server_url": "http://dash:8000"})  # doctest: +SKIP
>>> task.start()  # doctest: +SKIP
>>> task.end(1, {"error": "KeyError: 'id'"})  # doctest: +SKIP

It is a :class:`~progressista.client.task.RemoteTask`: no tqdm bar, it draws
nothing and takes no place among the console's bars.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config import ClientOptions
from ..protocol.runs import META_EXIT_CODE, META_KIND, RUN_KIND, run_task_id
from .task import RemoteTask

__all__ = ["RunTask"]


class RunTask(RemoteTask):
    """The task of one run of a program, ``"{run_id}:run"``, its ``desc`` the command."""

    ends_with_bars = False  # its run ends it, with the exit code

    def __init__(self, run_id: str, command: str, options: ClientOptions | None = None) -> None:
        given: ClientOptions = options or {}
        with_kind: ClientOptions = {**given, "meta": {**dict(given.get("meta") or {}), META_KIND: RUN_KIND}}
        super().__init__(run_task_id(run_id), desc=command, total=None, options=with_kind)

    def end(self, exit_code: int, reason: Mapping[str, Any] | None = None) -> None:
        """End the task: ``close`` for exit code 0, else ``error``; ``reason`` (error, signal) adds to its meta."""
        meta = {META_EXIT_CODE: exit_code, **(reason or {})}
        if exit_code == 0:
            self.close(meta)
        else:
            self.fail(meta)
