"""Fan-out of task changes to WebSocket dashboards, coalesced per interval.

Stores report changes with :meth:`Broadcaster.publish` (cheap, never awaits).
One loop turns everything pending into at most one message per client per
``interval``: a full ``{"tasks": ...}`` snapshot for default-mode clients, a
``{"type": "delta", ...}`` for delta-mode clients, each serialised once and
shared (and compressed once, by :mod:`progressista.server.deflate` under
``progressista serve``). Every client has a bounded queue and its own writer; a
delta client whose queue is full is dropped (it reconnects and gets a fresh
snapshot), so a slow dashboard never holds up ingestion or the others.

Snapshot clients cost the whole task map a message, so they are paced
(:class:`SnapshotPace`): a snapshot is built at most once per ``interval`` and
no more often than keeps the time spent building and sending snapshots under
:data:`SNAPSHOT_SHARE` of the server's time; a client that has not taken the
last one gets the newer one in its place (a later snapshot supersedes
earlier ones), and is dropped only when ``queue_size`` snapshots in a row
pass while one send to it is still under way (it stopped reading).

Delta mode also carries group rows (``groups``, ``groups_removed``; see
:mod:`progressista.protocol.feed`), computed from this process's
:class:`~progressista.server.view.TaskView`, which every published change
updates. The view is loaded from the store at start, and again when a shared
store's change feed was lost (``Change.resync``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.websockets import WebSocket

from progressista.protocol.feed import REASON_RESYNC, REASON_TOO_SLOW, SERVICE_RESTART, TRY_AGAIN_LATER, Backoff
from progressista.protocol.groups import groups

from .background import stop
from .store import Change
from .tasks import Task
from .view import MEMBERS_PER_SECOND, TaskView

__all__ = ["Broadcaster", "Client", "Mode", "Pending", "Reader"]

log = logging.getLogger("progressista.server")

Mode = Literal["snapshot", "delta"]
#: Reads one client's messages until it leaves (``None``) or earns a close ``(code, reason)``.
Reader = Callable[[], Awaitable[tuple[int, str] | None]]

_REASONS = {TRY_AGAIN_LATER: REASON_TOO_SLOW, SERVICE_RESTART: REASON_RESYNC}
_RELOAD_BACKOFF = Backoff(first=0.1, limit=5.0)

#: At most this share of the server's time goes to building and sending snapshot-mode messages.
SNAPSHOT_SHARE = 0.5
#: Tasks serialised at once (about 4.5 ms of the event loop) by :func:`dumps`.
_CHUNK = 1_000
#: Messages at least this long are handed out one client per turn of the loop.
_LARGE = 64 * 1024


@dataclass
class SnapshotPace:
    """When the next snapshot-mode message may be built (pure bookkeeping, times in seconds).

    A round costs the serialisation plus one send per client; each send is
    reckoned at the median of the round's measured sends, so a client that
    makes its sends wait (it reads slowly) does not slow the others' pace.

    >>> pace = SnapshotPace(interval=0.1)
    >>> pace.due(now=0.0)
    True
    >>> pace.began(now=0.0, serialising=0.06, clients=10)
    >>> for _ in range(9): pace.sent(0.002)
    >>> pace.sent(2.0)  # a slow reader
    >>> round(pace.next_at, 3), pace.due(now=0.1), pace.due(now=0.17)
    (0.16, False, True)
    """

    interval: float
    share: float = SNAPSHOT_SHARE
    _started: float = field(default=float("-inf"), init=False)
    _serialising: float = field(default=0.0, init=False)
    _clients: int = field(default=0, init=False)
    _sends: list[float] = field(default_factory=list, init=False)

    def began(self, now: float, serialising: float, clients: int) -> None:
        """A round started at ``now``: serialising took ``serialising`` s and it went to ``clients``."""
        self._started, self._serialising, self._clients = now, serialising, clients
        self._sends = []

    def sent(self, seconds: float) -> None:
        """One client's send of the current round took ``seconds``."""
        self._sends.append(seconds)

    @property
    def next_at(self) -> float:
        cost = self._serialising + self._clients * (statistics.median(self._sends) if self._sends else 0.0)
        return self._started + max(self.interval, cost / self.share)

    def due(self, now: float) -> bool:
        return now >= self.next_at


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

    def delta(self, groups: dict[str, Any], groups_removed: list[str]) -> dict[str, Any]:
        """The delta message for these changes, with the group rows that changed and the groups emptied."""
        return {
            "type": "delta",
            "tasks": self.tasks,
            "removed": sorted(self.removed),
            "groups": groups,
            "groups_removed": groups_removed,
        }


@dataclass(eq=False)
class Client:
    """One connected dashboard."""

    websocket: WebSocket
    mode: Mode
    queue: asyncio.Queue[str]
    ready: bool = False
    # Snapshot mode: snapshots superseded in a row while a send to it was under way.
    skipped: int = 0
    # Messages produced while the first snapshot was being read; sent right after it.
    backlog: list[str] = field(default_factory=list)
    dropped: asyncio.Event = field(default_factory=asyncio.Event)
    close_code: int = TRY_AGAIN_LATER
    close_reason: str = REASON_TOO_SLOW
    # Delta mode: the group rows of its snapshot, until its first delta leaves out those it has.
    known: dict[str, Any] | None = None


@dataclass
class BroadcastStats:
    """Hooks for metrics; defaults do nothing."""

    sent: Callable[[int], None] = lambda count: None
    dropped: Callable[[], None] = lambda: None


class Broadcaster:
    """Coalescing fan-out of :class:`Change` to connected :class:`Client`."""

    def __init__(
        self,
        snapshot: Callable[[], Awaitable[dict[str, Task]]],
        *,
        interval: float = 0.1,
        queue_size: int = 16,
        stats: BroadcastStats | None = None,
    ) -> None:
        self._snapshot = snapshot
        self.interval = interval
        self.queue_size = queue_size
        self.stats = stats or BroadcastStats()
        self.clients: set[Client] = set()
        self.view = TaskView(budget=round(MEMBERS_PER_SECOND * interval))
        # Changes published while the view loads, applied once it has (None: loaded).
        self._unseen: list[Change] | None = []
        self._loads = 0  # counts loads begun, so an outdated one never replaces a newer view
        self._loader: asyncio.Task[None] | None = None
        self._pending = Pending()
        # Snapshot mode: whether snapshot clients lack changes, the current round's message, and the pace.
        self._snapshot_stale = False
        self._snapshot_round: str | None = None
        self.pace = SnapshotPace(interval)
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None

    # -- producers ---------------------------------------------------------

    def publish(self, change: Change) -> None:
        """Queue a change for the next message; never blocks."""
        if change.resync:
            # Changes may have been missed: every dashboard reconnects for a fresh snapshot,
            # and the view starts over from the store.
            for client in list(self.clients):
                self._drop(client, SERVICE_RESTART)
            self._load_view()
        if self._unseen is not None:
            self._unseen.append(change)
        else:
            self.view.apply(change)
        self._pending.add(change)
        self._wake.set()

    # -- the loop ----------------------------------------------------------

    async def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="progressista-broadcast")
        self._load_view()

    async def close(self) -> None:
        await stop(self._loop_task, self._loader)
        self._loop_task = self._loader = None

    def _load_view(self) -> None:
        """(Re)load the view from the store in the background; changes published meanwhile wait for it."""
        if self._loader is not None:
            self._loader.cancel()  # may go unnoticed (see background.stop): the count below decides
        self._loads += 1
        self._unseen = []
        self._loader = asyncio.create_task(self._load(self._loads), name="progressista-view")

    async def _load(self, number: int) -> None:
        attempt = 0
        while True:
            try:
                tasks = await self._snapshot()
                break
            except Exception as exc:  # a shared store that is down: try again; snapshots bring rows meanwhile
                attempt += 1
                log.warning("could not load the tasks for group rows (%s); retrying", exc)
                await asyncio.sleep(_RELOAD_BACKOFF.delay(attempt))
        if number != self._loads or self._unseen is None:  # a later load has begun: it will do this
            return
        self.view.reset(tasks)
        for change in self._unseen:
            self.view.apply(change)
        self._unseen = None

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
            if self.view.waiting and self._unseen is None and any(c.mode == "delta" for c in self.clients):
                self._wake.set()  # rows wait for their turn (the budget): come back next interval
            if self._snapshot_stale:
                self._wake.set()  # the snapshot waits for its pace: come back next interval
            await asyncio.sleep(self.interval)

    async def _flush(self) -> None:
        pending, self._pending = self._pending, Pending()
        snapshot_clients = sum(c.mode == "snapshot" for c in self.clients)
        self._snapshot_stale = bool(snapshot_clients and (pending or self._snapshot_stale))
        if not self.clients:
            return
        messages: dict[Mode, str] = {}
        if self._snapshot_stale and self.pace.due(time.monotonic()):
            began = time.monotonic()
            text, serialising = await dumps({"tasks": await self._snapshot()})
            messages["snapshot"] = self._snapshot_round = text
            self.pace.began(began, serialising, sum(c.mode == "snapshot" for c in self.clients))
            self._snapshot_stale = False
        # Rows taken after that await: a delta client whose snapshot came meanwhile has those already.
        rows: dict[str, Any] = {}
        emptied: list[str] = []
        if any(c.mode == "delta" for c in self.clients):
            if self._unseen is None:
                rows, emptied = self.view.take_changes()
            if pending or rows or emptied:
                messages["delta"] = json.dumps(pending.delta(rows, emptied), separators=(",", ":"))
        for client in list(self.clients):
            # A client that joined during the await above reads its own snapshot later.
            message = messages.get(client.mode)
            if client.known is not None and client.ready:
                message = _first_delta(pending, rows, emptied, client.known, message)
                client.known = None
            if message is not None:
                self._offer(client, message)
                if len(message) >= _LARGE:
                    # Its writer sends it in the next turn of the loop: one large send a turn, so
                    # requests are read in between instead of waiting for every client's.
                    await asyncio.sleep(0)

    def _offer(self, client: Client, message: str) -> None:
        if not client.ready:
            client.backlog.append(message)
            if len(client.backlog) < self.queue_size:  # leaves room for the snapshot
                return
        elif client.mode == "snapshot":
            while not client.queue.empty():  # superseded: the newer snapshot goes in its place
                client.queue.get_nowait()
                client.skipped += 1
            if client.skipped < self.queue_size:
                client.queue.put_nowait(message)
                return
        else:
            with contextlib.suppress(asyncio.QueueFull):
                client.queue.put_nowait(message)
                return
        self._drop(client)

    def _drop(self, client: Client, code: int = TRY_AGAIN_LATER, reason: str | None = None) -> None:
        if client in self.clients:
            self.clients.discard(client)
            client.close_code = code
            client.close_reason = _REASONS[code] if reason is None else reason
            client.dropped.set()
            if code == TRY_AGAIN_LATER:
                self.stats.dropped()
                log.info("dropped a WebSocket client that fell %d messages behind", self.queue_size)

    # -- one client --------------------------------------------------------

    async def serve(self, websocket: WebSocket, mode: Mode, read: Reader | None = None) -> None:
        """Send this (accepted) client a snapshot, then changes, until it leaves or lags.

        ``read()`` reads what the client sends until it leaves (``None``) or
        deserves a close (``(code, reason)``); by default everything is read and ignored.
        """
        client = Client(websocket, mode, asyncio.Queue(self.queue_size))
        self.clients.add(client)
        try:
            tasks = await self._snapshot()
            first: dict[str, Any] = {"tasks": tasks}
            if mode == "delta":
                # The view's rows where they are this snapshot's (no aggregate computed again).
                rows = self.view.rows_for(tasks) if self._unseen is None else groups(tasks)
                first = {"type": "snapshot", "tasks": tasks, "groups": rows}
                client.known = rows
                if self.view.waiting:
                    self._wake.set()  # groups it could not take from the view: computed and sent next broadcast
            client.queue.put_nowait((await dumps(first))[0])
            # A later full snapshot supersedes earlier ones; deltas all count.
            for message in client.backlog[-1:] if mode == "snapshot" else client.backlog:
                client.queue.put_nowait(message)
            client.backlog.clear()
            client.ready = True
            reading = self._read_until_closed(websocket) if read is None else self._read(client, read)
            await _first_done(self._write(client), reading, client.dropped.wait())
        finally:
            self.clients.discard(client)
        if client.dropped.is_set():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(websocket.close(client.close_code, client.close_reason), 1.0)

    async def _write(self, client: Client) -> None:
        while True:
            message = await client.queue.get()
            began = time.monotonic()
            await client.websocket.send_text(message)
            if message is self._snapshot_round:
                self.pace.sent(time.monotonic() - began)
            client.skipped = 0
            self.stats.sent(1)

    async def _read(self, client: Client, read: Reader) -> None:
        close = await read()
        if close is not None:  # closed once the writer has stopped, as a dropped client is
            self._drop(client, *close)

    @staticmethod
    async def _read_until_closed(websocket: WebSocket) -> None:
        # Dashboards send nothing we need; reading is how a disconnect shows up.
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return


def _first_delta(
    pending: Pending, rows: dict[str, Any], emptied: list[str], known: dict[str, Any], shared: str | None
) -> str | None:
    """A client's first delta: the shared one, less the rows its snapshot already had."""
    fresh = {prefix: row for prefix, row in rows.items() if known.get(prefix) != row}
    gone = [prefix for prefix in emptied if prefix in known]
    if len(fresh) == len(rows) and len(gone) == len(emptied):
        return shared
    if not (pending or fresh or gone):
        return None
    return json.dumps(pending.delta(fresh, gone), separators=(",", ":"))


async def dumps(message: dict[str, Any]) -> tuple[str, float]:
    """``message`` as compact JSON, and the seconds spent on it.

    Its ``tasks`` are serialised :data:`_CHUNK` at a time with a turn of the loop
    between (10,000 tasks take about 45 ms at once), so requests are served meanwhile.

    >>> tasks = {f"t{i}": {"n": i, "desc": "é"} for i in range(2_500)}
    >>> message = {"type": "snapshot", "tasks": tasks, "groups": {"t": {"count": 2_500}}}
    >>> text, _ = asyncio.run(dumps(message))
    >>> text == json.dumps(message, separators=(",", ":"))
    True
    """
    parts: list[str] = []
    spent = 0.0
    for name, value in message.items():
        began = time.monotonic()
        if name != "tasks" or len(value) <= _CHUNK:
            parts.append(f"{json.dumps(name)}:{json.dumps(value, separators=(',', ':'))}")
            spent += time.monotonic() - began
            continue
        items = list(value.items())
        chunks: list[str] = []
        for start in range(0, len(items), _CHUNK):
            began = time.monotonic()
            chunks.append(json.dumps(dict(items[start : start + _CHUNK]), separators=(",", ":"))[1:-1])
            spent += time.monotonic() - began
            await asyncio.sleep(0)
        parts.append(f"{json.dumps(name)}:{{{','.join(chunks)}}}")
    return "{" + ",".join(parts) + "}", spent


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
