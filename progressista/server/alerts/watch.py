"""Which state changes happened: the store's changes in, :class:`Trigger` out (pure).

:class:`Watch` keeps every task's last status and, per group, how many members
are in each status, so a change costs O(tasks changed) however many tasks
there are. A task fires when it *enters* a state (``update`` to ``error``; a
repeat of the same status is no change); a group when a change *completes* it
(:func:`~progressista.protocol.alerts.group_state`), once until it reopens; a
task leaving ``stale``/``lost`` for another status gives ``resolved``.

Each trigger has a ``stamp`` that every server computes alike from the same
change (with Redis, every server sees every change): the status and the
server's times of the task, so "alert once" can be claimed on it.

>>> watch = Watch()
>>> watch.load({"etl:a": {"status": "update"}, "etl:b": {"status": "close"}})
>>> [t.state for t in watch.observe(Change(tasks={"etl:a": {"status": "update", "n": 5}}))]
[]
>>> [(t.state, t.subject) for t in watch.observe(Change(tasks={"etl:a": {"status": "error"}}))]
[('error', 'etl:a'), ('group_error', 'etl')]
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from progressista.protocol.alerts import TASK_STATES, AlertState, group_state
from progressista.protocol.groups import group_of
from progressista.protocol.history import USUAL_FIELD, slower_than_usual

from ..store import Change
from ..tasks import Task

__all__ = ["Trigger", "Watch"]

_QUIET = ("stale", "lost")
_OPEN = ("start", "update", "stale")


@dataclass(frozen=True)
class Trigger:
    """A state change worth a rule's look."""

    state: AlertState
    subject: str
    """The task id, or the group's prefix for ``group_*``."""
    kind: Literal["task", "group"]
    stamp: str
    """The same on every server for the same change: what "alert once" claims."""
    task: Mapping[str, Any] = field(default_factory=dict)
    """The task as it is now (a group's: the member whose change completed it)."""
    members: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """A group's members by id, as they are now."""


def _stamp(state: str, task: Mapping[str, Any]) -> str:
    return f"{state}@{task.get('updated_at')}@{task.get('seen_at')}"


class Watch:
    """Every task's last status and every group's counts, from the changes observed."""

    def __init__(self) -> None:
        self.tasks: dict[str, Task] = {}
        self._counts: dict[str, Counter[str]] = {}
        self._members: dict[str, set[str]] = {}
        self._complete: set[str] = set()
        self._timed: set[str] = set()  # open tasks with a usual duration: they may turn slow
        self._slow: set[str] = set()  # those already said to be slow

    def load(self, tasks: Mapping[str, Task]) -> None:
        """Start from ``tasks`` as they are, firing nothing: what is so already was alerted before, if ever."""
        self.tasks, self._counts, self._members, self._complete = {}, {}, {}, set()
        self._timed, self._slow = set(), set()
        for task_id, task in tasks.items():
            self._enter(task_id, task)
        self._complete = {prefix for prefix, counts in self._counts.items() if group_state(counts)}
        self.slow(now=None)  # slow already: said before, if ever

    def resync(self, tasks: Mapping[str, Task]) -> list[Trigger]:
        """Catch up with ``tasks`` after changes may have been missed: the triggers of the difference."""
        gone = [task_id for task_id in self.tasks if task_id not in tasks]
        return self.observe(Change(tasks=dict(tasks), removed=gone))

    def observe(self, change: Change) -> list[Trigger]:
        """The triggers of ``change`` (tasks removed fire nothing), in the order they happened."""
        triggers: list[Trigger] = []
        touched: dict[str, str] = {}  # group -> the member whose change may have completed it
        for task_id in change.removed:
            prefix = self._leave(task_id)
            if prefix is not None and group_state(self._counts.get(prefix, Counter())):
                self._complete.add(prefix)  # complete by removal: nothing happened to alert about
        for task_id, task in change.tasks.items():
            known = self.tasks.get(task_id)
            before, status = (known or {}).get("status"), task.get("status")
            prefix = self._enter(task_id, task) if known is None else self._move(task_id, task, before)
            if status == before:
                continue
            if status in TASK_STATES:
                triggers.append(Trigger(status, task_id, "task", _stamp(status, task), task))
            if before in _QUIET and status not in _QUIET:
                triggers.append(Trigger("resolved", task_id, "task", _stamp(f"resolved-{before}", task), task))
            if prefix is not None:
                touched[prefix] = task_id
        for prefix, task_id in touched.items():
            state = group_state(self._counts[prefix])
            if state is None:
                self._complete.discard(prefix)
            elif prefix not in self._complete:
                self._complete.add(prefix)
                members = {member: self.tasks[member] for member in sorted(self._members[prefix])}
                stamp = f"{state}@{task_id}@" + _stamp("", self.tasks[task_id])
                triggers.append(Trigger(state, prefix, "group", stamp, self.tasks[task_id], members))
        return triggers

    def slow(self, now: float | None) -> list[Trigger]:
        """The open tasks that turned slower than usual by ``now`` (``None``: mark them, fire nothing)."""
        turned = []
        for task_id in self._timed - self._slow:
            task = self.tasks[task_id]
            if slower_than_usual(task, time.time() if now is None else now):
                self._slow.add(task_id)
                if now is not None:
                    turned.append(
                        Trigger("slow", task_id, "task", _stamp("slow", {"updated_at": task.get("created_at")}), task)
                    )
        return turned

    def _timing(self, task_id: str, task: Task) -> None:
        if task.get("status") in _OPEN and task.get(USUAL_FIELD) is not None:
            self._timed.add(task_id)
        else:
            self._timed.discard(task_id)
            self._slow.discard(task_id)

    def _enter(self, task_id: str, task: Task) -> str | None:
        self._timing(task_id, task)
        self.tasks[task_id] = task
        prefix = group_of(task_id)
        if prefix is not None:
            self._counts.setdefault(prefix, Counter())[task.get("status", "")] += 1
            self._members.setdefault(prefix, set()).add(task_id)
        return prefix

    def _move(self, task_id: str, task: Task, before: str | None) -> str | None:
        self._timing(task_id, task)
        self.tasks[task_id] = task
        prefix = group_of(task_id)
        if prefix is not None:
            counts = self._counts[prefix]
            counts[before or ""] -= 1
            counts[task.get("status", "")] += 1
        return prefix

    def _leave(self, task_id: str) -> str | None:
        self._timed.discard(task_id)
        self._slow.discard(task_id)
        task = self.tasks.pop(task_id, None)
        prefix = group_of(task_id)
        if task is None or prefix is None:
            return None
        counts = self._counts[prefix]
        counts[task.get("status", "")] -= 1
        self._members[prefix].discard(task_id)
        if not self._members[prefix]:
            del self._counts[prefix], self._members[prefix]
            self._complete.discard(prefix)
            return None
        return prefix
