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
from progressista.protocol.history import META_KEY, task_key
from progressista.protocol.reasons import reason
from progressista.protocol.task import finite

__all__ = ["ROW_FIELDS", "Keys", "Query", "row_id", "row_of"]

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
    return _row_id(task_id, repr(task.get("created_at")))


def _row_id(task_id: str, created_text: str) -> str:
    return f"{task_id}@{created_text}"


# Longer ids go to task_key itself, which cuts keys at 256 characters.
_CACHED_ID = 254


class Keys:
    """What rows of one batch share, worked out once: :func:`~progressista.protocol.history.task_key` by
    group (the tasks of one run share their group, so the run id's varying part is found once a group,
    not once a task), and the text of the last ``created_at`` (tasks created by one request share it).
    A row is built for every task that ends, thousands a second under load."""

    #: Groups remembered; past it the memory starts over.
    LIMIT = 10_000

    def __init__(self) -> None:
        self._heads: dict[str, str] = {}  # group -> its key part ("nightly-2026-12-01" -> "nightly")
        self._stamp: object = None
        self._stamp_text = repr(None)

    def of(self, task_id: str, meta: Mapping[str, Any], group: str | None) -> str:
        """``task_key(task_id, meta)``, ``group`` being ``group_of(task_id)``."""
        if META_KEY in meta or len(task_id) > _CACHED_ID:
            return task_key(task_id, meta)
        if group is None:
            return task_id
        head = self._heads.get(group)
        if head is None:
            if len(self._heads) >= self.LIMIT:
                self._heads.clear()
            # Neither "<group>:x" nor "<head>:<rest>" is longer than the task id plus one, so task_key cuts neither.
            head = self._heads[group] = task_key(group + ":x", None)[:-2]
        return f"{head}:{task_id[len(group) + 1 :]}"

    def text(self, value: object) -> str:
        """``repr(value)``."""
        if value is not self._stamp:  # the very object: equal values may differ in repr (0 and 0.0)
            self._stamp, self._stamp_text = value, repr(value)
        return self._stamp_text


def _number(value: object) -> float | None:
    """:func:`~progressista.protocol.task.finite`, quicker for a float (the usual case)."""
    if type(value) is float:
        return value if value - value == 0.0 else None  # inf - inf and nan - nan are nan
    return finite(value)


def row_of(
    task_id: str, task: Mapping[str, Any], status: str | None = None, keys: Keys | None = None
) -> dict[str, Any]:
    """The row of a task that ended (``status`` overrides the task's, for a lost task being removed);
    ``keys`` remembers what the next rows may share with this one."""
    get = task.get
    ended_status = status or str(get("status"))
    stamp = get("created_at")
    created = _number(stamp) or 0.0
    # A lost task ended when it was last heard from; the others at their last change.
    ended = _number(get("seen_at" if ended_status == "lost" else "updated_at")) or created
    duration = ended - created if ended > created else 0.0
    n = _number(get("n"))
    rate = n / duration if n is not None and duration > 0 else None
    found = get("meta")
    meta: Mapping[str, Any] = found if type(found) is dict or isinstance(found, Mapping) else {}
    group = group_of(task_id)
    if keys is None:
        key, created_text = task_key(task_id, meta), repr(stamp)
    else:
        key, created_text = keys.of(task_id, meta, group), keys.text(stamp)
    return {
        "id": _row_id(task_id, created_text),
        "key": key,
        "group": group,
        "task_id": task_id,
        "desc": get("desc"),
        "unit": get("unit"),
        "n": n,
        "total": _number(get("total")),
        "status": ended_status,
        "created_at": created,
        "ended_at": ended,
        "duration": duration,
        "rate": rate,
        "host": get("host"),
        "pid": get("pid"),
        "run_id": group,
        "error": reason({**task, "status": "error"}) if ended_status == "error" else None,
        # The task's own: tasks are replaced, never changed, and one dict less a run is one collection of
        # the garbage collector less every few hundred runs.
        "meta": found if type(found) is dict else dict(meta),
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
