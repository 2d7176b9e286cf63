"""The history recorder: the store's changes in, rows out in batches, and every key's usual duration kept live.

:meth:`History.observe` runs with every change the store reports (with Redis,
every server's): a task whose new status is ``close`` or ``error`` has just
ended (a final task takes no more changes; a ``start`` begins a new run), so
its row is queued; a ``lost`` task is remembered until it is removed, when
its row is queued as ``lost``. A writer task hands the rows to the store every
:data:`FLUSH_SECONDS`. A failing store (a full disk, a read-only file, Redis
away) is logged once per streak, its rows kept for the next try (up to
:data:`MAX_WAITING`); ingest never waits on it.

The usual duration of each key (the median of its last successful runs, see
:mod:`progressista.protocol.history`) is kept in memory, loaded at start and
moved by every row recorded; :meth:`annotate` adds it to open tasks as
``usual_duration``.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from progressista.protocol.history import USUAL_FIELD, USUAL_RUNS, task_key, usual

from ..background import stop
from ..store import Change
from ..tasks import Task
from .rows import Query, row_of
from .store import HistoryStore

__all__ = ["FLUSH_SECONDS", "History"]

log = logging.getLogger("progressista.server")

#: Seconds between writes of the rows recorded.
FLUSH_SECONDS = 0.5
#: Rows kept for the next try while the store fails; past it the oldest are dropped (and counted).
MAX_WAITING = 50_000
#: Rows waiting that are written at once, without waiting out :data:`FLUSH_SECONDS`.
FULL_BATCH = 500
#: Seconds between prunes of rows older than the retention.
PRUNE_SECONDS = 3600.0

_OPEN = ("start", "update", "stale")


class History:
    """Records finished runs into ``store`` (``None``: history is off)."""

    def __init__(
        self,
        store: HistoryStore | None,
        *,
        days: float = 30.0,
        clock: Callable[[], float] = time.time,
        on_dropped: Callable[[int], None] = lambda count: None,
    ) -> None:
        self.store = store
        self.days = days
        self._clock = clock
        self._on_dropped = on_dropped
        self._waiting: list[dict[str, Any]] = []
        self._lost: dict[str, Task] = {}
        self._usual: dict[str, deque[tuple[float, float | None]]] = {}
        self._keys: dict[str, str] = {}  # task id -> key, for the tasks annotated
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._failing: str | None = None
        self._dropping = False

    @property
    def enabled(self) -> bool:
        return self.store is not None

    # -- start and stop ----------------------------------------------------

    async def start(self, tasks: Mapping[str, Task]) -> None:
        """Open the store, load the usual durations, and remember the lost ``tasks`` (their rows come at removal)."""
        if self.store is None:
            return
        await self.store.start()
        for key, runs in (await self.store.successes(USUAL_RUNS)).items():
            self._usual[key] = deque(runs, maxlen=USUAL_RUNS)
        self._lost = {task_id: task for task_id, task in tasks.items() if task.get("status") == "lost"}
        self._writer = asyncio.create_task(self._write_loop(), name="progressista-history")

    async def close(self) -> None:
        if self.store is None:
            return
        await stop(self._writer)
        self._writer = None
        await self._flush()  # what was recorded last
        await self.store.close()

    # -- producers ---------------------------------------------------------

    def observe(self, change: Change) -> None:
        """Queue the rows of the runs ``change`` ended; never blocks."""
        if self.store is None or change.resync:
            return
        for task_id in change.removed:
            task = self._lost.pop(task_id, None)
            if task is not None:
                self._record(row_of(task_id, task, "lost"))
        for task_id, task in change.tasks.items():
            status = task.get("status")
            if status == "lost":
                self._lost[task_id] = task
                continue
            self._lost.pop(task_id, None)
            if status in ("close", "error"):
                self._record(row_of(task_id, task))

    def _record(self, row: dict[str, Any]) -> None:
        self._waiting.append(row)
        if row["status"] == "close":
            runs = self._usual.setdefault(row["key"], deque(maxlen=USUAL_RUNS))
            runs.appendleft((row["duration"], row["rate"]))
        if len(self._waiting) > MAX_WAITING:
            dropped = len(self._waiting) - MAX_WAITING
            del self._waiting[:dropped]
            self._on_dropped(dropped)
            if not self._dropping:  # once per streak
                log.warning("history: more than %d runs wait to be recorded; dropping the oldest", MAX_WAITING)
                self._dropping = True
        self._wake.set()

    # -- the writer --------------------------------------------------------

    async def _write_loop(self) -> None:
        pruned = 0.0
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._flush()
            now = self._clock()
            if now - pruned > PRUNE_SECONDS:
                pruned = now
                await self._prune(now)
            if len(self._waiting) < FULL_BATCH:  # a full batch goes at once: the writer keeps up under load
                self._dropping = False
                await asyncio.sleep(FLUSH_SECONDS)

    async def _flush(self) -> None:
        if not self._waiting or self.store is None:
            return
        rows, self._waiting = self._waiting, []
        try:
            await self.store.add(rows)
        except Exception as exc:
            self._waiting = rows + self._waiting
            if self._failing is None:
                log.warning(
                    "history: could not record %d run(s) (%s); retrying, not logged again until then", len(rows), exc
                )
            self._failing = str(exc)
            self._wake.set()
            return
        if self._failing is not None:
            log.warning("history: recording works again")
            self._failing = None

    async def _prune(self, now: float) -> None:
        if self.store is None or self.days <= 0:
            return
        try:
            removed = await self.store.prune(now - self.days * 86_400)
        except Exception as exc:
            log.warning("history: could not drop runs older than %g days (%s)", self.days, exc)
            return
        if removed:
            log.info("history: dropped %d run(s) older than %g days", removed, self.days)

    # -- readers -----------------------------------------------------------

    def usual_of(self, key: str) -> dict[str, Any] | None:
        """``{"duration", "rate", "runs"}`` for ``key``, if it has successful runs."""
        runs = self._usual.get(key)
        if not runs:
            return None
        rates = [rate for _, rate in runs if rate is not None]
        return {
            "duration": usual([duration for duration, _ in runs]),
            "rate": float(statistics.median(rates)) if rates else None,
            "runs": len(runs),
        }

    def annotate(self, tasks: Mapping[str, Task]) -> dict[str, Task]:
        """``tasks`` with ``usual_duration`` on each open one whose key has successful runs (copies those)."""
        if not self._usual:
            return dict(tasks)
        shown: dict[str, Task] = {}
        for task_id, task in tasks.items():
            if task.get("status") in _OPEN:
                key = self._keys.get(task_id)
                if key is None:
                    key = self._keys[task_id] = task_key(task_id, task.get("meta"))
                    if len(self._keys) > 100_000:
                        self._keys.clear()
                runs = self._usual.get(key)
                if runs:
                    task = {**task, USUAL_FIELD: usual([duration for duration, _ in runs])}
            shown[task_id] = task
        return shown

    async def query(self, query: Query) -> list[dict[str, Any]]:
        if self.store is None:
            return []
        await self._flush()  # what this server recorded is in what it answers
        return await self.store.query(query)
