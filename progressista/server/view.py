"""One server's view of the tasks, kept from the changes its store reports, and every group's row.

The delta feed sends group rows (see :mod:`progressista.protocol.groups`): every
prefix with at least one member is a group, and its row is
:func:`~progressista.protocol.groups.summarise` of its members in id order (the
aggregate of its bars, and its run task as the head), what ``GET /groups``
answers. The broadcaster keeps a :class:`TaskView` up to date with every
:class:`~progressista.server.store.Change` (with Redis, the changes of every
process, from pub/sub), so the rows a delta carries never need a read of the store.

Cheap by construction: an index ``prefix -> member ids`` (kept sorted); only
the groups a change touched are computed again, once per broadcast at most;
and a broadcast computes rows for some :data:`MEMBERS_PER_SECOND` times the
interval members (about 1,000 at 0.1 s), oldest touched first, leaving the
rest for the next ones. Aggregating costs a few microseconds per member (some
40 ms for 10,000 here), so rows cost a few percent of a core however the tasks
are grouped; a large group's row is then a few intervals old. Snapshots are
exact whatever the budget: their rows are computed from the snapshot's tasks
where the view's row is not known to match them.

>>> view = TaskView()
>>> view.apply(Change(tasks={"run:a": {"status": "update", "n": 1, "total": 4}, "alone": {"status": "close"}}))
>>> list(view.rows_for(view.tasks))
['run']
>>> rows, gone = view.take_changes()
>>> list(rows), rows["run"]["progress"], gone
(['run'], 0.25, [])
>>> view.apply(Change(removed=["run:a"]))
>>> view.take_changes()
({}, ['run'])
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from typing import Any

from progressista.protocol.groups import group_of, summarise

from .store import Change
from .tasks import Task

__all__ = ["MEMBERS_PER_SECOND", "TaskView"]

#: Members aggregated per second of broadcasting, at most (give or take a large
#: group, which goes whole): 1,000 per broadcast at the default interval, 0.1 s.
MEMBERS_PER_SECOND = 10_000

Row = dict[str, Any]


class TaskView:
    """Tasks by id (as the store reported them), the groups they form, and which rows changed."""

    def __init__(self, budget: int = 1000) -> None:
        """``budget``: members aggregated per broadcast (a larger group still goes whole, and borrows ahead)."""
        self.tasks: dict[str, Task] = {}
        self._budget = max(1, budget)
        self._credit = 0
        self._members: dict[str, list[str]] = {}  # prefix -> member ids, sorted
        self._rows: dict[str, Row] = {}  # prefix -> its row when last computed
        self._dirty: dict[str, None] = {}  # prefixes touched since their row was computed, oldest first
        self._changed: set[str] = set()  # prefixes whose row changed since take_changes()
        self._emptied: set[str] = set()  # prefixes that lost their last member since take_changes()
        self._shown: set[str] = set()  # prefixes a snapshot gave a row for (a dashboard knows them)

    def reset(self, tasks: Mapping[str, Task]) -> None:
        """Start over from the store's tasks; every row is computed, none counts as changed."""
        self.tasks = dict(tasks)
        self._members = {}
        for task_id in sorted(self.tasks):
            prefix = group_of(task_id)
            if prefix is not None:
                self._members.setdefault(prefix, []).append(task_id)
        self._rows = {prefix: self._compute(prefix) for prefix in self._members}
        self._dirty, self._changed, self._emptied, self._shown = {}, set(), set(), set()

    def apply(self, change: Change) -> None:
        """Take in one change: new states replace old ones, removed tasks leave their group."""
        tasks, members, dirty = self.tasks, self._members, self._dirty
        for task_id in change.removed:
            if tasks.pop(task_id, None) is None:
                continue
            prefix = group_of(task_id)
            if prefix is not None:
                ids = members[prefix]
                del ids[bisect.bisect_left(ids, task_id)]
                if not ids:
                    del members[prefix]
                dirty.setdefault(prefix)
        for task_id, task in change.tasks.items():
            prefix = group_of(task_id)
            if prefix is not None:
                if task_id not in tasks:
                    bisect.insort(members.setdefault(prefix, []), task_id)
                dirty.setdefault(prefix)
            tasks[task_id] = task

    def rows_for(self, tasks: Mapping[str, Task]) -> dict[str, Row]:
        """Every group's row for a snapshot of ``tasks`` the store just gave, by prefix.

        Each row is exactly the aggregate of the snapshot's own members: the
        view's row where it is up to date and those members are the very task
        objects the view holds (the memory store's usual case), else computed
        from the snapshot (a shared store's tasks arrive decoded anew, and
        pub/sub may not have brought the latest changes yet).
        """
        members: dict[str, list[str]] = {}
        for task_id in sorted(tasks):
            group = group_of(task_id)
            if group is not None:
                members.setdefault(group, []).append(task_id)
        mine = self.tasks
        rows = {}
        for prefix, ids in sorted(members.items()):
            row = self._rows.get(prefix)
            if (
                row is None
                or prefix in self._dirty
                or ids != self._members.get(prefix)
                or any(tasks[task_id] is not mine[task_id] for task_id in ids)
            ):
                row = summarise([(task_id, tasks[task_id]) for task_id in ids])
                # This snapshot's row may be neither what deltas sent nor the view's: the next
                # deltas send every dashboard the view's row, even one equal to what deltas sent.
                self._rows.pop(prefix, None)
                if prefix in self._members:
                    self._dirty.setdefault(prefix)
            rows[prefix] = row
        self._shown.update(rows)
        return rows

    def take_changes(self) -> tuple[dict[str, Row], list[str]]:
        """The rows that changed and the prefixes emptied since the last call: for one delta.

        Computes touched groups, oldest first, while this broadcast's budget
        lasts; the others stay :attr:`waiting`.
        """
        for prefix in [p for p in self._dirty if p not in self._members]:
            del self._dirty[prefix]
            self._changed.discard(prefix)
            sent = self._rows.pop(prefix, None) is not None
            if sent or prefix in self._shown:  # dashboards knew the group
                self._emptied.add(prefix)
            self._shown.discard(prefix)
        self._credit = min(self._credit + self._budget, self._budget)  # no hoard from quiet times
        while self._dirty and self._credit > 0:
            prefix = next(iter(self._dirty))
            del self._dirty[prefix]
            self._credit -= len(self._members[prefix])
            row = self._compute(prefix)
            if row != self._rows.get(prefix):
                self._rows[prefix] = row
                self._changed.add(prefix)
        changed = {prefix: self._rows[prefix] for prefix in sorted(self._changed)}
        emptied = sorted(self._emptied)
        self._changed.clear()
        self._emptied.clear()
        return changed, emptied

    @property
    def waiting(self) -> bool:
        """Are touched groups left to compute (a broadcast is needed even without new changes)?"""
        return bool(self._dirty)

    def _compute(self, prefix: str) -> Row:
        tasks = self.tasks
        return summarise([(task_id, tasks[task_id]) for task_id in self._members[prefix]])
