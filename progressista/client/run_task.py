"""The run task: the program itself, as one task of its run's group.

``progressista run`` and ``progressista exec`` post it (see
:mod:`progressista.protocol.runs` for its id and meta): it opens when the
program starts, keeps its heartbeat while the process lives, so a run killed
with SIGKILL turns ``lost`` like any bar, and ends with the program: ``close``
with ``meta.exit_code = 0``, else ``error`` with the exit code and the reason.

>>> task = RunTask("nightly-42", "etl.py --day 2026-12-03", {"server_url": "http://dash:8000"})  # doctest: +SKIP
>>> task.start()  # doctest: +SKIP
>>> task.end(1, {"error": "KeyError: 'id'"})  # doctest: +SKIP

It is not a tqdm bar: it draws nothing and takes no place among the console's
bars. Its events go through the process's sender, like the bars'.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from typing import Any

from .. import sender as _sender
from ..config import ClientConfig, ClientOptions
from ..protocol.runs import META_EXIT_CODE, META_KIND, RUN_KIND, run_task_id
from ..protocol.task import MAX_DESC, MAX_TASK_ID
from .bar import RemoteTqdm
from .event import HOST
from .meta import meta_with, safe_meta
from .routes import route_for

__all__ = ["RunTask"]

log = logging.getLogger("progressista")

_open: list[RunTask] = []
_open_lock = threading.Lock()


class RunTask:
    """The task of one run of a program, ``"{run_id}:run"``, posted to the server the options name."""

    def __init__(self, run_id: str, command: str, options: ClientOptions | None = None) -> None:
        client = options or {}
        self.task_id = run_task_id(run_id)[:MAX_TASK_ID]
        self.command = command[:MAX_DESC]
        self.route, _ = route_for(
            RemoteTqdm,
            {},
            client.get("server_url"),
            client.get("push_every"),
            client.get("request_timeout"),
            client.get("headers"),
        )
        meta, _ = safe_meta({**dict(client.get("meta") or {}), META_KIND: RUN_KIND})
        self.meta = meta
        self.pid = os.getpid()
        self.generation = _sender.generation
        self.seq = 0
        self.started = time.monotonic()
        self.last_push = -float("inf")
        self.ended = False

    def start(self) -> None:
        """Open the task on the server (and keep it heard from until :meth:`end`)."""
        self._push("start")
        with _open_lock:
            _open.append(self)

    def end(self, exit_code: int, reason: Mapping[str, Any] | None = None) -> None:
        """End the task: ``close`` for exit code 0, else ``error``; ``reason`` (error, signal) adds to its meta."""
        if self.ended:
            return
        self.ended = True
        with _open_lock:
            if self in _open:
                _open.remove(self)
        status = "close" if exit_code == 0 else "error"
        self._push(status, meta_with(self.meta, {META_EXIT_CODE: exit_code, **(reason or {})}))

    def _push(self, status: str, meta: dict[str, Any] | None = None) -> None:
        if self.generation != _sender.generation:
            return  # inherited through fork: the parent's run, not this process's
        self.seq += 1
        self.last_push = time.monotonic()
        event: dict[str, Any] = {
            "task_id": self.task_id,
            "status": status,
            "desc": self.command or None,
            "unit": "it",
            "n": 0,
            "total": None,
            "timestamp": time.time(),
            "elapsed": self.last_push - self.started,
            "rate": None,
            "postfix": None,
            "meta": self.meta if meta is None else meta,
            "seq": self.seq,
            "host": HOST,
            "pid": self.pid,
        }
        urgent = status != "update"
        try:
            _sender.get_sender().submit(self.route, self.task_id, event, urgent, size=600 + len(self.command))
        except Exception:
            log.debug("progressista: could not report the run task %r", self.task_id, exc_info=True)


def _heartbeat() -> None:
    interval = _heartbeat_interval()
    now = time.monotonic()
    with _open_lock:
        tasks = list(_open)
    for task in tasks:
        if now - task.last_push >= interval * 0.9:
            task._push("update")


def _heartbeat_interval() -> float:
    return ClientConfig.from_env().heartbeat_interval


_sender.periodically(_heartbeat, _heartbeat_interval)
