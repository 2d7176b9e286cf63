"""Where tasks live: the store interface and the in-memory store.

Routes and the lifecycle loop talk only to :class:`TaskStore`. Every change a
store makes is reported through its ``on_change`` callback as a :class:`Change`,
which the app wires to the broadcaster; a store shared between processes calls
it for changes made elsewhere too.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .background import wait_event
from .models import Event
from .store_json import JsonFile
from .tasks import Lifecycle, Task, count_by_status, evictions, matches, merge, new_task_limit, sweep, with_status

__all__ = ["Change", "FailedSaves", "MemoryStore", "StoreUnavailable", "TaskStore", "TooManyNewTasks", "TooManyTasks"]

log = logging.getLogger("progressista.server")


@dataclass
class Change:
    """Tasks that changed (their new state) and task ids that were removed.

    ``resync`` says changes may have been missed (a shared store's feed was
    lost): dashboards must start over from a fresh snapshot.
    """

    tasks: dict[str, Task] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    resync: bool = False

    def __bool__(self) -> bool:
        return bool(self.tasks or self.removed or self.resync)


class TooManyTasks(Exception):
    """New tasks would exceed ``max_tasks`` and every stored task is still open (active or stale)."""


class TooManyNewTasks(Exception):
    """One request would create more new tasks than one request may (:func:`.tasks.new_task_limit`)."""


def too_many_tasks(max_tasks: int) -> TooManyTasks:
    """The refusal both stores give when the cap is reached and nothing can be evicted."""
    return TooManyTasks(
        f"the server holds max_tasks={max_tasks} tasks, none completed or lost (those are evicted "
        "to make room); new tasks are refused until some end or go lost"
    )


def too_many_new_tasks(max_tasks: int) -> TooManyNewTasks:
    """The refusal both stores give a request that would create too many tasks at once."""
    return TooManyNewTasks(
        f"body: one request may create at most {new_task_limit(max_tasks)} new tasks "
        f"(a tenth of max_tasks={max_tasks}, at least 100); send the new task ids in smaller batches"
    )


class StoreUnavailable(Exception):
    """The store cannot be reached (a shared store's server is down); retry later."""


def _ignore(change: Change) -> None:
    pass


def _nothing() -> None:
    pass


@dataclass
class FailedSaves:
    """A streak of saves that failed one after another: logged when it begins and summed up when it ends."""

    began: float  # time.monotonic()
    first: str  # the first error, as logged
    last: str = ""
    count: int = 0

    def summary(self, now: float) -> str:
        """``3 saves failed over 4.2 s`` (and the last error, when it was not the first)."""
        saves = "save" if self.count == 1 else "saves"
        text = f"{self.count} {saves} failed over {now - self.began:.1f} s"
        return text if self.last == self.first else f"{text}, the last with: {self.last}"


class TaskStore(abc.ABC):
    """The small interface every store implements."""

    def __init__(self) -> None:
        #: Called with every change; the app points it at the broadcaster.
        self.on_change: Callable[[Change], None] = _ignore
        #: Called for every save to storage that fails; the app points it at a metrics counter.
        #: Only stores that save a snapshot call it (Redis keeps each write itself).
        self.on_save_failure: Callable[[], None] = _nothing

    async def start(self) -> None:  # noqa: B027 - an optional hook, not abstract
        """Load state and start background work."""

    async def close(self) -> None:  # noqa: B027 - an optional hook, not abstract
        """Stop background work and persist what must be."""

    async def ping(self) -> bool:
        """Can the store serve requests right now?"""
        return True

    async def problem(self) -> str | None:
        """Why the store may not keep what it acknowledges now (``/health`` says degraded); ``None``: no reason."""
        return None

    @abc.abstractmethod
    async def apply(self, events: list[Event], now: float) -> int:
        """Merge a validated batch, all or nothing; return how many events changed a task's state.

        Every accepted event counts as contact (``seen_at``), even when it changes nothing else.

        Raises :class:`TooManyTasks` (and changes nothing) when new tasks do not fit, and
        :class:`TooManyNewTasks` when the batch creates more than one request may.
        """

    @abc.abstractmethod
    async def tasks(
        self, statuses: frozenset[str] | None = None, older_than: float | None = None, *, now: float
    ) -> dict[str, Task]:
        """The tasks that pass the filters (all of them by default)."""

    @abc.abstractmethod
    async def counts(self) -> dict[str, int]:
        """How many tasks have each status (``{"update": 3, "close": 1}``; no zeros).

        Kept up to date with every change, so it costs the same for ten tasks or
        ten thousand: ``/health`` and ``/metrics`` are open to all and polled.
        """

    @abc.abstractmethod
    async def remove(self, task_ids: Iterable[str]) -> list[str]:
        """Remove tasks by id; return the ids that existed."""

    @abc.abstractmethod
    async def sweep(self, now: float, policy: Lifecycle) -> Change:
        """One lifecycle pass: mark stale, purge expired. Returns what it changed."""

    async def remove_matching(
        self, statuses: frozenset[str] | None, older_than: float | None, *, now: float
    ) -> list[str]:
        """Remove every task that passes the filters; return their ids."""
        return await self.remove(await self.tasks(statuses, older_than, now=now))


class MemoryStore(TaskStore):
    """Tasks in a dict, optionally saved to a JSON file (see :mod:`.store_json`)."""

    def __init__(self, max_tasks: int = 10_000, file: JsonFile | None = None, save_interval: float = 2.0) -> None:
        super().__init__()
        self.max_tasks = max_tasks
        self._tasks: dict[str, Task] = {}
        self._counts: dict[str, int] = {}  # by status, kept by _put and _drop
        #: Tasks read by whole-store reads (``tasks()``) so far; tests and benchmarks use it
        #: to show that a probe reads none.
        self.tasks_read = 0
        self._file = file
        self._save_interval = save_interval
        self._dirty = asyncio.Event()
        self._stop = asyncio.Event()
        self._saver: asyncio.Task[None] | None = None
        self._failed: FailedSaves | None = None  # the current streak of failed saves

    async def start(self) -> None:
        if self._file is not None:
            await asyncio.to_thread(self._file.lock)  # a second server on the file stops here
            try:
                self._tasks = await asyncio.to_thread(self._file.load)
            except BaseException:
                self._file.unlock()
                raise
            self._counts = count_by_status(self._tasks.values())
            self._saver = asyncio.create_task(self._save_loop(), name="progressista-save")

    async def close(self) -> None:
        if self._saver is not None:
            self._stop.set()
            self._dirty.set()  # wakes the save loop so it sees the stop
            await self._saver
            self._saver = None
            await self._save()
            if self._failed is not None and self._file is not None:  # the streak's warning may be long gone
                log.error(
                    "stopped without saving tasks to %s (%s): changes since the last good save are lost",
                    self._file.path,
                    self._failed.summary(time.monotonic()),
                )
        if self._file is not None:
            self._file.unlock()

    async def problem(self) -> str | None:
        if self._failed is None or self._file is None:
            return None
        return f"cannot save tasks to {self._file.path}: {self._failed.last}"

    async def apply(self, events: list[Event], now: float) -> int:
        tasks = self._tasks
        # Not `ids - tasks.keys()`: that copies every key, O(tasks) per request.
        new_ids = {event["task_id"] for event in events if event["task_id"] not in tasks}
        change = Change()
        if new_ids:
            if len(new_ids) > new_task_limit(self.max_tasks):
                raise too_many_new_tasks(self.max_tasks)
            named = {event["task_id"] for event in events}
            evicted = evictions(tasks, len(new_ids), self.max_tasks, keep=named)
            if evicted is None:
                raise too_many_tasks(self.max_tasks)
            for task_id in evicted:
                self._drop(task_id)
            change.removed = evicted
        applied = 0
        changed, put = change.tasks, self._put
        for event in events:
            task_id = event["task_id"]
            merged = merge(tasks.get(task_id), event, now)
            if merged is not None:
                task, moved = merged
                put(task_id, task)
                if moved:
                    changed[task_id] = task
                    applied += 1
        self._changed(change)
        return applied

    async def tasks(
        self, statuses: frozenset[str] | None = None, older_than: float | None = None, *, now: float
    ) -> dict[str, Task]:
        self.tasks_read += len(self._tasks)
        if statuses is None and older_than is None:
            return dict(self._tasks)
        return {k: t for k, t in self._tasks.items() if matches(t, statuses, older_than, now)}

    async def counts(self) -> dict[str, int]:
        return {status: n for status, n in self._counts.items() if n}

    async def remove(self, task_ids: Iterable[str]) -> list[str]:
        removed = [task_id for task_id in task_ids if self._drop(task_id)]
        self._changed(Change(removed=removed))
        return removed

    async def sweep(self, now: float, policy: Lifecycle) -> Change:
        decisions = sweep(self._tasks, now, policy)
        change = Change(removed=decisions.expired)
        for task_id, status in decisions.marks().items():
            change.tasks[task_id] = with_status(self._tasks[task_id], status)
            self._put(task_id, change.tasks[task_id])
        for task_id in decisions.expired:
            self._drop(task_id)
        self._changed(change)
        return change

    # Every write to _tasks goes through these two, so the counts stay right.
    def _put(self, task_id: str, task: Task) -> None:
        old = self._tasks.get(task_id)
        self._tasks[task_id] = task
        if old is None or old["status"] != task["status"]:
            counts = self._counts
            if old is not None:
                counts[old["status"]] -= 1
            counts[task["status"]] = counts.get(task["status"], 0) + 1

    def _drop(self, task_id: str) -> bool:
        """Remove a task; ``False`` when there was none."""
        old = self._tasks.pop(task_id, None)
        if old is None:
            return False
        self._counts[old["status"]] -= 1
        return True

    def _changed(self, change: Change) -> None:
        if change:
            self._dirty.set()
            self.on_change(change)

    async def _save_loop(self) -> None:
        """Save when dirty, at most once per ``save_interval``; ``close`` does the last save."""
        while True:
            await self._dirty.wait()
            if self._stop.is_set():
                return
            self._dirty.clear()
            await self._save()
            await wait_event(self._stop, self._save_interval)  # sleeps, but wakes at once for close()

    async def _save(self) -> None:
        """Save once; a failure is retried after ``save_interval`` and logged once per streak, not per retry."""
        assert self._file is not None
        try:
            # A shallow copy is a consistent snapshot: tasks are replaced, never mutated.
            await asyncio.to_thread(self._file.save, dict(self._tasks))
        except OSError as exc:
            self._dirty.set()
            self.on_save_failure()
            error = str(exc)
            if self._failed is None:
                self._failed = FailedSaves(began=time.monotonic(), first=error)
                log.warning(
                    "could not save tasks to %s: %s; retrying every %g s, /health answers degraded until a save "
                    "works (not logged again until then)",
                    self._file.path,
                    error,
                    self._save_interval,
                )
            self._failed.count += 1
            self._failed.last = error
        else:
            if self._failed is not None:
                log.warning("saving tasks to %s recovered: %s", self._file.path, self._failed.summary(time.monotonic()))
            self._failed = None
