"""History: the key a task keeps from run to run, a finished run's row, and how long a key usually takes.

Task ids change from one run to the next (``nightly-2026-12-01:load``, then
``nightly-2026-12-02:load``); the *key* does not. A task's key is, in order:

- ``meta.key``, as the client gave it (``RemoteTqdm(..., key="etl:load")``);
- else its id with the run id's varying part removed: in the group's prefix the
  trailing ``-``-separated parts that hold a digit (dates, times, counters,
  hashes) go, so both ids above have the key ``nightly:load``;
- else (no group) the id itself.

The *usual duration* of a key is the median duration of its last
:data:`USUAL_RUNS` successful (``close``) runs, and its usual rate the median
of their rates; an open task of that key runs *slower than usual* once it has
been running :data:`SLOW_FACTOR` times its usual duration.

>>> task_key("nightly-2026-12-01:load", {}), task_key("train-1203-1015-9f3a:rank-0", None)
('nightly:load', 'train:rank-0')
>>> task_key("anything", {"key": "etl:load"}), task_key("solo-task-7", {})
('etl:load', 'solo-task-7')
>>> usual([30.0, 40.0, 1000.0, 35.0, 45.0, 50.0])  # the newest five, newest first
40.0
>>> slower_than_usual({"status": "update", "created_at": 0.0, "usual_duration": 10.0}, now=16.0)
True
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "HISTORY_STATUSES",
    "META_KEY",
    "SLOW_FACTOR",
    "USUAL_FIELD",
    "USUAL_RUNS",
    "slower_than_usual",
    "task_key",
    "usual",
]

#: The ``meta`` key a client sets (``key=``) to name a task across runs.
META_KEY = "key"
#: Successful runs the usual duration is the median of.
USUAL_RUNS = 5
#: How many times its usual duration a task runs before it is slower than usual.
SLOW_FACTOR = 1.5
#: The field an open task with a usual duration carries in ``GET /tasks`` and ``/ws``.
USUAL_FIELD = "usual_duration"
#: How a recorded run ended.
HISTORY_STATUSES = ("close", "error", "lost")

_OPEN = ("start", "update", "stale")
_MAX_KEY = 256


def _varying(part: str) -> bool:
    return any(char.isdigit() for char in part)


def task_key(task_id: str, meta: Mapping[str, Any] | None) -> str:
    """The key of the task ``task_id`` with ``meta`` (see the module docstring)."""
    given = meta.get(META_KEY) if isinstance(meta, Mapping) else None
    if isinstance(given, str) and given.strip():
        return given.strip()[:_MAX_KEY]
    prefix, colon, rest = task_id.partition(":")
    if not (colon and prefix and rest):
        return task_id
    parts = prefix.split("-")
    while len(parts) > 1 and _varying(parts[-1]):
        parts.pop()
    return f"{'-'.join(parts)}:{rest}"[:_MAX_KEY]


def usual(durations: Sequence[float]) -> float | None:
    """The median of the first :data:`USUAL_RUNS` of ``durations`` (newest first); ``None`` for none."""
    recent = [d for d in durations[:USUAL_RUNS] if d >= 0]
    return float(statistics.median(recent)) if recent else None


def slower_than_usual(task: Mapping[str, Any], now: float) -> bool:
    """Whether an open ``task`` has been running more than :data:`SLOW_FACTOR` times its usual duration."""
    expected, started = task.get(USUAL_FIELD), task.get("created_at")
    if task.get("status") not in _OPEN or not isinstance(expected, (int, float)) or expected <= 0:
        return False
    return isinstance(started, (int, float)) and now - started > SLOW_FACTOR * expected
