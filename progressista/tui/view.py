"""What the terminal dashboards show, computed from task dicts. Pure, standard library.

Shared by ``progressista watch`` (Textual) and ``progressista tasks ls`` (Rich):
which column a status belongs to, groups (ids sharing a ``prefix:``, as
:mod:`progressista.protocol.groups` defines them, with its aggregates), newest-first
order, filtering, and the text of amounts, rates, ETAs and ages.

>>> board = Board()
>>> _ = board.replace({
...     "etl:extract": {"status": "update", "n": 40, "total": 100, "rate": 4.0, "updated_at": 20.0},
...     "etl:load": {"status": "close", "n": 100, "total": 100, "updated_at": 10.0},
...     "train": {"status": "stale", "n": 3, "total": None, "updated_at": 5.0},
... })
>>> [(item.kind, item.key) for item in board.columns()["active"].items]
[('group', 'etl'), ('task', 'etl:extract')]
>>> format_duration(eta_seconds(board.tasks["etl:extract"]))
'00:15'
>>> " · ".join(group_numbers(board.aggregate("etl")))
'140/200 it · 4.00 it/s · ETA 00:15'
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from progressista.protocol.format import (
    eta_seconds,
    format_age,
    format_amount,
    format_count,
    format_duration,
    format_percent,
    format_rate,
    format_since,
    fraction,
    group_counts,
    group_figures,
    rate_of,
)
from progressista.protocol.groups import aggregate, group_of
from progressista.protocol.statuses import COLUMN_TITLES, COLUMNS, STATUS_LABELS, column_of
from progressista.protocol.task import finite

__all__ = [
    "COLUMNS",
    "COLUMN_TITLES",
    "STATUS_LABELS",
    "Board",
    "Column",
    "Item",
    "bar_parts",
    "column_of",
    "eta_seconds",
    "format_age",
    "format_amount",
    "format_count",
    "format_duration",
    "format_percent",
    "format_rate",
    "format_since",
    "fraction",
    "group_counts",
    "group_numbers",
    "matches",
    "newest_first",
    "number",
    "parse_terms",
    "rate_of",
    "search_text",
    "seen_at",
    "updated_at",
]

Task = Mapping[str, Any]



def number(value: object) -> float | None:
    """``value`` as a finite float, or ``None`` (task fields come from the network)."""
    found = finite(value)
    return None if found is None else float(found)


def updated_at(task: Task) -> float:
    return number(task.get("updated_at")) or 0.0


def seen_at(task: Task) -> float:
    """When the server last heard from the task (``seen_at``; ``updated_at`` from servers that predate it)."""
    return number(task.get("seen_at")) or updated_at(task)


def newest_first(tasks: Mapping[str, Task]) -> list[str]:
    """Task ids, most recently updated first; ties by id so the order is stable."""
    return sorted(tasks, key=lambda task_id: (-updated_at(tasks[task_id]), task_id))


def bar_parts(share: float | None, width: int) -> tuple[str, str]:
    """A bar ``width`` cells wide as (done, remaining) text, to style apart.

    Half-cell resolution with ``━``/``╸``; an unknown total gives ``("", "╍╍╍…")``.

    >>> bar_parts(0.55, 10)
    ('━━━━━╸', '━━━━')
    """
    width = max(0, width)
    if share is None:
        return "", "╍" * width
    halves = math.floor(min(1.0, max(0.0, share)) * width * 2)
    full, half = divmod(halves, 2)
    done = "━" * full + ("╸" if half else "")
    return done, "━" * (width - len(done))


# ---------------------------------------------------------------- groups


def group_numbers(group: Mapping[str, Any]) -> list[str]:
    """The figures of a :func:`progressista.protocol.groups.aggregate`, as text, empty ones left out.

    >>> group_numbers({"n": 30, "total": 200, "unit": "it", "rate": 3.0, "eta": 56.7, "unknown_totals": 1})
    ['30/200 it', '1 without total', '3.00 it/s', 'ETA 00:57']
    """
    figures = group_figures(group)
    return [text for key in ("amount", "unknown", "rate", "eta") if (text := figures[key])]


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
    """For a group: how many of its tasks this column holds (that the filter keeps)."""
    indent: int = 0
    """1 for a task inside a group."""
    collapsed: bool = False
    """For a group: its members are hidden behind its row."""


@dataclass(frozen=True)
class Column:
    """What one column shows, in order."""

    name: str
    items: tuple[Item, ...]
    total: int
    """Tasks in this column."""
    shown: int
    """Of which the filter keeps."""
    members: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per group in this column, the ids of its tasks here (that the filter keeps), newest first."""

    @property
    def title(self) -> str:
        return COLUMN_TITLES[self.name]

    @property
    def count_label(self) -> str:
        """``12``, or ``3 of 12`` when a filter hides some."""
        return str(self.total) if self.shown == self.total else f"{self.shown} of {self.total}"

    @property
    def task_ids(self) -> list[str]:
        """The tasks on show (members of a collapsed group are not)."""
        return [item.key for item in self.items if item.kind == "task"]

    @property
    def groups(self) -> list[str]:
        return [item.key for item in self.items if item.kind == "group"]


def _unfolded(column: str, prefix: str) -> bool:
    return False


class Board:
    """The tasks a dashboard knows, kept in step with ``snapshot`` and ``delta`` messages.

    :meth:`columns` lays them out; it is O(n log n) in the number of tasks and
    meant to run at most a few times a second, not once per message. Group
    aggregates are computed when first asked for and kept until a member changes,
    so a repaint pays only for the groups on screen whose members moved.
    """

    def __init__(self) -> None:
        self.tasks: dict[str, dict[str, Any]] = {}
        self._search: dict[str, str] = {}
        self._members: dict[str, set[str]] = {}
        self._aggregates: dict[str, dict[str, Any]] = {}

    def replace(self, tasks: Mapping[str, Any]) -> set[str]:
        """Take a full snapshot (a reconnect resyncs); returns every id that changed or went away."""
        before = self.tasks
        self.tasks = {task_id: dict(task) for task_id, task in tasks.items() if isinstance(task, Mapping)}
        self._search = {}
        self._members = {}
        self._aggregates = {}
        for task_id in self.tasks:
            self._join(task_id)
        gone = before.keys() - self.tasks.keys()
        return gone | {task_id for task_id, task in self.tasks.items() if before.get(task_id) != task}

    def apply(self, tasks: Mapping[str, Any], removed: Iterable[str] = ()) -> set[str]:
        """Apply a delta: changed tasks replace the old ones, removed ids go; returns the touched ids."""
        touched: set[str] = set()
        for task_id in removed:
            if self.tasks.pop(task_id, None) is not None:
                self._search.pop(task_id, None)
                self._leave(task_id)
                touched.add(task_id)
        for task_id, task in tasks.items():
            if isinstance(task, Mapping):
                if task_id in self.tasks:
                    self._touch(task_id)
                else:
                    self._join(task_id)
                self.tasks[task_id] = dict(task)
                self._search.pop(task_id, None)
                touched.add(task_id)
        return touched

    def _touch(self, task_id: str) -> None:
        """A task changed: its group's aggregate is out of date."""
        prefix = group_of(task_id)
        if prefix is not None:
            self._aggregates.pop(prefix, None)

    def _join(self, task_id: str) -> None:
        prefix = group_of(task_id)
        if prefix is not None:
            self._members.setdefault(prefix, set()).add(task_id)
            self._aggregates.pop(prefix, None)

    def _leave(self, task_id: str) -> None:
        prefix = group_of(task_id)
        if prefix is not None:
            self._aggregates.pop(prefix, None)
            members = self._members[prefix]
            members.discard(task_id)
            if not members:
                del self._members[prefix]

    def search(self, task_id: str) -> str:
        text = self._search.get(task_id)
        if text is None:
            text = self._search[task_id] = search_text(task_id, self.tasks[task_id])
        return text

    def members(self, prefix: str) -> list[str]:
        """The ids of a group's tasks, sorted (every column, whatever the filter)."""
        return sorted(self._members.get(prefix, ()))

    def aggregate(self, prefix: str) -> dict[str, Any] | None:
        """The group's :func:`progressista.protocol.groups.aggregate` (what ``GET /groups`` serves), or ``None``."""
        found = self._aggregates.get(prefix)
        if found is None and prefix in self._members:
            # Members in id order, so float sums do not depend on arrival order.
            found = self._aggregates[prefix] = aggregate(self.tasks[task_id] for task_id in self.members(prefix))
        return found

    def groups(self) -> dict[str, dict[str, Any]]:
        """``{prefix: aggregate}`` for every group, like :func:`progressista.protocol.groups.groups`."""
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
        newest member in that column.
        """
        singles: dict[str, list[str]] = {name: [] for name in COLUMNS}
        members: dict[str, dict[str, list[tuple[float, str]]]] = {name: {} for name in COLUMNS}
        totals = dict.fromkeys(COLUMNS, 0)
        shown = dict.fromkeys(COLUMNS, 0)
        for task_id, task in self.tasks.items():
            column = column_of(task.get("status"))
            totals[column] += 1
            if terms and not matches(self.search(task_id), terms):
                continue
            shown[column] += 1
            prefix = group_of(task_id)
            if prefix is not None:
                members[column].setdefault(prefix, []).append((updated_at(task), task_id))
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
                folded = collapsed(name, key)
                items.append(Item("group", key, size=len(group), collapsed=folded))
                if not folded:
                    items.extend(Item("task", task_id, indent=1) for task_id in held[key])
            result[name] = Column(name, tuple(items), totals[name], shown[name], held)
        return result
