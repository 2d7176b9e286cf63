"""Pure task logic: merging events, lifecycle decisions, filters, eviction.

A task is a plain JSON-ready dict (what ``GET /tasks`` returns). Nothing here
does I/O or reads a clock: every function takes ``now``. Functions never mutate
a task in place; they return a new dict, so a shallow copy of the task map is a
consistent snapshot.
"""

from __future__ import annotations

import heapq
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from progressista.protocol.runs import is_run_task
from progressista.protocol.statuses import ACTIVE, FINAL, OPEN
from progressista.protocol.task import BOOKKEEPING, TASK_DEFAULTS

from .models import Event

__all__ = [
    "Decisions",
    "Lifecycle",
    "Merged",
    "Task",
    "count_by_status",
    "evictions",
    "matches",
    "merge",
    "new_task_limit",
    "sweep",
    "with_status",
]

Task = dict[str, Any]

# new_task_limit: a request may create a tenth of max_tasks, and 100 whatever the cap.
_NEW_TASKS_SHARE = 10
_NEW_TASKS_AT_LEAST = 100


#: Event fields whose change alone is no progress.
_NOT_PROGRESS = BOOKKEEPING | {"status"}


class Merged(NamedTuple):
    """A task after an event, and whether its state changed (dashboards must hear of it)."""

    task: Task
    changed: bool


#: Makes a :class:`Merged` from a tuple without the Python-level ``__new__`` a NamedTuple has (0.13 us
#: against 0.2 a call; :func:`merge` runs per event).
_merged = tuple.__new__


def merge(task: Task | None, event: Event, now: float) -> Merged | None:
    """Apply ``event`` to ``task``; ``None`` when the event is ignored.

    - Missing fields keep their value (partial updates); a new task gets
      :data:`~progressista.protocol.task.TASK_DEFAULTS`.
    - ``close`` and ``error`` are final: only a new ``start`` reopens the task.
    - An event whose ``seq`` is lower than the last applied one is ignored, so
      retries never move a bar backwards. A ``start`` always applies: it begins
      a new run of the bar, whose counter starts again.
    - Progress (a field other than :data:`~progressista.protocol.task.BOOKKEEPING`
      changed, or a start/close/error) moves ``updated_at`` and
      revives a stale or lost task. Any other contact (a heartbeat resending the
      same state) only moves ``seen_at``, and revives a ``lost`` task, which the
      next lifecycle pass marks stale again if it still makes no progress.
    """
    status = event.get("status", "update")
    if task is None or (status == "start" and task["status"] in FINAL):
        fresh = _updated(TASK_DEFAULTS, event)
        fresh["status"], fresh["created_at"], fresh["updated_at"], fresh["seen_at"] = status, now, now, now
        return _merged(Merged, (fresh, True))
    if status != "start":
        if task["status"] in FINAL:
            return None
        seq, last = event.get("seq"), task["seq"]
        if seq is not None and last is not None and seq < last:
            return None
    progress = status != "update" and status != task["status"]
    if not progress:  # a loop, not any() over a generator: half the cost of a merge (it runs per event)
        stored = task.get
        for key, value in event.items():
            if key not in _NOT_PROGRESS and stored(key) != value:
                progress = True
                break
    merged = _updated(task, event)
    if progress:
        merged["status"], merged["updated_at"], merged["seen_at"] = status, now, now
        return _merged(Merged, (merged, True))
    revived = task["status"] == "lost"
    merged["status"], merged["seen_at"] = "update" if revived else task["status"], now
    return _merged(Merged, (merged, revived))


def _updated(task: Mapping[str, Any], event: Event) -> Task:
    """A new dict: ``task`` with ``event``'s fields (copy and update: 0.26 us, where ``{**task, **event}``
    takes 0.45, building its table up from empty). Tasks are never changed in place: snapshots and
    pending changes hold them."""
    merged = dict(task)
    merged.update(event)
    return merged


@dataclass(frozen=True)
class Lifecycle:
    """When tasks go stale or lost, and when they are purged (seconds; 0 disables)."""

    stale_seconds: float = 0
    retention_seconds: float = 86_400
    max_task_age: float = 0
    lost_seconds: float = 0


@dataclass
class Decisions:
    """What one lifecycle pass does: task ids to mark stale, to mark lost, to remove."""

    stale: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.stale or self.lost or self.expired)

    def marks(self) -> dict[str, str]:
        """``{task_id: new status}`` for the tasks that stay."""
        return {**{task_id: "stale" for task_id in self.stale}, **{task_id: "lost" for task_id in self.lost}}


def sweep(tasks: Mapping[str, Task], now: float, policy: Lifecycle) -> Decisions:
    """Decide a cleanup pass.

    - any task older than ``max_task_age`` (since creation) is removed;
    - completed tasks idle longer than ``retention_seconds`` are removed, and so
      are lost tasks not heard from for that long;
    - open tasks not heard from for ``lost_seconds`` become lost;
    - active tasks without progress for ``stale_seconds`` become stale (run tasks never:
      they have no progress of their own).
    """
    decisions = Decisions()
    for task_id, task in tasks.items():
        status = task["status"]
        silent = now - task["seen_at"]
        if policy.max_task_age and now - task["created_at"] > policy.max_task_age:
            decisions.expired.append(task_id)
        elif status in FINAL and now - task["updated_at"] > policy.retention_seconds:
            decisions.expired.append(task_id)
        elif status == "lost":
            if silent > policy.retention_seconds:
                decisions.expired.append(task_id)
        elif policy.lost_seconds and silent > policy.lost_seconds and status in OPEN:
            decisions.lost.append(task_id)
        elif (
            status in ACTIVE
            and policy.stale_seconds
            and now - task["updated_at"] > policy.stale_seconds
            and not is_run_task(task)  # no progress of its own: heard from, it is alive
        ):
            decisions.stale.append(task_id)
    return decisions


def with_status(task: Task, status: str) -> Task:
    """The task marked stale or lost. ``updated_at`` and ``seen_at`` stay: they are what the marks measure."""
    return {**task, "status": status}


def matches(task: Task, statuses: frozenset[str] | None, older_than: float | None, now: float) -> bool:
    """Does a task pass the ``?status=`` and ``?older_than=`` (idle seconds) filters?"""
    if statuses is not None and task["status"] not in statuses:
        return False
    return older_than is None or now - task["updated_at"] > older_than


def evictions(tasks: Mapping[str, Task], incoming: int, limit: int, keep: Container[str] = ()) -> list[str] | None:
    """Which tasks to drop so ``incoming`` new tasks fit under ``limit``.

    Completed tasks go first, oldest change (``updated_at``) first; then lost
    ones, oldest contact (``seen_at``) first: a lost task may still come back,
    a completed one will not. Active and stale tasks are never dropped, so bars
    that went quiet cannot hold the cap against new ones for the retention window.
    Ties go by id, as in the Redis store's sorted sets.

    Tasks in ``keep`` (those the request being applied names) are never chosen:
    an evicted task that an event of the same request named would be created
    again, over the cap, and a closed one would be reopened by a late update.

    ``None`` when even dropping every other completed and lost task leaves no room.

    >>> tasks = {"done": {"status": "close", "updated_at": 9.0, "seen_at": 9.0},
    ...          "gone": {"status": "lost", "updated_at": 1.0, "seen_at": 2.0},
    ...          "busy": {"status": "update", "updated_at": 0.0, "seen_at": 0.0}}
    >>> evictions(tasks, 1, 3), evictions(tasks, 2, 3), evictions(tasks, 3, 3)
    (['done'], ['done', 'gone'], None)
    """
    excess = len(tasks) + incoming - limit
    if excess <= 0:
        return []
    candidates = [
        (0, task["updated_at"], task_id) if task["status"] in FINAL else (1, task["seen_at"], task_id)
        for task_id, task in tasks.items()
        if (task["status"] in FINAL or task["status"] == "lost") and task_id not in keep
    ]
    if len(candidates) < excess:
        return None
    return [task_id for _, _, task_id in heapq.nsmallest(excess, candidates)]


def new_task_limit(max_tasks: int) -> int:
    """How many new tasks one request may create: a tenth of the cap, at least 100 (all of a smaller cap).

    A request asking for more is refused whole (413): one request must not flush
    out most of what the cap keeps, while a job that starts a hundred bars at
    once still posts them together (the client splits a refused batch anyway).

    >>> new_task_limit(10_000), new_task_limit(500), new_task_limit(40)
    (1000, 100, 40)
    """
    return min(max_tasks, max(_NEW_TASKS_AT_LEAST, max_tasks // _NEW_TASKS_SHARE))


def count_by_status(tasks: Iterable[Task]) -> dict[str, int]:
    """``{"update": 3, "close": 1, ...}``, for ``/health`` and ``/metrics``."""
    counts: dict[str, int] = {}
    for task in tasks:
        counts[task["status"]] = counts.get(task["status"], 0) + 1
    return counts
