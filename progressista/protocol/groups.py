"""Runs as groups: tasks whose ids share a ``prefix:`` and their aggregate progress.

Pure standard library: the server (``GET /groups``), the CLI and the terminal
dashboard compute the same figures.

>>> tasks = {
...     "run-42:rank-0": {"status": "update", "n": 30, "total": 100, "unit": "it", "rate": 3.0},
...     "run-42:rank-1": {"status": "close", "n": 100, "total": 100, "unit": "it", "rate": 4.0},
... }
>>> g = groups(tasks)["run-42"]
>>> g["n"], g["total"], g["progress"], g["rate"], g["eta"], g["status"]
(130, 200, 0.65, 3.0, 23.333333333333332, 'update')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["SEVERITY", "aggregate", "group_of", "groups"]

#: Member statuses by how much they need a look, worst last; a group takes its worst member's.
SEVERITY = ("close", "start", "update", "stale", "lost", "error")
#: How members are counted: ``{bucket: statuses}``.
BUCKETS = {
    "active": ("start", "update"),
    "stale": ("stale",),
    "lost": ("lost",),
    "done": ("close",),
    "error": ("error",),
}
_BUCKET_OF = {status: bucket for bucket, statuses in BUCKETS.items() for status in statuses}


def group_of(task_id: str) -> str | None:
    """The group a task id belongs to: its part before the first ``:``, if any."""
    prefix, colon, rest = task_id.partition(":")
    return prefix if colon and prefix and rest else None


def groups(tasks: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{prefix: aggregate}`` for every group of at least one task."""
    members: dict[str, list[Mapping[str, Any]]] = {}
    # In id order, so float sums come out the same in every process and dashboard.
    for task_id, task in sorted(tasks.items()):
        prefix = group_of(task_id)
        if prefix is not None:
            members.setdefault(prefix, []).append(task)
    return {prefix: aggregate(found) for prefix, found in sorted(members.items())}


def aggregate(tasks: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The aggregate of a group's members.

    - ``counts``: members per bucket (active, stale, lost, done, error);
    - ``status``: the worst member status (error > lost > stale > update > start > close);
    - ``n``/``total``/``unit``: summed over members whose total is known, when all
      members share one unit (``None`` for mixed units);
    - ``progress``: ``n / total`` for one unit; for mixed units the mean of the
      members' own fractions; ``None`` when no member has a total;
    - ``rate``: the summed rate of running members (one unit only);
    - ``eta``: seconds left at that rate, when every open member has a total;
    - ``unknown_totals``: members without a total.
    """
    members = list(tasks)
    counts = dict.fromkeys(BUCKETS, 0)
    for task in members:
        counts[_BUCKET_OF.get(task.get("status", ""), "active")] += 1
    worst = max((task.get("status", "update") for task in members), key=_severity, default="close")
    units = {task.get("unit") or "it" for task in members}
    unit = units.pop() if len(units) == 1 else None
    # (n, total) of the members whose total is known
    known = [(_number(t.get("n")) or 0, total) for t in members if (total := _total(t)) is not None]
    open_without_total = any(_total(t) is None for t in members if t.get("status") not in ("close", "error"))

    n: float | None = None
    total_sum: float | None = None
    progress: float | None = None
    rate: float | None = None
    eta: float | None = None
    if known:
        progress = sum(min(1.0, max(0.0, done / whole)) for done, whole in known) / len(known)
    if unit is not None:
        if known:
            n = sum(done for done, _ in known)
            total_sum = sum(whole for _, whole in known)
            progress = min(1.0, max(0.0, n / total_sum))
        rate = sum(_number(t.get("rate")) or 0.0 for t in members if t.get("status") in BUCKETS["active"])
        if n is not None and total_sum is not None and rate > 0 and not open_without_total:
            eta = max(0.0, total_sum - n) / rate
    return {
        "members": len(members),
        "counts": counts,
        "status": worst,
        "n": n,
        "total": total_sum,
        "unit": unit,
        "progress": progress,
        "rate": rate,
        "eta": eta,
        "unknown_totals": len(members) - len(known),
        "updated_at": max((t.get("updated_at", 0) for t in members), default=None),
    }


def _severity(status: str) -> int:
    return SEVERITY.index(status) if status in SEVERITY else SEVERITY.index("update")


def _total(task: Mapping[str, Any]) -> float | None:
    total = _number(task.get("total"))
    return total if total is not None and total > 0 else None


def _number(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
