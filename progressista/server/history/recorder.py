"""The history recorder: the store's changes in, rows out in batches, and every key's usual duration kept live.

:meth:`History.observe` runs with every change the store reports (with Redis,
every server's): a task whose new status is ``close`` or ``error`` has just
ended (a final task takes no more changes; a ``start`` begins a new run), so
it is queued; a ``lost`` task is remembered until it is removed, when it is
queued as ``lost``. ``observe`` runs inside every ingest request, so it only
queues the task (tasks are replaced, never changed in place): a writer task
turns the queue into rows on a thread of its own every :data:`FLUSH_SECONDS`
and hands them to the store in one batch. A failing store (a full disk, a
read-only file, Redis away) is logged once per streak, its rows kept for the
next try (up to :data:`MAX_WAITING`); ingest never waits on it.

The usual duration of each key (the median of its last successful runs, see
:mod:`progressista.protocol.history`) is kept in memory, loaded at start and
moved by every row recorded (when its batch is built, before it is stored);
:meth:`annotate` adds it to open tasks as ``usual_duration``.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from progressista.protocol.history import USUAL_FIELD, USUAL_RUNS, task_key, usual

from ..background import stop
from ..store import Change
from ..tasks import Task
from .rows import Keys, Query, row_of
from .store import HistoryStore

__all__ = ["FLUSH_SECONDS", "History"]

log = logging.getLogger("progressista.server")

#: Seconds between writes of the rows recorded.
FLUSH_SECONDS = 0.5
#: Rows kept for the next try while the store fails; past it the oldest are dropped (and counted).
MAX_WAITING = 50_000
#: Rows waiting that are written at once, without waiting out :data:`FLUSH_SECONDS`. Large: a store
#: writes a big batch for much less a row (SQLite touches each index page once a batch, not once a row).
FULL_BATCH = 10_000
#: Seconds between prunes of rows older than the retention.
PRUNE_SECONDS = 3600.0

_OPEN = ("start", "update", "stale")
_UNKNOWN = object()  # a key whose usual duration is not worked out yet


class Ended:
    """Runs that ended, their rows not built yet: task ids, tasks, and the statuses they ended with (``None``:
    the task's), in three lists rather than a tuple a run: a tuple holding a task is one more object for
    the garbage collector to follow, thousands a second, each surviving until its batch is built."""

    __slots__ = ("ids", "statuses", "tasks")

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.tasks: list[Task] = []
        self.statuses: list[str | None] = []

    def __len__(self) -> int:
        return len(self.ids)

    def extend(self, other: Ended) -> None:
        self.ids += other.ids
        self.tasks += other.tasks
        self.statuses += other.statuses

    def drop(self, count: int) -> None:
        """Forget the oldest ``count``."""
        del self.ids[:count], self.tasks[:count], self.statuses[:count]


def _joined(first: Ended, then: Ended) -> Ended:
    first.extend(then)
    return first


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
        self._ended = Ended()  # queued by observe, turned into rows by the writer
        self._waiting: list[dict[str, Any]] = []  # rows built, not stored yet (kept while the store fails)
        self._lost: dict[str, Task] = {}
        self._usual: dict[str, deque[tuple[float, float | None]]] = {}
        self._medians: dict[str, Any] = {}  # key -> usual(its runs), worked out once per change of its runs
        self._keys: dict[str, str] = {}  # task id -> key, for the tasks annotated
        self._row_keys = Keys()  # used on the builder thread only
        self._builder: ThreadPoolExecutor | None = None
        self._flushing = asyncio.Lock()  # one flush at a time: rows stored and usual durations moved in order
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
        try:
            await self.store.start()
            successes = await self.store.successes(USUAL_RUNS)
        except BaseException:
            await self.store.close()  # it cannot be opened or read: no connection or thread is left behind
            raise
        for key, runs in successes.items():
            self._usual[key] = deque(runs, maxlen=USUAL_RUNS)
        self._lost = {task_id: task for task_id, task in tasks.items() if task.get("status") == "lost"}
        self._builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="progressista-history-rows")
        self._writer = asyncio.create_task(self._write_loop(), name="progressista-history")

    async def close(self) -> None:
        if self.store is None:
            return
        await stop(self._writer)
        self._writer = None
        await self._flush()  # what was recorded last
        await self.store.close()
        if self._builder is not None:
            self._builder.shutdown(wait=True)
            self._builder = None

    # -- producers ---------------------------------------------------------

    def observe(self, change: Change) -> None:
        """Queue the runs ``change`` ended; never blocks, and does little: it runs inside every ingest."""
        if self.store is None or change.resync:
            return
        ended, lost = self._ended, self._lost
        ids, tasks, statuses = ended.ids, ended.tasks, ended.statuses
        queued = len(ids)
        if lost:
            for task_id in change.removed:
                task = lost.pop(task_id, None)
                if task is not None:
                    ids.append(task_id)
                    tasks.append(task)
                    statuses.append("lost")
        for task_id, task in change.tasks.items():
            status = task.get("status")
            if status == "lost":
                lost[task_id] = task
                continue
            if lost:
                lost.pop(task_id, None)
            if status == "close" or status == "error":
                ids.append(task_id)
                tasks.append(task)
                statuses.append(None)
        if len(ids) > queued:
            if len(ids) + len(self._waiting) > MAX_WAITING:
                self._drop_oldest()
            self._wake.set()

    def _drop_oldest(self) -> None:
        dropped = len(self._ended) + len(self._waiting) - MAX_WAITING
        from_rows = min(dropped, len(self._waiting))  # the rows built are the older ones
        del self._waiting[:from_rows]
        self._ended.drop(dropped - from_rows)
        self._on_dropped(dropped)
        if not self._dropping:  # once per streak
            log.warning("history: more than %d runs wait to be recorded; dropping the oldest", MAX_WAITING)
            self._dropping = True

    def _rows_of(self, ended: Ended) -> list[dict[str, Any]]:
        """The rows of ``ended`` (on the builder thread)."""
        keys = self._row_keys
        return [
            row_of(task_id, task, status, keys)
            for task_id, task, status in zip(ended.ids, ended.tasks, ended.statuses, strict=True)
        ]

    def _learn(self, rows: list[dict[str, Any]]) -> None:
        """Move the usual durations by the successful runs in ``rows`` (on the event loop: annotate reads them)."""
        usual_runs, medians = self._usual, self._medians
        for row in rows:
            if row["status"] == "close":
                key = row["key"]
                runs = usual_runs.get(key)
                if runs is None:
                    runs = usual_runs[key] = deque(maxlen=USUAL_RUNS)
                runs.appendleft((row["duration"], row["rate"]))
                medians.pop(key, None)

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
            if len(self._ended) + len(self._waiting) < FULL_BATCH:  # a full batch goes at once: it keeps up
                self._dropping = False
                await asyncio.sleep(FLUSH_SECONDS)

    async def _flush(self) -> None:
        if self.store is None:
            return
        async with self._flushing:
            if self._ended:
                ended, self._ended = self._ended, Ended()
                try:
                    rows = await self._build(ended)
                except BaseException:  # cancelled (a stop): the final flush builds them
                    self._ended = _joined(ended, self._ended)
                    raise
                self._learn(rows)
                self._waiting += rows
            if not self._waiting:
                return
            rows, self._waiting = self._waiting, []
            try:
                await self.store.add(rows)
            except asyncio.CancelledError:  # a stop: the final flush stores them (again: a row is kept once)
                self._waiting = rows + self._waiting
                raise
            except Exception as exc:
                self._waiting = rows + self._waiting
                if self._failing is None:
                    log.warning(
                        "history: could not record %d run(s) (%s); retrying, not logged again until then",
                        len(rows),
                        exc,
                    )
                self._failing = str(exc)
                self._wake.set()
                return
            if self._failing is not None:
                log.warning("history: recording works again")
                self._failing = None

    async def _build(self, ended: Ended) -> list[dict[str, Any]]:
        if self._builder is None:  # not started, or closing
            return self._rows_of(ended)
        return await asyncio.get_running_loop().run_in_executor(self._builder, self._rows_of, ended)

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

    def _median(self, key: str) -> Any:
        """The usual duration of ``key``, worked out once per change of its runs; ``_UNKNOWN`` for no runs."""
        found = self._medians.get(key, _UNKNOWN)
        if found is _UNKNOWN:
            runs = self._usual.get(key)
            if not runs:
                return _UNKNOWN
            found = self._medians[key] = usual([duration for duration, _ in runs])
        return found

    def annotate(self, tasks: Mapping[str, Task]) -> dict[str, Task]:
        """``tasks`` with ``usual_duration`` on each open one whose key has successful runs (copies those)."""
        if not self._usual:
            return dict(tasks)
        shown: dict[str, Task] = {}
        keys = self._keys
        for task_id, task in tasks.items():
            if task.get("status") in _OPEN:
                key = keys.get(task_id)
                if key is None:
                    key = keys[task_id] = task_key(task_id, task.get("meta"))
                    if len(keys) > 100_000:
                        keys.clear()
                found = self._median(key)
                if found is not _UNKNOWN:
                    task = {**task, USUAL_FIELD: found}
            shown[task_id] = task
        return shown

    async def query(self, query: Query) -> list[dict[str, Any]]:
        if self.store is None:
            return []
        await self._flush()  # what this server recorded is in what it answers
        return await self.store.query(query)
