"""Pure task logic: merging events, lifecycle decisions, filters, eviction.

A task is a plain JSON-ready dict (what ``GET /tasks`` returns). Nothing here
does I/O or reads a clock: every function takes ``now``. Functions never mutate
a task in place; they return a new dict, so a shallow copy of the task map is a
consistent snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from progressista.events import ACTIVE, FINAL

from .models import Event

__all__ = [
    "TASK_DEFAULTS",
    "Lifecycle",
    "Task",
    "count_by_status",
    "evictions",
    "matches",
    "mark_stale",
    "merge",
    "sweep",
]

Task = dict[str, Any]

#: Every task has every field, so dashboards never test for presence.
TASK_DEFAULTS: Mapping[str, Any] = {
    "desc": None,
    "n": 0,
    "total": None,
    "unit": "it",
    "timestamp": None,
    "elapsed": None,
    "rate": None,
    "postfix": None,
    "meta": {},
    "seq": None,
    "host": None,
    "pid": None,
}

# Fields that describe the message rather than the bar: a change in these alone
# does not count as a change of the task's state.
_BOOKKEEPING = ("timestamp", "seq")


def merge(task: Task | None, event: Event, now: float) -> Task | None:
    """The task after ``event``, or ``None`` when the event changes nothing.

    - Missing fields keep their value (partial updates); a new task gets defaults.
    - ``close`` and ``error`` are final: only a new ``start`` reopens the task.
    - An event whose ``seq`` is lower than the last applied one is ignored, so
      retries never move a bar backwards. A ``start`` always applies: it begins
      a new run of the bar, whose counter starts again.
    - ``updated_at`` moves only when the state changes.
    """
    status = event.get("status", "update")
    if task is None:
        return {**TASK_DEFAULTS, **event, "status": status, "created_at": now, "updated_at": now}
    if status != "start":
        if task["status"] in FINAL:
            return None
        seq, last = event.get("seq"), task["seq"]
        if seq is not None and last is not None and seq < last:
            return None
    elif task["status"] in FINAL:
        return {**TASK_DEFAULTS, **event, "status": status, "created_at": now, "updated_at": now}
    if status == task["status"] and all(
        task.get(key) == value for key, value in event.items() if key not in _BOOKKEEPING
    ):
        return None
    return {**task, **event, "status": status, "updated_at": now}


@dataclass(frozen=True)
class Lifecycle:
    """When tasks go stale and when they are purged (seconds; 0 disables)."""

    stale_seconds: float = 0
    retention_seconds: float = 86_400
    max_task_age: float = 0


def sweep(tasks: Mapping[str, Task], now: float, policy: Lifecycle) -> tuple[list[str], list[str]]:
    """Decide a cleanup pass: ``(ids to mark stale, ids to remove)``.

    - any task older than ``max_task_age`` (since creation) is removed;
    - completed tasks idle longer than ``retention_seconds`` are removed;
    - active tasks idle longer than ``stale_seconds`` become stale.
    """
    stale: list[str] = []
    expired: list[str] = []
    for task_id, task in tasks.items():
        idle = now - task["updated_at"]
        status = task["status"]
        if policy.max_task_age and now - task["created_at"] > policy.max_task_age:
            expired.append(task_id)
        elif status in FINAL and idle > policy.retention_seconds:
            expired.append(task_id)
        elif status in ACTIVE and policy.stale_seconds and idle > policy.stale_seconds:
            stale.append(task_id)
    return stale, expired


def mark_stale(task: Task) -> Task:
    """The task as stale. ``updated_at`` stays: idle time counts from the last progress."""
    return {**task, "status": "stale"}


def matches(task: Task, statuses: frozenset[str] | None, older_than: float | None, now: float) -> bool:
    """Does a task pass the ``?status=`` and ``?older_than=`` (idle seconds) filters?"""
    if statuses is not None and task["status"] not in statuses:
        return False
    return older_than is None or now - task["updated_at"] > older_than


def evictions(tasks: Mapping[str, Task], incoming: int, limit: int) -> list[str] | None:
    """Which completed tasks to drop, oldest first, so ``incoming`` new tasks fit.

    ``None`` when even dropping every completed task leaves no room.
    """
    excess = len(tasks) + incoming - limit
    if excess <= 0:
        return []
    completed = [(task["updated_at"], task_id) for task_id, task in tasks.items() if task["status"] in FINAL]
    if len(completed) < excess:
        return None
    completed.sort()
    return [task_id for _, task_id in completed[:excess]]


def count_by_status(tasks: Iterable[Task]) -> dict[str, int]:
    """``{"update": 3, "close": 1, ...}``, for ``/health`` and ``/metrics``."""
    counts: dict[str, int] = {}
    for task in tasks:
        counts[task["status"]] = counts.get(task["status"], 0) + 1
    return counts
