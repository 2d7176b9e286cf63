"""Runs as groups: tasks whose ids share a ``prefix:``, their aggregate progress, and the run at their head.

Pure standard library: the server (``GET /groups``, the ``groups`` of ``/ws``
messages), the CLI and the terminal dashboard compute the same rows.

>>> tasks = {
...     "run-42:rank-0": {"status": "update", "n": 30, "total": 100, "unit": "it", "rate": 3.0},
...     "run-42:rank-1": {"status": "close", "n": 100, "total": 100, "unit": "it", "rate": 4.0},
... }
>>> g = groups(tasks)["run-42"]
>>> g["n"], g["total"], g["progress"], g["rate"], g["eta"], g["status"]
(130, 200, 0.65, 3.0, 23.333333333333332, 'update')

A group whose members include the task ``progressista run`` posts for the
process itself (:func:`run_member`) shows that task as its head row (``run``,
see :func:`run_head`), and the figures and counts are those of the other
members, the bars:

>>> tasks["run-42:run"] = {"status": "error", "desc": "python train.py", "meta": {"kind": "run", "exit_code": 1,
...                        "error": "RuntimeError: boom at 40"}}
>>> g = groups(tasks)["run-42"]
>>> g["members"], g["status"], g["run"]["command"], g["run"]["exit"], g["run"]["reason"]
(2, 'error', 'python train.py', 'exit 1', 'RuntimeError: boom at 40')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .reasons import exit_code, reason
from .runs import RUN_KIND, is_run_task
from .task import finite

__all__ = ["SEVERITY", "aggregate", "group_of", "groups", "run_head", "run_member", "summarise"]

Task = Mapping[str, Any]

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


def groups(tasks: Mapping[str, Task]) -> dict[str, dict[str, Any]]:
    """``{prefix: row}`` (see :func:`summarise`) for every group of at least one task."""
    members: dict[str, list[tuple[str, Task]]] = {}
    # In id order, so float sums come out the same in every process and dashboard.
    for task_id, task in sorted(tasks.items()):
        prefix = group_of(task_id)
        if prefix is not None:
            members.setdefault(prefix, []).append((task_id, task))
    return {prefix: summarise(found) for prefix, found in sorted(members.items())}


def run_member(members: Iterable[tuple[str, Task]]) -> str | None:
    """The id of a group's run task, among its ``(task_id, task)`` members: one that
    :func:`~progressista.protocol.runs.is_run_task` (``meta.kind`` ``"run"``), ``"{prefix}:run"``
    first (the id ``progressista run`` gives it), else the first by id.

    >>> run_member([("r:a", {}), ("r:run", {"meta": {"kind": "run"}})]), run_member([("r:run", {"meta": {}})])
    ('r:run', None)
    """
    found = sorted(task_id for task_id, task in members if is_run_task(task))
    if not found:
        return None
    own = f"{group_of(found[0])}:{RUN_KIND}"
    return own if own in found else found[0]


def run_head(task_id: str, task: Task) -> dict[str, Any]:
    """What a group's head row says of its run task: ``task_id`` (dashboards draw no card for it),
    ``command`` (its ``desc`` as typed, else the id), ``status``, ``exit_code`` (``None`` until it
    ended, or unknown), ``exit`` (``"exit 1"``, ``""`` without a code) and ``reason``
    (:func:`~progressista.protocol.reasons.reason`: ``"RuntimeError: boom at 40"``, ``"SIGTERM"``, ``""``).

    >>> run_head("r:run", {"status": "close", "desc": "python job.py", "meta": {"kind": "run", "exit_code": 0}})
    {'task_id': 'r:run', 'command': 'python job.py', 'status': 'close', 'exit_code': 0, 'exit': 'exit 0', 'reason': ''}
    """
    desc = task.get("desc")
    code = exit_code(task)
    return {
        "task_id": task_id,
        "command": desc if isinstance(desc, str) and desc else task_id,
        "status": task.get("status", "update"),
        "exit_code": code,
        "exit": "" if code is None else f"exit {code}",
        "reason": reason(task),
    }


def summarise(members: Iterable[tuple[str, Task]]) -> dict[str, Any]:
    """A group's row from its ``(task_id, task)`` members in id order: what ``GET /groups`` and ``/ws`` send.

    Without a run task (:func:`run_member`), exactly :func:`aggregate` of the members. With one, the
    aggregate of the other members (the bars: a run has no progress of its own, and its open total
    would hide the ETA), plus ``run`` (:func:`run_head`); ``status`` is then the worst of the bars'
    and the run's (a run still going keeps its group open; a failed run makes it ``error``), and
    ``updated_at`` the newest of all.
    """
    found = list(members)
    head = run_member(found)
    if head is None:
        return aggregate([task for _, task in found])
    run = next(task for task_id, task in found if task_id == head)
    row = aggregate([task for task_id, task in found if task_id != head])
    row["run"] = run_head(head, run)
    row["status"] = max(row["status"], row["run"]["status"], key=_severity)
    stamps = [stamp for stamp in (row["updated_at"], run.get("updated_at", 0)) if stamp is not None]
    row["updated_at"] = max(stamps)
    return row


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

    Every figure is a number JSON can hold: a sum past the float range (members
    near 1.8e308) is ``None``, never Infinity.
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
            n = _sum(done for done, _ in known)
            total_sum = _sum(whole for _, whole in known)
            if n is not None and total_sum is not None:
                progress = min(1.0, max(0.0, n / total_sum))
        rate = _sum(_number(t.get("rate")) or 0.0 for t in members if t.get("status") in BUCKETS["active"])
        if n is not None and total_sum is not None and rate is not None and rate > 0 and not open_without_total:
            try:
                eta = finite(max(0.0, total_sum - n) / rate)
            except OverflowError:  # an int difference past the float range
                eta = None
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
    return finite(value)  # NaN, Infinity and ints past the float range count as unknown


def _sum(values: Iterable[float]) -> float | None:
    """The sum, or ``None`` when a float (and so JSON) cannot hold it."""
    try:
        return finite(sum(values))
    except OverflowError:  # ints summed past the float range, then met a float
        return None
