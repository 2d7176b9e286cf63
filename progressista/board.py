"""What the terminal dashboards hold: tasks in columns, grouped, ordered and filtered. Pure.

The standard library and :mod:`progressista.protocol` only (never Textual or
Rich), so ``progressista watch`` and ``progressista tasks ls`` share it and it is
tested without a terminal. What each row says is :mod:`progressista.cards`'.

>>> board = Board()
>>> _ = board.replace({
...     "etl:extract": {"status": "update", "n": 40, "total": 100, "rate": 4.0, "updated_at": 20.0},
...     "etl:load": {"status": "close", "n": 100, "total": 100, "updated_at": 10.0},
...     "train": {"status": "stale", "n": 3, "total": None, "updated_at": 5.0},
... })
>>> [(item.kind, item.key) for item in board.columns()["active"].items]
[('group', 'etl'), ('task', 'etl:extract')]
>>> board.aggregate("etl")["n"], board.served  # computed: the snapshot carried no group rows
(140, False)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from progressista.protocol.groups import group_of, summarise
from progressista.protocol.statuses import COLUMN_TITLES, COLUMNS, STATUS_LABELS, column_of
from progressista.protocol.task import finite

__all__ = [
    "Board",
    "Column",
    "Item",
    "RowKey",
    "matches",
    "newest_first",
    "parse_terms",
    "search_text",
    "seen_at",
    "updated_at",
]

Task = Mapping[str, Any]
#: A row of a column: ``("task", task_id)`` or ``("group", prefix)``.
RowKey = tuple[str, str]


def updated_at(task: Task) -> float:
    """When the task last made progress, on the server's clock (0 when unknown)."""
    return finite(task.get("updated_at")) or 0.0


def seen_at(task: Task) -> float:
    """When the server last heard from the task (``seen_at``; ``updated_at`` from servers that predate it)."""
    return finite(task.get("seen_at")) or updated_at(task)


def newest_first(tasks: Mapping[str, Task]) -> list[str]:
    """Task ids, most recently updated first; ties by id so the order is stable."""
    return sorted(tasks, key=lambda task_id: (-updated_at(tasks[task_id]), task_id))


# ---------------------------------------------------------------- filter


def search_text(task_id: str, task: Task) -> str:
    """Everything a filter term may match, lower-cased: id, desc, status, postfix, host, unit, meta."""
    status = task.get("status")
    parts = [task_id, STATUS_LABELS.get(status, "") if isinstance(status, str) else ""]
    for key in ("desc", "status", "postfix", "host", "unit"):
        value = task.get(key)
        if isinstance(value, str):
            parts.append(value)
    meta = task.get("meta")
    if isinstance(meta, Mapping) and meta:
        parts.append(json.dumps(meta, ensure_ascii=False, default=str))
    return "\n".join(parts).lower()


def parse_terms(text: str) -> tuple[str, ...]:
    """Filter terms: words of ``text``, lower-cased; a task must contain every one."""
    return tuple(text.lower().split())


def matches(text: str, terms: Sequence[str]) -> bool:
    return all(term in text for term in terms)


# ---------------------------------------------------------------- board


class Item(NamedTuple):
    """One entry of a column: a task, or the row of a group (tasks sharing a ``prefix:``).

    A named tuple, not a dataclass: a layout builds one per task, and compares
    the new tuple of items with the old one, several times a second.
    """

    kind: Literal["task", "group"]
    key: str
    """The task id, or the group's prefix."""
    size: int = 0
    """For a group: how many of its task cards this column holds (that the filter keeps; its run task has none)."""
    indent: int = 0
    """1 for a task inside a group."""
    collapsed: bool = False
    """For a group: its members are hidden behind its row."""


@dataclass(frozen=True)
class Column:
    """What one column shows, in order."""

    name: str
    items: tuple[Item, ...] = ()
    total: int = 0
    """Tasks in this column."""
    shown: int = 0
    """Of which the filter keeps."""
    members: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per group in this column, the ids of its tasks here (that the filter keeps, its run task too), newest first."""

    @property
    def title(self) -> str:
        return COLUMN_TITLES[self.name]

    @property
    def count_label(self) -> str:
        """``12``, or ``3 of 12`` when a filter hides some."""
        return str(self.total) if self.shown == self.total else f"{self.shown} of {self.total}"

    @property
    def task_ids(self) -> list[str]:
        """The task cards on show, top to bottom (members of a folded group are not)."""
        return [item.key for item in self.items if item.kind == "task"]

    @property
    def groups(self) -> list[str]:
        """The group rows, top to bottom."""
        return [item.key for item in self.items if item.kind == "group"]


def _unfolded(column: str, prefix: str) -> bool:
    return False


class Board:
    """The tasks a dashboard knows, and their group rows, kept in step with ``snapshot`` and ``delta`` messages.

    Group rows are the server's when the feed carries them (``groups`` in its
    messages); otherwise, or for a group the server left out, the board computes
    them with :func:`progressista.protocol.groups.summarise`. Either way every
    prefix with at least one member has a row. Computed rows are kept until a
    member changes, so a repaint pays only for the groups whose members moved.

    :meth:`columns` lays the tasks out; it is O(n log n) in the number of tasks and
    meant to run at most a few times a second, not once per message.
    """

    def __init__(self) -> None:
        self.tasks: dict[str, dict[str, Any]] = {}
        self._search: dict[str, str] = {}
        self._members: dict[str, set[str]] = {}
        self._computed: dict[str, dict[str, Any]] = {}
        self._served: dict[str, dict[str, Any]] | None = None

    @property
    def served(self) -> bool:
        """Whether the group rows are the server's (the last message carried them)."""
        return self._served is not None

    def replace(self, tasks: Mapping[str, Any], groups: Mapping[str, Any] | None = None) -> set[RowKey]:
        """Take a full snapshot (a reconnect resyncs), with the server's group rows if it sent them.

        Returns the rows that changed or went away: tasks, and every group.
        """
        before, prefixes = self.tasks, set(self._members)
        self.tasks = {task_id: dict(task) for task_id, task in tasks.items() if isinstance(task, Mapping)}
        self._search, self._members, self._computed = {}, {}, {}
        self._served = None if groups is None else {key: dict(row) for key, row in groups.items()}
        for task_id in self.tasks:
            self._join(task_id)
        changed = {("task", task_id) for task_id in before.keys() - self.tasks.keys()}
        changed |= {("task", task_id) for task_id, task in self.tasks.items() if before.get(task_id) != task}
        return changed | {("group", prefix) for prefix in prefixes | set(self._members)}

    def apply(
        self,
        tasks: Mapping[str, Any],
        removed: Iterable[str] = (),
        groups: Mapping[str, Any] | None = None,
        groups_removed: Iterable[str] = (),
    ) -> set[RowKey]:
        """Apply a delta: changed tasks replace the old ones, removed ids go, and so do the group rows.

        Returns the rows touched: the tasks, their groups, and the groups the server sent or removed.
        """
        touched: set[RowKey] = set()
        for task_id in removed:
            if self.tasks.pop(task_id, None) is not None:
                self._search.pop(task_id, None)
                touched |= self._leave(task_id)
        for task_id, task in tasks.items():
            if isinstance(task, Mapping):
                touched |= self._join(task_id)
                self.tasks[task_id] = dict(task)
                self._search.pop(task_id, None)
        if (groups is None) != (self._served is None):  # rows served, or no longer: every group row changes
            touched |= {("group", prefix) for prefix in self._members}
            self._served = None if groups is None else {}
        if self._served is not None and groups is not None:
            for prefix in groups_removed:
                self._served.pop(prefix, None)
            self._served.update((key, dict(row)) for key, row in groups.items())
            touched |= {("group", prefix) for prefix in (*groups, *groups_removed)}
        return touched

    def _join(self, task_id: str) -> set[RowKey]:
        """A task arrived or changed: its group's computed row is out of date."""
        prefix = group_of(task_id)
        if prefix is None:
            return {("task", task_id)}
        self._members.setdefault(prefix, set()).add(task_id)
        self._computed.pop(prefix, None)
        return {("task", task_id), ("group", prefix)}

    def _leave(self, task_id: str) -> set[RowKey]:
        prefix = group_of(task_id)
        if prefix is None:
            return {("task", task_id)}
        self._computed.pop(prefix, None)
        members = self._members[prefix]
        members.discard(task_id)
        if not members:
            del self._members[prefix]
        return {("task", task_id), ("group", prefix)}

    def search(self, task_id: str) -> str:
        text = self._search.get(task_id)
        if text is None:
            text = self._search[task_id] = search_text(task_id, self.tasks[task_id])
        return text

    def members(self, prefix: str) -> list[str]:
        """The ids of a group's tasks, sorted (every column, whatever the filter)."""
        return sorted(self._members.get(prefix, ()))

    def aggregate(self, prefix: str) -> dict[str, Any] | None:
        """The group's row: the server's, else :func:`~progressista.protocol.groups.summarise`; ``None``: no member."""
        if prefix not in self._members:
            return None
        found = self._served.get(prefix) if self._served is not None else None
        if found is None:
            found = self._computed.get(prefix)
        if found is None:
            # Members in id order, so float sums do not depend on arrival order (as the server's).
            members = [(task_id, self.tasks[task_id]) for task_id in self.members(prefix)]
            found = self._computed[prefix] = summarise(members)
        return found

    def head(self, prefix: str) -> str | None:
        """The id of the group's run task, shown as its row rather than as a card (its row's ``run``)."""
        run = (self.aggregate(prefix) or {}).get("run")
        task_id = run.get("task_id") if isinstance(run, Mapping) else None
        return task_id if isinstance(task_id, str) else None

    def groups(self) -> dict[str, dict[str, Any]]:
        """``{prefix: row}`` for every group, like :func:`progressista.protocol.groups.groups` and ``GET /groups``."""
        return {prefix: found for prefix in sorted(self._members) if (found := self.aggregate(prefix)) is not None}

    def counts(self) -> dict[str, int]:
        """Tasks per column, ignoring any filter."""
        counts = dict.fromkeys(COLUMNS, 0)
        for task in self.tasks.values():
            counts[column_of(task.get("status"))] += 1
        return counts

    def columns(
        self, terms: Sequence[str] = (), collapsed: Callable[[str, str], bool] = _unfolded
    ) -> dict[str, Column]:
        """Each column's entries, newest first; tasks of a group follow its row, unless ``collapsed(column, prefix)``.

        A task whose id has a ``prefix:`` is in that group even alone (as in
        ``GET /groups``). A group with members in several columns has a row in
        each, every one showing the whole group's aggregate; each row sorts by its
        newest member in that column. A group's run task (the row's ``run``) has
        no card: its row is its card, in the run task's column too.
        """
        singles: dict[str, list[str]] = {name: [] for name in COLUMNS}
        members: dict[str, dict[str, list[tuple[float, str]]]] = {name: {} for name in COLUMNS}
        totals = dict.fromkeys(COLUMNS, 0)
        shown = dict.fromkeys(COLUMNS, 0)
        heads: dict[str, str | None] = {}
        for task_id, task in self.tasks.items():
            column = column_of(task.get("status"))
            totals[column] += 1
            if terms and not matches(self.search(task_id), terms):
                continue
            shown[column] += 1
            prefix = group_of(task_id)
            if prefix is not None:
                members[column].setdefault(prefix, []).append((updated_at(task), task_id))
                if prefix not in heads:
                    heads[prefix] = self.head(prefix)
            else:
                singles[column].append(task_id)
        result: dict[str, Column] = {}
        for name in COLUMNS:
            rows: list[tuple[float, str, list[tuple[float, str]] | None]] = [
                (updated_at(self.tasks[task_id]), task_id, None) for task_id in singles[name]
            ]
            rows.extend((max(when for when, _ in group), prefix, group) for prefix, group in members[name].items())
            rows.sort(key=lambda row: (-row[0], row[1]))
            items: list[Item] = []
            held: dict[str, tuple[str, ...]] = {}
            for _, key, group in rows:
                if group is None:
                    items.append(Item("task", key))
                    continue
                group.sort(key=lambda member: (-member[0], member[1]))
                held[key] = tuple(task_id for _, task_id in group)
                cards = [task_id for task_id in held[key] if task_id != heads[key]]
                folded = collapsed(name, key)
                items.append(Item("group", key, size=len(cards), collapsed=folded))
                if not folded:
                    items.extend(Item("task", task_id, indent=1) for task_id in cards)
            result[name] = Column(name, tuple(items), totals[name], shown[name], held)
        return result
