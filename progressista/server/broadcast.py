"""Fan-out of task changes to WebSocket dashboards, coalesced per interval.

Stores report changes with :meth:`Broadcaster.publish` (cheap, never awaits).
One loop turns everything pending into at most one message per client per
``interval``: a full ``{"tasks": ...}`` snapshot for default-mode clients, a
``{"type": "delta", ...}`` for delta-mode clients, each serialised once and
shared. Every client has a bounded queue and its own writer; a client whose
queue is full is dropped (it reconnects and gets a fresh snapshot), so a slow
dashboard never holds up ingestion or the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.websockets import WebSocket

from .store import Change
from .tasks import Task

__all__ = ["Broadcaster", "Client", "Mode", "Pending"]

log = logging.getLogger("progressista.server")

Mode = Literal["snapshot", "delta"]

#: WebSocket close code for a client that fell too far behind ("try again later").
SLOW_CLIENT_CLOSE = 1013
#: WebSocket close code when every dashboard must resync ("service restart").
RESYNC_CLOSE = 1012


class Pending:
    """Changes since the last message, latest state per task; pure bookkeeping.

    A change after a removal revives the task, a removal after a change wins.
    """

    def __init__(self) -> None:
        self.tasks: dict[str, Task] = {}
        self.removed: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self.tasks or self.removed)

    def add(self, change: Change) -> None:
        for task_id in change.removed:
            self.tasks.pop(task_id, None)
            self.removed.add(task_id)
        for task_id, task in change.tasks.items():
            self.removed.discard(task_id)
            self.tasks[task_id] = task

    def delta(self) -> dict[str, Any]:
        """The delta message for these changes."""
        return {"type": "delta", "tasks": self.tasks, "removed": sorted(self.removed)}


@dataclass(eq=False)
class Client:
    """One connected dashboard."""

    websocket: WebSocket
    mode: Mode
    queue: asyncio.Queue[str]
    ready: bool = False
    # Messages produced while the first snapshot was being read; sent right after it.
    backlog: list[str] = field(default_factory=list)
    dropped: asyncio.Event = field(default_factory=asyncio.Event)
    close_code: int = SLOW_CLIENT_CLOSE


@dataclass
class BroadcastStats:
    """Hooks for metrics; defaults do nothing."""

    sent: Callable[[int], None] = lambda count: None
    dropped: Callable[[], None] = lambda: None


class Broadcaster:
    """Coalescing fan-out of :class:`Change` to connected :class:`Client`."""

    def __init__(self, snapshot: Callable[[], Awaitable[dict[str, Task]]], *,
                 interval: float = 0.1, queue_size: int = 16, stats: BroadcastStats | None = None) -> None:
        self._snapshot = snapshot
        self.interval = interval
        self.queue_size = queue_size
        self.stats = stats or BroadcastStats()
        self.clients: set[Client] = set()
        self._pending = Pending()
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None

    # -- producers ---------------------------------------------------------

    def publish(self, change: Change) -> None:
        """Queue a change for the next message; never blocks."""
        if change.resync:
            # Changes may have been missed: every dashboard reconnects for a fresh snapshot.
            for client in list(self.clients):
                self._drop(client, RESYNC_CLOSE)
        self._pending.add(change)
        self._wake.set()

    # -- the loop ----------------------------------------------------------

    async def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="progressista-broadcast")

    async def close(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
            self._loop_task = None

    async def _run(self) -> None:
        # First change goes out at once; later ones wait out the interval, so
        # each client gets at most one message per interval.
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._flush()
            except Exception:  # one bad flush must not end broadcasting for good
                log.exception("broadcast failed")
            await asyncio.sleep(self.interval)

    async def _flush(self) -> None:
        pending, self._pending = self._pending, Pending()
        if not pending or not self.clients:
            return
        messages: dict[Mode, str] = {}
        if any(c.mode == "delta" for c in self.clients):
            messages["delta"] = json.dumps(pending.delta(), separators=(",", ":"))
        if any(c.mode == "snapshot" for c in self.clients):
            messages["snapshot"] = _dumps_snapshot(await self._snapshot())
        for client in list(self.clients):
            # A client that joined during the await above reads its own snapshot later.
            message = messages.get(client.mode)
            if message is not None:
                self._offer(client, message)

    def _offer(self, client: Client, message: str) -> None:
        if not client.ready:
            client.backlog.append(message)
            if len(client.backlog) < self.queue_size:  # leaves room for the snapshot
                return
        else:
            with contextlib.suppress(asyncio.QueueFull):
                client.queue.put_nowait(message)
                return
        self._drop(client)

    def _drop(self, client: Client, code: int = SLOW_CLIENT_CLOSE) -> None:
        if client in self.clients:
            self.clients.discard(client)
            client.close_code = code
            client.dropped.set()
            if code == SLOW_CLIENT_CLOSE:
                self.stats.dropped()
                log.info("dropped a WebSocket client that fell %d messages behind", self.queue_size)

    # -- one client --------------------------------------------------------

    async def serve(self, websocket: WebSocket, mode: Mode) -> None:
        """Send this (accepted) client a snapshot, then changes, until it leaves or lags."""
        client = Client(websocket, mode, asyncio.Queue(self.queue_size))
        self.clients.add(client)
        try:
            tasks = await self._snapshot()
            first: dict[str, Any] = {"tasks": tasks} if mode == "snapshot" else {"type": "snapshot", "tasks": tasks}
            client.queue.put_nowait(json.dumps(first, separators=(",", ":")))
            # A later full snapshot supersedes earlier ones; deltas all count.
            for message in client.backlog[-1:] if mode == "snapshot" else client.backlog:
                client.queue.put_nowait(message)
            client.backlog.clear()
            client.ready = True
            await _first_done(self._write(client), self._read_until_closed(websocket), client.dropped.wait())
        finally:
            self.clients.discard(client)
        if client.dropped.is_set():
            reason = "too slow; reconnect" if client.close_code == SLOW_CLIENT_CLOSE else "resync; reconnect"
            with contextlib.suppress(Exception):
                await asyncio.wait_for(websocket.close(client.close_code, reason), 1.0)

    async def _write(self, client: Client) -> None:
        while True:
            message = await client.queue.get()
            await client.websocket.send_text(message)
            self.stats.sent(1)

    @staticmethod
    async def _read_until_closed(websocket: WebSocket) -> None:
        # Dashboards send nothing we need; reading is how a disconnect shows up.
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return


def _dumps_snapshot(tasks: dict[str, Task]) -> str:
    return json.dumps({"tasks": tasks}, separators=(",", ":"))


async def _first_done(*coros: Awaitable[Any]) -> None:
    """Run coroutines until the first one finishes (or fails); cancel the rest."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            log.debug("WebSocket client ended: %r", task.exception())
