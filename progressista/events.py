"""Names shared by the client, the server and the dashboards: statuses and filters.

Pure standard library, so the client can import it without the server stack.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ACTIVE",
    "FeedUpdate",
    "ATTENTION",
    "COMPLETED",
    "EVENT_STATUSES",
    "FILTERS",
    "FINAL",
    "MAX_DESC",
    "MAX_HOST",
    "MAX_META_BYTES",
    "MAX_POSTFIX",
    "MAX_TASK_ID",
    "MAX_UNIT",
    "OPEN",
    "TASK_STATUSES",
    "expand_status_filter",
    "parse_feed_message",
]

# Field limits of the wire format: the server refuses longer values (422), the
# client cuts its values to fit.
MAX_TASK_ID = 256
MAX_DESC = 1_000
MAX_UNIT = 64
MAX_POSTFIX = 1_000
MAX_HOST = 256
MAX_META_BYTES = 16 * 1024

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


def expand_status_filter(names: str | Iterable[str]) -> frozenset[str]:
    """Turn filter names (``"close"``, ``"active,stale"``) into task statuses.

    >>> sorted(expand_status_filter("completed,stale"))
    ['close', 'error', 'stale']

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


@dataclass(frozen=True)
class FeedUpdate:
    """One ``/ws`` message: task states, and the ids removed (``None``: a full snapshot)."""

    tasks: dict[str, Any]
    removed: list[str] | None


def parse_feed_message(raw: str | bytes) -> FeedUpdate | None:
    """Read a ``/ws`` message (either mode); ``None`` for anything that is not one.

    >>> parse_feed_message('{"type": "delta", "tasks": {}, "removed": ["a"]}')
    FeedUpdate(tasks={}, removed=['a'])
    >>> parse_feed_message('{"tasks": {"a": {}}}').removed is None  # a snapshot replaces everything
    True
    """
    try:
        message: Any = json.loads(raw)
    except ValueError:
        return None
    tasks = message.get("tasks") if isinstance(message, dict) else None
    if not isinstance(tasks, dict):
        return None
    if message.get("type") != "delta":  # "snapshot", or a default-mode message: the whole state
        return FeedUpdate(tasks, None)
    removed = message.get("removed")
    ids = [task_id for task_id in removed if isinstance(task_id, str)] if isinstance(removed, list) else []
    return FeedUpdate(tasks, ids)
