"""A finished task as a history row, and the query ``GET /history`` makes of the rows (pure).

A row is one run of one task: it ends when the task enters ``close`` or
``error``, or, for a ``lost`` task, when the task is removed (expired by
retention, evicted, or discarded). Its ``id`` is the task id and the time it
was created, so the same run recorded twice (two servers on one Redis) is one row.

>>> task = {"status": "close", "created_at": 100.0, "updated_at": 160.0, "seen_at": 160.0, "n": 30, "total": 30,
...         "unit": "rows", "desc": "Load", "host": "w1", "pid": 4, "meta": {"error": None}}
>>> row = row_of("nightly-1:load", task)
>>> row["key"], row["group"], row["duration"], row["rate"], row["status"]
('nightly:load', 'nightly-1', 60.0, 0.5, 'close')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from progressista.protocol.groups import group_of
from progressista.protocol.history import task_key
from progressista.protocol.reasons import reason
from progressista.protocol.task import finite

__all__ = ["ROW_FIELDS", "Query", "row_id", "row_of"]

#: A row's fields, in order (the SQLite table's columns).
ROW_FIELDS = (
    "id",
    "key",
    "group",
    "task_id",
    "desc",
    "unit",
    "n",
    "total",
    "status",
    "created_at",
    "ended_at",
    "duration",
    "rate",
    "host",
    "pid",
    "run_id",
    "error",
    "meta",
)


def row_id(task_id: str, task: Mapping[str, Any]) -> str:
    """One run of one task: its id and the server time it was created."""
    return f"{task_id}@{task.get('created_at')!r}"


def row_of(task_id: str, task: Mapping[str, Any], status: str | None = None) -> dict[str, Any]:
    """The row of a task that ended (``status`` overrides the task's, for a lost task being removed)."""
    ended_status = status or str(task.get("status"))
    created = finite(task.get("created_at")) or 0.0
    # A lost task ended when it was last heard from; the others at their last change.
    ended = finite(task.get("seen_at" if ended_status == "lost" else "updated_at")) or created
    duration = max(0.0, ended - created)
    n = finite(task.get("n"))
    rate = n / duration if n is not None and duration > 0 else None
    found = task.get("meta")
    meta: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    group = group_of(task_id)
    return {
        "id": row_id(task_id, task),
        "key": task_key(task_id, meta),
        "group": group,
        "task_id": task_id,
        "desc": task.get("desc"),
        "unit": task.get("unit"),
        "n": n,
        "total": finite(task.get("total")),
        "status": ended_status,
        "created_at": created,
        "ended_at": ended,
        "duration": duration,
        "rate": rate,
        "host": task.get("host"),
        "pid": task.get("pid"),
        "run_id": group,
        "error": reason({**task, "status": "error"}) if ended_status == "error" else None,
        "meta": dict(meta),
    }


@dataclass(frozen=True)
class Query:
    """What ``GET /history`` asks: rows of a key and/or a group, of some statuses, ended since a time."""

    key: str | None = None
    group: str | None = None
    statuses: frozenset[str] | None = None
    since: float | None = None
    limit: int = 100

    def admits(self, row: Mapping[str, Any]) -> bool:
        return (
            (self.key is None or row.get("key") == self.key)
            and (self.group is None or row.get("group") == self.group)
            and (self.statuses is None or row.get("status") in self.statuses)
            and (self.since is None or (row.get("ended_at") or 0.0) >= self.since)
        )
