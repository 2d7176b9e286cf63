"""Statuses, ``?status=`` filters and the dashboards' three columns, named once.

>>> sorted(expand_status_filter("completed,stale"))
['close', 'error', 'stale']
>>> [column_of(status) for status in TASK_STATUSES]
['active', 'active', 'stale', 'stale', 'completed', 'completed']
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ACTIVE",
    "ATTENTION",
    "COLUMNS",
    "COLUMN_OF",
    "COLUMN_TITLES",
    "COMPLETED",
    "EVENT_STATUSES",
    "FILTERS",
    "FINAL",
    "OPEN",
    "STATUS_LABELS",
    "TASK_STATUSES",
    "column_of",
    "expand_status_filter",
]

#: What a client may send in an event's ``status``.
EVENT_STATUSES = ("start", "update", "close", "error")
#: What a task on the server can be in.
TASK_STATUSES = ("start", "update", "stale", "lost", "close", "error")
#: Statuses that end a task: a later ``update`` does not reopen it, a ``start`` does.
FINAL = frozenset({"close", "error"})
#: Running and making progress.
ACTIVE = frozenset({"start", "update"})
#: Open but worrying: ``stale`` (alive, no progress) or ``lost`` (no contact at all).
ATTENTION = frozenset({"stale", "lost"})
#: Done, one way or the other.
COMPLETED = FINAL
#: Still open: the bar has not been closed.
OPEN = ACTIVE | ATTENTION

#: Every name a ``?status=`` filter accepts, with the statuses it stands for.
FILTERS: dict[str, frozenset[str]] = {
    **{name: frozenset({name}) for name in TASK_STATUSES},
    "active": ACTIVE,
    "attention": ATTENTION,
    "completed": COMPLETED,
}

#: The dashboards' columns, left to right.
COLUMNS: tuple[str, ...] = ("active", "stale", "completed")
COLUMN_TITLES: dict[str, str] = {"active": "Active", "stale": "Needs attention", "completed": "Completed"}
#: Which column a status is shown in: "stale" (alive, no progress) and "lost" (no contact) both need attention.
COLUMN_OF: dict[str, str] = {
    "start": "active",
    "update": "active",
    "stale": "stale",
    "lost": "stale",
    "close": "completed",
    "error": "completed",
}
#: How a status reads on a card, a group row or in a table.
STATUS_LABELS: dict[str, str] = {
    "start": "starting",
    "update": "running",
    "stale": "stale",
    "lost": "lost",
    "close": "done",
    "error": "error",
}


def column_of(status: object) -> str:
    """``active`` (start, update), ``stale`` (stale, lost: needs attention) or ``completed`` (close, error).

    An unknown status counts as active.
    """
    return COLUMN_OF.get(status, "active") if isinstance(status, str) else "active"


def expand_status_filter(names: str | Iterable[str]) -> frozenset[str]:
    """Turn filter names (``"close"``, ``"active,stale"``) into task statuses.

    Raises ``ValueError`` naming the first unknown name.
    """
    if isinstance(names, str):
        names = names.split(",")
    statuses: set[str] = set()
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if name not in FILTERS:
            choices = ", ".join(FILTERS)
            raise ValueError(f"unknown status {name!r}; choose from {choices}")
        statuses |= FILTERS[name]
    return frozenset(statuses)
