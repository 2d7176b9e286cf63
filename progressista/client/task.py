"""A task that is no tqdm bar: what the run task, ``progressista pipe`` and the other libraries' adapters post.

It draws nothing and takes no place among tqdm's console bars; its events go
through the process's one sender, like the bars', with the same throttling:
:meth:`RemoteTask.update` is cheap to call on every advance (it builds an event
at most every ``mininterval`` seconds; the sender coalesces the rest), while
``start`` and the final ``close``/``error`` always go out at once.

>>> task = RemoteTask("etl:load", desc="Loading rows", total=1_000, unit="rows")  # doctest: +SKIP
>>> task.start()  # doctest: +SKIP
>>> task.update(n=250)  # doctest: +SKIP
>>> task.close()  # doctest: +SKIP
>>> task.fail({"error": "KeyError: 'id'"})  # or: an error, with the reason in its meta  # doctest: +SKIP

While it is open, the bars' heartbeat (:mod:`.open_bars`) re-sends it every ``PROGRESSISTA_HEARTBEAT_INTERVAL``
seconds, so the server tells a slow task (``stale``) from a dead process (``lost``).
A task inherited through ``fork`` belongs to the parent: it posts nothing from the child.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from .. import sender as _sender
from ..config import ClientOptions
from ..protocol.task import MAX_DESC, MAX_TASK_ID, MAX_UNIT
from .bar import RemoteTqdm
from .event import HOST, number
from .meta import meta_with, safe_meta
from .routes import route_for

__all__ = ["RemoteTask", "finish_open_tasks", "heartbeat"]

log = logging.getLogger("progressista")

_open: list[RemoteTask] = []
_open_lock = threading.Lock()


class RemoteTask:
    """One task on the server, its state set by the caller (``n``, ``total``, ``desc``), posted through the sender.

    ``options`` are the client options (``server_url``, ``push_every``,
    ``request_timeout``, ``meta``, ``headers``), unset ones from ``PROGRESSISTA_*``.
    Updates build an event at most every ``mininterval`` seconds; one held back
    goes out with the next heartbeat at the latest, or with the end. A task
    still open when the process ends is ended with the open bars
    (:func:`finish_open_tasks`).
    """

    #: Ended with the open bars at exit or on a fatal signal (the run task is ended by its run instead).
    ends_with_bars: ClassVar[bool] = True

    def __init__(
        self,
        task_id: str,
        desc: str | None = None,
        total: float | None = None,
        n: float = 0,
        unit: str = "it",
        options: ClientOptions | None = None,
        mininterval: float = 0.1,
    ) -> None:
        client = options or {}
        self.task_id = str(task_id)[:MAX_TASK_ID]
        self.desc = desc
        self.total = total
        self.n = n
        self.unit = unit
        self.mininterval = mininterval
        self.route, _ = route_for(
            RemoteTqdm,
            {},
            client.get("server_url"),
            client.get("push_every"),
            client.get("request_timeout"),
            client.get("headers"),
        )
        self.meta, self._meta_size = safe_meta(dict(client.get("meta") or {}))
        self.pid = os.getpid()
        self.generation = _sender.generation
        self.seq = 0
        self.started = time.monotonic()
        self.last_push = -float("inf")
        self.ended = False

    # -- the caller's side ----------------------------------------------------------

    def start(self) -> None:
        """Open the task on the server (it is re-sent by the heartbeat until it ends)."""
        self._push("start")
        with _open_lock:
            _open.append(self)

    def update(
        self, n: float | None = None, total: float | None = None, desc: str | None = None, force: bool = False
    ) -> None:
        """Set what changed; an event goes out if ``mininterval`` passed since the last (or ``force``)."""
        if n is not None:
            self.n = n
        if total is not None:
            self.total = total
        if desc is not None:
            self.desc = desc
        if force or time.monotonic() - self.last_push >= self.mininterval:
            self._push("update")

    def close(self, meta: Mapping[str, Any] | None = None) -> None:
        """End the task as done (``close``); ``meta`` adds to its final meta."""
        self._end("close", meta)

    def fail(self, meta: Mapping[str, Any] | None = None) -> None:
        """End the task as failed (``error``); ``meta`` (``{"error": ...}``, ``{"signal": ...}``) says why."""
        self._end("error", meta)

    # -- reporting ------------------------------------------------------------------

    def _end(self, status: str, meta: Mapping[str, Any] | None) -> None:
        if self.ended:
            return
        self.ended = True
        with _open_lock:
            if self in _open:
                _open.remove(self)
        self._push(status, meta_with(self.meta, meta) if meta else None)

    def event(self, status: str, meta: dict[str, Any] | None = None) -> dict[str, Any]:
        """The task's full state as the wire event (the next ``seq``)."""
        now = time.monotonic()
        elapsed = now - self.started
        n = number(self.n)
        rate = (n / elapsed) if n and elapsed > 0 else None
        self.seq += 1
        desc = None if self.desc is None else str(self.desc)[:MAX_DESC] or None
        event: dict[str, Any] = {
            "task_id": self.task_id,
            "status": status,
            "desc": desc,
            "unit": str(self.unit)[:MAX_UNIT],
            "n": 0 if n is None else n,
            "total": number(self.total),
            "timestamp": time.time(),
            "elapsed": elapsed,
            "rate": rate,
            "postfix": None,
            "meta": self.meta if meta is None else meta,
            "seq": self.seq,
            "host": HOST,
            "pid": self.pid,
        }
        return event

    def _push(self, status: str, meta: dict[str, Any] | None = None) -> None:
        if self.generation != _sender.generation:
            return  # inherited through fork: the parent's task, not this process's
        try:
            event = self.event(status, meta)
            self.last_push = time.monotonic()
            size = 500 + self._meta_size + len(event["desc"] or "")
            _sender.get_sender().submit(self.route, self.task_id, event, status != "update", size=size)
        except Exception:
            log.debug("progressista: could not report %r", self.task_id, exc_info=True)


def finish_open_tasks(status: str, meta: Mapping[str, Any] | None = None, kind: type[RemoteTask] | None = None) -> int:
    """End every open task of this process that ends with the bars (of ``kind`` only, if given), as ``status``.

    Returns how many.
    """
    with _open_lock:
        tasks = [
            task
            for task in _open
            if task.ends_with_bars
            and task.generation == _sender.generation
            and (kind is None or isinstance(task, kind))
        ]
    for task in tasks:
        task._end(status, meta)
    return len(tasks)


def heartbeat(interval: float, now: float) -> None:
    """Re-send the open tasks not heard of for ``interval`` seconds (the bars' heartbeat calls this)."""
    with _open_lock:
        tasks = list(_open)
    for task in tasks:
        if now - task.last_push >= interval * 0.9:
            task._push("update")
